"""End to end: the installed `noloop` command on real files, good and bad."""

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_classification

from noloop import LogisticRegression, load_model, save_model
from noloop.io import atomic_write_bytes

NOLOOP = str(Path(sys.executable).parent / "noloop")


def run(*args, cwd=None):
    completed = subprocess.run([NOLOOP, *map(str, args)], capture_output=True, text=True,
                               timeout=300, cwd=cwd, check=False)
    return completed


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def iris_frame():
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = data.target_names[data.target]
    return frame.drop(columns="target")


@pytest.fixture(scope="module")
def binary_frame():
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    frame["label"] = y
    return frame


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("dataset", ["iris_strings", "binary_numbers"])
def test_train_predict_evaluate_round_trip(tmp_path, suffix, dataset, iris_frame, binary_frame):
    frame, target = (iris_frame, "species") if dataset == "iris_strings" else (binary_frame, "label")
    data = tmp_path / f"data.{suffix}"
    frame.to_csv(data, index=False) if suffix == "csv" else frame.to_parquet(data, index=False)
    model_path = tmp_path / "model.safetensors"
    trained = run("train", data, "--target", target, "--model", model_path,
                  "--solver", "newton-cholesky", "--no-standardize", "--tol", "1e-8")
    assert trained.returncode == 0, trained.stderr
    assert "train accuracy" in trained.stdout and model_path.exists()

    # the same fit from Python gives the same predictions
    features = [c for c in frame.columns if c != target]
    reference = LogisticRegression(solver="newton-cholesky", tol=1e-8).fit(frame[features],
                                                                          frame[target])
    # columns are matched by name: shuffle them and add an unrelated one
    shuffled = frame[features[::-1]].assign(unrelated="x")
    shuffled_path = tmp_path / f"rows.{suffix}"
    shuffled.to_csv(shuffled_path, index=False) if suffix == "csv" else \
        shuffled.to_parquet(shuffled_path, index=False)
    out = tmp_path / f"predictions.{suffix}"
    predicted = run("predict", model_path, shuffled_path, "--output", out, "--proba")
    assert predicted.returncode == 0, predicted.stderr
    result = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    assert len(result) == len(frame)
    np.testing.assert_array_equal(result["prediction"].astype(str),
                                  reference.predict(frame[features]).astype(str))
    proba_columns = [f"proba_{label}" for label in reference.classes_]
    np.testing.assert_allclose(result[proba_columns].to_numpy(),
                               reference.predict_proba(frame[features]), rtol=1e-9, atol=1e-12)

    evaluated = run("evaluate", model_path, data, "--target", target)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = reference.score(frame[features], frame[target])
    assert f"accuracy  {accuracy:.4f}" in evaluated.stdout
    assert "confusion matrix" in evaluated.stdout and "precision" in evaluated.stdout
    assert ("ROC AUC" in evaluated.stdout) == (dataset == "binary_numbers")


def test_standardized_training_predicts_like_a_scaled_pipeline(tmp_path, binary_frame):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = binary_frame.assign(f0=binary_frame.f0 * 1000 + 50)  # one column on another scale
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    model_path = tmp_path / "m.safetensors"
    assert run("train", data, "--target", "label", "--model", model_path, "--tol", "1e-10",
               "--solver", "newton-cholesky").returncode == 0
    features = [f"f{i}" for i in range(5)]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky",
                                                                  tol=1e-10))
    pipeline.fit(frame[features].to_numpy(), frame["label"])
    model = load_model(model_path)
    np.testing.assert_allclose(model.predict_proba(frame[features]),
                               pipeline.predict_proba(frame[features].to_numpy()), atol=1e-9)


def test_predict_to_stdout_and_test_split_and_plot(tmp_path, iris_frame):
    data = tmp_path / "iris.csv"
    iris_frame.to_csv(data, index=False)
    model_path = tmp_path / "iris.safetensors"
    plot = tmp_path / "curve.png"
    trained = run("train", data, "--target", "species", "--model", model_path,
                  "--test-size", "0.3", "--plot", plot)
    assert trained.returncode == 0, trained.stderr
    assert "test  accuracy" in trained.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    predicted = run("predict", model_path, data, "--output", "-")
    assert predicted.returncode == 0
    lines = predicted.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == len(iris_frame) + 1
    assert set(lines[1:]) <= {"setosa", "versicolor", "virginica"}


def test_learning_rate_comparison_plots_one_curve_per_rate(tmp_path, binary_frame):
    data = tmp_path / "d.csv"
    binary_frame.to_csv(data, index=False)
    plot = tmp_path / "rates.png"
    result = run("train", data, "--target", "label", "--model", tmp_path / "m.safetensors",
                 "--learning-rates", "1,0.1,0.01", "--max-iter", "50", "--plot", plot)
    assert result.returncode == 0, result.stderr
    for rate in ["α = 1:", "α = 0.1:", "α = 0.01:"]:
        assert rate in result.stdout
    assert plot.stat().st_size > 10_000


def test_explain_shows_the_broadcasting():
    result = run("explain")
    assert result.returncode == 0
    assert "w.T (1, 3) · X (3, 4) → (1, 4)" in result.stdout
    assert "dw = np.dot(X, dZ.T) / m" in result.stdout
    assert "gives the same dw and db: yes" in result.stdout


def test_demo_writes_its_plots(tmp_path):
    result = run("demo", "--quick", "--plots", tmp_path / "pictures")
    assert result.returncode == 0, result.stderr
    for name in ["cost_curve.png", "learning_rates.png", "speedups.png"]:
        assert (tmp_path / "pictures" / name).read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- bad input


