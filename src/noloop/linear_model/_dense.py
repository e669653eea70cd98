"""One evaluation of the logistic data term over in-memory arrays.

Two ways, same results to rounding:

- the fused one-pass kernels of :mod:`noloop.linear_model._kernels` for
  C-contiguous float32/float64 NumPy data: X is read once per evaluation;
- array-API operations in the data's own namespace (PyTorch, CuPy, strided
  NumPy), on its device: the seed's Z = X Wᵀ + b, dZ = A − Y, dW = dZᵀ X.
"""

from __future__ import annotations

from collections.abc import Iterator
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
        column of ones when fitting intercepts. One read of X: see
        :meth:`_one_pass_grams`.
        """
        return self._one_pass_grams(coef, "hessian")

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
        """Σᵢ uᵢ uᵢᵀ, the sandwich's meat in one read of X, uᵢ = (sᵢ / S)(Aᵢ − Yᵢ) ⊗ x̃ᵢ.

        Returns
        -------
        meat : array of shape (n_outputs · n_dof, n_outputs · n_dof)
            Blocks in ``coef``'s row-major order; block (k, l) is
            X̃ᵀ diag(dZᵢₖ dZᵢₗ) X̃.
        """
        return self._one_pass_grams(coef, "score_outer")

    @cached_property
    def block_rows(self) -> int:
        """Rows per block of the one-pass products: about 4 MiB of X, small enough for cache.

        Each block is read from memory once; its logits, weights and every
        Gram block are computed while it is still in cache.
        """
        itemsize = int(getattr(self.X.dtype, "itemsize", 8))
        return max(256, (1 << 22) // max(int(self.X.shape[1]) * itemsize, 1))

    def _blocks(self, coef: Any) -> Iterator[tuple[Any, Any, Any, Any]]:
        """(X̃ block, Z block, Y block, sᵢ/S block) for each block of :attr:`block_rows` rows.

        X̃ is X with a column of ones when fitting intercepts, formed for
        the cached block only; Z = X Wᵀ + b is computed from the same block.
        """
        xp = self.xp
        W, b = self.layout.split(coef)
        n_samples = int(self.X.shape[0])
        rows = self.block_rows
        for start in range(0, n_samples, rows):
            block = self.X[start:start + rows, :]
            Z = xp.matmul(block, W.T) + b
            if self.fit_intercept:
                ones = xp.ones((int(block.shape[0]), 1), dtype=block.dtype, device=self.device)
                block = xp.concat([block, ones], axis=1)
            yield (block, Z, self.Y[start:start + rows, :],
                   self.normalized_weight[start:start + rows])

    def _one_pass_grams(self, coef: Any, kind: str) -> Any:
        """The Hessian (``kind="hessian"``) or the meat (``"score_outer"``) in one read of X.

        For each block of rows held in cache: its logits, its per-example
        weights h (the curvature, or products of weighted residuals), and its
        share X̃ᵀ diag(h) X̃ of every block (k, l ≥ k). On the diagonal h ≥ 0
        and the share is RᵀR with R = √h ⊙ X̃, which NumPy computes as a
        symmetric rank-k update: half the flops of a general product.

        Returns
        -------
        matrix : array of shape (n_outputs · n_dof, n_outputs · n_dof)
        """
        xp = self.xp
        n_outputs = self.layout.n_outputs
        # negative sample weights (allowed, as in scikit-learn) make h < 0 where √h does not exist
        negative_weights = bool(xp.any(self.normalized_weight < 0))
        blocks: dict[tuple[int, int], Any] = {}
        for X_block, Z, Y, s in self._blocks(coef):
            if kind == "hessian":
                P = probabilities(Z, xp)
                weights = {(k, j): curvature(P, k, j) * s
                           for k in range(n_outputs) for j in range(k, n_outputs)}
            else:
                _, residual = loss_and_residual(Z, Y, xp)
                dZ = residual * s[:, None]
                weights = {(k, j): dZ[:, k] * dZ[:, j]
                           for k in range(n_outputs) for j in range(k, n_outputs)}
            for (k, j), h in weights.items():
                if j == k and (kind != "hessian" or not negative_weights):
                    # clip: rounding can make p(1 − p) a hair below 0 where p rounds to 1
                    root = X_block * xp.sqrt(xp.where(h > 0, h, xp.zeros_like(h)))[:, None]
                    share = xp.matmul(root.T, root)
                else:  # off the diagonal, or negative sample weights: a general product
                    share = xp.matmul(X_block.T, X_block * h[:, None])
                blocks[k, j] = share if (k, j) not in blocks else blocks[k, j] + share
        rows = [xp.concat([blocks[k, j] if k <= j else blocks[j, k].T
                           for j in range(n_outputs)], axis=1) for k in range(n_outputs)]
        return xp.concat(rows, axis=0) if n_outputs > 1 else rows[0]

    def group_scores(self, coef: Any, groups: Any, max_block_elements: int = 1 << 22
                     ) -> tuple[np.ndarray, Any]:
        """The scores uᵢ = (sᵢ / S)(Aᵢ − Yᵢ) ⊗ x̃ᵢ summed within each group, in one read of X.

        The sums are one-hot products taken block by block of rows (each
        block's one-hot matrix holds at most ``max_block_elements`` entries;
        each block of X is read once, its residuals computed in cache), in
        the data's namespace and on its device.

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
        columns = xp.arange(ids.size, device=self.device)
        step = max(1, max_block_elements // max(ids.size, 1))
        n_outputs, n_dof = self.layout.shape
        sums = xp.zeros((ids.size, n_outputs * n_dof), dtype=self.X.dtype, device=self.device)
        done = 0
        for X_block, Z, Y, s in self._blocks(coef):
            _, residual = loss_and_residual(Z, Y, xp)
            dZ = residual * s[:, None]
            n_block = int(X_block.shape[0])
            for start in range(0, n_block, step):
                stop = min(n_block, start + step)
                one_hot = xp.astype(index[done + start:done + stop, None] == columns[None, :],
                                    self.X.dtype)
                scaled = xp.concat([X_block[start:stop, :] * dZ[start:stop, k, None]
                                    for k in range(n_outputs)], axis=1)
                sums = sums + xp.matmul(one_hot.T, scaled)
            done += n_block
        return ids, sums

    def curvature_sample(self, max_rows: int) -> DenseData | None:
        """A term over every k-th row (at most ``max_rows``), weights rescaled to sum to 1.

        Its Gram matrix estimates this one's (a weighted average of xxᵀ over
        rows). This term itself when it has at most ``max_rows`` rows; None
        when the sampled weights do not sum to a positive number (negative
        sample weights), and the caller iterates on every row.
        """
        n_samples = int(self.X.shape[0])
        if n_samples <= max_rows:
            return self
        stride = -(-n_samples // max_rows)
        weight = self.normalized_weight[::stride]
        total = float(self.xp.sum(weight))
        if not total > 0.0:  # negative sample weights may cancel in a sample
            return None
        # a contiguous copy: BLAS takes it, where products on the strided view crawl
        rows = self.xp.asarray(self.X[::stride, :], copy=True)
        return DenseData(X=rows, Y=self.Y[::stride], normalized_weight=weight / total,
                         fit_intercept=self.fit_intercept, kernels=False)

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
