"""The objective contract: value, gradient and Hessian agree with each other, with finite
differences, across array libraries and evaluation paths, at any logit."""

import numpy as np
import pytest

from noloop._xp import to_numpy
from noloop.linear_model._dense import DenseData
from noloop.linear_model._loss import encode_labels
from noloop.linear_model._objective import (DataTerm, L2Penalty, Layout, LogisticObjective,
                                            Objective, class_weight_vector)


def make_objective(n_outputs, fit_intercept=True, l2_reg=0.1, seed=0, n_samples=30,
                   n_features=4, to_xp=np.asarray, kernels=None, negative_weights=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    indices = rng.integers(0, max(n_outputs, 2), n_samples)
    Y = encode_labels(indices, n_outputs, np.float64, np)
    weight = rng.uniform(0.5, 2.0, n_samples)
    if negative_weights:  # allowed, as in scikit-learn, while the sum stays positive
        weight[::4] = -0.3
    data = DenseData(to_xp(X), to_xp(Y), to_xp(weight / weight.sum()),
                     fit_intercept=fit_intercept, kernels=kernels)
    return LogisticObjective(data, L2Penalty(l2_reg))


CASES = pytest.mark.parametrize(
    "n_outputs, fit_intercept", [(1, True), (1, False), (3, True), (4, False)]
)


def test_the_objective_and_its_data_terms_meet_the_contract():
    objective = make_objective(3)
    assert isinstance(objective, Objective)
    assert isinstance(objective.data, DataTerm)
    assert objective.layout == Layout(n_features=4, n_outputs=3, fit_intercept=True)
    assert objective.layout.shape == (3, 5)


@CASES
def test_loss_gradient_agrees_with_separate_calls(n_outputs, fit_intercept):
    objective = make_objective(n_outputs, fit_intercept)
    coef = np.random.default_rng(1).standard_normal((n_outputs, 4 + fit_intercept))
    value, grad = objective.loss_gradient(coef)
    assert grad.shape == coef.shape
    np.testing.assert_allclose(value, objective.loss(coef), rtol=1e-14)
    np.testing.assert_allclose(grad, objective.gradient(coef), rtol=1e-14)


@CASES
@pytest.mark.parametrize("negative_weights", [False, True])
def test_gradient_and_hessian_match_central_finite_differences(n_outputs, fit_intercept,
                                                               negative_weights):
    objective = make_objective(n_outputs, fit_intercept, negative_weights=negative_weights)
    coef = np.random.default_rng(2).standard_normal((n_outputs, 4 + fit_intercept))
    _, grad = objective.loss_gradient(coef)
    H = objective.hessian(coef)
    h = 1e-6
    numeric_grad = np.zeros(coef.size)
    numeric_hessian = np.zeros((coef.size, coef.size))
    for index in range(coef.size):
        step = np.zeros(coef.size)
        step[index] = h
        step = step.reshape(coef.shape)
        numeric_grad[index] = (objective.loss(coef + step) - objective.loss(coef - step)) / (2 * h)
        numeric_hessian[:, index] = (
            (objective.gradient(coef + step) - objective.gradient(coef - step)) / (2 * h)
        ).ravel()
    np.testing.assert_allclose(grad.ravel(), numeric_grad, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, numeric_hessian, rtol=1e-5, atol=1e-7)


@CASES
def test_every_array_library_and_path_gives_the_same_value_and_gradient(
        n_outputs, fit_intercept, to_xp):
    reference = make_objective(n_outputs, fit_intercept, kernels=False)
    other = make_objective(n_outputs, fit_intercept, to_xp=to_xp)
    coef = np.random.default_rng(4).standard_normal((n_outputs, 4 + fit_intercept))
    expected_value, expected_grad = reference.loss_gradient(coef)
    value, grad = other.loss_gradient(to_xp(coef))
    assert type(grad) is type(to_xp(coef))  # results stay in the caller's library
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-13)
    np.testing.assert_allclose(to_numpy(grad), expected_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(to_numpy(other.hessian(to_xp(coef))), reference.hessian(coef),
                               rtol=1e-12, atol=1e-15)


def test_kernels_are_an_explicit_option():
    assert make_objective(1).data.uses_kernels  # C-contiguous NumPy: used by default
    assert not make_objective(1, kernels=False).data.uses_kernels
    strided = DenseData(np.ones((6, 4))[:, ::2], np.ones((6, 1)), np.full(6, 1 / 6),
                        fit_intercept=True, kernels=True)
    with pytest.raises(ValueError, match="`kernels=True` needs C-contiguous"):
        strided.uses_kernels


def test_intercept_is_not_penalized():
    objective = make_objective(1, True, l2_reg=10.0)
    coef = np.zeros((1, 5))
    coef[0, -1] = 3.0  # intercept only: the penalty must not see it
    unpenalized = LogisticObjective(objective.data, L2Penalty(0.0))
    assert objective.loss(coef) == pytest.approx(unpenalized.loss(coef), rel=1e-15)
    np.testing.assert_array_equal(objective.gradient(coef), unpenalized.gradient(coef))


def test_binary_and_two_class_softmax_with_equal_logits_agree():
    # softmax over [0, z] is the sigmoid of z: same loss
    binary = make_objective(1, False, l2_reg=0.0)
    y = binary.data.Y[:, 0]
    softmax = LogisticObjective(
        DenseData(binary.data.X, np.stack([1 - y, y], axis=1), binary.data.normalized_weight,
                  fit_intercept=False), L2Penalty(0.0))
    w = np.random.default_rng(3).standard_normal((1, 4))
    assert binary.loss(w) == pytest.approx(softmax.loss(np.vstack([np.zeros((1, 4)), w])),
                                           rel=1e-13)


@pytest.mark.parametrize("kernels", [None, False])
@pytest.mark.parametrize("z", [1e4, 1e6, 1e300])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_extreme_logits_give_exact_finite_losses_without_warnings(z, n_outputs, kernels):
    # one feature, logits ±z: right answers cost ~0, wrong ones exactly a multiple of z
    X = np.array([[1.0], [-1.0]])
    if n_outputs == 1:
        coef = np.array([[z]])
        Y_right, Y_wrong = np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])
        wrong_loss = z  # each row: log(1 + e^z) − 0 = z
    else:
        coef = np.array([[-z], [z], [-2 * z]])  # logits [−z, z, −2z] and [z, −z, 2z]
        Y_right = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        Y_wrong = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        wrong_loss = (2 * z + 3 * z) / 2  # logsumexp − z_y = z + z and 2z + z
    weight = np.full(2, 0.5)
    right = DenseData(X, Y_right, weight, fit_intercept=False, kernels=kernels)
    wrong = DenseData(X, Y_wrong, weight, fit_intercept=False, kernels=kernels)
    value, grad = right.loss_gradient(coef)
    assert value == pytest.approx(0.0, abs=1e-300)
    assert np.all(np.isfinite(grad))
    value, grad = wrong.loss_gradient(coef)
    assert value == pytest.approx(wrong_loss, rel=1e-12)
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(wrong.hessian(coef)))


