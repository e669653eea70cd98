"""Fused one-pass kernels over CSR matrices (numba): loss + gradient, Hessian-vector products.

A CSR matrix is three arrays: ``data`` (the non-zero values), ``indices``
(their columns) and ``indptr`` (where each row starts). The textbook sparse
gradient reads ``data`` and ``indices`` twice per evaluation (z = X·w, then
Xᵀ·r, the second a scatter through scipy's transpose). These kernels stream
them once: for each row they gather its logit from w, compute the loss and the
residual, and scatter the row's share of the gradient while the row's entries
are still in cache.

Threads take contiguous blocks of rows holding about equal numbers of
non-zeros (one block per thread). The scatter-add would race between
threads, so each block adds into its own dense accumulator; the accumulators
are reduced once at the end, a pass over n_threads × n_features numbers —
small next to the non-zeros when rows are many. The accumulators are
allocated by the caller once (:class:`Workspace`) and zeroed inside the
kernel, each by its own thread, not allocated per call.

Every kernel reads ``data`` in its own dtype (float32 or float64) and computes
in float64, as :mod:`noloop.linear_model._kernels` does.

Softmax coefficients are passed transposed, (n_features, n_classes), so one
column's K weights (and its K gradient entries) are adjacent in memory: a
gather or scatter touches one cache line instead of K.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see _kernels.py: set before OpenMP starts

__all__ = ["Workspace", "binary_loss_gradient", "multinomial_loss_gradient",
           "binary_hessian_product", "multinomial_hessian_product", "binary_curvature",
           "multinomial_probabilities", "row_blocks", "compile_all"]

try:
    import numba
    from numba import prange
except ImportError:  # numba is a dependency, but the library must work without it
    numba = None


# rows per chunk of the binary loss + gradient: 256 rows of ~50 non-zeros (~150 KB of data
# and indices) stay in L2 between the chunk's gather and its scatter
_CHUNK_ROWS = 256

if numba is not None:
    from noloop.linear_model._logistic_scalar import (sigmoid_slope, softmax_loss_to_residual,
                                                      softplus_and_sigmoid)

    _jit = numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)

    @numba.njit(inline="always")
    def _u(i):  # pragma: no cover - compiled
        # Index through unsigned integers: numba wraps negative signed indices
        # (a compare and select per access), which in these gather/scatter loops
        # cost more than the loads themselves (measured 2-3x per pass).
        # CSR positions and column indices are never negative.
        return np.uint64(i)

    @numba.njit(inline="always")
    def _row_dot(data, indices, indptr, i, w, b):  # pragma: no cover - compiled
        # b + xᵢ·w over row i's non-zeros (a gather from w)
        z = b
        for k in range(_u(indptr[i]), _u(indptr[i + 1])):
            z += data[k] * w[_u(indices[k])]
        return z

    @numba.njit(inline="always")
    def _scatter_rows(data, indices, indptr, start, stop, ts, g):  # pragma: no cover - compiled
        # g += tᵢ·xᵢ for the chunk's rows start..stop, tᵢ = ts[i - start]
        for i in range(start, stop):
            t = ts[i - start]
            for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                g[_u(indices[k])] += t * data[k]

    @_jit
    def _binary(data, indices, indptr, y, weight, w, b, bounds, acc):  # pragma: no cover
        n_blocks = bounds.shape[0] - 1
        d = w.shape[0]
        losses = np.zeros(n_blocks)
        for c in prange(n_blocks):
            g = acc[c]
            g[:] = 0.0
            loss = 0.0
            intercept = 0.0
            zs = np.empty(_CHUNK_ROWS)
            # rows in chunks: every logit of the chunk, then the chunk's losses and residuals,
            # then the scatter, so the exp/log1p latency is not between a gather and its
            # scatter (measured 32-34 -> 26 ms per pass on one thread); the chunk's
            # non-zeros are still in cache for the scatter
            for start in range(bounds[c], bounds[c + 1], _CHUNK_ROWS):
                stop = min(start + _CHUNK_ROWS, bounds[c + 1])
                for i in range(start, stop):
                    zs[i - start] = _row_dot(data, indices, indptr, i, w, b)
                for i in range(start, stop):
                    z = zs[i - start]
                    softplus, p = softplus_and_sigmoid(z)
                    loss += weight[i] * (softplus - y[i] * z)
                    r = weight[i] * (p - y[i])
                    zs[i - start] = r
                    intercept += r
                _scatter_rows(data, indices, indptr, start, stop, zs, g)
            g[d] = intercept
            losses[c] = loss
        return losses.sum(), _reduce(acc)

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _reduce(acc):  # pragma: no cover - compiled
        # the blocks' accumulators summed column by column, in parallel over columns
        n_blocks, m = acc.shape
        out = np.empty(m)
        for j in prange(m):
            s = 0.0
            for c in range(n_blocks):
                s += acc[c, j]
            out[j] = s
        return out

    @_jit
    def _multinomial(data, indices, indptr, labels, weight, Wt, b, bounds, acc):  # pragma: no cover
        # Wt: (d, K); acc: (n_blocks, (d + 1) * K), row j of the gradient at j*K
        n_blocks = bounds.shape[0] - 1
        d, K = Wt.shape
        losses = np.zeros(n_blocks)
        for c in prange(n_blocks):
            acc[c, :] = 0.0
            g = acc[c].reshape(d + 1, K)  # row j: column j's K gradient entries
            z = np.empty(K)
            loss = 0.0
            for i in range(bounds[c], bounds[c + 1]):
                for a in range(K):
                    z[a] = b[a]
                for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                    v = data[k]
                    row = Wt[_u(indices[k])]
                    for a in range(K):
                        z[a] += v * row[a]
                loss += softmax_loss_to_residual(z, labels[i], weight[i])
                for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                    v = data[k]
                    grow = g[_u(indices[k])]
                    for a in range(K):
                        grow[a] += v * z[a]
                for a in range(K):
                    g[d, a] += z[a]
            losses[c] = loss
        return losses.sum(), _reduce(acc)

    @_jit
    def _binary_hvp(data, indices, indptr, h, v, vb, bounds, acc):  # pragma: no cover
        # X̃ᵀ diag(h) X̃ [v; vb]: per row u = x·v + vb, then scatter h·u·x; rows in chunks
        # as in _binary (every tᵢ = hᵢuᵢ of the chunk, then its scatter): measured
        # 25-38 -> 22-29 ms per product on one thread, 14-18 -> 11-15 ms on two
        # (interleaved A/B, 2026-11-29; benchmarks/sparse_pieces.py on a commit and its parent)
        n_blocks = bounds.shape[0] - 1
        d = v.shape[0]
        for c in prange(n_blocks):
            g = acc[c]
            g[:] = 0.0
            ts = np.empty(_CHUNK_ROWS)
            intercept = 0.0
            for start in range(bounds[c], bounds[c + 1], _CHUNK_ROWS):
                stop = min(start + _CHUNK_ROWS, bounds[c + 1])
                for i in range(start, stop):
                    t = h[i] * _row_dot(data, indices, indptr, i, v, vb)
                    ts[i - start] = t
                    intercept += t
                _scatter_rows(data, indices, indptr, start, stop, ts, g)
            g[d] = intercept
        return _reduce(acc)

    @_jit
    def _multinomial_hvp(data, indices, indptr, P, weight, Vt, vb, bounds, acc):  # pragma: no cover
        # the softmax Hessian times V: per row uₐ = x·Vₐ + vbₐ, m = Σ pₐuₐ,
        # tₐ = sᵢ pₐ (uₐ − m), scatter tₐ·x into class a's gradient
        n_blocks = bounds.shape[0] - 1
        d, K = Vt.shape
        for c in prange(n_blocks):
            acc[c, :] = 0.0
            g = acc[c].reshape(d + 1, K)
            u = np.empty(K)
            for i in range(bounds[c], bounds[c + 1]):
                for a in range(K):
                    u[a] = vb[a]
                for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                    x = data[k]
                    row = Vt[_u(indices[k])]
                    for a in range(K):
                        u[a] += x * row[a]
                m = 0.0
                for a in range(K):
                    m += P[i, a] * u[a]
                for a in range(K):
                    u[a] = weight[i] * P[i, a] * (u[a] - m)
                for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                    x = data[k]
                    grow = g[_u(indices[k])]
                    for a in range(K):
                        grow[a] += x * u[a]
                for a in range(K):
                    g[d, a] += u[a]
        return _reduce(acc)

    @_jit
    def _binary_curvature(data, indices, indptr, weight, w, b, out):  # pragma: no cover
        # sᵢ σ(zᵢ)(1 − σ(zᵢ)): the diagonal of the binary Hessian's middle factor
        n = indptr.shape[0] - 1
        for i in prange(n):
            out[i] = weight[i] * sigmoid_slope(_row_dot(data, indices, indptr, i, w, b))
        return out

    @_jit
    def _multinomial_probabilities(data, indices, indptr, Wt, b, out):  # pragma: no cover
        n = indptr.shape[0] - 1
        d, K = Wt.shape
        for i in prange(n):
            z = out[i]
            for a in range(K):
                z[a] = b[a]
            for k in range(_u(indptr[i]), _u(indptr[i + 1])):
                x = data[k]
                row = Wt[_u(indices[k])]
                for a in range(K):
                    z[a] += x * row[a]
            top = z[0]
            for a in range(1, K):
                if z[a] > top:
                    top = z[a]
            total = 0.0
            for a in range(K):
                z[a] = math.exp(z[a] - top)
                total += z[a]
            for a in range(K):
                z[a] /= total
        return out


def row_blocks(indptr: np.ndarray, n_blocks: int) -> np.ndarray:
    """Row boundaries of ``n_blocks`` contiguous blocks holding about equal numbers of non-zeros.

    Parameters
    ----------
    indptr : int array of shape (n_samples + 1,)
    n_blocks : int

    Returns
    -------
    bounds : int64 array of shape (n_blocks + 1,), from 0 to n_samples, non-decreasing
    """
    n_samples = indptr.shape[0] - 1
    targets = np.linspace(0, indptr[-1], n_blocks + 1)
    bounds = np.searchsorted(indptr, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, n_samples
    return np.maximum.accumulate(np.minimum(bounds, n_samples))


@dataclass
class Workspace:
    """Row blocks and per-block gradient accumulators for one CSR matrix, made once per fit.

    Parameters
    ----------
    indptr : int array of shape (n_samples + 1,)
    width : int
        Entries of one gradient: (n_features + 1) · n_outputs.
    n_blocks : int or None, default=None
        One block per numba thread when None.
    """

    indptr: np.ndarray
    width: int
    n_blocks: int | None = None
    bounds: np.ndarray = field(init=False)
    accumulators: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n_samples = self.indptr.shape[0] - 1
        if self.n_blocks is None:
            self.n_blocks = numba.get_num_threads() if numba is not None else 1
        self.n_blocks = max(1, min(self.n_blocks, n_samples))
        self.bounds = row_blocks(self.indptr, self.n_blocks)
        # np.empty: each kernel zeroes its own block's row, in its own thread
        self.accumulators = np.empty((self.n_blocks, self.width))


def binary_loss_gradient(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                         y: np.ndarray, weight: np.ndarray, w: np.ndarray, b: float,
                         workspace: Workspace) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(log(1 + e^{zᵢ}) − yᵢzᵢ) and its gradient [∂w, ∂b], in one pass over the CSR arrays.

    Parameters
    ----------
    data, indices, indptr : the CSR arrays of X, shape (n_samples, n_features)
    y : float64 array of shape (n_samples,), 0 or 1
    weight : array of shape (n_samples,)
    w : float64 array of shape (n_features,)
    b : float
    workspace : Workspace of width n_features + 1

    Returns
    -------
    loss : float
    gradient : float64 array of shape (n_features + 1,), the intercept's last
    """
    return _binary(data, indices, indptr, y, weight, w, float(b), workspace.bounds,
                   workspace.accumulators)


