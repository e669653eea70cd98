"""Bench section "categorical": a table of categorical columns, kept as codes vs expanded to one-hot.

The table: 500,000 rows × 8 categorical columns of 5 to 100 levels (320
one-hot columns), a binary target, C = 1. Each contestant is timed to the
optimum as in the solver race (:mod:`noloop.bench.race`): tol from 1e-4 down
by tenfold steps until the objective is within 1e-6 (relative) of a tight
reference. noloop on the table (codes, never a one-hot matrix) races noloop
and scikit-learn on the dense one-hot matrix, and glum on the categorical
DataFrame when glum is installed (it is no dependency).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import numpy as np

from noloop.bench._format import Column, format_table, yes_no
from noloop.bench._timing import best_seconds, one_read_seconds, timed_call

__all__ = ["LEVELS", "categorical_table", "encoding_seconds", "evaluation_reads", "section"]

LEVELS = (5, 10, 20, 30, 40, 50, 65, 100)  # 320 one-hot columns
GAP = 1e-6
C = 1.0
LADDER = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
ROUNDS = 3  # timings per contestant: the ladder's, then interleaved rounds; the best is kept

# a contestant: fit(tol) -> scores, and scores() -> (logits on the training rows, every
# penalized coefficient, n_iter): only the fit is timed
Scores = Callable[[], tuple[np.ndarray, np.ndarray, Any]]
Fit = Callable[[float], Scores]


@dataclass(frozen=True)
class Row:
    contestant: str
    seconds: float
    relative_gap: float
    reached: bool
    n_iter: int | None
    tol: float
    ratio_to_table: float = float("nan")


def categorical_table(n_rows: int, *, seed: int = 0) -> tuple[Any, np.ndarray]:
    """(DataFrame of 8 ``category`` columns with :data:`LEVELS` levels, 0/1 labels)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns, logit = {}, np.zeros(n_rows)
    for j, n_levels in enumerate(LEVELS):
        codes = rng.integers(0, n_levels, size=n_rows)
        logit += rng.normal(scale=0.5, size=n_levels)[codes]
        columns[f"c{j}"] = pd.Categorical.from_codes(codes, [f"l{k}" for k in range(n_levels)])
    y = (rng.uniform(size=n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(columns), y


def _objective(z: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """scikit-learn's C Σ loss + ½‖w‖², divided by C · n: the same for every contestant."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(weights ** 2) / (C * y.size))


def _contestants(frame: Any, y: np.ndarray, one_hot: np.ndarray, quick: bool
                 ) -> list[tuple[str, Fit]]:
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from noloop.linear_model import LogisticRegression

    def noloop_table(solver: str) -> Fit:
        def fit(tol: float) -> Scores:
            model = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=1000).fit(frame, y)
            return lambda: (model.decision_function(frame), model.coef_, int(model.n_iter_[0]))
        return fit

    def on_one_hot(estimator: type, solver: str) -> Fit:
        def fit(tol: float) -> Scores:
            model = estimator(C=C, solver=solver, tol=tol, max_iter=1000).fit(one_hot, y)
            return lambda: (model.decision_function(one_hot), model.coef_,
                            int(np.max(model.n_iter_)))
        return fit

    race = [
        ("noloop lbfgs, table (codes)", noloop_table("lbfgs")),
        ("noloop newton-cholesky, table", noloop_table("newton-cholesky")),
        ("noloop lbfgs, dense one-hot", on_one_hot(LogisticRegression, "lbfgs")),
    ]
    if not quick:  # seconds even on the quick table; the full run has it
        race.append(("scikit-learn lbfgs, dense one-hot",
                     on_one_hot(SklearnLogisticRegression, "lbfgs")))
    try:
        from glum import GeneralizedLinearRegressor
    except ImportError:
        return race

    def glum_fit(solver: str) -> Fit:
        def fit(tol: float) -> Scores:
            # glum's objective: mean loss + alpha/2 ‖β‖²; alpha = 1 / (C n) is scikit-learn's C
            model = GeneralizedLinearRegressor(family="binomial", alpha=1 / (C * y.size),
                                               l1_ratio=0.0, solver=solver, gradient_tol=tol,
                                               max_iter=1000).fit(frame, y)
            return lambda: (model.linear_predictor(frame), np.asarray(model.coef_),
                            getattr(model, "n_iter_", None))
        return fit

    return race + [(f"glum {solver}, categorical DataFrame", glum_fit(solver))
                   for solver in ("lbfgs", "irls-cd")]


def _race(frame: Any, y: np.ndarray, one_hot: np.ndarray, quick: bool, best: float,
          say: Callable[[str], None]) -> list[Row]:
    """Every contestant warmed up, down the tol ladder, then timed again in interleaved rounds.

    Round 1 takes each contestant, after one untimed warm-up fit (imports, numba
    compilation, first-call costs), down the tol ladder until it reaches the
    gap; rounds 2 to :data:`ROUNDS` time every contestant once more at that tol,
    one after the other, so a burst of load on the shared machine falls on all of
    them alike. Each row keeps its best time; ``best`` is the reference objective.
    """
    contestants = _contestants(frame, y, one_hot, quick)
    rows = []
    for name, fit in contestants:
        fit(1e3)  # warm up, untimed
        for tol in LADDER:
            seconds, scores = timed_call(functools.partial(fit, tol))
            z, weights, n_iter = scores()
            gap = (_objective(np.asarray(z), y, weights) - best) / abs(best)
            row = Row(name, seconds, gap, gap <= GAP, n_iter, tol)
            if row.reached:
                break
        rows.append(row)
        say(f"  {name}: {row.seconds:.2f} s at tol {row.tol:.0e}")
    for _ in range(ROUNDS - 1):
        for index, (name, fit) in enumerate(contestants):
            seconds, _ = timed_call(functools.partial(fit, rows[index].tol))
            rows[index] = replace(rows[index], seconds=min(rows[index].seconds, seconds))
    return [replace(row, ratio_to_table=row.seconds / rows[0].seconds) for row in rows]


def encoding_seconds(frame: Any, *, repeat: int = ROUNDS) -> float:
    """Best seconds of learning the encoding and encoding the DataFrame (levels, then codes).

    Part of every noloop fit on the table, as glum's conversion of the same
    DataFrame is part of glum's.
    """
    from noloop.linear_model._categorical import TableEncoding

    return best_seconds(lambda: TableEncoding.learn(frame).encode(frame), repeat=repeat,
                        calibrate=False)


def evaluation_reads(X_num: np.ndarray, codes: np.ndarray, y: np.ndarray, n_features: int,
                     coef: np.ndarray, *, quick: bool = False) -> dict[str, float]:
    """Seconds of one loss-and-gradient and one Hessian on the table, and in reads of the codes.

    One "read of the table" is the best time of one pass over the bytes of the
    codes and the numeric columns on every thread (as :mod:`noloop.bench.reads`
    counts reads of X).

    Parameters
    ----------
    X_num : float64 array of shape (n_samples, d)
    codes : int32 array of shape (n_samples, J)
    y : array of shape (n_samples,), 0/1
    n_features : int
    coef : array of shape (1, n_features + 1), where to evaluate (the optimum)
    quick : bool, default=False
        Fewer repeats, for tests.

    Returns
    -------
    dict with ``read_seconds``, ``loss_gradient_seconds``, ``hessian_seconds`` and the two
    ratios ``loss_gradient_reads`` and ``hessian_reads``
    """
    from noloop.linear_model._categorical import CategoricalData

    n = y.shape[0]
    data = CategoricalData(X_num, codes, np.asarray(y, dtype=np.float64)[:, None],
                           np.full(n, 1.0 / n), n_features, True)
    repeat = 3 if quick else 7
    data.loss_gradient(coef), data.hessian(coef)  # compiled and warm before timing
    read = one_read_seconds(X_num, codes, repeat=repeat)
    loss_gradient = best_seconds(lambda: data.loss_gradient(coef), repeat=repeat, calibrate=True)
    hessian = best_seconds(lambda: data.hessian(coef), repeat=repeat, calibrate=not quick)
    return {"read_seconds": read, "loss_gradient_seconds": loss_gradient,
            "hessian_seconds": hessian, "loss_gradient_reads": loss_gradient / read,
            "hessian_reads": hessian / read}


def section(report: dict[str, Any], *, number: int, quick: bool,
            say: Callable[[str], None], n_rows: int | None = None) -> None:
    """The categorical race, in ``report["categorical"]`` and said as a table.

    ``n_rows`` (default: 2,000 with ``quick``, else 500,000) sizes the table on its
    own, so the full-size race can run with ``quick``'s shorter list of contestants.
    """
    from noloop.linear_model import LogisticRegression
    from noloop.linear_model._categorical import TableEncoding

    n_rows = n_rows or (2_000 if quick else 500_000)
    frame, y = categorical_table(n_rows)
    encoding = TableEncoding.learn(frame)
    X_num, codes = encoding.encode(frame)
    one_hot = np.zeros((n_rows, encoding.n_features))
    one_hot[np.arange(n_rows)[:, None], codes] = 1.0
    size = f"{n_rows:,} × {len(LEVELS)} categorical ({encoding.n_features} one-hot columns)"
    say(f"{number}. Categorical columns as codes vs one-hot: time to the optimum (objective "
        f"within {GAP:g} of a tight reference), {size}, binary, C = 1, in this process")
    reference = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10,
                                   max_iter=100).fit(frame, y)
    best = _objective(reference.decision_function(frame), y, reference.coef_)
    rows = _race(frame, y, one_hot, quick, best, say)
    encoding_time = encoding_seconds(frame)
    coef = np.concatenate([reference.coef_, reference.intercept_[:, None]], axis=1)
    reads = evaluation_reads(X_num, codes, y, encoding.n_features, coef, quick=quick)
    # what one loss-and-gradient evaluation reads: the codes (int32) and y and the weights
    # (float64 each) for the table; the one-hot matrix (float64) and the same vectors for dense
    table_bytes = codes.nbytes + 2 * 8 * n_rows
    dense_bytes = one_hot.nbytes + 2 * 8 * n_rows
    report["categorical"] = {
        "problem": size, "rows": [asdict(row) for row in rows],
        "bytes_read_per_evaluation": {"table": table_bytes, "dense_one_hot": dense_bytes},
        "encoding_seconds": encoding_time, "evaluation": reads,
    }
    say(format_table([
        Column("contestant", lambda row: row.contestant, min_width=36),
        Column("seconds", lambda row: row.seconds, "{:.2f}", ">", min_width=9),
        Column("× table", lambda row: row.ratio_to_table, "{:.2f}×", ">"),
        Column("iterations", lambda row: row.n_iter,
               lambda n_iter: "n/a" if n_iter is None else str(n_iter), ">"),
        Column("tol", lambda row: row.tol, "{:.0e}", ">", min_width=6),
        Column("objective gap", lambda row: row.relative_gap, "{:.1e}", ">"),
        Column("at optimum", lambda row: row.reached, yes_no),
    ], rows))
    say(f"   best of {ROUNDS} per contestant (a warm-up fit first, then the tol ladder, then "
        f"{ROUNDS - 1} interleaved rounds); every fit starts from the DataFrame (noloop's "
        f"learning its levels and codes, best {encoding_time:.2f} s, is inside its time, as "
        "glum's conversion is inside glum's)")
    for line in _verdicts(rows):
        say("   " + line)
    say(f"   one evaluation reads {table_bytes / 2**20:,.1f} MiB as codes ({len(LEVELS)} int32 "
        f"per row) vs {dense_bytes / 2**20:,.1f} MiB as dense one-hot "
        f"({encoding.n_features} float64 per row): {dense_bytes / table_bytes:.0f}× fewer bytes")
    say(f"   one loss-and-gradient on the codes: {reads['loss_gradient_seconds'] * 1e3:.1f} ms = "
        f"{reads['loss_gradient_reads']:.1f} reads of the table (one read, a pass over the codes "
        f"and numeric columns on every thread: "
        f"{reads['read_seconds'] * 1e3:.2f} ms); one Hessian: "
        f"{reads['hessian_seconds'] * 1e3:.1f} ms = {reads['hessian_reads']:.1f} reads")


def _verdicts(rows: list[Row]) -> list[str]:
    """noloop's fastest on the table against glum's fastest and against noloop on one-hot."""
    def fastest(prefix: str, part: str) -> Row | None:
        chosen = [row for row in rows if row.reached and row.contestant.startswith(prefix)
                  and part in row.contestant]
        return min(chosen, key=lambda row: row.seconds) if chosen else None

    table = fastest("noloop", ", table")
    if table is None:
        return ["noloop on the table did not reach the optimum"]
    lines = []
    dense = fastest("noloop", "dense one-hot")
    if dense is not None:
        lines.append(f"noloop's fastest on the table ({table.contestant}, {table.seconds:.2f} s) "
                     f"vs noloop on the dense one-hot matrix ({dense.seconds:.2f} s): "
                     f"{dense.seconds / table.seconds:.1f}× faster")
    glum = fastest("glum", "")
    if glum is not None:
        lines.append(f"against glum's fastest ({glum.contestant}, {glum.seconds:.2f} s): "
                     + (f"{glum.seconds / table.seconds:.1f}× faster"
                        if glum.seconds >= table.seconds
                        else f"{table.seconds / glum.seconds:.1f}× slower"))
    return lines
