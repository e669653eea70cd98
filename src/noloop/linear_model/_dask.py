"""Training and predicting on Dask: the same losses and solvers, chunk by chunk.

Each evaluation of the objective is one map over the row-chunks of X (every
chunk computes its weighted loss and gradient with the same fused kernel as
in-memory NumPy data) followed by a binary tree of additions, so one
evaluation reads the data once and ships back only (n_classes × n_features)
numbers per chunk. The coefficients travel to the workers as one small task
shared by every chunk.

X stays in cluster memory (persisted) when it fits comfortably; otherwise each
evaluation streams it again from its source (Parquet files, for instance), so
data larger than the cluster's memory still trains.
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from noloop._xp import namespace, to_numpy
from noloop.linear_model._dense import DenseData
from noloop.linear_model._loss import encode_labels
from noloop.linear_model._sparse import SparseData, as_csr, is_scipy_sparse
from noloop.linear_model._objective import Layout, LogisticObjective, class_weight_vector
from noloop.linear_model._problem import Problem, penalties, require_two_classes

__all__ = ["is_dask", "to_dask_arrays", "DaskData", "LostClusterError", "BACKEND",
           "PERSIST_FRACTION", "cluster_memory_bytes"]

# persist X when it takes at most this fraction of the cluster's memory
PERSIST_FRACTION = 0.5
# up to this many chunks, their partial sums are added on the client; beyond, by a tree
CLIENT_SUM_MAX_PARTS = 16


def is_dask(obj: Any) -> bool:
    """True for a Dask collection (array, DataFrame, Series)."""
    try:
        import dask
    except ImportError:
        return False
    return dask.is_dask_collection(obj)


def _as_array(obj: Any, name: str) -> Any:
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(obj, (dd.DataFrame, dd.Series)):
        import warnings

        # the chunk sizes are counted on the array itself: counted on the DataFrame
        # (lengths=True), a projected Parquet read may be planned into another number of
        # partitions for the count than for the conversion (files merged differently)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*extension dtypes to arrays.*")
            array = obj.optimize().to_dask_array()
            array.compute_chunk_sizes()
        if array.dtype == object:
            array = array.astype(str)
        return array
    if isinstance(obj, da.Array):
        return obj
    raise TypeError(f"`{name}` must be a dask array or DataFrame when X is one; got "
                    f"{type(obj).__name__}")


def to_dask_arrays(X: Any, y: Any = None, sample_weight: Any = None) -> tuple[Any, Any, Any,
                                                                          list[str] | None]:
    """X, y and sample_weight as dask arrays with the same row chunks; X's column names if any.

    X gets a single chunk along the features (each chunk holds whole rows) and
    a floating dtype; y and sample_weight are rechunked to X's rows.
    """
    import dask.dataframe as dd

    feature_names = [str(column) for column in X.columns] if isinstance(X, dd.DataFrame) else None
    X = _as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D dask array X of shape (n_samples, n_features); got "
                         f"{X.ndim}-D")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    X = X.rechunk({1: -1})
    arrays = []
    for name, vector in (("y", y), ("sample_weight", sample_weight)):
        if vector is None:
            arrays.append(None)
            continue
        vector = _as_array(vector, name) if is_dask(vector) else _from_numpy(vector, X)
        if vector.ndim == 2 and vector.shape[1] == 1:
            vector = vector[:, 0]
        if vector.ndim != 1 or vector.shape[0] != X.shape[0]:
            raise ValueError(f"`{name}` must have shape ({X.shape[0]},) to match X; got "
                             f"{tuple(vector.shape)}")
        arrays.append(vector.rechunk((X.chunks[0],)))
    return X, arrays[0], arrays[1], feature_names


def _from_numpy(vector: Any, X: Any) -> Any:
    import dask.array as da

    return da.from_array(np.asarray(vector), chunks=(X.chunks[0],))


def cluster_memory_bytes() -> float:
    """Memory available to the current Dask scheduler: workers' limits, or this machine's RAM."""
    try:
        from distributed import get_client

        client = get_client()
        limits = [worker.get("memory_limit") or 0
                  for worker in client.scheduler_info()["workers"].values()]
        if limits and all(limits):
            return float(sum(limits))
    except (ImportError, ValueError):
        pass
    import os

    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _prepare_block(X_block: np.ndarray, labels: np.ndarray, weight: np.ndarray | None,
                   classes: np.ndarray, n_outputs: int, weight_sum: float,
                   class_weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk as the fused kernel reads it: X (rows, n_features), Y (rows, n_outputs), sᵢ/S.

    X is copied only when it is not C-contiguous (a pandas-backed chunk is
    column-major) or not aligned: an array received over the network can
    start at an odd address, where NumPy and the kernel read it measurably
    slower (``docs/benchmarks.md``, ``benchmarks/dask_evaluation.py``).
    """
    if is_scipy_sparse(X_block):  # a scipy.sparse chunk: CSR for the sparse kernels
        X_block = as_csr(X_block)
    else:
        X_block = np.require(X_block, requirements=["C_CONTIGUOUS", "ALIGNED"])
    weight = (np.ones(X_block.shape[0]) if weight is None
              else np.asarray(weight, dtype=np.float64))
    if class_weight is not None:
        weight = weight * class_weight[np.searchsorted(classes, labels)]
    Y = encode_labels(np.searchsorted(classes, labels), n_outputs, np.float64, np)
    return X_block, Y, weight / weight_sum


