"""The per-example logistic math: losses from logits, residuals, curvature, label encoding.

Conventions
-----------
The estimator uses scikit-learn's layout, the seed's transposed:

- ``X`` is (n_samples, n_features): row i is the seed's column x⁽ⁱ⁾, so
  X here is the seed's Xᵀ and m = n_samples, n_x = n_features.
- ``coef`` is (n_outputs, n_features + fit_intercept): row k holds class k's
  weights wₖ and, last, its intercept bₖ. n_outputs is 1 for two classes (the
  seed's sigmoid model, w of shape (n_x, 1) laid flat) and n_classes for the
  softmax model.
- The seed's Z = wᵀX + b, a (1, m) row, is here ``Z = X @ Wᵀ + b``, of shape
  (n_samples, n_outputs).
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

from typing import Any

__all__ = ["sigmoid", "log_softmax", "probabilities", "loss_and_residual", "curvature",
           "encode_labels"]


def sigmoid(z: Any, xp: Any) -> Any:
    """σ(z) without overflow: e^{−|z|} ∈ (0, 1] for either sign of z."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_softmax(Z: Any, xp: Any) -> Any:
    """log softmax of each row of ``Z`` (n_samples, n_classes), shifted by the row max."""
    shifted = Z - xp.max(Z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def probabilities(Z: Any, xp: Any) -> Any:
    """A = σ(Z) for one output column, softmax(Z) for several; shape of ``Z`` (n_samples, n_outputs)."""
    if int(Z.shape[1]) == 1:
        return sigmoid(Z, xp)
    return xp.exp(log_softmax(Z, xp))


def loss_and_residual(Z: Any, Y: Any, xp: Any) -> tuple[Any, Any]:
    """Per-example loss (n_samples,) and the seed's dZ = A − Y (n_samples, n_outputs), from logits.

    Parameters
    ----------
    Z : array of shape (n_samples, n_outputs)
    Y : array of shape (n_samples, n_outputs)
        0/1 labels (one column) or one-hot rows.
    xp : namespace
    """
    if int(Z.shape[1]) > 1:
        log_p = log_softmax(Z, xp)
        return -xp.sum(Y * log_p, axis=1), xp.exp(log_p) - Y
    z, y = Z[:, 0], Y[:, 0]
    per_example = xp.logaddexp(xp.zeros_like(z), z) - y * z
    return per_example, (sigmoid(z, xp) - y)[:, None]


def curvature(P: Any, k: int, j: int) -> Any:
    """∂²lossᵢ / ∂zₖ∂zⱼ per example, (n_samples,), from probabilities ``P`` (n_samples, n_outputs).

    pᵢ(1 − pᵢ) for the sigmoid; pᵢₖ(δₖⱼ − pᵢⱼ) for softmax.
    """
    if int(P.shape[1]) == 1:
        return P[:, 0] * (1 - P[:, 0])
    return P[:, k] * ((1.0 if k == j else 0.0) - P[:, j])


def encode_labels(indices: Any, n_outputs: int, dtype: Any, xp: Any) -> Any:
    """Y from class indices (n_samples,): a 0/1 column for two classes, else one-hot rows.

    Returns
    -------
    Y : array of shape (n_samples, n_outputs), in ``xp`` on the device of ``indices``
    """
    if n_outputs == 1:
        return xp.astype(indices, dtype)[:, None]
    labels = xp.arange(n_outputs, device=_device(indices))
    return xp.astype(indices[:, None] == labels[None, :], dtype)


def _device(array: Any) -> Any:
    from noloop._xp import device_of

    return device_of(array)
