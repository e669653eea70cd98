"""Bench section "sparse": the solver race on a tf-idf-like sparse problem, and its reads figure.

The problem (:data:`FULL`, the issue's): 200,000 × 100,000 CSR, ~44 distinct
non-zeros per row over a Zipf vocabulary, tf-idf values, rows L2-normalized,
C = 1. Every contestant runs the tol ladder of :mod:`noloop.bench.race`
(1e-4, then ÷ 10 until its objective is within ``RACE_GAP`` of a tight
reference); the reads figure times one fused loss-and-gradient evaluation and
one Hessian-vector product against one streaming pass over ``data`` and
``indices``.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from noloop.bench._format import Column, format_table
from noloop.bench._timing import best_seconds, one_read_seconds
from noloop.bench.race import RACE_GAP, RaceRow, format_race, race_row, ratios_to_first

__all__ = ["SparseProblem", "FULL", "QUICK", "text_like", "sparse_race", "sparse_reads",
           "section"]


@dataclass(frozen=True)
class SparseProblem:
    """Parameters of :func:`text_like`.

    Attributes
    ----------
    n_samples, n_features : int
    nnz_per_row : float
        Mean distinct non-zeros per row (rows draw Poisson(nnz_per_row) words, duplicates merge).
    zipf_exponent : float
        Column j is drawn with probability ∝ 1 / (j + 1)^zipf_exponent.
    C : float
        The race's inverse regularization.
    seed : int
    """

    n_samples: int
    n_features: int
    nnz_per_row: float
    zipf_exponent: float = 1.1
    C: float = 1.0
    seed: int = 0


# the problem: 200,000 × 100,000, ~44 non-zeros per row, C = 1
FULL = SparseProblem(n_samples=200_000, n_features=100_000, nnz_per_row=60.0)
QUICK = SparseProblem(n_samples=4_000, n_features=3_000, nnz_per_row=20.0)


def text_like(problem: SparseProblem) -> tuple[Any, np.ndarray]:
    """A CSR matrix like tf-idf over a Zipf vocabulary, rows L2-normalized, and 0/1 labels.

    Values are (1 + log count) · idf of the column; labels are drawn from a
    logistic model whose weights are sparse and normal.

    Returns
    -------
    X : scipy.sparse.csr_array of shape (n_samples, n_features), float64
    y : int64 array of shape (n_samples,)
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(problem.seed)
    n, d = problem.n_samples, problem.n_features
    popularity = 1.0 / np.arange(1, d + 1) ** problem.zipf_exponent
    popularity /= popularity.sum()
    counts = rng.poisson(problem.nnz_per_row, size=n)
    rows = np.repeat(np.arange(n), counts)
    # a random permutation: popular columns spread over the index range as in a hashed vocabulary
    columns = rng.permutation(d)[rng.choice(d, size=rows.size, p=popularity)]
    X = sp.csr_array((np.ones(rows.size), (rows, columns)), shape=(n, d))
    X.sum_duplicates()
    # int32 indices, as scipy makes them for fewer than 2³¹ non-zeros (liblinear and saga refuse int64)
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    document_frequency = np.bincount(X.indices, minlength=d)
    idf = np.log((1 + n) / (1 + document_frequency)) + 1
    X.data = (1 + np.log(X.data)) * idf[X.indices]
    norms = np.sqrt(np.add.reduceat(X.data ** 2, X.indptr[:-1])) if X.nnz else np.ones(n)
    norms[np.diff(X.indptr) == 0] = 1.0
    X.data /= np.repeat(norms, np.diff(X.indptr))
    truth = rng.standard_normal(d) * (rng.random(d) < 0.1) * 8
    z = X @ truth
    y = (rng.random(n) < 1 / (1 + np.exp(-(z - np.median(z))))).astype(np.int64)
    return X, y


