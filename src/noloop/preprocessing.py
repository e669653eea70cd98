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

__all__ = ["standardize", "standardize_lean", "fold_standardization"]


# naive sums of squares overflow above ~1e154 and underflow below ~1e-154: outside this band
# the statistics are taken on each column divided by its largest magnitude, then scaled back
_SAFE_PEAK = (1e-150, 1e150)


def standardize(X: Any, *, source: str | None = None,
                names: Any = None) -> tuple[Any, Any, Any]:
    """(X − mean) / scale per column, with the mean and scale.

    ``scale`` is the population standard deviation (``ddof=0``, as
    scikit-learn's ``StandardScaler``), and 1 where a column is constant, so
    constant columns become 0 instead of NaN.

    Columns of any finite magnitude are standardized correctly: where a
    column's largest magnitude is above 1e150 or below 1e-150 (where the
    variance would overflow or underflow), or a statistic comes out not
    finite, the statistics are computed on the column divided by its largest
    magnitude and scaled back, and the scaled column is computed the same way,
    so that ±1e308 stays finite.

    Parameters
    ----------
    X : ndarray, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
        Finite values. On Dask the statistics take one pass (two where a
        column needs the rescaling) and the scaling stays lazy.
    source : str, optional
        The file X came from, for the messages.
    names : sequence of str, optional
        The column names, for the messages, where X has none of its own.

    Returns
    -------
    X_scaled : same type as X, shape (n_samples, n_features)
    mean : ndarray or Series of shape (n_features,)
        In memory (computed) even for Dask input; a Series for DataFrames.
    scale : ndarray or Series of shape (n_features,)

    Raises
    ------
    DataError
        Naming the column whose spread cannot be represented as a positive
        float64 (values differing only below ~1e-308).
    """
    from noloop.linear_model._dask import is_dask

    compute = _dask_compute if is_dask(X) else _identity
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # checked just below
        mean, scale, peak = compute(X.mean(axis=0), X.std(axis=0, ddof=0), abs(X).max(axis=0))
    unsafe = _is_unsafe(mean, scale, peak)
    if unsafe:
        peak = _where_positive(peak)
        shrunk = _apply(X, _divide, peak)
        mean, scale = compute(shrunk.mean(axis=0), shrunk.std(axis=0, ddof=0))
        shift, divisor = mean, _where_positive(scale)
        mean, scale = mean * peak, scale * peak
        _check_scale(scale if names is None else _named(scale, names), divisor, source)
    scale = _where_positive(scale)
    if unsafe:
        return _apply(X, _scale_shrunk, peak, shift, divisor), mean, scale
    return _apply(X, _scale_rows, mean, scale), mean, scale


