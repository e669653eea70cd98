"""The one place that resolves array namespaces and devices.

Every vectorized function calls :func:`namespace` on its inputs and computes
with the returned ``xp``; results therefore come back in the caller's array
library (NumPy, PyTorch, CuPy, ...) and on the caller's device.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "namespace",
    "device_of",
    "as_float_array",
    "to_numpy",
    "float_dtype_of",
]


def namespace(*arrays: Any) -> Any:
    """Return the array-API namespace shared by ``arrays``.

    Python scalars and ``None`` are ignored; plain sequences are treated as
    NumPy input.

    Parameters
    ----------
    *arrays : array-like
        Arrays from one library (mixing libraries raises ``TypeError``).

    Returns
    -------
    xp : module
        The array-API-compatible namespace (``array_api_compat.numpy`` for NumPy).
    """
    candidates = [a for a in arrays if a is not None and not isinstance(a, (int, float, bool))]
    candidates = [np.asarray(a) if isinstance(a, (list, tuple)) else a for a in candidates]
    if not candidates:
        return array_api_compat.array_namespace(np.zeros(0))
    return array_api_compat.array_namespace(*candidates)


def device_of(array: Any) -> Any:
    """The device ``array`` lives on (``"cpu"`` for NumPy)."""
    return array_api_compat.device(array)


def float_dtype_of(array: Any, xp: Any) -> Any:
    """The floating dtype computations on ``array`` should use.

    Real floating inputs keep their dtype (float32 stays float32); integer and
    boolean inputs are promoted to float64.
    """
    if xp.isdtype(array.dtype, "real floating"):
        return array.dtype
    return xp.float64


def as_float_array(array: Any, xp: Any) -> Any:
    """``array`` as a floating array of namespace ``xp``, copied only if its dtype must change."""
    if isinstance(array, (list, tuple, int, float)):
        return np.asarray(array, dtype=np.float64)
    dtype = float_dtype_of(array, xp)
    if array.dtype == dtype:
        return array
    return xp.astype(array, dtype)


def to_numpy(array: Any) -> np.ndarray:
    """Copy ``array`` (any supported library, any device) into a NumPy array."""
    if isinstance(array, np.ndarray):
        return array
    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    if array_api_compat.is_cupy_array(array):
        return array.get()
    return np.asarray(array)
