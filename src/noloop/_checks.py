"""Input checks shared by the seed's two twins, :mod:`noloop.loops` and :mod:`noloop.vectorized`.

Both twins call the same checks so that the same bad input raises the same
``ValueError``, naming the argument, what was expected and what came.
The checks work on any array-API array (NumPy, PyTorch, CuPy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from noloop._xp import namespace

__all__ = [
    "check_ndim",
    "check_finite",
    "check_finite_result",
    "check_weights_and_data",
    "check_labels",
    "check_probabilities",
    "check_same_shape",
    "check_positive",
    "check_step",
    "check_bias",
]


def check_ndim(name: str, array: Any, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``array`` has ``ndim`` dimensions.

    ``layout`` is the expected shape spelled for people, e.g. ``"(n_x, m)"``.
    """
    shape = tuple(array.shape)
    if len(shape) != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array of shape {layout}; got {len(shape)}-D shape {shape}"
        )


def check_finite(name: str, array: Any) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or infinity."""
    xp = namespace(array)
    if not xp.isdtype(array.dtype, ("real floating", "complex floating")):
        return
    # NaN or infinity anywhere makes the sum non-finite, and the sum allocates nothing;
    # a sum that merely overflows falls through to the exact count below
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy would warn on that overflow
        if bool(xp.isfinite(xp.sum(array))):
            return
    n_bad = int(xp.sum(xp.astype(~xp.isfinite(array), xp.int64)))
    if n_bad:
        size = 1
        for extent in array.shape:
            size *= int(extent)
        raise ValueError(
            f"`{name}` must contain only finite numbers; got NaN or infinity in "
            f"{n_bad} of {size} entries"
        )


def check_finite_result(result: Any, **inputs: Any) -> None:
    """Check ``inputs`` for NaN/infinity only when ``result`` is not finite.

    For sums of products (dot, matvec, Xw) a NaN or infinity in any input
    always reaches the result (even 0 · inf is NaN), so checking the small
    result first keeps the full pass over a large input off the happy path.
    """
    xp = namespace(result)
    if bool(xp.all(xp.isfinite(result))):
        return
    for name, array in inputs.items():
        check_finite(name, array)


def check_weights_and_data(w: Any, X: Any, *, check_values: bool = True) -> tuple[int, int]:
    """Check the seed's layout: ``w`` is (n_x, 1), ``X`` is (n_x, m). Return (n_x, m).

    With ``check_values=False`` only shapes are checked; the caller then checks
    values through :func:`check_finite_result`.
    """
    check_ndim("w", w, 2, "(n_x, 1)")
    check_ndim("X", X, 2, "(n_x, m)")
    n_x, m = (int(extent) for extent in X.shape)
    if tuple(w.shape) != (n_x, 1):
        raise ValueError(
            f"`w` must have shape (n_x, 1) = ({n_x}, 1) to match `X` of shape ({n_x}, {m}); "
            f"got shape {tuple(w.shape)}"
        )
    if m < 1:
        raise ValueError(f"`X` must hold at least one example (column); got shape {(n_x, m)}")
    if check_values:
        check_finite("w", w)
        check_finite("X", X)
    return n_x, m


def check_labels(Y: Any, m: int) -> None:
    """``Y`` must be (1, m) and hold only 0 and 1."""
    check_ndim("Y", Y, 2, "(1, m)")
    if tuple(Y.shape) != (1, m):
        raise ValueError(f"`Y` must have shape (1, m) = (1, {m}); got shape {tuple(Y.shape)}")
    check_finite("Y", Y)
    xp = namespace(Y)
    n_bad = int(xp.sum(xp.astype((Y != 0) & (Y != 1), xp.int64)))
    if n_bad:
        raise ValueError(f"`Y` must contain only 0 and 1; got {n_bad} other value(s)")


def check_probabilities(A: Any) -> int:
    """``A`` must be (1, m) with entries in [0, 1]. Return m."""
    check_ndim("A", A, 2, "(1, m)")
    if int(A.shape[0]) != 1:
        raise ValueError(f"`A` must have shape (1, m); got shape {tuple(A.shape)}")
    check_finite("A", A)
    xp = namespace(A)
    n_bad = int(xp.sum(xp.astype((A < 0) | (A > 1), xp.int64)))
    if n_bad:
        raise ValueError(f"`A` must hold probabilities in [0, 1]; got {n_bad} value(s) outside")
    return int(A.shape[1])


def check_same_shape(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same shape; "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_positive(name: str, array: Any) -> None:
    """Raise ``ValueError`` unless every entry of ``array`` is > 0 (the domain of log)."""
    xp = namespace(array)
    n_bad = int(xp.sum(xp.astype(~(array > 0), xp.int64)))
    if n_bad:
        raise ValueError(
            f"`{name}` must be positive for log; got {n_bad} value(s) that are zero, negative or NaN"
        )


def check_step(learning_rate: float, num_iterations: int) -> None:
    """``learning_rate`` must be a positive finite number and ``num_iterations`` an int >= 0."""
    if not (isinstance(learning_rate, (int, float)) and 0 < float(learning_rate) < float("inf")):
        raise ValueError(f"`learning_rate` must be a positive finite number; got {learning_rate!r}")
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, int) or num_iterations < 0:
        raise ValueError(f"`num_iterations` must be an integer >= 0; got {num_iterations!r}")


def check_bias(b: Any) -> float:
    """``b`` must be a finite real number (a Python float or a 0-d/size-1 array). Return it as float."""
    try:
        value = float(b)
    except (TypeError, ValueError):
        raise ValueError(f"`b` must be a real number; got {b!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"`b` must be finite; got {value}")
    return value
