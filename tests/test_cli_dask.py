"""One contract at any size: predict and evaluate give on Dask what they give in memory.

The Dask runs go to the session's real LocalCluster (``--scheduler`` at its
address); the scheduler's task stream counts how often the CSV files are parsed.
"""

import collections
import re
import json

import numpy as np
import pandas as pd
import pytest

from noloop.cli import main

N_PARTS = 3


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """One CSV file, the same rows as a glob of three CSV files, and a model trained on them."""
    folder = tmp_path_factory.mktemp("cli_dask")
    rng = np.random.default_rng(7)
    n = 1500
    frame = pd.DataFrame(np.round(rng.normal(size=(n, 4)), 5), columns=["a", "b", "c", "d"])
    frame["label"] = np.where(frame.a - frame.c + rng.normal(size=n) > 0, "yes", "no")
    frame.to_csv(folder / "all.csv", index=False)
    (folder / "parts").mkdir()
    for part, rows in enumerate(np.array_split(np.arange(n), N_PARTS)):
        frame.iloc[rows].to_csv(folder / "parts" / f"p{part}.csv", index=False)
    model = folder / "model.safetensors"
    assert main(["train", str(folder / "all.csv"), "--target", "label", "--model", str(model),
                 "--quiet"]) == 0
    return {"folder": folder, "file": folder / "all.csv", "glob": str(folder / "parts" / "*.csv"),
            "model": model}


def _csv_reads(client, command):
    """Run ``noloop COMMAND`` on the cluster; (exit status, parse tasks of the CSV files)."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        status = main([*command, "--scheduler", client.scheduler.address])
    names = collections.Counter(
        (task["key"][0] if isinstance(task["key"], tuple) else task["key"]).rsplit("-", 1)[0]
        for task in stream.data)
    return status, sum(count for name, count in names.items() if "read" in name.lower())


def test_predict_on_dask_writes_the_same_csv_bytes_and_one_parquet_file(
        dataset, dask_client, tmp_path, capsys):
    memory_csv, dask_csv = tmp_path / "memory.csv", tmp_path / "dask.csv"
    assert main(["predict", str(dataset["model"]), str(dataset["file"]), "--output",
                 str(memory_csv), "--proba"]) == 0
    status, reads = _csv_reads(dask_client, ["predict", str(dataset["model"]), dataset["glob"],
                                             "--output", str(dask_csv), "--proba"])
    out = capsys.readouterr().out
    assert status == 0
    assert "with Dask: --scheduler" in out and "1,500 predictions written to" in out
    assert dask_csv.read_bytes() == memory_csv.read_bytes()
    assert reads == N_PARTS  # each partition parsed once: the checks and predictions share it

    status, _ = _csv_reads(dask_client, ["predict", str(dataset["model"]), dataset["glob"],
                                         "--output", str(tmp_path / "dask.parquet"), "--proba"])
    assert status == 0
    assert (tmp_path / "dask.parquet").is_file()  # one file, not a folder of parts
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"),
                                  pd.read_csv(memory_csv), check_dtype=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dask.csv", "dask.parquet",
                                                               "memory.csv"]


def test_evaluate_on_dask_gives_the_in_memory_metrics(dataset, dask_client, capsys):
    assert main(["evaluate", str(dataset["model"]), str(dataset["file"]), "--target", "label",
                 "--json"]) == 0
    memory = json.loads(capsys.readouterr().out)
    status, reads = _csv_reads(dask_client, ["evaluate", str(dataset["model"]), dataset["glob"],
                                             "--target", "label", "--json"])
    assert status == 0
    on_dask = json.loads(capsys.readouterr().out)  # --json: nothing else on stdout
    assert reads == N_PARTS
    for key in ("n_rows", "accuracy", "per_class", "confusion_matrix", "training"):
        assert on_dask[key] == memory[key], key
    assert on_dask["log_loss"] == pytest.approx(memory["log_loss"], rel=1e-12)
    # a 65,536-bin histogram of the logits: ties within a bin count half
    assert on_dask["roc_auc"] == pytest.approx(memory["roc_auc"], abs=1e-4)


def test_train_on_dask_parses_each_partition_once_and_says_why(dataset, dask_client, tmp_path,
                                                               capsys):
    status, reads = _csv_reads(dask_client, ["train", dataset["glob"], "--target", "label",
                                             "--model", str(tmp_path / "m.safetensors"),
                                             "--test-size", "0.2"])
    out = capsys.readouterr().out
    assert status == 0
    assert reads == N_PARTS  # checks, split, fit and both metrics read the kept partitions
    assert "with Dask: --scheduler" in out and "parsed once and kept in memory" in out
    assert "test  accuracy" in out


def test_evaluate_on_dask_names_a_label_the_model_never_saw(dataset, dask_client, tmp_path,
                                                            capsys):
    frame = pd.read_csv(dataset["file"])
    frame.loc[7, "label"] = "maybe"
    frame.to_csv(tmp_path / "odd.csv", index=False)
    status = main(["evaluate", str(dataset["model"]), str(tmp_path / "odd.csv"), "--target",
                   "label", "--dask-above", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0] == (f"error: {tmp_path / 'odd.csv'}: column 'label': the label 'maybe' is not "
                      "one of the model's classes 'no', 'yes' (1 such row(s); labels 'maybe')")


def test_auc_from_histograms_is_exact_when_no_two_scores_share_a_bin():
    from sklearn.metrics import roc_auc_score

    from noloop._dask_tables import auc_from_histograms

    rng = np.random.default_rng(0)
    scores = rng.permutation(200)
    positive = rng.random(200) < 0.4
    histograms = np.zeros((2, 200), dtype=np.int64)
    histograms[positive.astype(int), scores] = 1
    assert auc_from_histograms(*histograms) == pytest.approx(roc_auc_score(positive, scores),
                                                             abs=1e-15)
    # all in one bin: every pair a tie
    assert auc_from_histograms(np.array([5]), np.array([3])) == 0.5


def test_a_large_npy_file_is_memory_mapped_on_dask_not_refused(tmp_path, capsys):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 3))
    np.savez(tmp_path / "train.npz", X=X, y=(X[:, 0] > 0).astype(int))
    np.save(tmp_path / "big.npy", X)
    model = str(tmp_path / "m.safetensors")
    assert main(["train", str(tmp_path / "train.npz"), "--target", "y", "--model", model,
                 "--quiet"]) == 0
    assert main(["predict", model, str(tmp_path / "big.npy"), "--output",
                 str(tmp_path / "memory.csv")]) == 0
    assert main(["predict", model, str(tmp_path / "big.npy"), "--output",
                 str(tmp_path / "dask.csv"), "--dask-above", "0"]) == 0
    assert "reading it with Dask" in capsys.readouterr().out
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()


def test_the_cli_bench_sets_dasks_fit_beside_the_in_memory_fit(tmp_path, capsys):
    """Issue 16: the bench's cli section runs train forced onto Dask on the same file and
    reports both fits' seconds, as train printed them (no time is asserted)."""
    report = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "cli", "--json", str(report)]) == 0
    row = json.loads(report.read_text())["cli"][0]
    assert row["dask_fit_seconds"] > 0 and row["train_fit_seconds"] > 0
    assert row["dask_fit_ratio"] == pytest.approx(row["dask_fit_seconds"]
                                                  / row["train_fit_seconds"])
    assert row["reference_memory_ratio"] > 0
    assert "Dask's fit / the in-memory fit" in capsys.readouterr().out


