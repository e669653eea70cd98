"""Fused one-pass kernels for tables of numeric columns and categorical codes (numba).

A row of the design matrix is ``[x_num | one-hot(code_1) | ... | one-hot(code_J)]``,
never formed: the categorical part is held as ``codes`` (n_samples, J), each entry
the *global* column index of the row's level (offsets already added), or −1 for a
level with no coefficient (an unseen level under ``handle_unknown="ignore"``).
Then

    z = x_num · w[:d] + Σ_j w[codes_ij] + b

and the gradient scatter-adds each row's residual into ``g[codes_ij]``. One
evaluation reads X_num once and the codes once (J int32 per row, instead of
the one-hot's n_levels float64 per row).

Rows are split into chunks across threads (``prange``), each chunk with its
own accumulator, as in :mod:`noloop.linear_model._kernels`. The Newton
Hessian X̃ᵀ diag(h) X̃ is never a sum of per-row outer products: levels of one
column never meet, so its categorical part is one weighted histogram of level
pairs per pair of columns (J(J − 1)/2 adds per row, plus J for the diagonal),
built over blocks of rows with the threads splitting the pairs
(:func:`weighted_gram`, :func:`binary_hessian`).
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see _kernels.py

__all__ = ["binary_loss_gradient", "multinomial_loss_gradient", "logits", "rmatvec",
           "weighted_gram", "binary_hessian", "gather_codes", "compile_all", "available"]

try:
    import numba
    from numba import prange
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

available = numba is not None

if numba is not None:
    from noloop.linear_model._logistic_scalar import (sigmoid_slope, softmax_loss_to_residual,
                                                      softplus_and_sigmoid)

    @numba.njit(inline="always")
    def _row_logit(Xn, codes, w, b, i):  # pragma: no cover - compiled
        # z = x_num · w[:d] + Σ_j w[codes_ij] + b; a code of −1 has no coefficient
        z = b
        for j in range(Xn.shape[1]):
            z += Xn[i, j] * w[j]
        for j in range(codes.shape[1]):
            k = codes[i, j]
            if k >= 0:
                z += w[k]
        return z

    @numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)
    def _binary(Xn, codes, y, weight, w, b, n_chunks):  # pragma: no cover - compiled
        n, d = Xn.shape
        J = codes.shape[1]
        p = w.shape[0]
        gradients = np.zeros((n_chunks, p + 1))
        losses = np.zeros(n_chunks)
        chunk = (n + n_chunks - 1) // n_chunks
        for c in prange(n_chunks):
            start = c * chunk
            stop = min(n, start + chunk)
            g = np.zeros(p + 1)
            loss = 0.0
            for i in range(start, stop):
                z = _row_logit(Xn, codes, w, b, i)
                softplus, prob = softplus_and_sigmoid(z)
                loss += weight[i] * (softplus - y[i] * z)
                r = weight[i] * (prob - y[i])
                for j in range(d):
                    g[j] += r * Xn[i, j]
                for j in range(J):
                    k = codes[i, j]
                    if k >= 0:
                        g[k] += r
                g[p] += r
            gradients[c, :] = g
            losses[c] = loss
        return losses.sum(), gradients.sum(axis=0)

    @numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)
    def _multinomial(Xn, codes, labels, weight, W, b, n_chunks):  # pragma: no cover
        n, d = Xn.shape
        J = codes.shape[1]
        K, p = W.shape
        gradients = np.zeros((n_chunks, K, p + 1))
        losses = np.zeros(n_chunks)
        chunk = (n + n_chunks - 1) // n_chunks
        for c in prange(n_chunks):
            start = c * chunk
            stop = min(n, start + chunk)
            g = np.zeros((K, p + 1))
            z = np.empty(K)
            loss = 0.0
            for i in range(start, stop):
                for a in range(K):
                    s = b[a]
                    for j in range(d):
                        s += Xn[i, j] * W[a, j]
                    for j in range(J):
                        k = codes[i, j]
                        if k >= 0:
                            s += W[a, k]
                    z[a] = s
                loss += softmax_loss_to_residual(z, labels[i], weight[i])
                for a in range(K):
                    r = z[a]
                    for j in range(d):
                        g[a, j] += r * Xn[i, j]
                    for j in range(J):
                        k = codes[i, j]
                        if k >= 0:
                            g[a, k] += r
                    g[a, p] += r
            gradients[c] = g
            losses[c] = loss
        return losses.sum(), gradients.sum(axis=0)

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _logits(Xn, codes, W, b):  # pragma: no cover - compiled
        n, d = Xn.shape
        J = codes.shape[1]
        K = W.shape[0]
        Z = np.empty((n, K))
        for i in prange(n):
            for a in range(K):
                s = b[a]
                for j in range(d):
                    s += Xn[i, j] * W[a, j]
                for j in range(J):
                    k = codes[i, j]
                    if k >= 0:
                        s += W[a, k]
                Z[i, a] = s
        return Z

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _rmatvec(Xn, codes, u, p, n_chunks):  # pragma: no cover - compiled
        n, d = Xn.shape
        J = codes.shape[1]
        parts = np.zeros((n_chunks, p))
        chunk = (n + n_chunks - 1) // n_chunks
        for c in prange(n_chunks):
            g = np.zeros(p)
            for i in range(c * chunk, min(n, (c + 1) * chunk)):
                for j in range(d):
                    g[j] += u[i] * Xn[i, j]
                for j in range(J):
                    k = codes[i, j]
                    if k >= 0:
                        g[k] += u[i]
            parts[c, :] = g
        return parts.sum(axis=0)

    @numba.njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True, nogil=True)
    def _hessian_blocks(Xn, codes, weight, w, b, h, fused, n_threads, block
                        ):  # pragma: no cover - compiled
        # Rows in blocks that stay in cache. Per block, (1) the threads split its rows: each
        # row's curvature h (from its logit when fused, else given), its codes copied
        # column-major, and the numeric columns' entries into the thread's own partial sums;
        # (2) the threads split the pairs of categorical columns (j ≤ l): the pair (j, l)
        # owns the entries H[a, c] of its two columns' levels, so the threads write
        # disjoint entries of one shared H — no copy per thread, and each pair's entries
        # (at most L_j × L_l) stay hot in cache while the block's rows stream through.
        n, d = Xn.shape
        J = codes.shape[1]
        p = w.shape[0]
        n_pairs = J * (J + 1) // 2
        first = np.empty(n_pairs, dtype=np.int64)
        second = np.empty(n_pairs, dtype=np.int64)
        m = 0
        for j in range(J):
            for l in range(j, J):
                first[m] = j
                second[m] = l
                m += 1
        G = np.zeros((p + 1, p + 1))
        partial = np.zeros((n_threads, d + 1, p + 1))
        h_block = np.empty(block)
        codes_block = np.empty((J, block), dtype=codes.dtype)
        for start in range(0, n, block):
            size = min(block, n - start)
            per_thread = (size + n_threads - 1) // n_threads
            for t in prange(n_threads):
                A = partial[t]
                for r in range(t * per_thread, min(size, (t + 1) * per_thread)):
                    i = start + r
                    if fused:
                        hi = weight[i] * sigmoid_slope(_row_logit(Xn, codes, w, b, i))
                    else:
                        hi = h[i]
                    h_block[r] = hi
                    for j in range(J):
                        codes_block[j, r] = codes[i, j]
                    for s in range(d):
                        hs = hi * Xn[i, s]
                        A[s, s] += 0.5 * hs * Xn[i, s]  # the diagonal is doubled by G + Gᵀ
                        for u in range(s + 1, d):
                            A[s, u] += hs * Xn[i, u]
                        for j in range(J):
                            k = codes[i, j]
                            if k >= 0:
                                A[s, k] += hs
                        A[s, p] += hs
                    A[d, p] += 0.5 * hi
            for q in prange(n_pairs):
                j = first[q]
                l = second[q]
                if j == l:
                    for r in range(size):
                        a = codes_block[j, r]
                        if a >= 0:
                            G[a, a] += 0.5 * h_block[r]
                else:
                    for r in range(size):
                        a = codes_block[j, r]
                        c = codes_block[l, r]
                        if a >= 0 and c >= 0:
                            G[a, c] += h_block[r]
        for t in range(n_threads):
            for s in range(d):
                for u in range(p + 1):
                    G[s, u] += partial[t, s, u]
            G[p, p] += partial[t, d, p]
        H = G + G.T
        for k in range(d, p):  # a level's column times the ones column: its diagonal entry
            H[k, p] = H[k, k]
            H[p, k] = H[k, k]
        return H


    @numba.njit(parallel=True, cache=True, nogil=True)
    def _gather_column(keys, table, codes, j):  # pragma: no cover - compiled
        for i in prange(keys.shape[0]):
            codes[i, j] = table[keys[i] + 1]


def _n_chunks(n_samples: int, per_thread: int = 4) -> int:
    return max(1, min(n_samples, per_thread * numba.get_num_threads()))


def _block(codes: np.ndarray) -> int:
    """Rows per block of the Hessian: the block's codes (int32) and curvatures stay within ~320 KiB."""
    return int(min(8192, max(1024, 65536 // max(codes.shape[1], 1))))


def binary_loss_gradient(Xn: np.ndarray, codes: np.ndarray, y: np.ndarray, weight: np.ndarray,
                         w: np.ndarray, b: float) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(log(1 + e^{zᵢ}) − yᵢzᵢ) and its gradient [∂w, ∂b], in one pass.

    Parameters
    ----------
    Xn : float64 array of shape (n_samples, d), C-contiguous
    codes : int32 array of shape (n_samples, J), global column indices or −1
    y : float64 array of shape (n_samples,), 0 or 1
    weight : float64 array of shape (n_samples,)
    w : float64 array of shape (n_features,), n_features ≥ d + every code
    b : float

    Returns
    -------
    loss : float
    gradient : float64 array of shape (n_features + 1,), the intercept's last
    """
    return _binary(Xn, codes, y, weight, np.ascontiguousarray(w, dtype=np.float64), float(b),
                   _n_chunks(Xn.shape[0]))


def multinomial_loss_gradient(Xn: np.ndarray, codes: np.ndarray, labels: np.ndarray,
                              weight: np.ndarray, W: np.ndarray, b: np.ndarray
                              ) -> tuple[float, np.ndarray]:
    """Σᵢ sᵢ·(logsumexp(zᵢ) − z_{i,yᵢ}) and its gradient (n_classes, n_features + 1)."""
    return _multinomial(Xn, codes, labels, weight, np.ascontiguousarray(W, dtype=np.float64),
                        np.ascontiguousarray(b, dtype=np.float64), _n_chunks(Xn.shape[0]))


def logits(Xn: np.ndarray, codes: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z = X̃ Wᵀ + b, of shape (n_samples, n_outputs), float64."""
    return _logits(Xn, codes, np.ascontiguousarray(W, dtype=np.float64),
                   np.ascontiguousarray(b, dtype=np.float64))


def rmatvec(Xn: np.ndarray, codes: np.ndarray, u: np.ndarray, n_features: int) -> np.ndarray:
    """Xᵀ u, of shape (n_features,), for u of shape (n_samples,)."""
    return _rmatvec(Xn, codes, np.ascontiguousarray(u, dtype=np.float64), int(n_features),
                    _n_chunks(Xn.shape[0], 1))


def weighted_gram(Xn: np.ndarray, codes: np.ndarray, h: np.ndarray, n_features: int
                  ) -> np.ndarray:
    """X̃ᵀ diag(h) X̃ with X̃ = [X_num | one-hot(codes) | 1], in one pass over the rows.

    Written by blocks, never as a row's (d + J + 1)² outer product: per row
    J(J − 1)/2 adds for the pairs of categorical columns (pairwise weighted level
    histograms), J for the levels' (diagonal) blocks, d·J for numeric × level,
    d(d + 1)/2 for numeric × numeric; a level's intercept entry is its diagonal one.

    Parameters
    ----------
    Xn : float64 array of shape (n_samples, d), C-contiguous
    codes : int32 array of shape (n_samples, J), global column indices (≥ d) or −1
    h : array of shape (n_samples,)
    n_features : int

    Returns
    -------
    H : float64 array of shape (n_features + 1, n_features + 1), the intercept's column last
    """
    weight = np.ascontiguousarray(h, dtype=np.float64)
    return _hessian_blocks(Xn, codes, weight, np.zeros(int(n_features)), 0.0, weight, False,
                           numba.get_num_threads(), _block(codes))


def binary_hessian(Xn: np.ndarray, codes: np.ndarray, weight: np.ndarray, w: np.ndarray,
                   b: float) -> np.ndarray:
    """X̃ᵀ diag(s·σ(z)(1 − σ(z))) X̃ for z = X̃ [w, b], logits and Hessian in one pass.

    Parameters
    ----------
    Xn : float64 array of shape (n_samples, d), C-contiguous
    codes : int32 array of shape (n_samples, J), global column indices (≥ d) or −1
    weight : float64 array of shape (n_samples,)
    w : float64 array of shape (n_features,)
    b : float

    Returns
    -------
    H : float64 array of shape (n_features + 1, n_features + 1), the intercept's column last
    """
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    return _hessian_blocks(Xn, codes, weight, np.ascontiguousarray(w, dtype=np.float64), float(b),
                           weight, True, numba.get_num_threads(), _block(codes))


def gather_codes(columns: list[tuple[np.ndarray, np.ndarray]], n_samples: int) -> np.ndarray:
    """codes[i, j] = table_j[keys_j[i] + 1] for each column's (keys_j, table_j).

    Each column's keys are read as they come (the int8 or int16 codes of a pandas
    categorical, say), with no int32 copy of them: a fresh array of that size
    costs as much in page faults as the lookup itself.

    Parameters
    ----------
    columns : list of J pairs (keys, table)
        keys : int array of shape (n_samples,), from −1 to ``len(table) − 2``;
        table : int32 array, the column's global codes by key + 1.
    n_samples : int

    Returns
    -------
    codes : int32 array of shape (n_samples, J), C-contiguous
    """
    codes = np.empty((n_samples, len(columns)), dtype=np.int32)
    for j, (keys, table) in enumerate(columns):
        _gather_column(np.ascontiguousarray(keys), np.ascontiguousarray(table, dtype=np.int32),
                       codes, j)
    return codes


def compile_all() -> None:
    """Compile (or load from numba's cache) every signature a fit or prediction on a table uses.

    Binary and softmax, the Hessian fused and from given curvatures, and the
    code lookup for each integer width pandas gives a categorical's codes.
    Called by ``python -m noloop.linear_model._kernels`` (``make install``).
    """
    if numba is None:
        return
    Xn, codes = np.zeros((2, 1)), np.array([[1], [2]], dtype=np.int32)
    weight, w = np.full(2, 0.5), np.zeros(3)
    binary_loss_gradient(Xn, codes, np.zeros(2), weight, w, 0.0)
    multinomial_loss_gradient(Xn, codes, np.zeros(2, dtype=np.int64), weight, np.zeros((3, 3)),
                              np.zeros(3))
    logits(Xn, codes, np.zeros((1, 3)), np.zeros(1))
    rmatvec(Xn, codes, weight, 3)
    weighted_gram(Xn, codes, weight, 3)
    binary_hessian(Xn, codes, weight, w, 0.0)
    table = np.array([-1, 1, 2], dtype=np.int32)
    gather_codes([(np.array([0, 1], dtype=dtype), table)
                  for dtype in (np.int8, np.int16, np.int32, np.int64)], 2)
