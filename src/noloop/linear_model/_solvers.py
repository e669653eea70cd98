"""Solvers: each drives an :class:`~noloop.linear_model._objective.Objective` to its optimum.

A solver depends on the objective contract only: it never sees the data, its
shape (dense, Dask) or the penalty.

Every solver returns a :class:`SolverResult` with the objective at each
iterate (the seed's ``costs`` list) and why it stopped.

- ``gd``: the seed's batch gradient descent W := W − α dW.
- ``lbfgs``: quasi-Newton, scipy's L-BFGS-B over the same ``loss_gradient``.
- ``newton-cholesky``: Newton steps solved by Cholesky; few features, few iterations.
- ``newton-cd`` (and ``gd`` with an L1 term): proximal solvers in :mod:`._proximal`.
- ``newton-cg``: truncated Newton, steps by conjugate gradients over Hessian-vector
  products; many features (sparse text), ill-conditioned data.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from noloop.linear_model._objective import Objective
from noloop._xp import device_of, to_numpy

__all__ = ["SolverResult", "SOLVERS", "solve", "gradient_descent", "lbfgs", "newton_cholesky",
           "newton_cg"]

Callback = Callable[[int, float], None]

# gd with a fixed step has diverged once the objective rose this many iterations in a row
# and stands above its start: an oscillation that still converges does not rise every step
DIVERGED_AFTER_RISES = 10


@dataclass
class SolverResult:
    """What a solver found: the coefficients, the path and why it stopped."""

    coef: Any
    n_iter: int
    loss_history: list[float] = field(default_factory=list)
    converged: bool = False
    stop_reason: str = ""
    diverged: bool = False


def _max_abs(array: Any, xp: Any) -> float:
    return float(xp.max(xp.abs(array)))


# in-memory X is checked cell by cell before a fit; Dask chunks are not (a pass of its own):
# NaN · 0 makes the first objective NaN, which tells the same
NOT_FINITE_START = ("`X` holds NaN or infinite values (the objective at the starting point is "
                    "not finite): remove or impute those cells (a Dask DataFrame takes "
                    "missing='impute')")


def check_finite_start(result: SolverResult, value: float) -> None:
    """Raise before the first iterate is logged when its objective is NaN or infinite."""
    if not result.loss_history and not math.isfinite(value):
        raise ValueError(NOT_FINITE_START)


def _record_iterate(result: SolverResult, value: float, grad: Any, xp: Any, *, tol: float,
                    max_iter: int, callback: Callback | None) -> bool:
    """Log an iterate's objective, report it, and say whether to stop (recording why)."""
    check_finite_start(result, value)
    result.loss_history.append(value)
    if callback is not None:
        callback(result.n_iter, value)
    if _max_abs(grad, xp) <= tol:
        result.converged, result.stop_reason = True, f"max |gradient| <= tol = {tol:g}"
        return True
    if result.n_iter >= max_iter:
        result.stop_reason = f"max_iter = {max_iter} reached"
        return True
    return False


def _slack(value: float, coef: Any, xp: Any) -> float:
    """How much a line search forgives: the rounding error of an objective summed in coef's dtype.

    Near the optimum a step's true decrease falls below what float32 can
    resolve; without this slack the test would fail on rounding alone and
    shrink the step for nothing.
    """
    return 64 * float(xp.finfo(coef.dtype).eps) * abs(value)  # no trip to the host


def _backtrack(objective: Objective, coef: Any, value: float, direction: Any, *, slope: float,
               step: float, sufficient: float, min_step: float
               ) -> tuple[float, Any, float, Any] | None:
    """Halve ``step`` until f(coef + step·direction) ≤ f(coef) + sufficient · step · slope.

    ``slope`` is the directional derivative gᵀ·direction (negative). Returns
    (step, new coef, its objective, its gradient), or None once the step falls
    below ``min_step``.
    """
    while step >= min_step:
        candidate = coef + step * direction
        candidate_value, candidate_grad = objective.loss_gradient(candidate)
        candidate_value = float(candidate_value)
        if candidate_value <= value + sufficient * step * slope + _slack(value, coef, objective.xp):
            return step, candidate, candidate_value, candidate_grad
        step *= 0.5
    return None


