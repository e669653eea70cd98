"""The sparse race's problem: a tf-idf-like text matrix with Zipf column popularity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SparseProblem", "FULL", "QUICK", "text_like"]


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
