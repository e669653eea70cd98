"""The contract between solvers and objectives, and the one logistic objective built on it.

A solver sees an :class:`Objective`: the parameter :class:`Layout`, the array
namespace and device the coefficients live in, and the objective's value and
gradient in one call (its Hessian and a curvature bound where a solver uses
them). It never sees the data.

The objective is written once: :class:`LogisticObjective` adds the penalty to
a :class:`DataTerm`, the averaged (weighted) per-example loss of
:mod:`noloop.linear_model._loss`. Only how one evaluation of that data term
runs varies with the data's shape:

- :class:`noloop.linear_model._dense.DenseData`: in-memory arrays, through the
  fused one-pass kernels (C-contiguous NumPy) or array-API operations
  (PyTorch, CuPy, strided NumPy);
- :class:`noloop.linear_model._dask.DaskData`: chunked dask arrays, one map
  over the chunks and a sum per evaluation.

This mirrors scikit-learn's ``LinearModelLoss(base_loss, fit_intercept)``: the
per-example loss, the layout and the penalty are separate small parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Layout", "DataTerm", "Objective", "L2Penalty", "L1Penalty", "LogisticObjective",
           "class_weight_vector", "CURVATURE_SAMPLE_ROWS"]

#: Rows gradient descent's curvature estimate reads at most (see ``curvature_bound``):
#: a 100-column sample of this size is about 6 MiB, a few power iterations cost little.
CURVATURE_SAMPLE_ROWS = 8192


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in ``coef`` (n_outputs, n_features + fit_intercept)."""

    n_features: int
    n_outputs: int
    fit_intercept: bool

    @property
    def shape(self) -> tuple[int, int]:
        """The shape of ``coef``."""
        return self.n_outputs, self.n_features + int(self.fit_intercept)

    @property
    def multinomial(self) -> bool:
        """True for the softmax model (one output per class)."""
        return self.n_outputs > 1

    def split(self, coef: Any) -> tuple[Any, Any]:
        """(W, b): weights (n_outputs, n_features) and intercepts (n_outputs,), or 0.0 without."""
        if self.fit_intercept:
            return coef[:, : self.n_features], coef[:, self.n_features]
        return coef, 0.0


class _Parameters(Protocol):
    """Where coefficients live: their array namespace, device and dtype."""

    @property
    def xp(self) -> Any: ...

    @property
    def device(self) -> Any: ...

    @property
    def parameter_dtype(self) -> Any: ...


@runtime_checkable
class DataTerm(_Parameters, Protocol):
    """The averaged loss (1 / S) Σᵢ sᵢ lossᵢ over one shape of data, without penalty."""

    layout: Layout

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """(value as a 0-d array, gradient shaped like ``coef``) in one pass over the data."""

    def hessian(self, coef: Any) -> Any:
        """(n_coef, n_coef) with n_coef = coef.size, in ``coef``'s row-major order."""

    def gram_matvec(self, v: Any) -> Any:
        """X̃ᵀ diag(s / S) X̃ v for v of shape (n_features + fit_intercept,)."""

    # Optional: ``curvature_sample(max_rows) -> DataTerm | None``, a term over at most
    # ``max_rows`` evenly spaced rows whose Gram matrix estimates this one's (None when it
    # cannot sample); curvature_bound then iterates on it, not on every row.


@runtime_checkable
class Objective(_Parameters, Protocol):
    """What every solver needs, and all it may use.

    ``hessian`` is used by Newton's method only and ``curvature_bound`` by
    gradient descent's automatic step only; an objective for other solvers
    may leave them out.
    """

    @property
    def layout(self) -> Layout: ...

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """(value as a 0-d array or float, gradient shaped like ``coef``)."""


@dataclass(frozen=True)
class L2Penalty:
    """strength / 2 · ‖W‖² on the weights; the intercepts are never penalized."""

    strength: float

    def value(self, W: Any, xp: Any) -> Any:
        if self.strength == 0:
            return 0.0
        return 0.5 * self.strength * xp.sum(W * W)

    def gradient(self, coef: Any, layout: Layout, xp: Any) -> Any:
        """The penalty's gradient, shaped like ``coef`` (zero in the intercept column)."""
        W, _ = layout.split(coef)
        dW = self.strength * W
        if not layout.fit_intercept:
            return dW
        return xp.concat([dW, xp.zeros_like(coef[:, layout.n_features:])], axis=1)

    def hessian(self, layout: Layout, xp: Any, dtype: Any, device: Any) -> Any:
        """strength · I on the weights, 0 on the intercepts, (coef.size, coef.size)."""
        n_outputs, n_dof = layout.shape
        diagonal = np.full((n_outputs, n_dof), self.strength)
        if layout.fit_intercept:
            diagonal[:, -1] = 0.0
        return xp.asarray(np.diag(diagonal.ravel()), dtype=dtype, device=device)


