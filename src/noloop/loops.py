"""The seed's computations written with explicit Python for-loops.

This is the reference the lesson compares against: every element is computed
by a Python loop over scalars with the :mod:`math` module, exactly as the seed
writes it (``for i in range(n_x): z += w[i] * x[i]``). NumPy is used only to
hold inputs and to allocate results, as the seed does with
``u = np.zeros((n, 1))``; no vectorized array function computes anything here.

:mod:`noloop.vectorized` has the same names, arguments, shapes and results.

Layout (the seed's): ``X`` is (n_x, m), one column per example; ``w`` is
(n_x, 1); ``b`` is a float; ``Y`` and ``A`` are (1, m).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from noloop import _checks

__all__ = [
    "dot",
    "matvec",
    "exp",
    "log",
    "abs",
    "relu",
    "sigmoid",
    "forward",
    "cost",
    "backward",
    "gradient_descent",
]

_TINY = sys.float_info.min  # smallest positive normal float64
_ONE_BELOW = 1.0 - sys.float_info.epsilon / 2  # largest float64 below 1


def _as_float64(name: str, array: Any) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    _checks.check_finite(name, array)
    return array


def dot(w: Any, x: Any) -> np.float64:
    """z = wᵀx with a loop over the n_x features (seed section 1).

    Parameters
    ----------
    w, x : array of shape (n_x,)

    Returns
    -------
    z : float
    """
    w = _as_float64("w", w)
    x = _as_float64("x", x)
    _checks.check_ndim("w", w, 1, "(n_x,)")
    _checks.check_ndim("x", x, 1, "(n_x,)")
    _checks.check_same_shape("w", w, "x", x)
    z = 0.0
    for i in range(w.shape[0]):
        z += w[i] * x[i]
    return np.float64(z)


def matvec(A: Any, v: Any) -> np.ndarray:
    """u = Av with a double loop, u_i = Σ_j A_ij v_j (seed section 2, example 1).

    Parameters
    ----------
    A : array of shape (n, k)
    v : array of shape (k,) or (k, 1)

    Returns
    -------
    u : array of shape (n,) or (n, 1), following ``v``
    """
    A = _as_float64("A", A)
    v = _as_float64("v", v)
    _checks.check_ndim("A", A, 2, "(n, k)")
    column = v.ndim == 2 and v.shape[1] == 1
    if not (v.ndim == 1 or column) or v.shape[0] != A.shape[1]:
        raise ValueError(
            f"`v` must have shape ({A.shape[1]},) or ({A.shape[1]}, 1) to match `A` of shape "
            f"{A.shape}; got shape {v.shape}"
        )
    n, k = A.shape
    u = np.zeros((n, 1))
    for i in range(n):
        for j in range(k):
            u[i, 0] += A[i, j] * v[j, 0] if column else A[i, j] * v[j]
    return u if column else u.reshape(n)


def _elementwise(v: Any, scalar_function: Any) -> np.ndarray:
    """Apply ``scalar_function`` to every entry of ``v`` in a Python loop."""
    flat = v.reshape(-1)
    n = flat.shape[0]
    u = np.zeros((n,))
    for i in range(n):
        u[i] = scalar_function(flat[i])
    return u.reshape(v.shape)


def exp(v: Any) -> np.ndarray:
    """u_i = e^{v_i}, one ``math.exp`` per entry (seed section 2, example 2).

    Parameters
    ----------
    v : array of any shape

    Returns
    -------
    u : array of the shape of ``v``
    """
    return _elementwise(_as_float64("v", v), math.exp)


def log(v: Any) -> np.ndarray:
    """u_i = log(v_i), one ``math.log`` per entry; every v_i must be > 0."""
    v = _as_float64("v", v)
    _checks.check_positive("v", v)
    return _elementwise(v, math.log)


def abs(v: Any) -> np.ndarray:  # noqa: A001 - the seed's name, np.abs
    """u_i = |v_i|, one ``math.fabs`` per entry."""
    return _elementwise(_as_float64("v", v), math.fabs)


def relu(v: Any) -> np.ndarray:
    """u_i = max(v_i, 0), the seed's ``np.maximum(v, 0)``, one comparison per entry."""
    return _elementwise(_as_float64("v", v), lambda vi: vi if vi > 0.0 else 0.0)


