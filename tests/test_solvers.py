"""Solvers depend on the objective contract only: they reach the minimum of any objective that
meets it, and the line search they share does what it says."""

import numpy as np
import pytest

from noloop.linear_model._objective import Layout, Objective
from noloop.linear_model._solvers import SOLVERS, _backtrack, solve


class Quadratic:
    """f(c) = ½ (c − c*)ᵀ A (c − c*): no data, only the contract a solver sees."""

    xp = np
    device = "cpu"
    parameter_dtype = np.float64

    def __init__(self, scales=(1.0, 4.0), center=(2.0, -1.0)):
        self.A = np.diag(scales)
        self.center = np.array([center])
        self.layout = Layout(n_features=len(scales), n_outputs=1, fit_intercept=False)

    def loss_gradient(self, coef):
        delta = (coef - self.center)[0]
        return 0.5 * float(delta @ self.A @ delta), (self.A @ delta)[None, :]

    def hessian(self, coef):
        return self.A.copy()

    def curvature_bound(self):
        return float(np.max(np.diag(self.A)))


def test_the_quadratic_meets_the_contract():
    assert isinstance(Quadratic(), Objective)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_reaches_the_minimum_of_any_objective_meeting_the_contract(solver):
    objective = Quadratic()
    result = solve(solver, objective, np.zeros((1, 2)), max_iter=500, tol=1e-10)
    assert result.converged, result.stop_reason
    np.testing.assert_allclose(result.coef, objective.center, atol=1e-9)
    assert result.loss_history[0] == pytest.approx(0.5 * (4 + 4))
    assert all(b <= a + 1e-12 for a, b in zip(result.loss_history, result.loss_history[1:]))


def test_gd_with_a_fixed_step_that_diverges_says_so():
    # a step above 2 / L makes every iterate grow; the solver must stop and say why
    result = solve("gd", Quadratic(), np.zeros((1, 2)), max_iter=5000, tol=1e-10,
                   learning_rate=1.0)
    assert result.diverged and not result.converged
    assert "diverged: the objective rose" in result.stop_reason and "learning_rate = 1 " in result.stop_reason


def test_backtracking_halves_to_sufficient_decrease_and_gives_up_uphill():
    objective, coef = Quadratic(scales=(1.0, 1.0), center=(0.0, 0.0)), np.array([[2.0, -1.0]])
    value, grad = objective.loss_gradient(coef)
    slope = -float(np.sum(grad * grad))
    # a step of 4 along −g overshoots (f grows); 2 returns to f; 1 lands on the minimum
    step, new_coef, new_value, _ = _backtrack(objective, coef, value, -grad, slope=slope,
                                              step=4.0, sufficient=0.5, min_step=1e-20)
    assert step == 1.0 and new_value == 0.0
    np.testing.assert_array_equal(new_coef, 0.0)
    # uphill: no step decreases f, so the search stops below min_step
    assert _backtrack(objective, coef, value, grad, slope=-slope, step=1.0, sufficient=1e-4,
                      min_step=1e-10) is None
