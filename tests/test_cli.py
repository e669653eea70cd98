"""The `noloop` command on real files, good and bad.

Behaviour is tested in-process through ``noloop.cli.main`` (each new
interpreter costs seconds); one smoke test per command runs it as a separate
process, as a user does.
"""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import heavy_imports, one_error_line
from sklearn.datasets import load_iris, make_classification
from test_tables import BAD_TRAINING_FILES

from noloop.cli import main
from noloop.errors import DataError
from noloop.linear_model import LogisticRegression
from noloop.persistence import load_model, save_model


def run_process(*args, cwd=None):
    """``noloop ARGS`` in a new interpreter (``python -m noloop``, this checkout's noloop)."""
    return subprocess.run([sys.executable, "-m", "noloop", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd, check=False)


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


# ---------------------------------------------------------------- as a user runs it


def test_the_command_trains_predicts_and_evaluates_in_its_own_process(tmp_path, binary_frame):
    data = tmp_path / "data.csv"
    binary_frame.to_csv(data, index=False)
    model_path = tmp_path / "model.safetensors"
    trained = run_process("train", data, "--target", "label", "--model", model_path)
    assert trained.returncode == 0, trained.stderr
    assert "train accuracy" in trained.stdout and model_path.exists()
    predicted = run_process("predict", model_path, data, "--output", "-")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0] == "prediction"
    assert len(predicted.stdout.splitlines()) == len(binary_frame) + 1
    evaluated = run_process("evaluate", model_path, data, "--target", "label")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "confusion matrix" in evaluated.stdout
    failed = run_process("predict", tmp_path / "nope.safetensors", data, "--output", "-")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip() == f"error: {tmp_path / 'nope.safetensors'}: no such model file"


def test_explain_runs_in_its_own_process():
    result = run_process("explain")
    assert result.returncode == 0, result.stderr
    assert "w.T (1, 3) · X (3, 4) → (1, 4)" in result.stdout


def test_help_imports_no_heavy_library():
    code = (
        "import contextlib, io\n"
        "from noloop.cli import main\n"
        "for argv in ([], ['--help'], ['train', '--help'], ['predict', '--help'],\n"
        "             ['evaluate', '--help'], ['explain', '--help'], ['bench', '--help'],\n"
        "             ['summary', '--help'], ['demo', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        "import sys\n"
        "loaded = [name for name in ('numpy', 'noloop.tables', 'noloop.bench') if name in sys.modules]\n"
        "assert not loaded, f'--help loaded {loaded}'\n"
    )
    assert heavy_imports(code) == []


# ---------------------------------------------------------------- behaviour, in-process


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("dataset", ["iris_strings", "binary_numbers"])
def test_train_predict_evaluate_round_trip(noloop, tmp_path, suffix, dataset, iris_frame,
                                           binary_frame):
    frame, target = (iris_frame, "species") if dataset == "iris_strings" else (binary_frame, "label")
    data = tmp_path / f"data.{suffix}"
    frame.to_csv(data, index=False) if suffix == "csv" else frame.to_parquet(data, index=False)
    model_path = tmp_path / "model.safetensors"
    trained = noloop("train", data, "--target", target, "--model", model_path,
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
    predicted = noloop("predict", model_path, shuffled_path, "--output", out, "--proba")
    assert predicted.returncode == 0, predicted.stderr
    result = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    assert len(result) == len(frame)
    np.testing.assert_array_equal(result["prediction"].astype(str),
                                  reference.predict(frame[features]).astype(str))
    proba_columns = [f"proba_{label}" for label in reference.classes_]
    np.testing.assert_allclose(result[proba_columns].to_numpy(),
                               reference.predict_proba(frame[features]), rtol=1e-9, atol=1e-12)

    evaluated = noloop("evaluate", model_path, data, "--target", target)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = reference.score(frame[features], frame[target])
    assert f"accuracy  {accuracy:.4f}" in evaluated.stdout
    assert "confusion matrix" in evaluated.stdout and "precision" in evaluated.stdout
    assert ("ROC AUC" in evaluated.stdout) == (dataset == "binary_numbers")


def test_standardized_training_predicts_like_a_scaled_pipeline(noloop, tmp_path, binary_frame):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = binary_frame.assign(f0=binary_frame.f0 * 1000 + 50)  # one column on another scale
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    model_path = tmp_path / "m.safetensors"
    assert noloop("train", data, "--target", "label", "--model", model_path, "--tol", "1e-10",
                  "--solver", "newton-cholesky").returncode == 0
    features = [f"f{i}" for i in range(5)]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky",
                                                                  tol=1e-10))
    pipeline.fit(frame[features].to_numpy(), frame["label"])
    model = load_model(model_path)
    np.testing.assert_allclose(model.predict_proba(frame[features]),
                               pipeline.predict_proba(frame[features].to_numpy()), atol=1e-9)