def _block_task(what: str, coef: np.ndarray, block: tuple[np.ndarray, np.ndarray, np.ndarray],
                fit_intercept: bool, groups: np.ndarray | None = None) -> Any:
    """One prepared chunk's share of a data-term method: ``what`` names it.

    ``"loss_gradient"`` (value and gradient, flat), ``"hessian"``,
    ``"gram_matvec"`` and ``"score_outer"`` give arrays the chunks' shares
    add up to; ``"group_scores"`` gives (ids, sums) for this chunk's
    ``groups``, merged by :func:`_merge_group_sums`.
    """
    data = (SparseData if is_scipy_sparse(block[0]) else DenseData)(*block,
                                                                    fit_intercept=fit_intercept)
    if what == "loss_gradient":
        value, grad = data.loss_gradient(coef)
        return np.concatenate([[float(value)], np.asarray(grad, dtype=np.float64).ravel()])
    if what == "group_scores":
        ids, sums = data.group_scores(coef, groups)
        return ids, np.asarray(sums, dtype=np.float64)
    method = {"hessian": data.hessian, "score_outer": data.score_outer,
              "gram_matvec": data.gram_matvec}[what]
    return np.asarray(method(coef), dtype=np.float64)


def _streamed_block_task(what: str, coef: np.ndarray, X_block: np.ndarray, labels: np.ndarray,
                         weight: np.ndarray | None, settings: dict[str, Any],
                         fit_intercept: bool, groups: np.ndarray | None = None) -> Any:
    """Prepare a chunk just read and evaluate it in the same task: the prepared copy never moves."""
    return _block_task(what, coef, _prepare_block(X_block, labels, weight, **settings),
                       fit_intercept, groups)