def _objective(X: Any, y: np.ndarray, C: float, *, kernels: bool | None = None) -> Any:
    """noloop's objective on sparse (X, y): scikit-learn's divided by C · n_samples."""
    from noloop.linear_model._objective import LogisticObjective
    from noloop.linear_model._problem import l2_penalty
    from noloop.linear_model._sparse import SparseData

    n_samples = X.shape[0]
    data = SparseData(X, y[:, None].astype(np.float64), np.full(n_samples, 1.0 / n_samples),
                      fit_intercept=True, kernels=kernels)
    return LogisticObjective(data, l2_penalty("l2", C, float(n_samples)))


def _value(objective: Any, coef: Any, intercept: Any) -> float:
    parameters = np.concatenate([np.asarray(coef, dtype=np.float64).reshape(1, -1),
                                 np.asarray(intercept, dtype=np.float64).reshape(1, 1)], axis=1)
    return float(objective.loss(parameters))


Fit = Callable[[Any, np.ndarray, float], tuple[Any, Any, int | None]]


def contestants(C: float) -> list[tuple[str, Fit]]:
    """(name, fit(X, y, tol)) for noloop's solvers and every scikit-learn solver that takes
    sparse input at this size (newton-cholesky forms a dense n_features² Hessian: left out)."""
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from noloop.bench.race import fitted_parameters
    from noloop.linear_model import LogisticRegression

    def fit_with(estimator: type, solver: str, max_iter: int = 1000) -> Fit:
        def fit(X: Any, y: np.ndarray, tol: float) -> tuple[Any, Any, int | None]:
            return fitted_parameters(estimator(C=C, solver=solver, tol=tol, max_iter=max_iter),
                                     X, y)
        return fit

    return [
        ("noloop newton-cg", fit_with(LogisticRegression, "newton-cg")),
        ("noloop lbfgs", fit_with(LogisticRegression, "lbfgs")),
        *[(f"scikit-learn {solver}", fit_with(SklearnLogisticRegression, solver))
          for solver in ("saga", "newton-cg", "liblinear", "sag", "lbfgs")],
    ]


def sparse_race(X: Any, y: np.ndarray, *, C: float = 1.0,
                only: Callable[[str], bool] = lambda name: True,
                say: Callable[[str], None] = lambda line: None) -> tuple[list[RaceRow], float]:
    """Time each contestant to the optimum of the sparse problem, side by side in this process.

    Returns
    -------
    rows : list of RaceRow
        Ratios to the first row (noloop newton-cg): above 1 is slower.
    best : float
        The reference objective: noloop newton-cg at tol = 1e-10.
    """
    from noloop.linear_model import LogisticRegression

    objective = _objective(X, y, C)
    reference = LogisticRegression(C=C, solver="newton-cg", tol=1e-10, max_iter=200).fit(X, y)
    best = _value(objective, reference.coef_, reference.intercept_)
    rows = []
    for name, fit in contestants(C):
        if not only(name):
            continue
        fit(X[:200], y[:200], 1e-2)  # warm up: imports and first-call costs, untimed
        for tol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
            row = _race_row(name, functools.partial(fit, X, y, tol), objective, tol=tol,
                            best=best)
            if row.reached:
                break
        rows.append(row)
        say(f"  {name}: {row.seconds:.2f} s (tol {row.tol:.0e}, gap {row.relative_gap:.1e})")
    return ratios_to_first(rows), best


def _race_row(name: str, fit: Callable[[], Any], objective: Any, *, tol: float,
              best: float) -> RaceRow:
    from noloop.bench._timing import timed_call

    seconds, (coef, intercept, n_iter) = timed_call(fit)
    gap = (_value(objective, coef, intercept) - best) / abs(best)
    return RaceRow(name, seconds, gap, gap <= RACE_GAP, n_iter, tol)


