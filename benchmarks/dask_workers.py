"""Where the Dask path's time goes: thread workers vs worker processes, each against NumPy.

Run: .venv/bin/python benchmarks/dask_workers.py [--quick]
"""

from __future__ import annotations

import logging
import sys
import time
import warnings

from distributed import Client, LocalCluster

from noloop import LogisticRegression, bench


def seconds(fit) -> float:
    start = time.perf_counter()
    fit()
    return time.perf_counter() - start


def main(quick: bool) -> None:
    warnings.simplefilter("ignore")
    X, y = bench.race_problem(quick=quick)
    print(bench.format_machine(bench.machine_info()))
    print(f"problem: {X.shape[0]:,} × {X.shape[1]}, lbfgs, tol 1e-4")
    LogisticRegression(max_iter=2).fit(X[:500], y[:500])
    for processes in (False, True):
        extra = {"env": bench.WORKER_ENV, "host": "127.0.0.1"} if processes else {}
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                          dashboard_address=None, silence_logs=logging.ERROR, **extra) as cluster, \
                Client(cluster) as client:
            X_dask, y_dask = bench.rows_on_workers(client, X, y, -(-X.shape[0] // 2))
            bench.warm_up_cluster(client)
            for _ in range(2):
                in_memory = seconds(lambda: LogisticRegression(tol=1e-4).fit(X, y))
                on_dask = seconds(lambda: LogisticRegression(tol=1e-4).fit(X_dask, y_dask))
                kind = "worker processes" if processes else "thread workers"
                print(f"2 {kind}: NumPy {in_memory:.2f} s, Dask {on_dask:.2f} s "
                      f"({on_dask / in_memory:.2f}×)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
