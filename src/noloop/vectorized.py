"""The seed's computations vectorized: no Python loop over examples or features.

Same public names, arguments, shapes and results as :mod:`noloop.loops`;
swapping ``from noloop import loops as impl`` for
``from noloop import vectorized as impl`` changes only the speed.

Every function is written against the array namespace of its inputs
(array-api-compat), so NumPy arrays, PyTorch tensors (CPU or CUDA) and CuPy
arrays all work, and results come back in the input's library, on its device,
in its floating dtype (float32 stays float32; integers become float64).

Layout (the seed's): ``X`` is (n_x, m), one column per example; ``w`` is
(n_x, 1); ``b`` is a float; ``Y`` and ``A`` are (1, m).

Examples
--------
The seed's forward and backward pass on m = 4 examples of n_x = 2 features:

>>> import numpy as np
>>> from noloop import loops, vectorized
>>> X = np.array([[1.0, 2.0, -1.0, 0.5], [0.0, 1.0, 3.0, -2.0]])
>>> Y = np.array([[1.0, 1.0, 0.0, 0.0]])
>>> w, b = np.array([[0.5], [-0.25]]), 0.1
>>> A = vectorized.forward(w, b, X)            # A = σ(wᵀX + b), shape (1, m)
>>> A.shape
(1, 4)
>>> dw, db = vectorized.backward(X, A, Y)      # dZ = A − Y, dw = X dZᵀ / m, db = ΣdZ / m
>>> dw.shape, round(db, 4)
((2, 1), 0.0718)
>>> bool(np.allclose(dw, loops.backward(X, A, Y)[0]))   # the loop twin agrees
True
"""

from __future__ import annotations

from typing import Any

from noloop import _checks
from noloop._xp import as_float_array, namespace

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


def _prepare(name: str, array: Any, *, check_values: bool = True) -> tuple[Any, Any]:
    xp = namespace(array)
    array = as_float_array(array, xp)
    if check_values:
        _checks.check_finite(name, array)
    return array, xp


def dot(w: Any, x: Any) -> Any:
    """z = wᵀx in one call, the seed's ``np.dot(w, x)`` (section 1).

    Parameters
    ----------
    w, x : array of shape (n_x,)

    Returns
    -------
    z : 0-d array (a NumPy float for NumPy input)
    """
    w, xp = _prepare("w", w, check_values=False)
    x, _ = _prepare("x", x, check_values=False)
    _checks.check_ndim("w", w, 1, "(n_x,)")
    _checks.check_ndim("x", x, 1, "(n_x,)")
    _checks.check_same_shape("w", w, "x", x)
    z = xp.vecdot(w, x)
    _checks.check_finite_result(z, w=w, x=x)
    return z


def matvec(A: Any, v: Any) -> Any:
    """u = Av, the seed's ``np.dot(A, v)`` (section 2, example 1).

    Parameters
    ----------
    A : array of shape (n, k)
    v : array of shape (k,) or (k, 1)

    Returns
    -------
    u : array of shape (n,) or (n, 1), following ``v``
    """
    A, xp = _prepare("A", A, check_values=False)
    v, _ = _prepare("v", v, check_values=False)
    _checks.check_ndim("A", A, 2, "(n, k)")
    column = v.ndim == 2 and v.shape[1] == 1
    if not (v.ndim == 1 or column) or v.shape[0] != A.shape[1]:
        raise ValueError(
            f"`v` must have shape ({A.shape[1]},) or ({A.shape[1]}, 1) to match `A` of shape "
            f"{tuple(A.shape)}; got shape {tuple(v.shape)}"
        )
    u = xp.matmul(A, v)
    _checks.check_finite_result(u, A=A, v=v)
    return u


def exp(v: Any) -> Any:
    """u = e^v elementwise, the seed's ``np.exp(v)`` (section 2, example 2)."""
    v, xp = _prepare("v", v)
    return xp.exp(v)


def log(v: Any) -> Any:
    """u = log(v) elementwise; every entry must be > 0."""
    v, xp = _prepare("v", v)
    _checks.check_positive("v", v)
    return xp.log(v)


def abs(v: Any) -> Any:  # noqa: A001 - the seed's name, np.abs
    """u = |v| elementwise."""
    v, xp = _prepare("v", v)
    return xp.abs(v)


def relu(v: Any) -> Any:
    """u = max(v, 0) elementwise, the seed's ``np.maximum(v, 0)``."""
    v, xp = _prepare("v", v)
    return xp.where(v > 0, v, xp.zeros_like(v))


