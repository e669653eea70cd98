"""Inference for a fitted logistic regression: covariance, coefficient table, Wald tests.

Everything here works on the objective contract and the data terms' one-pass
methods, so it runs where the fit ran (NumPy, PyTorch, CuPy, Dask chunks);
only (n_coef × n_coef) matrices come back to the host.

Conventions
-----------
noloop's objective is averaged: f(β) = (1 / S) Σᵢ sᵢ lossᵢ + λ/2 ‖W‖²,
S = Σᵢ sᵢ, λ = 1 / (C · S). The log-likelihood of the summed model is
−S · f, so with H the averaged Hessian (``objective.hessian``):

- information  I = S · H (the penalized one, S·H_data + I_W / C, for a
  penalized fit);
- ``"nonrobust"``: I⁻¹ = H⁻¹ / S;
- sandwich: I⁻¹ B I⁻¹ with B = Σᵢ gᵢ gᵢᵀ, gᵢ = sᵢ (pᵢ − yᵢ) ⊗ x̃ᵢ the score
  of example i (weighted, as for sampling weights). The data terms return
  M = B / S² (``score_outer``: uᵢ = gᵢ / S), and the S's cancel:
  cov = H⁻¹ M H⁻¹;
- sample weights: ``"nonrobust"`` counts them as frequencies (integer
  weights give the table of the rows repeated); the sandwich types treat
  them as sampling weights (Stata's pweights: sᵢ² in the meat), n counting
  rows;
- ``"HC0"``: as is; ``"HC1"``: times n / (n − k); ``"cluster"``: scores summed
  within each group first, times G / (G − 1) · (n − 1) / (n − k), statsmodels'
  default small-sample correction. n is the number of rows, k the number of
  parameters, G the number of groups.

statsmodels 0.15's ``Logit.fit(cov_type="HC1")`` applies no correction (its
discrete models fall back to HC0); noloop's HC1 is the textbook one, equal to
statsmodels' ``cov_white_simple(result, use_correction=True)``.

Softmax is identified only up to a shift across classes. As statsmodels'
``MNLogit``, the table is given against the first class: parameters
βₖ = wₖ − w₀ for k = 1..K−1. In that parameterization the log-likelihood's
Hessian and scores are the blocks k, l ≥ 1 of the full ones (class 0's logit
is held at zero), so they are sliced out, never recomputed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import warnings

import numpy as np

from noloop._xp import to_numpy
from noloop.linear_model._objective import Layout

__all__ = ["COV_TYPES", "parameter_labels", "reference_coef", "covariance", "coef_table",
           "wald_test", "fold_standardized_covariance"]

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")
# after scaling the information to unit diagonal, a smallest/largest eigenvalue ratio at or
# below this is singular: the coefficients along its eigenvector are not identified
RCOND = 1e-10
# below this ratio (condition number above 1e8) the inverse is computed but loses about
# half of float64's digits: a warning names the columns involved
WARN_RCOND = 1e-8
# the average pᵢ(1 − pᵢ) (the intercept's curvature) below which the fit separates the data
SEPARATION_CURVATURE = 1e-8


def reference_index(layout: Layout) -> np.ndarray:
    """Positions in ``coef.ravel()`` of the identified parameters.

    All of them for the sigmoid model; classes 1..K−1 for softmax (class 0
    is the reference).

    Returns
    -------
    index : ndarray of shape (n_params,)
    """
    n_outputs, n_dof = layout.shape
    return np.arange(n_dof if layout.multinomial else 0, n_outputs * n_dof)


def reference_coef(coef: np.ndarray, layout: Layout) -> np.ndarray:
    """The identified parameters: ``coef`` flat, or wₖ − w₀ for k = 1..K−1 for softmax.

    Parameters
    ----------
    coef : ndarray of shape (n_outputs, n_features + fit_intercept)

    Returns
    -------
    params : ndarray of shape (n_params,)
    """
    coef = np.asarray(coef, dtype=np.float64)
    return (coef[1:] - coef[0]).ravel() if layout.multinomial else coef.ravel()


def parameter_labels(feature_names: Sequence[str], classes: np.ndarray,
                     layout: Layout) -> list[Hashable]:
    """One label per identified parameter, in :func:`reference_coef`'s order.

    Feature names, then ``"intercept"`` when fitted; for softmax,
    (class, name) pairs for the classes after the first.
    """
    names = [str(name) for name in feature_names] + (["intercept"] if layout.fit_intercept else [])
    if not layout.multinomial:
        return names
    return [(label.item() if isinstance(label, np.generic) else label, name)
            for label in classes[1:] for name in names]


def covariance(objective: Any, coef: Any, *, weight_sum: float, labels: Sequence[Hashable],
               cov_type: str = "nonrobust", groups: Any = None) -> np.ndarray:
    """The covariance of the identified parameters at ``coef``.

    Parameters
    ----------
    objective : LogisticObjective
        The fit's objective (its ``data`` term evaluates the meat).
    coef : array of shape (n_outputs, n_features + fit_intercept)
        In the objective's namespace, device and parameter dtype.
    weight_sum : float
        S = Σᵢ sᵢ, class weights included.
    labels : sequence of length n_params
        Names of the parameters, for errors.
    cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
    groups : array-like of shape (n_samples,), default=None
        Group ids, required by (and only allowed with) ``cov_type="cluster"``.

    Returns
    -------
    cov : ndarray of shape (n_params, n_params)
        float64, on the host. ``n_params`` = n_features + fit_intercept for two
        classes, (K − 1) times that for K > 2.
    """
    if cov_type not in COV_TYPES:
        raise ValueError(f"`cov_type` must be one of {list(COV_TYPES)}; got {cov_type!r}")
    if (groups is None) == (cov_type == "cluster"):
        raise ValueError("`groups` is required with cov_type='cluster' and allowed only with "
                         f"it; got cov_type={cov_type!r} and groups "
                         f"{'None' if groups is None else 'given'}")
    layout, data = objective.layout, objective.data
    keep = reference_index(layout)
    information = np.asarray(to_numpy(objective.hessian(coef)), dtype=np.float64)
    bread = _inverse_information(information[np.ix_(keep, keep)], labels, layout,
                                 reference_coef(to_numpy(coef), layout))
    if cov_type == "nonrobust":
        return bread / weight_sum
    n_samples, n_params = int(data.X.shape[0]), int(keep.size)
    if n_samples <= n_params:
        raise ValueError(f"cov_type={cov_type!r} needs more rows than parameters; got "
                         f"{n_samples} rows for {n_params} parameters")
    if cov_type == "cluster":
        _, sums = data.group_scores(coef, groups)
        sums = np.asarray(to_numpy(sums), dtype=np.float64)[:, keep]
        n_groups = int(sums.shape[0])
        if n_groups < 2:
            raise ValueError(f"`groups` must hold at least 2 distinct ids; got {n_groups}")
        meat = sums.T @ sums
        factor = n_groups / (n_groups - 1) * (n_samples - 1) / (n_samples - n_params)
    else:
        meat = np.asarray(to_numpy(data.score_outer(coef)), dtype=np.float64)[np.ix_(keep, keep)]
        factor = n_samples / (n_samples - n_params) if cov_type == "HC1" else 1.0
    cov = factor * (bread @ meat @ bread)
    return (cov + cov.T) / 2


def _inverse_information(information: np.ndarray, labels: Sequence[Hashable],
                         layout: Layout, params: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric (n_params, n_params) information matrix, or a ValueError.

    ``params`` (n_params,), the coefficients, name the separating columns.

    Singular or nearly singular information (a column without information,
    collinear columns, perfect separation) names the parameters involved
    instead of returning NaN or meaningless numbers.
    """
    diagonal = np.diag(information)
    empty = np.flatnonzero(~(diagonal > 0))
    if empty.size:
        raise ValueError("the information matrix is singular: no information on "
                         f"{_listed(labels, empty)} (a column that is 0 in every weighted row)")
    if layout.fit_intercept:
        n_dof = layout.n_features + 1
        curvature = diagonal[n_dof - 1::n_dof]  # the intercepts' entries: the average pᵢ(1 − pᵢ)
        if float(np.max(curvature)) < SEPARATION_CURVATURE:
            size = np.abs(params)
            size[n_dof - 1::n_dof] = 0.0
            raise ValueError(
                "the information matrix is singular: the fit separates the data perfectly "
                f"(average pᵢ(1 − pᵢ) is {float(np.max(curvature)):.2g}), so the coefficients "
                "are not identified; the largest, on "
                f"{_listed(labels, np.flatnonzero(size >= 0.5 * size.max()))}, separate it. "
                "Drop the separating columns, or fit with a finite C")
    scale = 1 / np.sqrt(diagonal)
    values, vectors = np.linalg.eigh(information * scale[:, None] * scale[None, :])
    if not values[0] > RCOND * values[-1]:
        weights = np.abs(vectors[:, 0])
        involved = np.flatnonzero(weights >= 0.1 * weights.max())
        raise ValueError(
            f"the information matrix is singular (condition number "
            f"{values[-1] / max(values[0], np.finfo(float).tiny):.2g} after scaling): "
            f"{_listed(labels, involved)} are collinear (e.g. a constant column next to the "
            "intercept, or a duplicated column) or the data are perfectly separated; "
            "drop one of them")
    if not values[0] > WARN_RCOND * values[-1]:
        weights = np.abs(vectors[:, 0])
        involved = np.flatnonzero(weights >= 0.1 * weights.max())
        warnings.warn(
            f"the information matrix is nearly singular (condition number "
            f"{values[-1] / values[0]:.2g} after scaling): {_listed(labels, involved)} are "
            "nearly collinear, so their standard errors are large and imprecise",
            UserWarning, stacklevel=5)
    return (vectors / values) @ vectors.T * scale[:, None] * scale[None, :]