def test_predict_to_stdout_and_test_split_and_plot(noloop, tmp_path, iris_frame):
    data = tmp_path / "iris.csv"
    iris_frame.to_csv(data, index=False)
    model_path = tmp_path / "iris.safetensors"
    plot = tmp_path / "curve.png"
    trained = noloop("train", data, "--target", "species", "--model", model_path,
                     "--test-size", "0.3", "--plot", plot)
    assert trained.returncode == 0, trained.stderr
    assert "test  accuracy" in trained.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    predicted = noloop("predict", model_path, data, "--output", "-")
    assert predicted.returncode == 0
    lines = predicted.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == len(iris_frame) + 1
    assert set(lines[1:]) <= {"setosa", "versicolor", "virginica"}


def test_evaluate_shows_the_metrics_stored_at_training(noloop, tmp_path, iris_frame):
    data = tmp_path / "iris.csv"
    iris_frame.to_csv(data, index=False)
    model_path = tmp_path / "iris.safetensors"
    trained = noloop("train", data, "--target", "species", "--model", model_path,
                     "--test-size", "0.3")
    train_line, test_line = [line for line in trained.stdout.splitlines()
                             if line.startswith(("train ", "test "))]
    evaluated = noloop("evaluate", model_path, data, "--target", "species")
    assert evaluated.stdout.splitlines()[-3:] == [
        "when trained (stored in the model file)", train_line, test_line]
    as_json = json.loads(noloop("evaluate", model_path, data, "--target", "species",
                                "--json").stdout)
    assert as_json["n_rows"] == len(iris_frame) and set(as_json["training"]) == {"train", "test"}
    assert as_json["training"]["test"]["n_rows"] == 45


def test_learning_rate_comparison_plots_one_curve_per_rate(noloop, tmp_path, binary_frame):
    data = tmp_path / "d.csv"
    binary_frame.to_csv(data, index=False)
    plot = tmp_path / "rates.png"
    result = noloop("train", data, "--target", "label", "--model", tmp_path / "m.safetensors",
                    "--learning-rates", "1,0.1,0.01", "--max-iter", "50", "--plot", plot)
    assert result.returncode == 0, result.stderr
    for rate in ["α = 1:", "α = 0.1:", "α = 0.01:"]:
        assert rate in result.stdout
    assert "keeping α = 1, the lowest final cost" in result.stdout
    assert plot.stat().st_size > 10_000
    refused = noloop("train", data, "--target", "label", "--model", tmp_path / "m.safetensors",
                     "--learning-rates", "1,0.1", "--solver", "lbfgs")
    assert one_error_line(refused) == ("error: --learning-rates compares the steps of --solver "
                                       "gd; got --solver lbfgs")


def test_explain_shows_the_broadcasting(noloop):
    result = noloop("explain")
    assert result.returncode == 0
    assert "w.T (1, 3) · X (3, 4) → (1, 4)" in result.stdout
    assert "dw = np.dot(X, dZ.T) / m" in result.stdout
    assert "gives the same dw and db: yes" in result.stdout


def test_demo_writes_its_plots(noloop, tmp_path):
    result = noloop("demo", "--quick", "--plots", tmp_path / "pictures")
    assert result.returncode == 0, result.stderr
    for name in ["cost_curve.png", "learning_rates.png", "speedups.png"]:
        assert (tmp_path / "pictures" / name).read_bytes()[:4] == b"\x89PNG"


def test_no_command_prints_the_help_and_fails(noloop):
    result = noloop()
    assert result.returncode == 2
    assert result.stdout.startswith("usage: noloop") and "train" in result.stdout


# ---------------------------------------------------------------- bad input


