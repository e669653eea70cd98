"""Solvers for objectives with an L1 term: smooth part f (data term + L2) plus λ‖W‖₁.

Both see the :class:`~noloop.linear_model._objective.Objective` contract and the
objective's ``l1`` term (:class:`~noloop.linear_model._objective.L1Penalty`),
never the data:

- :func:`newton_cd`, ``solver="newton-cd"``: proximal Newton, glum's approach.
  Each outer iteration takes the gradient (one pass over X) and the Hessian
  XᵀDX (one more pass for the logits, one for the Gram, accumulated block by
  block of rows with BLAS), then minimizes the quadratic model plus the L1 term
  by coordinate descent on the small (n_coef × n_coef) matrix — sweeps that
  never touch X — with an active set: after a full sweep, only the nonzero
  coordinates are swept until they settle, then one full sweep checks that no
  zero wants to move. A backtracking line search on the true objective
  (each try one pass) makes every step decrease it.
- :func:`proximal_gradient`, ``solver="gd"`` with an L1 term: the seed's
  gradient step followed by a soft-threshold (FISTA: with Nesterov momentum,
  restarted whenever the objective rises), step 1/L from the same curvature
  bound as plain gd, halved when a step fails the sufficient-decrease test.

Both stop on the same measure: the largest entry of the smallest subgradient
of the whole objective (:meth:`L1Penalty.optimality`), zero exactly at the
optimum; without an L1 term it is max |gradient|, the smooth solvers' measure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from noloop._blas import one_blas_thread
from noloop._xp import device_of, to_numpy
from noloop.linear_model._objective import L1Penalty, Objective
from noloop.linear_model._solvers import (Callback, SolverResult, _quiet_second_blas, _slack,
                                          check_finite_start)

__all__ = ["newton_cd", "proximal_gradient", "quadratic_cd"]

try:
    import numba
except ImportError:  # numba is a dependency, but the library must work without it
    numba = None


def _quadratic_cd_python(H: np.ndarray, g: np.ndarray, w: np.ndarray, l1: np.ndarray,
                         max_sweeps: int, tol: float) -> tuple[np.ndarray, int]:
    """Coordinate descent on q(d) = gᵀd + ½ dᵀHd + Σⱼ l1ⱼ |wⱼ + dⱼ|; returns (d, sweeps).

    An active-set loop: a full sweep, then sweeps over the coordinates with
    wⱼ + dⱼ ≠ 0 (or l1ⱼ = 0) until the largest move is at most ``tol``, then
    another full sweep; done when a full sweep moves nothing more than ``tol``.
    """
    n = g.shape[0]
    d = np.zeros(n)
    Hd = np.zeros(n)
    full = True
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        largest = 0.0
        for j in range(n):
            z = w[j] + d[j]
            if not full and z == 0.0 and l1[j] > 0.0:
                continue
            a = H[j, j]
            if a <= 0.0:
                continue
            u = z - (g[j] + Hd[j]) / a
            t = l1[j] / a
            if u > t:
                new = u - t
            elif u < -t:
                new = u + t
            else:
                new = 0.0
            delta = new - z
            if delta != 0.0:
                d[j] += delta
                for i in range(n):
                    Hd[i] += delta * H[i, j]
                scaled = abs(delta) * math.sqrt(a)
                if scaled > largest:
                    largest = scaled
        if largest <= tol:
            if full:
                break
            full = True  # the active set settled: check every coordinate once more
        else:
            full = False
    return d, sweeps


if numba is not None:
    _quadratic_cd = numba.njit(cache=True, nogil=True)(_quadratic_cd_python)
else:  # pragma: no cover - numba is a dependency
    _quadratic_cd = _quadratic_cd_python


def quadratic_cd(H: np.ndarray, g: np.ndarray, w: np.ndarray, l1: np.ndarray, *,
                 max_sweeps: int = 1000, tol: float = 1e-12) -> tuple[np.ndarray, int]:
    """argmin_d gᵀd + ½ dᵀHd + Σⱼ l1ⱼ |wⱼ + dⱼ| by coordinate descent with an active set.

    Parameters
    ----------
    H : array of shape (n, n)
        Symmetric positive semi-definite (the Hessian of the smooth part).
    g : array of shape (n,)
        The smooth part's gradient at w.
    w : array of shape (n,)
        The current point.
    l1 : array of shape (n,)
        The L1 weight of each coordinate (0 for intercepts).
    max_sweeps : int
    tol : float
        Stop when no coordinate moves more than tol in H's norm, |Δⱼ| √Hⱼⱼ.

    Returns
    -------
    d : array of shape (n,)
        The step; w + d has exact zeros where the soft-threshold put them.
    sweeps : int
    """
    return _quadratic_cd(np.ascontiguousarray(H, dtype=np.float64),
                         np.ascontiguousarray(g, dtype=np.float64),
                         np.ascontiguousarray(w, dtype=np.float64),
                         np.ascontiguousarray(l1, dtype=np.float64), max_sweeps, tol)


def _l1_of(objective: Objective) -> L1Penalty:
    """The objective's L1 term; none (strength 0) for an objective that has no ``l1``."""
    return getattr(objective, "l1", None) or L1Penalty()


