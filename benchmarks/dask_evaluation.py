"""What one Dask evaluation costs: the bare round trip, and a fit's tasks from the task stream.

Run: .venv/bin/python benchmarks/dask_evaluation.py [--quick]

Prints the median wall time of a round trip of tiny tasks (one per worker,
101-element arrays), then for the bench's 1e6 × 100 fit on 2 worker processes:
the number of evaluation tasks, how many of them fetched data from another
worker first, and the median compute time of one task.
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


def main(quick: bool) -> None:
    warnings.simplefilter("ignore")
    X, y = bench.race_problem(quick=quick)
    print(bench.format_machine(bench.machine_info()))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      env=bench.WORKER_ENV, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        print(f"round trip, tiny tasks: {round_trip_ms(client):.1f} ms (median of 50)")
        X_dask, y_dask = bench._rows_on_workers(client, X, y, -(-X.shape[0] // 2))
        bench._warm_up_cluster(client)
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


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
