"""``LogisticRegression``: the seed's vectorized training as a scikit-learn estimator.

The estimator is thin: ``fit`` validates the parameters, asks the input's
backend (in memory or Dask: the one dispatch point, :func:`_backend`) for a
:class:`~noloop.linear_model._problem.Problem`, and hands its objective to one
solver call.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from noloop._xp import device_of, namespace, to_numpy
from noloop.linear_model._in_memory import IN_MEMORY
from noloop.linear_model._loss import log_softmax, sigmoid
from noloop.linear_model._problem import Backend, Problem
from noloop.linear_model._solvers import SOLVERS, SolverResult, solve

__all__ = ["LogisticRegression"]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# Each parameter: (the check, what the error says was expected). Checked in fit, as
# scikit-learn's ``_parameter_constraints``; messages name the parameter and what came.
_PARAMETER_CONSTRAINTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "penalty": (lambda v: v is None or (isinstance(v, str) and v in _PENALTIES),
                "'l1', 'l2', 'elasticnet' or None (deprecated: use l1_ratio and C)"),
    "C": (lambda v: _is_real(v) and 0 < v <= np.inf, "a positive number or np.inf"),
    "l1_ratio": (lambda v: v is None or (_is_real(v) and 0 <= v <= 1),
                 "a number in [0, 1]"),
    "fit_intercept": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "solver": (lambda v: isinstance(v, str) and v in SOLVERS, f"one of {sorted(SOLVERS)}"),
    "learning_rate": (lambda v: v == "auto" or (_is_real(v) and 0 < v < np.inf),
                      "'auto' or a positive finite number"),
    "max_iter": (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)
                 and v >= 0, "an integer >= 0"),
    "tol": (lambda v: _is_real(v) and 0 <= v < np.inf, "a finite number >= 0"),
    "class_weight": (lambda v: v is None or v == "balanced" or isinstance(v, Mapping),
                     "None, 'balanced' or a dict"),
    "warm_start": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "verbose": (lambda v: isinstance(v, numbers.Integral) and v >= 0, "an integer >= 0"),
    "callback": (lambda v: v is None or callable(v), "None or a callable"),
    "missing": (lambda v: v in ("error", "impute"), "'error' or 'impute'"),
    "handle_unknown": (lambda v: v in ("ignore", "error"), "'ignore' or 'error'"),
}


_PENALTIES = ("l1", "l2", "elasticnet", "deprecated")

# solvers that handle an L1 term (proximal steps); the others see a smooth objective only
L1_SOLVERS = ("gd", "newton-cd")


def _resolve_penalty(params: Mapping[str, Any]) -> str | None:
    """The penalty scikit-learn 1.9.1 fits with ``params``, with its warnings and errors.

    Mirrors ``sklearn.linear_model.LogisticRegression.fit``: ``penalty`` is
    deprecated (FutureWarning when set); ``l1_ratio`` picks L2 (0), L1 (1) or
    elastic-net; ``C=np.inf`` (or ``penalty=None``) fits without penalty.
    Returns 'l2', 'l1', 'elasticnet' or None.
    """
    l1_ratio, C = params["l1_ratio"], params["C"]
    if params["penalty"] == "deprecated":
        if l1_ratio == 0 or l1_ratio is None:
            penalty = "l2"
            if l1_ratio is None:
                warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will trigger "
                              "an error in 1.10. Use 0<=l1_ratio<=1 instead.", FutureWarning,
                              stacklevel=3)
        elif l1_ratio == 1:
            penalty = "l1"
        else:
            penalty = "elasticnet"
        if C == np.inf:
            penalty = None
    else:
        penalty = params["penalty"]
        warnings.warn(
            "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid "
            "this warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' "
            "instead. Use l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of "
            "penalty='l1', l1_ratio set to a float between 0 and 1 instead of "
            "penalty='elasticnet', and C=np.inf instead of penalty=None.", FutureWarning,
            stacklevel=3)
    solver = params["solver"]
    if solver not in L1_SOLVERS and penalty not in ("l2", None):
        raise ValueError(f"Solver {solver} supports only 'l2' or None penalties, got {penalty} "
                         f"penalty. Use solver='newton-cd' (or 'gd') for L1 and elastic-net.")
    if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn("l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={penalty})", UserWarning, stacklevel=3)
    if (params["penalty"] == "l2" and l1_ratio != 0) or (params["penalty"] == "l1"
                                                        and l1_ratio != 1):
        warnings.warn(f"Inconsistent values: penalty={params['penalty']} with "
                      f"l1_ratio={l1_ratio}. penalty is deprecated. Please use l1_ratio only.",
                      UserWarning, stacklevel=3)
    if penalty == "elasticnet" and l1_ratio is None:
        raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
    if params["penalty"] is None and C != 1.0:
        warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                      UserWarning, stacklevel=3)
    return penalty


def _check_params(params: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first parameter that breaks its constraint."""
    for name, (allowed, expected) in _PARAMETER_CONSTRAINTS.items():
        if not allowed(params[name]):
            raise ValueError(f"`{name}` must be {expected}; got {params[name]!r}")


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression trained by the seed's vectorized equations; binary and softmax.

    A drop-in for :class:`sklearn.linear_model.LogisticRegression` that
    minimizes the same objective,

        C · Σᵢ sᵢ · loss(zᵢ, yᵢ) + ½ ‖W‖²

    (intercepts not penalized; sᵢ the sample weight times the class weight),
    so a converged fit equals scikit-learn's on the same data and ``C``. Two
    classes use the seed's sigmoid model; more use softmax in the same
    vectorized form (Z = X Wᵀ + b, A = softmax(Z), dZ = A − Y).

    NumPy arrays, pandas DataFrames, scipy.sparse matrices and arrays (held
    as CSR, never densified), PyTorch tensors (CPU or CUDA) and CuPy
    arrays are all accepted; with PyTorch or CuPy the whole fit runs in that
    library on the data's device, float32 stays float32, and fitted
    coefficients and predictions come back in the same library.

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet", None}, default="deprecated"
        Deprecated as in scikit-learn ≥ 1.8 (setting it warns FutureWarning):
        use ``l1_ratio`` and ``C`` instead. ``None`` fits without penalty.
    C : float, default=1.0
        Inverse regularization strength, as in scikit-learn; ``np.inf`` fits
        without penalty.
    l1_ratio : float, default=0.0
        The elastic-net mixing ``r`` in [0, 1]: the penalty is
        (1 − r)/2 ‖W‖² + r ‖W‖₁ (0: L2, 1: L1). ``r > 0`` needs
        ``solver="newton-cd"`` or ``"gd"``; the intercepts are never penalized.
    fit_intercept : bool, default=True
    solver : {"lbfgs", "newton-cholesky", "newton-cg", "newton-cd", "gd"}, default="lbfgs"
        ``"gd"`` is the seed's batch gradient descent W := W − α dW (with an
        L1 term: proximal gradient with momentum, FISTA);
        ``"lbfgs"`` is quasi-Newton (scipy); ``"newton-cholesky"`` takes Newton
        steps and wins when features (times classes) are few; ``"newton-cg"``
        is truncated Newton over Hessian-vector products (on Dask the Hessian is
        formed once per step), the fastest here on large sparse text-like data;
        ``"newton-cd"`` is proximal Newton (coordinate descent on the quadratic
        model), the fastest for L1 and elastic-net.
    learning_rate : "auto" or float, default="auto"
        The step α of ``solver="gd"``. ``"auto"`` takes 1 / L for a curvature
        bound L and halves it whenever a step fails to decrease the objective
        enough, so it cannot diverge; a float is used as given.
    max_iter : int, default=100
    tol : float, default=1e-4
        Stop when the largest absolute entry of the objective's gradient
        (averaged over examples) is at most ``tol``.
    class_weight : dict, "balanced" or None, default=None
    warm_start : bool, default=False
        Start from the previous fit's coefficients; a previous fit with another
        number of classes or features raises ``ValueError``.
    verbose : int, default=0
        Print the objective every 100 iterations (every iteration when ≥ 2).
    callback : callable, default=None
        Called as ``callback(iteration, objective)`` at every iterate, from
        iteration 0 (the starting point); for progress bars and live plots.
    missing : {"error", "impute"}, default="error"
        Missing cells (NaN, None) in X: an error, or (``"impute"``) numeric
        cells take the training mean plus a 0/1 indicator feature for each
        column that had missing cells, and categorical cells form a level of
        their own. See :mod:`noloop.linear_model._categorical`.
    handle_unknown : {"ignore", "error"}, default="ignore"
        A categorical level not seen in fit, at predict time: zero
        contribution with a ``UserWarning``, or ``ValueError``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : array of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : array of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X was a DataFrame with string column names.
    loss_history_ : list of float
        The objective at every iterate, starting from the initial point (the
        seed's ``costs`` list), scaled as C · Σ sᵢ lossᵢ + ½‖W‖² divided by C · Σ sᵢ.
    converged_ : bool
    stop_reason_ : str
        Why the solver stopped.
    encoding_ : TableEncoding
        Only after a fit on a table with categorical (text, category, bool)
        columns or under ``missing="impute"``: numeric columns, imputation
        values, indicators and levels, as data.
    feature_names_out_ : ndarray of shape (n_coef_columns,)
        With ``encoding_``: the name of each column of ``coef_``, such as
        ``island[Torgersen]`` (a level), ``bill_length_mm[missing]`` (an indicator).
    persisted_ : bool
        Only after a fit on Dask data: whether the prepared chunks were kept in
        cluster memory (True) or streamed from their source at every evaluation.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from noloop import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LogisticRegression(max_iter=1000).fit(X, y)
    >>> model.coef_.shape, model.converged_
    ((3, 4), True)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    >>> round(model.score(X, y), 2)
    0.97
    """

    def __init__(
        self,
        penalty: str | None = "deprecated",
        *,
        C: float = 1.0,
        l1_ratio: float | None = 0.0,
        fit_intercept: bool = True,
        solver: str = "lbfgs",
        learning_rate: float | str = "auto",
        max_iter: int = 100,
        tol: float = 1e-4,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        verbose: int = 0,
        callback: Callable[[int, float], None] | None = None,
        missing: str = "error",
        handle_unknown: str = "ignore",
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.callback = callback
        self.missing = missing
        self.handle_unknown = handle_unknown

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy.sparse X: held as CSR, never densified
        return tags

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "LogisticRegression":
        """Fit the model by minimizing the penalized logistic objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy, pandas, PyTorch, CuPy or Dask; PyTorch and CuPy data stay on
            their device, Dask data on the cluster.
        y : array-like of shape (n_samples,)
            Class labels of any type (integers, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        params = self.get_params(deep=False)
        _check_params(params)
        _resolve_penalty(params)
        problem = _backend(X, self, fitting=True).problem(self, X, y, sample_weight)
        coef = self._initial_coef(problem)
        result = solve(self.solver, problem.objective, coef, max_iter=self.max_iter,
                       tol=self.tol, learning_rate=self.learning_rate, callback=self._progress())
        if result.diverged:  # as scikit-learn's SGD: a diverged fit is an error, not a model
            raise ValueError(f"{self.solver} {result.stop_reason}: lower `learning_rate`, or "
                             "use learning_rate='auto', which cannot diverge")
        self._set_fitted(problem, result)
        if not result.converged and not getattr(self, "_quiet", False):
            warnings.warn(
                f"{self.solver} did not converge: {result.stop_reason}. Increase `max_iter`, "
                "scale the data (e.g. StandardScaler), or loosen `tol`.",
                ConvergenceWarning, stacklevel=2,
            )
        return self

    def _initial_coef(self, problem: Problem) -> Any:
        """Zeros, or with ``warm_start`` the previous fit's [coef_ | intercept_].

        As in scikit-learn, a warm start whose previous fit has another number
        of classes or features is an error, not a silent cold start.
        """
        objective = problem.objective
        layout, xp = objective.layout, objective.xp
        if not (self.warm_start and hasattr(self, "coef_")):
            return xp.zeros(layout.shape, dtype=objective.parameter_dtype, device=objective.device)
        if tuple(self.coef_.shape) != (layout.n_outputs, layout.n_features):
            raise ValueError(
                f"`warm_start=True` starts from the previous fit's coef_ of shape "
                f"{tuple(self.coef_.shape)}, but this data needs {(layout.n_outputs, layout.n_features)} "
                f"({problem.classes.size} classes, {layout.n_features} features); refit with "
                "warm_start=False"
            )
        return self._coef_for(objective)

    def _coef_for(self, objective: Any) -> Any:
        """The fitted [coef_ | intercept_] in ``objective``'s namespace, device and dtype."""
        previous = to_numpy(self.coef_)
        if self.fit_intercept:
            previous = np.concatenate([previous, to_numpy(self.intercept_)[:, None]], axis=1)
        return objective.xp.asarray(previous, dtype=objective.parameter_dtype,
                                    device=objective.device)

    def _progress(self) -> Callable[[int, float], None] | None:
        if not self.verbose:
            return self.callback
        every = 1 if self.verbose >= 2 else 100
        user_callback = self.callback

        def report(iteration: int, value: float) -> None:
            if iteration % every == 0:
                print(f"[{self.solver}] iteration {iteration:6d}  objective {value:.8g}",
                      file=sys.stdout, flush=True)
            if user_callback is not None:
                user_callback(iteration, value)

        return report

    def _set_fitted(self, problem: Problem, result: SolverResult) -> None:
        layout, xp = problem.objective.layout, problem.objective.xp
        coef = xp.astype(result.coef, problem.coef_dtype)  # float32 data: float32 coefficients
        W, b = layout.split(coef)
        if not layout.fit_intercept:
            b = xp.zeros(layout.n_outputs, dtype=coef.dtype, device=device_of(coef))
        if isinstance(W, np.ndarray):
            W, b = np.ascontiguousarray(W), np.ascontiguousarray(b)
        self._restore(classes=problem.classes, coef=W, intercept=b,
                      feature_names=problem.feature_names, n_iter=result.n_iter,
                      loss_history=result.loss_history, converged=result.converged,
                      stop_reason=result.stop_reason, encoding=problem.encoding)
        if problem.persisted is not None:
            self.persisted_ = problem.persisted
        elif hasattr(self, "persisted_"):
            del self.persisted_

    # ---------------------------------------------------------------- state

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted model as plain data: NumPy arrays and JSON-ready values.

        The inverse of :meth:`_from_fitted_state`; what a model file keeps.

        Returns
        -------
        state : dict
            ``classes`` (n_classes,), ``coef`` (n_outputs, n_features) and
            ``intercept`` (n_outputs,) as NumPy arrays; ``feature_names``
            (list of str or None), ``n_iter`` (int), ``loss_history`` (list of
            float), ``converged`` (bool), ``stop_reason`` (str).
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        encoding = getattr(self, "encoding_", None)
        if encoding is not None:  # one name per coef_ column; the encoding names the input columns
            names = self.feature_names_out_
        state = {
            "classes": np.asarray(self.classes_),
            "coef": np.ascontiguousarray(to_numpy(self.coef_)),
            "intercept": np.ascontiguousarray(to_numpy(self.intercept_)),
            "feature_names": None if names is None else [str(name) for name in names],
            "n_iter": int(self.n_iter_[0]),
            "loss_history": [float(value) for value in self.loss_history_],
            "converged": bool(self.converged_),
            "stop_reason": str(self.stop_reason_),
        }
        if encoding is not None:
            state["encoding"] = encoding
        return state

    @classmethod
    def _from_fitted_state(cls, params: dict[str, Any], state: dict[str, Any]
                           ) -> "LogisticRegression":
        """A fitted model from ``get_params()``-style ``params`` and a :meth:`_fitted_state` dict.

        Every field is checked (types, shapes, finiteness, unique sorted
        classes); a bad one raises ``ValueError`` naming the field, what was
        expected and what came.
        """
        known = cls().get_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"`params` has unknown parameter(s) {', '.join(unknown)}")
        model = cls(**params)
        _check_params(model.get_params(deep=False))
        model._restore(**_checked_state(state))
        return model

    def _restore(self, *, classes: np.ndarray, coef: Any, intercept: Any,
                 feature_names: Any, n_iter: int, loss_history: list[float],
                 converged: bool, stop_reason: str, encoding: Any = None) -> None:
        """Set every fitted attribute; the one place a fit and a model file both go through."""
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_features_in_ = int(coef.shape[1])
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.loss_history_ = list(loss_history)
        self.converged_ = converged
        self.stop_reason_ = stop_reason
        set_encoding(self, encoding)

    # ------------------------------------------------------------ inference

    def covariance_matrix(self, X: Any, y: Any, *, sample_weight: Any = None,
                          cov_type: str = "nonrobust", groups: Any = None) -> np.ndarray:
        """The covariance matrix of the fitted coefficients, as statsmodels computes it.

        One pass over X for the Hessian and, for the robust types, one more
        for the scores, where the fit ran (NumPy, PyTorch, CuPy, Dask).
        For a penalized fit it is the inverse of the penalized Hessian (and
        the sandwich around it), with a ``UserWarning``: its p-values are not
        classical. Definitions: :mod:`noloop.linear_model._inference`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data the model was fitted on.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            As in the fit. Frequencies for ``"nonrobust"``, sampling weights
            for the sandwich types.
        cov_type : {"nonrobust", "HC0", "HC1", "cluster"}, default="nonrobust"
            The inverse Fisher information; the sandwich (HC1 times
            n / (n − k)); or cluster-robust, scores summed within ``groups``,
            times G / (G − 1) · (n − 1) / (n − k).
        groups : array-like of shape (n_samples,), default=None
            Group ids for ``cov_type="cluster"`` (a dask array chunked like y for Dask).

        Returns
        -------
        cov : ndarray of shape (n_params, n_params)
            Rows in :meth:`coef_table`'s order: the weights, then the
            intercept; for K > 2 classes, K − 1 such blocks, each class
            against the first.

        Raises
        ------
        ValueError
            When the information is singular or nearly so (collinear or
            constant columns, perfect separation), naming the columns.
        """
        return self._inference(X, y, sample_weight, cov_type, groups)[1]

    def coef_table(self, X: Any, y: Any, *, sample_weight: Any = None,
                   cov_type: str = "nonrobust", groups: Any = None, alpha: float = 0.05) -> Any:
        """The coefficient table: estimates, standard errors, z, p-values, confidence intervals.

        Parameters
        ----------
        X, y, sample_weight, cov_type, groups
            As for :meth:`covariance_matrix`.
        alpha : float, default=0.05
            The intervals cover 1 − alpha (normal quantiles, as statsmodels).

        Returns
        -------
        table : pandas.DataFrame of shape (n_params, 6)
            Columns ``coef, std_err, z, p_value, ci_lower, ci_upper``; one row
            per feature (``feature_names_in_`` or ``x0, x1, ...``) and
            ``intercept``. For K > 2 classes a (class, feature) MultiIndex
            over classes ``classes_[1:]``: coefficients of each class minus
            those of ``classes_[0]``, as statsmodels' ``MNLogit``.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> import numpy as np
        >>> from sklearn.preprocessing import StandardScaler
        >>> from noloop import LogisticRegression
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X[:, [0, 1, 4]])
        >>> model = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
        >>> model.coef_table(X, y).round(2)
                   coef  std_err     z  p_value  ci_lower  ci_upper
        x0        -4.92     0.54 -9.07      0.0     -5.98     -3.86
        x1        -1.64     0.25 -6.66      0.0     -2.12     -1.15
        x2        -2.03     0.27 -7.60      0.0     -2.56     -1.51
        intercept  1.00     0.20  4.92      0.0      0.60      1.40
        """
        from noloop.linear_model._inference import coef_table

        params, cov, labels = self._inference(X, y, sample_weight, cov_type, groups)
        return coef_table(params, cov, labels, alpha)

    def wald_test(self, X: Any, y: Any, names: Any, *, cov_type: str = "nonrobust",
                  groups: Any = None, sample_weight: Any = None) -> tuple[float, int, float]:
        """The chi-square Wald test that the named coefficients are jointly zero.

        Parameters
        ----------
        X, y, cov_type, groups, sample_weight
            As for :meth:`covariance_matrix`.
        names : str, tuple or sequence of them
            Row labels of :meth:`coef_table` (a feature name, ``"intercept"``,
            or a (class, feature) pair); for K > 2 classes a feature name
            alone stands for its K − 1 coefficients.

        Returns
        -------
        statistic : float
        df : int
            The number of coefficients tested.
        p_value : float
        """
        from noloop.linear_model._inference import wald_test

        params, cov, labels = self._inference(X, y, sample_weight, cov_type, groups)
        return wald_test(params, cov, labels, names)

    def _inference(self, X: Any, y: Any, sample_weight: Any, cov_type: str, groups: Any
                   ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """(identified coefficients (n_params,), their covariance, their labels) on X, y.

        The problem is rebuilt through the fit's own dispatch on a fresh copy
        of the estimator, so validation never touches this model's state.
        """
        from noloop.linear_model._inference import (covariance, parameter_labels,
                                                    reference_coef)

        check_is_fitted(self)
        probe = type(self)(**self.get_params(deep=False))
        problem = _backend(X, probe, fitting=True).problem(probe, X, y, sample_weight)
        layout = problem.objective.layout
        _check_same_data(self, problem)
        if problem.objective.l1.strength > 0:
            raise ValueError(f"this fit has an L1 penalty (l1_ratio={self.l1_ratio!r}, "
                             f"C={self.C!r}): its coefficients have no covariance matrix; "
                             "refit with l1_ratio=0 or C=np.inf")
        if problem.objective.penalty.strength > 0:
            warnings.warn(
                f"this fit is penalized (C={self.C!r}): its covariance "
                "is the penalized Hessian's inverse, and the standard errors and p-values are "
                "not classical (use C=np.inf for those)", UserWarning, stacklevel=3)
        names = getattr(self, "feature_names_out_", getattr(self, "feature_names_in_", None))
        if names is None:
            names = [f"x{i}" for i in range(layout.n_features)]
        labels = parameter_labels(names, self.classes_, layout)
        coef = self._coef_for(problem.objective)
        cov = covariance(problem.objective, coef, weight_sum=problem.weight_sum, labels=labels,
                         cov_type=cov_type, groups=groups)
        return reference_coef(to_numpy(coef), layout), cov, labels

    # -------------------------------------------------------------- predict

    def decision_function(self, X: Any) -> Any:
        """The logits Z = X Wᵀ + b.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : array of shape (n_samples,) for two classes, else (n_samples, n_classes)
            In X's library and on its device (lazy for Dask input).
        """
        check_is_fitted(self)
        return _backend(X, self).decision_function(self, X)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, columns in the order of ``classes_``.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        if scores.ndim == 1:
            p = sigmoid(scores, xp)
            return xp.stack([1 - p, p], axis=1)
        return xp.exp(log_softmax(scores, xp))

    def predict_log_proba(self, X: Any) -> Any:
        """Log class probabilities, computed from the logits (finite for any finite input).

        Returns
        -------
        log_proba : array of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        if scores.ndim == 1:
            zeros = xp.zeros_like(scores)
            # log σ(z) = −log(1 + e^{−z}), log(1 − σ(z)) = −log(1 + e^{z})
            return xp.stack([-xp.logaddexp(zeros, scores), -xp.logaddexp(zeros, -scores)], axis=1)
        return log_softmax(scores, xp)

    def predict(self, X: Any) -> Any:
        """The most probable class of each row.

        Returns
        -------
        labels : array of shape (n_samples,)
            Values from ``classes_``; a tensor/array of X's library when the classes are numbers.
        """
        scores = self.decision_function(X)
        xp = namespace(scores)
        indices = xp.astype(scores > 0, xp.int64) if scores.ndim == 1 else xp.argmax(scores, axis=1)
        return _backend(X, self).labels(self.classes_, indices)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        return _backend(X, self).accuracy(self.predict(X), y, sample_weight)


def set_encoding(estimator: Any, encoding: Any) -> None:
    """A table's encoding on a fitted estimator (its ``coef_`` columns are the encoding's
    features, not input columns), or, for None, no trace of an earlier table fit."""
    if encoding is not None:
        estimator.encoding_ = encoding
        estimator.feature_names_out_ = np.asarray(encoding.feature_names_out, dtype=object)
        estimator.feature_names_in_ = np.asarray(encoding.columns, dtype=object)
        estimator.n_features_in_ = len(encoding.columns)
        return
    for name in ("encoding_", "feature_names_out_"):
        if hasattr(estimator, name):
            delattr(estimator, name)


def _backend(X: Any, model: Any = None, *, fitting: bool = False) -> Backend:
    """The one place that tells Dask input from in-memory input, and tables from arrays.

    A table (categorical columns, or ``missing="impute"``) goes through the
    encoding of :mod:`._categorical`; so does every X a model fitted on one predicts.
    """
    from noloop.linear_model._categorical import DASK_TABLE, TABLE, dask_uses_table, uses_table
    from noloop.linear_model._dask import BACKEND, is_dask

    if model is not None:
        encoding = None if fitting else getattr(model, "encoding_", None)
        if is_dask(X):
            if dask_uses_table(X, missing=getattr(model, "missing", "error"), encoding=encoding):
                return DASK_TABLE
        elif uses_table(X, missing=getattr(model, "missing", "error"), encoding=encoding):
            return TABLE

    return BACKEND if is_dask(X) else IN_MEMORY



def _check_same_data(model: LogisticRegression, problem: Problem) -> None:
    """Refuse data whose classes or features are not the fitted model's."""
    n_features = problem.objective.layout.n_features
    n_fitted = int(model.coef_.shape[1])  # encoded features for a table model: its coef_ columns
    if n_features != n_fitted:
        raise ValueError(f"`X` has {n_features} features, but the model was fitted with "
                         f"{n_fitted}")
    if problem.classes.shape != model.classes_.shape or \
            not np.all(problem.classes == model.classes_):
        raise ValueError(f"`y` has the classes {problem.classes.tolist()!r}, but the model was "
                         f"fitted on {model.classes_.tolist()!r}")
    fitted_names = getattr(model, "feature_names_out_", getattr(model, "feature_names_in_", None))
    if fitted_names is not None and problem.feature_names is not None and \
            list(problem.feature_names) != list(fitted_names):
        raise ValueError(f"`X` has the columns {list(problem.feature_names)!r}, but the model "
                         f"was fitted on {list(fitted_names)!r}")


def _checked_state(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with each field checked; ValueError names the first bad one."""
    expected = {"classes", "coef", "intercept", "feature_names", "n_iter", "loss_history",
                "converged", "stop_reason"}
    if not isinstance(state, dict) or set(state) - {"encoding"} != expected:
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"the fitted state must have the fields {sorted(expected)}; got {got}")
    classes = state["classes"]
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or classes.dtype.kind not in "biufUS":
        raise ValueError("`classes` must be a 1-D array of numbers or strings; got "
                         f"{getattr(classes, 'shape', type(classes).__name__)}")
    if classes.size < 2:
        raise ValueError(f"`classes` must hold at least 2 classes; got {classes.tolist()!r}")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes)):
        raise ValueError(f"`classes` must be finite; got {classes.tolist()!r}")
    if not np.all(classes[1:] > classes[:-1]):
        raise ValueError(f"`classes` must be unique and sorted; got {classes.tolist()!r}")
    n_outputs = 1 if classes.size == 2 else int(classes.size)
    coef, intercept = state["coef"], state["intercept"]
    for name, array, ndim in (("coef", coef, 2), ("intercept", intercept, 1)):
        if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
            raise ValueError(f"`{name}` must be a float32 or float64 array; got "
                             f"{getattr(array, 'dtype', type(array).__name__)}")
        if array.ndim != ndim or array.shape[0] != n_outputs:
            raise ValueError(f"`{name}` must have {n_outputs} row(s) for {classes.size} classes "
                             f"and {ndim} dimension(s); got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` must be finite; it holds NaN or infinity")
    if coef.shape[1] < 1:
        raise ValueError(f"`coef` must have at least one feature column; got shape {coef.shape}")
    if intercept.dtype != coef.dtype:
        raise ValueError(f"`intercept` must have coef's dtype {coef.dtype}; got {intercept.dtype}")
    names = state["feature_names"]
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError("`feature_names` must be a list of strings or None")
        if len(names) != coef.shape[1] or len(set(names)) != len(names):
            raise ValueError(f"`feature_names` must be {coef.shape[1]} unique names, one per "
                             f"column of coef; got {len(names)} ({len(set(names))} unique)")
    n_iter = state["n_iter"]
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or \
            not 0 <= n_iter < 2**31:
        raise ValueError(f"`n_iter` must be an integer >= 0; got {n_iter!r}")
    history = state["loss_history"]
    if not isinstance(history, list) or not all(
            isinstance(value, numbers.Real) and not isinstance(value, bool) for value in history):
        raise ValueError("`loss_history` must be a list of numbers")
    if not isinstance(state["converged"], bool):
        raise ValueError(f"`converged` must be true or false; got {state['converged']!r}")
    if not isinstance(state["stop_reason"], str):
        raise ValueError(f"`stop_reason` must be a string; got {state['stop_reason']!r}")
    encoding = state.get("encoding")
    if encoding is not None and list(encoding.feature_names_out) != names:
        raise ValueError(f"the encoding describes {encoding.n_features} feature(s) "
                         f"{encoding.feature_names_out[:5]!r}..., but `feature_names` are "
                         f"{(names or [])[:5]!r}... ({coef.shape[1]} columns of coef)")
    return {**state, "n_iter": int(n_iter), "loss_history": [float(v) for v in history]}
