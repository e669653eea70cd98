"""Standardizing columns, and folding the scaling back into a fitted model."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from noloop.linear_model import LogisticRegression
from noloop.preprocessing import fold_standardization, standardize


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)
    X[:, 0] = X[:, 0] * 1000 + 50  # one column on another scale
    return X, y


def test_standardize_matches_standard_scaler_and_keeps_constant_columns_finite():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    scaled, mean, scale = standardize(X)
    np.testing.assert_allclose(scaled[:, [0, 2]], StandardScaler().fit_transform(X)[:, [0, 2]])
    np.testing.assert_array_equal(scaled[:, 1], 0.0)  # a constant column: scale 1, not 0
    np.testing.assert_allclose(mean, [3.0, 5.0, 5.0])
    np.testing.assert_allclose(scale, [np.std([1, 3, 5]), 1.0, np.std([2, 4, 9])])


def test_standardize_keeps_a_dataframe_a_dataframe():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 0.0]})
    scaled, mean, scale = standardize(frame)
    assert isinstance(scaled, pd.DataFrame) and list(scaled.columns) == ["a", "b"]
    assert list(mean.index) == ["a", "b"]
    np.testing.assert_allclose(scaled.to_numpy(), standardize(frame.to_numpy())[0])


@pytest.mark.parametrize("kind", ["dask DataFrame", "dask array"])
def test_standardize_on_dask_computes_the_statistics_and_stays_lazy(problem, kind):
    X = problem[0]
    data = dd.from_pandas(pd.DataFrame(X).rename(columns=str), npartitions=3) \
        if kind == "dask DataFrame" else da.from_array(X, chunks=(100, -1))
    scaled, mean, scale = standardize(data)
    assert type(scaled) is type(data)  # still lazy
    assert not hasattr(mean, "compute") and not hasattr(scale, "compute")
    expected, expected_mean, expected_scale = standardize(X)
    np.testing.assert_allclose(np.asarray(scaled.compute()), expected)
    np.testing.assert_allclose(np.asarray(mean), expected_mean)
    np.testing.assert_allclose(np.asarray(scale), expected_scale)


def test_a_folded_model_predicts_raw_columns_as_a_scaled_pipeline_does(problem):
    X, y = problem
    settings = dict(solver="newton-cholesky", tol=1e-10)
    scaled, mean, scale = standardize(X)
    model = LogisticRegression(**settings).fit(scaled, y)
    assert fold_standardization(model, mean, scale) is model
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(**settings)).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), pipeline.predict_proba(X), atol=1e-9)
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)


def test_folding_names_what_does_not_fit(problem):
    X, y = problem
    model = LogisticRegression(solver="newton-cholesky").fit(X, y)
    with pytest.raises(ValueError, match=r"`mean` must have shape \(4,\), one value per column"):
        fold_standardization(model, np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="`scale` positive and finite"):
        fold_standardization(model, np.zeros(4), np.array([1.0, 0.0, 1.0, 1.0]))


# ------------------------------------------------------------------ issue 15, items 7 and 15


@pytest.mark.parametrize("factor", [1e200, 1e-200, 1e300, 1e-300])
def test_standardize_is_exact_for_columns_of_any_finite_magnitude(problem, factor):
    X = problem[0].copy()
    expected = StandardScaler().fit_transform(X)
    X[:, 1] *= factor
    with np.errstate(all="raise"):  # no overflow or underflow warning reaches the user
        scaled, mean, scale = standardize(X)
    np.testing.assert_allclose(scaled, expected, atol=1e-9)
    np.testing.assert_allclose(scale[1] / factor, np.std(problem[0][:, 1]), rtol=1e-12)
    np.testing.assert_allclose(mean[1] / factor, np.mean(problem[0][:, 1]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "dask DataFrame"])
def test_a_column_of_plus_minus_1e308_standardizes_to_plus_minus_one(kind):
    column = np.where(np.arange(10) % 2, 1.7e308, -1.7e308)
    X = np.column_stack([column, np.arange(10.0)])
    data = X if kind == "numpy" else dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]),
                                                    npartitions=2)
    scaled, mean, scale = standardize(data)
    scaled = np.asarray(scaled.compute() if kind != "numpy" else scaled)
    np.testing.assert_allclose(scaled[:, 0], np.where(np.arange(10) % 2, 1.0, -1.0))
    assert np.isfinite(np.asarray(scale)).all() and np.isfinite(np.asarray(mean)).all()


def test_a_column_whose_spread_underflows_is_named():
    from noloop.errors import DataError

    X = pd.DataFrame({"ok": [1.0, 2.0], "tiny": [5e-324, 1e-323]})
    with pytest.raises(DataError, match=r"d.csv: column 'tiny': its values differ only below"):
        standardize(X, source="d.csv")


@pytest.mark.parametrize("factor", [1e200, 1e-200, "±1e308"])
def test_training_on_an_extreme_column_keeps_the_models_accuracy(tmp_path, factor):
    from noloop.cli import main
    from noloop.metrics import classification_metrics
    from noloop.persistence import load_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X @ [1.0, -2.0, 0.5] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    frame["b"] = np.sign(frame["b"]) * 1e308 if factor == "±1e308" else frame["b"] * factor
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert main(["train", str(tmp_path / "d.csv"), "--target", "y", "--model",
                 str(tmp_path / "m.safetensors"), "--quiet"]) == 0
    model = load_model(tmp_path / "m.safetensors")
    features = frame[["a", "b", "c"]].to_numpy()
    accuracy = classification_metrics(model, pd.DataFrame(features, columns=["a", "b", "c"]),
                                      y)["accuracy"]
    assert accuracy > 0.85  # a zeroed column 'b' gives about 0.6


# ------------------------------------------------------------------ issue 16: train's peak memory


def _bits(values):
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)).view(np.int64)


def _lean_cases():
    rng = np.random.default_rng(3)
    wide = rng.normal(size=(5000, 6)) * 10.0 ** rng.integers(-8, 8, size=(5000, 6))
    extreme = rng.normal(size=(3000, 5))
    extreme[:, 0] *= 1e300
    extreme[:, 1] *= 1e-310  # subnormal: the rescaled statistics
    extreme[:, 2] = 5.0      # constant: scale 1
    extreme[:, 3] = -0.0     # the sign of a zero sum survives
    return {"wide range": wide, "extreme columns": extreme,
            "one row": rng.normal(size=(1, 3)), "two columns": rng.normal(size=(7, 2))}


@pytest.mark.parametrize("case", ["wide range", "extreme columns", "one row", "two columns"])
@pytest.mark.parametrize("block_bytes", [16, 8 * 6 * 7, 1 << 20])  # one row, 7 rows, all
def test_lean_standardize_gives_the_same_bits_as_standardize(monkeypatch, case, block_bytes):
    import noloop.preprocessing as preprocessing
    from noloop.preprocessing import standardize_lean

    X = _lean_cases()[case]
    before = X.copy()
    # the block size is the only knob: the blocks' edges must not change a single bit
    monkeypatch.setattr(preprocessing, "_BLOCK_BYTES", block_bytes)
    with np.errstate(all="raise"):  # no overflow or underflow warning reaches the user
        lean = standardize_lean(X)
    for expected, got in zip(standardize(X), lean):
        np.testing.assert_array_equal(_bits(got), _bits(expected))
    np.testing.assert_array_equal(_bits(X), _bits(before))  # X itself is left as it was
    assert lean[0].flags.c_contiguous and lean[0] is not X


@pytest.mark.parametrize("layout", ["one column", "Fortran order", "float32", "DataFrame"])
def test_lean_standardize_where_numpy_sums_in_another_order_is_standardize(layout):
    from noloop.preprocessing import standardize_lean

    X = np.random.default_rng(4).normal(size=(500, 4)) * [1.0, 1e6, 1e-6, 3.0]
    X = {"one column": X[:, :1].copy(), "Fortran order": np.asfortranarray(X),
         "float32": X.astype(np.float32), "DataFrame": pd.DataFrame(X, copy=False)}[layout]
    expected = standardize(np.asarray(X))
    for want, got in zip(expected, standardize_lean(X)):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_lean_standardize_names_the_column_whose_spread_underflows():
    from noloop.errors import DataError
    from noloop.preprocessing import standardize_lean

    X = pd.DataFrame({"ok": [1.0, 2.0], "tiny": [5e-324, 1e-323]})
    with pytest.raises(DataError, match=r"d.csv: column 'tiny': its values differ only below"):
        standardize_lean(X, source="d.csv")
