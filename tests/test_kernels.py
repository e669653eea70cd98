"""The fused one-pass kernels: the same loss and gradient as the array path, on the data they take."""

import numpy as np
import pytest
import torch

from noloop.linear_model import _kernels
from noloop.linear_model._dense import DenseData
from noloop.linear_model._loss import encode_labels


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_outputs", [1, 4])
def test_fused_kernel_and_array_path_give_the_same_loss_and_gradient(n_outputs, dtype,
                                                                      fit_intercept):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 7)).astype(dtype)
    Y = encode_labels(rng.integers(0, max(2, n_outputs), 500), n_outputs, dtype, np)
    weight = rng.uniform(0.1, 1.0, 500).astype(dtype)
    coef = rng.standard_normal((n_outputs, 7 + fit_intercept))
    fused = DenseData(X, Y, weight / weight.sum(), fit_intercept=fit_intercept)
    plain = DenseData(X, Y, weight / weight.sum(), fit_intercept=fit_intercept, kernels=False)
    assert fused.uses_kernels and not plain.uses_kernels
    fused_value, fused_grad = fused.loss_gradient(coef)
    plain_value, plain_grad = plain.loss_gradient(coef.astype(dtype))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(fused_value, plain_value, rtol=rtol)
    np.testing.assert_allclose(fused_grad, plain_grad, rtol=rtol * 10, atol=rtol)
    assert fused_grad.shape == coef.shape and fused_grad.dtype == coef.dtype


def test_strided_and_foreign_arrays_take_the_array_path():
    X = np.ones((10, 4))
    assert _kernels.accepts(X)
    assert not _kernels.accepts(np.asfortranarray(X))
    assert not _kernels.accepts(X[:, ::2])
    assert not _kernels.accepts(torch.ones((10, 4)))
    assert not _kernels.accepts(X.astype(np.int64))
