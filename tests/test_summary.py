"""``noloop train --summary``, ``noloop summary`` and the covariance a model file keeps.

The command line fits on standardized columns and folds the coefficients back
to the user's; the covariance must follow by the same linear map, so the
stored table is checked against statsmodels fitted on the raw columns.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from noloop.errors import DataError
from noloop.linear_model import LogisticRegression
from noloop.linear_model._inference import fold_standardized_covariance
from noloop.persistence import load_model, read_model_covariance, save_model
from noloop.preprocessing import fold_standardization, standardize

sm = pytest.importorskip("statsmodels.api")

COLUMNS = ["radius", "texture", "smoothness"]


@pytest.fixture(scope="module")
def breast_csv(tmp_path_factory):
    """Three raw breast-cancer columns (very different scales) and the label, as a CSV."""
    data = load_breast_cancer()
    frame = pd.DataFrame(data.data[:, [0, 1, 4]], columns=COLUMNS)
    frame["target"] = data.target
    path = tmp_path_factory.mktemp("summary") / "breast.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture(scope="module")
def statsmodels_fit(breast_csv):
    _, frame = breast_csv
    exog = sm.add_constant(frame[COLUMNS], prepend=False).rename(columns={"const": "intercept"})
    return sm.Logit(frame["target"], exog).fit(disp=0, method="newton", tol=1e-12,
                                               maxiter=100)


def _train(noloop, path, model, *options):
    return noloop("train", path, "--target", "target", "--model", model, "--penalty", "none",
                  "--tol", "1e-10", "--summary", *options)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_train_summary_folds_the_covariance_to_raw_columns_as_statsmodels(
        noloop, breast_csv, statsmodels_fit, tmp_path, cov_type):
    path, _ = breast_csv
    model_path = tmp_path / "model.safetensors"
    result = _train(noloop, path, model_path, "--cov-type", cov_type)
    assert result.returncode == 0, result.stderr
    assert f"covariance {cov_type}, n = 569" in result.stdout
    stored = read_model_covariance(model_path)
    assert stored["cov_type"] == cov_type and stored["n_samples"] == 569
    expected = statsmodels_fit if cov_type == "nonrobust" else \
        statsmodels_fit.model.fit(disp=0, method="newton", tol=1e-12, cov_type="HC0")
    np.testing.assert_allclose(stored["matrix"], np.asarray(expected.cov_params()), rtol=1e-6)
    printed = [line.split() for line in result.stdout.splitlines()
               if line.split()[:1] == ["smoothness"]]
    assert len(printed) == 1
    assert float(printed[0][2]) == pytest.approx(expected.bse["smoothness"], rel=1e-3)
    assert printed[0][-1] == "***"


def test_summary_command_prints_the_stored_table_and_json(noloop, breast_csv, statsmodels_fit,
                                                          tmp_path):
    path, _ = breast_csv
    model_path = tmp_path / "model.safetensors"
    trained = _train(noloop, path, model_path)
    assert trained.returncode == 0, trained.stderr

    shown = noloop("summary", model_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "covariance nonrobust, n = 569" in lines[0]
    header = next(line for line in lines if "std err" in line)
    rows = [line for line in lines if line.split()[:1] in (["radius"], ["intercept"])]
    # aligned: every number column ends where its header does
    assert all(len(row.rstrip(" *.")) == len(header.rstrip()) for row in rows), shown.stdout
    assert "[0.025" in header and "0.975]" in header

    as_json = noloop("summary", model_path, "--json", "--alpha", "0.1")
    report = json.loads(as_json.stdout)
    assert report["cov_type"] == "nonrobust" and report["n_samples"] == 569
    table = pd.DataFrame(report["coefficients"]).set_index("feature")
    expected = statsmodels_fit
    np.testing.assert_allclose(table["std_err"], expected.bse[table.index], rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], expected.pvalues[table.index], rtol=1e-5)
    np.testing.assert_allclose(table[["ci_lower", "ci_upper"]],
                               expected.conf_int(alpha=0.1).loc[table.index], rtol=1e-6)


def test_summary_of_a_model_without_covariance_is_one_error_line(noloop, breast_csv, tmp_path):
    path, _ = breast_csv
    model_path = tmp_path / "plain.safetensors"
    assert noloop("train", path, "--target", "target", "--model", model_path).returncode == 0
    result = noloop("summary", model_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--summary" in lines[0]
    alone = noloop("train", path, "--target", "target", "--model", model_path,
                   "--cov-type", "HC1")
    assert alone.returncode == 2 and "add --summary" in alone.stderr


def test_penalized_summary_says_its_p_values_are_not_classical(noloop, breast_csv, tmp_path):
    path, _ = breast_csv
    result = noloop("train", path, "--target", "target", "--model", tmp_path / "m.safetensors",
                    "--summary")
    assert result.returncode == 0, result.stderr
    assert "p-values are not classical" in result.stdout


def test_folding_a_softmax_covariance_equals_the_raw_fit():
    """The linear map per class block: standardized softmax fit folded = the fit on raw X."""
    X, y = load_wine(return_X_y=True)
    X = X[:, :4]  # raw columns on different scales; no class is separated by them
    X_scaled, mean, scale = standardize(X)
    scaled = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X_scaled, y)
    cov = fold_standardized_covariance(scaled.covariance_matrix(X_scaled, y), mean, scale,
                                       n_blocks=2)
    raw = fold_standardization(scaled, mean, scale)
    np.testing.assert_allclose(cov, raw.covariance_matrix(X, y), rtol=1e-5, atol=1e-10)


def test_model_file_keeps_the_covariance_and_old_files_still_load(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = (X[:, :3] - X[:, :3].mean(0)) / X[:, :3].std(0)
    model = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    cov = model.covariance_matrix(X, y, cov_type="HC1")
    old = tmp_path / "old.safetensors"
    save_model(model, old)
    assert read_model_covariance(old) is None
    np.testing.assert_array_equal(load_model(old).coef_, model.coef_)

    kept = tmp_path / "kept.safetensors"
    save_model(model, kept, covariance={"matrix": cov, "cov_type": "HC1", "n_samples": 569})
    stored = read_model_covariance(kept)
    np.testing.assert_array_equal(stored["matrix"], cov)
    assert (stored["cov_type"], stored["n_samples"]) == ("HC1", 569)
    np.testing.assert_array_equal(load_model(kept).predict(X), model.predict(X))

    with pytest.raises(ValueError, match=r"finite \(4, 4\) matrix"):
        save_model(model, tmp_path / "bad.safetensors",
                   covariance={"matrix": cov[:3, :3], "cov_type": "HC1", "n_samples": 569})
    with pytest.raises(ValueError, match="cov_type"):
        save_model(model, tmp_path / "bad.safetensors",
                   covariance={"matrix": cov, "cov_type": "HC9", "n_samples": 569})
    assert not (tmp_path / "bad.safetensors").exists()

    # a covariance of the wrong size in the file is refused, naming the file and the field
    from noloop.persistence import _safetensors_bytes, _read_header  # the writer's own layout

    header, buffer = _read_header(Path(kept))
    metadata = header.pop("__metadata__")
    tensors = {name: np.frombuffer(buffer[entry["data_offsets"][0]:entry["data_offsets"][1]],
                                   dtype="<f8").reshape(entry["shape"])
               for name, entry in header.items()}
    tensors["covariance"] = np.eye(3)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(_safetensors_bytes(tensors, metadata))
    with pytest.raises(DataError, match=r"corrupt.safetensors.*`covariance`"):
        read_model_covariance(corrupt)


def test_nearly_collinear_columns_warn_naming_them():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3))
    X[:, 2] = X[:, 1] + 1e-4 * rng.standard_normal(400)
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "b_copy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=np.inf, tol=1e-10).fit(frame, y)
    with pytest.warns(UserWarning, match=r"nearly singular.*'b', 'b_copy' are nearly collinear"):
        model.covariance_matrix(frame, y)


def test_bench_inference_counts_one_pass_per_matrix():
    from noloop.bench.inference import format_inference, inference_problem, inference_rows

    X, y = inference_problem(quick=True)
    rows = {row.step.split(" (")[0]: row for row in inference_rows(X[:2000], y[:2000], quick=True)}
    assert rows["table nonrobust"].passes == 1  # the Hessian, every block of rows read once
    assert rows["table HC1"].passes == 2  # the Hessian and the meat
    assert rows["fit"].passes > 2
    assert "passes over X" in format_inference(list(rows.values()))


def test_train_summary_on_dask_keeps_the_in_memory_covariance(noloop, breast_csv, tmp_path):
    path, frame = breast_csv
    parquet = tmp_path / "breast.parquet"
    frame.to_parquet(parquet, index=False)
    in_memory, on_dask = tmp_path / "memory.safetensors", tmp_path / "dask.safetensors"
    assert _train(noloop, parquet, in_memory).returncode == 0
    result = _train(noloop, parquet, on_dask, "--dask-above", "1")
    assert result.returncode == 0, result.stderr
    assert "n = 569" in result.stdout
    np.testing.assert_allclose(read_model_covariance(on_dask)["matrix"],
                               read_model_covariance(in_memory)["matrix"], rtol=1e-6)


def test_summary_help_imports_no_heavy_library():
    from conftest import heavy_imports

    code = ("import contextlib, io\nfrom noloop.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['summary', '--help'])\n")
    assert heavy_imports(code) == []


def test_train_summary_names_a_constant_column_and_writes_no_model(noloop, breast_csv, tmp_path):
    _, frame = breast_csv
    data = tmp_path / "constant.csv"
    frame.assign(const=1.0).to_csv(data, index=False)
    model_path = tmp_path / "model.safetensors"
    result = _train(noloop, data, model_path)
    assert result.returncode == 2
    assert "'const'" in result.stderr and "constant column" in result.stderr
    assert not model_path.exists()
