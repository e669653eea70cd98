"""Section "inference": what the coefficient table costs beyond the fit, in reads of X.

On the race problem's size (1e6 × 100; quick: 5,000 × 10; without its two
collinear columns, see :func:`inference_problem`), an unpenalized fit
(``C=inf``), then its table: ``"nonrobust"`` needs the Hessian (one read of X,
:meth:`~noloop.linear_model._dense.DenseData.hessian`), ``"HC1"`` the Hessian
and the sandwich's meat (two). Each step is counted in passes over X (the
data-term calls, each of which reads X once) and timed against one read of X
(one pass over its bytes on every thread, as in :mod:`noloop.bench.reads`). The Gram
matrix X̃ᵀX̃ alone, by BLAS, is the floor no table computed from the
Hessian can go below: n · d² multiply-adds against n · d for a read. With
statsmodels installed, its ``Logit(...).fit()`` + ``summary()`` on the same
data, side by side.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from noloop.bench._format import Column, format_seconds, format_table
from noloop.bench._timing import one_read_seconds, timed_call

__all__ = ["InferenceRow", "section", "format_inference"]

# the data-term methods that read X once per call
_PASSES = ("loss_gradient", "loss", "hessian", "score_outer", "group_scores", "gram_matvec")


@dataclass(frozen=True)
class InferenceRow:
    """One step: its seconds, passes over X (None where not counted) and seconds in reads of X."""

    step: str
    seconds: float
    passes: int | None
    reads_of_X: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def _counted_passes() -> Iterator[dict[str, int]]:
    """Count calls of DenseData's one-pass methods (each reads X once) while the block runs."""
    from noloop.linear_model._dense import DenseData

    counts = {"passes": 0}
    originals = {name: getattr(DenseData, name) for name in _PASSES if hasattr(DenseData, name)}

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts["passes"] += 1
            return method(self, *args, **kwargs)
        return call

    try:
        for name, method in originals.items():
            setattr(DenseData, name, counting(method))
        yield counts
    finally:
        for name, method in originals.items():
            setattr(DenseData, name, method)


def inference_rows(X: np.ndarray, y: np.ndarray, *, quick: bool) -> list[InferenceRow]:
    """Fit at C=inf, then time its tables, the BLAS Gram floor and statsmodels where installed."""
    from noloop.linear_model import LogisticRegression

    X = np.ascontiguousarray(X)
    read = one_read_seconds(X, repeat=5 if quick else 3)
    rows = []

    def add(step: str, call: Callable[[], Any], counted: bool = True) -> Any:
        with _counted_passes() as counts:
            seconds, result = timed_call(call)
        rows.append(InferenceRow(step, seconds, counts["passes"] if counted else None,
                                 seconds / read))
        return result

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at max_iter changes nothing here
        # warm up: numba's kernels load from its cache (or compile) on the first fit; on the
        # quick problem, as a slice of X (200 rows of 100 columns) is perfectly separated
        small = inference_problem(quick=True)
        LogisticRegression(C=np.inf).fit(*small).coef_table(*small)
        model = add("fit (C=inf, lbfgs)",
                    lambda: LogisticRegression(C=np.inf, max_iter=1000).fit(X, y))
    for cov_type, what in (("nonrobust", "Hessian"), ("HC1", "Hessian + meat")):
        add(f"table {cov_type} ({what})",
            lambda cov_type=cov_type: model.coef_table(X, y, cov_type=cov_type))
    add("X̃ᵀX̃ alone (BLAS, the floor)", lambda: _gram(X), counted=False)
    try:
        import statsmodels.api as sm
    except ImportError:
        return rows
    exog = np.c_[X, np.ones(X.shape[0])]
    add("statsmodels Logit.fit() + summary()",
        lambda: sm.Logit(y, exog).fit(disp=0).summary(), counted=False)
    return rows


def _gram(X: np.ndarray) -> np.ndarray:
    """X̃ᵀX̃ with X̃ = [X, 1], blockwise (no copy of X): what one Hessian must compute."""
    gram = np.zeros((X.shape[1] + 1, X.shape[1] + 1))
    for start in range(0, X.shape[0], 1 << 15):
        block = np.c_[X[start:start + (1 << 15)], np.ones(min(1 << 15, X.shape[0] - start))]
        gram += block.T @ block
    return gram


def format_inference(rows: list[InferenceRow]) -> str:
    """The inference table as aligned text."""
    columns = [
        Column("step", lambda row: row.step),
        Column("time", lambda row: format_seconds(row.seconds), align=">"),
        Column("passes over X", lambda row: "" if row.passes is None else str(row.passes),
               align=">"),
        Column("reads of X", lambda row: row.reads_of_X, "{:.1f}", ">"),
    ]
    return format_table(columns, rows)


def inference_problem(*, quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The race problem's generator and size (1e6 × 100; quick 5,000 × 10), without collinear columns.

    :func:`noloop.bench.race.race_problem` keeps ``make_classification``'s two
    redundant columns, exact linear combinations of others: its information
    matrix is singular and no table exists (noloop says so, naming them).
    Here every column is informative or noise.
    """
    from sklearn.datasets import make_classification

    n_samples, n_features, n_informative = (5_000, 10, 5) if quick else (1_000_000, 100, 30)
    return make_classification(n_samples=n_samples, n_features=n_features,
                               n_informative=n_informative, n_redundant=0, random_state=0)


def section(report: dict[str, Any], *, number: int, quick: bool,
            say: Callable[[str], None]) -> None:
    """``noloop bench`` section: the table's cost beyond the fit, and statsmodels beside it."""
    X, y = inference_problem(quick=quick)
    size = f"{X.shape[0]:,} × {X.shape[1]}"
    say(f"{number}. The coefficient table on a {size} X (the race's, no collinear columns): cost beyond an unpenalized fit, "
        "in passes and reads of X (one read = one pass over X's bytes on every thread)")
    rows = inference_rows(X, y, quick=quick)
    report["inference"] = {"size": size, "rows": [row.as_dict() for row in rows]}
    say(format_inference(rows))
    say("   each table row is one pass per matrix (Hessian; + meat for HC1), every block of "
        "rows read once; its time is the n·d² flops of X̃ᵀDX̃, bounded below by the BLAS row")
