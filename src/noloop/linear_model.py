"""``LogisticRegression``: the seed's vectorized training as a scikit-learn estimator."""

from __future__ import annotations

import numbers
import sys
import warnings
from typing import Any, Callable

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from noloop._dask import (PERSIST_FRACTION, DaskLogisticLoss, block_scores,
                          cluster_memory_bytes, is_dask, to_dask_arrays)
from noloop._loss import LogisticLoss, log_softmax, sigmoid
from noloop._solvers import SOLVERS, SolverResult
from noloop._xp import device_of, namespace, to_numpy

__all__ = ["LogisticRegression"]


def _is_foreign_array(array: Any) -> bool:
    """True for arrays noloop computes on in their own library (PyTorch, CuPy), not via NumPy."""
    return array_api_compat.is_torch_array(array) or array_api_compat.is_cupy_array(array)


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression trained by the seed's vectorized equations; binary and softmax.

    A drop-in for :class:`sklearn.linear_model.LogisticRegression` that
    minimizes the same objective,

        C · Σᵢ sᵢ · loss(zᵢ, yᵢ) + ½ ‖W‖²

    (intercepts not penalized; sᵢ the sample weight times the class weight),
    so a converged fit equals scikit-learn's on the same data and ``C``. Two
    classes use the seed's sigmoid model; more use softmax in the same
    vectorized form (Z = X Wᵀ + b, A = softmax(Z), dZ = A − Y).

    NumPy arrays, pandas DataFrames, PyTorch tensors (CPU or CUDA) and CuPy
    arrays are all accepted; with PyTorch or CuPy the whole fit runs in that
    library on the data's device, float32 stays float32, and fitted
    coefficients and predictions come back in the same library.

    Parameters
    ----------
    penalty : {"l2", None}, default="l2"
        ``None`` fits without penalty (``C`` is then ignored).
    C : float, default=1.0
        Inverse regularization strength, as in scikit-learn.
    fit_intercept : bool, default=True
    solver : {"lbfgs", "newton-cholesky", "gd"}, default="lbfgs"
        ``"gd"`` is the seed's batch gradient descent W := W − α dW;
        ``"lbfgs"`` is quasi-Newton (scipy); ``"newton-cholesky"`` takes Newton
        steps and wins when features (times classes) are few.
    learning_rate : "auto" or float, default="auto"
        The step α of ``solver="gd"``. ``"auto"`` takes 1 / L for a curvature
        bound L and halves it whenever a step fails to decrease the objective
        enough, so it cannot diverge; a float is used as given.
    max_iter : int, default=100
    tol : float, default=1e-4
        Stop when the largest absolute entry of the objective's gradient
        (averaged over examples) is at most ``tol``.
    class_weight : dict, "balanced" or None, default=None
    warm_start : bool, default=False
        Start from the previous fit's coefficients when shapes allow.
    verbose : int, default=0
        Print the objective every 100 iterations (every iteration when ≥ 2).
    callback : callable, default=None
        Called as ``callback(iteration, objective)`` at every iterate, from
        iteration 0 (the starting point); for progress bars and live plots.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : array of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : array of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X was a DataFrame with string column names.
    loss_history_ : list of float
        The objective at every iterate, starting from the initial point (the
        seed's ``costs`` list), scaled as C · Σ sᵢ lossᵢ + ½‖W‖² divided by C · Σ sᵢ.
    converged_ : bool
    stop_reason_ : str
        Why the solver stopped.
    """

    def __init__(
        self,
        penalty: str | None = "l2",
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        solver: str = "lbfgs",
        learning_rate: float | str = "auto",
        max_iter: int = 100,
        tol: float = 1e-4,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        verbose: int = 0,
        callback: Callable[[int, float], None] | None = None,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.callback = callback

    # ---------------------------------------------------------------- checks

    def _check_params(self) -> None:
        if self.penalty not in ("l2", None):
            raise ValueError(f"`penalty` must be 'l2' or None; got {self.penalty!r}")
        if self.solver not in SOLVERS:
            raise ValueError(
                f"`solver` must be one of {sorted(SOLVERS)}; got {self.solver!r}"
            )
        if not isinstance(self.C, numbers.Real) or not 0 < self.C < np.inf:
            raise ValueError(f"`C` must be a positive finite number; got {self.C!r}")
        if not (self.learning_rate == "auto" or (
            isinstance(self.learning_rate, numbers.Real) and not isinstance(self.learning_rate, bool)
            and 0 < self.learning_rate < np.inf
        )):
            raise ValueError(
                f"`learning_rate` must be 'auto' or a positive finite number; got {self.learning_rate!r}"
            )
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) \
                or self.max_iter < 0:
            raise ValueError(f"`max_iter` must be an integer >= 0; got {self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or not 0 <= self.tol < np.inf:
            raise ValueError(f"`tol` must be a finite number >= 0; got {self.tol!r}")
        if not (self.class_weight is None or self.class_weight == "balanced"
                or isinstance(self.class_weight, dict)):
            raise ValueError(
                f"`class_weight` must be None, 'balanced' or a dict; got {self.class_weight!r}"
            )

    def _validate_X(self, X: Any, *, reset: bool) -> tuple[Any, Any]:
        """X as an array noloop can compute on, with its namespace."""
        if _is_foreign_array(X):
            xp = namespace(X)
            if X.ndim != 2:
                raise ValueError(
                    f"Expected a 2-D array X of shape (n_samples, n_features); got {X.ndim}-D "
                    f"shape {tuple(X.shape)}"
                )
            if not xp.isdtype(X.dtype, "real floating"):
                X = xp.astype(X, xp.float64)
            n_samples, n_features = (int(d) for d in X.shape)
            if n_samples < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={tuple(X.shape)}) while a "
                                 "minimum of 1 is required.")
            if not bool(xp.all(xp.isfinite(X))):
                raise ValueError("Input X contains NaN or infinity.")
            if reset:
                self.n_features_in_ = n_features
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            return X, xp
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], accept_sparse=False)
        return X, namespace(X)

    def _validate_targets(self, y: Any, X: Any, xp: Any) -> tuple[Any, np.ndarray]:
        """Encode ``y`` as class indices in X's namespace and device; return (indices, classes)."""
        n_samples = int(X.shape[0])
        if _is_foreign_array(y):
            if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
                raise ValueError(f"y must be 1-D of shape (n_samples,); got shape {tuple(y.shape)}")
            y = xp.reshape(y, (-1,))
            classes, indices = xp.unique_inverse(y)
            classes = to_numpy(classes)
        else:
            y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
            check_classification_targets(y)
            classes, indices = np.unique(y, return_inverse=True)
            if not isinstance(X, np.ndarray):
                indices = xp.asarray(indices, device=device_of(X))
        if int(indices.shape[0]) != n_samples:
            raise ValueError(
                f"X and y must have the same number of samples; got {n_samples} rows in X and "
                f"{int(indices.shape[0])} labels in y"
            )
        if classes.shape[0] < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        return indices, classes

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "LogisticRegression":
        """Fit the model by minimizing the penalized logistic objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy, pandas, PyTorch or CuPy; PyTorch and CuPy data stay on their device.
        y : array-like of shape (n_samples,)
            Class labels of any type (integers, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        self._check_params()
        if is_dask(X):
            return self._fit_dask(X, y, sample_weight)
        if not _is_foreign_array(X) and _is_foreign_array(y):
            y = to_numpy(y)
        if _is_foreign_array(X) or _is_foreign_array(y):
            X, xp = self._validate_X(X, reset=True)
        else:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], accept_sparse=False,
                                 y_numeric=False, multi_output=False)
            xp = namespace(X)
        indices, classes = self._validate_targets(y, X, xp)
        self.classes_ = classes
        weight = self._sample_weight(sample_weight, indices, X, xp)

        n_outputs = 1 if classes.shape[0] == 2 else int(classes.shape[0])
        dtype, device = X.dtype, device_of(X)
        Y = self._encode_Y(indices, n_outputs, dtype, xp, device)
        weight_sum = float(xp.sum(weight))
        if not weight_sum > 0:
            raise ValueError("`sample_weight` must have a positive sum; got all zero weights")
        l2_reg = 0.0 if self.penalty is None else 1.0 / (self.C * weight_sum)
        loss = LogisticLoss(X=X, Y=Y, normalized_weight=weight / weight_sum, l2_reg=l2_reg,
                            fit_intercept=self.fit_intercept, xp=xp)

        n_dof = int(X.shape[1]) + int(self.fit_intercept)
        coef = self._initial_coef(n_outputs, n_dof, loss.parameter_dtype, xp, device)
        options: dict[str, Any] = {}
        if self.solver == "gd":
            options["learning_rate"] = self.learning_rate
        result: SolverResult = SOLVERS[self.solver](
            loss, coef, max_iter=self.max_iter, tol=self.tol, callback=self._progress(), **options
        )
        self._set_fitted(result, n_outputs, xp, dtype)
        self._warn_if_not_converged(result)
        return self

    def _fit_dask(self, X: Any, y: Any, sample_weight: Any) -> "LogisticRegression":
        """Fit on dask arrays or DataFrames: one map over chunks and a tree reduction per evaluation.

        X is persisted in cluster memory when it takes at most half of it, and
        streamed from its source at every evaluation otherwise.
        """
        import dask
        import dask.array as da

        X, y, weight, feature_names = to_dask_arrays(X, y, sample_weight)
        if y is None:
            raise ValueError("y is required to fit")
        self.n_features_in_ = int(X.shape[1])
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if weight is None:  # one pass finds the classes and counts them
            classes, counts = dask.compute(*da.unique(y, return_counts=True))
        else:
            classes = np.unique(da.unique(y).compute())
        if classes.size < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        self.classes_ = classes
        if weight is not None:
            indices = y.map_blocks(lambda block: np.searchsorted(classes, block), dtype=np.int64)
            bad = (~da.isfinite(weight)).sum() + (weight < 0).sum()
            counts, n_bad = dask.compute(
                da.bincount(indices, weights=weight, minlength=classes.size), bad)
            if n_bad:
                raise ValueError("`sample_weight` must be finite and non-negative")
        per_class = None
        if self.class_weight == "balanced":
            per_class = counts.sum() / (classes.size * np.maximum(counts, np.finfo(float).tiny))
        elif isinstance(self.class_weight, dict):
            per_class = np.array([float(self.class_weight.get(label, 1.0)) for label in classes])
        weight_sum = float(counts.sum() if per_class is None else (counts * per_class).sum())
        if not weight_sum > 0:
            raise ValueError("`sample_weight` must have a positive sum; got all zero weights")

        self.persisted_ = bool(X.nbytes <= PERSIST_FRACTION * cluster_memory_bytes())
        n_outputs = 1 if classes.size == 2 else int(classes.size)
        loss = DaskLogisticLoss(
            X=X, y=y, weight=weight, classes=classes, weight_sum=weight_sum,
            l2_reg=0.0 if self.penalty is None else 1.0 / (self.C * weight_sum),
            fit_intercept=self.fit_intercept, class_weight=per_class, persist=self.persisted_,
        )
        xp = namespace(np.zeros(1))
        n_dof = self.n_features_in_ + int(self.fit_intercept)
        coef = self._initial_coef(n_outputs, n_dof, np.float64, xp, "cpu")
        options: dict[str, Any] = {}
        if self.solver == "gd":
            options["learning_rate"] = self.learning_rate
        result: SolverResult = SOLVERS[self.solver](
            loss, coef, max_iter=self.max_iter, tol=self.tol, callback=self._progress(), **options
        )
        self._set_fitted(result, n_outputs, xp, np.dtype(X.dtype))
        self._warn_if_not_converged(result)
        return self

    def _warn_if_not_converged(self, result: SolverResult) -> None:
        if not result.converged:
            warnings.warn(
                f"{self.solver} did not converge: {result.stop_reason}. Increase `max_iter`, "
                "scale the data (e.g. StandardScaler), or loosen `tol`.",
                ConvergenceWarning, stacklevel=3,
            )

    def _sample_weight(self, sample_weight: Any, indices: Any, X: Any, xp: Any) -> Any:
        n_samples = int(X.shape[0])
        if _is_foreign_array(X):
            if sample_weight is None:
                weight = xp.ones(n_samples, dtype=X.dtype, device=device_of(X))
            else:
                weight = xp.asarray(sample_weight, dtype=X.dtype, device=device_of(X))
                if tuple(weight.shape) != (n_samples,):
                    raise ValueError(f"sample_weight.shape == {tuple(weight.shape)}, expected "
                                     f"{(n_samples,)}!")
                if not bool(xp.all(xp.isfinite(weight))) or bool(xp.any(weight < 0)):
                    raise ValueError("`sample_weight` must be finite and non-negative")
        else:
            weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        if self.class_weight is not None:
            host_indices = to_numpy(indices)
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_[host_indices],
                sample_weight=None if sample_weight is None else to_numpy(weight),
            )
            weight = weight * xp.asarray(per_class[host_indices], dtype=X.dtype,
                                         device=device_of(X))
        return weight

    @staticmethod
    def _encode_Y(indices: Any, n_outputs: int, dtype: Any, xp: Any, device: Any) -> Any:
        if n_outputs == 1:
            return xp.astype(indices, dtype)[:, None]
        labels = xp.arange(n_outputs, device=device)
        return xp.astype(indices[:, None] == labels[None, :], dtype)

    def _initial_coef(self, n_outputs: int, n_dof: int, dtype: Any, xp: Any, device: Any) -> Any:
        """Zeros, or with ``warm_start`` the previous fit's [coef_ | intercept_] when shapes match."""
        if self.warm_start and hasattr(self, "coef_") and \
                tuple(self.coef_.shape) == (n_outputs, n_dof - int(self.fit_intercept)):
            previous = np.concatenate(
                [to_numpy(self.coef_), to_numpy(self.intercept_)[:, None]], axis=1
            ) if self.fit_intercept else to_numpy(self.coef_)
            return xp.asarray(previous, dtype=dtype, device=device)
        return xp.zeros((n_outputs, n_dof), dtype=dtype, device=device)

    def _progress(self) -> Callable[[int, float], None] | None:
        if not self.verbose:
            return self.callback
        every = 1 if self.verbose >= 2 else 100
        user_callback = self.callback

        def report(iteration: int, value: float) -> None:
            if iteration % every == 0:
                print(f"[{self.solver}] iteration {iteration:6d}  objective {value:.8g}",
                      file=sys.stdout, flush=True)
            if user_callback is not None:
                user_callback(iteration, value)

        return report

    def _set_fitted(self, result: SolverResult, n_outputs: int, xp: Any, dtype: Any) -> None:
        coef = xp.astype(result.coef, dtype)  # float32 data gets float32 coefficients
        n_features = self.n_features_in_
        self.coef_ = coef[:, :n_features]
        if self.fit_intercept:
            self.intercept_ = coef[:, n_features]
        else:
            self.intercept_ = xp.zeros(n_outputs, dtype=coef.dtype, device=device_of(coef))
        if isinstance(self.coef_, np.ndarray):
            self.coef_ = np.ascontiguousarray(self.coef_)
            self.intercept_ = np.ascontiguousarray(self.intercept_)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.loss_history_ = list(result.loss_history)
        self.converged_ = result.converged
        self.stop_reason_ = result.stop_reason

    # ---------------------------------------------------------------- state

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted model as plain data: NumPy arrays and JSON-ready values.

        The inverse of :meth:`_from_fitted_state`; what a model file keeps.

        Returns
        -------
        state : dict
            ``classes`` (n_classes,), ``coef`` (n_outputs, n_features) and
            ``intercept`` (n_outputs,) as NumPy arrays; ``feature_names``
            (list of str or None), ``n_iter`` (int), ``loss_history`` (list of
            float), ``converged`` (bool), ``stop_reason`` (str).
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        return {
            "classes": np.asarray(self.classes_),
            "coef": np.ascontiguousarray(to_numpy(self.coef_)),
            "intercept": np.ascontiguousarray(to_numpy(self.intercept_)),
            "feature_names": None if names is None else [str(name) for name in names],
            "n_iter": int(self.n_iter_[0]),
            "loss_history": [float(value) for value in self.loss_history_],
            "converged": bool(self.converged_),
            "stop_reason": str(self.stop_reason_),
        }

    @classmethod
    def _from_fitted_state(cls, params: dict[str, Any], state: dict[str, Any]
                           ) -> "LogisticRegression":
        """A fitted model from ``get_params()``-style ``params`` and a :meth:`_fitted_state` dict.

        Every field is checked (types, shapes, finiteness, unique sorted
        classes); a bad one raises ``ValueError`` naming the field, what was
        expected and what came.
        """
        known = cls().get_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"`params` has unknown parameter(s) {', '.join(unknown)}")
        model = cls(**params)
        model._check_params()
        model._restore(**_checked_state(state))
        return model

    def _restore(self, *, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 feature_names: list[str] | None, n_iter: int, loss_history: list[float],
                 converged: bool, stop_reason: str) -> None:
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_features_in_ = int(coef.shape[1])
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.loss_history_ = list(loss_history)
        self.converged_ = converged
        self.stop_reason_ = stop_reason

    # -------------------------------------------------------------- predict

    def _parameters_like(self, X: Any, xp: Any) -> tuple[Any, Any]:
        """coef_ and intercept_ in X's namespace, device and dtype."""
        coef, intercept = self.coef_, self.intercept_
        if namespace(coef) is not xp or device_of(coef) != device_of(X):
            coef = xp.asarray(to_numpy(coef), device=device_of(X))
            intercept = xp.asarray(to_numpy(intercept), device=device_of(X))
        return xp.astype(coef, X.dtype), xp.astype(intercept, X.dtype)

    def decision_function(self, X: Any) -> Any:
        """The logits Z = X Wᵀ + b.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : array of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        check_is_fitted(self)
        if is_dask(X):
            return self._dask_decision_function(X)
        X, xp = self._validate_X(X, reset=False)
        coef, intercept = self._parameters_like(X, xp)
        scores = xp.matmul(X, coef.T) + intercept
        return scores[:, 0] if int(scores.shape[1]) == 1 else scores

    def _dask_decision_function(self, X: Any) -> Any:
        """Lazy logits for a dask array or DataFrame, chunked like X's rows."""
        import dask.dataframe as dd

        if isinstance(X, dd.DataFrame) and hasattr(self, "feature_names_in_"):
            missing = [name for name in self.feature_names_in_ if name not in X.columns]
            if missing:
                raise ValueError(f"X lacks the feature column(s) {', '.join(map(repr, missing))} "
                                 "the model was fitted with")
            X = X[list(self.feature_names_in_)]
        X, _, _, _ = to_dask_arrays(X)
        if int(X.shape[1]) != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        coef = to_numpy(self.coef_).astype(X.dtype)
        intercept = to_numpy(self.intercept_).astype(X.dtype)
        scores = X.map_blocks(block_scores, coef, intercept, dtype=X.dtype,
                              chunks=(X.chunks[0], (coef.shape[0],)))
        return scores[:, 0] if coef.shape[0] == 1 else scores

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, columns in the order of ``classes_``.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        if scores.ndim == 1:
            p = sigmoid(scores, xp)
            return xp.stack([1 - p, p], axis=1)
        return xp.exp(log_softmax(scores, xp))

    def predict_log_proba(self, X: Any) -> Any:
        """Log class probabilities, computed from the logits (finite for any finite input).

        Returns
        -------
        log_proba : array of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        if scores.ndim == 1:
            zeros = xp.zeros_like(scores)
            # log σ(z) = −log(1 + e^{−z}), log(1 − σ(z)) = −log(1 + e^{z})
            return xp.stack([-xp.logaddexp(zeros, scores), -xp.logaddexp(zeros, -scores)], axis=1)
        return log_softmax(scores, xp)

    def predict(self, X: Any) -> Any:
        """The most probable class of each row.

        Returns
        -------
        labels : array of shape (n_samples,)
            Values from ``classes_``; a tensor/array of X's library when the classes are numbers.
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        if scores.ndim == 1:
            indices = xp.astype(scores > 0, xp.int64)
        else:
            indices = xp.argmax(scores, axis=1)
        if is_dask(indices):
            classes = self.classes_
            return indices.map_blocks(lambda block: classes[block], dtype=classes.dtype)
        if isinstance(scores, np.ndarray) or self.classes_.dtype.kind not in "biuf":
            return self.classes_[to_numpy(indices)]
        classes = xp.asarray(self.classes_, device=device_of(scores))
        return xp.take(classes, indices, axis=0)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``."""
        from sklearn.metrics import accuracy_score

        if is_dask(X):
            import dask

            predicted, y = dask.compute(self.predict(X), y if is_dask(y) else np.asarray(y))
            return float(accuracy_score(np.asarray(y).ravel(), predicted, sample_weight=None
                                        if sample_weight is None else np.asarray(sample_weight)))
        predicted = to_numpy(self.predict(X))
        return float(accuracy_score(to_numpy(y) if _is_foreign_array(y) else y, predicted,
                                    sample_weight=None if sample_weight is None
                                    else to_numpy(sample_weight)))


def _checked_state(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with each field checked; ValueError names the first bad one."""
    expected = {"classes", "coef", "intercept", "feature_names", "n_iter", "loss_history",
                "converged", "stop_reason"}
    if not isinstance(state, dict) or set(state) != expected:
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"the fitted state must have the fields {sorted(expected)}; got {got}")
    classes = state["classes"]
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype.kind not in "biufUS":
        raise ValueError("`classes` must be a 1-D array of numbers or strings; got "
                         f"{getattr(classes, 'shape', type(classes).__name__)}")
    if classes.size < 2:
        raise ValueError(f"`classes` must hold at least 2 classes; got {classes.tolist()!r}")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes)):
        raise ValueError(f"`classes` must be finite; got {classes.tolist()!r}")
    if not np.all(classes[1:] > classes[:-1]):
        raise ValueError(f"`classes` must be unique and sorted; got {classes.tolist()!r}")
    n_outputs = 1 if classes.size == 2 else int(classes.size)
    coef, intercept = state["coef"], state["intercept"]
    for name, array, ndim in (("coef", coef, 2), ("intercept", intercept, 1)):
        if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
            raise ValueError(f"`{name}` must be a float32 or float64 array; got "
                             f"{getattr(array, 'dtype', type(array).__name__)}")
        if array.ndim != ndim or array.shape[0] != n_outputs:
            raise ValueError(f"`{name}` must have {n_outputs} row(s) for {classes.size} classes "
                             f"and {ndim} dimension(s); got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` must be finite; it holds NaN or infinity")
    if coef.shape[1] < 1:
        raise ValueError(f"`coef` must have at least one feature column; got shape {coef.shape}")
    if intercept.dtype != coef.dtype:
        raise ValueError(f"`intercept` must have coef's dtype {coef.dtype}; got {intercept.dtype}")
    names = state["feature_names"]
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError("`feature_names` must be a list of strings or None")
        if len(names) != coef.shape[1] or len(set(names)) != len(names):
            raise ValueError(f"`feature_names` must be {coef.shape[1]} unique names, one per "
                             f"column of coef; got {len(names)} ({len(set(names))} unique)")
    n_iter = state["n_iter"]
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or \
            not 0 <= n_iter < 2**31:
        raise ValueError(f"`n_iter` must be an integer >= 0; got {n_iter!r}")
    history = state["loss_history"]
    if not isinstance(history, list) or not all(
            isinstance(value, numbers.Real) and not isinstance(value, bool) for value in history):
        raise ValueError("`loss_history` must be a list of numbers")
    if not isinstance(state["converged"], bool):
        raise ValueError(f"`converged` must be true or false; got {state['converged']!r}")
    if not isinstance(state["stop_reason"], str):
        raise ValueError(f"`stop_reason` must be a string; got {state['stop_reason']!r}")
    return {**state, "n_iter": int(n_iter), "loss_history": [float(v) for v in history]}
