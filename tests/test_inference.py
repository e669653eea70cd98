"""Covariance, coefficient table and Wald tests: parity with statsmodels 0.15, on every backend."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from noloop import LogisticRegression
from noloop.linear_model._dense import DenseData

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.sandwich_covariance import cov_white_simple  # noqa: E402

RTOL = 1e-6
COLUMNS = ["coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
N_GROUPS = 20


def standardized(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.fixture(scope="module")
def breast():
    """Breast cancer, five standardized features that are not collinear; binary."""
    X, y = load_breast_cancer(return_X_y=True)
    return standardized(X[:, [0, 1, 4, 8, 9]]), y


@pytest.fixture(scope="module")
def wine():
    """Wine, four standardized features; three classes."""
    X, y = load_wine(return_X_y=True)
    return standardized(X[:, :4]), y


def groups_of(y):
    return np.arange(len(y)) % N_GROUPS


def unpenalized():
    # newton-cholesky: lbfgs stops on scipy's relative reduction of f (coefficients to ~1e-7)
    # before |gradient| <= tol; parity to 1e-6 in every column needs the optimum to ~1e-10
    return LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100)


def statsmodels_kwargs(cov_type, y):
    if cov_type == "cluster":
        return {"cov_type": "cluster", "cov_kwds": {"groups": groups_of(y)}}
    return {"cov_type": cov_type}


def noloop_kwargs(cov_type, y):
    return {"cov_type": cov_type, "groups": groups_of(y) if cov_type == "cluster" else None}


def table_from(params, cov, index, alpha=0.05):
    """statsmodels' own summary numbers, from its params and covariance, in noloop's order."""
    from scipy import stats

    std_err = np.sqrt(np.diag(cov))
    z = params / std_err
    q = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({"coef": params, "std_err": std_err, "z": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z)),
                         "ci_lower": params - q * std_err, "ci_upper": params + q * std_err},
                        index=index)


def constant_last(n_blocks, n_dof):
    """Positions taking statsmodels' [const, x...] blocks to noloop's [x..., intercept]."""
    block = np.r_[np.arange(1, n_dof), 0]
    return np.concatenate([block + b * n_dof for b in range(n_blocks)])


def assert_tables_close(table, expected, rtol):
    assert list(table.columns) == COLUMNS
    for column in COLUMNS:
        np.testing.assert_allclose(table[column].to_numpy(), expected[column].to_numpy(),
                                   rtol=rtol, atol=0, err_msg=column)


# ------------------------------------------------------------------ parity with statsmodels


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_binary_table_equals_statsmodels_logit(breast, cov_type):
    X, y = breast
    model = unpenalized().fit(X, y)
    result = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12,
                                                 **statsmodels_kwargs(cov_type, y))
    order = constant_last(1, X.shape[1] + 1)
    table = model.coef_table(X, y, **noloop_kwargs(cov_type, y))
    assert list(table.index) == ["x0", "x1", "x2", "x3", "x4", "intercept"]
    expected = pd.DataFrame({"coef": result.params, "std_err": result.bse, "z": result.tvalues,
                             "p_value": result.pvalues, "ci_lower": result.conf_int()[:, 0],
                             "ci_upper": result.conf_int()[:, 1]}).iloc[order]
    assert_tables_close(table, expected, RTOL)
    np.testing.assert_allclose(model.covariance_matrix(X, y, **noloop_kwargs(cov_type, y)),
                               result.cov_params()[np.ix_(order, order)], rtol=RTOL)


def test_hc1_is_statsmodels_small_sample_corrected_sandwich(breast):
    """HC1 = n / (n − k) · HC0: statsmodels' ``cov_white_simple(use_correction=True)``.

    (statsmodels 0.15's ``Logit.fit(cov_type="HC1")`` falls back to HC0, uncorrected.)
    """
    X, y = breast
    model = unpenalized().fit(X, y)
    result = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12, cov_type="HC0")
    order = constant_last(1, X.shape[1] + 1)
    expected = cov_white_simple(result, use_correction=True)[np.ix_(order, order)]
    np.testing.assert_allclose(model.covariance_matrix(X, y, cov_type="HC1"), expected, rtol=RTOL)
    table = model.coef_table(X, y, cov_type="HC1", alpha=0.1)
    assert_tables_close(table, table_from(result.params[order], expected, table.index, 0.1), RTOL)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
def test_softmax_table_equals_statsmodels_mnlogit(wine, cov_type):
    X, y = wine
    model = unpenalized().fit(X, y)
    kwargs = statsmodels_kwargs("HC0" if cov_type == "HC1" else cov_type, y)
    result = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", maxiter=200,
                                                   tol=1e-12, **kwargs)
    order = constant_last(2, X.shape[1] + 1)
    cov = np.asarray(result.cov_params())
    if cov_type == "HC1":
        cov = cov_white_simple(result, use_correction=True)
    cov = cov[np.ix_(order, order)]
    table = model.coef_table(X, y, **noloop_kwargs(cov_type, y))
    assert table.index.names == ["class", "feature"]
    assert list(table.index)[:5] == [(1, "x0"), (1, "x1"), (1, "x2"), (1, "x3"), (1, "intercept")]
    params = np.asarray(result.params).ravel(order="F")[order]
    assert_tables_close(table, table_from(params, cov, table.index), RTOL)
    if cov_type != "HC1":
        np.testing.assert_allclose(table["std_err"], np.asarray(result.bse).ravel(order="F")[order],
                                   rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_wald_test_equals_statsmodels(breast, wine, cov_type):
    X, y = breast
    model = unpenalized().fit(X, y)
    result = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12,
                                                 **statsmodels_kwargs(cov_type, y))
    expected = result.wald_test(np.eye(6)[[1, 3]], use_f=False, scalar=True)
    statistic, df, p_value = model.wald_test(X, y, ["x0", "x2"], **noloop_kwargs(cov_type, y))
    assert df == 2
    np.testing.assert_allclose([statistic, p_value], [expected.statistic, expected.pvalue],
                               rtol=RTOL)
    # softmax: a feature name alone stands for its coefficients in every class
    X, y = wine
    model = unpenalized().fit(X, y)
    result = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                   **statsmodels_kwargs(cov_type, y))
    expected = result.wald_test(np.eye(10)[[2, 7]], use_f=False, scalar=True)
    statistic, df, p_value = model.wald_test(X, y, "x1", **noloop_kwargs(cov_type, y))
    assert df == 2
    np.testing.assert_allclose([statistic, p_value], [expected.statistic, expected.pvalue],
                               rtol=RTOL)


# ------------------------------------------------------------------ the data terms' meat


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_dense_meat_and_group_scores_equal_explicit_sums(n_outputs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    labels = rng.integers(0, max(n_outputs, 2), 50)
    Y = (labels[:, None] == np.arange(n_outputs)).astype(float) if n_outputs > 1 else \
        labels[:, None].astype(float)
    weight = rng.uniform(0.5, 2.0, 50)
    data = DenseData(X, Y, weight / weight.sum(), fit_intercept=True, kernels=False)
    coef = rng.standard_normal((n_outputs, 4))
    dZ = data.weighted_residual(coef)
    scores = (dZ[:, :, None] * np.c_[X, np.ones(50)][:, None, :]).reshape(50, -1)
    np.testing.assert_allclose(data.score_outer(coef), scores.T @ scores, rtol=1e-12)
    groups = rng.choice(np.array(["a", "b", "c", "d"]), 50)
    ids, sums = data.group_scores(coef, groups, max_block_elements=24)  # several row blocks
    assert list(ids) == ["a", "b", "c", "d"]
    for g, name in enumerate(ids):
        np.testing.assert_allclose(sums[g], scores[groups == name].sum(axis=0), rtol=1e-12,
                                   atol=1e-15)


# ------------------------------------------------------------------ backends


@pytest.fixture
def client(dask_client):
    return dask_client


def test_dask_parquet_fit_gives_the_numpy_table(client, breast, wine, tmp_path):
    import dask.array as da
    import dask.dataframe as dd

    cases = {"breast": (breast, ["nonrobust", "cluster"]), "wine": (wine, ["HC1", "cluster"])}
    for name, ((X, y), cov_types) in cases.items():
        features = [f"f{i}" for i in range(X.shape[1])]
        frame = pd.DataFrame(X, columns=features).assign(label=y, group=groups_of(y))
        folder = tmp_path / name
        folder.mkdir()
        for part, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
            frame.iloc[rows].to_parquet(folder / f"part-{part}.parquet", index=False)
        data = dd.read_parquet(str(folder / "*.parquet"))  # read as is, not persisted
        settings = dict(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=100)
        reference = LogisticRegression(**settings).fit(frame[features], frame["label"])
        # breast: fitted on the cluster; wine (softmax): the NumPy fit's table on the cluster
        model = (LogisticRegression(**settings).fit(data[features], data["label"])
                 if name == "breast" else reference)
        for cov_type in cov_types:
            groups = (data["group"], frame["group"]) if cov_type == "cluster" else (None, None)
            table = model.coef_table(data[features], data["label"], cov_type=cov_type,
                                     groups=groups[0])
            expected = reference.coef_table(frame[features], frame["label"], cov_type=cov_type,
                                            groups=groups[1])
            assert list(table.index) == list(expected.index)
            assert_tables_close(table, expected, 1e-8)
        if name == "breast":  # dask array group ids chunked otherwise than X: rechunked
            groups = da.from_array(groups_of(y), chunks=100)
            cov = model.covariance_matrix(data[features], data["label"], cov_type="cluster",
                                          groups=groups)
            np.testing.assert_allclose(cov, reference.covariance_matrix(
                frame[features], frame["label"], cov_type="cluster", groups=groups_of(y)),
                rtol=1e-8)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "cluster"])
def test_array_libraries_give_the_numpy_table(breast, wine, cov_type, to_xp):
    """PyTorch (CPU, and CUDA where present) and CuPy compute on their device; same table."""
    for X, y in (breast, wine):
        model = unpenalized().fit(X, y)
        expected = model.coef_table(X, y, **noloop_kwargs(cov_type, y))
        groups = to_xp(groups_of(y)) if cov_type == "cluster" else None
        table = model.coef_table(to_xp(X), to_xp(y), cov_type=cov_type, groups=groups)
        assert_tables_close(table, expected, 1e-10)


# ------------------------------------------------------------------ penalized, singular, state


def test_penalized_fit_warns_and_uses_the_penalized_hessian(breast):
    X, y = breast
    C = 0.05
    model = LogisticRegression(C=C, tol=1e-10).fit(X, y)
    with pytest.warns(UserWarning, match="penalized.*not classical"):
        cov = model.covariance_matrix(X, y)
    Xc = np.c_[X, np.ones(len(y))]
    p = model.predict_proba(X)[:, 1]
    information = Xc.T @ (Xc * (p * (1 - p))[:, None]) + np.diag([1 / C] * 5 + [0])
    np.testing.assert_allclose(cov, np.linalg.inv(information), rtol=1e-10)


def test_constant_column_is_named_not_nan(breast):
    X, y = breast
    frame = pd.DataFrame(X, columns=["radius", "texture", "smooth", "symmetry", "fractal"])
    frame["const"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = unpenalized().fit(frame, y)
    with pytest.raises(ValueError, match=r"singular.*'const', 'intercept' are collinear"):
        model.coef_table(frame, y)
    frame["const"] = 0.0
    model = unpenalized().fit(frame, y)
    with pytest.raises(ValueError, match="no information on 'const'"):
        model.covariance_matrix(frame, y, cov_type="HC0")


def test_perfectly_separated_data_is_an_error_naming_the_column():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = (X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = unpenalized().fit(X, y)
    with pytest.raises(ValueError, match=r"separates the data perfectly.*'x1'"):
        model.coef_table(X, y)


def test_inference_leaves_the_fitted_model_unchanged(breast):
    X, y = breast
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = unpenalized().fit(frame, y)
    coef = model.coef_.copy()
    table = model.coef_table(X, y)  # a NumPy array: no names, but the model keeps its own
    assert list(table.index) == ["a", "b", "c", "d", "e", "intercept"]
    assert list(model.feature_names_in_) == list("abcde") and model.n_features_in_ == 5
    np.testing.assert_array_equal(model.coef_, coef)


def test_bad_arguments_name_what_was_expected(breast, wine):
    X, y = breast
    model = unpenalized().fit(X, y)
    with pytest.raises(ValueError, match="`cov_type` must be one of"):
        model.coef_table(X, y, cov_type="HC3")
    with pytest.raises(ValueError, match="`groups` is required with cov_type='cluster'"):
        model.coef_table(X, y, cov_type="cluster")
    with pytest.raises(ValueError, match=r"`groups` must have shape \(569,\)"):
        model.coef_table(X, y, cov_type="cluster", groups=np.arange(10))
    with pytest.raises(ValueError, match="`alpha` must be in"):
        model.coef_table(X, y, alpha=1.5)
    with pytest.raises(ValueError, match="`names` has 'x9', which names no coefficient"):
        model.wald_test(X, y, ["x0", "x9"])
    with pytest.raises(ValueError, match="`X` has 4 features, but the model was fitted with 5"):
        model.coef_table(X[:, :4], y)
    with pytest.raises(ValueError, match=r"`y` has the classes \[0, 1, 2\]"):
        model.coef_table(X[:178], wine[1])


def test_without_intercept_and_with_frequency_weights(breast):
    """No intercept: statsmodels' Logit without a constant. Integer sample weights: the
    nonrobust table of the rows repeated that many times (weights count examples)."""
    X, y = breast
    model = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky",
                               tol=1e-10).fit(X, y)
    result = sm.Logit(y, X).fit(disp=0, tol=1e-12, cov_type="HC0")
    table = model.coef_table(X, y, cov_type="HC0")
    assert list(table.index) == ["x0", "x1", "x2", "x3", "x4"]
    assert_tables_close(table, table_from(result.params, result.cov_params(), table.index), RTOL)
    counts = np.random.default_rng(0).integers(1, 4, len(y))
    model = unpenalized().fit(X, y, sample_weight=counts)
    result = sm.Logit(np.repeat(y, counts), sm.add_constant(np.repeat(X, counts, axis=0))).fit(
        disp=0, tol=1e-12)
    order = constant_last(1, X.shape[1] + 1)
    table = model.coef_table(X, y, sample_weight=counts)
    assert_tables_close(table, table_from(result.params[order],
                                          result.cov_params()[np.ix_(order, order)],
                                          table.index), RTOL)


def test_wald_test_takes_a_tuple_of_names_or_one_class_feature_pair(breast, wine):
    X, y = breast
    model = unpenalized().fit(X, y)
    assert model.wald_test(X, y, ("x0", "x2")) == model.wald_test(X, y, ["x0", "x2"])
    X, y = wine
    model = unpenalized().fit(X, y)
    statistic, df, _ = model.wald_test(X, y, (2, "x1"))
    z = model.coef_table(X, y).loc[(2, "x1"), "z"]
    assert df == 1 and statistic == pytest.approx(z**2, rel=1e-12)
