"""One evaluation of the logistic data term over a scipy.sparse CSR matrix.

X is held as CSR (``data``, ``indices``, ``indptr``); CSC and COO input is
converted once when the data term is built (one copy of the non-zeros, time
and memory linear in nnz). Two ways to evaluate, same results to rounding:

- the fused one-pass kernels of :mod:`noloop.linear_model._sparse_kernels`
  (numba; the default): loss and gradient, and Hessian-vector products,
  each one pass, threaded over row blocks;
- scipy's sparse products (``kernels=False``, or without numba):
  Z = X Wᵀ + b, then dW = dZᵀ X, two passes over ``data`` and ``indices``.

Why the kernels are the default: on the bench's 200,000 × 100,000 text-like
matrix, on an idle 2-core EPYC, one Hessian-vector product took 13 ms
against scipy's 27–29 ms and whole newton-cg fits 0.76–1.15 s against
1.41–1.48 s (2026-11-29). On one thread the two are about even, and on a
busy machine the kernels' two threads can lose (a parallel pass waits for
its descheduled thread; at load 10 a loss + gradient took 9.5 reads against
scipy's 7.9), while whole fits at load ~2 took the same time. The cost is the per-non-zero work of the
gathers and scatters, not reading the non-zeros (``docs/sparse.md``,
``noloop bench --only sparse``).

Nothing here densifies X: the Hessian for ``newton-cholesky`` is X̃ᵀ diag(h) X̃
formed from sparse products, dense only in its (n_features + 1)² result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from noloop.linear_model._loss import curvature, loss_and_residual, probabilities
from noloop.linear_model._objective import Layout

__all__ = ["SparseData", "is_scipy_sparse", "refuse_foreign_sparse", "as_csr"]


def is_scipy_sparse(X: Any) -> bool:
    """True for scipy.sparse matrices and arrays (any format)."""
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return sp.issparse(X)


def refuse_foreign_sparse(X: Any) -> None:
    """Raise ``TypeError`` for sparse PyTorch tensors and CuPy sparse matrices.

    Their array APIs offer no fused sparse evaluation noloop could run on
    their device; densifying silently could exhaust its memory.
    """
    layout = getattr(X, "layout", None)
    module = type(X).__module__
    if (module.startswith("torch") and layout is not None and str(layout) != "torch.strided") \
            or module.startswith("cupyx.scipy.sparse"):
        raise TypeError(
            f"`X` is a sparse {type(X).__module__}.{type(X).__name__} ({layout or 'cupyx'}); "
            "noloop fits sparse data as scipy.sparse CSR on the CPU: convert it with "
            "scipy.sparse.csr_array(...) from its (data, indices, indptr) on the host, or "
            "densify it (X.to_dense() / X.toarray()) when it fits in memory")


def as_csr(X: Any) -> Any:
    """X as a CSR matrix/array with float data and matching int32/int64 index arrays.

    CSR passes through without a copy; CSC, COO and other formats are
    converted once (a copy of the non-zeros).
    """
    if X.format != "csr":
        X = X.tocsr()
    if X.indices.dtype != X.indptr.dtype:  # one kernel signature per index dtype
        X = X.copy()
        index_dtype = np.promote_types(X.indices.dtype, X.indptr.dtype)
        X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    return X


@dataclass(frozen=True)
class SparseData:
    """The averaged logistic loss over a scipy.sparse matrix; implements ``DataTerm``.

    Parameters
    ----------
    X : scipy.sparse matrix or array of shape (n_samples, n_features)
        float32 or float64; held as CSR.
    Y : ndarray of shape (n_samples, n_outputs)
        0/1 labels (one column) or one-hot rows, from :func:`~._loss.encode_labels`.
    normalized_weight : ndarray of shape (n_samples,)
        sᵢ / S.
    fit_intercept : bool
    kernels : bool or None, default=None
        None: the fused one-pass kernels where numba is installed (measured
        faster, see above), else scipy's products; True: the kernels (an
        error without numba); False: scipy's two-pass products.
    """

    X: Any
    Y: np.ndarray
    normalized_weight: np.ndarray
    fit_intercept: bool
    kernels: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", as_csr(self.X))

    @cached_property
    def layout(self) -> Layout:
        return Layout(n_features=int(self.X.shape[1]), n_outputs=int(self.Y.shape[1]),
                      fit_intercept=self.fit_intercept)

    @property
    def xp(self) -> Any:
        return np

    @property
    def device(self) -> Any:
        return "cpu"

    @property
    def parameter_dtype(self) -> Any:
        """float64: every path computes in float64 (see ``DenseData.parameter_dtype``)."""
        return np.float64

    @cached_property
    def uses_kernels(self) -> bool:
        """Whether evaluations run through the fused one-pass CSR kernels (the default with numba)."""
        if self.kernels is False:
            return False
        from noloop.linear_model import _sparse_kernels

        if _sparse_kernels.numba is None:
            if self.kernels:
                raise ValueError("`kernels=True` needs numba, which is not installed")
            return False
        return True

    @cached_property
    def _workspace(self) -> Any:
        from noloop.linear_model._sparse_kernels import Workspace

        n_outputs = self.layout.n_outputs
        return Workspace(self.X.indptr, (self.layout.n_features + 1) * n_outputs)

    @cached_property
    def _labels(self) -> np.ndarray:
        if self.layout.multinomial:
            return np.ascontiguousarray(np.argmax(self.Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(self.Y[:, 0], dtype=np.float64)

    @cached_property
    def _weight(self) -> np.ndarray:
        return np.ascontiguousarray(self.normalized_weight, dtype=np.float64)

    def _split64(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(W (n_outputs, n_features), b (n_outputs,)) as float64; b zeros without intercept."""
        W, b = self.layout.split(np.asarray(coef, dtype=np.float64))
        if not self.fit_intercept:
            b = np.zeros(self.layout.n_outputs)
        return np.ascontiguousarray(W), np.ascontiguousarray(b, dtype=np.float64)

    def _shaped(self, full: np.ndarray) -> np.ndarray:
        """A (n_outputs, n_features + 1) kernel result cut to ``coef``'s shape."""
        return np.ascontiguousarray(full if self.fit_intercept else full[:, :-1])

    def logits(self, coef: np.ndarray) -> np.ndarray:
        """Z = X Wᵀ + b, float64 of shape (n_samples, n_outputs)."""
        W, b = self._split64(coef)
        # float64 W: scipy computes a float32 X's products in float64 (as the kernels do)
        return np.asarray(self.X @ W.T, dtype=np.float64) + b

    def loss_gradient(self, coef: np.ndarray) -> tuple[Any, Any]:
        """(1 / S) Σᵢ sᵢ lossᵢ and its gradient, shaped like ``coef``."""
        if not self.uses_kernels:
            per_example, residual = loss_and_residual(self.logits(coef), self.Y, np)
            value = np.sum(self._weight * per_example)
            dZ = residual * self._weight[:, None]
            dW = np.asarray(self.X.T @ dZ).T
            full = np.concatenate([dW, dZ.sum(axis=0)[:, None]], axis=1)
            return np.asarray(value), self._shaped(full)
        from noloop.linear_model import _sparse_kernels as kernels

        X, W, b = self.X, *self._split64(coef)
        if self.layout.multinomial:
            value, full = kernels.multinomial_loss_gradient(
                X.data, X.indices, X.indptr, self._labels, self._weight, W, b, self._workspace)
        else:
            value, flat = kernels.binary_loss_gradient(
                X.data, X.indices, X.indptr, self._labels, self._weight, W[0], b[0],
                self._workspace)
            full = flat[None, :]
        return np.asarray(value), self._shaped(full)

    def hessian_product(self, coef: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """v ↦ H v, the unpenalized Hessian at ``coef`` times v (shaped like ``coef``).

        The per-row curvature is computed once here (one pass); each product
        is then one more pass over the CSR arrays.
        """
        X, (W, b) = self.X, self._split64(coef)
        n_outputs, n_features = self.layout.n_outputs, self.layout.n_features

        def padded(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            V = np.asarray(v, dtype=np.float64)
            if self.fit_intercept:
                return np.ascontiguousarray(V[:, :n_features]), np.ascontiguousarray(V[:, -1])
            return np.ascontiguousarray(V), np.zeros(n_outputs)

        if not self.uses_kernels:
            P = probabilities(self.logits(coef), np)

            def product(v: np.ndarray) -> np.ndarray:
                V, vb = padded(v)
                U = np.asarray(X @ V.T) + vb
                if n_outputs == 1:
                    T = P * (1 - P) * U
                else:
                    T = P * (U - np.sum(P * U, axis=1, keepdims=True))
                T *= self._weight[:, None]
                full = np.concatenate([np.asarray(X.T @ T).T, T.sum(axis=0)[:, None]], axis=1)
                return self._shaped(full)

            return product
        from noloop.linear_model import _sparse_kernels as kernels

        if n_outputs == 1:
            h = kernels.binary_curvature(X.data, X.indices, X.indptr, self._weight, W[0], b[0])

            def product(v: np.ndarray) -> np.ndarray:
                V, vb = padded(v)
                flat = kernels.binary_hessian_product(X.data, X.indices, X.indptr, h, V[0],
                                                      vb[0], self._workspace)
                return self._shaped(flat[None, :])

            return product
        P = kernels.multinomial_probabilities(X.data, X.indices, X.indptr, W, b)

        def product(v: np.ndarray) -> np.ndarray:
            V, vb = padded(v)
            return self._shaped(kernels.multinomial_hessian_product(
                X.data, X.indices, X.indptr, P, self._weight, V, vb, self._workspace))

        return product

    def hessian(self, coef: np.ndarray) -> np.ndarray:
        """The unpenalized Hessian, dense (n_outputs · n_dof)², from sparse products."""
        P = probabilities(self.logits(coef), np)
        return self._block_grams(lambda k, j: curvature(P, k, j) * self._weight)

    def weighted_residual(self, coef: np.ndarray) -> np.ndarray:
        """(sᵢ / S)(Aᵢ − Yᵢ), (n_samples, n_outputs)."""
        _, residual = loss_and_residual(self.logits(coef), self.Y, np)
        return residual * self._weight[:, None]

    def score_outer(self, coef: np.ndarray) -> np.ndarray:
        """Σᵢ uᵢ uᵢᵀ, as ``DenseData.score_outer``; dense (n_outputs · n_dof)²."""
        dZ = self.weighted_residual(coef)
        return self._block_grams(lambda k, j: dZ[:, k] * dZ[:, j])

    def group_scores(self, coef: np.ndarray, groups: Any) -> tuple[np.ndarray, np.ndarray]:
        """The scores summed within each group, as ``DenseData.group_scores``."""
        import scipy.sparse as sp

        n_samples = int(self.X.shape[0])
        groups = np.asarray(groups)
        if groups.shape != (n_samples,):
            raise ValueError(f"`groups` must have shape ({n_samples},), one id per row of X; got "
                             f"{groups.shape}")
        ids, index = np.unique(groups, return_inverse=True)
        dZ = self.weighted_residual(coef)
        parts = []
        for k in range(self.layout.n_outputs):
            G = sp.csr_array((dZ[:, k], (index, np.arange(n_samples))),
                             shape=(ids.size, n_samples))
            block = np.asarray((G @ self.X).toarray())
            if self.fit_intercept:
                block = np.concatenate([block, np.asarray(G.sum(axis=1)).reshape(-1, 1)], axis=1)
            parts.append(block)
        return ids, np.concatenate(parts, axis=1)

    def gram_matvec(self, v: np.ndarray) -> np.ndarray:
        """X̃ᵀ diag(s / S) X̃ v for v of shape (n_features + fit_intercept,)."""
        n_features = self.layout.n_features
        u = np.asarray(self.X @ v[:n_features], dtype=np.float64)
        if self.fit_intercept:
            u = u + v[n_features]
        u = u * self._weight
        product = np.asarray(self.X.T @ u, dtype=np.float64)
        if self.fit_intercept:
            product = np.concatenate([product, [u.sum()]])
        return product

    def _block_grams(self, weight: Callable[[int, int], np.ndarray]) -> np.ndarray:
        n_outputs, n_dof = self.layout.shape
        H = np.zeros((n_outputs * n_dof, n_outputs * n_dof))
        for k in range(n_outputs):
            for j in range(k, n_outputs):
                block = self._weighted_gram(weight(k, j))
                H[k * n_dof:(k + 1) * n_dof, j * n_dof:(j + 1) * n_dof] = block
                H[j * n_dof:(j + 1) * n_dof, k * n_dof:(k + 1) * n_dof] = block.T
        return H

    def _weighted_gram(self, h: np.ndarray) -> np.ndarray:
        """X̃ᵀ diag(h) X̃, dense (n_dof, n_dof), through one sparse product."""
        import scipy.sparse as sp

        X = self.X.astype(np.float64)
        gram = np.asarray((X.T @ (sp.diags_array(h) @ X)).toarray())
        if not self.fit_intercept:
            return gram
        column = np.asarray(X.T @ h).reshape(-1, 1)
        top = np.concatenate([gram, column], axis=1)
        bottom = np.concatenate([column.T, [[h.sum()]]], axis=1)
        return np.concatenate([top, bottom], axis=0)