def _listed(labels: Sequence[Hashable], positions: np.ndarray) -> str:
    return ", ".join(repr(labels[int(i)]) for i in positions)


def coef_table(params: np.ndarray, cov: np.ndarray, labels: Sequence[Hashable],
               alpha: float = 0.05) -> Any:
    """The coefficient table, as statsmodels' ``summary`` gives it (normal distribution).

    Parameters
    ----------
    params : ndarray of shape (n_params,)
    cov : ndarray of shape (n_params, n_params)
    labels : sequence of length n_params
        Strings, or (class, feature) pairs for softmax (a MultiIndex then).
    alpha : float, default=0.05
        The confidence intervals cover 1 − alpha.

    Returns
    -------
    table : pandas.DataFrame of shape (n_params, 6)
        Columns ``coef, std_err, z, p_value, ci_lower, ci_upper``.
    """
    import pandas as pd
    from scipy import stats

    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}")
    std_err = np.sqrt(np.diag(cov))
    z = params / std_err
    quantile = stats.norm.ppf(1 - alpha / 2)
    index = (pd.MultiIndex.from_tuples(labels, names=["class", "feature"])
             if labels and isinstance(labels[0], tuple) else pd.Index(labels))
    return pd.DataFrame({"coef": params, "std_err": std_err, "z": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z)),
                         "ci_lower": params - quantile * std_err,
                         "ci_upper": params + quantile * std_err}, index=index)