def multinomial_loss_gradient(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                              labels: np.ndarray, weight: np.ndarray, W: np.ndarray,
                              b: np.ndarray, workspace: Workspace) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(logsumexp(zᵢ) − z_{i,yᵢ}) and its gradient, in one pass over the CSR arrays.

    Parameters
    ----------
    data, indices, indptr : the CSR arrays of X, shape (n_samples, n_features)
    labels : int64 array of shape (n_samples,)
    weight : array of shape (n_samples,)
    W : array of shape (n_classes, n_features)
    b : array of shape (n_classes,)
    workspace : Workspace of width (n_features + 1) · n_classes

    Returns
    -------
    loss : float
    gradient : float64 array of shape (n_classes, n_features + 1)
    """
    K, d = W.shape
    Wt = np.ascontiguousarray(W.T, dtype=np.float64)
    value, flat = _multinomial(data, indices, indptr, labels, weight, Wt,
                               np.ascontiguousarray(b, dtype=np.float64), workspace.bounds,
                               workspace.accumulators)
    return value, np.ascontiguousarray(flat.reshape(d + 1, K).T)


def binary_curvature(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                     weight: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """hᵢ = sᵢ σ(zᵢ)(1 − σ(zᵢ)), shape (n_samples,): the Hessian is X̃ᵀ diag(h) X̃."""
    out = np.empty(indptr.shape[0] - 1)
    return _binary_curvature(data, indices, indptr, weight, w, float(b), out)


def multinomial_probabilities(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                              W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Softmax probabilities, float64 of shape (n_samples, n_classes)."""
    out = np.empty((indptr.shape[0] - 1, W.shape[0]))
    return _multinomial_probabilities(data, indices, indptr,
                                      np.ascontiguousarray(W.T, dtype=np.float64),
                                      np.ascontiguousarray(b, dtype=np.float64), out)


