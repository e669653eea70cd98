"""The race on a Dask LocalCluster, and the cluster set-up the Dask benchmarks share."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from noloop.bench.race import RaceRow, fitted_parameters, race_row, ratios_to_first

__all__ = ["WORKER_ENV", "rows_on_workers", "warm_up_cluster", "dask_race"]

# one thread per worker process: two workers on two cores, no oversubscription
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _in_worker_memory(block: np.ndarray) -> np.ndarray:
    return np.array(block, order="C", copy=True)


def rows_on_workers(client: Any, X: np.ndarray, y: np.ndarray, chunk_rows: int,
                    own_memory: bool = True) -> tuple[Any, Any]:
    """X and y as persisted dask arrays whose matching row-chunks live on the same worker.

    With ``own_memory`` each chunk is copied once into memory its worker
    allocated, as if the worker had read it from storage: an array received
    over the network can start at an odd address, which no loader would produce.

    Parameters
    ----------
    client : distributed.Client
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    chunk_rows : int
        Rows per chunk; chunks go to the workers in turn.
    own_memory : bool, default=True
        Copy each X chunk on its worker (see above).

    Returns
    -------
    X_dask, y_dask : dask arrays, persisted
    """
    import dask.array as da
    from distributed import wait

    X_parts, y_parts = [], []
    workers = list(client.scheduler_info()["workers"])
    for index, start in enumerate(range(0, X.shape[0], chunk_rows)):
        rows = slice(start, min(X.shape[0], start + chunk_rows))
        where = [workers[index % len(workers)]]
        X_future, y_future = client.scatter([X[rows], y[rows]], workers=where)
        n_rows = rows.stop - rows.start
        X_parts.append(da.from_delayed(X_future, (n_rows, X.shape[1]), X.dtype))
        y_parts.append(da.from_delayed(y_future, (n_rows,), y.dtype))
    X_dask = da.concatenate(X_parts)
    if own_memory:
        X_dask = X_dask.map_blocks(_in_worker_memory, dtype=X.dtype)
    X_dask, y_dask = client.persist([X_dask, da.concatenate(y_parts)])
    wait([X_dask, y_dask])
    return X_dask, y_dask


def _tiny_fit(X: Any, y: Any) -> None:
    """A two-iteration fit, warnings silenced: imports and compiles whatever a fit on X needs."""
    import warnings

    from noloop.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(max_iter=2).fit(X, y)


def _warm_up_worker() -> None:
    X = np.random.default_rng(0).standard_normal((64, 3))
    _tiny_fit(X, X[:, 0] > 0)


def warm_up_cluster(client: Any) -> None:
    """Imports and compiled kernels on every worker, and one tiny fit through the Dask path.

    The NumPy contestant gets the same warm-up (a tiny fit first), so both
    rows time fitting, not importing or compiling.
    """
    import dask.array as da

    client.run(_warm_up_worker)
    X = da.random.default_rng(0).standard_normal((256, 3), chunks=(64, 3))
    _tiny_fit(X, X[:, 0] > 0)


def dask_race(X: np.ndarray, y: np.ndarray, *, best: float, C: float = 1.0, quick: bool = False,
              n_workers: int = 2, say: Callable[[str], None] = lambda line: None
              ) -> list[RaceRow]:
    """The same problem on a LocalCluster of ``n_workers`` processes, against the NumPy path.

    The data is persisted on the workers before the clock starts, as it would
    be when read there from storage; each worker runs one thread.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    best : float
        The reference objective (:func:`noloop.bench.race.reference_objective`).
    C : float, default=1.0
    quick : bool, default=False
        Accepted for symmetry with :func:`noloop.bench.race.solver_race`; sizes come from X.
    n_workers : int, default=2
    say : callable, optional
        Called with one line per row as it finishes.

    Returns
    -------
    rows : list of RaceRow
        The NumPy path first; ratios are to it.
    """
    import logging

    from distributed import Client, LocalCluster

    from noloop.linear_model import LogisticRegression

    def score(name: str, fit: Callable[[], Any]) -> RaceRow:
        row = race_row(name, fit, X, y, tol=1e-4, C=C, best=best)
        say(f"  {name}: {row.seconds:.2f} s")
        return row

    def noloop_fit(X_: Any, y_: Any) -> Callable[[], Any]:
        return lambda: fitted_parameters(LogisticRegression(C=C, tol=1e-4, max_iter=1000), X_, y_)

    _tiny_fit(X[:500], y[:500])  # warm up the NumPy path
    rows = [score("noloop lbfgs, NumPy in memory", noloop_fit(X, y))]
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                      env=WORKER_ENV) as cluster, Client(cluster) as client:
        # one chunk per worker: the fewest tasks per evaluation, and every task adds
        # scheduling latency on a machine whose 2 cores the scheduler and client share
        chunk_rows = -(-X.shape[0] // n_workers)
        X_dask, y_dask = rows_on_workers(client, X, y, chunk_rows)
        warm_up_cluster(client)
        rows.append(score(f"noloop lbfgs, Dask LocalCluster ({n_workers} workers)",
                          noloop_fit(X_dask, y_dask)))
        try:
            from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
        except ImportError:  # not a dependency: installed by hand to compare
            say("  dask-ml: not installed, no row")
        else:
            rows.append(score("dask-ml lbfgs, same cluster", lambda: fitted_parameters(
                DaskMLLogisticRegression(C=C, solver="lbfgs", tol=1e-4, max_iter=1000),
                X_dask, y_dask, reports_iterations=False)))  # dask-ml reports no iteration count
    return ratios_to_first(rows)
