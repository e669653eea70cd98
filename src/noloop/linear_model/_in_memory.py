"""The estimator on in-memory data: NumPy, pandas, scipy.sparse, PyTorch and CuPy.

Validation (scikit-learn's ``validate_data`` for NumPy and pandas, the same
checks in the array's own namespace for PyTorch and CuPy), label encoding,
sample and class weights, and the :class:`~._dense.DenseData` objective
(:class:`~._sparse.SparseData` for scipy.sparse input, held as CSR).
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from noloop._xp import device_of, namespace, to_numpy
from noloop.linear_model._dense import DenseData
from noloop.linear_model._loss import encode_labels
from noloop.linear_model._objective import LogisticObjective, class_weight_vector
from noloop.linear_model._problem import Problem, penalties, require_two_classes
from noloop.linear_model._sparse import SparseData, is_scipy_sparse, refuse_foreign_sparse

__all__ = ["IN_MEMORY"]


def _is_foreign_array(array: Any) -> bool:
    """True for arrays noloop computes on in their own library (PyTorch, CuPy), not via NumPy."""
    return array_api_compat.is_torch_array(array) or array_api_compat.is_cupy_array(array)


class _InMemory:
    """The estimator on NumPy, pandas, PyTorch and CuPy data, computed in the data's library."""

    @staticmethod
    def problem(estimator: Any, X: Any, y: Any, sample_weight: Any) -> Problem:
        X, y, xp = _validated_Xy(estimator, X, y)
        indices, classes = _encoded_targets(y, X, xp)
        require_two_classes(classes)
        weight = _sample_weight(sample_weight, X, xp)
        per_class = None
        if estimator.class_weight is not None:  # counts need the labels on the host: only then
            counts = np.bincount(to_numpy(indices), weights=to_numpy(weight),
                                 minlength=classes.size)
            per_class = class_weight_vector(estimator.class_weight, classes, counts)
        if per_class is not None:
            weight = weight * xp.take(xp.asarray(per_class, dtype=X.dtype,
                                                 device=_device(X)), indices, axis=0)
        weight_sum = float(xp.sum(weight))
        penalty, l1 = penalties(estimator, weight_sum)
        n_outputs = 1 if classes.shape[0] == 2 else int(classes.shape[0])
        term = SparseData if is_scipy_sparse(X) else DenseData
        data = term(X=X, Y=encode_labels(indices, n_outputs, X.dtype, xp),
                    normalized_weight=weight / weight_sum, fit_intercept=estimator.fit_intercept)
        return Problem(objective=LogisticObjective(data, penalty, l1), classes=classes,
                       feature_names=getattr(estimator, "feature_names_in_", None),
                       coef_dtype=X.dtype, weight_sum=weight_sum)

    @staticmethod
    def decision_function(estimator: Any, X: Any) -> Any:
        X, xp = _validated_X(estimator, X, reset=False)
        coef, intercept = estimator.coef_, estimator.intercept_
        if is_scipy_sparse(X):  # sparse @ dense: a dense (n_samples, n_outputs), X never densified
            coef, intercept = to_numpy(coef), to_numpy(intercept)
            scores = np.asarray(X @ coef.astype(X.dtype).T) + intercept.astype(X.dtype)
            if not np.all(np.isfinite(scores)):
                raise ValueError("the logits X @ coef_.T + intercept_ overflow: the model's "
                                 "weights are too large for this X")
            return scores[:, 0] if scores.shape[1] == 1 else scores
        if namespace(coef) is not xp or device_of(coef) != device_of(X):
            coef = xp.asarray(to_numpy(coef), device=device_of(X))
            intercept = xp.asarray(to_numpy(intercept), device=device_of(X))
        with np.errstate(over="ignore", invalid="ignore"):
            scores = xp.matmul(X, xp.astype(coef, X.dtype).T) + xp.astype(intercept, X.dtype)
        # finite X and weights give NaN logits only by overflow (±inf summed); checked on the
        # host only, where it costs no device round trip
        if isinstance(scores, np.ndarray) and not np.all(np.isfinite(scores)):
            raise ValueError(
                "the logits X @ coef_.T + intercept_ overflow: the model's weights (largest "
                f"{float(np.max(np.abs(to_numpy(coef)))):.3g}) are too large for this X")
        return scores[:, 0] if int(scores.shape[1]) == 1 else scores

    @staticmethod
    def labels(classes: np.ndarray, indices: Any) -> Any:
        if isinstance(indices, np.ndarray) or classes.dtype.kind not in "biuf":
            return classes[to_numpy(indices)]
        xp = namespace(indices)
        return xp.take(xp.asarray(classes, device=device_of(indices)), indices, axis=0)

    @staticmethod
    def accuracy(predicted: Any, y: Any, sample_weight: Any) -> float:
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(to_numpy(y) if _is_foreign_array(y) else y,
                                    to_numpy(predicted), sample_weight=None
                                    if sample_weight is None else to_numpy(sample_weight)))


IN_MEMORY = _InMemory()

# CSR is what the kernels stream; scikit-learn's validation converts CSC, COO and the
# rest to CSR once (a copy of the non-zeros)
_SPARSE_FORMATS = "csr"


def _device(X: Any) -> Any:
    return "cpu" if is_scipy_sparse(X) else device_of(X)


