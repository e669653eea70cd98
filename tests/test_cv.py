"""LogisticRegressionCV: scikit-learn's choices on the same folds, threads, Dask, the refit model."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegressionCV as SklearnCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from noloop import LogisticRegression, LogisticRegressionCV, load_model, save_model
from noloop.linear_model import chunk_folds

CS = [1e-3, 1e-2, 0.1, 1.0, 10.0]  # strong to weak penalty, as scikit-learn's grid runs
TIGHT = dict(tol=1e-8, max_iter=1000)


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    return _standardized(load_breast_cancer)


@pytest.fixture(scope="module")
def wine():
    return _standardized(load_wine)


@pytest.mark.parametrize("dataset, options", [
    ("cancer", dict(scoring="neg_log_loss")),
    ("cancer", dict(scoring=None, class_weight="balanced")),
    ("wine", dict(scoring="accuracy")),
    ("wine", dict(scoring="neg_log_loss", refit=False)),
])
def test_same_choice_and_scores_as_scikit_learn_on_the_same_folds(request, dataset, options):
    X, y = request.getfixturevalue(dataset)
    folds = list(StratifiedKFold(3).split(X, y))
    ours = LogisticRegressionCV(Cs=CS[1:4], cv=folds, **TIGHT, **options).fit(X, y)
    theirs = SklearnCV(Cs=CS[1:4], cv=folds, l1_ratios=(0.0,), use_legacy_attributes=False,
                       **TIGHT, **{**options, "scoring": options["scoring"] or "accuracy"}
                       ).fit(X, y)
    assert ours.C_ == theirs.C_
    assert ours.l1_ratio_ == 0.0
    for name in ("scores_", "coefs_paths_", "n_iter_"):
        assert getattr(ours, name).shape == getattr(theirs, name).shape, name
    np.testing.assert_allclose(ours.scores_, theirs.scores_, atol=1e-4)
    np.testing.assert_allclose(ours.coefs_paths_, theirs.coefs_paths_, atol=1e-4)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-4)
    np.testing.assert_array_equal(ours.Cs_, theirs.Cs_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_an_int_Cs_is_scikit_learns_log_grid_and_int_cv_its_stratified_folds(cancer):
    X, y = cancer
    ours = LogisticRegressionCV(Cs=3, cv=3, **TIGHT).fit(X, y)
    np.testing.assert_array_equal(ours.Cs_, np.logspace(-4, 4, 3))
    explicit = LogisticRegressionCV(Cs=3, cv=list(StratifiedKFold(3).split(X, y)),
                                    **TIGHT).fit(X, y)
    np.testing.assert_array_equal(ours.scores_, explicit.scores_)
    assert ours.scores_.shape == (3, 1, 3) and ours.coefs_paths_.shape == (3, 1, 3, 1, 31)


def test_each_fold_path_is_warm_started_from_the_previous_C(cancer):
    X, y = cancer
    # Newton steps show the warm start plainly: near the optimum they converge in a few
    newton = dict(solver="newton-cholesky", **TIGHT)
    path = LogisticRegressionCV(Cs=CS, cv=3, **newton).fit(X, y)
    train = next(StratifiedKFold(3).split(X, y))[0]
    cold = [LogisticRegression(C=C, **newton).fit(X[train], y[train]) for C in CS]
    np.testing.assert_allclose(path.coefs_paths_[0, 0, :, 0, :-1],
                               np.concatenate([m.coef_ for m in cold]), atol=1e-5)
    # after the first C, every fit starts near its optimum: fewer iterations than cold
    assert path.n_iter_[0, 0, 1:].sum() < sum(int(m.n_iter_[0]) for m in cold[1:])
    assert path.n_iter_[0, 0, 0] == cold[0].n_iter_[0]


def test_threads_over_folds_give_the_same_fit(wine):
    X, y = wine
    one = LogisticRegressionCV(Cs=CS[:3], cv=3, n_jobs=1, **TIGHT).fit(X, y)
    two = LogisticRegressionCV(Cs=CS[:3], cv=3, n_jobs=2, **TIGHT).fit(X, y)
    np.testing.assert_array_equal(one.scores_, two.scores_)
    np.testing.assert_array_equal(one.coefs_paths_, two.coefs_paths_)
    np.testing.assert_array_equal(one.coef_, two.coef_)


def test_l1_ratios_zero_is_the_l2_default(cancer):
    X, y = cancer
    default = LogisticRegressionCV(Cs=CS[:2], cv=3, **TIGHT).fit(X, y)
    zero = LogisticRegressionCV(Cs=CS[:2], cv=3, l1_ratios=[0.0], **TIGHT).fit(X, y)
    np.testing.assert_array_equal(default.scores_, zero.scores_)
    np.testing.assert_array_equal(default.l1_ratios_, [0.0])


def test_the_chosen_model_as_a_logistic_regression_survives_a_model_file(cancer, tmp_path):
    X, y = cancer
    cv = LogisticRegressionCV(Cs=CS[:3], cv=3, **TIGHT).fit(X, y)
    model = cv.to_logistic_regression()
    assert model.C == cv.C_ and model.converged_
    np.testing.assert_array_equal(model.predict_proba(X), cv.predict_proba(X))
    save_model(model, tmp_path / "model.safetensors")
    np.testing.assert_array_equal(load_model(tmp_path / "model.safetensors").coef_, cv.coef_)
    with pytest.raises(TypeError, match="LogisticRegressionCV"):
        save_model(cv, tmp_path / "cv.safetensors")
    assert not (tmp_path / "cv.safetensors").exists()


@pytest.mark.parametrize("params, match", [
    (dict(Cs=0), "`Cs` must be"),
    (dict(Cs=[1.0, -1.0]), "`Cs` must be"),
    (dict(l1_ratios=[1.5]), "`l1_ratios` must be"),
    (dict(scoring="no such score"), "`scoring` must be"),
    (dict(n_jobs=0), "`n_jobs` must be"),
    (dict(solver="sag"), "`solver` must be"),
])
def test_invalid_parameters_are_named(cancer, params, match):
    X, y = cancer
    with pytest.raises(ValueError, match=match):
        LogisticRegressionCV(**params).fit(X, y)


def test_dask_folds_of_whole_chunks_equal_the_same_folds_in_memory(dask_client, wine):
    import dask.array as da

    X, y = wine
    order = np.random.default_rng(0).permutation(y.size)  # wine's rows are sorted by class
    X, y = X[order], y[order]
    rows = (30, 30, 30, 30, 30, 28)
    X_dask, y_dask = da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=(rows,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scheduler or chunk warnings on the way
        # Newton: few steps, so few round trips to the cluster per C
        on_dask = LogisticRegressionCV(Cs=CS[2:4], cv=2, solver="newton-cholesky",
                                       **TIGHT).fit(X_dask, y_dask)
    folds = chunk_folds(rows, 2)
    assert [test.tolist() for _, test in folds] == [list(range(0, 90)), list(range(90, 178))]
    in_memory = LogisticRegressionCV(Cs=CS[2:4], cv=folds, solver="newton-cholesky",
                                     **TIGHT).fit(X, y)
    assert on_dask.C_ == in_memory.C_
    np.testing.assert_allclose(on_dask.scores_, in_memory.scores_, atol=1e-12)
    np.testing.assert_allclose(on_dask.coefs_paths_, in_memory.coefs_paths_, atol=1e-6)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-6)
    np.testing.assert_array_equal(on_dask.predict(X_dask).compute(), in_memory.predict(X))


def test_dask_refuses_more_folds_than_chunks(dask_client, wine):
    import dask.array as da

    X, y = wine
    with pytest.raises(ValueError, match="need at least 5 chunks, but this Dask data has 3"):
        LogisticRegressionCV(cv=5).fit(da.from_array(X, chunks=(60, -1)),
                                       da.from_array(y, chunks=60))


def test_l1_ratios_choose_as_scikit_learn_saga_on_the_same_folds(cancer):
    X, y = cancer
    folds = list(StratifiedKFold(3).split(X, y))
    options = dict(Cs=[0.02, 0.1], cv=folds, l1_ratios=[0.5, 1.0], scoring="neg_log_loss")
    ours = LogisticRegressionCV(solver="newton-cd", tol=1e-10, max_iter=1000, **options).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SklearnCV(solver="saga", tol=1e-10, max_iter=20_000, use_legacy_attributes=False,
                           **options).fit(X, y)
    assert (ours.C_, ours.l1_ratio_) == (theirs.C_, theirs.l1_ratio_)
    np.testing.assert_allclose(ours.scores_, theirs.scores_, atol=1e-4)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)
    assert (ours.coef_ == 0).any()  # L1 in the path: exact zeros


def _penguin_table(extra_level=False):
    """Penguins with text columns and empty cells, numeric columns scaled (quick fits); with
    ``extra_level`` a column 'tag' whose level 'rare' sits only on the two rows of empty bill
    lengths. Returns (frame, y, those two rows)."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    y = frame.pop("species").to_numpy()
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = (frame[numeric] - frame[numeric].mean()) / frame[numeric].std()
    rows = np.flatnonzero(frame["bill_length_mm"].isna().to_numpy())
    if extra_level:
        frame["tag"] = np.where(np.arange(len(frame)) % 2 == 0, "even", "odd")
        frame.loc[rows, "tag"] = "rare"
    return frame, y, rows