@dataclass(frozen=True)
class SparseReadsRow:
    """Seconds of one pass over the CSR arrays, in reads (one streaming pass over data + indices)."""

    what: str
    seconds: float
    reads: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sparse_reads(X: Any, y: np.ndarray, *, repeat: int = 7) -> list[SparseReadsRow]:
    """One fused loss-and-gradient, one Hessian-vector product and scipy's X·w + Xᵀ·u, in reads.

    One read is the best time of one pass over the bytes of ``data`` and
    ``indices`` on every thread (:func:`~noloop.bench._timing.one_read_seconds`):
    the bytes every evaluation must stream.
    """
    fused, plain = _objective(X, y, 1.0, kernels=True), _objective(X, y, 1.0, kernels=False)
    coef = np.random.default_rng(0).standard_normal((1, X.shape[1] + 1)) * 0.01
    X = fused.data.X
    fused_product, plain_product = fused.hessian_product(coef), plain.hessian_product(coef)
    calls = [
        ("loss + gradient, fused kernel", lambda: fused.loss_gradient(coef)),
        ("loss + gradient, scipy", lambda: plain.loss_gradient(coef)),
        ("H·v, fused kernel", lambda: fused_product(coef)),
        ("H·v, scipy", lambda: plain_product(coef)),
    ]
    read = one_read_seconds(X.data, X.indices, repeat=repeat)
    rows = [SparseReadsRow("stream data + indices once", read, 1.0)]
    for what, call in calls:
        call()  # compile / warm up
        seconds = best_seconds(call, repeat=repeat, calibrate=False)
        rows.append(SparseReadsRow(what, seconds, seconds / read))
    return rows


def format_sparse_reads(rows: list[SparseReadsRow]) -> str:
    columns = [
        Column("one pass", lambda row: row.what, min_width=30),
        Column("ms", lambda row: row.seconds * 1e3, "{:.1f}", ">", min_width=8),
        Column("reads of CSR", lambda row: row.reads, "{:.2f}", ">"),
    ]
    return format_table(columns, rows)


def section(report: dict[str, Any], *, number: int, quick: bool,
            say: Callable[[str], None]) -> None:
    """The sparse race and reads figure, in ``report["sparse"]`` and said."""
    problem = QUICK if quick else FULL
    X, y = text_like(problem)
    size = (f"{problem.n_samples:,} × {problem.n_features:,}, "
            f"{X.nnz / X.shape[0]:.1f} non-zeros per row")
    say(f"{number}. Sparse race: tf-idf-like CSR {size}, C = {problem.C:g}, time to the optimum "
        f"(objective within {RACE_GAP:g} relative of noloop newton-cg at tol 1e-10)")
    rows, best = sparse_race(X, y, C=problem.C, say=say)
    say(format_race(rows))
    sklearn_rows = [row for row in rows if row.contestant.startswith("scikit-learn")
                    and row.reached]
    summary = None
    if sklearn_rows:
        fastest = min(sklearn_rows, key=lambda row: row.seconds)
        ratio = fastest.seconds / rows[0].seconds
        summary = {"sklearn_fastest": fastest.contestant, "ratio": ratio}
        say(f"   noloop newton-cg took {rows[0].seconds:.2f} s, scikit-learn's fastest "
            f"({fastest.contestant}) {fastest.seconds:.2f} s: "
            + (f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / ratio:.1f}× slower"))
    reads = sparse_reads(X, y, repeat=3 if quick else 7)
    say(format_sparse_reads(reads))
    from noloop.bench.memory import peak_memory_of_fit

    memory = peak_memory_of_fit(X, y, "newton-cg")
    say(f"   peak memory of a newton-cg fit (fresh process): {memory['added_bytes'] / 2**20:,.1f} "
        f"MiB beyond the data, {memory['added_fraction_of_X']:.2f}× the CSR arrays "
        f"({memory['X_bytes'] / 2**20:,.1f} MiB)")
    report["sparse"] = {"problem": asdict(problem), "nnz": int(X.nnz), "best": best,
                        "rows": [row.as_dict() for row in rows], "summary": summary,
                        "reads": [row.as_dict() for row in reads], "memory": memory}