def binary_hessian_product(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                           h: np.ndarray, v: np.ndarray, vb: float, workspace: Workspace
                           ) -> np.ndarray:
    """X̃ᵀ diag(h) X̃ [v; vb] in one pass over the CSR arrays.

    Parameters
    ----------
    h : float64 array of shape (n_samples,), from :func:`binary_curvature`
    v : float64 array of shape (n_features,)
    vb : float
        The intercept's entry of the direction (0 without intercept).

    Returns
    -------
    product : float64 array of shape (n_features + 1,)
    """
    return _binary_hvp(data, indices, indptr, h, v, float(vb), workspace.bounds,
                       workspace.accumulators)


def multinomial_hessian_product(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                                P: np.ndarray, weight: np.ndarray, V: np.ndarray,
                                vb: np.ndarray, workspace: Workspace) -> np.ndarray:
    """The unpenalized softmax Hessian times [V | vb], in one pass over the CSR arrays.

    Parameters
    ----------
    P : float64 array of shape (n_samples, n_classes), from :func:`multinomial_probabilities`
    weight : array of shape (n_samples,)
    V : array of shape (n_classes, n_features)
    vb : array of shape (n_classes,)

    Returns
    -------
    product : float64 array of shape (n_classes, n_features + 1)
    """
    K, d = V.shape
    flat = _multinomial_hvp(data, indices, indptr, P, weight,
                            np.ascontiguousarray(V.T, dtype=np.float64),
                            np.ascontiguousarray(vb, dtype=np.float64), workspace.bounds,
                            workspace.accumulators)
    return np.ascontiguousarray(flat.reshape(d + 1, K).T)