def _l1_weights(objective: Objective, shape: tuple[int, ...]) -> np.ndarray:
    """The L1 strength per coefficient, flat in coef's row-major order; 0 on the intercepts."""
    layout = objective.layout
    weights = np.full(shape, _l1_of(objective).strength)
    if layout.fit_intercept:
        weights[:, layout.n_features] = 0.0
    return weights.ravel()


def _centered_intercepts(coef: np.ndarray, objective: Objective) -> np.ndarray:
    """Softmax intercepts shifted to sum to zero: the objective does not change.

    The intercepts are not penalized, so adding one constant to every class's
    intercept leaves the objective as it was; scikit-learn's solvers, started
    from zeros, keep that sum at zero, and so do we.
    """
    layout = objective.layout
    if layout.multinomial and layout.fit_intercept:
        coef = coef.copy()
        coef[:, layout.n_features] -= coef[:, layout.n_features].mean()
    return coef


def _record(result: SolverResult, value: float, optimality: float, *, tol: float,
            max_iter: int, callback: Callback | None) -> bool:
    """Log an iterate, report it, and say whether to stop (recording why)."""
    check_finite_start(result, value)  # else a NaN step would halve forever
    result.loss_history.append(value)
    if callback is not None:
        callback(result.n_iter, value)
    if optimality <= tol:
        result.converged = True
        result.stop_reason = f"max |smallest subgradient| <= tol = {tol:g}"
        return True
    if result.n_iter >= max_iter:
        result.stop_reason = f"max_iter = {max_iter} reached"
        return True
    return False


def newton_cd(objective: Objective, coef: Any, *, max_iter: int, tol: float,
              callback: Callback | None = None) -> SolverResult:
    """Proximal Newton: coordinate descent on the quadratic model, then a line search.

    Each iteration costs one gradient, one Hessian (n_coef² entries, built
    in one blockwise pass over X) and one objective per line-search try;
    the coordinate sweeps work on the Hessian alone. Stops when the largest
    entry of the smallest subgradient is at most ``tol``.
    """
    with _quiet_second_blas():
        return _newton_cd(objective, coef, max_iter=max_iter, tol=tol, callback=callback)


def _newton_cd(objective: Objective, coef: Any, *, max_iter: int, tol: float,
               callback: Callback | None) -> SolverResult:
    xp, layout, l1 = objective.xp, objective.layout, _l1_of(objective)
    shape, dtype, device = tuple(coef.shape), coef.dtype, device_of(coef)
    weights = _l1_weights(objective, shape)

    def evaluate(point: np.ndarray) -> tuple[float, np.ndarray, Any]:
        """(whole objective, smooth gradient flat on the host, point on the data's side)."""
        on_device = xp.asarray(np.reshape(point, shape), dtype=dtype, device=device)
        smooth, grad = objective.loss_gradient(on_device)
        value = float(smooth) + float(weights @ np.abs(point))
        return value, to_numpy(grad).astype(np.float64).ravel(), on_device

    w = to_numpy(coef).astype(np.float64).ravel()
    value, g, point = evaluate(w)
    result = SolverResult(coef=coef, n_iter=0)
    while not _record(result, value, _optimality(w, g, weights), tol=tol, max_iter=max_iter,
                      callback=callback):
        # the working set: nonzero or unpenalized coordinates, and zeros whose gradient breaks
        # the optimality condition |g| ≤ λ; the others stay at zero for this step
        working = np.flatnonzero((w != 0) | (weights == 0) | (np.abs(g) > weights))
        with one_blas_thread():
            H = _working_hessian(objective, point, working)
        # the softmax Hessian is singular along "shift every class alike"; a tiny ridge keeps
        # each coordinate's curvature positive without moving the step elsewhere
        H[np.diag_indices_from(H)] += 1e-12 * max(float(np.trace(H)) / max(H.shape[0], 1), 1e-300)
        d = np.zeros_like(w)
        d[working], _ = quadratic_cd(H, g[working], w[working], weights[working],
                                     tol=max(1e-3 * tol, 1e-14))
        if not np.any(d):
            result.stop_reason = "the quadratic model's step is zero"
            result.converged = _optimality(w, g, weights) <= 10 * tol
            break
        # Δ: the model's predicted decrease; a step t is taken when F falls by ≥ 1e-4 · t · |Δ|
        predicted = float(g @ d) + float(weights @ (np.abs(w + d) - np.abs(w)))
        step, accepted = 1.0, False
        while step >= 1e-10:
            candidate = w + step * d
            candidate_value, candidate_g, candidate_point = evaluate(candidate)
            if candidate_value <= value + 1e-4 * step * predicted + _slack(value, w, np):
                accepted = True
                break
            step *= 0.5
        if not accepted:
            result.stop_reason = "step too small: the line search found no decrease"
            break
        w, value, g, point = candidate, candidate_value, candidate_g, candidate_point
        result.n_iter += 1
    w = _centered_intercepts(np.reshape(w, shape), objective)
    result.coef = xp.asarray(w, dtype=dtype, device=device)
    return result


