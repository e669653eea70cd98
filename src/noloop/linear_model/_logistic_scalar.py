"""The logistic and softmax losses of one row's logits, shared by the numba kernels (inlined).

For a logit z, every fused kernel needs log(1 + e^z) (the loss, with −y·z),
σ(z) (the residual σ(z) − y) and σ(z)(1 − σ(z)) (the Hessian's weight). All
three come from e = e^{−|z|}, which lies in (0, 1] and never overflows:

    log(1 + e^z) = max(z, 0) + log1p(e)
    σ(z) = 1 / (1 + e) for z ≥ 0, e / (1 + e) for z < 0
    σ(z)(1 − σ(z)) = e / (1 + e)²

For K classes, the loss logsumexp(z) − z_label is log Σ e^{z_a − max} −
(z_label − max): finite even where e^{z_label − max} underflows to 0.

numba caches each kernel without tracking this module: after changing it,
delete the kernels' cache files (``__pycache__/_*kernels*.nb*``) so they are
compiled again.
"""

from __future__ import annotations

import math

__all__ = ["softplus_and_sigmoid", "sigmoid_slope", "softmax_loss_to_residual"]

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

if numba is not None:

    @numba.njit(inline="always")
    def softplus_and_sigmoid(z):  # pragma: no cover - compiled
        """(log(1 + e^z), σ(z)) of one float64 logit."""
        e = math.exp(-abs(z))
        q = 1.0 / (1.0 + e)
        return max(z, 0.0) + math.log1p(e), (q if z >= 0 else e * q)

    @numba.njit(inline="always")
    def sigmoid_slope(z):  # pragma: no cover - compiled
        """σ(z)(1 − σ(z)) of one float64 logit."""
        e = math.exp(-abs(z))
        return e / ((1.0 + e) * (1.0 + e))

    @numba.njit(inline="always")
    def softmax_loss_to_residual(z, label, weight):  # pragma: no cover - compiled
        """sᵢ · (logsumexp(z) − z_label); z (K,) becomes the weighted residual sᵢ(pₐ − yₐ)."""
        K = z.shape[0]
        top = z[0]
        for a in range(1, K):
            if z[a] > top:
                top = z[a]
        margin = z[label] - top
        total = 0.0
        for a in range(K):
            z[a] = math.exp(z[a] - top)
            total += z[a]
        for a in range(K):
            z[a] = weight * (z[a] / total - (1.0 if a == label else 0.0))
        return weight * (math.log(total) - margin)
