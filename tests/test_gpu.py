"""The same code on GPUs: PyTorch CUDA tensors and CuPy arrays (skipped where there is no GPU)."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.preprocessing import StandardScaler

from noloop import LogisticRegression, loops, vectorized
from noloop._xp import to_numpy

from conftest import _cupy


def _devices():
    found = []
    if torch.cuda.is_available():
        found.append(pytest.param(lambda a: torch.as_tensor(a, device="cuda"), id="torch-cuda"))
    if _cupy() is not None:
        found.append(pytest.param(lambda a: _cupy().asarray(a), id="cupy"))
    return found or [pytest.param(None, id="no-gpu",
                                  marks=pytest.mark.skip(reason="no CUDA device here"))]


GPU = pytest.mark.parametrize("to_device", _devices())


@GPU
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "gd"])
@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine], ids=["binary", "softmax"])
def test_estimator_on_gpu_equals_numpy(to_device, solver, loader):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = dict(solver=solver, tol=1e-7, max_iter=50_000)
    reference = LogisticRegression(**settings).fit(X, y)
    # float32 resolves the gradient only to ~1e-6: a looser tol, and coefficients
    # within tol / (smallest curvature, 1 / (C n) here) of the float64 optimum
    for dtype, tol, atol in ((np.float64, 1e-7, 1e-7), (np.float32, 1e-5, 1e-2)):
        gX, gy = to_device(X.astype(dtype)), to_device(y)
        model = LogisticRegression(**dict(settings, tol=tol)).fit(gX, gy)
        assert type(model.coef_) is type(gX)
        assert str(model.coef_.dtype).endswith(np.dtype(dtype).name)
        proba = model.predict_proba(gX)
        assert type(proba) is type(gX) and proba.device == gX.device
        np.testing.assert_allclose(to_numpy(proba), reference.predict_proba(X), atol=atol)
        assert np.mean(to_numpy(model.predict(gX)) == reference.predict(X)) > 0.98


@GPU
def test_twins_agree_on_gpu(to_device):
    rng = np.random.default_rng(0)
    w, X = rng.standard_normal((5, 1)), rng.standard_normal((5, 40))
    Y = (rng.random((1, 40)) < 0.5).astype(np.float64)
    A = vectorized.forward(to_device(w), 0.3, to_device(X))
    assert A.device == to_device(X).device
    np.testing.assert_allclose(to_numpy(A), loops.forward(w, 0.3, X), rtol=1e-9)
    w_out, b_out, costs = vectorized.gradient_descent(to_device(w), 0.0, to_device(X),
                                                      to_device(Y), 0.1, 5)
    w_ref, b_ref, costs_ref = loops.gradient_descent(w, 0.0, X, Y, 0.1, 5)
    np.testing.assert_allclose(to_numpy(w_out), w_ref, rtol=1e-9)
    np.testing.assert_allclose(costs, costs_ref, rtol=1e-9)