def _sigmoid_scalar(z: float) -> float:
    # exp of a non-positive number never overflows, so branch on the sign
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid(z: Any) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{-z}) per entry, without overflow for any finite z."""
    return _elementwise(_as_float64("z", z), _sigmoid_scalar)


def forward(w: Any, b: float, X: Any) -> np.ndarray:
    """A = σ(wᵀX + b), one example and one feature at a time (seed section 3).

    Parameters
    ----------
    w : array of shape (n_x, 1)
    b : float
    X : array of shape (n_x, m)

    Returns
    -------
    A : array of shape (1, m)
    """
    w = _as_float64("w", w)
    X = _as_float64("X", X)
    n_x, m = _checks.check_weights_and_data(w, X)
    b = _checks.check_bias(b)
    A = np.zeros((1, m))
    for j in range(m):
        z = b
        for i in range(n_x):
            z += w[i, 0] * X[i, j]
        A[0, j] = _sigmoid_scalar(z)
    return A


def cost(A: Any, Y: Any) -> float:
    """Mean cross-entropy J = -(1/m) Σ_j [y_j log a_j + (1 - y_j) log(1 - a_j)].

    A saturated σ (a_j rounded to exactly 0 or 1) would give log(0); a_j is
    kept within [smallest normal float, largest float below 1] so the cost stays
    finite, capping one example's loss at about 708.

    Parameters
    ----------
    A : array of shape (1, m)
        Predicted probabilities.
    Y : array of shape (1, m)
        Labels, 0 or 1.

    Returns
    -------
    J : float
    """
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = _checks.check_probabilities(A)
    _checks.check_labels(Y, m)
    total = 0.0
    for j in range(m):
        if Y[0, j] == 1.0:
            total -= math.log(max(A[0, j], _TINY))
        else:
            total -= math.log1p(-min(A[0, j], _ONE_BELOW))
    return total / m


def backward(X: Any, A: Any, Y: Any) -> tuple[np.ndarray, float]:
    """dZ = A − Y, dw = X dZᵀ / m, db = Σ dZ / m, accumulated example by example (seed section 4).

    Parameters
    ----------
    X : array of shape (n_x, m)
    A : array of shape (1, m)
    Y : array of shape (1, m)

    Returns
    -------
    dw : array of shape (n_x, 1)
    db : float
    """
    X = _as_float64("X", X)
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    _checks.check_ndim("X", X, 2, "(n_x, m)")
    n_x, m = X.shape
    if _checks.check_probabilities(A) != m:
        raise ValueError(f"`A` must have shape (1, m) = (1, {m}) to match `X`; got {A.shape}")
    _checks.check_labels(Y, m)
    dw = np.zeros((n_x, 1))
    db = 0.0
    for j in range(m):
        dz = A[0, j] - Y[0, j]
        for i in range(n_x):
            dw[i, 0] += X[i, j] * dz
        db += dz
    for i in range(n_x):
        dw[i, 0] = dw[i, 0] / m
    return dw, float(db / m)


def gradient_descent(
    w: Any, b: float, X: Any, Y: Any, learning_rate: float, num_iterations: int
) -> tuple[np.ndarray, float, list[float]]:
    """Batch gradient descent: repeat forward, cost, backward and the update (seed section 4).

    The update is w := w − α dw and b := b − α db. The seed prints
    ``b := w - a*dw``, a typo; this is the correct update.

    Parameters
    ----------
    w : array of shape (n_x, 1)
        Initial weights (not modified).
    b : float
        Initial bias.
    X : array of shape (n_x, m)
    Y : array of shape (1, m)
        Labels, 0 or 1.
    learning_rate : float
        The step α.
    num_iterations : int

    Returns
    -------
    w : array of shape (n_x, 1)
    b : float
    costs : list of float
        The cost J before each of the ``num_iterations`` updates.
    """
    _checks.check_step(learning_rate, num_iterations)
    w = _as_float64("w", w).copy()
    X = _as_float64("X", X)
    n_x, m = _checks.check_weights_and_data(w, X)
    _checks.check_labels(np.asarray(Y, dtype=np.float64), m)
    b = _checks.check_bias(b)
    costs = []
    for _ in range(num_iterations):
        A = forward(w, b, X)
        costs.append(cost(A, Y))
        dw, db = backward(X, A, Y)
        for i in range(n_x):
            w[i, 0] = w[i, 0] - learning_rate * dw[i, 0]
        b = b - learning_rate * db
    return w, b, costs
