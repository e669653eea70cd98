"""Measure the lesson: the seed's examples timed with loops and vectorized, side by side.

Every ratio is measured in one process, one case after the other, with the
machine named (:func:`machine_info`), because these numbers mean nothing
without the hardware and libraries that produced them.
"""

from __future__ import annotations

import os
import platform
import time
import timeit
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from noloop import loops, vectorized
from noloop._xp import to_numpy

__all__ = [
    "SeedRow", "seed_cases", "time_seed_table", "machine_info", "format_seed_table",
    "RaceRow", "race_problem", "solver_race", "format_race",
    "ReadsRow", "loss_gradient_reads", "format_reads", "peak_memory_of_fit", "run_bench",
    "reference_objective", "dask_race",
]


@dataclass(frozen=True)
class SeedCase:
    """One example of the seed: how to make its inputs and how to compute it with a twin."""

    name: str
    equation: str
    size: str
    make_inputs: Callable[[np.random.Generator, bool], tuple[Any, ...]]
    compute: Callable[[Any, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class SeedRow:
    """One measured row: best seconds per call for each twin, their ratio and agreement.

    ``backend_seconds`` holds the vectorized twin's time on other array
    libraries (``--backends``), keyed by library and device.
    """

    name: str
    equation: str
    size: str
    loop_seconds: float
    vectorized_seconds: float
    speedup: float
    agree: bool
    max_abs_difference: float
    backend_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gradient(impl: Any, args: tuple[Any, ...]) -> Any:
    w, b, X, Y = args
    dw, db = impl.backward(X, impl.forward(w, b, X), Y)
    return np.append(to_numpy(dw).ravel(), db)


def _gradient_inputs(rng: np.random.Generator, quick: bool) -> tuple[Any, ...]:
    n_x, m = (20, 200) if quick else (100, 10_000)
    X = rng.standard_normal((n_x, m))
    w = rng.standard_normal((n_x, 1)) / np.sqrt(n_x)
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return w, 0.1, X, Y


def seed_cases() -> list[SeedCase]:
    """The seed's examples at the seed's sizes (``quick`` shrinks them for tests)."""
    return [
        SeedCase(
            "dot", "z = wᵀx", "n_x = 1,000,000",
            lambda rng, quick: tuple(rng.standard_normal((2, 1_000 if quick else 1_000_000))),
            lambda impl, args: impl.dot(*args),
        ),
        SeedCase(
            "matvec", "u = Av", "A: 1000 × 1000",
            lambda rng, quick: (
                rng.standard_normal((30, 30) if quick else (1000, 1000)),
                rng.standard_normal((30 if quick else 1000, 1)),
            ),
            lambda impl, args: impl.matvec(*args),
        ),
        SeedCase(
            "exp", "u = e^v", "n = 1,000,000",
            lambda rng, quick: (rng.standard_normal(1_000 if quick else 1_000_000),),
            lambda impl, args: impl.exp(*args),
        ),
        SeedCase(
            "gradient", "dZ = A − Y, dw = X dZᵀ/m, db = ΣdZ/m", "n_x = 100, m = 10,000",
            _gradient_inputs,
            _gradient,
        ),
    ]


def _best_seconds(call: Callable[[], Any], repeat: int, calibrate: bool) -> float:
    """Best seconds per call over ``repeat`` timings (each of enough calls to last ~0.2 s)."""
    timer = timeit.Timer(call)
    number = timer.autorange()[0] if calibrate else 1
    return min(timer.repeat(repeat=repeat, number=number)) / number


@dataclass(frozen=True)
class Backend:
    """An array library (and device) the vectorized twin can run on."""

    name: str
    convert: Callable[[np.ndarray], Any]
    synchronize: Callable[[], None]


def available_backends() -> list[Backend]:
    """NumPy, plus PyTorch (CPU, and CUDA where present) and CuPy where installed and usable."""
    backends = [Backend("numpy", lambda a: a, lambda: None)]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        backends.append(Backend("torch-cpu", torch.from_numpy, lambda: None))
        if torch.cuda.is_available():
            backends.append(Backend("torch-cuda", lambda a: torch.from_numpy(a).to("cuda"),
                                    torch.cuda.synchronize))
    try:
        import cupy

        cupy.zeros(1)
        backends.append(Backend("cupy", cupy.asarray,
                                lambda: cupy.cuda.Device().synchronize()))
    except Exception:  # not installed, or no CUDA driver for it
        pass
    return backends


def time_seed_table(
    *, quick: bool = False, seed: int = 0, backends: list[Backend] | None = None
) -> list[SeedRow]:
    """Time every seed example with :mod:`noloop.loops` and :mod:`noloop.vectorized`.

    Parameters
    ----------
    quick : bool, default=False
        Shrink every size so the whole table takes a second or two.
    seed : int, default=0
        Seed of the random inputs.
    backends : list of Backend, optional
        Also time the vectorized twin on these array libraries (``--backends``);
        each must agree with the loops too.

    Returns
    -------
    rows : list of SeedRow
        One row per example, in the seed's order.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for case in seed_cases():
        args = case.make_inputs(rng, quick)
        loop_result = np.asarray(to_numpy(case.compute(loops, args)))
        scale = float(np.max(np.abs(loop_result))) or 1.0
        results = {"numpy": np.asarray(to_numpy(case.compute(vectorized, args)))}
        loop_seconds = _best_seconds(lambda: case.compute(loops, args),
                                     repeat=1 if quick else 3, calibrate=False)
        vector_seconds = _best_seconds(lambda: case.compute(vectorized, args),
                                       repeat=3 if quick else 7, calibrate=not quick)
        backend_seconds = {}
        for backend in backends or []:
            if backend.name == "numpy":
                continue
            converted = tuple(backend.convert(a) if isinstance(a, np.ndarray) else a for a in args)

            def run(converted=converted, backend=backend) -> Any:
                result = case.compute(vectorized, converted)
                backend.synchronize()
                return result

            results[backend.name] = np.asarray(to_numpy(run()))
            backend_seconds[backend.name] = _best_seconds(run, repeat=3 if quick else 7,
                                                          calibrate=not quick)
        difference = max(float(np.max(np.abs(loop_result - result))) for result in results.values())
        rows.append(
            SeedRow(
                name=case.name,
                equation=case.equation,
                size=case.size if not quick else "quick",
                loop_seconds=loop_seconds,
                vectorized_seconds=vector_seconds,
                speedup=loop_seconds / vector_seconds,
                agree=difference <= 1e-9 * scale,
                max_abs_difference=difference,
                backend_seconds=backend_seconds,
            )
        )
    return rows


def _format_seconds(seconds: float) -> str:
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_seed_table(rows: list[SeedRow]) -> str:
    """The seed table as aligned text, one line per example."""
    backends = list(rows[0].backend_seconds) if rows else []
    header = ("example", "computes", "size", "loops", "vectorized", "speed-up",
              *[f"{name} (speed-up)" for name in backends], "same answer")
    body = [
        (
            row.name,
            row.equation,
            row.size,
            _format_seconds(row.loop_seconds),
            _format_seconds(row.vectorized_seconds),
            f"{row.speedup:,.0f}×",
            *[f"{_format_seconds(row.backend_seconds[name])} "
              f"({row.loop_seconds / row.backend_seconds[name]:,.0f}×)" for name in backends],
            "yes" if row.agree else f"NO (differ by {row.max_abs_difference:.2g})",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """The hardware and library versions a measurement ran on."""
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    blas = [
        f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('num_threads')} threads)"
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "blas": ", ".join(blas) or "unknown",
    }


def format_machine(info: dict[str, Any]) -> str:
    """``machine_info()`` as one line."""
    return (
        f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, numpy {info['numpy']}, "
        f"scipy {info['scipy']}, scikit-learn {info['scikit-learn']}; BLAS: {info['blas']}"
    )


# ------------------------------------------------------------------ the solver race

RACE_GAP = 1e-6  # "at the optimum": objective within this relative gap of a tight reference


@dataclass(frozen=True)
class RaceRow:
    """One contestant: seconds to reach the optimum (or not), its objective gap and iterations."""

    contestant: str
    seconds: float
    relative_gap: float
    reached: bool
    n_iter: int | None  # None: the library does not report it
    tol: float
    ratio_to_default: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def race_problem(*, quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The race's data: ``make_classification`` with 1e6 × 100 (quick: 20,000 × 20)."""
    from sklearn.datasets import make_classification

    if quick:
        return make_classification(n_samples=20_000, n_features=20, n_informative=10,
                                   random_state=0)
    return make_classification(n_samples=1_000_000, n_features=100, n_informative=30,
                               random_state=0)


def _objective(X: np.ndarray, y: np.ndarray, coef: Any, intercept: Any, C: float) -> float:
    """The shared objective (noloop's scaling of scikit-learn's), in float64, at given parameters."""
    from noloop._loss import LogisticLoss
    from noloop._xp import namespace

    n_samples = X.shape[0]
    loss = LogisticLoss(X=X, Y=y[:, None].astype(np.float64),
                        normalized_weight=np.full(n_samples, 1.0 / n_samples),
                        l2_reg=1.0 / (C * n_samples), fit_intercept=True, xp=namespace(X))
    parameters = np.concatenate([np.asarray(to_numpy(coef), dtype=np.float64).reshape(1, -1),
                                 np.asarray(to_numpy(intercept), dtype=np.float64).reshape(1, 1)],
                                axis=1)
    return float(loss.loss(parameters))


def _torch_lbfgs(X: np.ndarray, y: np.ndarray, C: float, tol: float) -> tuple[Any, Any, int]:
    """The plain PyTorch way: full-batch torch.optim.LBFGS on BCE-with-logits plus L2."""
    import torch

    features = torch.from_numpy(X)
    labels = torch.from_numpy(y.astype(np.float64))
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    l2 = 1.0 / (C * X.shape[0])
    optimizer = torch.optim.LBFGS([w, b], max_iter=1000, tolerance_grad=tol,
                                  tolerance_change=1e-14, history_size=10,
                                  line_search_fn="strong_wolfe")

    def closure() -> Any:
        optimizer.zero_grad()
        logits = features @ w + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        loss = loss + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    n_iter = optimizer.state[optimizer._params[0]].get("n_iter", 0)
    return w.detach().numpy(), b.detach().numpy(), int(n_iter)


def _contestants(
    quick: bool, C: float
) -> list[tuple[str, Callable[[np.ndarray, np.ndarray, float], Any]]]:
    """(name, fit(X, y, tol) -> (coef, intercept, n_iter)) for every solver in the race."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from noloop.linear_model import LogisticRegression

    float32_copies: dict[int, np.ndarray] = {}

    def noloop_fit(solver: str, dtype: Any = np.float64, max_iter: int = 1000) -> Callable:
        def fit(X: np.ndarray, y: np.ndarray, tol: float) -> Any:
            data = X
            if dtype != np.float64:  # the user's data already is float32: no conversion timed
                data = float32_copies.get(id(X))
                if data is None:
                    float32_copies.clear()
                    data = float32_copies[id(X)] = X.astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = LogisticRegression(C=C, solver=solver, tol=tol,
                                           max_iter=max_iter).fit(data, y)
            return model.coef_, model.intercept_, int(model.n_iter_[0])
        return fit

    def sklearn_fit(solver: str) -> Callable:
        def fit(X: np.ndarray, y: np.ndarray, tol: float) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = SklearnLogisticRegression(C=C, solver=solver, tol=tol,
                                                  max_iter=1000).fit(X, y)
            return model.coef_, model.intercept_, int(model.n_iter_[0])
        return fit

    contestants = [
        ("noloop lbfgs (default)", noloop_fit("lbfgs")),
        ("noloop lbfgs, float32 X", noloop_fit("lbfgs", np.float32)),
        ("noloop newton-cholesky", noloop_fit("newton-cholesky")),
        ("noloop gd (the seed's update)", noloop_fit("gd", max_iter=100 if quick else 300)),
        ("scikit-learn lbfgs", sklearn_fit("lbfgs")),
        ("scikit-learn newton-cholesky", sklearn_fit("newton-cholesky")),
    ]
    try:
        import torch  # noqa: F401 - is PyTorch installed?

        contestants.append(("PyTorch full-batch LBFGS",
                            lambda X, y, tol: _torch_lbfgs(X, y, C, tol)))
    except ImportError:
        pass
    return contestants


def reference_objective(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> float:
    """The objective at a tight optimum: noloop's newton-cholesky at tol = 1e-10."""
    from noloop.linear_model import LogisticRegression

    reference = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10,
                                   max_iter=100).fit(X, y)
    return _objective(X, y, reference.coef_, reference.intercept_, C)


def solver_race(X: np.ndarray, y: np.ndarray, *, C: float = 1.0, quick: bool = False,
                best: float | None = None,
                say: Callable[[str], None] = lambda line: None) -> list[RaceRow]:
    """Time each solver to the optimum of the same problem, side by side in this process.

    Each contestant starts at tol = 1e-4 (scikit-learn's default) and, while
    its objective is more than 1e-6 (relative) above a tight reference
    (noloop's newton-cholesky at tol = 1e-10), tries again with tol ÷ 10;
    the time reported is that of the first run that got there.

    Returns
    -------
    rows : list of RaceRow
        Ratios are to noloop's default solver (lbfgs): above 1 is slower.
    """
    if best is None:
        best = reference_objective(X, y, C)
    rows = []
    for name, fit in _contestants(quick, C):
        fit(X[:500], y[:500], 1e-2)  # warm up: imports, compilation, first-call costs
        fit(X, y, 1e3)  # and any one-time preparation (the float32 copy), untimed
        for tol in (1e-4, 1e-5, 1e-6, 1e-7):
            start = time.perf_counter()
            coef, intercept, n_iter = fit(X, y, tol)
            seconds = time.perf_counter() - start
            gap = (_objective(X, y, coef, intercept, C) - best) / abs(best)
            if gap <= RACE_GAP or name.startswith("noloop gd"):
                break  # gd's cap is in iterations: tightening tol would not help it
        rows.append(RaceRow(name, seconds, gap, gap <= RACE_GAP, n_iter, tol))
        say(f"  {name}: {seconds:.2f} s")
    default_seconds = rows[0].seconds
    return [RaceRow(**{**row.as_dict(), "ratio_to_default": row.seconds / default_seconds})
            for row in rows]


def format_race(rows: list[RaceRow]) -> str:
    """The race as aligned text: seconds, ratio to noloop's default, objective gap."""
    width = max(32, *(len(row.contestant) + 2 for row in rows))
    lines = [f"{'contestant':<{width}}{'seconds':>9}{'× default':>11}{'iterations':>12}{'tol':>8}"
             f"{'objective gap':>15}  at optimum"]
    for row in rows:
        lines.append(
            f"{row.contestant:<{width}}{row.seconds:>9.2f}{row.ratio_to_default:>10.2f}×"
            f"{'n/a' if row.n_iter is None else row.n_iter:>12}{row.tol:>8.0e}"
            f"{row.relative_gap:>15.1e}  "
            f"{'yes' if row.reached else 'no'}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ Dask


WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _in_worker_memory(block: np.ndarray) -> np.ndarray:
    return np.array(block, order="C", copy=True)


def _rows_on_workers(client: Any, X: np.ndarray, y: np.ndarray, chunk_rows: int,
                     own_memory: bool = True) -> tuple[Any, Any]:
    """X and y as persisted dask arrays whose matching row-chunks live on the same worker.

    With ``own_memory`` each chunk is copied once into memory its worker
    allocated, as if the worker had read it from storage: an array received
    over the network can start at an odd address, which no loader would produce.
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


def _warm_up_worker() -> None:
    import warnings

    from noloop.linear_model import LogisticRegression

    X = np.random.default_rng(0).standard_normal((64, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(max_iter=2).fit(X, X[:, 0] > 0)


def _warm_up_cluster(client: Any) -> None:
    """Imports and compiled kernels on every worker, and one tiny fit through the Dask path.

    The NumPy contestant gets the same warm-up (a tiny fit first), so both
    rows time fitting, not importing or compiling.
    """
    import warnings

    import dask.array as da

    from noloop.linear_model import LogisticRegression

    client.run(_warm_up_worker)
    X = da.random.default_rng(0).standard_normal((256, 3), chunks=(64, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(max_iter=2).fit(X, X[:, 0] > 0)


def dask_race(X: np.ndarray, y: np.ndarray, *, best: float, C: float = 1.0, quick: bool = False,
              n_workers: int = 2, say: Callable[[str], None] = lambda line: None
              ) -> list[RaceRow]:
    """The same problem on a LocalCluster of ``n_workers`` processes, against the NumPy path.

    The data is persisted on the workers before the clock starts, as it would
    be when read there from storage; each worker runs one thread.
    """
    import logging
    import warnings

    from distributed import Client, LocalCluster
    from sklearn.exceptions import ConvergenceWarning

    from noloop.linear_model import LogisticRegression

    def timed(name: str, fit: Callable[[], Any]) -> RaceRow:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            coef, intercept, n_iter = fit()
            seconds = time.perf_counter() - start
        gap = (_objective(X, y, coef, intercept, C) - best) / abs(best)
        say(f"  {name}: {seconds:.2f} s")
        return RaceRow(name, seconds, gap, gap <= RACE_GAP, n_iter, 1e-4)

    def noloop_fit(X_: Any, y_: Any) -> Callable[[], Any]:
        def fit() -> Any:
            model = LogisticRegression(C=C, tol=1e-4, max_iter=1000).fit(X_, y_)
            return model.coef_, model.intercept_, int(model.n_iter_[0])
        return fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LogisticRegression(max_iter=2).fit(X[:500], y[:500])  # warm up the NumPy path
    rows = [timed("noloop lbfgs, NumPy in memory", noloop_fit(X, y))]
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                      env=WORKER_ENV) as cluster, Client(cluster) as client:
        # one chunk per worker: the fewest tasks per evaluation, and every task adds
        # scheduling latency on a machine whose 2 cores the scheduler and client share
        chunk_rows = -(-X.shape[0] // n_workers)
        X_dask, y_dask = _rows_on_workers(client, X, y, chunk_rows)
        _warm_up_cluster(client)
        rows.append(timed(f"noloop lbfgs, Dask LocalCluster ({n_workers} workers)",
                          noloop_fit(X_dask, y_dask)))
        try:
            from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
        except ImportError:
            say("  dask-ml: not installed, no row")
        else:
            def dask_ml_fit() -> Any:
                model = DaskMLLogisticRegression(C=C, solver="lbfgs", tol=1e-4, max_iter=1000)
                model.fit(X_dask, y_dask)
                return model.coef_, model.intercept_, None  # dask-ml reports no iteration count
            rows.append(timed("dask-ml lbfgs, same cluster", dask_ml_fit))
    default_seconds = rows[0].seconds
    return [RaceRow(**{**row.as_dict(), "ratio_to_default": row.seconds / default_seconds})
            for row in rows]


# ------------------------------------------------------------------ reads of X


@dataclass(frozen=True)
class ReadsRow:
    """Seconds of one loss-and-gradient evaluation, in reads of X (seconds of ``X.sum()``)."""

    path: str
    dtype: str
    seconds: float
    reads_of_X: float
    read_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def loss_gradient_reads(X: np.ndarray, y: np.ndarray, *, quick: bool = False) -> list[ReadsRow]:
    """Time one ``loss_gradient`` on (X, y), fused and plain vectorized, float64 and float32.

    One "read of X" is the best time of ``X.sum()`` on the same array, the
    cheapest full pass over its bytes; a ratio of 1.0 means the evaluation
    costs no more than streaming X once.
    """
    from noloop._loss import LogisticLoss
    from noloop._xp import namespace

    rows = []
    rng = np.random.default_rng(0)
    n_samples, n_features = X.shape
    for dtype in (np.float64, np.float32):
        data = np.ascontiguousarray(X, dtype=dtype)
        loss = LogisticLoss(X=data, Y=y[:, None].astype(np.float64),
                            normalized_weight=np.full(n_samples, 1.0 / n_samples),
                            l2_reg=1.0 / n_samples, fit_intercept=True, xp=namespace(data))
        coef = (rng.standard_normal((1, n_features + 1)) * 0.01).astype(dtype)
        read = _best_seconds(lambda: data.sum(), repeat=3 if quick else 7, calibrate=False)
        for path, fused in (("fused one-pass kernel", True), ("plain vectorized (two passes)", False)):
            loss.__dict__["_fused"] = fused and loss._fused
            if fused and not loss._fused:
                continue
            loss.loss_gradient(coef)  # compile / warm up
            seconds = _best_seconds(lambda: loss.loss_gradient(coef), repeat=3 if quick else 7,
                                    calibrate=False)
            rows.append(ReadsRow(path, np.dtype(dtype).name, seconds, seconds / read, read))
        del loss.__dict__["_fused"]
    return rows


def format_reads(rows: list[ReadsRow]) -> str:
    """The reads table as aligned text."""
    lines = [f"{'loss_gradient path':<32}{'dtype':<9}{'ms':>8}{'reads of X':>12}"
             f"{'X.sum() ms':>12}"]
    for row in rows:
        lines.append(f"{row.path:<32}{row.dtype:<9}{row.seconds * 1e3:>8.1f}{row.reads_of_X:>12.2f}"
                     f"{row.read_seconds * 1e3:>12.1f}")
    return "\n".join(lines)


_MEMORY_PROBE = """
import sys, warnings
import numpy as np
from noloop import LogisticRegression

def status(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1]) * 1024

X = np.load(sys.argv[1]); y = np.load(sys.argv[2])
LogisticRegression(max_iter=5).fit(X[:1000], y[:1000])  # imports and compilation first
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM) to the current resident size
before = status("VmRSS")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    LogisticRegression(solver=sys.argv[3], tol=1e-5).fit(X, y)
print(before, status("VmHWM"))
"""


def peak_memory_of_fit(X: np.ndarray, y: np.ndarray, solver: str = "lbfgs") -> dict[str, float]:
    """Peak memory a fit adds beyond its data, measured in a fresh process (Linux).

    X is written to a temporary .npy file and loaded by a child process, which
    resets its peak resident size (``/proc/self/clear_refs``) once X is loaded
    and everything is imported, fits, and reports the new peak (VmHWM): the
    difference is what the fit itself allocated at its busiest.
    """
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path = Path(folder) / "X.npy", Path(folder) / "y.npy"
        np.save(x_path, np.ascontiguousarray(X))
        np.save(y_path, y)
        completed = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(x_path), str(y_path),
                                    solver], capture_output=True, text=True, check=True)
    before, peak = (int(value) for value in completed.stdout.split())
    return {"solver": solver, "X_bytes": float(X.nbytes), "rss_before_fit_bytes": float(before),
            "peak_rss_bytes": float(peak), "added_bytes": float(peak - before),
            "added_fraction_of_X": (peak - before) / X.nbytes}


# ------------------------------------------------------------------ the whole bench


def run_bench(
    *, quick: bool = False, backends: bool = False, json_path: str | None = None,
    plot_path: str | None = None, say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``noloop bench``: the seed's table, the solver race, reads of X and peak memory.

    Parameters
    ----------
    quick : bool, default=False
        Small sizes everywhere, so the whole run fits in a test (seconds).
    backends : bool, default=False
        Add a vectorized column for every installed array library.
    json_path, plot_path : str, optional
        Where to write every row as JSON, and the speed-up chart (PNG, log scale).

    Returns
    -------
    report : dict
        What the JSON holds.
    """
    import datetime
    import json

    info = machine_info()
    report: dict[str, Any] = {
        "noloop_bench": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": info,
    }
    say(f"machine: {format_machine(info)}")
    say("")
    say("1. The seed's examples: explicit Python loops vs vectorized (best of repeated timeit runs)")
    seed_rows = time_seed_table(quick=quick,
                                backends=available_backends() if backends else None)
    report["seed_table"] = [row.as_dict() for row in seed_rows]
    say(format_seed_table(seed_rows))
    say("")

    X, y = race_problem(quick=quick)
    size = f"{X.shape[0]:,} × {X.shape[1]}"
    say(f"2. The solver race: time to the optimum (objective within {RACE_GAP:g} relative of a "
        f"tight reference), make_classification {size}, C = 1, in this process")
    best = reference_objective(X, y)
    race_rows = solver_race(X, y, quick=quick, best=best, say=say)
    report["solver_race"] = {"problem": size, "rows": [row.as_dict() for row in race_rows]}
    say(format_race(race_rows))
    sklearn_best = min((row for row in race_rows if row.contestant.startswith("scikit-learn")),
                       key=lambda row: row.seconds)
    ratio = sklearn_best.seconds / race_rows[0].seconds
    say(f"   noloop's default took {race_rows[0].seconds:.2f} s, scikit-learn's fastest "
        f"({sklearn_best.contestant}) {sklearn_best.seconds:.2f} s: "
        + (f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / ratio:.1f}× slower"))
    say("")

    say(f"3. One loss-and-gradient evaluation on the same {size} X, in reads of X")
    reads_rows = loss_gradient_reads(X, y, quick=quick)
    report["loss_gradient_reads"] = [row.as_dict() for row in reads_rows]
    say(format_reads(reads_rows))
    memory = peak_memory_of_fit(X, y)
    report["peak_memory"] = memory
    say(f"   peak memory a fit adds beyond X: {memory['added_bytes'] / 2**20:,.1f} MiB = "
        f"{memory['added_fraction_of_X']:.1%} of X ({memory['X_bytes'] / 2**20:,.0f} MiB); "
        f"whole process at its peak: {memory['peak_rss_bytes'] / 2**20:,.0f} MiB "
        "(Python, NumPy, scikit-learn and numba included)")

    say("")
    try:
        import distributed  # noqa: F401 - is Dask's cluster available?
    except ImportError:
        say("4. Dask: not installed (pip install 'noloop[dask]'), no rows")
    else:
        say(f"4. The same {size} problem on a 2-worker Dask LocalCluster, against the NumPy path "
            "(ratios to NumPy)")
        dask_rows = dask_race(X, y, best=best, quick=quick, say=say)
        report["dask"] = {"problem": size, "rows": [row.as_dict() for row in dask_rows]}
        say(format_race(dask_rows))

    if plot_path:
        from noloop.plots import plot_speedups

        plot_speedups([f"{row.name}  ({row.size})" for row in seed_rows],
                      [row.speedup for row in seed_rows], plot_path,
                      title=f"Explicit loops vs vectorized ({info['cpu']}, {info['cores']} cores)")
        say(f"\nspeed-up chart written to {plot_path}")
    if json_path:
        from pathlib import Path

        from noloop.io import atomic_write_bytes

        atomic_write_bytes(Path(json_path), json.dumps(report, indent=2).encode("utf-8"))
        say(f"every row written to {json_path}")
    return report
