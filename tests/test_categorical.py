"""Categorical columns and missing values: the encoding, its data term, the estimator, model files, the CLI."""

import hashlib
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line

from noloop.errors import DataError
from noloop.linear_model import LogisticRegression
from noloop.linear_model._categorical import CategoricalData, TableEncoding
from noloop.linear_model._dense import DenseData
from noloop.persistence import load_model, save_model

palmerpenguins = pytest.importorskip("palmerpenguins")


@pytest.fixture(scope="module")
def penguins():
    return palmerpenguins.load_penguins()


def make_table(n=300, seed=0):
    """Two numeric columns (one with empty cells), two categorical (one with empty cells)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "color": rng.choice(["red", "green", "blue", "<missing>"], size=n).astype(object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], size=n)),
    })
    frame.loc[rng.choice(n, 15, replace=False), "b"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "color"] = None
    logit = frame["a"] + (frame["color"] == "red") - (frame["size"] == "L").astype(float)
    y = np.where(logit + rng.normal(size=n) > 0, "yes", "no")
    y3 = np.where(logit > 0.8, "hi", np.where(logit < -0.5, "lo", "mid"))
    return frame, y, y3, rng.uniform(0.5, 2.0, size=n)


def one_hot(encoding, frame):
    """The dense matrix the encoding never forms: [X_num | one-hot of each categorical column]."""
    X_num, codes = encoding.encode(frame)
    dense = np.zeros((len(frame), encoding.n_features))
    dense[:, :X_num.shape[1]] = X_num
    for j in range(codes.shape[1]):
        known = codes[:, j] >= 0
        dense[np.flatnonzero(known), codes[known, j]] = 1.0
    return dense


def test_encoding_names_levels_indicators_and_a_missing_level_that_cannot_collide():
    frame, *_ = make_table()
    encoding = TableEncoding.learn(frame, missing="impute")
    names = encoding.feature_names_out
    assert names[:3] == ["a", "b", "b[missing]"]
    # a real level is called "<missing>": the missing cells' level takes another name
    assert "color[<missing>]" in names and "color[<<missing>>]" in names
    assert len(set(names)) == len(names) == encoding.n_features == 2 + 1 + 5 + 3
    assert encoding.missing_counts == {"b": 15, "color": 10}
    assert encoding.impute[1] == pytest.approx(np.nanmean(frame["b"]))
    with pytest.raises(ValueError, match=r"column 'b' has 15 missing cell\(s\); use missing='impute'"):
        TableEncoding.learn(frame)
    with pytest.raises(ValueError, match=r"column 'e' is empty in every row"):
        TableEncoding.learn(frame.assign(e=np.nan), missing="impute")


@pytest.mark.parametrize("multinomial", [False, True])
def test_data_term_equals_the_dense_one_hot_term(multinomial):
    """Value, gradient, Hessian and Gram product agree with DenseData on the expanded matrix."""
    frame, y, y3, weight = make_table(n=200)
    encoding = TableEncoding.learn(frame, missing="impute")
    X_num, codes = encoding.encode(frame)
    labels = np.unique(y3 if multinomial else y, return_inverse=True)[1]
    Y = np.eye(3)[labels] if multinomial else labels[:, None].astype(float)
    s = weight / weight.sum()
    table = CategoricalData(X_num, codes, Y, s, encoding.n_features, True)
    dense = DenseData(np.ascontiguousarray(one_hot(encoding, frame)), Y, s, True)
    coef = np.random.default_rng(1).normal(size=table.layout.shape)
    for (value, grad), (expected_value, expected_grad) in [
            (table.loss_gradient(coef), dense.loss_gradient(coef))]:
        assert value == pytest.approx(float(expected_value), rel=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(table.hessian(coef), dense.hessian(coef), rtol=1e-9, atol=1e-13)
    v = coef[0]
    np.testing.assert_allclose(table.gram_matvec(v), dense.gram_matvec(v), rtol=1e-10, atol=1e-13)


def coded_matrix(n=500, d=2, levels=(3, 6, 4), seed=0, column_order=None):
    """(X_num, codes, X̃): random numeric columns and codes, and the dense [X_num | one-hot | 1].

    ``column_order`` permutes which block of levels each codes column points into
    (the kernels must not rely on a row's codes increasing); a few codes are −1.
    """
    rng = np.random.default_rng(seed)
    offsets = d + np.concatenate([[0], np.cumsum(levels)[:-1]])
    p = d + sum(levels)
    order = range(len(levels)) if column_order is None else column_order
    codes = np.stack([rng.integers(0, levels[j], n) + offsets[j] for j in order], axis=1)
    codes[rng.uniform(size=codes.shape) < 0.05] = -1
    X_num = rng.normal(size=(n, d))
    dense = np.zeros((n, p + 1))
    dense[:, :d], dense[:, p] = X_num, 1.0
    for j in range(codes.shape[1]):
        known = codes[:, j] >= 0
        dense[np.flatnonzero(known), codes[known, j]] = 1.0
    return X_num, codes.astype(np.int32), dense


@pytest.mark.parametrize("d, column_order", [(0, None), (2, None), (3, [2, 0, 1])])
def test_hessian_from_the_codes_equals_the_one_hot_gram(d, column_order):
    """Pairwise level histograms give X̃ᵀ diag(h) X̃ of the one-hot expansion to 1e-10."""
    from noloop.linear_model import _categorical_kernels as kernels

    X_num, codes, dense = coded_matrix(d=d, column_order=column_order)
    p = dense.shape[1] - 1
    rng = np.random.default_rng(1)
    h = rng.uniform(0.1, 2.0, size=len(dense))
    expected = dense.T @ (h[:, None] * dense)
    np.testing.assert_allclose(kernels.weighted_gram(X_num, codes, h, p), expected,
                               rtol=1e-10, atol=1e-12)
    # the fused binary kernel: logits, s·σ(z)(1 − σ(z)) and the Gram in one pass
    w, b, s = rng.normal(size=p), 0.3, rng.uniform(0.5, 2.0, size=len(dense))
    z = dense[:, :p] @ w + b
    sigma = 1 / (1 + np.exp(-z))
    expected = dense.T @ ((s * sigma * (1 - sigma))[:, None] * dense)
    np.testing.assert_allclose(kernels.binary_hessian(X_num, codes, s, w, b), expected,
                               rtol=1e-10, atol=1e-12)
    # the data term, with and without an intercept, against the dense one
    Y = (rng.uniform(size=(len(dense), 1)) < 0.5).astype(float)
    for fit_intercept in (True, False):
        table = CategoricalData(np.ascontiguousarray(X_num), codes, Y, s / s.sum(), p,
                                fit_intercept)
        on_dense = DenseData(np.ascontiguousarray(dense[:, :p]), Y, s / s.sum(), fit_intercept)
        coef = rng.normal(size=table.layout.shape)
        np.testing.assert_allclose(table.hessian(coef), on_dense.hessian(coef), rtol=1e-10,
                                   atol=1e-13)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_fit_on_the_table_equals_the_fit_on_the_one_hot_matrix_with_weights(solver):
    frame, y, y3, weight = make_table()
    for labels in (y, y3):
        table = LogisticRegression(missing="impute", solver=solver, tol=1e-10, max_iter=500).fit(
            frame, labels, sample_weight=weight)
        dense = one_hot(table.encoding_, frame)
        expected = LogisticRegression(solver=solver, tol=1e-10, max_iter=500).fit(
            dense, labels, sample_weight=weight)
        np.testing.assert_allclose(table.coef_, expected.coef_, atol=1e-6)
        np.testing.assert_allclose(table.intercept_, expected.intercept_, atol=1e-6)
        np.testing.assert_allclose(table.predict_proba(frame), expected.predict_proba(dense),
                                   atol=1e-9)
        assert table.n_features_in_ == 4 and list(table.feature_names_in_) == list(frame.columns)


def sklearn_pipeline(numeric, categorical, C=1.0):
    """scikit-learn's form of the same objective: only numeric columns are standardized.

    noloop standardizes (in the CLI) the imputed numeric columns only; its
    missing indicators and levels stay 0/1 — so the matching pipeline puts
    ``MissingIndicator`` beside, not before, the ``StandardScaler``, which is
    ``SimpleImputer(add_indicator=True)`` with the indicators left unscaled.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("ind", MissingIndicator(), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    return make_pipeline(columns, SkLogisticRegression(C=C, tol=1e-12, max_iter=10_000))


@pytest.fixture(scope="module")
def penguin_fits(penguins):
    from noloop.table_columns import standardized_numeric

    X, y = penguins.drop(columns=["species"]), penguins["species"].to_numpy()
    categorical = ["island", "sex"]
    numeric = [c for c in X.columns if c not in categorical]
    pipeline = sklearn_pipeline(numeric, categorical).fit(X, y)
    scaled, _, _ = standardized_numeric(X, categorical)
    model = LogisticRegression(missing="impute", tol=1e-10, max_iter=1000).fit(scaled, y)
    return SimpleNamespace(X=X, y=y, scaled=scaled, pipeline=pipeline, model=model)


def test_penguins_coefficients_equal_scikit_learns_pipeline(penguin_fits):
    fitted = penguin_fits.pipeline[-1]
    np.testing.assert_allclose(penguin_fits.model.coef_, fitted.coef_, atol=1e-6)
    np.testing.assert_allclose(penguin_fits.model.intercept_, fitted.intercept_, atol=1e-6)
    names = list(penguin_fits.model.feature_names_out_)
    assert "island[Torgersen]" in names and "sex[<missing>]" in names


def test_unseen_levels_and_empty_cells_at_predict(penguin_fits):
    model, X = penguin_fits.model, penguin_fits.scaled.iloc[:4].copy()
    base = model.decision_function(X)
    changed = X.copy()
    changed.loc[changed.index[0], "island"] = "Atlantis"
    with pytest.warns(UserWarning, match=r"column 'island': 1 row\(s\) hold level\(s\) not seen "
                                         r"in fit \('Atlantis'\)"):
        scores = model.decision_function(changed)
    column = list(model.feature_names_out_).index(f"island[{X['island'].iloc[0]}]")
    np.testing.assert_allclose(scores[0], base[0] - model.coef_[:, column], rtol=1e-12)
    np.testing.assert_allclose(scores[1:], base[1:])
    strict = LogisticRegression(missing="impute", handle_unknown="error").fit(
        penguin_fits.scaled, penguin_fits.y)
    with pytest.raises(ValueError, match=r"column 'island' holds level\(s\) not seen in fit: "
                                         r"'Atlantis'"):
        strict.predict(changed)
    # an empty numeric cell takes the training mean (0 after standardizing), with its indicator
    empty = X.copy()
    empty.loc[empty.index[1], "bill_depth_mm"] = np.nan
    filled = X.copy()
    filled.loc[filled.index[1], "bill_depth_mm"] = model.encoding_.impute[1]
    indicator = list(model.feature_names_out_).index("bill_depth_mm[missing]")
    np.testing.assert_allclose(model.decision_function(empty)[1],
                               model.decision_function(filled)[1] + model.coef_[:, indicator])


def test_model_file_keeps_the_encoding_and_predicts_byte_for_byte(penguin_fits, tmp_path):
    path = tmp_path / "penguins.safetensors"
    save_model(penguin_fits.model, path)
    loaded = load_model(path)
    X = penguin_fits.scaled
    assert loaded.predict_proba(X).tobytes() == penguin_fits.model.predict_proba(X).tobytes()
    assert list(loaded.feature_names_out_) == list(penguin_fits.model.feature_names_out_)
    assert loaded.missing == "impute"
    text = path.read_bytes()
    assert b"pickle" not in text and b"island" in text
    corrupt = tmp_path / "corrupt.safetensors"
    # the encoding's policy, replaced by a word of the same length (the header keeps its size)
    corrupt.write_bytes(text.replace(b'\\"missing\\": \\"impute\\", \\"missing_counts',
                                     b'\\"missing\\": \\"impugn\\", \\"missing_counts'))
    with pytest.raises(DataError, match=r"corrupt noloop model file .*`missing` must be"):
        load_model(corrupt)


def test_missing_error_refuses_empty_cells_and_bad_parameters():
    frame, y, *_ = make_table()
    with pytest.raises(ValueError, match=r"column 'b' has 15 missing cell"):
        LogisticRegression().fit(frame, y)
    with pytest.raises(ValueError, match=r"`missing` must be 'error' or 'impute'; got 'drop'"):
        LogisticRegression(missing="drop").fit(frame, y)
    complete = frame.drop(columns=["b"]).assign(color=frame["color"].fillna("red"))
    model = LogisticRegression().fit(complete, y)  # text columns, no empty cell: missing="error"
    with pytest.raises(ValueError, match=r"column 'a' has 1 missing cell\(s\) and the model was "
                                         r"fitted with missing='error'"):
        model.predict(complete.assign(a=np.where(np.arange(len(frame)) == 3, np.nan, 1.0)))


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def penguin_csv(tmp_path_factory, penguins):
    path = tmp_path_factory.mktemp("penguins") / "penguins.csv"
    penguins.to_csv(path, index=False)
    return path


def test_cli_trains_predicts_and_evaluates_penguins_like_the_pipeline(noloop, tmp_path,
                                                                       penguin_csv, penguin_fits):
    model = tmp_path / "p.safetensors"
    result = noloop("train", penguin_csv, "--target", "species", "--model", model,
                    "--tol", "1e-10")
    assert result.returncode == 0, result.stderr
    assert "categorical: island, sex" in result.stdout
    assert ("imputed 19 empty cell(s): bill_length_mm 2 (mean), bill_depth_mm 2 (mean), "
            "flipper_length_mm 2 (mean), body_mass_g 2 (mean), sex 11 (own level)") in result.stdout
    fitted = load_model(model)
    # the CLI folds its standardization into the raw columns: same logits as the pipeline
    np.testing.assert_allclose(fitted.decision_function(penguin_fits.X),
                               penguin_fits.pipeline.decision_function(penguin_fits.X), atol=1e-6)
    # a predict file with an unseen level and an empty cell
    frame = pd.read_csv(penguin_csv)
    frame.loc[0, "island"] = "Atlantis"
    frame.loc[1, "bill_length_mm"] = np.nan
    frame.loc[2, "sex"] = np.nan
    rows = tmp_path / "new.csv"
    frame.to_csv(rows, index=False)
    out = tmp_path / "out.csv"
    result = noloop("predict", model, rows, "--output", out, "--proba")
    assert result.returncode == 0, result.stderr
    assert re.search(r"warning: column 'island': 1 row\(s\) hold level\(s\) not seen in fit "
                     r"\('Atlantis'\)", result.stderr)
    predictions = pd.read_csv(out)
    assert len(predictions) == len(frame) and set(predictions["prediction"]) <= set(fitted.classes_)
    result = noloop("evaluate", model, rows, "--target", "species")
    assert result.returncode == 0, result.stderr
    assert re.search(r"accuracy  0\.9[0-9]+", result.stdout)
    # the confusion matrix's header: a label as wide as its column does not touch the next
    assert re.search(r"^ +Adelie  +Chinstrap  +Gentoo$", result.stdout, re.MULTILINE)


def test_cli_drop_features_and_missing_policies(noloop, tmp_path, penguin_csv):
    model = tmp_path / "p.safetensors"
    result = noloop("train", penguin_csv, "--target", "species", "--model", model,
                    "--missing", "drop", "--drop", "year,island")
    assert result.returncode == 0, result.stderr
    assert "dropped 11 row(s) with empty cells" in result.stdout
    assert list(load_model(model).feature_names_in_) == [
        "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
    before = hashlib.sha256(model.read_bytes()).hexdigest()
    line = one_error_line(noloop("train", penguin_csv, "--target", "species", "--model", model,
                                 "--missing", "error"))
    assert re.search(r"penguins.csv: column 'bill_length_mm', line 5: an empty or NaN cell "
                     r"\(2 in this column\); use --missing impute", line)
    line = one_error_line(noloop("train", penguin_csv, "--target", "species", "--model", model,
                                 "--features", "island,nope"))
    assert "no column(s) 'nope'" in line
    result = noloop("train", penguin_csv, "--target", "species", "--model", model,
                    "--features", "island,bill_length_mm")
    assert result.returncode == 0 and list(load_model(model).feature_names_in_) == [
        "island", "bill_length_mm"]
    assert before != hashlib.sha256(model.read_bytes()).hexdigest()


def test_cli_imputes_an_all_numeric_table_with_empty_cells(noloop, tmp_path, penguins):
    """No text column, some empty cells: the default --missing impute fits the table encoding
    (it used to reach the numeric fit with NaN in X and fail)."""
    data = tmp_path / "numeric.csv"
    penguins.drop(columns=["island", "sex"]).to_csv(data, index=False)
    model = tmp_path / "m.safetensors"
    result = noloop("train", data, "--target", "species", "--model", model)
    assert result.returncode == 0, result.stderr
    assert "imputed 8 empty cell(s): bill_length_mm 2 (mean)" in result.stdout
    assert "bill_length_mm[missing]" in list(load_model(model).feature_names_out_)


def test_cli_reads_a_file_r_wrote_with_na_values(noloop, tmp_path, penguin_csv, penguins):
    """The CSV palmerpenguins ships (R's write.csv) marks missing cells NA: by default a
    one-line error that names --na-values; with --na-values NA the model, in memory and on
    Dask, and its predictions are those of the file with empty cells."""
    r_csv = tmp_path / "penguins_r.csv"
    penguins.to_csv(r_csv, index=False, na_rep="NA")
    kept = tmp_path / "kept.safetensors"
    kept.write_bytes(b"an earlier model")
    line = one_error_line(noloop("train", r_csv, "--target", "species", "--model", kept))
    assert "'NA' is not a number" in line and "with --na-values=NA" in line
    line = one_error_line(noloop("train", r_csv, "--target", "species", "--model", kept,
                                 "--na-values", "NA,"))
    assert "expected texts separated by commas, such as NA,n/a; got 'NA,'" in line
    penguins.to_parquet(tmp_path / "penguins.parquet", index=False)
    line = one_error_line(noloop("train", tmp_path / "penguins.parquet", "--target", "species",
                                 "--model", kept, "--na-values", "NA"))
    assert "--na-values names texts in CSV cells; " in line and "is parquet" in line
    assert kept.read_bytes() == b"an earlier model"
    models = {}
    for name, data, options in [("empty cells", penguin_csv, []),
                                ("NA", r_csv, ["--na-values", "NA"]),
                                ("NA on Dask", r_csv, ["--na-values", "NA", "--dask-above", "0"])]:
        models[name] = tmp_path / f"{len(models)}.safetensors"
        result = noloop("train", data, "--target", "species", "--model", models[name],
                        "--tol", "1e-10", *options)
        assert result.returncode == 0, result.stderr
    reference = load_model(models["empty cells"])
    for name in ("NA", "NA on Dask"):
        np.testing.assert_allclose(load_model(models[name]).coef_, reference.coef_, rtol=0,
                                   atol=1e-6)
    # predict and evaluate read files as the model's training file was read (the model keeps
    # its --na-values), on Dask too
    outputs = []
    for data, options in [(penguin_csv, []), (r_csv, []), (r_csv, ["--dask-above", "0"])]:
        outputs.append(tmp_path / f"p{len(outputs)}.csv")
        result = noloop("predict", models["NA"], data, "--output", outputs[-1], *options)
        assert result.returncode == 0, result.stderr
    assert outputs[0].read_bytes() == outputs[1].read_bytes() == outputs[2].read_bytes()
    evaluations = [noloop("evaluate", models["NA"], data, "--target", "species", "--json",
                          *options).stdout
                   for data, options in [(penguin_csv, []), (r_csv, []),
                                         (r_csv, ["--dask-above", "0"])]]
    assert json.loads(evaluations[0])["accuracy"] == json.loads(evaluations[1])["accuracy"] \
        == json.loads(evaluations[2])["accuracy"]
    # a model trained on empty cells meets 'NA': one error line with its line and the option
    line = one_error_line(noloop("predict", models["empty cells"], r_csv, "--output",
                                 tmp_path / "x.csv"))
    assert re.search(r"penguins_r\.csv: column 'bill_length_mm', line 5: 'NA' is not a number "
                     r"\(the column was numeric when the model was fitted\); read 'NA' as an "
                     r"empty cell with --na-values=NA", line), line


def test_cli_cross_validates_a_table_fold_by_fold(noloop, tmp_path, penguin_csv):
    """--cv on text columns and empty cells: LogisticRegressionCV encodes each training fold;
    the refit is the model --C gives at the chosen C."""
    chosen = tmp_path / "cv.safetensors"
    result = noloop("train", penguin_csv, "--target", "species", "--model", chosen, "--cv", "3",
                    "--Cs", "4", "--tol", "1e-10", "--max-iter", "1000", "--plot",
                    tmp_path / "cv.png")
    assert result.returncode == 0, result.stderr
    assert "cross-validating 4 values of C on 3 folds" in result.stdout
    assert (tmp_path / "cv.png").read_bytes()[:4] == b"\x89PNG"
    C = load_model(chosen).C
    direct = tmp_path / "direct.safetensors"
    result = noloop("train", penguin_csv, "--target", "species", "--model", direct, "--C",
                    repr(C), "--tol", "1e-10", "--max-iter", "1000")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(penguin_csv).drop(columns="species")
    np.testing.assert_allclose(load_model(chosen).decision_function(frame),
                               load_model(direct).decision_function(frame), rtol=0, atol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("identifier", r"column 'name' looks like an identifier \(text, all 344 values distinct\), "
                   r"not a feature; leave it out with --drop name"),
    ("all empty", r"column 'empty' is empty in every row; leave it out with --drop empty"),
    ("empty label", r"column 'species', line 3: the label is empty"),
    ("summary", r"--summary covers tables of numeric columns without empty cells; .*coef_table"),
    ("cv on dask", r"--cv on Dask covers numeric columns without empty cells; .*choose --C "
                   r"yourself"),
    ("infinite", r"bad.csv: column 'bill_depth_mm', line 302: an infinite value; expected a "
                 r"finite number"),
])
def test_cli_bad_tables_fail_in_one_line_and_keep_the_model(noloop, tmp_path, penguins, case,
                                                            message):
    frame, options = penguins.copy(), []
    if case == "identifier":
        frame["name"] = [f"penguin {i}" for i in range(len(frame))]
    elif case == "all empty":
        frame["empty"] = np.nan
    elif case in ("summary", "cv on dask"):
        options = ["--summary"] if case == "summary" else ["--cv", "3", "--dask-above", "0"]
    elif case == "infinite":
        frame.loc[300, "bill_depth_mm"] = np.inf
    else:
        frame.loc[1, "species"] = np.nan
    data = tmp_path / "bad.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "keep.safetensors"
    model.write_bytes(b"an earlier model")
    line = one_error_line(noloop("train", data, "--target", "species", "--model", model, *options))
    assert re.search(message, line), line
    assert model.read_bytes() == b"an earlier model"


def test_cli_refuses_a_date_column_in_a_table_as_on_dask(noloop, tmp_path, penguins):
    """A datetime column next to text columns was learned as raw nanoseconds in memory; it is
    refused, as the numeric path and the Dask path refuse it."""
    data = tmp_path / "dated.parquet"
    penguins.assign(seen=pd.date_range("2007-01-01", periods=len(penguins))).to_parquet(
        data, index=False)
    for threshold in ("1e18", "0"):
        line = one_error_line(noloop("train", data, "--target", "species", "--model",
                                     tmp_path / "m.safetensors", "--dask-above", threshold))
        assert re.search(r"dated.parquet: column(\(s\))? 'seen' holds? dates", line), line


# ------------------------------------------------------------------ Dask


def test_dask_dataframe_from_partitioned_parquet_fits_like_pandas(tmp_path, dask_client):
    import dask.dataframe as dd

    frame, y, y3, weight = make_table(n=240)
    folder = tmp_path / "table"
    folder.mkdir()
    whole = frame.assign(label=y3, weight=weight)
    for index, rows in enumerate(np.array_split(np.arange(len(whole)), 3)):
        whole.iloc[rows].to_parquet(folder / f"part.{index}.parquet", index=False)
    table = dd.read_parquet(str(folder))
    assert table.npartitions == 3
    X, labels, weights = table.drop(columns=["label", "weight"]), table["label"], table["weight"]
    on_dask = LogisticRegression(missing="impute", tol=1e-10, max_iter=500).fit(
        X, labels, sample_weight=weights)
    in_memory = LogisticRegression(missing="impute", tol=1e-10, max_iter=500).fit(
        frame, y3, sample_weight=weight)
    assert list(on_dask.feature_names_out_) == list(in_memory.feature_names_out_)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-6)
    np.testing.assert_allclose(on_dask.intercept_, in_memory.intercept_, atol=1e-6)
    proba = on_dask.predict_proba(X)
    assert hasattr(proba, "compute")  # lazy, one task per partition
    np.testing.assert_allclose(proba.compute(), in_memory.predict_proba(frame), atol=1e-6)


def test_cli_on_dask_trains_predicts_and_evaluates_partitioned_penguins_as_in_memory(
        noloop, tmp_path, penguin_csv, dask_client):
    """Text columns and empty cells on the CLI's Dask path: a folder of Parquet parts on a real
    LocalCluster gives the in-memory CSV's model, predictions and metrics."""
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.read_csv(penguin_csv)
    for index, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[rows].to_parquet(folder / f"part.{index}.parquet", index=False)
    on_cluster = ["--scheduler", dask_client.scheduler.address]
    memory, dask_model = tmp_path / "memory.safetensors", tmp_path / "dask.safetensors"
    fit = ["--target", "species", "--tol", "1e-10", "--drop", "year"]
    assert noloop("train", penguin_csv, "--model", memory, *fit).returncode == 0
    result = noloop("train", folder, "--model", dask_model, *fit, *on_cluster)
    assert result.returncode == 0, result.stderr
    assert "categorical: island, sex" in result.stdout
    assert "imputed 19 empty cell(s): bill_length_mm 2 (mean)" in result.stdout
    in_memory, on_dask = load_model(memory), load_model(dask_model)
    assert list(on_dask.feature_names_out_) == list(in_memory.feature_names_out_)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-6)
    np.testing.assert_allclose(on_dask.intercept_, in_memory.intercept_, atol=1e-6)

    frame.loc[0, "island"] = "Atlantis"  # an unseen level and empty cells to predict
    frame.loc[1, "bill_length_mm"] = np.nan
    frame.to_csv(tmp_path / "new.csv", index=False)
    outputs = {}
    for where, options in (("memory", []), ("dask", on_cluster)):
        outputs[where] = tmp_path / f"{where}.csv"
        result = noloop("predict", dask_model, tmp_path / "new.csv", "--output", outputs[where],
                        "--proba", "--dask-above", "0" if options else "1e18", *options)
        assert result.returncode == 0, result.stderr
    assert outputs["dask"].read_bytes() == outputs["memory"].read_bytes()
    metrics = [noloop("evaluate", dask_model, folder, "--target", "species", "--json", *options)
               for options in ([], on_cluster)]
    assert metrics[0].returncode == metrics[1].returncode == 0
    in_memory, on_dask = (json.loads(result.stdout) for result in metrics)
    assert on_dask.pop("log_loss") == pytest.approx(in_memory.pop("log_loss"), rel=1e-12)
    assert on_dask == in_memory


