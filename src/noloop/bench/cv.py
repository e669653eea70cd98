"""``noloop bench --only cv``: choosing C by cross-validation, noloop against scikit-learn.

Both libraries fit the same warm-started path (the same ``Cs``, strongest
penalty first) on the same stratified folds, at the same ``tol``, then refit
at the chosen C; the table gives each one's seconds, its speed-up over
scikit-learn's ``LogisticRegressionCV`` (measured side by side in this
process), the C it chose and how far its held-out scores are from
scikit-learn's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from noloop.bench._format import Column, format_table

__all__ = ["CvRow", "cv_race", "format_cv", "section"]


@dataclass(frozen=True)
class CvRow:
    """One contestant: seconds for the whole search (path per fold and the refit)."""

    contestant: str
    seconds: float
    speedup: float  # scikit-learn's seconds ÷ these seconds
    C: float
    max_score_difference: float  # largest |score − scikit-learn's score| over folds and Cs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cv_problem(*, quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """``make_classification`` 100,000 × 50 (quick: 3,000 × 10)."""
    from sklearn.datasets import make_classification

    n_samples, n_features = (3_000, 10) if quick else (100_000, 50)
    return make_classification(n_samples=n_samples, n_features=n_features,
                               n_informative=n_features // 2, flip_y=0.05, random_state=0)


def cv_race(X: np.ndarray, y: np.ndarray, *, Cs: int, n_folds: int,
            say: Callable[[str], None] = lambda line: None) -> list[CvRow]:
    """Time scikit-learn's and noloop's LogisticRegressionCV on the same folds and Cs.

    Returns
    -------
    rows : list of CvRow
        scikit-learn first; noloop on one thread, then on every core (threads over folds).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV as SklearnCV
    from sklearn.model_selection import StratifiedKFold

    from noloop.linear_model import LogisticRegressionCV

    folds = list(StratifiedKFold(n_folds).split(X, y))
    common = dict(Cs=Cs, cv=folds, tol=1e-4, max_iter=1000)
    contestants: list[tuple[str, Callable[[], Any]]] = [
        ("scikit-learn LogisticRegressionCV lbfgs",
         lambda: SklearnCV(**common, l1_ratios=(0.0,), scoring="accuracy",
                           use_legacy_attributes=False).fit(X, y)),
        ("noloop LogisticRegressionCV lbfgs, 1 thread",
         lambda: LogisticRegressionCV(**common, n_jobs=1).fit(X, y)),
        ("noloop LogisticRegressionCV lbfgs, n_jobs=-1",
         lambda: LogisticRegressionCV(**common, n_jobs=-1).fit(X, y)),
    ]
    rows, reference = [], None
    with warnings.catch_warnings():  # both sides alike: convergence is checked by the scores
        warnings.simplefilter("ignore", ConvergenceWarning)
        # warm up: imports and the kernels' compilation, untimed
        LogisticRegressionCV(Cs=2, cv=2).fit(X[:200], y[:200])
    for name, fit in contestants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model = fit()
            seconds = time.perf_counter() - start
        if reference is None:
            reference = (seconds, model.scores_)
        rows.append(CvRow(name, seconds, reference[0] / seconds, float(model.C_),
                          float(np.max(np.abs(model.scores_ - reference[1])))))
        say(f"  {name}: {seconds:.2f} s")
    return rows


def format_cv(rows: list[CvRow]) -> str:
    """The race as aligned text."""
    return format_table([
        Column("contestant", lambda row: row.contestant, min_width=30),
        Column("seconds", lambda row: row.seconds, "{:.2f}", ">"),
        Column("× scikit-learn", lambda row: row.speedup, "{:.2f}×", ">"),
        Column("C chosen", lambda row: row.C, "{:.4g}", ">"),
        Column("max |Δ score|", lambda row: row.max_score_difference, "{:.1e}", ">"),
    ], rows)


def section(report: dict[str, Any], *, number: int, quick: bool,
            say: Callable[[str], None]) -> None:
    """The ``cv`` section of ``noloop bench``: rows in ``report["cv"]``, the table said."""
    X, y = cv_problem(quick=quick)
    Cs, n_folds = (3, 3) if quick else (10, 5)
    size = f"{X.shape[0]:,} × {X.shape[1]}"
    say(f"{number}. Choosing C by cross-validation: LogisticRegressionCV, Cs={Cs} "
        f"(1e-4..1e4), {n_folds} stratified folds, tol=1e-4, make_classification {size}, "
        "in this process (× scikit-learn: its seconds ÷ these)")
    rows = cv_race(X, y, Cs=Cs, n_folds=n_folds, say=say)
    report["cv"] = {"problem": size, "Cs": Cs, "folds": n_folds,
                    "rows": [row.as_dict() for row in rows]}
    say(format_cv(rows))
