"""Bench section ``l1_path``: an L1 regularization path, and what gd's start-up costs.

The path race: 20 values of C on a log grid, L1 (``l1_ratio=1``), on the
solver race's problem (1e6 × 100; quick: 20,000 × 20), each contestant
warm-starting every C from the one before. A contestant reaches the
optimum when every C's objective is within a relative gap of 1e-6 of a tight
reference (noloop's newton-cd at tol = 1e-10); like the solver race, each
starts at tol = 1e-4 and tightens ten-fold until it does. Peers (glum) run
only where installed; glum's alpha is 1 / (C · n_samples).

The start-up row: ``solver="gd"``'s set-up (validation, labels, the
curvature bound on a row sample, the first evaluation) is measured as T(10 iterations) − 10 · (T(40) − T(10)) / 30 and written
in reads of X (one ``loss_gradient``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from noloop.bench._format import Column, format_table, yes_no
from noloop.bench.race import race_problem
from noloop.linear_model._objective import CURVATURE_SAMPLE_ROWS

__all__ = ["section", "PathRow", "path_grid", "path_race", "gd_startup"]

PATH_GAP = 1e-6
N_C = 20

PathFit = Callable[[np.ndarray, np.ndarray, np.ndarray, float], list[tuple[np.ndarray, float]]]


@dataclass(frozen=True)
class PathRow:
    """One contestant's whole path: seconds, the worst objective gap over the Cs, the tol used."""

    contestant: str
    seconds: float
    worst_gap: float
    reached: bool
    tol: float
    ratio_to_noloop: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def path_grid(X: np.ndarray, y: np.ndarray, n: int = N_C, span: float = 100.0) -> np.ndarray:
    """n values of C on a log grid from the smallest C with a nonzero weight to ``span`` times it.

    At w = 0 with the intercept at its optimum log(ȳ / (1 − ȳ)), the averaged
    gradient is g = Xᵀ(ȳ − y) / n; the L1 strength 1 / (C n) keeps every weight
    at zero while it is ≥ ‖g‖∞.
    """
    gradient = X.T @ (y.mean() - y) / X.shape[0]
    C_zero = 1.0 / (X.shape[0] * np.max(np.abs(gradient)))
    return C_zero * np.logspace(0.05, np.log10(span), n)


