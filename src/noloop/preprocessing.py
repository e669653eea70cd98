"""Standardized columns, and the same model back on the raw columns.

``noloop train`` fits on standardized columns, (X − μ) / σ, because gradient
descent and L-BFGS converge far faster when the columns share a scale, then
folds the scaling into the coefficients with :func:`fold_standardization`:

    w·(x − μ)/σ + b = (w/σ)·x + (b − (w/σ)·μ)

so the saved model predicts from the raw columns and needs no scaler beside it.
Its predictions equal those of a ``StandardScaler`` + ``LogisticRegression``
pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["standardize", "fold_standardization"]


def standardize(X: Any) -> tuple[Any, Any, Any]:
    """(X − mean) / scale per column, with the mean and scale.

    ``scale`` is the population standard deviation (``ddof=0``, as
    scikit-learn's ``StandardScaler``), and 1 where a column is constant, so
    constant columns become 0 instead of NaN.

    Parameters
    ----------
    X : ndarray, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
        On Dask the statistics take one pass and the scaling stays lazy.

    Returns
    -------
    X_scaled : same type as X, shape (n_samples, n_features)
    mean : ndarray or Series of shape (n_features,)
        In memory (computed) even for Dask input; a Series for DataFrames.
    scale : ndarray or Series of shape (n_features,)
    """
    from noloop.linear_model._dask import is_dask

    mean = X.mean(axis=0)
    scale = X.std(axis=0, ddof=0)
    if is_dask(X):
        import dask

        mean, scale = dask.compute(mean, scale)
        scale[scale == 0] = 1.0
        if hasattr(X, "map_partitions"):  # a dask DataFrame: keep its columns and dtypes
            return X.map_partitions(_scale_rows, mean, scale, meta=X._meta), mean, scale
        return _scale_rows(X, mean, scale), mean, scale
    scale[scale == 0] = 1.0
    return _scale_rows(X, mean, scale), mean, scale


def _scale_rows(X: Any, mean: Any, scale: Any) -> Any:
    return (X - mean) / scale


def fold_standardization(model: Any, mean: Any, scale: Any) -> Any:
    """Rewrite a model fitted on (X − mean) / scale as the same model on raw X, in place.

    w·(x − μ)/σ + b = (w/σ)·x + (b − (w/σ)·μ): predictions do not change.

    Parameters
    ----------
    model : LogisticRegression
        Fitted on standardized columns; its ``coef_`` (n_outputs, n_features)
        and ``intercept_`` (n_outputs,) are replaced, in their own array
        library, dtype and device.
    mean : array-like of shape (n_features,)
        The column means, as :func:`standardize` returned them.
    scale : array-like of shape (n_features,)
        The column scales; every one positive and finite.

    Returns
    -------
    model : LogisticRegression
        The same object.
    """
    from noloop._xp import device_of, namespace

    coef = model.coef_
    n_features = coef.shape[1]
    mean = np.asarray(mean, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    for name, values in (("mean", mean), ("scale", scale)):
        if values.shape != (n_features,):
            raise ValueError(f"`{name}` must have shape ({n_features},), one value per column of "
                             f"the model's coef_; got {values.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ValueError("`mean` must be finite and `scale` positive and finite")
    xp = namespace(coef)
    mean, scale = (xp.asarray(values, dtype=coef.dtype, device=device_of(coef))
                   for values in (mean, scale))
    folded = coef / scale
    model.intercept_ = model.intercept_ - folded @ mean
    model.coef_ = folded
    return model
