"""``noloop train --cv``: the chosen C, the validation table, the refit model, the plot."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from noloop import LogisticRegressionCV, load_model


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_classification(n_samples=240, n_features=4, n_informative=2, flip_y=0.1,
                               random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    path = tmp_path_factory.mktemp("cv") / "data.csv"
    frame.to_csv(path, index=False)
    return path, X, y


def test_train_with_cv_reports_the_curve_and_saves_the_refit(noloop, tmp_path, table):
    path, X, y = table
    model_path, plot_path = tmp_path / "m.safetensors", tmp_path / "cv.png"
    result = noloop("train", path, "--target", "label", "--model", model_path, "--cv", 4,
                    "--Cs", 5, "--tol", 1e-8, "--plot", plot_path)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^\s*(\S+)\s+(0\.\d{4})\s+(0\.\d{4})(\s+← chosen)?$", result.stdout,
                      flags=re.M)
    assert len(rows) == 5 and sum(bool(row[3]) for row in rows) == 1
    # the same search on the columns train standardizes, through the library
    expected = LogisticRegressionCV(Cs=5, cv=StratifiedKFold(4), tol=1e-8, max_iter=1000).fit(
        StandardScaler().fit_transform(X), y)
    assert f"chosen C = {expected.C_:.4g};" in result.stdout
    np.testing.assert_allclose([float(row[1]) for row in rows],
                               expected.scores_[:, 0].mean(axis=0), atol=1e-4)
    model = load_model(model_path)
    assert model.C == expected.C_
    frame = pd.read_csv(path)
    np.testing.assert_allclose(model.decision_function(frame[["a", "b", "c", "d"]]),
                               expected.decision_function(StandardScaler().fit_transform(X)),
                               atol=1e-6)
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cross-validation plot written" in result.stdout


@pytest.mark.parametrize("extra, message", [
    (["--cv", "1"], "--cv needs at least 2 folds"),
    (["--cv", "3", "--penalty", "none"], "cannot go with --penalty none"),
    (["--cv", "3", "--learning-rates", "0.1,0.01"], "cannot also compare --learning-rates"),
    (["--cv", "3", "--C", "5"], "--cv chooses C; leave out --C 5"),
    (["--cv", "3", "--summary"], "--summary prints the table of one fit"),
])
def test_cv_option_conflicts_are_one_line(noloop, tmp_path, table, extra, message):
    path, _, _ = table
    result = noloop("train", path, "--target", "label", "--model", tmp_path / "m.safetensors",
                    *extra)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "m.safetensors").exists()


def test_cv_runs_at_the_l1_ratio_asked_for(noloop, tmp_path, table):
    """--l1-ratio with --cv: the search, the refit and the model file use it (they were L2)."""
    path, X, y = table
    model_path = tmp_path / "m.safetensors"
    result = noloop("train", path, "--target", "label", "--model", model_path, "--cv", 3,
                    "--Cs", 3, "--l1-ratio", 1, "--tol", 1e-8, "--max-iter", 1000)
    assert result.returncode == 0, result.stderr
    expected = LogisticRegressionCV(Cs=3, cv=StratifiedKFold(3), l1_ratios=[1.0],
                                    solver="newton-cd", tol=1e-8, max_iter=1000).fit(
        StandardScaler().fit_transform(X), y)
    model = load_model(model_path)
    assert model.l1_ratio == 1.0 and model.C == expected.C_
    np.testing.assert_array_equal(model.coef_ == 0, expected.coef_ == 0)