@pytest.fixture
def good_model(tmp_path, binary_frame):
    """A model file already at the path a failing command is pointed at, and its data."""
    data = tmp_path / "good.csv"
    binary_frame.to_csv(data, index=False)
    model_path = tmp_path / "model.safetensors"
    features = [f"f{i}" for i in range(5)]
    save_model(LogisticRegression().fit(binary_frame[features], binary_frame["label"]), model_path)
    return model_path




# text in a column is a category now, and an empty cell is refused only under --missing error
# (both in test_categorical.py)
@pytest.mark.parametrize("case", [case for case in BAD_TRAINING_FILES
                                  if case != "text in a numeric column"])
def test_bad_training_file_fails_with_one_line_and_keeps_the_model(noloop, tmp_path, case,
                                                                   good_model):
    before = digest(good_model)
    content, message = BAD_TRAINING_FILES[case]
    data = tmp_path / "bad.csv"
    if content is not None:
        data.write_bytes(content)
    line = one_error_line(noloop("train", data, "--target", "label", "--model", good_model,
                                 "--missing", "error"))
    assert "bad.csv" in line
    assert re.search(message, line), line
    assert digest(good_model) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("case", ["corrupt", "not a model", "truncated", "future format"])
def test_bad_model_file_is_refused_in_one_line(noloop, tmp_path, case, good_model):
    data = tmp_path / "good.csv"
    bad = tmp_path / "bad.safetensors"
    if case == "corrupt":
        bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + b"\x00" * 32)
    elif case == "not a model":
        bad.write_bytes(b"f0,f1\n1,2\n")
    elif case == "truncated":
        bad.write_bytes(good_model.read_bytes()[:-40])
    else:
        from safetensors.numpy import save

        bad.write_bytes(save({"coef": np.zeros((1, 5))}, metadata={
            "format": "noloop-logistic-regression", "format_version": "99",
            "noloop_version": "9.0"}))
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    line = one_error_line(noloop("predict", bad, data, "--output", out))
    assert line.startswith(f"error: {bad}: "), line
    expected = {"corrupt": "not a noloop model", "not a model": "not a noloop model",
                "truncated": "corrupt", "future format": "model format 99"}[case]
    assert expected in line
    assert out.read_text() == "keep me\n"


def test_prediction_data_missing_a_feature_column(noloop, tmp_path, binary_frame, good_model):
    data = tmp_path / "rows.csv"
    binary_frame.drop(columns=["f3"]).to_csv(data, index=False)
    result = noloop("predict", good_model, data, "--output", tmp_path / "p.csv")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {data}: missing column(s) 'f3'; the model needs 'f0', 'f1', 'f2', 'f3', 'f4'"
    )
    assert not (tmp_path / "p.csv").exists()


def test_evaluating_on_labels_the_model_never_saw_is_one_line(noloop, tmp_path, binary_frame,
                                                              good_model):
    data = tmp_path / "other.csv"
    binary_frame.assign(label=binary_frame["label"] + 5).to_csv(data, index=False)
    line = one_error_line(noloop("evaluate", good_model, data, "--target", "label"))
    assert line == (f"error: {data}: column 'label', line 2: the label 6 is not one of the "
                    "model's classes 0, 1 (300 such row(s); labels 5, 6)")


def test_usage_errors_are_one_line_too(noloop, tmp_path):
    result = noloop("train", "x.csv", "--target", "y", "--model", tmp_path / "m", "--test-size", "2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: noloop train: argument --test-size: expected a fraction between 0 and 1; got '2'"
    ]
    missing = noloop("predict", tmp_path / "nope", "x.csv", "--output", "-")
    assert one_error_line(missing) == f"error: {tmp_path / 'nope'}: no such model file"
    # --debug lets the exception through, for its traceback
    with pytest.raises(DataError, match="no such model file"):
        main(["--debug", "predict", str(tmp_path / "nope"), "x.csv", "--output", "-"])


def test_a_pickle_in_place_of_a_model_runs_none_of_its_code(noloop, tmp_path, binary_frame,
                                                            pickled_exploit):
    bad, marker = pickled_exploit
    data = tmp_path / "d.csv"
    binary_frame.to_csv(data, index=False)
    for command in (["predict", bad, data, "--output", "-"],
                    ["evaluate", bad, data, "--target", "label"]):
        assert "is not a noloop model file" in one_error_line(noloop(*command))
    assert not marker.exists()