def gradient_descent(
    objective: Objective, coef: Any, *, max_iter: int, tol: float,
    learning_rate: float | str = "auto", callback: Callback | None = None,
) -> SolverResult:
    """The seed's batch gradient descent: W := W − α dW, b := b − α db.

    With a float ``learning_rate`` the step is used as given, exactly as in
    :func:`noloop.vectorized.gradient_descent`. With ``"auto"`` the step is
    1 / L from the objective's ``curvature_bound()``, halved whenever a step fails the
    sufficient-decrease test f(W − α g) ≤ f(W) − α/2 ‖g‖², which an L-smooth
    objective passes for every α ≤ 1 / L; the objective never increases.
    Stops when max |gradient| ≤ ``tol``; a fixed step stops as diverged
    (``result.diverged``) once the objective is not finite, or has risen
    ``DIVERGED_AFTER_RISES`` iterations in a row to above its start.
    """
    xp = objective.xp
    adaptive = learning_rate == "auto"
    step = 1.0 / objective.curvature_bound() if adaptive else float(learning_rate)
    result = SolverResult(coef=coef, n_iter=0)
    value, grad = objective.loss_gradient(coef)
    value = float(value)
    rises = 0
    while not _record_iterate(result, value, grad, xp, tol=tol, max_iter=max_iter,
                              callback=callback):
        if adaptive:
            accepted = _backtrack(objective, coef, value, -grad, slope=-float(xp.sum(grad * grad)),
                                  step=step, sufficient=0.5, min_step=1e-20)
            if accepted is None:
                result.stop_reason = "step too small: the objective stopped decreasing"
                break
            step, candidate, candidate_value, candidate_grad = accepted
        else:
            candidate = coef - step * grad
            candidate_value, candidate_grad = objective.loss_gradient(candidate)
            candidate_value = float(candidate_value)
        rises = rises + 1 if candidate_value > value else 0
        if not math.isfinite(candidate_value) or (rises >= DIVERGED_AFTER_RISES
                                                  and candidate_value > result.loss_history[0]):
            # the last iterate is kept: it is the one the history ends with
            result.diverged = True
            result.stop_reason = (
                f"diverged: the objective rose from {result.loss_history[0]:.6g} to "
                f"{candidate_value:.6g} by iteration {result.n_iter + 1}; learning_rate = "
                f"{step:g} is too large"
            )
            break
        coef, value, grad = candidate, candidate_value, candidate_grad
        result.n_iter += 1
    result.coef = coef
    return result


@functools.cache
def _second_blas() -> Any:
    """A threadpoolctl selection of the BLAS libraries loaded besides NumPy's own, or None.

    scipy's wheels bring their own OpenBLAS beside NumPy's.
    """
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    numpy_package = os.path.dirname(np.__file__)
    others = [
        lib.filepath for lib in controller.lib_controllers
        if lib.user_api == "blas"
        and not lib.filepath.startswith((numpy_package + os.sep, numpy_package + ".libs" + os.sep))
    ]
    return controller.select(filepath=others) if others else None


@contextlib.contextmanager
def _quiet_second_blas():
    """Run scipy's BLAS single-threaded while L-BFGS-B works on its small vectors.

    With two OpenBLAS copies loaded (NumPy's and scipy's wheels each bring
    one), each pool's threads spin while the other computes, which slowed
    small fits many times over on 2 cores (``docs/benchmarks.md``). L-BFGS-B's own BLAS calls touch only
    vectors of n_coef entries, so one thread loses nothing.
    """
    selection = _second_blas()
    if selection is None:
        yield
        return
    with selection.limit(limits=1):
        yield


def lbfgs(
    objective: Objective, coef: Any, *, max_iter: int, tol: float, callback: Callback | None = None,
) -> SolverResult:
    """scipy's L-BFGS-B over ``objective.loss_gradient``; stops when max |gradient| ≤ ``tol``.

    The coefficients travel to the host as float64 each evaluation (they are
    small); the data and the heavy work stay in ``objective.xp`` on its device.
    """
    from scipy.optimize import minimize

    xp = objective.xp
    shape, dtype, device = tuple(coef.shape), coef.dtype, device_of(coef)
    history: list[float] = []

    last: dict[str, Any] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        if "x" in last and np.array_equal(flat, last["x"]):
            return last["value"], last["grad"].copy()  # scipy re-evaluates the start point
        point = xp.asarray(np.reshape(flat, shape), dtype=dtype, device=device)
        value, grad = objective.loss_gradient(point)
        last.update(x=flat.copy(), value=float(value),
                    grad=to_numpy(grad).astype(np.float64).ravel())
        return last["value"], last["grad"].copy()

    def record(intermediate_result: Any) -> None:
        history.append(float(intermediate_result.fun))
        if callback is not None:
            callback(len(history), history[-1])

    start = to_numpy(coef).astype(np.float64).ravel()
    first_value = fun(start)[0]
    check_finite_start(SolverResult(coef=coef, n_iter=0), first_value)
    history.append(first_value)
    if callback is not None:
        callback(0, first_value)
    with _quiet_second_blas():
        optimum = minimize(
            fun, start, jac=True, method="L-BFGS-B", callback=record,
            options={"maxiter": max_iter, "maxls": 50, "gtol": tol,
                     "ftol": 64 * np.finfo(float).eps},
        )
    converged = bool(optimum.success)
    if optimum.status == 1:
        reason = f"max_iter = {max_iter} reached"
    elif converged:
        reason = f"converged: {optimum.message}"
    else:
        reason = f"line search failed: {optimum.message}"
    return SolverResult(
        coef=xp.asarray(np.reshape(optimum.x, shape), dtype=dtype, device=device),
        n_iter=int(optimum.nit), loss_history=history, converged=converged, stop_reason=reason,
    )


