"""The covariance ``noloop train --summary`` keeps: computed on the fit, folded to raw columns."""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = ["fit_covariance"]


def fit_covariance(model: Any, X: Any, y: Any, cov_type: str,
                   standardization: tuple[Any, Any] | None) -> dict[str, Any]:
    """The covariance of ``model``'s coefficients on the user's raw columns.

    Parameters
    ----------
    model : LogisticRegression
        Fitted on ``X`` (the standardized columns when ``standardization`` is given).
    X : array-like, DataFrame or dask collection of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    cov_type : {"nonrobust", "HC0", "HC1"}
    standardization : (mean, scale) or None
        Each of shape (n_features,): X was (raw − mean) / scale. The
        covariance is then carried to raw columns by the folding's linear map
        (:func:`~noloop.linear_model._inference.fold_standardized_covariance`).

    Returns
    -------
    covariance : dict
        ``{"matrix": ndarray (n_params, n_params), "cov_type": str, "n_samples": int}``,
        as :func:`noloop.persistence.save_model` stores it.
    """
    import numpy as np

    from noloop.linear_model._inference import fold_standardized_covariance

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cov = model.covariance_matrix(X, y, cov_type=cov_type)
        except ValueError as error:
            if standardization is None or "no information on" not in str(error):
                raise
            # standardized, a constant column is 0 in every row: say it in the user's terms
            raise ValueError(f"{error}; train standardizes the columns, so that is a constant "
                             "column: drop it") from None
    for warning in caught:
        # the penalized fit's warning is left out: the printed table carries that note
        text = " ".join(str(warning.message).split())
        if issubclass(warning.category, UserWarning) and not text.startswith("this fit is "
                                                                             "penalized"):
            print(f"warning: {text}", file=sys.stderr)
    if standardization is not None:
        mean, scale = (np.asarray(values, dtype=np.float64) for values in standardization)
        n_outputs = int(np.shape(model.coef_)[0])
        cov = fold_standardized_covariance(cov, mean, scale,
                                           n_blocks=n_outputs - 1 if n_outputs > 1 else 1,
                                           fit_intercept=bool(model.fit_intercept))
    n_samples = int(X.shape[0]) if isinstance(X.shape[0], (int, np.integer)) else int(len(y))
    return {"matrix": cov, "cov_type": cov_type, "n_samples": n_samples}