# ---------------------------------------------------------------- order of work (issue 15)


@pytest.mark.parametrize("case", ["plot in a missing folder", "plot is a folder",
                                  "plot is the model", "model is the data", "plot is the data",
                                  "model through a link to the data", "model in a missing folder"])
def test_outputs_are_checked_before_anything_is_read_or_written(noloop, tmp_path, good_model,
                                                                case):
    data = tmp_path / "good.csv"
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.csv").symlink_to(data)
    model, plot, expected = {
        "plot in a missing folder": (good_model, "nodir/c.png",
                                     "--plot nodir/c.png: the folder nodir does not exist"),
        "plot is a folder": (good_model, tmp_path / "folder", "is a folder"),
        "plot is the model": (good_model, good_model,
                              "--model .* and --plot .* name the same file"),
        "model is the data": (data, None, "--model .*good.csv: is the input DATA"),
        "plot is the data": (good_model, data, "--plot .*good.csv: is the input DATA"),
        "model through a link to the data": (tmp_path / "link.csv", None,
                                             "--model .*link.csv: is the input DATA"),
        "model in a missing folder": (tmp_path / "nodir" / "m.safetensors", None,
                                      "--model .*nodir/m.safetensors: the folder .*nodir "
                                      "does not exist"),
    }[case]
    before = {path: digest(path) for path in (good_model, data)}
    options = ["--plot", plot] if plot is not None else []
    line = one_error_line(noloop("train", data, "--target", "label", "--model", model,
                                 *options))
    assert re.search(expected, line), line
    assert {path: digest(path) for path in before} == before
    if "data" in case:
        return
    # checked before the data is read: a missing data file is not what is reported
    line = one_error_line(noloop("train", tmp_path / "absent.csv", "--target", "label",
                                 "--model", model, *options))
    assert "absent.csv: no such file" not in line and re.search(expected, line), line


def test_the_model_is_written_only_once_the_plot_is_drawn(noloop, tmp_path, good_model,
                                                          monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("the plot could not be drawn")

    monkeypatch.setattr("noloop.plots.cost_curves_png", fail)
    before = digest(good_model)
    line = one_error_line(noloop("train", tmp_path / "good.csv", "--target", "label", "--model",
                                 good_model, "--plot", tmp_path / "c.png"))
    assert line == "error: the plot could not be drawn"
    assert digest(good_model) == before and not (tmp_path / "c.png").exists()


def test_a_diverged_gd_fit_is_one_line_and_keeps_the_model(noloop, tmp_path, good_model):
    before = digest(good_model)
    line = one_error_line(noloop("train", tmp_path / "good.csv", "--target", "label",
                                 "--model", good_model, "--solver", "gd", "--learning-rate",
                                 "1e8", "--no-standardize"))
    assert line.startswith("error: gd diverged: "), line
    assert "--learning-rate 1e+08 is too large" in line and "`learning_rate`" not in line
    compared = noloop("train", tmp_path / "good.csv", "--target", "label", "--model", good_model,
                      "--learning-rates", "1e8,1e9", "--no-standardize")
    assert "α = 1e+08: diverged" in compared.stdout
    assert one_error_line(compared) == ("error: no learning rate lowered the cost (each "
                                        "diverged or stalled); try smaller ones")
    assert digest(good_model) == before


def test_a_fit_that_cannot_take_a_step_names_the_column_and_keeps_the_model(noloop, tmp_path,
                                                                           good_model):
    # a column near 1e307 unstandardized: L-BFGS's first line search fails, nothing is learned
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    X[:, 2] *= 1e307
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "huge": X[:, 2],
                  "label": (X[:, 0] > 0).astype(int)}).to_csv(tmp_path / "huge.csv", index=False)
    before = digest(good_model)
    line = one_error_line(noloop("train", tmp_path / "huge.csv", "--target", "label", "--model",
                                 good_model, "--no-standardize"))
    assert line.startswith("error: lbfgs stopped without lowering the cost (line search failed"), line
    assert "column 'huge'" in line and "train without --no-standardize" in line
    assert digest(good_model) == before
    standardized = noloop("train", tmp_path / "huge.csv", "--target", "label", "--model",
                          tmp_path / "fine.safetensors")
    assert standardized.returncode == 0, standardized.stderr


