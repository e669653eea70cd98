"""Fused one-pass loss-and-gradient kernels for NumPy data (numba).

The textbook vectorized gradient reads X twice per evaluation (Z = X·w, then
dW = dZᵀ·X) and allocates temporaries along the way. These kernels stream X
once: for each row, while it sits in L1 cache, they compute the logit, the
loss and the residual, and add the row's share of the gradient. Rows are
split into chunks across threads (``prange``), each with its own gradient
accumulator, so both cores work and no temporary of X's size exists.

Only C-contiguous float32/float64 NumPy arrays come here; everything else
(PyTorch, CuPy, Dask, strided NumPy) takes the plain vectorized path in
:mod:`noloop.linear_model._dense`, which gives the same results to rounding.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# numba's OpenMP threading layer spins its idle threads by default; on a shared,
# busy 2-core machine that spinning takes the cores the other thread needs
# (a cross-validation ran 25 s instead of 1.1 s). Passive waiting costs a few
# microseconds per parallel region. It must be set before OpenMP starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["accepts", "binary_loss_gradient", "multinomial_loss_gradient"]

try:
    import numba
    from numba import prange
except ImportError:  # numba is a dependency, but the library must work without it
    numba = None


if numba is not None:
    from noloop.linear_model._logistic_scalar import (softmax_loss_to_residual,
                                                      softplus_and_sigmoid)

    @numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)
    def _binary(X, y, weight, w, b, n_chunks):  # pragma: no cover - compiled
        # X is read in its own dtype; the arithmetic is float64 for every dtype, so
        # float32 data halves the bytes streamed without losing digits in the sums.
        n, d = X.shape
        gradients = np.zeros((n_chunks, d + 1))
        losses = np.zeros(n_chunks)
        chunk = (n + n_chunks - 1) // n_chunks
        w64 = w.astype(np.float64)
        for c in prange(n_chunks):
            start = c * chunk
            stop = min(n, start + chunk)
            g = np.zeros(d + 1)
            loss = 0.0
            for i in range(start, stop):
                z = b
                for j in range(d):
                    z += X[i, j] * w64[j]
                softplus, p = softplus_and_sigmoid(z)
                loss += weight[i] * (softplus - y[i] * z)
                r = weight[i] * (p - y[i])
                for j in range(d):
                    g[j] += r * X[i, j]
                g[d] += r
            gradients[c, :] = g
            losses[c] = loss
        return losses.sum(), gradients.sum(axis=0)

    @numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)
    def _multinomial(X, labels, weight, W, b, n_chunks):  # pragma: no cover - compiled
        n, d = X.shape
        k = W.shape[0]
        gradients = np.zeros((n_chunks, k, d + 1))
        losses = np.zeros(n_chunks)
        chunk = (n + n_chunks - 1) // n_chunks
        W64 = W.astype(np.float64)
        for c in prange(n_chunks):
            start = c * chunk
            stop = min(n, start + chunk)
            g = np.zeros((k, d + 1))
            z = np.empty(k)
            loss = 0.0
            for i in range(start, stop):
                for a in range(k):
                    s = b[a]
                    for j in range(d):
                        s += X[i, j] * W64[a, j]
                    z[a] = s
                loss += softmax_loss_to_residual(z, labels[i], weight[i])
                for a in range(k):
                    r = z[a]
                    for j in range(d):
                        g[a, j] += r * X[i, j]
                    g[a, d] += r
            gradients[c] = g
            losses[c] = loss
        return losses.sum(), gradients.sum(axis=0)


def _n_chunks(n_samples: int) -> int:
    threads = numba.get_num_threads()
    # several chunks per thread balance the load; each chunk's accumulator is tiny
    return max(1, min(n_samples, 4 * threads))


def binary_loss_gradient(X: np.ndarray, y: np.ndarray, weight: np.ndarray, w: np.ndarray,
                         b: float) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(log(1 + e^{zᵢ}) − yᵢzᵢ) and its gradient [∂w, ∂b], in one pass over X.

    Parameters
    ----------
    X : C-contiguous array of shape (n_samples, n_features), float32 or float64
    y : array of shape (n_samples,), 0 or 1
    weight : array of shape (n_samples,)
    w : array of shape (n_features,)
    b : float

    Returns
    -------
    loss : float
    gradient : float64 array of shape (n_features + 1,), the intercept's last
    """
    return _binary(X, y, weight, w, float(b), _n_chunks(X.shape[0]))


def multinomial_loss_gradient(X: np.ndarray, labels: np.ndarray, weight: np.ndarray,
                              W: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(logsumexp(zᵢ) − z_{i,yᵢ}) and its gradient, in one pass over X.

    Parameters
    ----------
    X : C-contiguous array of shape (n_samples, n_features), float32 or float64
    labels : int64 array of shape (n_samples,), class indices
    weight : array of shape (n_samples,)
    W : array of shape (n_classes, n_features)
    b : float64 array of shape (n_classes,)

    Returns
    -------
    loss : float
    gradient : float64 array of shape (n_classes, n_features + 1)
    """
    return _multinomial(X, labels, weight, W, np.ascontiguousarray(b, dtype=np.float64),
                        _n_chunks(X.shape[0]))


def accepts(X: Any) -> bool:
    """True when ``X`` can stream through the kernels: C-contiguous float32/float64 NumPy."""
    return (
        numba is not None and isinstance(X, np.ndarray) and X.ndim == 2
        and X.dtype in (np.float32, np.float64) and X.flags.c_contiguous
    )


def compile_all() -> None:
    """Compile (or load from numba's cache) every signature a fit uses: X and weights in
    float32 or float64, binary and softmax.

    ``make install`` runs this once (``python -m noloop.linear_model._kernels``), so the
    first fit after installing does not wait seconds for the compiler.
    """
    if numba is None:
        return
    for x_dtype in (np.float32, np.float64):
        for weight_dtype in {x_dtype, np.float64}:
            X = np.zeros((2, 2), dtype=x_dtype)
            weight = np.full(2, 0.5, dtype=weight_dtype)
            binary_loss_gradient(X, np.zeros(2), weight, np.zeros(2), 0.0)
            multinomial_loss_gradient(X, np.zeros(2, dtype=np.int64), weight, np.zeros((3, 2)),
                                      np.zeros(3))
    from noloop.linear_model import _categorical_kernels, _sparse_kernels

    _sparse_kernels.compile_all()
    _categorical_kernels.compile_all()


if __name__ == "__main__":
    compile_all()
