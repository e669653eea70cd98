"""noloop.LogisticRegression against scikit-learn, the seed, PyTorch, and bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler

from noloop import LogisticRegression, vectorized

SOLVERS = ["lbfgs", "newton-cholesky", "gd"]
# (loader, C): digits is ill-conditioned for plain gradient descent at C = 1 (~10⁵
# iterations); C = 0.01 keeps the same comparison to seconds.
DATASETS = {
    "breast_cancer": (load_breast_cancer, 1.0),
    "iris": (load_iris, 1.0),
    "wine": (load_wine, 1.0),
    "digits": (load_digits, 0.01),
}


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def sklearn_fits():
    fits = {}
    for name, (loader, C) in DATASETS.items():
        X, y = standardized(loader)
        fits[name] = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y)
    return fits


# Text labels are encoded to class indices before any solver runs (``_encoded_targets``):
# the solver never sees them, so they are checked with lbfgs and newton-cholesky only and
# gd's cases (its slowest, up to 3 s each) keep integer labels.
BUNDLED_CASES = [(dataset, solver, labels) for dataset in DATASETS for solver in SOLVERS
                 for labels in ("int", "str") if (solver, labels) != ("gd", "str")]


@pytest.mark.parametrize("dataset, solver, labels", BUNDLED_CASES)
def test_fit_equals_sklearn_on_bundled_data(dataset, solver, labels, sklearn_fits):
    """Each solver reaches scikit-learn's optimum on each bundled data set (binary and
    softmax), and text labels come back as the same classes and predictions."""
    loader, C = DATASETS[dataset]
    X, y = standardized(loader)
    if labels == "str":
        y = np.array([f"class-{label}" for label in y])
    # coefficients are within ~ tol / (smallest curvature): tight enough for 1e-4 everywhere
    tol = 1e-6 if (solver, dataset) == ("gd", "digits") else 1e-8
    model = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=100_000).fit(X, y)
    reference = sklearn_fits[dataset]
    assert model.converged_, model.stop_reason_
    assert model.coef_.shape == reference.coef_.shape
    np.testing.assert_array_equal(model.classes_.astype(str),
                                  np.unique(y).astype(str))
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-4)
    predicted = model.predict(X)
    expected = reference.predict(X)
    if labels == "str":
        expected = np.array([f"class-{label}" for label in expected])
    assert np.mean(predicted == expected) > 0.99
    np.testing.assert_allclose(
        model.predict_log_proba(X), np.log(model.predict_proba(X)), rtol=1e-8, atol=1e-10
    )


def test_gd_with_fixed_step_reproduces_the_seed_iteration_by_iteration():
    X, y = standardized(load_breast_cancer)
    model = LogisticRegression(C=np.inf, solver="gd", learning_rate=0.5, max_iter=60, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="max_iter = 60 reached"):
        model.fit(X, y)
    n_x = X.shape[1]
    # the seed's layout: X is (n_x, m), Y is (1, m)
    w, b, costs = vectorized.gradient_descent(
        np.zeros((n_x, 1)), 0.0, X.T, y[None, :].astype(float), 0.5, 60
    )
    np.testing.assert_allclose(model.loss_history_[:60], costs, rtol=1e-12)
    np.testing.assert_allclose(model.coef_, w.T, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.intercept_, [b], rtol=1e-10)


def test_auto_learning_rate_never_increases_the_objective_where_a_fixed_step_diverges():
    X, y = load_breast_cancer(return_X_y=True)  # unscaled: features up to ~4000
    with pytest.warns(ConvergenceWarning):
        seed_step = LogisticRegression(solver="gd", learning_rate=1.0, max_iter=50).fit(X, y)
    history = np.array(seed_step.loss_history_)
    assert history.max() > 10 * history[0]  # the seed's α = 1 blows up on this data
    with pytest.warns(ConvergenceWarning):
        auto = LogisticRegression(solver="gd", max_iter=300).fit(X, y)
    history = np.array(auto.loss_history_)
    assert np.all(np.diff(history) <= 1e-12 * history[0])
    assert history[-1] < 0.7 * history[0]


def test_class_weight_and_sample_weight_equal_sklearn():
    X, y = standardized(load_wine)
    sample_weight = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    for class_weight in ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}]:
        reference = SklearnLogisticRegression(class_weight=class_weight, tol=1e-12,
                                              max_iter=10_000).fit(X, y, sample_weight)
        model = LogisticRegression(class_weight=class_weight, tol=1e-9, max_iter=10_000)
        model.fit(X, y, sample_weight)
        np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)


def test_penalty_none_equals_sklearn_unpenalized():
    X, y = standardized(load_iris)
    X, y = X[y < 2][:, :1], y[y < 2]  # a 1-feature, not separable problem
    reference = SklearnLogisticRegression(C=np.inf, tol=1e-12).fit(X, y)
    model = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6)


def test_dataframe_input_records_feature_names_and_checks_them():
    X, y = standardized(load_iris)
    frame = pd.DataFrame(X, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    model = LogisticRegression().fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[frame.columns[::-1]])


def test_warm_start_continues_from_the_previous_fit():
    X, y = standardized(load_breast_cancer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(solver="gd", warm_start=True, max_iter=20).fit(X, y)
        first_end = model.loss_history_[-1]
        model.fit(X, y)
    assert model.loss_history_[0] == pytest.approx(first_end, rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_torch_tensors_in_tensors_out_equal_to_numpy(solver, dataset):
    X, y = standardized(DATASETS[dataset][0])
    # gd: the same 300 steps in both libraries (to convergence it takes ~10⁴, for no more proof)
    settings = dict(solver=solver, tol=0.0, max_iter=300) if solver == "gd" else \
        dict(solver=solver, tol=1e-7, max_iter=50_000)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_model = LogisticRegression(**settings).fit(X, y)
        torch_model = LogisticRegression(**settings).fit(tX, ty)
    assert isinstance(torch_model.coef_, torch.Tensor)
    np.testing.assert_allclose(torch_model.coef_.numpy(), numpy_model.coef_, rtol=1e-6, atol=1e-8)
    proba = torch_model.predict_proba(tX)
    assert isinstance(proba, torch.Tensor) and proba.dtype == torch.float64
    np.testing.assert_allclose(proba.numpy(), numpy_model.predict_proba(X), atol=1e-8)
    predicted = torch_model.predict(tX)
    assert isinstance(predicted, torch.Tensor)
    np.testing.assert_array_equal(predicted.numpy(), numpy_model.predict(X))
    assert torch_model.score(tX, ty) == pytest.approx(numpy_model.score(X, y))
    # a model fitted on tensors predicts NumPy data as NumPy
    np.testing.assert_allclose(torch_model.predict_proba(X), numpy_model.predict_proba(X), atol=1e-8)


def test_float32_trains_in_float32():
    X, y = standardized(load_breast_cancer)
    for data in (X.astype(np.float32), torch.from_numpy(X.astype(np.float32))):
        model = LogisticRegression(tol=1e-3).fit(data, y if isinstance(data, np.ndarray)
                                                 else torch.from_numpy(y))
        assert str(model.coef_.dtype).endswith("float32")
        assert str(model.predict_proba(data).dtype).endswith("float32")
    reference = LogisticRegression(tol=1e-3).fit(X, y)
    np.testing.assert_allclose(
        LogisticRegression(tol=1e-3).fit(X.astype(np.float32), y).predict_proba(X), 
        reference.predict_proba(X), atol=1e-3)


def test_not_converged_warns_with_the_reason():
    X, y = standardized(load_digits)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs did not converge: max_iter = 3 reached"):
        LogisticRegression(max_iter=3).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "sgd"}, r"`solver` must be one of \['gd', 'lbfgs', 'newton-cd', 'newton-cg', 'newton-cholesky'\]; got 'sgd'"),
        ({"learning_rate": "fast"}, r"`learning_rate` must be 'auto' or a positive finite number; got 'fast'"),
        ({"learning_rate": -1.0}, r"`learning_rate` .* got -1.0"),
        ({"C": 0.0}, r"`C` must be a positive number or np.inf; got 0.0"),
        ({"penalty": "l3"}, r"`penalty` must be 'l1', 'l2', 'elasticnet' or None .*; got 'l3'"),
        ({"l1_ratio": 1.5}, r"`l1_ratio` must be a number in \[0, 1\]; got 1.5"),
        ({"l1_ratio": 1}, r"Solver lbfgs supports only 'l2' or None penalties, got l1 penalty"),
        ({"max_iter": -1}, r"`max_iter` must be an integer >= 0; got -1"),
    ],
)
def test_bad_parameters_name_what_was_expected(params, message):
    X, y = standardized(load_iris)
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_bad_data_is_refused_with_a_clear_message(library):
    X, y = standardized(load_iris)
    wrap = (lambda a: torch.from_numpy(np.asarray(a))) if library == "torch" else np.asarray
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(wrap(X_nan), wrap(y))
    with pytest.raises(ValueError, match=r"only one class"):
        LogisticRegression().fit(wrap(X), wrap(np.zeros_like(y)))
    with pytest.raises(ValueError, match=r"150.*149|inconsistent numbers of samples"):
        LogisticRegression().fit(wrap(X), wrap(y[:-1]))
    model = LogisticRegression().fit(wrap(X), wrap(y))
    with pytest.raises(ValueError, match=r"X has 3 features, but LogisticRegression is expecting 4"):
        model.predict(wrap(X[:, :3]))


def test_a_diverged_fixed_step_fit_is_an_error_not_a_model():
    X, y = load_breast_cancer(return_X_y=True)  # unscaled: a step of 1e8 overshoots wildly
    model = LogisticRegression(solver="gd", learning_rate=1e8, max_iter=1000)
    with pytest.raises(ValueError, match=r"gd diverged: .* learning_rate = 1e\+08 is too large"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


def test_negative_sample_weights_fit_as_in_sklearn():
    X, y = standardized(load_breast_cancer)
    weight = np.ones(len(y))
    weight[:5] = -0.5  # allowed by scikit-learn as long as the objective stays bounded
    ours = LogisticRegression(tol=1e-10, max_iter=10_000).fit(X, y, sample_weight=weight)
    theirs = SklearnLogisticRegression(tol=1e-12, max_iter=100_000).fit(X, y,
                                                                        sample_weight=weight)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-6)


def test_warm_start_with_other_classes_or_features_is_an_error():
    X, y = standardized(load_iris)
    model = LogisticRegression(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=r"`warm_start=True` .* shape \(3, 4\), but this data "
                                         r"needs \(3, 3\)"):
        model.fit(X[:, :3], y)
    with pytest.raises(ValueError, match=r"needs \(1, 4\) \(2 classes"):
        model.fit(X[y < 2], y[y < 2])


def test_labels_counting_cannot_help_are_left_to_the_sort():
    from noloop.linear_model._in_memory import _small_integer_classes

    assert _small_integer_classes(np.array([0.0, 1.0])) is None      # floats: the sort checks them
    assert _small_integer_classes(np.array([0, 10**9])) is None      # a range far wider than n
