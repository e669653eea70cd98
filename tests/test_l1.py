"""L1 and elastic-net fits, scikit-learn ≥ 1.8's parameters (l1_ratio, C=np.inf, penalty deprecated)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from noloop import LogisticRegression, load_model, save_model
from noloop.linear_model._objective import L1Penalty, Layout
from noloop.linear_model._proximal import quadratic_cd


def standardized(load, rows=None):
    X, y = load(return_X_y=True)
    if rows is not None:
        X, y = X[:rows], y[:rows]
    return StandardScaler().fit_transform(X), y


# (data, l1_ratio, C): C values where saga reaches tol=1e-10 in about a second
PARITY_CASES = [
    (load_breast_cancer, 1.0, 0.02), (load_breast_cancer, 1.0, 0.05),
    (load_breast_cancer, 1.0, 0.1), (load_breast_cancer, 0.5, 0.05),
    (load_breast_cancer, 0.5, 0.1), (load_breast_cancer, 0.5, 0.2),
    (load_wine, 1.0, 0.05), (load_wine, 1.0, 0.5), (load_wine, 1.0, 1.0),
    (load_wine, 0.5, 0.05), (load_wine, 0.5, 0.5), (load_wine, 0.5, 2.0),
]


@pytest.mark.parametrize("load, l1_ratio, C", PARITY_CASES,
                         ids=[f"{load.__name__[5:]}-r{r}-C{C}" for load, r, C in PARITY_CASES])
def test_newton_cd_equals_sklearn_saga_with_the_same_zeros(load, l1_ratio, C):
    X, y = standardized(load)
    reference = SklearnLogisticRegression(C=C, l1_ratio=l1_ratio, solver="saga", tol=1e-10,
                                          max_iter=100_000).fit(X, y)
    model = LogisticRegression(C=C, l1_ratio=l1_ratio, solver="newton-cd", tol=1e-10).fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
    assert np.any(model.coef_ == 0)  # the L1 term did select: the zero sets are not trivial


def test_multinomial_digits_subset_equals_saga():
    X, y = standardized(load_digits, rows=300)
    reference = SklearnLogisticRegression(C=0.02, l1_ratio=1.0, solver="saga", tol=1e-10,
                                          max_iter=100_000).fit(X, y)
    model = LogisticRegression(C=0.02, l1_ratio=1.0, solver="newton-cd", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)


@pytest.mark.parametrize("load", [load_breast_cancer, load_wine])
def test_gd_with_l1_is_fista_and_reaches_the_same_optimum(load):
    X, y = standardized(load)
    exact = LogisticRegression(C=0.1, l1_ratio=0.5, solver="newton-cd", tol=1e-10).fit(X, y)
    model = LogisticRegression(C=0.1, l1_ratio=0.5, solver="gd", tol=1e-8,
                               max_iter=20_000).fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(model.coef_, exact.coef_, atol=1e-5)
    np.testing.assert_array_equal(model.coef_ == 0, exact.coef_ == 0)
    history = np.array(model.loss_history_)
    assert np.all(np.diff(history) <= 1e-12 * np.abs(history[:-1]))  # restarts: never rises


def test_c_inf_equals_the_unpenalized_fit_and_sklearn():
    X, y = standardized(load_breast_cancer)
    X = X[:, :5]
    model = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(X, y)
    reference = SklearnLogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated in version 1.8"):
        old = LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(old.coef_, model.coef_)
    lasso_off = LogisticRegression(C=np.inf, l1_ratio=1, solver="newton-cd",
                                   tol=1e-10).fit(X, y)  # C=inf switches the L1 term off too
    np.testing.assert_allclose(lasso_off.coef_, model.coef_, atol=1e-6)


def test_penalty_warnings_and_errors_are_scikit_learns():
    X, y = standardized(load_wine)
    for ours, theirs in [(LogisticRegression, SklearnLogisticRegression)]:
        for params in ({"penalty": "l1", "solver": "lbfgs"},
                       {"l1_ratio": 0.5, "solver": "newton-cholesky"},
                       {"penalty": "elasticnet", "l1_ratio": None, "solver": "gd"}):
            sk_params = {**params, "solver": "saga"} if params["solver"] == "gd" else params
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                with pytest.raises(ValueError) as sklearn_error:
                    theirs(**sk_params).fit(X, y)
                with pytest.raises(ValueError) as our_error:
                    ours(**params).fit(X, y)
            assert str(our_error.value).startswith(str(sklearn_error.value))
    with pytest.warns(FutureWarning) as caught:
        LogisticRegression(penalty="l2").fit(X, y)
    with pytest.warns(FutureWarning) as sklearn_caught:
        SklearnLogisticRegression(penalty="l2").fit(X, y)
    assert [str(w.message) for w in caught] == [str(w.message) for w in sklearn_caught]
    with pytest.warns(FutureWarning), \
            pytest.warns(UserWarning, match="Inconsistent values: penalty=l1 with l1_ratio=0.0"):
        LogisticRegression(penalty="l1", solver="newton-cd").fit(X, y)
    with pytest.warns(FutureWarning, match="'l1_ratio=None' was deprecated"):
        LogisticRegression(l1_ratio=None).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new API warns about nothing
        LogisticRegression(l1_ratio=1, solver="newton-cd").fit(X, y)
        LogisticRegression(C=np.inf, max_iter=1000).fit(X, y)


def test_params_clone_and_model_file_keep_c_inf_and_l1_ratio(tmp_path):
    X, y = standardized(load_wine)
    model = LogisticRegression(C=np.inf, l1_ratio=0.5, solver="newton-cd")
    assert clone(model).get_params() == model.get_params()
    assert model.get_params()["penalty"] == "deprecated"
    with pytest.warns(UserWarning, match="l1_ratio parameter is only used when penalty is "
                                         r"'elasticnet'. Got \(penalty=None\)"):
        model.fit(X, y)  # as scikit-learn: C=inf turns the penalty off, l1_ratio unused
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.C == np.inf and loaded.l1_ratio == 0.5 and loaded.penalty == "deprecated"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    lasso = LogisticRegression(C=0.1, l1_ratio=1.0, solver="newton-cd").fit(X, y)
    save_model(lasso, tmp_path / "l1.safetensors")
    assert load_model(tmp_path / "l1.safetensors").get_params() == lasso.get_params()


def test_dask_fit_with_l1_equals_the_in_memory_one(dask_client):
    import dask.array as da

    X, y = standardized(load_breast_cancer)
    in_memory = LogisticRegression(C=0.1, l1_ratio=1.0, solver="newton-cd",
                                   tol=1e-6).fit(X, y)
    on_dask = LogisticRegression(C=0.1, l1_ratio=1.0, solver="newton-cd", tol=1e-6).fit(
        da.from_array(X, chunks=(200, -1)), da.from_array(y, chunks=200))
    assert on_dask.n_iter_[0] == in_memory.n_iter_[0]
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-8)
    np.testing.assert_array_equal(on_dask.coef_ == 0, in_memory.coef_ == 0)


def test_quadratic_cd_solves_a_lasso_in_closed_form():
    # H diagonal: each coordinate's minimizer is a soft-threshold of −g/H
    H = np.diag([2.0, 1.0, 4.0])
    g = np.array([-3.0, 0.5, 8.0])
    d, _ = quadratic_cd(H, g, np.zeros(3), np.array([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(d, [1.0, 0.0, -2.0])


def test_l1_penalty_prox_and_optimality_never_touch_the_intercept():
    layout = Layout(n_features=2, n_outputs=1, fit_intercept=True)
    penalty = L1Penalty(0.5)
    coef = np.array([[1.0, -0.2, 3.0]])
    np.testing.assert_allclose(penalty.prox(coef, 1.0, layout, np), [[0.5, 0.0, 3.0]])
    assert penalty.value(coef, layout, np) == pytest.approx(0.6)
    # w = 0 with |g| ≤ λ is optimal; the intercept's gradient counts in full
    assert penalty.optimality(np.array([[0.0, 1.0, 0.0]]), np.array([[0.3, -0.5, 0.0]]),
                              layout, np) == 0.0
    assert penalty.optimality(np.array([[0.0, 1.0, 0.0]]), np.array([[0.3, -0.5, 0.25]]),
                              layout, np) == 0.25


@parametrize_with_checks([LogisticRegression(solver="newton-cd", l1_ratio=1.0),
                          LogisticRegression(solver="gd", l1_ratio=0.5)])
def test_sklearn_estimator_checks_for_the_l1_solvers(estimator, check):
    check(estimator)


def test_cli_trains_a_sparse_model_and_an_unpenalized_one(tmp_path, capsys):
    from noloop.cli import main

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.iloc[:, :8].rename(columns=lambda name: name.replace(" ", "_"))
    frame["label"] = y
    data = tmp_path / "cancer.csv"
    frame.to_csv(data, index=False)
    assert main(["train", str(data), "--target", "label", "--model", str(tmp_path / "l1.safetensors"),
                 "--l1-ratio", "1", "--C", "0.01", "--tol", "1e-8"]) == 0
    sparse = load_model(tmp_path / "l1.safetensors")
    assert sparse.solver == "newton-cd" and sparse.l1_ratio == 1.0
    assert 0 < np.sum(sparse.coef_ == 0) < 8  # the folded standardization keeps exact zeros
    assert main(["train", str(data), "--target", "label", "--model",
                 str(tmp_path / "free.safetensors"), "--C", "inf"]) == 0
    assert load_model(tmp_path / "free.safetensors").C == np.inf
    assert main(["train", str(data), "--target", "label", "--model", str(tmp_path / "x.safetensors"),
                 "--l1-ratio", "0.5", "--solver", "lbfgs"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "error: Solver lbfgs supports only 'l2' or None penalties, got elasticnet penalty")


def test_explain_shows_the_soft_threshold_step():
    from noloop.explain import explain

    lines = []
    arrays = explain(l1=2.0, say=lines.append)
    text = "\n".join(lines)
    assert "w := sign(w) · max(|w| − α·λ, 0)" in text
    step = arrays["new_w"]
    np.testing.assert_allclose(arrays["l1_w"], np.sign(step) * np.maximum(np.abs(step) - 0.2, 0))
    assert np.any(arrays["l1_w"] == 0)


def test_l1_path_bench_rows_reach_the_reference_along_the_grid():
    from sklearn.datasets import make_classification

    from noloop.bench.l1_path import format_path, path_grid, path_race

    X, y = make_classification(n_samples=1000, n_features=10, random_state=0)
    Cs = path_grid(X, y, n=5)
    assert np.all(np.diff(Cs) > 0)
    # the grid starts where the first weight leaves zero
    first = LogisticRegression(C=Cs[0] / 1.2, l1_ratio=1, solver="newton-cd").fit(X, y)
    assert np.all(first.coef_ == 0)
    _, rows = path_race(X, y, quick=True)
    assert [row.contestant for row in rows] == ["noloop newton-cd (default for L1)",
                                                "noloop gd (FISTA)"]
    assert rows[0].reached and rows[0].ratio_to_noloop == 1.0
    assert "every C at optimum" in format_path(rows)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_working_set_hessian_is_the_full_hessians_block(fit_intercept):
    from noloop.linear_model._dense import DenseData
    from noloop.linear_model._objective import L1Penalty, L2Penalty, LogisticObjective
    from noloop.linear_model._proximal import _working_hessian

    rng = np.random.default_rng(3)
    X = rng.standard_normal((150_000, 7))  # two threads' shares of many 4096-row blocks
    y = (X[:, 0] + rng.logistic(size=150_000) > 0).astype(np.float64)
    weight = rng.uniform(0.5, 2.0, 150_000)
    data = DenseData(X, y[:, None], weight / weight.sum(), fit_intercept=fit_intercept)
    objective = LogisticObjective(data, L2Penalty(0.01), L1Penalty(0.02))
    point = np.zeros(objective.layout.shape)
    nonzero = [0, 3, 7] if fit_intercept else [0, 3]  # 7 is the intercept
    point[0, nonzero] = [0.8, -0.4, 0.3][:len(nonzero)]
    working = np.array(nonzero + [5])  # zeros may join the working set too
    full = objective.hessian(point)
    expected = full[np.ix_(np.sort(working), np.sort(working))]
    np.testing.assert_allclose(_working_hessian(objective, point, np.sort(working)), expected,
                               rtol=1e-12, atol=1e-15)
    every = np.arange(full.shape[0])  # every column: no gather
    np.testing.assert_allclose(_working_hessian(objective, point, every), full, rtol=1e-12,
                               atol=1e-15)
    weight[::5] *= -0.2  # negative sample weights: the general product, same Hessian
    data = DenseData(X, y[:, None], weight / weight.sum(), fit_intercept=fit_intercept)
    objective = LogisticObjective(data, L2Penalty(0.01), L1Penalty(0.02))
    np.testing.assert_allclose(_working_hessian(objective, point, every),
                               objective.hessian(point), rtol=1e-10, atol=1e-15)