def _validated_Xy(estimator: Any, X: Any, y: Any) -> tuple[Any, Any, Any]:
    """(X, y, xp) checked for fitting; sets ``n_features_in_`` and ``feature_names_in_``."""
    refuse_foreign_sparse(X)
    if not _is_foreign_array(X) and _is_foreign_array(y):
        y = to_numpy(y)
    if _is_foreign_array(X) or _is_foreign_array(y):
        X, xp = _validated_X(estimator, X, reset=True)
        return X, y, xp
    with np.errstate(over="ignore", invalid="ignore"):  # see _validated_X
        X, y = validate_data(estimator, X, y, dtype=[np.float64, np.float32],
                             accept_sparse=_SPARSE_FORMATS, y_numeric=False, multi_output=False)
    return X, y, np if is_scipy_sparse(X) else namespace(X)


def _validated_X(estimator: Any, X: Any, *, reset: bool) -> tuple[Any, Any]:
    """X as an array noloop can compute on, with its namespace (NumPy for scipy.sparse)."""
    refuse_foreign_sparse(X)
    if not _is_foreign_array(X):
        # scikit-learn's finiteness check sums X first: finite columns near ±1e308 overflow
        # that sum (a warning, then an exact check that passes); the warning is noise
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                              accept_sparse=_SPARSE_FORMATS)
        return X, np if is_scipy_sparse(X) else namespace(X)
    xp = namespace(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array X of shape (n_samples, n_features); got {X.ndim}-D "
                         f"shape {tuple(X.shape)}")
    if not xp.isdtype(X.dtype, "real floating"):
        X = xp.astype(X, xp.float64)
    n_samples, n_features = (int(d) for d in X.shape)
    if n_samples < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={tuple(X.shape)}) while a "
                         "minimum of 1 is required.")
    if not bool(xp.all(xp.isfinite(X))):
        raise ValueError("Input X contains NaN or infinity.")
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(f"X has {n_features} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return X, xp


def _encoded_targets(y: Any, X: Any, xp: Any) -> tuple[Any, np.ndarray]:
    """(class index per row in X's namespace and device, sorted classes as NumPy)."""
    n_samples = int(X.shape[0])
    if _is_foreign_array(y):
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"y must be 1-D of shape (n_samples,); got shape {tuple(y.shape)}")
        classes, indices = xp.unique_inverse(xp.reshape(y, (-1,)))
        classes = to_numpy(classes)
    else:
        y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
        classes, indices = class_indices(y)
        if not isinstance(X, np.ndarray) and not is_scipy_sparse(X):
            indices = xp.asarray(indices, device=device_of(X))
    if int(indices.shape[0]) != n_samples:
        raise ValueError(f"X and y must have the same number of samples; got {n_samples} rows "
                         f"in X and {int(indices.shape[0])} labels in y")
    return indices, classes


def class_indices(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(y, return_inverse=True)`` of class labels, checked as classification targets.

    Integer and boolean labels of a modest range are counted
    (:func:`_small_integer_classes`); others go through scikit-learn's target
    check and the sort.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    classes : ndarray of shape (n_classes,), sorted
    indices : ndarray of shape (n_samples,), intp
    """
    counted = _small_integer_classes(y)
    if counted is not None:
        return counted
    check_classification_targets(y)
    return np.unique(y, return_inverse=True)


def _small_integer_classes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(y, return_inverse=True)`` by counting, for integer or boolean labels.

    Two passes over y (its range, then a bincount) and one gather, instead of
    np.unique's sort, which took as long as a read of a 1e6 × 100 X. Integer
    labels are always valid classes, so scikit-learn's target check (another
    sort) is not needed either. None for other dtypes, or a range wider than
    the number of labels, where the sort is the better way.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    classes : ndarray of shape (n_classes,), y's dtype, sorted
    indices : ndarray of shape (n_samples,), intp
    """
    if y.dtype.kind not in "iub" or y.size == 0:
        return None
    values = y.view(np.uint8) if y.dtype.kind == "b" else y
    low, high = int(values.min()), int(values.max())
    if high - low > max(y.size, 1024):
        return None
    if values.dtype.itemsize < 8:  # widened first: int8's 127 - (-128) would wrap
        offsets = values.astype(np.intp) - low
    else:  # every value lies within high - low of low: the difference cannot wrap
        offsets = (values - values.dtype.type(low)).astype(np.intp, copy=False)
    counts = np.bincount(offsets, minlength=high - low + 1)
    present = np.flatnonzero(counts)
    position = np.zeros(counts.size, dtype=np.intp)
    position[present] = np.arange(present.size)
    # in y's dtype: the sum is one of y's values, modulo the dtype (int8's offset 255 is -1)
    classes = present.astype(bool) if y.dtype.kind == "b" else \
        values.dtype.type(low) + present.astype(values.dtype)
    return classes, position[offsets]


def _sample_weight(sample_weight: Any, X: Any, xp: Any) -> Any:
    """Per-example weights (n_samples,) in X's namespace, dtype and device; ones by default."""
    if not _is_foreign_array(X):
        # negative weights are allowed, as in scikit-learn; the sum must be positive
        return _check_sample_weight(sample_weight, X, dtype=X.dtype)
    n_samples = int(X.shape[0])
    if sample_weight is None:
        return xp.ones(n_samples, dtype=X.dtype, device=device_of(X))
    weight = xp.asarray(sample_weight, dtype=X.dtype, device=device_of(X))
    if tuple(weight.shape) != (n_samples,):
        raise ValueError(f"sample_weight.shape == {tuple(weight.shape)}, expected "
                         f"{(n_samples,)}!")
    if not bool(xp.all(xp.isfinite(weight))):
        raise ValueError("`sample_weight` must be finite")
    return weight