@pytest.mark.parametrize("option, expected", [
    (["--C", "0"], "argument --C: expected a positive number or inf; got '0'"),
    (["--C", "nan"], "argument --C: expected a positive number or inf; got 'nan'"),
    (["--l1-ratio", "2"], "argument --l1-ratio: expected a number in [0, 1]; got '2'"),
    (["--tol", "-1"], "argument --tol: expected a finite number >= 0; got '-1'"),
    (["--tol", "nan"], "argument --tol: expected a finite number >= 0; got 'nan'"),
    (["--max-iter", "-1"], "argument --max-iter: expected an integer >= 0; got '-1'"),
    (["--verbose", "--every", "0"], "argument --every: expected a positive integer; got '0'"),
    (["--learning-rate", "0"], "argument --learning-rate: expected 'auto' or a positive"),
    (["--learning-rates", "0.1,-1"], "argument --learning-rates: expected positive numbers"),
    (["--dask-above", "-5"], "argument --dask-above: expected a finite number >= 0"),
])
def test_option_values_are_refused_as_parsed_and_named_as_options(noloop, tmp_path, option,
                                                                  expected):
    line = one_error_line(noloop("train", tmp_path / "absent.csv", "--target", "y",
                                 "--model", tmp_path / "m.safetensors", *option))
    assert line.startswith("error: noloop train: " + expected), line


def test_predict_output_is_checked_before_the_model_is_read(noloop, tmp_path, good_model):
    data = tmp_path / "good.csv"
    wrong_kind = one_error_line(noloop("predict", good_model, data, "--output",
                                       tmp_path / "p.safetensors"))
    assert "predictions are written as CSV or Parquet" in wrong_kind
    assert "--format" not in wrong_kind and not (tmp_path / "p.safetensors").exists()
    before = {path: digest(path) for path in (good_model, data)}
    for output in (good_model, data):
        assert "is the input" in one_error_line(noloop("predict", good_model, data,
                                                       "--output", output))
    assert {path: digest(path) for path in before} == before
    missing_folder = one_error_line(noloop("predict", tmp_path / "absent.safetensors", data,
                                           "--output", tmp_path / "nodir" / "p.csv"))
    assert "--output" in missing_folder and "does not exist" in missing_folder


def test_bench_and_demo_outputs_are_checked_before_they_measure(noloop, tmp_path):
    line = one_error_line(noloop("bench", "--quick", "--json", tmp_path / "nodir" / "b.json"))
    assert "--json" in line and "does not exist" in line
    a_file = tmp_path / "pictures"
    a_file.write_text("keep me")
    line = one_error_line(noloop("demo", "--quick", "--plots", a_file))
    assert line == f"error: --plots {a_file}: is a file; expected a folder for the pictures"
    assert a_file.read_text() == "keep me"


def test_debug_after_the_command(noloop, tmp_path):
    # a bad argument with --debug anywhere: one line, no UsageError traceback
    for argv in (["train", "x.csv", "--debug", "--bogus"], ["--debug", "train", "--C", "0"]):
        line = one_error_line(noloop(*argv))
        assert line.startswith("error: noloop"), line
    # --debug after the command still lets a run's exception through, for its traceback
    with pytest.raises(DataError, match="no such model file"):
        main(["predict", str(tmp_path / "nope"), "x.csv", "--output", "-", "--debug"])