def _working_hessian(objective: Objective, point: Any, working: np.ndarray) -> np.ndarray:
    """The Hessian of the smooth part restricted to the flat coefficients ``working``.

    For a binary fit on NumPy data only those columns of X enter the Gram
    (|working|² instead of n_coef² multiply-adds per row: along an L1 path
    most weights are zero), in one read of them split over the cores
    (:func:`_working_gram`); otherwise the full Hessian, then the rows and
    columns asked for.
    """
    from noloop.linear_model._dense import DenseData

    layout = objective.layout
    data = getattr(objective, "data", None)
    if not isinstance(data, DenseData) or layout.multinomial or not isinstance(data.X, np.ndarray):
        H = to_numpy(objective.hessian(point)).astype(np.float64)
        return np.ascontiguousarray(H[np.ix_(working, working)])
    columns = working[working < layout.n_features]
    W, b = layout.split(np.asarray(to_numpy(point), dtype=np.float64))
    intercept = float(b[0]) if layout.fit_intercept else 0.0
    n_samples, k = int(data.X.shape[0]), columns.size
    # rows split in one contiguous share per core; each share is read once, by blocks
    bounds = np.linspace(0, n_samples, _hessian_threads(n_samples) + 1).astype(int)
    shares = [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def share(rows: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
        return _working_gram(data.X, data.normalized_weight, columns, W[0, columns], intercept,
                             *rows)

    if len(shares) == 1:
        parts = [share(shares[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(shares)) as pool:  # BLAS and NumPy release the GIL
            parts = list(pool.map(share, shares))
    gram = sum(part[0] for part in parts)
    column_sums = sum(part[1] for part in parts)
    h_sum = sum(part[2] for part in parts)
    l2 = objective.penalty.strength if hasattr(objective, "penalty") else 0.0
    gram[np.diag_indices_from(gram)] += l2
    if working.size == k:  # no intercept in the working set
        return gram
    H = np.empty((k + 1, k + 1))
    H[:k, :k], H[:k, k], H[k, :k], H[k, k] = gram, column_sums, column_sums, h_sum
    return H


def _hessian_threads(n_samples: int, min_rows: int = 65_536) -> int:
    """Threads for the working-set Hessian: one per core, each with ≥ ``min_rows`` rows."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, n_samples // min_rows))


def _working_gram(X: np.ndarray, normalized_weight: np.ndarray, columns: np.ndarray,
                  weights_in_working: np.ndarray, intercept: float, start: int, stop: int,
                  block_rows: int = 4096) -> tuple[np.ndarray, np.ndarray, float]:
    """Σ hᵢ xᵢxᵢᵀ, Σ hᵢ xᵢ and Σ hᵢ over rows start:stop, x restricted to ``columns``.

    hᵢ = pᵢ(1 − pᵢ) sᵢ/S is the binary curvature at logits computed from the same
    gathered columns (every nonzero weight is among them), so each block of
    rows is read once. Where h ≥ 0 (non-negative sample weights) the Gram is
    RᵀR with R = √h ⊙ x, which NumPy computes as a symmetric rank-k update:
    half the multiply-adds of a general product.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    normalized_weight : ndarray of shape (n_samples,)
    columns : ndarray of shape (k,), int
    weights_in_working : ndarray of shape (k,)
        The weights of ``columns``; every other weight is zero.

    Returns
    -------
    gram : ndarray of shape (k, k)
    column_sums : ndarray of shape (k,)
    h_sum : float
    """
    from noloop.linear_model._loss import curvature, probabilities

    k = columns.size
    gram, column_sums, h_sum = np.zeros((k, k)), np.zeros(k), 0.0
    every_column = k == X.shape[1] and np.array_equal(columns, np.arange(k))
    for lo in range(start, stop, block_rows):
        hi = min(stop, lo + block_rows)
        block = X[lo:hi] if every_column else X[lo:hi][:, columns]
        block = np.asarray(block, dtype=np.float64)
        P = probabilities((block @ weights_in_working + intercept)[:, None], np)
        h = curvature(P, 0, 0) * normalized_weight[lo:hi]
        if np.all(h >= 0):
            root = block * np.sqrt(h)[:, None]
            gram += root.T @ root
            column_sums += np.sqrt(h) @ root
        else:  # negative sample weights: a general product
            scaled = block * h[:, None]
            gram += block.T @ scaled
            column_sums += scaled.sum(axis=0)
        h_sum += float(h.sum())
    return gram, column_sums, h_sum


def _optimality(w: np.ndarray, g: np.ndarray, weights: np.ndarray) -> float:
    """max |smallest subgradient| of gᵀ· + Σ weightsⱼ |wⱼ| at w (flat NumPy arrays)."""
    at_zero = np.maximum(np.abs(g) - weights, 0.0)
    away = np.abs(g + weights * np.sign(w))
    return float(np.max(np.where(w == 0, at_zero, away)))


def proximal_gradient(objective: Objective, coef: Any, *, max_iter: int, tol: float,
                      learning_rate: float | str = "auto",
                      callback: Callback | None = None) -> SolverResult:
    """FISTA: the seed's step W := W − α dW, then a soft-threshold by α λ; with momentum.

    ``learning_rate="auto"`` starts from α = 1 / L (the same curvature bound
    as plain gd) and halves α whenever a step fails
    f(x⁺) ≤ f(y) + ∇f(y)ᵀ(x⁺ − y) + ‖x⁺ − y‖² / (2α); a float is used as
    given. Momentum restarts whenever the objective rises (O'Donoghue and
    Candès), so the objective decreases along the iterates. Stops when the
    largest entry of the smallest subgradient at the iterate is at most ``tol``.
    """
    xp, layout, l1 = objective.xp, objective.layout, _l1_of(objective)
    adaptive = learning_rate == "auto"
    step = 1.0 / objective.curvature_bound() if adaptive else float(learning_rate)
    result = SolverResult(coef=coef, n_iter=0)
    smooth, grad = objective.loss_gradient(coef)
    smooth = float(smooth)
    value = smooth + l1.value(coef, layout, xp)
    x, momentum = coef, 1.0
    y, y_smooth, y_grad, y_is_x = coef, smooth, grad, True
    while not _record(result, value, l1.optimality(x, grad, layout, xp), tol=tol,
                      max_iter=max_iter, callback=callback):
        while True:
            candidate, c_smooth, c_grad, step = _prox_step(objective, y, y_smooth, y_grad, step,
                                                           adaptive)
            c_value = c_smooth + l1.value(candidate, layout, xp)
            if c_value > value and not y_is_x:
                # the momentum overshot: restart from x without it, so the objective never rises
                momentum = 1.0
                y, y_smooth, y_grad, y_is_x = x, smooth, grad, True
                continue
            break
        if not math.isfinite(c_value):
            result.diverged = True
            result.stop_reason = (f"diverged: the objective is not finite at iteration "
                                  f"{result.n_iter + 1}; learning_rate = {step:g} is too large")
            break
        next_momentum = (1 + math.sqrt(1 + 4 * momentum * momentum)) / 2
        beta = (momentum - 1) / next_momentum
        momentum = next_momentum
        previous = x
        x, smooth, grad, value = candidate, c_smooth, c_grad, c_value
        if beta > 0:
            y = x + beta * (x - previous)
            y_smooth, y_grad = objective.loss_gradient(y)
            y_smooth, y_is_x = float(y_smooth), False
        else:
            y, y_smooth, y_grad, y_is_x = x, smooth, grad, True
        result.n_iter += 1
    coef_out = x
    if layout.multinomial and layout.fit_intercept:
        coef_out = xp.asarray(_centered_intercepts(to_numpy(x).astype(np.float64), objective),
                              dtype=x.dtype, device=device_of(x))
    result.coef = coef_out
    return result


def _prox_step(objective: Objective, y: Any, y_smooth: float, y_grad: Any, step: float,
               adaptive: bool) -> tuple[Any, float, Any, float]:
    """x⁺ = prox(y − α ∇f(y)), halving α (when adaptive) until the quadratic bound holds.

    Returns (x⁺, f(x⁺), ∇f(x⁺), the step used).
    """
    xp, layout, l1 = objective.xp, objective.layout, _l1_of(objective)
    while True:
        candidate = l1.prox(y - step * y_grad, step, layout, xp)
        difference = candidate - y
        c_smooth, c_grad = objective.loss_gradient(candidate)
        c_smooth = float(c_smooth)
        bound = (y_smooth + float(xp.sum(y_grad * difference))
                 + float(xp.sum(difference * difference)) / (2 * step))
        # a non-finite f(x⁺) fails the test, so the step keeps halving
        if not adaptive or step < 1e-20 or c_smooth <= bound + _slack(y_smooth, candidate, xp):
            return candidate, c_smooth, c_grad, step
        step *= 0.5
