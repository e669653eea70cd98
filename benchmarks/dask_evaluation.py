"""What one Dask evaluation costs: the round trip, a fit's tasks, and misaligned chunks.

Run: .venv/bin/python benchmarks/dask_evaluation.py [--quick]

Prints the median wall time of a round trip of tiny tasks (one per worker,
101-element arrays), then for the bench's 1e6 × 100 fit on 2 worker processes:
the number of evaluation tasks, how many of them fetched data from another
worker first, and the median compute time of one task. Last, with both
workers at once, the kernel and NumPy's sum on each worker's chunk as it
arrived over the network (often misaligned) and on an aligned copy of it.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
import warnings

import dask
import numpy as np
from dask import delayed
from distributed import Client, LocalCluster, get_task_stream, wait

from noloop import LogisticRegression, bench


def _add(coef: np.ndarray, block: np.ndarray) -> np.ndarray:
    return coef + block


def round_trip_ms(client: Client, repeats: int = 50) -> float:
    """Median ms of one dask.compute of one tiny task per worker, each pinned to its worker."""
    workers = list(client.scheduler_info()["workers"])
    blocks = [client.submit(np.ones, 101, workers=[worker], pure=False) for worker in workers]
    wait(blocks)
    times = []
    for repeat in range(repeats):
        start = time.perf_counter()
        parts = []
        for block, worker in zip(blocks, workers):
            with dask.annotate(workers=[worker], allow_other_workers=True):
                parts.append(delayed(_add, pure=True)(np.full(101, float(repeat)), block))
        np.sum(dask.compute(*parts), axis=0)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _kernel_and_sum_ms(X_block: np.ndarray, y_block: np.ndarray, copy: bool,
                       repeats: int = 10) -> tuple[int, float, float]:
    """On a worker: (address mod 64, median kernel ms, median X.sum() ms) for its chunk."""
    from noloop.linear_model._dask import _block_task

    if copy:
        X_block = np.array(X_block, copy=True)
    settings = {"classes": np.unique(y_block), "n_outputs": 1, "weight_sum": float(y_block.size),
                "class_weight": None}
    block = (X_block, *_prepare_labels(X_block, y_block, settings))
    coef = np.zeros((1, X_block.shape[1] + 1))
    kernel, total = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        _block_task("loss_gradient", coef, block, True)
        kernel.append(time.perf_counter() - start)
        start = time.perf_counter()
        X_block.sum()
        total.append(time.perf_counter() - start)
    return (X_block.ctypes.data % 64, 1e3 * statistics.median(kernel),
            1e3 * statistics.median(total))


def _prepare_labels(X_block: np.ndarray, y_block: np.ndarray,
                    settings: dict) -> tuple[np.ndarray, np.ndarray]:
    from noloop.linear_model._dask import _prepare_block

    # a 1-column view keeps _prepare_block from copying the chunk under test
    _, Y, normalized_weight = _prepare_block(X_block[:, :1].copy(), y_block, None, **settings)
    return Y, normalized_weight


def alignment(client: Client, X: np.ndarray, y: np.ndarray) -> None:
    """The kernel on chunks as received over the network vs aligned copies, both workers at once."""
    X_dask, y_dask = bench.rows_on_workers(client, X, y, -(-X.shape[0] // 2), own_memory=False)
    pairs = list(zip(X_dask.to_delayed().ravel(), y_dask.to_delayed().ravel()))
    for copy in (False, True):
        results = dask.compute(*[delayed(_kernel_and_sum_ms)(X_block, y_block, copy)
                                 for X_block, y_block in pairs])
        for worker, (offset, kernel_ms, sum_ms) in enumerate(results):
            kind = "aligned copy" if copy else "as received"
            print(f"  worker {worker}, {kind:<12} (address % 64 = {offset:2d}): kernel "
                  f"{kernel_ms:.1f} ms, X.sum() {sum_ms:.1f} ms")


def main(quick: bool) -> None:
    warnings.simplefilter("ignore")
    X, y = bench.race_problem(quick=quick)
    print(bench.format_machine(bench.machine_info()))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      env=bench.WORKER_ENV, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        print(f"round trip, tiny tasks: {round_trip_ms(client):.1f} ms (median of 50)")
        X_dask, y_dask = bench.rows_on_workers(client, X, y, -(-X.shape[0] // 2))
        bench.warm_up_cluster(client)
        with get_task_stream() as stream:
            start = time.perf_counter()
            model = LogisticRegression(tol=1e-4).fit(X_dask, y_dask)
            seconds = time.perf_counter() - start
        tasks = [task for task in stream.data if "block_task" in str(task["key"])]
        moved = sum(any(step["action"] == "transfer" for step in task["startstops"])
                    for task in tasks)
        compute_ms = [1e3 * (step["stop"] - step["start"]) for task in tasks
                      for step in task["startstops"] if step["action"] == "compute"]
        print(f"fit of {X.shape[0]:,} × {X.shape[1]}: {seconds:.2f} s, {model.n_iter_[0]} "
              f"iterations, {len(tasks)} evaluation tasks, {moved} fetched data first, "
              f"median task compute {statistics.median(compute_ms):.1f} ms")
        print("each worker's chunk, both workers at once (medians of 10):")
        alignment(client, X, y)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