def _wait_for_sigint_handler(pid, seconds=60.0):
    """Until process ``pid`` catches SIGINT (bit 2 of SigCgt in /proc/PID/status)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        if int(fields["SigCgt"].strip(), 16) & (1 << (2 - 1)):
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} never installed a SIGINT handler")


@pytest.mark.parametrize("moment", ["start-up", "training"])
def test_ctrl_c_is_one_line_and_status_130(tmp_path, good_model, moment):
    import os
    import signal

    before = digest(good_model)
    process = subprocess.Popen(
        [sys.executable, "-m", "noloop.cli", "train", str(tmp_path / "good.csv"), "--target",
         "label", "--model", str(good_model), "--solver", "gd", "--tol", "0",
         "--max-iter", "100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        # Ctrl-C ignored until noloop's main() installs its handler: a signal sent while the
        # interpreter itself starts (site, typing: over 0.5 s on a loaded machine) would hit
        # no code of noloop's, and made this test flaky when it slept a fixed 0.5 s
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    if moment == "start-up":
        _wait_for_sigint_handler(process.pid)  # main() runs; noloop imports its modules now
    else:
        assert process.stdout.readline().startswith("training on")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (130, "error: interrupted\n"), err
    assert digest(good_model) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_predict_on_a_header_only_file_writes_an_empty_table(noloop, tmp_path, good_model,
                                                             binary_frame):
    header_only = tmp_path / "empty.csv"
    binary_frame.drop(columns="label").head(0).to_csv(header_only, index=False)
    result = noloop("predict", good_model, header_only, "--output", tmp_path / "p.csv", "--proba")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.csv").read_text().strip() == "prediction,proba_0,proba_1"
    trained = noloop("train", header_only, "--target", "f0", "--model", tmp_path / "m.safetensors")
    assert trained.returncode == 2 and not (tmp_path / "m.safetensors").exists()


def test_local_cluster_workers_leave_ctrl_c_to_the_command():
    # a terminal's Ctrl-C reaches the whole process group: workers started in this window
    # inherit SIGINT ignored, so only the command answers, with its one error line
    import signal

    from noloop.cli._common import _workers_ignoring_ctrl_c

    before = signal.getsignal(signal.SIGINT)
    with _workers_ignoring_ctrl_c():
        child = subprocess.run([sys.executable, "-c", "import signal; "
                                "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"],
                               capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "True"
    assert signal.getsignal(signal.SIGINT) is before


def test_cancelled_gathers_are_not_logged_but_other_asyncio_errors_are():
    import logging

    from distributed.client import AllExit

    from noloop.cli._common import _is_cancelled_gather

    def record(error):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                                 "Task exception was never retrieved", None,
                                 (type(error), error, None))

    assert not _is_cancelled_gather(record(AllExit()))
    assert _is_cancelled_gather(record(RuntimeError("a real failure")))


def test_train_fits_on_exactly_the_columns_standardize_gives(noloop, tmp_path):
    """The lean standardization changes no bit of the model: the same fit on ``standardize``'s
    columns, folded the same way, gives the same coefficients (issue 16)."""
    import pyarrow.csv as pacsv

    from noloop.preprocessing import fold_standardization, standardize

    rng = np.random.default_rng(16)
    X = np.round(rng.normal(size=(3000, 4)) * [1.0, 1e4, 1e-3, 7.0] + [0.0, 5e4, 0.0, -3.0], 6)
    y = np.where(X @ [1.0, 2e-4, 500.0, 0.1] + rng.logistic(size=3000) > 10.0, "yes", "no")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert noloop("train", tmp_path / "d.csv", "--target", "label", "--model",
                  tmp_path / "m.safetensors", "--quiet").returncode == 0
    table = pacsv.read_csv(tmp_path / "d.csv")  # the values the command read
    values = np.column_stack([table.column(name).to_numpy() for name in "abcd"])
    scaled, mean, scale = standardize(values)
    # copy=False: the fit sees the same C-contiguous matrix (its kernels' sums follow the layout)
    expected = LogisticRegression(C=1.0, tol=1e-4, max_iter=1000).fit(
        pd.DataFrame(scaled, columns=list("abcd"), copy=False), table.column("label").to_numpy())
    fold_standardization(expected, mean, scale)
    model = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(model.coef_.view(np.int64), expected.coef_.view(np.int64))
    np.testing.assert_array_equal(model.intercept_.view(np.int64),
                                  expected.intercept_.view(np.int64))


def test_only_the_noloop_process_freezes_its_objects_for_a_quick_shutdown():
    """Issue 16: the interpreter's shutdown collected garbage over every module's objects
    (0.7-1.2 s with scikit-learn, pandas and numba loaded); main() as the process freezes
    them first, main(argv) in a longer-lived process leaves the collector alone."""
    script = ("import gc, sys\n"
              "from noloop.cli import main\n"
              "assert main(['train']) == 2 and gc.get_freeze_count() == 0\n"
              "sys.argv = ['noloop', 'train']\n"
              "status = main()\n"
              "print(status, gc.get_freeze_count() > 0)\n")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=False)
    assert completed.stdout.split() == ["2", "True"], completed.stderr
