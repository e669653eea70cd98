"""One evaluation of the logistic data term over in-memory arrays.

Two ways, same results to rounding:

- the fused one-pass kernels of :mod:`noloop.linear_model._kernels` for
  C-contiguous float32/float64 NumPy data: X is read once per evaluation;
- array-API operations in the data's own namespace (PyTorch, CuPy, strided
  NumPy), on its device: the seed's Z = X Wᵀ + b, dZ = A − Y, dW = dZᵀ X.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from noloop._xp import device_of, namespace, to_numpy
from noloop.linear_model._loss import curvature, loss_and_residual, probabilities
from noloop.linear_model._objective import Layout

__all__ = ["DenseData"]


@dataclass(frozen=True)
class DenseData:
    """The averaged logistic loss over in-memory arrays; implements ``DataTerm``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    Y : array of shape (n_samples, n_outputs)
        0/1 labels (one column) or one-hot rows, from :func:`~._loss.encode_labels`.
    normalized_weight : array of shape (n_samples,)
        sᵢ / S: sample weights divided by their sum.
    fit_intercept : bool
    kernels : bool or None, default=None
        Whether evaluations run through the fused one-pass kernels. None uses
        them whenever they accept the data; False never does (the textbook
        array path, for comparisons); True requires them and raises
        ``ValueError`` when they cannot take the data.
    """

    X: Any
    Y: Any
    normalized_weight: Any
    fit_intercept: bool
    kernels: bool | None = None

    @cached_property
    def layout(self) -> Layout:
        return Layout(n_features=int(self.X.shape[1]), n_outputs=int(self.Y.shape[1]),
                      fit_intercept=self.fit_intercept)

    @cached_property
    def xp(self) -> Any:
        return namespace(self.X)

    @cached_property
    def device(self) -> Any:
        return device_of(self.X)

    @cached_property
    def uses_kernels(self) -> bool:
        """Whether evaluations stream X once through the compiled kernels."""
        if self.kernels is False:
            return False
        from noloop.linear_model import _kernels

        accepted = _kernels.accepts(self.X) and isinstance(self.Y, np.ndarray)
        if self.kernels and not accepted:
            raise ValueError(
                "`kernels=True` needs C-contiguous float32/float64 NumPy data and numba; got "
                f"{type(self.X).__name__} of dtype {self.X.dtype}"
            )
        return accepted

    @property
    def parameter_dtype(self) -> Any:
        """The dtype solvers should keep coefficients in.

        float64 whenever the fused kernels run (they compute in float64 for
        every data dtype, and float32 coefficients would quantize the objective
        enough to stall L-BFGS's line search); otherwise X's dtype, which the
        array library needs for ``X @ W``.
        """
        return np.float64 if self.uses_kernels else self.X.dtype

    def logits(self, coef: Any) -> Any:
        """Z = X Wᵀ + b, of shape (n_samples, n_outputs)."""
        W, b = self.layout.split(coef)
        return self.xp.matmul(self.X, W.T) + b

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """(1 / S) Σᵢ sᵢ lossᵢ and its gradient, shaped like ``coef``, from one forward pass."""
        if self.uses_kernels:
            return self._kernel_loss_gradient(coef)
        xp = self.xp
        per_example, residual = loss_and_residual(self.logits(coef), self.Y, xp)
        value = xp.sum(self.normalized_weight * per_example)
        dZ = residual * self.normalized_weight[:, None]  # (n_samples, n_outputs)
        dW = xp.matmul(dZ.T, self.X)
        if not self.fit_intercept:
            return value, dW
        return value, xp.concat([dW, xp.sum(dZ, axis=0)[:, None]], axis=1)

    @cached_property
    def _kernel_labels(self) -> np.ndarray:
        """Class index per row (softmax) or the 0/1 label (sigmoid), contiguous for the kernels."""
        if self.layout.multinomial:
            return np.ascontiguousarray(np.argmax(self.Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(self.Y[:, 0], dtype=np.float64)

    def _kernel_loss_gradient(self, coef: np.ndarray) -> tuple[Any, Any]:
        from noloop.linear_model import _kernels

        W, b = self.layout.split(coef)
        if self.layout.multinomial:
            intercepts = b if self.fit_intercept else np.zeros(W.shape[0])
            value, grad = _kernels.multinomial_loss_gradient(
                self.X, self._kernel_labels, self.normalized_weight, np.ascontiguousarray(W),
                intercepts)
        else:
            value, grad = _kernels.binary_loss_gradient(
                self.X, self._kernel_labels, self.normalized_weight, np.ascontiguousarray(W[0]),
                float(b[0]) if self.fit_intercept else 0.0)
            grad = grad[None, :]
        if not self.fit_intercept:
            grad = grad[:, :-1]
        return np.asarray(value), np.ascontiguousarray(grad, dtype=coef.dtype)

    def hessian(self, coef: Any) -> Any:
        """The unpenalized Hessian, (n_outputs · n_dof, n_outputs · n_dof), n_dof = n_features + fit_intercept.

        Block (k, l) is X̃ᵀ diag(sᵢ ∂²lossᵢ/∂zₖ∂zₗ / S) X̃, X̃ being X with a
        column of ones when fitting intercepts (never formed: its blocks are
        written from X directly).
        """
        P = probabilities(self.logits(coef), self.xp)
        return self._block_grams(lambda k, j: curvature(P, k, j) * self.normalized_weight)

    def hessian_product(self, coef: Any) -> Callable[[Any], Any]:
        """v ↦ H v, the unpenalized Hessian at ``coef`` times v (shaped like ``coef``).

        The probabilities are computed once; each product is two passes over X
        (X̃ v, then X̃ᵀ t), in the data's namespace.
        """
        xp = self.xp
        P = probabilities(self.logits(coef), xp)
        weight = self.normalized_weight[:, None]

        def product(v: Any) -> Any:
            V, vb = self.layout.split(v)
            U = xp.matmul(self.X, V.T) + vb
            if self.layout.multinomial:
                T = P * (U - xp.sum(P * U, axis=1, keepdims=True)) * weight
            else:
                T = P * (1 - P) * U * weight
            dW = xp.matmul(T.T, self.X)
            if not self.fit_intercept:
                return dW
            return xp.concat([dW, xp.sum(T, axis=0)[:, None]], axis=1)

        return product

    def weighted_residual(self, coef: Any) -> Any:
        """(sᵢ / S)(Aᵢ − Yᵢ), the seed's dZ weighted: (n_samples, n_outputs).

        Row i times x̃ᵢ is example i's share of the averaged gradient: its
        score, scaled by 1 / S.
        """
        _, residual = loss_and_residual(self.logits(coef), self.Y, self.xp)
        return residual * self.normalized_weight[:, None]

    def score_outer(self, coef: Any) -> Any:
        """Σᵢ uᵢ uᵢᵀ, the sandwich's meat in one pass, uᵢ = (sᵢ / S)(Aᵢ − Yᵢ) ⊗ x̃ᵢ.

        Returns
        -------
        meat : array of shape (n_outputs · n_dof, n_outputs · n_dof)
            Blocks in ``coef``'s row-major order; block (k, l) is
            X̃ᵀ diag(dZᵢₖ dZᵢₗ) X̃.
        """
        dZ = self.weighted_residual(coef)
        return self._block_grams(lambda k, j: dZ[:, k] * dZ[:, j])

    def group_scores(self, coef: Any, groups: Any, max_block_elements: int = 1 << 22
                     ) -> tuple[np.ndarray, Any]:
        """The scores uᵢ = (sᵢ / S)(Aᵢ − Yᵢ) ⊗ x̃ᵢ summed within each group.

        The sums are one-hot products taken block by block of rows (each
        block's one-hot matrix holds at most ``max_block_elements`` entries),
        in the data's namespace and on its device.

        Parameters
        ----------
        coef : array of shape (n_outputs, n_dof)
        groups : array-like of shape (n_samples,)
            A group id per row (any sortable values).

        Returns
        -------
        ids : ndarray of shape (n_groups,)
            The sorted distinct group ids (NumPy).
        sums : array of shape (n_groups, n_outputs · n_dof)
            Row g: the sum of uᵢ over the rows of group ``ids[g]``, in
            ``coef``'s row-major order.
        """
        xp = self.xp
        n_samples = int(self.X.shape[0])
        groups = to_numpy(groups)
        if groups.shape != (n_samples,):
            raise ValueError(f"`groups` must have shape ({n_samples},), one id per row of X; got "
                             f"{groups.shape}")
        ids, index = np.unique(groups, return_inverse=True)
        index = xp.asarray(index.astype(np.int64), device=self.device)
        dZ = self.weighted_residual(coef)
        columns = xp.arange(ids.size, device=self.device)
        block_rows = max(1, max_block_elements // max(ids.size, 1))
        n_outputs, n_dof = self.layout.shape
        sums = xp.zeros((ids.size, n_outputs * n_dof), dtype=self.X.dtype, device=self.device)
        for start in range(0, n_samples, block_rows):
            rows = slice(start, start + block_rows)
            one_hot = xp.astype(index[rows, None] == columns[None, :], self.X.dtype)
            parts = []
            for k in range(n_outputs):
                scaled = self.X[rows, :] * dZ[rows, k, None]
                if self.fit_intercept:
                    scaled = xp.concat([scaled, dZ[rows, k, None]], axis=1)
                parts.append(scaled)
            sums = sums + xp.matmul(one_hot.T, xp.concat(parts, axis=1))
        return ids, sums

    def _block_grams(self, weight: Callable[[int, int], Any]) -> Any:
        """The symmetric matrix whose block (k, l), k ≤ l, is X̃ᵀ diag(weight(k, l)) X̃.

        Returns
        -------
        matrix : array of shape (n_outputs · n_dof, n_outputs · n_dof)
        """
        xp = self.xp
        n_outputs, n_dof = self.layout.shape
        H = xp.zeros((n_outputs * n_dof, n_outputs * n_dof), dtype=self.X.dtype,
                     device=self.device)
        for k in range(n_outputs):
            for j in range(k, n_outputs):
                block = self._weighted_gram(weight(k, j))
                H[k * n_dof:(k + 1) * n_dof, j * n_dof:(j + 1) * n_dof] = block
                if j != k:
                    H[j * n_dof:(j + 1) * n_dof, k * n_dof:(k + 1) * n_dof] = block.T
        return H

    def gram_matvec(self, v: Any) -> Any:
        """X̃ᵀ diag(s / S) X̃ v for v of shape (n_features + fit_intercept,), in two passes over X.

        The curvature of the objective is bounded by a multiple of this Gram
        matrix; power iteration on it gives gradient descent a safe step.
        """
        xp = self.xp
        n_features = self.layout.n_features
        u = xp.matmul(self.X, v[:n_features])
        if self.fit_intercept:
            u = u + v[n_features]
        u = u * self.normalized_weight
        product = xp.matmul(u, self.X)
        if self.fit_intercept:
            product = xp.concat([product, xp.reshape(xp.sum(u), (1,))])
        return product

    def _weighted_gram(self, h: Any, block_rows: int = 4096) -> Any:
        """X̃ᵀ diag(h) X̃ without forming X̃, block by block of rows.

        Each block's h-scaled copy is small and cache-resident: the whole
        product never allocates a temporary of X's size.
        """
        xp = self.xp
        n_samples, n_features = (int(extent) for extent in self.X.shape)
        gram = xp.zeros((n_features, n_features), dtype=self.X.dtype, device=self.device)
        column = xp.zeros((n_features,), dtype=self.X.dtype, device=self.device)
        for start in range(0, n_samples, block_rows):
            block = self.X[start:start + block_rows, :]
            h_block = block * h[start:start + block_rows, None]
            gram = gram + xp.matmul(block.T, h_block)
            column = column + xp.sum(h_block, axis=0)
        if not self.fit_intercept:
            return gram
        column = column[:, None]
        corner = xp.reshape(xp.sum(h), (1, 1))
        top = xp.concat([gram, column], axis=1)
        bottom = xp.concat([column.T, corner], axis=1)
        return xp.concat([top, bottom], axis=0)