@pytest.mark.parametrize("options, message", [
    (["--missing", "error", "--drop", "name"], r"column 'bill_length_mm': 2 empty or NaN cell\(s\); use --missing "
                             r"impute or --missing drop"),
    (["--features", "island,nope"], r"no column\(s\) 'nope' \(in --features/--drop\)"),
    (["--features", "name"], r"column 'name' looks like an identifier \(text, all 344 values "
                             r"distinct\)"),
])
def test_cli_on_dask_refuses_bad_tables_in_one_line(noloop, tmp_path, penguins, options, message):
    data = tmp_path / "bad.csv"
    penguins.assign(name=[f"penguin {i}" for i in range(len(penguins))]).to_csv(data, index=False)
    model = tmp_path / "keep.safetensors"
    model.write_bytes(b"an earlier model")
    line = one_error_line(noloop("train", data, "--target", "species", "--model", model,
                                 "--dask-above", "0", *options))
    assert re.search(message, line), line
    assert model.read_bytes() == b"an earlier model"


def test_cli_on_dask_holds_out_the_same_rows_of_x_and_y(noloop, tmp_path, penguin_csv):
    """--test-size on a table: the split's mask and the rows it picks come from one task (a mask
    applied separately to X and y was rewritten by dask's optimizer: 264 rows of X, 253 labels)."""
    result = noloop("train", penguin_csv, "--target", "species", "--model",
                    tmp_path / "m.safetensors", "--dask-above", "0", "--test-size", "0.25")
    assert result.returncode == 0, result.stderr
    train_rows = int(re.search(r"train accuracy .*\((\d+) rows\)", result.stdout).group(1))
    test_rows = int(re.search(r"test  accuracy .*\((\d+) rows\)", result.stdout).group(1))
    assert train_rows + test_rows == 344 and 0 < test_rows < 344 / 2