TABLE = dict(solver="newton-cholesky", tol=1e-10, max_iter=100, missing="impute")


def test_a_table_is_encoded_inside_each_training_fold():
    """Text columns and empty cells: every fold's fits learn their levels, means and
    indicators from the fold's training rows alone; coefs_paths_ holds them in the all-rows
    layout, 0 for a feature a fold's training rows never had."""
    frame, y, rows = _penguin_table(extra_level=True)
    rest = np.random.default_rng(0).permutation(np.setdiff1d(np.arange(len(frame)), rows))
    tests = [np.sort(np.concatenate([rows, rest[:100]])), np.sort(rest[100:220]),
             np.sort(rest[220:])]
    folds = [(np.setdiff1d(np.arange(len(frame)), test), test) for test in tests]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fold 0's held-out 'rare' rows: no warning per C
        search = LogisticRegressionCV(Cs=[0.1, 1.0], cv=folds, **TABLE).fit(frame, y)
    names = list(search.feature_names_out_)
    for k, (train, test) in enumerate(folds):
        for i, C in enumerate([0.1, 1.0]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the unseen level, once here
                fit = LogisticRegression(C=C, **TABLE).fit(frame.iloc[train], y[train])
                assert search.scores_[k, 0, i] == fit.score(frame.iloc[test], y[test])
            coef = dict(zip(fit.feature_names_out_, fit.coef_.T))
            path = search.coefs_paths_[k, 0, i]
            for j, name in enumerate(names):
                np.testing.assert_allclose(path[:, j], coef.get(name, 0.0), rtol=0, atol=1e-6)
            np.testing.assert_allclose(path[:, -1], fit.intercept_, rtol=0, atol=1e-6)
    unseen = [names.index("tag[rare]"), names.index("bill_length_mm[missing]")]
    assert np.all(search.coefs_paths_[0][..., unseen] == 0)
    assert np.all(search.coefs_paths_[1][..., unseen] != 0)


def test_a_table_refit_is_logistic_regression_at_the_chosen_C(tmp_path):
    frame, y, _ = _penguin_table()
    search = LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=3, **TABLE).fit(frame, y)
    plain = LogisticRegression(C=search.C_, **TABLE).fit(frame, y)
    np.testing.assert_allclose(search.coef_, plain.coef_, rtol=0, atol=1e-6)
    assert list(search.feature_names_out_) == list(plain.feature_names_out_)
    assert list(search.feature_names_in_) == list(frame.columns)
    assert search.n_features_in_ == frame.shape[1]
    save_model(search.to_logistic_regression(), tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(frame), search.predict_proba(frame))