@dataclass(frozen=True)
class L1Penalty:
    """strength · ‖W‖₁ on the weights: the non-smooth part, used through its proximal map.

    Smooth solvers (lbfgs, newton-cholesky) never see it: the estimator refuses
    them when ``strength > 0``. The proximal solvers take the smooth part's
    ``loss_gradient`` and this term's :meth:`prox` (a soft-threshold); the
    intercepts are never penalized.
    """

    strength: float = 0.0

    def value(self, coef: Any, layout: Layout, xp: Any) -> float:
        """strength · Σ |W| for ``coef`` of shape ``layout.shape``."""
        if self.strength == 0:
            return 0.0
        W, _ = layout.split(coef)
        return self.strength * float(xp.sum(xp.abs(W)))

    def prox(self, coef: Any, step: float, layout: Layout, xp: Any) -> Any:
        """argmin_u ½‖u − coef‖² / step + strength · ‖U_W‖₁: soft-threshold the weights by step · strength.

        sign(w) · max(|w| − t, 0) gives exact zeros; the intercept column is kept as it is.
        """
        if self.strength == 0:
            return coef
        threshold = step * self.strength
        W, _ = layout.split(coef)
        shrunk = xp.sign(W) * xp.clip(xp.abs(W) - threshold, 0.0, None)
        if not layout.fit_intercept:
            return shrunk
        return xp.concat([shrunk, coef[:, layout.n_features:]], axis=1)

    def optimality(self, coef: Any, grad: Any, layout: Layout, xp: Any) -> float:
        """max |v| over the smallest subgradient v of smooth + L1 at ``coef``: 0 exactly at the optimum.

        For a weight w ≠ 0 it is g + strength · sign(w); for w = 0 it is
        max(|g| − strength, 0); intercepts (never penalized) contribute |g|.
        With strength 0 it is max |g|, the smooth solvers' stopping measure.
        """
        if self.strength == 0:
            return float(xp.max(xp.abs(grad)))
        gW, _ = layout.split(grad)
        W, _ = layout.split(coef)
        at_zero = xp.clip(xp.abs(gW) - self.strength, 0.0, None)
        away = xp.abs(gW + self.strength * xp.sign(W))
        worst = float(xp.max(xp.where(W == 0, at_zero, away)))
        if layout.fit_intercept:
            worst = max(worst, float(xp.max(xp.abs(grad[:, layout.n_features:]))))
        return worst


