"""The seed's twins: noloop.loops and noloop.vectorized give the same answers."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from noloop import loops, vectorized

TWINS = pytest.mark.parametrize("impl", [loops, vectorized], ids=["loops", "vectorized"])
RTOL = 1e-9

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
sizes = st.integers(min_value=1, max_value=7)


def test_twins_share_public_names():
    assert loops.__all__ == vectorized.__all__
    for name in loops.__all__:
        assert callable(getattr(loops, name)) and callable(getattr(vectorized, name))


@st.composite
def seed_problem(draw):
    """w (n_x, 1), b, X (n_x, m), Y (1, m), including n_x = 1 and m = 1."""
    n_x, m = draw(sizes), draw(sizes)
    w = draw(arrays(np.float64, (n_x, 1), elements=finite))
    X = draw(arrays(np.float64, (n_x, m), elements=finite))
    Y = draw(arrays(np.float64, (1, m), elements=st.sampled_from([0.0, 1.0])))
    b = draw(finite)
    return w, b, X, Y


@given(st.integers(1, 20).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite))))
def test_dot_twins_agree(pair):
    w, x = pair
    np.testing.assert_allclose(vectorized.dot(w, x), loops.dot(w, x), rtol=RTOL, atol=1e-9)


@given(st.tuples(sizes, sizes, st.booleans()).flatmap(lambda s: st.tuples(
    arrays(np.float64, (s[0], s[1]), elements=finite),
    arrays(np.float64, (s[1], 1) if s[2] else (s[1],), elements=finite))))
def test_matvec_twins_agree(pair):
    A, v = pair
    expected = loops.matvec(A, v)
    got = vectorized.matvec(A, v)
    assert got.shape == expected.shape == (A.shape[0],) + v.shape[1:]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("name", ["exp", "abs", "relu", "sigmoid"])
@given(v=arrays(np.float64, st.tuples(sizes, sizes), elements=finite))
def test_elementwise_twins_agree(name, v):
    expected = getattr(loops, name)(v)
    got = getattr(vectorized, name)(v)
    assert got.shape == expected.shape == v.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


@given(v=arrays(np.float64, st.tuples(sizes, sizes),
                elements=st.floats(min_value=1e-300, max_value=1e300)))
def test_log_twins_agree(v):
    np.testing.assert_allclose(vectorized.log(v), loops.log(v), rtol=RTOL, atol=1e-12)


@given(seed_problem())
def test_forward_cost_backward_twins_agree(problem):
    w, b, X, Y = problem
    A_loop, A_vec = loops.forward(w, b, X), vectorized.forward(w, b, X)
    assert A_loop.shape == A_vec.shape == (1, X.shape[1])
    np.testing.assert_allclose(A_vec, A_loop, rtol=RTOL, atol=1e-15)
    assert math.isclose(vectorized.cost(A_vec, Y), loops.cost(A_loop, Y), rel_tol=RTOL)
    dw_loop, db_loop = loops.backward(X, A_loop, Y)
    dw_vec, db_vec = vectorized.backward(X, A_vec, Y)
    assert dw_loop.shape == dw_vec.shape == w.shape
    assert isinstance(db_loop, float) and isinstance(db_vec, float)
    np.testing.assert_allclose(dw_vec, dw_loop, rtol=RTOL, atol=1e-12)
    assert math.isclose(db_vec, db_loop, rel_tol=RTOL, abs_tol=1e-12)


@given(seed_problem(), st.floats(0.001, 1.0), st.integers(0, 5))
def test_gradient_descent_twins_agree(problem, learning_rate, num_iterations):
    w, b, X, Y = problem
    w0 = w.copy()
    w_loop, b_loop, costs_loop = loops.gradient_descent(w, b, X, Y, learning_rate, num_iterations)
    w_vec, b_vec, costs_vec = vectorized.gradient_descent(w, b, X, Y, learning_rate, num_iterations)
    np.testing.assert_array_equal(w, w0)  # inputs are not modified
    assert len(costs_loop) == len(costs_vec) == num_iterations
    np.testing.assert_allclose(costs_vec, costs_loop, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(w_vec, w_loop, rtol=1e-7, atol=1e-9)
    assert math.isclose(b_vec, b_loop, rel_tol=1e-7, abs_tol=1e-9)


# Hand-checked small cases, computed from the seed's equations on paper.

SIGMOID_1 = 1 / (1 + math.exp(-1))  # 0.7310585786300049
SIGMOID_2 = 1 / (1 + math.exp(-2))  # 0.8807970779778823


@TWINS
def test_hand_checked_dot_and_matvec(impl):
    assert impl.dot(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])) == 32.0  # 4+10+18
    u = impl.matvec(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0], [1.0]]))
    np.testing.assert_array_equal(u, [[3.0], [7.0]])
    np.testing.assert_array_equal(impl.relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(impl.abs(np.array([-2.0, 3.0])), [2.0, 3.0])
    np.testing.assert_allclose(impl.exp(np.array([0.0, 1.0])), [1.0, math.e], rtol=1e-15)
    np.testing.assert_allclose(impl.log(np.array([1.0, math.e])), [0.0, 1.0], rtol=1e-15)


@TWINS
def test_hand_checked_forward(impl):
    # Z = wᵀX + b = [1·1 + 2·1 − 1, 1·0 + 2·1 − 1] = [2, 1]: b is broadcast over m = 2 columns
    A = impl.forward(np.array([[1.0], [2.0]]), -1.0, np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert A.shape == (1, 2)
    np.testing.assert_allclose(A, [[SIGMOID_2, SIGMOID_1]], rtol=1e-15)


@TWINS
def test_hand_checked_cost_and_backward(impl):
    assert math.isclose(impl.cost(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]])), math.log(2))
    # dZ = [0.5 − 1, 0.25 − 0] = [−0.5, 0.25]
    # dw = X dZᵀ / 2 = [1·(−0.5) + 2·0.25, 3·(−0.5) + 4·0.25] / 2 = [0, −0.25]; db = −0.25 / 2
    dw, db = impl.backward(
        np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 0.25]]), np.array([[1.0, 0.0]])
    )
    np.testing.assert_allclose(dw, [[0.0], [-0.25]], atol=1e-16)
    assert db == -0.125


@TWINS
def test_hand_checked_gradient_descent_updates_b_with_db(impl):
    # from w = 0, b = 0: A = [0.5, 0.5], J = ln 2, dZ = [−0.5, 0.5]
    # dw = (1·(−0.5) + 2·0.5) / 2 = 0.25, db = 0 -> w = −0.25 and b stays 0 with α = 1
    # (the seed's typo b := w − α dw would give b = −0.25)
    w, b, costs = impl.gradient_descent(
        np.zeros((1, 1)), 0.0, np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]]), 1.0, 1
    )
    np.testing.assert_allclose(w, [[-0.25]])
    assert b == 0.0
    assert costs == [pytest.approx(math.log(2))]
    # and a case where db is not 0: Y = [1, 1] gives dZ = [−0.5, −0.5], db = −0.5, b = 0.5
    _, b, _ = impl.gradient_descent(
        np.zeros((1, 1)), 0.0, np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]]), 1.0, 1
    )
    assert b == 0.5


@given(seed_problem())
def test_backward_matches_central_finite_differences_of_cost(problem):
    w, b, X, Y = problem
    # keep |Z| <= 4: near saturation 1 − A cancels and a cost computed from A loses the
    # digits that finite differences need
    w = 3 * w / (1 + np.abs(w).sum() * np.abs(X).max())
    b = b / 50
    dw, db = vectorized.backward(X, vectorized.forward(w, b, X), Y)

    def J(w_, b_):
        return vectorized.cost(vectorized.forward(w_, b_, X), Y)

    h = 1e-6
    numeric_dw = np.zeros_like(w)
    for i in range(w.shape[0]):
        step = np.zeros_like(w)
        step[i, 0] = h
        numeric_dw[i, 0] = (J(w + step, b) - J(w - step, b)) / (2 * h)
    numeric_db = (J(w, b + h) - J(w, b - h)) / (2 * h)
    np.testing.assert_allclose(dw, numeric_dw, rtol=1e-4, atol=1e-6)
    assert math.isclose(db, numeric_db, rel_tol=1e-4, abs_tol=1e-6)


@pytest.mark.parametrize("z", [1e4, 1e5, 1e300])
@TWINS
def test_cost_is_finite_without_warnings_when_sigmoid_saturates(impl, z):
    X = np.array([[z, -z]])
    A = impl.forward(np.ones((1, 1)), 0.0, X)
    np.testing.assert_array_equal(A, [[1.0, 0.0]])
    # right answers cost almost nothing, wrong answers cost a lot but not infinity
    assert impl.cost(A, np.array([[1.0, 0.0]])) == pytest.approx(0.0, abs=1e-15)
    wrong = impl.cost(A, np.array([[0.0, 1.0]]))
    assert math.isfinite(wrong) and wrong > 30
    dw, db = impl.backward(X, A, np.array([[0.0, 1.0]]))
    assert np.all(np.isfinite(dw)) and math.isfinite(db)


def test_float32_stays_float32_and_cost_is_finite():
    w = np.ones((2, 1), dtype=np.float32)
    X = np.array([[1e4, -1e4], [0.0, 0.0]], dtype=np.float32)
    A = vectorized.forward(w, 0.0, X)
    assert A.dtype == np.float32
    assert math.isfinite(vectorized.cost(A, np.array([[0.0, 1.0]], dtype=np.float32)))


def test_torch_tensors_in_give_tensors_out_with_equal_values():
    rng = np.random.default_rng(1)
    w, X = rng.standard_normal((4, 1)), rng.standard_normal((4, 9))
    Y = (rng.random((1, 9)) < 0.5).astype(np.float64)
    tw, tX, tY = (torch.from_numpy(a) for a in (w, X, Y))
    A = vectorized.forward(tw, 0.5, tX)
    assert isinstance(A, torch.Tensor) and A.dtype == torch.float64
    np.testing.assert_allclose(A.numpy(), loops.forward(w, 0.5, X), rtol=RTOL)
    dw, db = vectorized.backward(tX, A, tY)
    assert isinstance(dw, torch.Tensor)
    np.testing.assert_allclose(dw.numpy(), loops.backward(X, A.numpy(), Y)[0], rtol=RTOL)
    w_out, b_out, costs = vectorized.gradient_descent(tw, 0.0, tX, tY, 0.1, 3)
    w_ref, b_ref, costs_ref = loops.gradient_descent(w, 0.0, X, Y, 0.1, 3)
    assert isinstance(w_out, torch.Tensor)
    np.testing.assert_allclose(w_out.numpy(), w_ref, rtol=RTOL)
    np.testing.assert_allclose(costs, costs_ref, rtol=RTOL)
    for name in ["exp", "abs", "relu", "sigmoid"]:
        out = getattr(vectorized, name)(tX)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(out.numpy(), getattr(loops, name)(X), rtol=RTOL)
    assert isinstance(vectorized.matvec(tX.T, tw), torch.Tensor)
    assert float(vectorized.dot(tX[0], tX[1])) == pytest.approx(float(loops.dot(X[0], X[1])))
    t32 = torch.ones((2, 3), dtype=torch.float32)
    assert vectorized.forward(torch.ones((2, 1), dtype=torch.float32), 0.0, t32).dtype == torch.float32


# Bad input: a ValueError naming the argument, what was expected and what came.

@TWINS
def test_mismatched_shapes_name_the_argument(impl):
    with pytest.raises(ValueError, match=r"`w` must have shape \(n_x, 1\) = \(3, 1\).*got shape \(2, 1\)"):
        impl.forward(np.ones((2, 1)), 0.0, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"`X` must be a 2-D array of shape \(n_x, m\); got 1-D"):
        impl.forward(np.ones((3, 1)), 0.0, np.ones(3))
    with pytest.raises(ValueError, match=r"`w` and `x` must have the same shape; got \(3,\) and \(4,\)"):
        impl.dot(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"`v` must have shape \(3,\) or \(3, 1\).*got shape \(2, 1\)"):
        impl.matvec(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"`Y` must have shape \(1, m\) = \(1, 5\); got shape \(1, 4\)"):
        impl.cost(np.full((1, 5), 0.5), np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"`A` must have shape \(1, m\) = \(1, 5\) to match `X`"):
        impl.backward(np.ones((3, 5)), np.full((1, 4), 0.5), np.ones((1, 5)))


@TWINS
def test_labels_outside_zero_one_are_refused(impl):
    with pytest.raises(ValueError, match=r"`Y` must contain only 0 and 1; got 1 other value"):
        impl.cost(np.full((1, 3), 0.5), np.array([[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"`Y` must contain only 0 and 1"):
        impl.gradient_descent(np.zeros((1, 1)), 0.0, np.ones((1, 2)), np.array([[0.0, -1.0]]), 0.1, 1)
    with pytest.raises(ValueError, match=r"`A` must hold probabilities in \[0, 1\]; got 1 value"):
        impl.cost(np.array([[0.5, 1.5]]), np.array([[0.0, 1.0]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@TWINS
def test_nan_and_inf_are_refused(impl, bad):
    X = np.ones((3, 4))
    X[1, 2] = bad
    with pytest.raises(ValueError, match=r"`X` must contain only finite numbers; got NaN or infinity in 1 of 12"):
        impl.forward(np.ones((3, 1)), 0.0, X)
    with pytest.raises(ValueError, match=r"`X` must contain only finite numbers"):
        impl.backward(X, np.full((1, 4), 0.5), np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"`x` must contain only finite numbers"):
        impl.dot(np.ones(12), X.ravel())
    with pytest.raises(ValueError, match=r"`A` must contain only finite numbers"):
        impl.matvec(X, np.ones(4))
    with pytest.raises(ValueError, match=r"`v` must contain only finite numbers"):
        impl.exp(X)
    with pytest.raises(ValueError, match=r"`b` must be finite"):
        impl.forward(np.ones((3, 1)), bad, np.ones((3, 4)))


@TWINS
def test_log_of_non_positive_and_bad_steps_are_refused(impl):
    with pytest.raises(ValueError, match=r"`v` must be positive for log; got 2 value"):
        impl.log(np.array([1.0, 0.0, -1.0]))
    args = (np.zeros((1, 1)), 0.0, np.ones((1, 2)), np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"`learning_rate` must be a positive finite number; got -0.1"):
        impl.gradient_descent(*args, -0.1, 1)
    with pytest.raises(ValueError, match=r"`num_iterations` must be an integer >= 0; got 2.5"):
        impl.gradient_descent(*args, 0.1, 2.5)


def test_the_lesson_and_the_package_import_no_heavy_library():
    from conftest import heavy_imports

    assert heavy_imports("import noloop, noloop.loops, noloop.vectorized, noloop.explain") == []