def wald_test(params: np.ndarray, cov: np.ndarray, labels: Sequence[Hashable],
              names: Sequence[Hashable]) -> tuple[float, int, float]:
    """The chi-square Wald test that the named parameters are all zero.

    Parameters
    ----------
    params : ndarray of shape (n_params,)
    cov : ndarray of shape (n_params, n_params)
    labels : sequence of length n_params
    names : sequence of labels
        Each a label (a feature name, ``"intercept"``, or a (class, feature)
        pair for softmax) or, for softmax, a feature name standing for its
        coefficients in every class.

    Returns
    -------
    statistic : float
        bₛᵀ Vₛₛ⁻¹ bₛ over the selected parameters s.
    df : int
        The number of selected parameters.
    p_value : float
    """
    from scipy import stats

    if isinstance(names, str) or (isinstance(names, tuple) and names in labels):
        names = [names]
    selected: list[int] = []
    for name in names:
        positions = [i for i, label in enumerate(labels)
                     if label == name or (isinstance(label, tuple) and label[1] == name)]
        if not positions:
            raise ValueError(f"`names` has {name!r}, which names no coefficient; the "
                             f"coefficients are {list(labels)!r}")
        selected.extend(i for i in positions if i not in selected)
    if not selected:
        raise ValueError("`names` must name at least one coefficient; got none")
    chosen = np.asarray(selected)
    b = params[chosen]
    statistic = float(b @ np.linalg.solve(cov[np.ix_(chosen, chosen)], b))
    return statistic, int(chosen.size), float(stats.chi2.sf(statistic, chosen.size))


def fold_standardized_covariance(cov: np.ndarray, mean: Any, scale: Any, *, n_blocks: int,
                                 fit_intercept: bool = True) -> np.ndarray:
    """The covariance of a fit on (X − mean) / scale, carried to the coefficients on raw X.

    Folding is linear: per block (one per identified class), w = w_s / σ and
    b = b_s − Σⱼ w_s,ⱼ μⱼ / σⱼ, i.e. θ = A θ_s with
    A = [[diag(1/σ), 0], [−(μ/σ)ᵀ, 1]]; so cov = (I ⊗ A) cov_s (I ⊗ A)ᵀ.
    The same map holds for softmax's parameters against the first class
    (differences of coefficients fold as the coefficients do).

    Parameters
    ----------
    cov : ndarray of shape (n_blocks · n_dof, n_blocks · n_dof)
        On the standardized columns, n_dof = n_features + fit_intercept.
    mean, scale : array-like of shape (n_features,)
        As :func:`noloop.preprocessing.standardize` returned them.
    n_blocks : int
        1 for two classes, K − 1 for K > 2.
    fit_intercept : bool, default=True
        Without an intercept the mean cannot be folded: ``mean`` must be 0.

    Returns
    -------
    cov : ndarray of shape (n_blocks · n_dof, n_blocks · n_dof)
    """
    mean = np.asarray(mean, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    n_features = int(mean.size)
    n_dof = n_features + int(fit_intercept)
    if cov.shape != (n_blocks * n_dof, n_blocks * n_dof):
        raise ValueError(f"`cov` must have shape ({n_blocks * n_dof}, {n_blocks * n_dof}) for "
                         f"{n_blocks} block(s) of {n_dof} parameters; got {cov.shape}")
    A = np.zeros((n_dof, n_dof))
    A[np.arange(n_features), np.arange(n_features)] = 1 / scale
    if fit_intercept:
        A[n_features, :n_features] = -mean / scale
        A[n_features, n_features] = 1.0
    elif np.any(mean != 0):
        raise ValueError("without an intercept a centered fit cannot be folded: `mean` must be 0")
    full = np.kron(np.eye(n_blocks), A)
    folded = full @ cov @ full.T
    return (folded + folded.T) / 2