def test_a_table_with_empty_cells_under_missing_error_fails_before_any_fold():
    frame, y, _ = _penguin_table()
    with pytest.raises(ValueError, match=r"column 'bill_length_mm' has 2 missing cell\(s\)"):
        LogisticRegressionCV(Cs=2, cv=3, solver="newton-cholesky").fit(frame, y)
    complete = frame.notna().all(axis=1).to_numpy()
    search = LogisticRegressionCV(Cs=2, cv=3, solver="newton-cholesky").fit(
        frame[complete], y[complete])
    assert "island[Dream]" in list(search.feature_names_out_)


def test_a_folds_missing_level_is_matched_by_column_not_by_name():
    """The missing level is named to differ from every level: '<missing>', or '<<missing>>'
    where a level is called '<missing>'. A fold without that level names its missing level
    '<missing>'; its coefficient goes to the all-rows missing level, not to the level."""
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.standard_normal(120),
                          "c": rng.choice(["a", "b"], 120).astype(object)})
    y = (frame["x"] + rng.standard_normal(120) > 0).astype(int).to_numpy()
    frame.loc[:4, "c"], frame.loc[5:9, "c"] = "<missing>", None
    folds = [(np.arange(5, 120), np.arange(5)), (np.arange(60), np.arange(60, 120))]
    options = dict(solver="newton-cholesky", tol=1e-10, missing="impute")
    search = LogisticRegressionCV(Cs=[1.0], cv=folds, **options).fit(frame, y)
    names = list(search.feature_names_out_)
    assert names == ["x", "c[<missing>]", "c[a]", "c[b]", "c[<<missing>>]"]
    fold = LogisticRegression(C=1.0, **options).fit(frame.iloc[5:], y[5:])
    assert list(fold.feature_names_out_) == ["x", "c[a]", "c[b]", "c[<missing>]"]
    path = search.coefs_paths_[0, 0, 0, 0]
    np.testing.assert_allclose(path[[0, 2, 3, 4, 5]], [*fold.coef_[0], fold.intercept_[0]],
                               rtol=0, atol=1e-6)
    assert path[1] == 0