@pytest.mark.parametrize("threshold, message", [
    ("1e18", r"column 'bill_length_mm', line 332: 'n/a' is not a number \(the column's other "
             r"341 cells are numbers\); read 'n/a' as an empty cell with --na-values=n/a, "
             r"empty the cell\(s\) to impute them, or leave the column out with --drop "
             r"bill_length_mm"),
    ("0", r"column 'bill_length_mm': 1 cell\(s\) such as 'n/a' are not numbers \(the column's "
          r"other 341 cells are numbers\); read 'n/a' as an empty cell with --na-values=n/a"),
], ids=["in memory", "dask"])
def test_a_numeric_column_with_stray_text_is_refused_not_learned_as_levels(
        noloop, tmp_path, penguins, threshold, message):
    """One 'n/a' in a column of numbers would make it a categorical column of ~170 levels;
    it is refused, naming the cell (in memory, its line)."""
    frame = penguins.copy()
    frame["bill_length_mm"] = frame["bill_length_mm"].astype(object)
    frame.loc[330, "bill_length_mm"] = "n/a"
    frame.to_csv(tmp_path / "stray.csv", index=False)
    line = one_error_line(noloop("train", tmp_path / "stray.csv", "--target", "species",
                                 "--model", tmp_path / "m.safetensors", "--dask-above", threshold))
    assert re.search(message, line), line