def _sigmoid(z: Any, xp: Any) -> Any:
    # e^{-|z|} never overflows; the two branches are σ(z) for z >= 0 and z < 0
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid(z: Any) -> Any:
    """σ(z) = 1 / (1 + e^{-z}) elementwise, without overflow for any finite z."""
    z, xp = _prepare("z", z)
    return _sigmoid(z, xp)


def _forward(w: Any, b: float, X: Any, xp: Any) -> Any:
    # Z = wᵀX + b: (1, n_x)·(n_x, m) -> (1, m), the scalar b broadcast to every column
    Z = xp.matmul(w.T, X) + b
    _checks.check_finite_result(Z, w=w, X=X)
    return _sigmoid(Z, xp)


def forward(w: Any, b: float, X: Any) -> Any:
    """A = σ(wᵀX + b) for all m examples at once, the seed's ``np.dot(w.T, X) + b`` (section 3).

    Parameters
    ----------
    w : array of shape (n_x, 1)
    b : float
    X : array of shape (n_x, m)

    Returns
    -------
    A : array of shape (1, m)
    """
    X, xp = _prepare("X", X, check_values=False)
    w = as_float_array(w, xp)
    _checks.check_weights_and_data(w, X, check_values=False)
    return _forward(w, _checks.check_bias(b), X, xp)


def _cost(A: Any, Y: Any, xp: Any) -> float:
    # σ saturates to exactly 0 or 1 for |Z| beyond ~37 (float64); keep a inside
    # [tiny, 1 - eps/2] so that no log(0) appears and the cost stays finite
    info = xp.finfo(A.dtype)
    log_a = xp.log(xp.clip(A, min=float(info.smallest_normal)))
    log_1m_a = xp.log1p(-xp.clip(A, max=1.0 - float(info.eps) / 2))
    losses = -xp.where(Y == 1, log_a, log_1m_a)
    return float(xp.mean(losses))


def cost(A: Any, Y: Any) -> float:
    """Mean cross-entropy J = -(1/m) Σ [Y log A + (1 − Y) log(1 − A)], in one expression.

    Saturated probabilities (exactly 0 or 1) are kept within
    [smallest normal float, largest float below 1]: the cost stays finite and
    no warning is raised, capping one example's loss at about 708 (float64).

    Parameters
    ----------
    A : array of shape (1, m)
    Y : array of shape (1, m)
        Labels, 0 or 1.

    Returns
    -------
    J : float
    """
    A, xp = _prepare("A", A)
    m = _checks.check_probabilities(A)
    Y = as_float_array(Y, xp)
    _checks.check_labels(Y, m)
    return _cost(A, Y, xp)


def _backward(X: Any, A: Any, Y: Any, xp: Any) -> tuple[Any, float]:
    m = X.shape[1]
    dZ = A - Y  # (1, m)
    dw = xp.matmul(X, dZ.T) / m  # (n_x, m)·(m, 1) -> (n_x, 1)
    _checks.check_finite_result(dw, X=X)
    db = float(xp.sum(dZ)) / m
    return dw, db


def backward(X: Any, A: Any, Y: Any) -> tuple[Any, float]:
    """dZ = A − Y, dw = X dZᵀ / m, db = Σ dZ / m (seed section 4).

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
    X, xp = _prepare("X", X, check_values=False)
    _checks.check_ndim("X", X, 2, "(n_x, m)")
    A = as_float_array(A, xp)
    m = int(X.shape[1])
    if _checks.check_probabilities(A) != m:
        raise ValueError(
            f"`A` must have shape (1, m) = (1, {m}) to match `X`; got {tuple(A.shape)}"
        )
    Y = as_float_array(Y, xp)
    _checks.check_labels(Y, m)
    return _backward(X, A, Y, xp)


def gradient_descent(
    w: Any, b: float, X: Any, Y: Any, learning_rate: float, num_iterations: int
) -> tuple[Any, float, list[float]]:
    """Batch gradient descent over all m examples at once (seed section 2, example 3, and 4).

    Each iteration: A = σ(wᵀX + b), J = cost(A, Y), dZ = A − Y,
    dw = X dZᵀ / m, db = Σ dZ / m, then w := w − α dw and b := b − α db.
    The seed prints ``b := w - a*dw``, a typo; this is the correct update.
    The only loop left is over iterations, which are sequential by nature.

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
    X, xp = _prepare("X", X)
    w = as_float_array(w, xp)
    _, m = _checks.check_weights_and_data(w, X)
    Y = as_float_array(Y, xp)
    _checks.check_labels(Y, m)
    b = _checks.check_bias(b)
    costs = []
    for _ in range(num_iterations):
        A = _forward(w, b, X, xp)
        costs.append(_cost(A, Y, xp))
        dw, db = _backward(X, A, Y, xp)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return w, b, costs
