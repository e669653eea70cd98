"""Binary (sigmoid) and multinomial (softmax) logistic losses: loss, gradient, and both in one pass.

Conventions
-----------
The estimator uses scikit-learn's layout, the seed's transposed:

- ``X`` is (n_samples, n_features): row i is the seed's column x⁽ⁱ⁾, so
  X here is the seed's Xᵀ and m = n_samples, n_x = n_features.
- ``coef`` is (n_outputs, n_features + fit_intercept): row k holds class k's
  weights wₖ and, last, its intercept bₖ. n_outputs is 1 for two classes (the
  seed's sigmoid model, w of shape (n_x, 1) laid flat) and n_classes for the
  softmax model.
- The seed's Z = wᵀX + b, a (1, m) row, is here ``z = X @ w + b``, a
  (n_samples,) vector; for softmax Z = X @ Wᵀ + b is (n_samples, n_classes).
- ``Y`` is (n_samples, n_outputs): 0/1 labels for two classes, one-hot rows
  otherwise.
- ``sample_weight`` s is (n_samples,). Losses are averaged over the weighted
  examples, and the L2 penalty on the weights (never on the intercept) is
  scaled to match::

      objective(coef) = (1 / S) Σᵢ sᵢ lossᵢ + l2_reg / 2 · ‖W‖²,   S = Σᵢ sᵢ

  With l2_reg = 1 / (C · S) this is scikit-learn's objective
  C · Σᵢ sᵢ lossᵢ + ½‖W‖², divided by the constant C · S: the same optimum,
  and the seed's mean cost when l2_reg = 0 and s = 1.

Every loss is computed from logits, never as log(σ(z)): the binary loss is
``logaddexp(0, z) − y·z`` and the softmax loss ``logsumexp(z) − z_y``, exact
and free of overflow for any finite z.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from noloop import _kernels

__all__ = ["LogisticLoss", "sigmoid", "log_softmax", "penalty_mask"]


def sigmoid(z: Any, xp: Any) -> Any:
    """σ(z) without overflow: e^{−|z|} ∈ (0, 1] for either sign of z."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_softmax(Z: Any, xp: Any) -> Any:
    """log softmax of each row of ``Z`` (n_samples, n_classes), shifted by the row max."""
    shifted = Z - xp.max(Z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


@dataclass(frozen=True)
class LogisticLoss:
    """The (weighted, L2-penalized) logistic objective on fixed data.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    Y : array of shape (n_samples, n_outputs)
        0/1 labels (n_outputs = 1) or one-hot rows (n_outputs = n_classes ≥ 3).
    normalized_weight : array of shape (n_samples,)
        sᵢ / S: sample weights divided by their sum.
    l2_reg : float
        Strength of the penalty l2_reg / 2 · ‖W‖², for instance 1 / (C · S).
    fit_intercept : bool
    xp : namespace
        Array namespace of ``X``.
    """

    X: Any
    Y: Any
    normalized_weight: Any
    l2_reg: float
    fit_intercept: bool
    xp: Any

    @property
    def multinomial(self) -> bool:
        return int(self.Y.shape[1]) > 1

    def split(self, coef: Any) -> tuple[Any, Any]:
        """(W, b): weights (n_outputs, n_features) and intercepts (n_outputs,) or 0."""
        n_features = int(self.X.shape[1])
        if self.fit_intercept:
            return coef[:, :n_features], coef[:, n_features]
        return coef, 0.0

    def logits(self, coef: Any) -> Any:
        """Z = X Wᵀ + b, of shape (n_samples, n_outputs)."""
        W, b = self.split(coef)
        return self.xp.matmul(self.X, W.T) + b

    def _penalty(self, W: Any) -> Any:
        if self.l2_reg == 0:
            return 0.0
        return 0.5 * self.l2_reg * self.xp.sum(W * W)

    def _per_example_loss_and_residual(self, Z: Any) -> tuple[Any, Any]:
        xp = self.xp
        if self.multinomial:
            log_p = log_softmax(Z, xp)
            per_example = -xp.sum(self.Y * log_p, axis=1)
            return per_example, xp.exp(log_p) - self.Y
        z, y = Z[:, 0], self.Y[:, 0]
        per_example = xp.logaddexp(xp.zeros_like(z), z) - y * z
        return per_example, (sigmoid(z, xp) - y)[:, None]

    def loss(self, coef: Any) -> Any:
        """The objective at ``coef``, a 0-d array."""
        per_example, _ = self._per_example_loss_and_residual(self.logits(coef))
        W, _ = self.split(coef)
        return self.xp.sum(self.normalized_weight * per_example) + self._penalty(W)

    def gradient(self, coef: Any) -> Any:
        """The gradient of the objective, shaped like ``coef``."""
        return self.loss_gradient(coef)[1]

    @cached_property
    def _fused(self) -> bool:
        """Whether the one-pass compiled kernels of :mod:`noloop._kernels` can take this data."""
        return _kernels.accepts(self.X) and isinstance(self.Y, np.ndarray)

    @property
    def parameter_dtype(self) -> Any:
        """The dtype solvers should keep coefficients in.

        float64 whenever the fused kernels run (they compute in float64 for
        every data dtype, and float32 coefficients would quantize the objective
        enough to stall L-BFGS's line search); otherwise X's dtype, which the
        array library needs for ``X @ W``.
        """
        return np.float64 if self._fused else self.X.dtype

    @cached_property
    def _labels(self) -> np.ndarray:
        """Class index per row (softmax) or the 0/1 label (sigmoid), contiguous for the kernels."""
        if self.multinomial:
            return np.ascontiguousarray(np.argmax(self.Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(self.Y[:, 0], dtype=np.float64)

    def _fused_loss_gradient(self, coef: np.ndarray) -> tuple[Any, Any]:
        W, b = self.split(coef)
        weight = self.normalized_weight
        if self.multinomial:
            intercepts = b if self.fit_intercept else np.zeros(W.shape[0])
            loss, grad = _kernels.multinomial_loss_gradient(
                self.X, self._labels, weight, np.ascontiguousarray(W), intercepts
            )
        else:
            loss, grad = _kernels.binary_loss_gradient(
                self.X, self._labels, weight, np.ascontiguousarray(W[0]),
                float(b[0]) if self.fit_intercept else 0.0,
            )
            grad = grad[None, :]
        if not self.fit_intercept:
            grad = grad[:, :-1]
        grad = np.ascontiguousarray(grad, dtype=coef.dtype)
        if self.l2_reg:
            grad[:, : W.shape[1]] += self.l2_reg * W
        return np.asarray(loss + self._penalty(W)), grad

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """Objective and gradient together, sharing one forward pass.

        This is the seed's section 4 with weights: dZ = (A − Y) · s / S,
        dW = dZᵀ X + l2_reg · W, db = Σ dZ. On C-contiguous NumPy data it runs
        as one fused pass over X (:mod:`noloop._kernels`); elsewhere as array
        operations in ``xp``, with the same result to rounding.

        Returns
        -------
        loss : 0-d array
        grad : array shaped like ``coef``
        """
        if self._fused:
            return self._fused_loss_gradient(coef)
        xp = self.xp
        W, _ = self.split(coef)
        per_example, residual = self._per_example_loss_and_residual(self.logits(coef))
        loss = xp.sum(self.normalized_weight * per_example) + self._penalty(W)
        dZ = residual * self.normalized_weight[:, None]  # (n_samples, n_outputs)
        dW = xp.matmul(dZ.T, self.X) + self.l2_reg * W
        if self.fit_intercept:
            grad = xp.concat([dW, xp.sum(dZ, axis=0)[:, None]], axis=1)
        else:
            grad = dW
        return loss, grad

    def hessian(self, coef: Any) -> Any:
        """The Hessian, (n_outputs · n_dof, n_outputs · n_dof) with n_dof = n_features + fit_intercept.

        For two classes H = X̃ᵀ diag(sᵢ pᵢ (1 − pᵢ) / S) X̃ + l2_reg·I; for softmax
        block (k, l) is X̃ᵀ diag(sᵢ pᵢₖ (δₖₗ − pᵢₗ) / S) X̃ (+ l2_reg·I when k = l).
        X̃ is X with a column of ones when fitting intercepts (never formed: its
        blocks are written from X directly).
        """
        xp = self.xp
        Z = self.logits(coef)
        if self.multinomial:
            P = xp.exp(log_softmax(Z, xp))
        else:
            P = sigmoid(Z, xp)
        n_outputs, n_dof = (int(d) for d in coef.shape)
        H = xp.zeros((n_outputs * n_dof, n_outputs * n_dof), dtype=self.X.dtype,
                     device=_device(self.X))
        for k in range(n_outputs):
            for j in range(k, n_outputs):
                if self.multinomial:
                    curvature = P[:, k] * ((1.0 if k == j else 0.0) - P[:, j])
                else:
                    curvature = P[:, 0] * (1 - P[:, 0])
                block = self._weighted_gram(curvature * self.normalized_weight)
                if k == j:
                    block = block + self.l2_reg * self._penalty_mask(n_dof)
                H[k * n_dof:(k + 1) * n_dof, j * n_dof:(j + 1) * n_dof] = block
                if j != k:
                    H[j * n_dof:(j + 1) * n_dof, k * n_dof:(k + 1) * n_dof] = block.T
        return H

    def _penalty_mask(self, n_dof: int) -> Any:
        return penalty_mask(n_dof, self.fit_intercept, self.xp, self.X.dtype, _device(self.X))

    def gram_matvec(self, v: Any) -> Any:
        """X̃ᵀ diag(s / S) X̃ v for v of shape (n_features + fit_intercept,), in two passes over X.

        The curvature of the objective is bounded by a multiple of this Gram
        matrix; power iteration on it gives gradient descent a safe step.
        """
        xp = self.xp
        n_features = int(self.X.shape[1])
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
        gram = xp.zeros((n_features, n_features), dtype=self.X.dtype, device=_device(self.X))
        column = xp.zeros((n_features,), dtype=self.X.dtype, device=_device(self.X))
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


def penalty_mask(n_dof: int, fit_intercept: bool, xp: Any, dtype: Any, device: Any) -> Any:
    """The identity on the weights, zero on the intercept (which is not penalized)."""
    mask = xp.eye(n_dof, dtype=dtype, device=device)
    if fit_intercept:
        mask[-1, -1] = 0.0
    return mask


def _device(array: Any) -> Any:
    from noloop._xp import device_of

    return device_of(array)
