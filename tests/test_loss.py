"""loss, gradient and loss_gradient agree with each other, with finite differences, at any logit."""

import numpy as np
import pytest
import torch

from noloop._loss import LogisticLoss
from noloop._xp import namespace


def make_loss(n_outputs, fit_intercept=True, l2_reg=0.1, seed=0, n_samples=30, n_features=4,
              scale=1.0, library="numpy"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * scale
    labels = rng.integers(0, max(n_outputs, 2), n_samples)
    Y = (labels[:, None] == np.arange(n_outputs)).astype(float) if n_outputs > 1 \
        else labels[:, None].astype(float)
    weight = rng.uniform(0.5, 2.0, n_samples)
    arrays = [X, Y, weight / weight.sum()]
    if library == "torch":
        arrays = [torch.from_numpy(a) for a in arrays]
    return LogisticLoss(*arrays, l2_reg=l2_reg, fit_intercept=fit_intercept,
                        xp=namespace(arrays[0]))


CASES = pytest.mark.parametrize(
    "n_outputs, fit_intercept", [(1, True), (1, False), (3, True), (4, False)]
)


@CASES
def test_loss_gradient_agrees_with_separate_calls(n_outputs, fit_intercept):
    loss = make_loss(n_outputs, fit_intercept)
    coef = np.random.default_rng(1).standard_normal((n_outputs, 4 + fit_intercept))
    value, grad = loss.loss_gradient(coef)
    assert grad.shape == coef.shape
    np.testing.assert_allclose(value, loss.loss(coef), rtol=1e-14)
    np.testing.assert_allclose(grad, loss.gradient(coef), rtol=1e-14)


@CASES
def test_gradient_and_hessian_match_central_finite_differences(n_outputs, fit_intercept):
    loss = make_loss(n_outputs, fit_intercept)
    coef = np.random.default_rng(2).standard_normal((n_outputs, 4 + fit_intercept))
    _, grad = loss.loss_gradient(coef)
    H = loss.hessian(coef)
    h = 1e-6
    numeric_grad = np.zeros(coef.size)
    numeric_hessian = np.zeros((coef.size, coef.size))
    for index in range(coef.size):
        step = np.zeros(coef.size)
        step[index] = h
        step = step.reshape(coef.shape)
        numeric_grad[index] = (loss.loss(coef + step) - loss.loss(coef - step)) / (2 * h)
        numeric_hessian[:, index] = (
            (loss.gradient(coef + step) - loss.gradient(coef - step)) / (2 * h)
        ).ravel()
    np.testing.assert_allclose(grad.ravel(), numeric_grad, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, numeric_hessian, rtol=1e-5, atol=1e-7)


def test_intercept_is_not_penalized():
    loss = make_loss(1, True, l2_reg=10.0)
    coef = np.zeros((1, 5))
    coef[0, -1] = 3.0  # intercept only: the penalty must not see it
    unpenalized = LogisticLoss(loss.X, loss.Y, loss.normalized_weight, 0.0, True, loss.xp)
    assert loss.loss(coef) == pytest.approx(unpenalized.loss(coef), rel=1e-15)


def test_binary_and_two_class_softmax_with_equal_logits_agree():
    # softmax over [0, z] is the sigmoid of z: same loss
    binary = make_loss(1, False, l2_reg=0.0)
    y = binary.Y[:, 0]
    softmax = LogisticLoss(binary.X, np.stack([1 - y, y], axis=1), binary.normalized_weight,
                           0.0, False, binary.xp)
    w = np.random.default_rng(3).standard_normal((1, 4))
    assert binary.loss(w) == pytest.approx(softmax.loss(np.vstack([np.zeros((1, 4)), w])), rel=1e-13)


@pytest.mark.parametrize("z", [1e4, 1e6, 1e300])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_extreme_logits_give_exact_finite_losses_without_warnings(z, n_outputs):
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
    xp = namespace(X)
    right = LogisticLoss(X, Y_right, weight, 0.0, False, xp)
    wrong = LogisticLoss(X, Y_wrong, weight, 0.0, False, xp)
    value, grad = right.loss_gradient(coef)
    assert value == pytest.approx(0.0, abs=1e-300)
    assert np.all(np.isfinite(grad))
    value, grad = wrong.loss_gradient(coef)
    assert value == pytest.approx(wrong_loss, rel=1e-12)
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(wrong.hessian(coef)))


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_torch_loss_gradient_equals_numpy(n_outputs):
    numpy_loss = make_loss(n_outputs)
    torch_loss = make_loss(n_outputs, library="torch")
    coef = np.random.default_rng(4).standard_normal((n_outputs, 5))
    value, grad = torch_loss.loss_gradient(torch.from_numpy(coef))
    assert isinstance(grad, torch.Tensor)
    expected_value, expected_grad = numpy_loss.loss_gradient(coef)
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-13)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-12)