def _good_model(tmp_path, binary_frame):
    """A model file already at the path a failing command is pointed at."""
    data = tmp_path / "good.csv"
    binary_frame.to_csv(data, index=False)
    model_path = tmp_path / "model.safetensors"
    features = [f"f{i}" for i in range(5)]
    save_model(LogisticRegression().fit(binary_frame[features], binary_frame["label"]), model_path)
    return model_path


BAD_TRAINING_FILES = {
    "missing file": (None, r"no such file"),
    "empty file": (b"", r"the file is empty"),
    "header without rows": (b"f0,f1,label\n", r"has a header \(3 columns\) but no rows"),
    "missing target": (b"f0,f1,y\n1,2,0\n3,4,1\n", r"no column named 'label'"),
    "text in a numeric column": (b"f0,f1,label\n1,2,0\n3,abc,1\n", r"column 'f1', line 3: 'abc' is not a number"),
    "NaN cell": (b"f0,f1,label\n1,2,0\n3,,1\n", r"column 'f1', line 3: an empty or NaN cell"),
    "inf cell": (b"f0,f1,label\n1,inf,0\n3,4,1\n", r"column 'f1', line 2: an infinite value"),
    "single class": (b"f0,f1,label\n1,2,1\n3,4,1\n", r"column 'label' holds a single class"),
    "ragged rows": (b"f0,f1,label\n1,2,0\n3,4,1,9\n", r"line 3 has 4 fields, but the header has 3"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, r"looks like a binary file"),
    "not UTF-8": ("f0,f1,label\n1,2,0\nč,4,1\n".encode("cp1250"), r"is not UTF-8 text \(byte 0xe8"),
}


@pytest.mark.parametrize("case", BAD_TRAINING_FILES)
def test_bad_training_file_fails_with_one_line_and_keeps_the_model(tmp_path, case, binary_frame):
    model_path = _good_model(tmp_path, binary_frame)
    before = digest(model_path)
    content, message = BAD_TRAINING_FILES[case]
    data = tmp_path / "bad.csv"
    if content is not None:
        data.write_bytes(content)
    result = run("train", data, "--target", "label", "--model", model_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "bad.csv" in lines[0]
    import re

    assert re.search(message, lines[0]), lines[0]
    assert digest(model_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("case", ["corrupt", "not a model", "truncated", "future format"])
def test_bad_model_file_is_refused_in_one_line(tmp_path, case, binary_frame):
    model_path = _good_model(tmp_path, binary_frame)
    data = tmp_path / "good.csv"
    bad = tmp_path / "bad.safetensors"
    if case == "corrupt":
        bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + b"\x00" * 32)
    elif case == "not a model":
        bad.write_bytes(b"f0,f1\n1,2\n")
    elif case == "truncated":
        bad.write_bytes(model_path.read_bytes()[:-40])
    else:
        from safetensors.numpy import save

        bad.write_bytes(save({"coef": np.zeros((1, 5))}, metadata={
            "format": "noloop-logistic-regression", "format_version": "99",
            "noloop_version": "9.0"}))
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    result = run("predict", bad, data, "--output", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.safetensors") or \
        "bad.safetensors" in lines[0]
    expected = {"corrupt": "not a noloop model", "not a model": "not a noloop model",
                "truncated": "corrupt", "future format": "model format 99"}[case]
    assert expected in lines[0]
    assert out.read_text() == "keep me\n"


def test_prediction_data_missing_a_feature_column(tmp_path, binary_frame):
    model_path = _good_model(tmp_path, binary_frame)
    data = tmp_path / "rows.csv"
    binary_frame.drop(columns=["f3"]).to_csv(data, index=False)
    result = run("predict", model_path, data, "--output", tmp_path / "p.csv")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {data}: missing column(s) 'f3'; the model needs 'f0', 'f1', 'f2', 'f3', 'f4'"
    )
    assert not (tmp_path / "p.csv").exists()


def test_usage_errors_are_one_line_too(tmp_path):
    result = run("train", "x.csv", "--target", "y", "--model", tmp_path / "m", "--test-size", "2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: noloop train: argument --test-size: expected a fraction between 0 and 1; got '2'"
    ]
    assert "Traceback" not in run("predict", tmp_path / "nope", "x.csv", "--output", "-").stderr
    debug = run("--debug", "predict", tmp_path / "nope", "x.csv", "--output", "-")
    assert "Traceback" in debug.stderr


def test_a_pickle_in_place_of_a_model_runs_none_of_its_code(tmp_path, binary_frame):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(Exploit()))
    data = tmp_path / "d.csv"
    binary_frame.to_csv(data, index=False)
    for command in (["predict", bad, data, "--output", "-"],
                    ["evaluate", bad, data, "--target", "label"]):
        result = run(*command)
        assert result.returncode == 2
        assert "is not a noloop model file" in result.stderr
    with pytest.raises(ValueError, match="not a noloop model"):
        load_model(bad)
    assert not marker.exists()


def test_save_and_load_round_trip_keeps_everything(tmp_path, iris_frame):
    features = [c for c in iris_frame.columns if c != "species"]
    model = LogisticRegression(C=0.5, tol=1e-6).fit(iris_frame[features], iris_frame["species"])
    path = tmp_path / "m.safetensors"
    save_model(model, path, metrics={"note": "ok"})
    loaded = load_model(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.intercept_, model.intercept_)
    assert list(loaded.feature_names_in_) == features
    assert loaded.loss_history_ == model.loss_history_
    assert loaded.training_metrics_ == {"note": "ok"}
    np.testing.assert_array_equal(loaded.predict(iris_frame[features]),
                                  model.predict(iris_frame[features]))


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"the good model")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # fails inside the write, after the temp file exists
    assert path.read_bytes() == b"the good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
