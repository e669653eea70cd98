"""Logistic regression trained by the seed's vectorized equations, on any array library.

Layers, each importing only those below it:

- :mod:`._logistic`: the estimator (validate, build a problem, one solve);
- :mod:`._cv`: ``LogisticRegressionCV``, a warm-started path of it per fold;
- :mod:`._solvers`: gd, lbfgs, newton-cholesky, which see only the objective contract;
- :mod:`._objective`: that contract, the parameter layout, the penalty;
- :mod:`._dense`, :mod:`._dask`: how one evaluation runs over each data shape;
- :mod:`._kernels`: fused one-pass numba kernels; :mod:`._loss`: the per-example math.
"""

from noloop.linear_model._cv import LogisticRegressionCV, chunk_folds
from noloop.linear_model._dask import LostClusterError
from noloop.linear_model._logistic import LogisticRegression

__all__ = ["LogisticRegression", "LogisticRegressionCV", "LostClusterError", "chunk_folds"]
