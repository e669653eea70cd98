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
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from noloop._loss import LogisticLoss, penalty_mask
from noloop._xp import namespace

__all__ = ["is_dask", "to_dask_arrays", "DaskLogisticLoss", "PERSIST_FRACTION"]

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

        # optimize first: the partitions whose lengths are counted must be the ones converted
        # (a projected Parquet read may merge files into fewer partitions)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*extension dtypes to arrays.*")
            array = obj.optimize().to_dask_array(lengths=True)
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


def _encode(labels: np.ndarray, classes: np.ndarray, n_outputs: int) -> np.ndarray:
    indices = np.searchsorted(classes, labels)
    if n_outputs == 1:
        return indices.astype(np.float64)[:, None]
    return (indices[:, None] == np.arange(n_outputs)[None, :]).astype(np.float64)


def _prepare_block(X_block: np.ndarray, labels: np.ndarray, weight: np.ndarray | None,
                   classes: np.ndarray, n_outputs: int, weight_sum: float,
                   class_weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk as the fused kernel reads it: X (rows, n_features), Y (rows, n_outputs), sᵢ/S.

    X is copied only when it is not C-contiguous (a pandas-backed chunk is
    column-major) or not aligned: an array received over the network can
    start at an odd address, where NumPy reads it 2–4× slower and the kernel
    up to 1.6× (``benchmarks/dask_evaluation.py``).
    """
    X_block = np.require(X_block, requirements=["C_CONTIGUOUS", "ALIGNED"])
    weight = (np.ones(X_block.shape[0]) if weight is None
              else np.asarray(weight, dtype=np.float64))
    if class_weight is not None:
        weight = weight * class_weight[np.searchsorted(classes, labels)]
    return X_block, _encode(labels, classes, n_outputs), weight / weight_sum


def _block_task(what: str, coef: np.ndarray, block: tuple[np.ndarray, np.ndarray, np.ndarray],
                fit_intercept: bool) -> np.ndarray:
    """The unpenalized share of one prepared chunk in the objective, its gradient or its Hessian."""
    X_block, Y, normalized_weight = block
    loss = LogisticLoss(X=X_block, Y=Y, normalized_weight=normalized_weight, l2_reg=0.0,
                        fit_intercept=fit_intercept, xp=namespace(X_block))
    if what == "loss_gradient":
        value, grad = loss.loss_gradient(coef)
        return np.concatenate([[float(value)], np.asarray(grad, dtype=np.float64).ravel()])
    if what == "hessian":
        return np.asarray(loss.hessian(coef), dtype=np.float64)
    return np.asarray(loss.gram_matvec(coef), dtype=np.float64)


def _streamed_block_task(what: str, coef: np.ndarray, X_block: np.ndarray, labels: np.ndarray,
                         weight: np.ndarray | None, settings: dict[str, Any],
                         fit_intercept: bool) -> np.ndarray:
    """Prepare a chunk just read and evaluate it in the same task: the prepared copy never moves."""
    return _block_task(what, coef, _prepare_block(X_block, labels, weight, **settings),
                       fit_intercept)


def _tree_sum(parts: list[Any]) -> Any:
    """Add delayed arrays pairwise, level by level: depth log₂(chunks), no single wide task."""
    from dask import delayed

    while len(parts) > 1:
        pairs = [delayed(operator.add, pure=True)(parts[i], parts[i + 1])
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
class DaskLogisticLoss:
    """The objective of :class:`noloop._loss.LogisticLoss` over a chunked dask array.

    Solvers see the same interface (``loss_gradient``, ``loss``, ``gradient``,
    ``hessian``, ``gram_matvec``); coefficients are small NumPy arrays on the
    client, the data stays on the workers.
    """

    X: Any
    y: Any
    weight: Any
    classes: np.ndarray
    weight_sum: float
    l2_reg: float
    fit_intercept: bool
    class_weight: np.ndarray | None = None
    persist: bool = False
    xp: Any = field(default_factory=lambda: namespace(np.zeros(1)))

    def __post_init__(self) -> None:
        """The chunks as the evaluations use them: prepared and persisted, or raw and streamed.

        Persisted, each chunk is prepared once and each evaluation only runs
        the fused kernel on memory its worker already holds; streamed, each
        evaluation reads and prepares every chunk again from its source.
        """
        from dask import delayed

        self._settings = {"classes": self.classes, "n_outputs": self.n_outputs,
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
            self._prepared = list(self._translate_errors(lambda: dask.persist(*prepared)))
            self._holders = self._translate_errors(lambda: _holders(self._prepared))

    @property
    def n_outputs(self) -> int:
        return 1 if self.classes.size == 2 else int(self.classes.size)

    @property
    def multinomial(self) -> bool:
        return self.n_outputs > 1

    parameter_dtype = np.float64

    def _map_reduce(self, what: str, argument: np.ndarray) -> np.ndarray:
        import dask
        from dask import delayed

        # the coefficients ride inside each task: a small literal, so no task waits for a
        # transfer of them from another worker
        argument = np.asarray(argument, dtype=np.float64)
        if not self._prepared:
            parts = [delayed(_streamed_block_task, pure=True)(
                what, argument, *raw, self._settings, self.fit_intercept)
                for raw in self._raw_blocks]
        else:
            parts = []
            for block, holders in zip(self._prepared, self._holders):
                # pinned to the worker holding the chunk: unpinned, the scheduler counts these
                # tasks (one group across all evaluations) as root tasks, queues them and may
                # run one on whichever worker is free, moving the whole chunk (0.5–1 s here)
                with (dask.annotate(workers=holders, allow_other_workers=True) if holders
                      else contextlib.nullcontext()):
                    parts.append(delayed(_block_task, pure=True)(what, argument, block,
                                                                 self.fit_intercept))
        if len(parts) <= CLIENT_SUM_MAX_PARTS:
            # few partial sums: adding them here saves a round of worker-to-worker transfers
            return np.sum(self._translate_errors(lambda: dask.compute(*parts)), axis=0)
        return self._translate_errors(lambda: dask.compute(_tree_sum(parts)))[0]

    @staticmethod
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

    def split(self, coef: np.ndarray) -> tuple[np.ndarray, Any]:
        n_features = int(self.X.shape[1])
        if self.fit_intercept:
            return coef[:, :n_features], coef[:, n_features]
        return coef, 0.0

    def loss_gradient(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective and gradient: one pass over the chunks, penalty added on the client."""
        total = self._map_reduce("loss_gradient", coef)
        value, grad = total[0], total[1:].reshape(coef.shape)
        W, _ = self.split(coef)
        if self.l2_reg:
            value = value + 0.5 * self.l2_reg * float(np.sum(W * W))
            grad[:, : W.shape[1]] += self.l2_reg * W
        return np.asarray(value), grad

    def loss(self, coef: np.ndarray) -> np.ndarray:
        return self.loss_gradient(coef)[0]

    def gradient(self, coef: np.ndarray) -> np.ndarray:
        return self.loss_gradient(coef)[1]

    def hessian(self, coef: np.ndarray) -> np.ndarray:
        """Sum of the chunks' Hessians plus the penalty on each class's weights."""
        H = self._map_reduce("hessian", coef)
        n_outputs, n_dof = coef.shape
        mask = penalty_mask(n_dof, self.fit_intercept, self.xp, np.float64, "cpu")
        return H + self.l2_reg * np.kron(np.eye(n_outputs), mask)

    def gram_matvec(self, v: np.ndarray) -> np.ndarray:
        return self._map_reduce("gram_matvec", v)


# ------------------------------------------------------------------ prediction blocks


def block_scores(X_block: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Z = X Wᵀ + b for one chunk, (rows, n_outputs)."""
    return np.asarray(X_block) @ coef.T + intercept