def _merge_group_sums(left: tuple[np.ndarray, np.ndarray], right: tuple[np.ndarray, np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Two chunks' (ids (g,), sums (g, n_coef)) as one, summed by group id, ids sorted."""
    ids, index = np.unique(np.concatenate([left[0], right[0]]), return_inverse=True)
    sums = np.zeros((ids.size, left[1].shape[1]))
    np.add.at(sums, index, np.concatenate([left[1], right[1]]))
    return ids, sums


def _tree_sum(parts: list[Any], combine: Callable[[Any, Any], Any] = operator.add) -> Any:
    """Combine delayed parts pairwise, level by level: depth log₂(chunks), no single wide task."""
    from dask import delayed

    while len(parts) > 1:
        pairs = [delayed(combine, pure=True)(parts[i], parts[i + 1])
                 for i in range(0, len(parts) - 1, 2)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    return parts[0]


class LostClusterError(ConnectionError):
    """The Dask cluster went away during a fit."""


def _distributed_client() -> Any:
    """The current ``distributed`` client, or None under Dask's local schedulers."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _cluster_lost() -> bool:
    """True when a distributed client exists but its scheduler, or every worker, is gone."""
    client = _distributed_client()
    if client is None:  # the local schedulers cannot be "lost"
        return False
    if client.status != "running":
        return True
    try:  # one round trip: is the scheduler still there, and has it any workers left?
        identity = client.sync(client.scheduler.identity, callback_timeout=5)
    except Exception:
        return True
    return not identity.get("workers")


def _holders(blocks: list[Any]) -> list[list[str] | None]:
    """For each persisted delayed block, the workers holding it; None without distributed."""
    client = _distributed_client()
    if client is None:
        return [None] * len(blocks)
    from distributed import futures_of, wait

    futures = [futures_of(block)[0] for block in blocks]
    wait(futures)
    who_has = client.who_has(futures)
    return [list(who_has.get(future.key, ())) or None for future in futures]


@dataclass
class DaskData:
    """The averaged logistic loss over a chunked dask array; implements ``DataTerm``.

    Every evaluation is one map over X's row chunks (each chunk evaluated by
    :class:`~noloop.linear_model._dense.DenseData` with the fused kernel) and
    a sum; coefficients are small NumPy arrays on the client, the data stays
    on the workers.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features), one chunk along the features
    y : dask array of shape (n_samples,), labels chunked like X's rows
    weight : dask array of shape (n_samples,) or None
    classes : ndarray of shape (n_classes,)
    weight_sum : float
        S = Σᵢ sᵢ, class weights included.
    fit_intercept : bool
    class_weight : ndarray of shape (n_classes,) or None
    persist : bool, default=False
        Prepare each chunk once and keep it in cluster memory; otherwise each
        evaluation reads and prepares every chunk again from its source.
    """

    X: Any
    y: Any
    weight: Any
    classes: np.ndarray
    weight_sum: float
    fit_intercept: bool
    class_weight: np.ndarray | None = None
    persist: bool = False
    xp: Any = field(default_factory=lambda: namespace(np.zeros(1)))
    device: Any = "cpu"
    parameter_dtype: Any = np.float64

    def __post_init__(self) -> None:
        from dask import delayed

        n_outputs = 1 if self.classes.size == 2 else int(self.classes.size)
        self.layout = Layout(n_features=int(self.X.shape[1]), n_outputs=n_outputs,
                             fit_intercept=self.fit_intercept)
        self._settings = {"classes": self.classes, "n_outputs": n_outputs,
                          "weight_sum": self.weight_sum, "class_weight": self.class_weight}
        weights = (self.weight.to_delayed().ravel() if self.weight is not None
                   else [None] * self.X.numblocks[0])
        self._raw_blocks = list(zip(self.X.to_delayed().ravel(), self.y.to_delayed().ravel(),
                                    weights))
        self._prepared: list[Any] = []
        self._holders: list[list[str] | None] = [None] * len(self._raw_blocks)
        if self.persist:
            import dask

            prepared = [delayed(_prepare_block, pure=True)(*raw, **self._settings)
                        for raw in self._raw_blocks]
            self._prepared = list(_translate_errors(lambda: dask.persist(*prepared)))
            self._holders = _translate_errors(lambda: _holders(self._prepared))

    def _map_reduce(self, what: str, argument: np.ndarray, groups: Any = None,
                    combine: Callable[[Any, Any], Any] = operator.add) -> Any:
        """One map of :func:`_block_task` over the chunks, its results combined.

        ``groups``, when given, is a dask array chunked like X's rows whose
        chunks ride along with X's.
        """
        import dask
        from dask import delayed

        # the coefficients ride inside each task: a small literal, so no task waits for a
        # transfer of them from another worker
        argument = np.asarray(argument, dtype=np.float64)
        group_blocks = ([None] * len(self._raw_blocks) if groups is None
                        else list(groups.to_delayed().ravel()))
        if not self._prepared:
            parts = [delayed(_streamed_block_task, pure=True)(
                what, argument, *raw, self._settings, self.fit_intercept, group_block)
                for raw, group_block in zip(self._raw_blocks, group_blocks)]
        else:
            parts = []
            for block, holders, group_block in zip(self._prepared, self._holders, group_blocks):
                # pinned to the worker holding the chunk: unpinned, the scheduler counts these
                # tasks (one group across all evaluations) as root tasks, queues them and may
                # run one on whichever worker is free, moving the whole chunk
                with (dask.annotate(workers=holders, allow_other_workers=True) if holders
                      else contextlib.nullcontext()):
                    parts.append(delayed(_block_task, pure=True)(what, argument, block,
                                                                 self.fit_intercept, group_block))
        if len(parts) <= CLIENT_SUM_MAX_PARTS:
            # few partial results: combining them here saves a round of worker-to-worker transfers
            return functools.reduce(combine, _translate_errors(lambda: dask.compute(*parts)))
        return _translate_errors(lambda: dask.compute(_tree_sum(parts, combine)))[0]

    def loss_gradient(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value and gradient: one pass over the chunks."""
        total = self._map_reduce("loss_gradient", coef)
        return np.asarray(total[0]), total[1:].reshape(coef.shape)

    def hessian(self, coef: np.ndarray) -> np.ndarray:
        """The sum of the chunks' Hessians."""
        return self._map_reduce("hessian", coef)

    def gram_matvec(self, v: np.ndarray) -> np.ndarray:
        return self._map_reduce("gram_matvec", v)

    def score_outer(self, coef: np.ndarray) -> np.ndarray:
        """Σᵢ uᵢ uᵢᵀ (see ``DenseData.score_outer``): one pass, the chunks' shares summed."""
        return self._map_reduce("score_outer", coef)

    def group_scores(self, coef: np.ndarray, groups: Any) -> tuple[np.ndarray, np.ndarray]:
        """Scores summed by group (see ``DenseData.group_scores``) in one pass.

        Each chunk sums its rows by group; the (ids, sums) of the chunks are
        then merged by group id, so a group may span chunks.

        Parameters
        ----------
        coef : ndarray of shape (n_outputs, n_dof)
        groups : dask array, dask Series or array-like of shape (n_samples,)

        Returns
        -------
        ids : ndarray of shape (n_groups,)
        sums : ndarray of shape (n_groups, n_outputs · n_dof)
        """
        groups = _as_array(groups, "groups") if is_dask(groups) else np.asarray(groups)
        if groups.ndim != 1 or groups.shape[0] != self.X.shape[0]:
            raise ValueError(f"`groups` must have shape ({self.X.shape[0]},), one id per row of "
                             f"X; got {tuple(groups.shape)}")
        if not is_dask(groups):
            groups = _from_numpy(groups, self.X)
        return self._map_reduce("group_scores", coef, groups.rechunk((self.X.chunks[0],)),
                                combine=_merge_group_sums)


def _translate_errors(compute: Callable[[], Any]) -> Any:
    """Run ``compute``; a lost scheduler or cluster becomes one :class:`LostClusterError`."""
    try:
        return compute()
    except Exception as error:
        if isinstance(error, (OSError, TimeoutError)) or _cluster_lost():
            raise LostClusterError(
                f"lost the Dask cluster during the fit ({type(error).__name__}: "
                f"{' '.join(str(error).split())[:200]}); the fit cannot go on"
            ) from error
        raise


# ------------------------------------------------------------------ the estimator's Dask side


def _class_counts(y: Any, weight: Any) -> tuple[np.ndarray, np.ndarray]:
    """The sorted classes and their (sample-weighted) counts, in one or two passes."""
    import dask
    import dask.array as da

    if weight is None:  # one pass finds the classes and counts them
        classes, counts = dask.compute(*da.unique(y, return_counts=True))
        return classes, counts.astype(np.float64)
    classes = np.unique(da.unique(y).compute())
    indices = y.map_blocks(lambda block: np.searchsorted(classes, block), dtype=np.int64)
    bad = (~da.isfinite(weight)).sum()
    counts, n_bad = dask.compute(da.bincount(indices, weights=weight, minlength=classes.size),
                                 bad)
    if n_bad:
        raise ValueError("`sample_weight` must be finite")
    return classes, counts


class DaskBackend:
    """The estimator on dask arrays and DataFrames: fit on the cluster, predict lazily."""

    @staticmethod
    def problem(estimator: Any, X: Any, y: Any, sample_weight: Any) -> Problem:
        """The objective over X's chunks: persisted when X takes at most PERSIST_FRACTION of
        the cluster's memory, streamed from its source at every evaluation otherwise."""
        X, y, weight, feature_names = to_dask_arrays(X, y, sample_weight)
        if y is None:
            raise ValueError("y is required to fit")
        classes, counts = _class_counts(y, weight)
        require_two_classes(classes)
        per_class = class_weight_vector(estimator.class_weight, classes, counts)
        weight_sum = float(counts.sum() if per_class is None else (counts * per_class).sum())
        penalty, l1 = penalties(estimator, weight_sum)
        persist = bool(X.nbytes <= PERSIST_FRACTION * cluster_memory_bytes())
        data = DaskData(X=X, y=y, weight=weight, classes=classes, weight_sum=weight_sum,
                        fit_intercept=estimator.fit_intercept, class_weight=per_class,
                        persist=persist)
        return Problem(objective=LogisticObjective(data, penalty, l1), classes=classes,
                       feature_names=None if feature_names is None
                       else np.asarray(feature_names, dtype=object),
                       coef_dtype=np.dtype(X.dtype), weight_sum=weight_sum,
                       persisted=persist)

    @staticmethod
    def decision_function(estimator: Any, X: Any) -> Any:
        """Lazy logits for a dask array or DataFrame, chunked like X's rows."""
        import dask.dataframe as dd

        if isinstance(X, dd.DataFrame) and hasattr(estimator, "feature_names_in_"):
            missing = [name for name in estimator.feature_names_in_ if name not in X.columns]
            if missing:
                raise ValueError(f"X lacks the feature column(s) {', '.join(map(repr, missing))} "
                                 "the model was fitted with")
            X = X[list(estimator.feature_names_in_)]
        X, _, _, _ = to_dask_arrays(X)
        if int(X.shape[1]) != estimator.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                             f"expecting {estimator.n_features_in_} features as input.")
        coef = to_numpy(estimator.coef_).astype(X.dtype)
        intercept = to_numpy(estimator.intercept_).astype(X.dtype)
        scores = X.map_blocks(block_scores, coef, intercept, dtype=X.dtype,
                              chunks=(X.chunks[0], (coef.shape[0],)))
        return scores[:, 0] if coef.shape[0] == 1 else scores

    @staticmethod
    def labels(classes: np.ndarray, indices: Any) -> Any:
        return indices.map_blocks(lambda block: classes[block], dtype=classes.dtype)

    @staticmethod
    def accuracy(predicted: Any, y: Any, sample_weight: Any) -> float:
        import dask

        predicted, y, sample_weight = dask.compute(predicted, y, sample_weight)
        correct = np.asarray(y).ravel() == np.asarray(predicted)
        return float(np.average(correct, weights=None if sample_weight is None
                                else np.asarray(sample_weight, dtype=np.float64)))


BACKEND = DaskBackend()


# ------------------------------------------------------------------ prediction blocks


def block_scores(X_block: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Z = X Wᵀ + b for one chunk, (rows, n_outputs)."""
    if is_scipy_sparse(X_block):
        return np.asarray(X_block @ coef.T) + intercept
    return np.asarray(X_block) @ coef.T + intercept