def test_table_folds_say_what_went_wrong_and_where():
    """Fold-level problems name the fold: a class its training rows lack (with its count),
    a level new to its held-out rows under handle_unknown='error'; a column empty in one
    fold's training rows is left out of that fold (0), not an error; unconverged fold fits
    are one ConvergenceWarning; a Dask table is refused with a way out."""
    import dask.dataframe as dd
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning

    frame, y, _ = _penguin_table()
    order = np.random.default_rng(1).permutation(len(frame))
    held, rest = order[:10], order[10:]
    odd = y.copy()
    odd[held[0]] = "Oddity"
    with pytest.raises(ValueError, match=r"fold 0's training rows hold no row of the "
                                         r"class\(es\) 'Oddity' \(1 row\(s\) in all\)"):
        LogisticRegressionCV(Cs=1, cv=[(rest, held)], **TABLE).fit(frame, odd)
    rare = frame.copy()
    rare.loc[held, "island"] = "Rare"
    with pytest.raises(ValueError, match=r"fold 0, scoring its held-out rows: .*'island' holds "
                                         r"level\(s\) not seen in fit: 'Rare'"):
        LogisticRegressionCV(Cs=1, cv=[(rest, held)], handle_unknown="error", **TABLE).fit(
            rare, y)
    noted = frame.assign(note=np.nan)
    noted.loc[held, "note"] = 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = LogisticRegressionCV(Cs=[1e-4, 1.0], cv=[(rest, held), (held, rest)][:1],
                                      missing="impute", max_iter=2).fit(noted, y)
    unconverged = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert unconverged[0].startswith("2 of 2 fold fits did not converge within max_iter = 2 "
                                     "(their Cs: 0.0001, 1)")
    assert len(unconverged) == 2  # that one, and the refit's own
    assert np.all(search.coefs_paths_[..., list(search.feature_names_out_).index("note")] == 0)
    with pytest.raises(ValueError, match=r"LogisticRegressionCV on Dask takes numeric columns .*"
                                         r"cross-validate it in memory"):
        LogisticRegressionCV(Cs=2, cv=2, **TABLE).fit(dd.from_pandas(frame, npartitions=2),
                                                      dd.from_pandas(pd.Series(y), npartitions=2))


def test_a_column_named_like_another_columns_feature_is_refused():
    """'island[Dream]' as a column beside island would name two coefficients alike."""
    frame, y, _ = _penguin_table()
    frame["island[Dream]"] = 1.0
    for estimator in (LogisticRegression(**TABLE), LogisticRegressionCV(Cs=1, cv=2, **TABLE)):
        with pytest.raises(ValueError, match=r"the feature name\(s\) \['island\[Dream\]'\] "
                                             r"would each name two coefficients"):
            estimator.fit(frame, y)


def test_fold_fits_are_quiet_without_touching_the_process_warning_filters():
    """Folds run in threads, and so may two searches: quieting the fold fits with a warnings
    filter (process-wide) left the other search's filters behind. A flag on the fold's model
    does it; the one summary warning still comes, from each search."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.exceptions import ConvergenceWarning

    frame, y, _ = _penguin_table(extra_level=True)
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inside = list(warnings.filters)
        with ThreadPoolExecutor(max_workers=2) as pool:
            searches = [pool.submit(LogisticRegressionCV(Cs=[1e-4, 1.0], cv=3, missing="impute",
                                                         max_iter=2, n_jobs=2).fit, frame, y)
                        for _ in range(2)]
            for search in searches:
                search.result()
        assert warnings.filters == inside
    assert warnings.filters == before
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert sum(message.startswith("6 of 6 fold fits did not converge") for message in messages) == 2
    assert not [w for w in caught if "not seen in fit" in str(w.message)]