def compile_all() -> None:
    """Compile (or load from numba's cache) every signature a sparse fit uses.

    Data float32 or float64, indices int32 or int64 (scipy picks int64 past
    2³¹ non-zeros), weights in the data's dtype or float64; binary and softmax.
    Called by ``python -m noloop.linear_model._kernels``.
    """
    if numba is None:
        return
    for x_dtype in (np.float32, np.float64):
        for index_dtype in (np.int32, np.int64):
            data = np.ones(2, dtype=x_dtype)
            indices = np.array([0, 1], dtype=index_dtype)
            indptr = np.array([0, 1, 2], dtype=index_dtype)
            for weight_dtype in {x_dtype, np.float64}:
                weight = np.full(2, 0.5, dtype=weight_dtype)
                work = Workspace(indptr, 3)
                binary_loss_gradient(data, indices, indptr, np.zeros(2), weight, np.zeros(2),
                                     0.0, work)
                h = binary_curvature(data, indices, indptr, weight, np.zeros(2), 0.0)
                binary_hessian_product(data, indices, indptr, h, np.zeros(2), 0.0, work)
                work = Workspace(indptr, 9)
                multinomial_loss_gradient(data, indices, indptr, np.zeros(2, dtype=np.int64),
                                          weight, np.zeros((3, 2)), np.zeros(3), work)
                P = multinomial_probabilities(data, indices, indptr, np.zeros((3, 2)),
                                              np.zeros(3))
                multinomial_hessian_product(data, indices, indptr, P, weight, np.zeros((3, 2)),
                                            np.zeros(3), work)
