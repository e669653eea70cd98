"""Training on a real dask.distributed LocalCluster (worker processes on 127.0.0.1)."""

import os
import signal
import warnings

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from noloop import LogisticRegression


def cluster(**options):
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, **options)


@pytest.fixture(scope="module")
def client():
    with cluster() as local, Client(local) as connected:
        yield connected


def problem(n_classes, n_samples=6000, n_features=8, seed=0):
    return make_classification(n_samples=n_samples, n_features=n_features, n_informative=5,
                               n_classes=n_classes, random_state=seed)


# each solver, and binary and softmax, once: lbfgs only asks the chunks for the loss and
# gradient, which newton-cholesky's softmax case asks for too (with its Hessian)
@pytest.mark.parametrize("n_classes, solver", [(2, "lbfgs"), (2, "newton-cholesky"),
                                               (4, "newton-cholesky")])
def test_dask_array_fit_equals_numpy_fit(client, n_classes, solver):
    """A weighted, class-balanced fit on Dask chunks equals the NumPy fit to 1e-6, and the
    model's predictions stay lazy Dask arrays chunked like X."""
    X, y = problem(n_classes)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    settings = dict(solver=solver, tol=1e-10, max_iter=1000, class_weight="balanced")
    reference = LogisticRegression(**settings).fit(X, y, sample_weight=weight)
    model = LogisticRegression(**settings).fit(
        da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000),
        sample_weight=da.from_array(weight, chunks=1000),
    )
    assert model.persisted_
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-6)
    # predictions stay lazy, chunked like X's rows, 2-D probabilities as in scikit-learn
    Xd = da.from_array(X, chunks=(1500, -1))
    proba = model.predict_proba(Xd)
    assert isinstance(proba, da.Array) and proba.shape == (len(y), n_classes)
    assert proba.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(proba.compute(), reference.predict_proba(X), atol=1e-6)
    predicted = model.predict(Xd)
    assert isinstance(predicted, da.Array)
    assert np.mean(predicted.compute() == reference.predict(X)) > 0.999
    # and the fitted model is an ordinary one: NumPy in, NumPy out
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_parquet_dataset_fit_equals_numpy_fit(client, tmp_path):
    X, y = problem(3, n_samples=8000)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(
        label=np.array(["ant", "bee", "cat"])[y])
    folder = tmp_path / "dataset"
    folder.mkdir()
    for part, rows in enumerate(np.array_split(np.arange(len(frame)), 5)):
        frame.iloc[rows].to_parquet(folder / f"part-{part}.parquet", index=False)
    data = dd.read_parquet(str(folder / "*.parquet"))
    model = LogisticRegression(tol=1e-10).fit(data.drop(columns="label"), data["label"])
    reference = LogisticRegression(tol=1e-10).fit(frame.drop(columns="label"), frame["label"])
    assert list(model.classes_) == ["ant", "bee", "cat"]
    assert list(model.feature_names_in_) == list(reference.feature_names_in_)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    labels = model.predict(data.drop(columns="label")).compute()
    assert np.mean(labels == reference.predict(frame.drop(columns="label"))) > 0.999


def test_killing_a_worker_mid_fit_still_gives_the_same_model(client):
    X, y = problem(2, n_samples=20000)
    reference = LogisticRegression(tol=1e-10).fit(X, y)
    victim = {"killed": False}

    def kill_one_worker(iteration, objective):
        if iteration == 3 and not victim["killed"]:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)  # the nanny restarts it; Dask recomputes its chunks
            victim["killed"] = True

    model = LogisticRegression(tol=1e-10, callback=kill_one_worker).fit(
        da.from_array(X, chunks=(2000, -1)), da.from_array(y, chunks=2000))
    assert victim["killed"]
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)


def test_evaluations_run_on_the_worker_holding_their_chunk(client):
    # one chunk per worker, as in `noloop bench`: unpinned, the scheduler counts the small
    # evaluation tasks of successive evaluations as one large group of root tasks, queues
    # them and may run one on whichever worker is free, moving a chunk
    rng = da.random.default_rng(0)
    X = rng.standard_normal((200_000, 20), chunks=(100_000, -1))
    X_dask, y_dask = client.persist([X, X[:, 0] + rng.standard_normal(200_000) > 0])
    from distributed import get_task_stream, wait

    wait([X_dask, y_dask])
    with get_task_stream() as stream:
        model = LogisticRegression(tol=1e-8).fit(X_dask, y_dask)
    evaluations = [task for task in stream.data if "block_task" in str(task["key"])]
    assert len(evaluations) >= 2 * model.n_iter_[0]
    moved = [task["key"] for task in evaluations
             if any(step["action"] == "transfer" for step in task["startstops"])]
    assert moved == []