# ------------------------------------------------------------------ tables on Dask: what users bring


def _penguin_like(n=240, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": np.round(rng.normal(size=n), 4),
                          "island": rng.choice(["Biscoe", "Dream", "Torgersen"], size=n),
                          "flag": rng.choice(["True", "False"], size=n).astype(object)})
    frame["label"] = np.where(frame.a + (frame.island == "Dream") > 0.3, "yes", "no")
    return frame


def test_empty_cells_in_a_true_false_column_stay_empty_on_dask(tmp_path, capsys):
    """Dask guesses types from the head: a True/False column read as bool would turn a later
    empty cell into True. It is read as nullable booleans, and learned as text with a missing
    level, as pandas reads it in memory."""
    frame = _penguin_like()
    frame.loc[[200, 230], "flag"] = None
    frame.to_csv(tmp_path / "flags.csv", index=False)
    models = {}
    for where, threshold in (("memory", "1e18"), ("dask", "0")):
        models[where] = tmp_path / f"{where}.safetensors"
        assert main(["train", str(tmp_path / "flags.csv"), "--target", "label", "--model",
                     str(models[where]), "--tol", "1e-10", "--dask-above", threshold]) == 0
        assert "flag 2 (own level)" in capsys.readouterr().out
    from noloop.persistence import load_model

    in_memory, on_dask = load_model(models["memory"]), load_model(models["dask"])
    assert list(on_dask.feature_names_out_) == list(in_memory.feature_names_out_)
    assert "flag[<missing>]" in list(on_dask.feature_names_out_)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, atol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("lacks a column", r"part2\.parquet lacks column\(s\) 'island' that .*part0\.parquet has"),
    ("text and numbers", r"column 'island' holds text in .*part0\.parquet but numbers in "
                         r".*part2\.parquet"),
    ("one class", r"column 'label' holds a single class \('yes'\); a classifier needs at least two"),
])
def test_bad_parquet_parts_are_one_line_on_dask(tmp_path, capsys, case, message):
    frame = _penguin_like()
    if case == "one class":
        frame["label"] = "yes"
    folder = tmp_path / "parts"
    folder.mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        part = frame.iloc[rows]
        if index == 2 and case == "lacks a column":
            part = part.drop(columns=["island"])
        elif index == 2 and case == "text and numbers":
            part = part.assign(island=part.island.map({"Biscoe": 1.0, "Dream": 2.0,
                                                       "Torgersen": 3.0}))
        part.to_parquet(folder / f"part{index}.parquet", index=False)
    model = tmp_path / "keep.safetensors"
    model.write_bytes(b"an earlier model")
    assert main(["train", str(folder), "--target", "label", "--model", str(model)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert re.search(message, lines[0]), lines[0]
    assert model.read_bytes() == b"an earlier model"


def test_a_csv_column_changing_type_after_dasks_sample_is_one_line(tmp_path, capsys):
    """An empty cell in a column of integers beyond the rows Dask samples: one line naming
    the file and the column, with what to do from the command line."""
    from noloop import tables

    n = tables._CSV_SAMPLE_ROWS + 50
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"count": rng.integers(0, 9, n).astype(object),
                          "b": np.round(rng.normal(size=n), 3)})
    frame["label"] = (frame.b > 0).astype(int)
    frame.loc[n - 3, "count"] = None
    frame.to_csv(tmp_path / "late.csv", index=False)
    status = main(["train", str(tmp_path / "late.csv"), "--target", "label", "--model",
                   str(tmp_path / "m.safetensors"), "--dask-above", "0"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {tmp_path / 'late.csv'}: column(s) 'count' (float64 "
                               "after the head's int64) change type"), lines[0]


def test_local_scheduler_needs_a_worker(tmp_path, capsys):
    assert main(["train", str(tmp_path / "x.csv"), "--target", "y", "--model",
                 str(tmp_path / "m.safetensors"), "--scheduler", "local:0"]) == 2
    assert "--scheduler local:N needs at least 1 worker; got 'local:0'" in capsys.readouterr().err
