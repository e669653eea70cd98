"""What a fit hands the solver, whatever the data's shape, and the checks every shape shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from noloop.linear_model._objective import L1Penalty, L2Penalty, LogisticObjective

__all__ = ["Problem", "Backend", "require_two_classes", "l2_penalty", "penalties",
           "penalty_mix"]


@dataclass(frozen=True)
class Problem:
    """A fit's objective and the facts the fitted model keeps about its data.

    Attributes
    ----------
    objective : LogisticObjective
    classes : ndarray of shape (n_classes,)
    feature_names : ndarray of shape (n_features,) or None
        Column names, when X had string column names.
    coef_dtype : dtype
        The dtype fitted coefficients get (X's floating dtype).
    weight_sum : float
        S = Σᵢ sᵢ (class weights included): the averaged objective is the
        summed one divided by S (times C when penalized); inference scales by it.
    persisted : bool or None
        Dask only: whether the prepared chunks stay in cluster memory.
    encoding : TableEncoding or None
        Tables only: how the columns became features (:mod:`._categorical`).
    """

    objective: LogisticObjective
    classes: np.ndarray
    feature_names: np.ndarray | None
    coef_dtype: Any
    weight_sum: float
    persisted: bool | None = None
    encoding: Any = None


class Backend(Protocol):
    """How the estimator meets one kind of input (in memory, Dask): the one dispatch point."""

    def problem(self, estimator: Any, X: Any, y: Any, sample_weight: Any) -> Problem: ...

    def decision_function(self, estimator: Any, X: Any) -> Any: ...

    def labels(self, classes: np.ndarray, indices: Any) -> Any: ...

    def accuracy(self, predicted: Any, y: Any, sample_weight: Any) -> float: ...


def require_two_classes(classes: np.ndarray) -> None:
    """Refuse data with fewer than two classes, naming the one found."""
    if classes.shape[0] < 2:
        found = repr(classes[0]) if classes.shape[0] else "none"
        raise ValueError("This solver needs samples of at least 2 classes in the data, but the "
                         f"data contains only one class: {found}")


def l2_penalty(penalty: str | None, C: float, weight_sum: float) -> L2Penalty:
    """The averaged objective's L2 term for scikit-learn's C · Σ sᵢ lossᵢ + ½‖W‖².

    Dividing that objective by C · S (S = ``weight_sum``) leaves the
    optimum unchanged and gives the strength 1 / (C · S).
    """
    if not weight_sum > 0:
        raise ValueError("`sample_weight` must have a positive sum; got all zero weights")
    return L2Penalty(0.0 if penalty is None else 1.0 / (C * weight_sum))


def penalty_mix(penalty: str | None, C: float, l1_ratio: float | None) -> tuple[float, float]:
    """(L2 weight, L1 weight) of scikit-learn's penalty, both 0 for no penalty.

    scikit-learn ≥ 1.8 minimizes C · Σ sᵢ lossᵢ + (1 − r)/2 ‖W‖² + r ‖W‖₁ with
    r = ``l1_ratio``; the deprecated ``penalty`` picks r = 0 ('l2'), 1 ('l1') or
    ``l1_ratio`` ('elasticnet'); ``penalty=None`` or ``C=inf`` switch it off.
    """
    if penalty is None or C == float("inf"):
        return 0.0, 0.0
    if penalty == "l2":
        ratio = 0.0
    elif penalty == "l1":
        ratio = 1.0
    else:  # "elasticnet", or "deprecated": l1_ratio says which
        ratio = float(l1_ratio or 0.0)
    return 1.0 - ratio, ratio


def penalties(estimator: Any, weight_sum: float) -> tuple[L2Penalty, L1Penalty]:
    """The averaged objective's L2 and L1 terms for ``estimator``'s penalty, C and l1_ratio.

    Dividing scikit-learn's objective by C · S (S = ``weight_sum``) leaves the
    optimum unchanged and gives strengths (1 − r) / (C · S) and r / (C · S).
    """
    if not weight_sum > 0:
        raise ValueError("`sample_weight` must have a positive sum; got all zero weights")
    l2, l1 = penalty_mix(estimator.penalty, estimator.C, getattr(estimator, "l1_ratio", 0.0))
    scale = 1.0 / (estimator.C * weight_sum) if l2 or l1 else 0.0
    return L2Penalty(l2 * scale), L1Penalty(l1 * scale)