def standardize_lean(X: Any, *, source: str | None = None,
                     names: Any = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """:func:`standardize` of an in-memory float64 matrix, without its n × d temporaries.

    The same numbers, bit for bit, as ``standardize(X)`` (and as
    ``standardize`` of a pandas DataFrame over X): only the scaled matrix is
    allocated, and every statistic and every scaled row is computed block by
    block of rows (about 1 MiB, cache-resident). ``standardize`` holds up to
    three more arrays of X's size at once (``abs(X)``, ``X − mean`` and its
    square, then ``X − mean`` beside the result); for ``noloop train`` on a
    large file that was the peak of the whole command.

    Bit for bit because NumPy sums a C-contiguous matrix along axis 0 one row
    after the other, per column: each block's sums continue from the previous
    block's (the running sums are the block's first row), so every addition
    happens in the same order. Where NumPy would sum in another order (one
    column: pairwise; another layout or dtype), this calls :func:`standardize`.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Finite values. Lean when X (or the DataFrame's values) is a
        C-contiguous float64 ndarray with at least two columns.
    source : str, optional
        The file X came from, for the messages.
    names : sequence of str, optional
        The column names, for the messages (a DataFrame's own by default).

    Returns
    -------
    X_scaled : ndarray of shape (n_samples, n_features)
        A new C-contiguous float64 array (X is left as it was).
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)

    Raises
    ------
    DataError
        As :func:`standardize`.
    """
    if names is None and hasattr(X, "columns"):
        names = [str(name) for name in X.columns]
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    if not _sums_row_by_row(values):
        scaled, mean, scale = standardize(values, source=source, names=names)
        return scaled, np.asarray(mean), np.asarray(scale)
    n_samples = values.shape[0]
    rows = _block_rows(values.shape[1])
    # overflow and underflow are checked by _is_unsafe, and then avoided by the rescaling
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean = _column_sums(values, rows) / n_samples
        scale = np.sqrt(_column_sums(values, rows, _squared_deviation, mean) / n_samples)
        peak = _column_peaks(values, rows)
        unsafe = _is_unsafe(mean, scale, peak)
        if unsafe:
            peak = _where_positive(peak)
            shift = _column_sums(values, rows, _divide, peak) / n_samples
            spread = np.sqrt(_column_sums(values, rows, _squared_shrunk_deviation, peak, shift)
                             / n_samples)
            divisor = _where_positive(spread)
            mean, scale = shift * peak, spread * peak
    if unsafe:
        _check_scale(scale if names is None else _named(scale, names), divisor, source)
    scale = _where_positive(scale)
    scaled = np.empty_like(values)
    for start in range(0, n_samples, rows):
        block, out = values[start:start + rows], scaled[start:start + rows]
        if unsafe:
            np.divide(block, peak, out=out)
            np.subtract(out, shift, out=out)
            np.divide(out, divisor, out=out)
        else:
            np.subtract(block, mean, out=out)
            np.divide(out, scale, out=out)
    return scaled, mean, scale


# rows per block: about 1 MiB of X, so a block and its scratch copy stay in L2
_BLOCK_BYTES = 1 << 20


def _sums_row_by_row(values: Any) -> bool:
    """Whether NumPy sums ``values`` along axis 0 row after row (so blocks can continue it)."""
    return (isinstance(values, np.ndarray) and values.ndim == 2 and values.dtype == np.float64
            and values.flags.c_contiguous and values.shape[0] > 0 and values.shape[1] >= 2)


def _block_rows(n_features: int) -> int:
    return max(1, _BLOCK_BYTES // (8 * n_features))


def _column_sums(values: np.ndarray, rows: int, transform: Any = None,
                 *statistics: Any) -> np.ndarray:
    """Σ over rows of ``transform(values, *statistics)`` (or of ``values``), shape (n_features,).

    Block by block: the scratch holds the running sums in its first row and
    the block's (transformed) rows below, and NumPy's sum over it continues
    the row-by-row order of one sum over the whole matrix.
    """
    scratch = np.empty((rows + 1, values.shape[1]))
    total = None
    for start in range(0, values.shape[0], rows):
        block = values[start:start + rows]
        first = 0 if total is None else 1
        if total is not None:
            scratch[0] = total
        target = scratch[first:first + block.shape[0]]
        if transform is None:
            target[...] = block
        else:
            transform(block, *statistics, out=target)
        total = scratch[:first + block.shape[0]].sum(axis=0)
    assert total is not None
    return total


def _squared_deviation(block: np.ndarray, mean: np.ndarray, *, out: np.ndarray) -> None:
    # as NumPy's var: x = X − mean, then x·x
    np.subtract(block, mean, out=out)
    np.multiply(out, out, out=out)


def _squared_shrunk_deviation(block: np.ndarray, peak: np.ndarray, shift: np.ndarray, *,
                              out: np.ndarray) -> None:
    np.divide(block, peak, out=out)
    _squared_deviation(out, shift, out=out)


def _column_peaks(values: np.ndarray, rows: int) -> np.ndarray:
    """max |x| per column, shape (n_features,) (a maximum does not depend on the order)."""
    peak = np.zeros(values.shape[1])
    scratch = np.empty((rows, values.shape[1]))
    for start in range(0, values.shape[0], rows):
        block = values[start:start + rows]
        magnitudes = np.abs(block, out=scratch[:block.shape[0]])
        np.maximum(peak, magnitudes.max(axis=0), out=peak)
    return peak


def _named(values: np.ndarray, names: Any) -> Any:
    import pandas as pd

    return pd.Series(values, index=list(names))


def _identity(*values: Any) -> tuple[Any, ...]:
    return values


def _dask_compute(*values: Any) -> tuple[Any, ...]:
    import dask

    return dask.compute(*values)


def _is_unsafe(mean: Any, scale: Any, peak: Any) -> bool:
    """Whether any column's statistics need the rescaled computation."""
    peak = np.asarray(peak, dtype=np.float64)
    finite = np.isfinite(np.asarray(mean, dtype=np.float64)) & \
        np.isfinite(np.asarray(scale, dtype=np.float64))
    extreme = (peak > _SAFE_PEAK[1]) | ((peak > 0) & (peak < _SAFE_PEAK[0]))
    return bool((~finite | extreme).any())


def _where_positive(values: Any) -> Any:
    """``values`` with zeros (constant or all-zero columns) replaced by 1."""
    values = values.copy()
    values[values == 0] = 1.0
    return values


def _check_scale(scale: Any, divisor: Any, source: str | None) -> None:
    """Refuse a column whose spread underflows to 0 once scaled back (values below ~1e-308)."""
    lost = (np.asarray(scale, dtype=np.float64) == 0) & (np.asarray(divisor) != 1.0)
    if lost.any():
        from noloop.errors import DataError

        names = list(scale.index) if hasattr(scale, "index") else list(range(len(scale)))
        column = names[int(np.flatnonzero(lost)[0])]
        raise DataError(
            f"{source + ': ' if source else ''}column {column!r}: its values differ only below "
            "~1e-308, too little to standardize in float64; multiply the column by a large "
            "factor or train with --no-standardize"
        )


def _apply(X: Any, function: Any, *statistics: Any) -> Any:
    """``function(X, *statistics)``, lazily per partition for a dask DataFrame."""
    if hasattr(X, "map_partitions"):  # a dask DataFrame: keep its columns and dtypes
        return X.map_partitions(function, *statistics, meta=X._meta)
    return function(X, *statistics)


def _divide(X: Any, divisor: Any, *, out: Any = None) -> Any:
    return np.divide(X, divisor, out=out) if out is not None else X / divisor


def _scale_rows(X: Any, mean: Any, scale: Any) -> Any:
    return (X - mean) / scale


def _scale_shrunk(X: Any, peak: Any, shift: Any, divisor: Any) -> Any:
    # (X/peak − mean/peak) / (scale/peak): no intermediate beyond ±2 · max|X| / peak
    return (X / peak - shift) / divisor


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
