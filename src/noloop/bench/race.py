"""The solver race: every solver's time to the same optimum, side by side in one process."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from noloop._xp import to_numpy
from noloop.bench._format import Column, format_table, yes_no
from noloop.bench._timing import timed_call

__all__ = [
    "RACE_GAP", "RaceRow", "race_problem", "reference_objective", "contestants", "solver_race",
    "race_row", "ratios_to_first", "fitted_parameters", "format_race",
]

RACE_GAP = 1e-6  # "at the optimum": objective within this relative gap of a tight reference

FitResult = tuple[Any, Any, int | None]  # coef, intercept, iterations (None: not reported)
Fit = Callable[[np.ndarray, np.ndarray, float], FitResult]  # fit(X, y, tol)


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


def _objective(X: np.ndarray, y: np.ndarray, C: float = 1.0, *, kernels: bool | None = None
               ) -> Any:
    """noloop's objective on (X, y): scikit-learn's divided by C · n_samples, with an intercept.

    ``kernels`` picks the evaluation path, as in
    :class:`noloop.linear_model._dense.DenseData`.
    """
    from noloop.linear_model._dense import DenseData
    from noloop.linear_model._objective import LogisticObjective
    from noloop.linear_model._problem import l2_penalty

    n_samples = X.shape[0]
    data = DenseData(X, y[:, None].astype(np.float64), np.full(n_samples, 1.0 / n_samples),
                     fit_intercept=True, kernels=kernels)
    return LogisticObjective(data, l2_penalty("l2", C, float(n_samples)))


def _objective_value(X: np.ndarray, y: np.ndarray, coef: Any, intercept: Any, C: float) -> float:
    """The shared objective, in float64, at given parameters (any library's arrays)."""
    parameters = np.concatenate([np.asarray(to_numpy(coef), dtype=np.float64).reshape(1, -1),
                                 np.asarray(to_numpy(intercept), dtype=np.float64).reshape(1, 1)],
                                axis=1)
    return float(_objective(X, y, C).loss(parameters))


def fitted_parameters(model: Any, X: Any, y: Any, *, reports_iterations: bool = True
                      ) -> FitResult:
    """Fit ``model`` without convergence warnings; return its coef_, intercept_ and iterations."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    n_iter = int(model.n_iter_[0]) if reports_iterations else None
    return model.coef_, model.intercept_, n_iter


def _torch_lbfgs(X: np.ndarray, y: np.ndarray, C: float, tol: float) -> FitResult:
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


def _float32_once() -> Callable[[np.ndarray], np.ndarray]:
    """X → X as float32, converted once per array and kept.

    The float32 contestant stands for a user whose data already is float32,
    so the conversion must not be timed.
    """
    copies: dict[int, np.ndarray] = {}

    def convert(X: np.ndarray) -> np.ndarray:
        data = copies.get(id(X))
        if data is None:
            copies.clear()
            data = copies[id(X)] = X.astype(np.float32)
        return data

    return convert


def contestants(quick: bool, C: float) -> list[tuple[str, Fit]]:
    """(name, fit(X, y, tol) -> (coef, intercept, n_iter)) for every solver in the race."""
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from noloop.linear_model import LogisticRegression

    def fit_with(estimator: type, solver: str, max_iter: int = 1000,
                 prepare: Callable[[np.ndarray], np.ndarray] = lambda X: X) -> Fit:
        def fit(X: np.ndarray, y: np.ndarray, tol: float) -> FitResult:
            model = estimator(C=C, solver=solver, tol=tol, max_iter=max_iter)
            return fitted_parameters(model, prepare(X), y)
        return fit

    race = [
        ("noloop lbfgs (default)", fit_with(LogisticRegression, "lbfgs")),
        ("noloop lbfgs, float32 X", fit_with(LogisticRegression, "lbfgs",
                                             prepare=_float32_once())),
        ("noloop newton-cholesky", fit_with(LogisticRegression, "newton-cholesky")),
        ("noloop gd (the seed's update)", fit_with(LogisticRegression, "gd",
                                                   max_iter=100 if quick else 300)),
        ("scikit-learn lbfgs", fit_with(SklearnLogisticRegression, "lbfgs")),
        ("scikit-learn newton-cholesky", fit_with(SklearnLogisticRegression, "newton-cholesky")),
    ]
    try:
        import torch  # noqa: F401 - is PyTorch installed?
    except ImportError:
        return race
    race.append(("PyTorch full-batch LBFGS", lambda X, y, tol: _torch_lbfgs(X, y, C, tol)))
    return race


def reference_objective(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> float:
    """The objective at a tight optimum: noloop's newton-cholesky at tol = 1e-10."""
    from noloop.linear_model import LogisticRegression

    reference = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10,
                                   max_iter=100).fit(X, y)
    return _objective_value(X, y, reference.coef_, reference.intercept_, C)