def _solve_positive_definite(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve H p = g by Cholesky, adding a small ridge when H is singular.

    The softmax Hessian is singular along 'add the same constant to every
    intercept', a direction the gradient never has, so a tiny ridge changes
    nothing else.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    ridge = 0.0
    scale = max(float(np.trace(H)) / H.shape[0], np.finfo(H.dtype).tiny)
    for _ in range(20):
        try:
            factor = cho_factor(H + ridge * np.eye(H.shape[0]), check_finite=False)
            return cho_solve(factor, g, check_finite=False)
        except LinAlgError:
            ridge = max(ridge * 10, scale * 1e-10)
    return np.linalg.lstsq(H, g, rcond=None)[0]


def _class_shift_projector(shape: tuple[int, ...], scale: float) -> np.ndarray:
    """scale · (11ᵀ / K ⊗ I): lifts the softmax Hessian's null space, shifting every class alike.

    Softmax probabilities do not change when the same vector is added to every
    class's coefficients; the Hessian is singular along those directions and
    maps the rest into the rest. The gradient never points along them, so
    adding this term makes H invertible without changing the Newton step.
    """
    n_classes, n_dof = shape
    return scale * np.kron(np.full((n_classes, n_classes), 1.0 / n_classes), np.eye(n_dof))


def _without_class_shift(direction: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Remove the class-mean from a flat step, so iterates keep Σₖ coefₖ = 0 like gd and lbfgs."""
    per_class = np.reshape(direction, shape)
    return (per_class - per_class.mean(axis=0, keepdims=True)).ravel()


def newton_cholesky(
    objective: Objective, coef: Any, *, max_iter: int, tol: float, callback: Callback | None = None,
) -> SolverResult:
    """Newton's method: solve H p = −g by Cholesky, then a backtracking line search.

    Each iteration costs one Hessian, (n_outputs · (n_features + 1))² entries,
    so it wins when features (times classes) are few and samples many.
    """
    with _quiet_second_blas():
        return _newton_cholesky(objective, coef, max_iter=max_iter, tol=tol, callback=callback)


def _newton_cholesky(
    objective: Objective, coef: Any, *, max_iter: int, tol: float, callback: Callback | None,
) -> SolverResult:
    xp = objective.xp
    result = SolverResult(coef=coef, n_iter=0)
    value, grad = objective.loss_gradient(coef)
    value = float(value)
    shape, dtype, device = tuple(coef.shape), coef.dtype, device_of(coef)
    while not _record_iterate(result, value, grad, xp, tol=tol, max_iter=max_iter,
                              callback=callback):
        g = to_numpy(grad).astype(np.float64).ravel()
        H = to_numpy(objective.hessian(coef)).astype(np.float64)
        if objective.layout.multinomial:
            H += _class_shift_projector(shape, scale=float(np.trace(H)) / H.shape[0])
        direction_np = -_solve_positive_definite(H, g)
        if objective.layout.multinomial:
            direction_np = _without_class_shift(direction_np, shape)
        slope = float(g @ direction_np)
        direction = xp.asarray(np.reshape(direction_np, shape), dtype=dtype, device=device)
        accepted = _backtrack(objective, coef, value, direction, slope=slope, step=1.0,
                              sufficient=1e-4, min_step=1e-10)
        if accepted is None:
            result.stop_reason = "step too small: the line search found no decrease"
            break
        _, coef, value, grad = accepted
        result.n_iter += 1
    result.coef = coef
    return result


def _newton_cd(objective: Objective, coef: Any, **options: Any) -> SolverResult:
    """Proximal Newton with coordinate descent: :func:`noloop.linear_model._proximal.newton_cd`."""
    from noloop.linear_model._proximal import newton_cd

    return newton_cd(objective, coef, **options)


def _dot(a: Any, b: Any, xp: Any) -> float:
    return float(xp.sum(a * b))


def _truncated_cg(product: Callable[[Any], Any], grad: Any, xp: Any, *, tolerance: float,
                  max_steps: int) -> Any:
    """An approximate solution p of H p = −grad by conjugate gradients, H given as v ↦ H v.

    Stops once ‖H p + grad‖ ≤ ``tolerance``, after ``max_steps`` products, or at
    a direction of non-positive curvature (then keeps the steps so far, or −grad
    when there are none): every returned p is a descent direction.
    """
    step = xp.zeros_like(grad)
    residual = -grad
    direction = residual
    rr = _dot(residual, residual, xp)
    for index in range(max_steps):
        if math.sqrt(rr) <= tolerance:
            break
        Hd = product(direction)
        curvature = _dot(direction, Hd, xp)
        if not curvature > 0:
            return -grad if index == 0 else step
        alpha = rr / curvature
        step = step + alpha * direction
        residual = residual - alpha * Hd
        rr_next = _dot(residual, residual, xp)
        direction = residual + (rr_next / rr) * direction
        rr = rr_next
    return step


def _hessian_product(objective: Objective, coef: Any) -> Callable[[Any], Any]:
    """v ↦ H v at ``coef``: the objective's own, or products with its formed Hessian.

    Data terms without Hessian-vector products (Dask) and objectives that
    offer only ``hessian`` get the second: H is formed once per Newton step.
    """
    data = getattr(objective, "data", None)
    if hasattr(objective, "hessian_product") and (data is None
                                                  or hasattr(data, "hessian_product")):
        return objective.hessian_product(coef)
    if not hasattr(objective, "hessian"):
        raise ValueError("solver 'newton-cg' needs Hessian-vector products or the Hessian, "
                         "which this objective does not offer; use 'lbfgs'")
    xp, shape, dtype, device = objective.xp, tuple(coef.shape), coef.dtype, device_of(coef)
    H = to_numpy(objective.hessian(coef)).astype(np.float64)

    def product(v: Any) -> Any:
        return xp.asarray(np.reshape(H @ to_numpy(v).astype(np.float64).ravel(), shape),
                          dtype=dtype, device=device)

    return product


def newton_cg(
    objective: Objective, coef: Any, *, max_iter: int, tol: float, callback: Callback | None = None,
    max_cg_steps: int = 200,
) -> SolverResult:
    """Truncated Newton: Newton steps H p = −g solved inexactly by conjugate gradients.

    H is not formed where the objective's ``hessian_product(coef)`` gives
    v ↦ H v (in-memory data: two passes over X per product); elsewhere (Dask)
    it is formed once per step from ``hessian``. The
    inner solve stops at a relative residual η = min(0.5, √‖g‖) (a forcing
    sequence: loose far from the optimum, tight near it, so convergence is
    superlinear), then a backtracking line search from the full step. Suits
    many features and ill-conditioned data, where L-BFGS needs many passes.
    """
    with _quiet_second_blas():
        xp = objective.xp
        result = SolverResult(coef=coef, n_iter=0)
        value, grad = objective.loss_gradient(coef)
        value = float(value)
        while not _record_iterate(result, value, grad, xp, tol=tol, max_iter=max_iter,
                                  callback=callback):
            norm = math.sqrt(_dot(grad, grad, xp))
            direction = _truncated_cg(_hessian_product(objective, coef), grad, xp,
                                      tolerance=min(0.5, math.sqrt(norm)) * norm,
                                      max_steps=max_cg_steps)
            if objective.layout.multinomial:  # keep Σₖ coefₖ = 0, as newton-cholesky does
                direction = direction - xp.mean(direction, axis=0, keepdims=True)
            accepted = _backtrack(objective, coef, value, direction,
                                  slope=_dot(grad, direction, xp), step=1.0, sufficient=1e-4,
                                  min_step=1e-10)
            if accepted is None:
                result.stop_reason = "step too small: the line search found no decrease"
                break
            _, coef, value, grad = accepted
            result.n_iter += 1
        result.coef = coef
        return result


SOLVERS: dict[str, Callable[..., SolverResult]] = {
    "lbfgs": lbfgs,
    "newton-cholesky": newton_cholesky,
    "newton-cd": _newton_cd,
    "newton-cg": newton_cg,
    "gd": gradient_descent,
}


def _has_l1(objective: Objective) -> bool:
    l1 = getattr(objective, "l1", None)
    return l1 is not None and l1.strength > 0


def solve(solver: str, objective: Objective, coef: Any, *, max_iter: int, tol: float,
          learning_rate: float | str = "auto", callback: Callback | None = None) -> SolverResult:
    """Run the solver named ``solver`` from ``coef``; ``learning_rate`` is used by ``"gd"`` only."""
    options: dict[str, Any] = {"learning_rate": learning_rate} if solver == "gd" else {}
    if solver == "gd" and _has_l1(objective):  # the seed's step plus a soft-threshold
        from noloop.linear_model._proximal import proximal_gradient

        return proximal_gradient(objective, coef, max_iter=max_iter, tol=tol, callback=callback,
                                 **options)
    if _has_l1(objective) and solver not in ("gd", "newton-cd"):
        raise ValueError(f"solver {solver!r} cannot minimize an L1 term; use 'newton-cd' or 'gd'")
    return SOLVERS[solver](objective, coef, max_iter=max_iter, tol=tol, callback=callback,
                           **options)