def _objective_values(X: np.ndarray, y: np.ndarray, Cs: np.ndarray,
                      path: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """The L1 objective (averaged loss + ‖w‖₁ / (C n)) at each (coef, intercept) of ``path``."""
    from noloop.linear_model._dense import DenseData
    from noloop.linear_model._objective import L1Penalty, L2Penalty, LogisticObjective

    n = X.shape[0]
    data = DenseData(X, y[:, None].astype(np.float64), np.full(n, 1.0 / n), fit_intercept=True)
    values = []
    for C, (coef, intercept) in zip(Cs, path):
        objective = LogisticObjective(data, L2Penalty(0.0), L1Penalty(1.0 / (C * n)))
        parameters = np.concatenate([np.ravel(coef), [float(intercept)]])[None, :]
        values.append(objective.value(parameters))
    return np.array(values)


def _warm_path(make_model: Callable[[float], Any]) -> PathFit:
    """A path fit: one estimator (``make_model(tol)``, L1, warm-started) refitted at each C."""
    def fit(X: np.ndarray, y: np.ndarray, Cs: np.ndarray, tol: float
            ) -> list[tuple[np.ndarray, float]]:
        model = make_model(tol)
        path = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for C in Cs:
                model.set_params(C=float(C)).fit(X, y)
                path.append((model.coef_.ravel().copy(), float(model.intercept_[0])))
        return path
    return fit


def _noloop_path(solver: str, max_iter: int) -> PathFit:
    def make_model(tol: float) -> Any:
        from noloop.linear_model import LogisticRegression

        return LogisticRegression(l1_ratio=1.0, solver=solver, tol=tol, max_iter=max_iter,
                                  warm_start=True)
    return _warm_path(make_model)


def _saga_path(max_iter: int) -> PathFit:
    def make_model(tol: float) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(l1_ratio=1.0, solver="saga", tol=tol, max_iter=max_iter,
                                  warm_start=True)
    return _warm_path(make_model)


def _glum_path(X: np.ndarray, y: np.ndarray, Cs: np.ndarray, tol: float
               ) -> list[tuple[np.ndarray, float]]:
    from glum import GeneralizedLinearRegressor

    alphas = 1.0 / (np.asarray(Cs) * X.shape[0])  # glum: mean deviance / 2 + alpha ‖w‖₁
    model = GeneralizedLinearRegressor(family="binomial", l1_ratio=1.0, alpha_search=True,
                                       alphas=alphas, gradient_tol=tol, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y.astype(np.float64))
    return [(np.asarray(coef), float(intercept))
            for coef, intercept in zip(model.coef_path_, model.intercept_path_)]


def contestants(quick: bool) -> list[tuple[str, PathFit]]:
    """(name, fit(X, y, Cs, tol) -> [(coef, intercept) per C]) for every contestant here.

    ``quick`` (for tests) races noloop's two solvers only.
    """
    race: list[tuple[str, PathFit]] = [
        ("noloop newton-cd (default for L1)", _noloop_path("newton-cd", 100)),
        ("noloop gd (FISTA)", _noloop_path("gd", 300 if quick else 100)),
    ]
    if quick:
        return race
    race.append(("scikit-learn saga", _saga_path(10)))
    try:
        import glum  # noqa: F401 - installed? (not a dependency)
    except ImportError:
        return race
    race.append(("glum irls-cd", _glum_path))
    return race


def path_race(X: np.ndarray, y: np.ndarray, *, quick: bool = False,
              say: Callable[[str], None] = lambda line: None) -> tuple[np.ndarray, list[PathRow]]:
    """Time every contestant's warm-started L1 path; return the grid of C and one row each."""
    Cs = path_grid(X, y, n=5 if quick else N_C)
    reference = _noloop_path("newton-cd", 200)(X, y, Cs, 1e-10)
    best = _objective_values(X, y, Cs, reference)
    rows = []
    for name, fit in contestants(quick):
        fit(X[:2000], y[:2000], Cs[:2], 1e-2)  # warm up: imports, compilation
        slow = name.startswith(("noloop gd", "scikit-learn saga"))
        for tol in ((1e-4,) if slow and not quick else (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)):
            start = time.perf_counter()
            path = fit(X, y, Cs, tol)
            seconds = time.perf_counter() - start
            gaps = (_objective_values(X, y, Cs, path) - best) / np.abs(best)
            worst = float(np.max(gaps))
            row = PathRow(name, seconds, worst, worst <= PATH_GAP, tol)
            if row.reached or (slow and seconds > 30) or (quick and slow):
                break  # an epoch- or step-capped solver gains nothing from a tighter tol
        rows.append(row)
        say(f"  {name}: {row.seconds:.2f} s")
    first = rows[0].seconds
    return Cs, [PathRow(**{**row.as_dict(), "ratio_to_noloop": row.seconds / first})
                for row in rows]


def gd_startup(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """gd's set-up before its first step, in seconds and in reads of X (one loss_gradient).

    Set-up = T(10 iterations) − 10 · (T(40) − T(10)) / 30, the best of two
    timings each; also the curvature bound alone, on its row sample (now) and with
    2 power iterations on every row (before).
    """
    from noloop.bench.race import _objective
    from noloop.linear_model import LogisticRegression

    def best_fit_seconds(max_iter: int) -> float:  # best of two: the machine is shared
        model = LogisticRegression(solver="gd", max_iter=max_iter, tol=0.0)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, y)
            times.append(time.perf_counter() - start)
        return min(times)

    def best_seconds(call: Callable[[], Any]) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return min(times)

    objective = _objective(X, y)
    coef = np.zeros(objective.layout.shape)
    read = best_seconds(lambda: objective.loss_gradient(coef))
    ten, forty = best_fit_seconds(10), best_fit_seconds(40)
    per_step = (forty - ten) / 30
    setup = ten - 10 * per_step
    bound_now = best_seconds(lambda: objective.curvature_bound())
    bound_before = best_seconds(lambda: objective.curvature_bound(sample=False))
    return {"read_seconds": read, "seconds_10": ten, "seconds_40": forty,
            "step_seconds": per_step, "setup_seconds": setup, "setup_reads": setup / read,
            "bound_reads": bound_now / read, "bound_reads_every_row": bound_before / read}


def format_path(rows: list[PathRow]) -> str:
    columns = [
        Column("contestant", lambda row: row.contestant, min_width=30),
        Column("seconds", lambda row: row.seconds, "{:.2f}", ">", min_width=9),
        Column("× noloop", lambda row: row.ratio_to_noloop, "{:.2f}×", ">"),
        Column("tol", lambda row: row.tol, "{:.0e}", ">", min_width=6),
        Column("worst gap", lambda row: row.worst_gap, "{:.1e}", ">"),
        Column("every C at optimum", lambda row: row.reached, yes_no),
    ]
    return format_table(columns, rows)


def section(report: dict, *, number: int, quick: bool, say: Callable[[str], None]) -> None:
    """Run the L1 path race and gd's start-up measurement; rows go in ``report["l1_path"]``."""
    if quick:  # seconds, for tests: a small problem, 5 values of C, noloop only
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=4000, n_features=20, n_informative=10,
                                   random_state=0)
    else:
        X, y = race_problem()
    size = f"{X.shape[0]:,} × {X.shape[1]}"
    say(f"{number}. L1 path: {len(path_grid(X, y, n=5 if quick else N_C))} values of C on a log grid, warm-started, each to a relative "
        f"objective gap ≤ {PATH_GAP:g} ({size})")
    Cs, rows = path_race(X, y, quick=quick, say=say)
    say(format_path(rows))
    startup = gd_startup(X, y)
    say(f"gd start-up: {startup['setup_seconds']:.3f} s ≈ {startup['setup_reads']:.1f} reads of X "
        f"(one read {startup['read_seconds'] * 1e3:.1f} ms; T(10) = {startup['seconds_10']:.2f} s, "
        f"T(40) = {startup['seconds_40']:.2f} s); the curvature bound alone: "
        f"{startup['bound_reads']:.2f} reads (on a sample of ≤ {CURVATURE_SAMPLE_ROWS:,} rows; "
        f"2 power iterations on every row, as before: {startup['bound_reads_every_row']:.1f})")
    report["l1_path"] = {"size": size, "Cs": [float(C) for C in Cs],
                         "rows": [row.as_dict() for row in rows], "gd_startup": startup}