def test_cli_on_dask_drops_rows_with_empty_cells_as_in_memory(noloop, tmp_path, penguin_csv):
    models = [tmp_path / "memory.safetensors", tmp_path / "dask.safetensors"]
    for model, threshold in zip(models, ["1e18", "0"]):
        result = noloop("train", penguin_csv, "--target", "species", "--model", model,
                        "--missing", "drop", "--features", "bill_length_mm,sex,island",
                        "--tol", "1e-10", "--dask-above", threshold)
        assert result.returncode == 0, result.stderr
        assert "dropped 11 row(s) with empty cells" in result.stdout
    np.testing.assert_allclose(load_model(models[1]).coef_, load_model(models[0]).coef_,
                               atol=1e-6)


def test_coefficient_table_names_levels(penguin_fits):
    import warnings as _warnings

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", UserWarning)  # penalized: p-values not classical
        table = penguin_fits.model.coef_table(penguin_fits.scaled, penguin_fits.y)
    assert ("Gentoo", "island[Torgersen]") in table.index


def test_bench_section_races_every_contestant_to_the_optimum_and_counts_reads():
    """`noloop bench --only categorical` on the quick table: every row at the optimum, reads said."""
    from noloop.bench.categorical import section

    report, lines = {}, []
    section(report, number=9, quick=True, say=lines.append)
    result = report["categorical"]
    assert result["rows"][0]["contestant"] == "noloop lbfgs, table (codes)"
    assert all(row["reached"] for row in result["rows"]), result["rows"]
    evaluation = result["evaluation"]
    assert evaluation["loss_gradient_reads"] == pytest.approx(
        evaluation["loss_gradient_seconds"] / evaluation["read_seconds"])
    assert result["encoding_seconds"] > 0
    text = "\n".join(lines)
    assert "vs noloop on the dense one-hot matrix" in text and "reads of the table" in text


@pytest.mark.parametrize("y", [
    np.array([5, 3, 5, -2]), np.array([1, 0, 1], dtype=np.uint8),
    np.array([-128, 127, -128], dtype=np.int8), np.array([2**64 - 1, 2**64 - 3], dtype=np.uint64),
    np.array([2**40, 7]), np.array([True, False, True]), np.array(["b", "a", "b"]),
    np.array([1.0, 0.0, 1.0]),
], ids=["int64", "uint8", "int8-full-range", "uint64-top", "wide-range", "bool", "text", "float"])
def test_class_labels_by_counting_equal_numpy_unique(y):
    from noloop.linear_model._in_memory import class_indices

    classes, indices = class_indices(y)
    expected_classes, expected_indices = np.unique(y, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(indices, expected_indices)


def test_continuous_labels_are_refused_on_the_table():
    frame, *_ = make_table(n=20)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LogisticRegression(missing="impute").fit(frame, np.linspace(0, 1, 20))