def race_row(name: str, fit: Callable[[], FitResult], X: np.ndarray, y: np.ndarray, *,
             tol: float, C: float, best: float) -> RaceRow:
    """Time ``fit()`` once and score its parameters on (X, y) against the ``best`` objective."""
    seconds, (coef, intercept, n_iter) = timed_call(fit)
    gap = (_objective_value(X, y, coef, intercept, C) - best) / abs(best)
    return RaceRow(name, seconds, gap, gap <= RACE_GAP, n_iter, tol)


def ratios_to_first(rows: list[RaceRow]) -> list[RaceRow]:
    """``rows`` with ``ratio_to_default`` = seconds ÷ the first row's seconds."""
    default_seconds = rows[0].seconds
    return [dataclasses.replace(row, ratio_to_default=row.seconds / default_seconds)
            for row in rows]


def solver_race(X: np.ndarray, y: np.ndarray, *, C: float = 1.0, quick: bool = False,
                best: float | None = None,
                say: Callable[[str], None] = lambda line: None) -> list[RaceRow]:
    """Time each solver to the optimum of the same problem, side by side in this process.

    Each contestant starts at tol = 1e-4 (scikit-learn's default) and, while
    its objective is more than 1e-6 (relative) above a tight reference
    (noloop's newton-cholesky at tol = 1e-10), tries again with tol ÷ 10;
    the time reported is that of the first run that got there.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
        0/1 labels.
    C : float, default=1.0
        Inverse penalty strength, scikit-learn's.
    quick : bool, default=False
        Fewer gradient-descent iterations, for tests.
    best : float, optional
        The reference objective (:func:`reference_objective`), if already known.
    say : callable, optional
        Called with one line per contestant as it finishes.

    Returns
    -------
    rows : list of RaceRow
        Ratios are to noloop's default solver (lbfgs): above 1 is slower.
    """
    if best is None:
        best = reference_objective(X, y, C)
    rows = []
    for name, fit in contestants(quick, C):
        fit(X[:500], y[:500], 1e-2)  # warm up: imports, compilation, first-call costs
        fit(X, y, 1e3)  # and any one-time preparation (the float32 copy), untimed
        for tol in (1e-4, 1e-5, 1e-6, 1e-7):
            row = race_row(name, functools.partial(fit, X, y, tol), X, y, tol=tol, C=C, best=best)
            if row.reached or name.startswith("noloop gd"):
                break  # gd's cap is in iterations: tightening tol would not help it
        rows.append(row)
        say(f"  {name}: {row.seconds:.2f} s")
    return ratios_to_first(rows)


def format_race(rows: list[RaceRow]) -> str:
    """The race as aligned text: seconds, ratio to noloop's default, objective gap."""
    # the minimum widths keep the layout of earlier runs' tables (docs/bench.txt)
    columns = [
        Column("contestant", lambda row: row.contestant, min_width=30),
        Column("seconds", lambda row: row.seconds, "{:.2f}", ">", min_width=9),
        Column("× default", lambda row: row.ratio_to_default, "{:.2f}×", ">"),
        Column("iterations", lambda row: row.n_iter,
               lambda n_iter: "n/a" if n_iter is None else str(n_iter), ">"),
        Column("tol", lambda row: row.tol, "{:.0e}", ">", min_width=6),
        Column("objective gap", lambda row: row.relative_gap, "{:.1e}", ">"),
        Column("at optimum", lambda row: row.reached, yes_no),
    ]
    return format_table(columns, rows)