@dataclass(frozen=True)
class LogisticObjective:
    """The penalized logistic objective: ``data``'s averaged loss plus ``penalty``.

    Implements :class:`Objective` for every :class:`DataTerm`.
    """

    data: DataTerm
    penalty: L2Penalty
    l1: L1Penalty = L1Penalty()

    @property
    def layout(self) -> Layout:
        return self.data.layout

    @property
    def xp(self) -> Any:
        return self.data.xp

    @property
    def device(self) -> Any:
        return self.data.device

    @property
    def parameter_dtype(self) -> Any:
        return self.data.parameter_dtype

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """Objective and gradient together, sharing one pass over the data.

        The seed's section 4 with weights: dZ = (A − Y) · s / S,
        dW = dZᵀ X + l2_reg · W, db = Σ dZ.
        """
        value, grad = self.data.loss_gradient(coef)
        if self.penalty.strength == 0:
            return value, grad
        W, _ = self.layout.split(coef)
        return (value + self.penalty.value(W, self.xp),
                grad + self.penalty.gradient(coef, self.layout, self.xp))

    def value(self, coef: Any) -> float:
        """The whole objective at ``coef``: the smooth part plus the L1 term."""
        smooth = float(self.loss_gradient(coef)[0])
        return smooth + self.l1.value(coef, self.layout, self.xp)

    def loss(self, coef: Any) -> Any:
        """The smooth part of the objective (data term and L2) at ``coef``."""
        return self.loss_gradient(coef)[0]

    def gradient(self, coef: Any) -> Any:
        """The gradient of the objective, shaped like ``coef``."""
        return self.loss_gradient(coef)[1]

    def hessian(self, coef: Any) -> Any:
        """The Hessian, (coef.size, coef.size), blocks in ``coef``'s row-major order."""
        H = self.data.hessian(coef)
        if self.penalty.strength == 0:
            return H
        return H + self.penalty.hessian(self.layout, self.xp, H.dtype, self.device)

    def hessian_product(self, coef: Any) -> Any:
        """v ↦ H v at ``coef`` (v shaped like ``coef``), for truncated Newton (``newton-cg``).

        The data term's curvature at ``coef`` is computed once; each product
        then adds the penalty's strength · v on the weights.
        """
        data_product = self.data.hessian_product(coef)
        if self.penalty.strength == 0:
            return data_product
        layout = self.layout

        def product(v: Any) -> Any:
            # the penalty's Hessian is strength · I on the weights: its product is its gradient at v
            return data_product(v) + self.penalty.gradient(v, layout, self.xp)

        return product

    def curvature_bound(self, n_power_iterations: int = 2, random_state: int = 0, *,
                        sample: bool = True) -> float:
        """An estimate of L, the largest curvature of the objective, for the step α = 1 / L.

        The logistic Hessian is at most c · X̃ᵀ diag(s / S) X̃ (c = 1/4 for the
        sigmoid, 1/2 for softmax) plus the L2 strength; power iteration
        estimates the top eigenvalue of that Gram matrix through
        ``data.gram_matvec``, without forming it.

        Data that can sample its rows (in-memory arrays) give the Gram of at
        most :data:`CURVATURE_SAMPLE_ROWS` evenly spaced rows, reweighted to the
        same total; power iteration on it runs to a relative change of 1e-4 (at
        most 50 iterations) and costs a small fraction of one read of X (was 2
        iterations on all rows, 4 reads; 12 iterations, 24 reads, cost gd as
        much as 35 steps on 1e6 × 100). Other data (Dask, sparse, categorical)
        take ``n_power_iterations`` on every row, two reads each. Either way
        the result is an estimate — power iteration approaches from below and
        a sample may miss rows — so gradient descent backtracks when a step
        fails: at most a few halvings, once, since the halved step is kept.
        ``sample=False`` iterates on every row whatever the data (for comparisons).
        """
        sampler = getattr(self.data, "curvature_sample", None) if sample else None
        data = sampler(CURVATURE_SAMPLE_ROWS) if sampler is not None else None
        if data is None:
            return self._power_iteration(self.data, n_power_iterations, 0.0, random_state)
        from noloop._blas import one_blas_thread

        with one_blas_thread():  # small products: a second BLAS thread only waits
            return self._power_iteration(data, 50, 1e-4, random_state)

    def _power_iteration(self, data: DataTerm, iterations: int, rtol: float,
                         random_state: int) -> float:
        """c · (top eigenvalue of data's Gram matrix) + the L2 strength; see curvature_bound."""
        xp = self.xp
        n_dof = self.layout.shape[1]
        start = np.random.default_rng(random_state).standard_normal(n_dof)
        v = xp.asarray(start / np.linalg.norm(start), dtype=self.parameter_dtype,
                       device=self.device)
        eigenvalue = 0.0
        for _ in range(iterations):
            product = data.gram_matvec(v)
            previous, eigenvalue = eigenvalue, float(xp.linalg.vector_norm(product))
            if eigenvalue == 0.0 or not math.isfinite(eigenvalue):
                break
            v = product / eigenvalue
            if abs(eigenvalue - previous) <= rtol * eigenvalue:
                break
        factor = 0.5 if self.layout.multinomial else 0.25
        return factor * eigenvalue + self.penalty.strength


def class_weight_vector(class_weight: Mapping[Any, float] | str | None, classes: np.ndarray,
                        weighted_counts: np.ndarray) -> np.ndarray | None:
    """One weight per class, or None when ``class_weight`` is None.

    ``"balanced"`` gives S / (n_classes · Sₖ), Sₖ the (sample-weighted) count
    of class k, as scikit-learn's ``compute_class_weight``; a dict maps labels
    to weights (1 for labels it leaves out), and a key that is no class is an
    error, as in scikit-learn.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
    classes : array of shape (n_classes,)
    weighted_counts : array of shape (n_classes,)
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        counts = np.asarray(weighted_counts, dtype=np.float64)
        return counts.sum() / (classes.size * np.maximum(counts, np.finfo(np.float64).tiny))
    known = {label.item() if isinstance(label, np.generic) else label for label in classes}
    unknown = [key for key in class_weight if key not in known]
    if unknown:
        raise ValueError(f"`class_weight` has label(s) {unknown!r} that are not among the "
                         f"classes {sorted(known, key=str)!r}")
    return np.array([float(class_weight.get(label.item() if isinstance(label, np.generic)
                                            else label, 1.0)) for label in classes])