def test_class_weights_balanced_and_by_label():
    classes = np.array([0, 1, 2])
    counts = np.array([6.0, 3.0, 1.0])
    np.testing.assert_allclose(class_weight_vector("balanced", classes, counts),
                               10 / (3 * counts))
    np.testing.assert_array_equal(class_weight_vector({1: 2.0}, classes, counts), [1, 2, 1])
    assert class_weight_vector(None, classes, counts) is None
    with pytest.raises(ValueError, match=r"`class_weight` has label\(s\) \[5\]"):
        class_weight_vector({5: 2.0}, classes, counts)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_the_curvature_bound_from_a_row_sample_estimates_the_top_curvature(n_outputs):
    # 30,000 rows: the bound reads a strided sample of at most 8192 of them
    objective = make_objective(n_outputs, n_samples=30_000, n_features=6, seed=1)
    data = objective.data
    X1 = np.hstack([data.X, np.ones((data.X.shape[0], 1))])
    gram = (X1.T * data.normalized_weight) @ X1
    exact = (0.5 if n_outputs > 1 else 0.25) * np.linalg.eigvalsh(gram)[-1] + 0.1
    sampled = objective.curvature_bound()
    assert data.curvature_sample(8192).X.shape[0] <= 8192
    assert sampled == pytest.approx(exact, rel=0.05)
    # on every row, power iteration approaches the same top eigenvalue from below
    every_row = objective.curvature_bound(n_power_iterations=30, sample=False)
    assert every_row <= exact * (1 + 1e-12) and every_row == pytest.approx(exact, rel=0.05)


def test_a_sample_whose_weights_cancel_falls_back_to_every_row():
    objective = make_objective(1, n_samples=20_000, n_features=3)
    weight = np.ones(20_000)
    weight[::3] = -0.1  # the stride-3 sample holds only negative weights
    data = DenseData(objective.data.X, objective.data.Y, weight / weight.sum(),
                     fit_intercept=True)
    assert data.curvature_sample(8192) is None
    bound = LogisticObjective(data, L2Penalty(0.1)).curvature_bound()
    assert bound == LogisticObjective(data, L2Penalty(0.1)).curvature_bound(sample=False)