def test_a_prepared_chunk_is_row_major_and_aligned_and_copied_only_when_needed():
    from noloop.linear_model._dask import _prepare_block

    settings = dict(classes=np.array([0, 1]), n_outputs=1, weight_sum=4.0, class_weight=None)
    labels = np.array([0, 1, 1, 0])
    # as received over the network: a float64 array starting at an odd address
    buffer = bytearray(4 * 3 * 8 + 1)
    received = np.frombuffer(buffer, dtype=np.float64, offset=1, count=12).reshape(4, 3)
    assert not received.flags.aligned
    column_major = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    for X_block in (received, column_major):
        prepared, Y, normalized_weight = _prepare_block(X_block, labels, None, **settings)
        assert prepared.flags.c_contiguous and prepared.flags.aligned
        np.testing.assert_array_equal(prepared, X_block)
        np.testing.assert_array_equal(Y[:, 0], labels)
        np.testing.assert_allclose(normalized_weight, 0.25)
    ready = np.arange(12.0).reshape(4, 3)
    assert _prepare_block(ready, labels, None, **settings)[0] is ready


_PEAK = """
def reset():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
def status(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
"""


def test_parquet_three_times_larger_than_the_workers_memory_trains_out_of_core(tmp_path):
    n_rows, n_features = 200_000, 100
    X, y = make_classification(n_samples=n_rows, n_features=n_features, n_informative=20,
                               random_state=1)
    folder = tmp_path / "big"
    folder.mkdir()
    columns = [f"x{i}" for i in range(n_features)]
    for part, rows in enumerate(np.array_split(np.arange(n_rows), 32)):
        pd.DataFrame(X[rows], columns=columns).assign(y=y[rows]).to_parquet(
            folder / f"part-{part:02d}.parquet", index=False)
    # a few iterations follow the same path as in memory; each streams every file again
    few = {"max_iter": 2}
    with pytest.warns(ConvergenceWarning):
        reference = LogisticRegression(**few).fit(X, y)
    data_bytes = X.nbytes
    del X
    limit = data_bytes // 6  # per worker: the two together hold a third of the data
    namespace = {}
    exec(_PEAK, namespace)
    # the limit is what the cluster reports; nothing may pause or kill a worker over it here
    with dask.config.set({"distributed.worker.memory.target": False,
                          "distributed.worker.memory.spill": False,
                          "distributed.worker.memory.pause": False,
                          "distributed.worker.memory.terminate": False}):
        with cluster(memory_limit=limit) as local, Client(local) as connected:
            data = dd.read_parquet(str(folder / "*.parquet"))
            # first a small fit, so imports and loading the compiled kernel are not counted
            first = data.partitions[:2]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                LogisticRegression(max_iter=2).fit(first[columns], first["y"])
            connected.run(namespace["reset"])
            before = connected.run(namespace["status"], "VmRSS")
            with pytest.warns(ConvergenceWarning):
                model = LogisticRegression(**few).fit(data[columns], data["y"])
            peaks = connected.run(namespace["status"], "VmHWM")
    assert 2 * limit * 3 <= data_bytes + 16
    # a worker holding its half of the data would grow by data_bytes / 2 at least
    assert not model.persisted_  # streamed from the files at every evaluation
    assert model.n_iter_[0] == reference.n_iter_[0] == 2
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-9)
    for worker, peak in peaks.items():
        assert peak - before[worker] < data_bytes / 2, (peak - before[worker], data_bytes)


# ---------------------------------------------------------------- the command line


def _write_dataset(folder, frame, parts=4):
    folder.mkdir()
    for part, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[rows].to_parquet(folder / f"part-{part}.parquet", index=False)


def test_cli_trains_on_a_local_cluster_and_writes_partitioned_predictions(tmp_path, capsys):
    from noloop.cli import main

    X, y = problem(3, n_samples=6000)
    labels = np.array(["ant", "bee", "cat"])[y]  # string labels: a string column in the output
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=labels)
    _write_dataset(tmp_path / "data", frame)
    model_path = tmp_path / "model.safetensors"
    code = main(["train", str(tmp_path / "data" / "*.parquet"), "--target", "y", "--model",
                 str(model_path), "--scheduler", "local:2", "--solver", "newton-cholesky",
                 "--tol", "1e-10", "--no-standardize", "--test-size", "0.25"])
    trained = capsys.readouterr()
    assert code == 0, trained.err
    assert "with Dask (the cluster at tcp://127.0.0.1:" in trained.out
    assert "test  accuracy" in trained.out
    code = main(["predict", str(model_path), str(tmp_path / "data"), "--output",
                 str(tmp_path / "predictions"), "--proba"])
    assert code == 0, capsys.readouterr().err
    parts = sorted((tmp_path / "predictions").glob("*.parquet"))
    assert len(parts) == 4
    result = pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True)
    from noloop import load_model

    model = load_model(model_path)
    np.testing.assert_allclose(result[[f"proba_{label}" for label in ("ant", "bee", "cat")]]
                               .to_numpy(), model.predict_proba(frame.drop(columns="y")),
                               atol=1e-12)
    assert list(result["prediction"]) == list(model.predict(frame.drop(columns="y")))


def test_dask_predictions_go_to_a_folder_and_a_file_name_is_refused(tmp_path):
    from noloop.tables import DataError, write_dask_table

    frame = dd.from_pandas(pd.DataFrame({"label": [0, 1, 1, 0]}), npartitions=2)
    write_dask_table(frame, tmp_path / "predictions")  # no suffix: a folder, as Dask writes
    parts = sorted((tmp_path / "predictions").glob("*.parquet"))
    assert len(parts) == 2
    with pytest.raises(DataError, match=r"not as one \.csv file; name a folder"):
        write_dask_table(frame, tmp_path / "predictions.csv")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["predictions"]


def test_cli_reads_a_large_file_with_dask_and_says_so(tmp_path, capsys):
    from noloop.cli import main

    X, y = problem(2, n_samples=3000)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=y)
    frame.to_parquet(tmp_path / "big.parquet", index=False)
    code = main(["train", str(tmp_path / "big.parquet"), "--target", "y", "--model",
                 str(tmp_path / "m.safetensors"), "--dask-above", "1000"])
    result = capsys.readouterr()
    assert code == 0, result.err
    assert "more than 1,000 bytes: reading it with Dask" in result.out


def test_cli_unreachable_scheduler_is_one_error_and_keeps_the_model(tmp_path, capsys):
    from noloop.cli import main

    model_path = tmp_path / "model.safetensors"
    model_path.write_bytes(b"an existing model")
    X, y = problem(2, n_samples=500)
    pd.DataFrame(X).rename(columns=str).assign(y=y).to_parquet(tmp_path / "d.parquet")
    code = main(["train", str(tmp_path / "d.parquet"), "--target", "y", "--model",
                 str(model_path), "--scheduler", "tcp://127.0.0.1:9"])
    result = capsys.readouterr()
    assert code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot reach the Dask scheduler at tcp://127.0.0.1:9"), result.err
    assert model_path.read_bytes() == b"an existing model"


def test_losing_the_scheduler_mid_fit_is_one_clear_error():
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from noloop import LostClusterError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", ":0"], **quiet)
    worker = subprocess.Popen([str(bindir / "dask"), "worker", address, "--nthreads", "1",
                               "--no-dashboard"], **quiet)
    try:
        X, y = problem(2, n_samples=4000)
        with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
            deadline = time.monotonic() + 60
            while True:
                try:
                    client = Client(address, timeout="5s")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            with client:
                client.wait_for_workers(1, timeout=60)

                def kill_the_scheduler(iteration, objective):
                    if iteration == 2:
                        scheduler.send_signal(signal.SIGKILL)
                        scheduler.wait()

                with pytest.raises(LostClusterError, match="lost the Dask cluster during the fit"):
                    LogisticRegression(tol=1e-10, callback=kill_the_scheduler).fit(
                        da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000))
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()


def test_dask_predictions_never_replace_a_folder_of_other_files(tmp_path):
    from noloop.tables import DataError, write_dask_table

    frame = dd.from_pandas(pd.DataFrame({"label": [0, 1, 1, 0]}), npartitions=2)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.csv").write_text("a,y\n1,0\n")
    with pytest.raises(DataError, match="is a folder holding other files \\(train.csv\\)"):
        write_dask_table(frame, folder)
    assert (folder / "train.csv").read_text() == "a,y\n1,0\n"
    write_dask_table(frame, tmp_path / "out")
    write_dask_table(frame, tmp_path / "out")  # earlier prediction parts are replaced
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["part.0.parquet",
                                                                   "part.1.parquet"]


@pytest.mark.parametrize("solver, l1_ratio", [("lbfgs", 0.0), ("newton-cholesky", 0.0),
                                             ("gd", 1.0)])
def test_a_nan_in_a_dask_chunk_is_an_error_not_a_zero_model(client, solver, l1_ratio):
    """Dask chunks are not checked cell by cell before a fit; the first objective is NaN
    (NaN · 0), which is an error naming the cause. It was all-zero coefficients and a
    line-search warning (lbfgs), or a step halving forever (gd with an L1 part)."""
    X, y = make_classification(n_samples=200, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    X[150, 1] = np.nan
    with pytest.raises(ValueError, match=r"`X` holds NaN or infinite values"):
        LogisticRegression(solver=solver, l1_ratio=l1_ratio).fit(da.from_array(X, chunks=50),
                                                                 da.from_array(y, chunks=50))
