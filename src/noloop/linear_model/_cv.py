"""``LogisticRegressionCV``: C (and l1_ratio) chosen by cross-validation over a warm-started path.

Each fold fits one :class:`~._logistic.LogisticRegression` along the grid of
C values in the order given (scikit-learn's default grid runs from the
strongest penalty, C = 1e-4, to the weakest), every fit starting from the
previous C's coefficients, and scores it on the fold's held-out rows. Folds
(times l1_ratios) run in parallel threads when ``n_jobs`` allows: the fused
kernels release the GIL. Dask data are split into folds of whole row chunks
(:func:`chunk_folds`), so a fold never moves rows between workers.

Fitted attributes follow scikit-learn 1.9's ``use_legacy_attributes=False``
layout, the default from scikit-learn 1.10 on: ``scores_`` of shape
(n_folds, n_l1_ratios, n_cs), ``coefs_paths_`` of shape
(n_folds, n_l1_ratios, n_cs, n_outputs, n_dof), ``C_`` and ``l1_ratio_`` floats.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from noloop._xp import to_numpy
from noloop.linear_model._logistic import LogisticRegression, _check_params, set_encoding

__all__ = ["LogisticRegressionCV", "chunk_folds"]


@dataclass(frozen=True)
class _Path:
    """One fold's path for one l1_ratio: what the fold's fits and scores leave behind.

    Attributes
    ----------
    coefs : ndarray of shape (n_cs, n_outputs, n_dof)
        [coef_ | intercept_] after each C (n_dof = n_features + fit_intercept).
    scores : ndarray of shape (n_cs,)
    n_iter : ndarray of shape (n_cs,)
    converged : bool ndarray of shape (n_cs,)
    """

    coefs: np.ndarray
    scores: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def chunk_folds(chunks: Sequence[int], n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds a Dask fit uses: consecutive runs of whole row chunks, as row indices.

    Chunk ``i`` of ``n_chunks`` lands in fold ``i * n_folds // n_chunks``, so
    folds hold (nearly) equal numbers of chunks and keep the rows' order.
    Passing the result as ``cv`` to an in-memory fit reproduces a Dask fit.

    Parameters
    ----------
    chunks : sequence of int
        Rows per chunk (``X.chunks[0]`` of a dask array).
    n_folds : int
        At least 2 and at most the number of chunks.

    Returns
    -------
    folds : list of (train, test) index arrays, one pair per fold
    """
    sizes = np.asarray(chunks, dtype=np.int64)
    if n_folds < 2:
        raise ValueError(f"`cv` must be at least 2 folds; got {n_folds}")
    if n_folds > sizes.size:
        raise ValueError(f"`cv`={n_folds} folds of whole row chunks need at least {n_folds} "
                         f"chunks, but this Dask data has {sizes.size}; rechunk X and y (or "
                         "split the input into more files) or use fewer folds")
    fold_of_row = np.repeat(np.arange(sizes.size) * n_folds // sizes.size, sizes)
    rows = np.arange(fold_of_row.size)
    return [(rows[fold_of_row != k], rows[fold_of_row == k]) for k in range(n_folds)]


def _absent_class_message(data: Any, k: int, fitted: np.ndarray) -> str:
    """Which classes fold ``k``'s training rows lack, and how many rows each has in all."""
    absent = [label for label in data.classes.tolist() if label not in fitted.tolist()]
    indices = getattr(data, "indices", None)
    counts = {} if indices is None else dict(zip(data.classes.tolist(),
                                                 np.bincount(indices).tolist()))
    said = ", ".join(f"{label!r}" + (f" ({counts[label]} row(s) in all)" if counts else "")
                     for label in absent)
    return (f"fold {k}'s training rows hold no row of the class(es) {said}; every training "
            "fold needs every class: use fewer folds, or more rows of that class")


def _warn_unconverged(converged: np.ndarray, Cs: np.ndarray, max_iter: int) -> None:
    """One ConvergenceWarning for every fold fit that stopped unconverged, naming their Cs."""
    if converged.all():
        return
    at = ", ".join(f"{C:.4g}" for C in np.unique(np.broadcast_to(Cs, converged.shape)[~converged]))
    warnings.warn(f"{int((~converged).sum())} of {converged.size} fold fits did not converge "
                  f"within max_iter = {max_iter} (their Cs: {at}); "
                  "their held-out scores entered the choice of C: increase `max_iter`, or "
                  "scale the data (e.g. StandardScaler)", ConvergenceWarning, stacklevel=3)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _grid(Cs: Any) -> np.ndarray:
    """The C grid: scikit-learn's ``np.logspace(-4, 4, Cs)`` for an int, else the values given."""
    if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
        if Cs < 1:
            raise ValueError(f"`Cs` must be an int >= 1 or a list of positive numbers; got {Cs!r}")
        return np.logspace(-4, 4, int(Cs))
    values = np.asarray(Cs, dtype=object).ravel() if not isinstance(Cs, str) else np.array([Cs])
    if values.size == 0 or not all(_is_real(c) and 0 < c < np.inf for c in values):
        raise ValueError(f"`Cs` must be an int >= 1 or a list of positive finite numbers; "
                         f"got {Cs!r}")
    return values.astype(np.float64)


def _l1_ratios(l1_ratios: Any) -> np.ndarray:
    """The l1_ratio grid: [0.0] (L2) for None, else numbers in [0, 1]."""
    if l1_ratios is None:
        return np.array([0.0])
    values = np.asarray(l1_ratios, dtype=object).ravel() if not isinstance(l1_ratios, str) \
        else np.array([l1_ratios])
    if values.size == 0 or not all(_is_real(r) and 0 <= r <= 1 for r in values):
        raise ValueError(f"`l1_ratios` must be None or a list of numbers between 0 and 1; "
                         f"got {l1_ratios!r}")
    return values.astype(np.float64)


def _n_threads(n_jobs: Any, n_tasks: int) -> int:
    """Threads for the folds: ``n_jobs`` as joblib reads it (None → 1, -1 → every core)."""
    from joblib import effective_n_jobs

    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or
                               isinstance(n_jobs, bool) or n_jobs == 0):
        raise ValueError(f"`n_jobs` must be None or a nonzero integer; got {n_jobs!r}")
    return max(1, min(int(effective_n_jobs(n_jobs)), n_tasks))


def _scorer(scoring: Any, classes: np.ndarray) -> Callable[..., float] | None:
    """scikit-learn's scorer for ``scoring``, told every class as scikit-learn's CV does.

    A metric that takes ``labels`` (log-loss, for instance) gets all classes,
    so a test fold missing one scores as scikit-learn scores it. None means
    the estimator's own accuracy (``score``).
    """
    from sklearn.metrics import get_scorer, make_scorer

    if scoring is None:
        return None
    scorer = get_scorer(scoring)
    score_func = getattr(scorer, "_score_func", None)
    if score_func is None:
        return scorer
    import inspect

    signature = inspect.signature(score_func).parameters
    if "labels" not in signature:
        return scorer
    extra = {"pos_label": classes[-1]} if classes.size == 2 and "pos_label" in signature else {}
    return make_scorer(score_func, greater_is_better=scorer._sign == 1,
                       response_method=scorer._response_method, labels=classes,
                       **extra, **getattr(scorer, "_kwargs", {}))


def _with_intercept(model: LogisticRegression) -> np.ndarray:
    """[coef_ | intercept_] of shape (n_outputs, n_dof) as NumPy (intercept only when fitted)."""
    coef = to_numpy(model.coef_).astype(np.float64)
    if not model.fit_intercept:
        return coef
    return np.concatenate([coef, to_numpy(model.intercept_).astype(np.float64)[:, None]], axis=1)


def _set_start(model: LogisticRegression, w: np.ndarray, dtype: Any) -> None:
    """Make ``w`` (n_outputs, n_dof) the next warm-started fit's starting point."""
    n_features = w.shape[1] - int(model.fit_intercept)
    model.coef_ = np.ascontiguousarray(w[:, :n_features], dtype=dtype)
    model.intercept_ = np.ascontiguousarray(w[:, n_features], dtype=dtype) \
        if model.fit_intercept else np.zeros(w.shape[0], dtype=dtype)


class LogisticRegressionCV(ClassifierMixin, BaseEstimator):
    """Logistic regression with C (and l1_ratio) chosen by cross-validation.

    scikit-learn's :class:`~sklearn.linear_model.LogisticRegressionCV` on
    noloop's solvers: for every fold, a path over ``Cs`` warm-started from
    the previous C; the C with the best score summed over folds is refitted
    on all the data. NumPy, pandas and Dask data; folds run in parallel
    threads with ``n_jobs``.

    Parameters
    ----------
    Cs : int or list of float, default=10
        An int gives ``np.logspace(-4, 4, Cs)``; a list is used in its order
        (each fit starts from the previous one's coefficients, so a list
        from small to large C, strong to weak penalty, is fastest).
    l1_ratios : list of float or None, default=None
        Elastic-net mixing values to cross-validate; None means ``[0.0]``
        (L2). Values other than 0 are passed on as ``LogisticRegression``'s
        ``l1_ratio`` and need a noloop that has it.
    fit_intercept : bool, default=True
    cv : int, cross-validation generator or iterable, default=None
        None means 5. An int is scikit-learn's ``StratifiedKFold(cv)`` for
        in-memory data and :func:`chunk_folds` (whole row chunks) for Dask
        data; a splitter or an iterable of (train, test) index arrays is used
        as given.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; None is
        accuracy (scikit-learn 1.9's default).
    solver : {"lbfgs", "newton-cholesky", "gd"}, default="lbfgs"
    tol : float, default=1e-4
    max_iter : int, default=100
    class_weight : dict, "balanced" or None, default=None
        "balanced" weights are computed once on all the data, as scikit-learn does.
    n_jobs : int or None, default=None
        Threads over (fold, l1_ratio) paths; None means 1, -1 every core.
    verbose : int, default=0
    refit : bool, default=True
        Refit on all the data at the best (C, l1_ratio), starting from the
        folds' mean coefficients there. False averages the folds' best
        coefficients, and ``C_`` is the mean of the folds' best Cs.
    random_state : int, RandomState or None, default=None
        Accepted for scikit-learn compatibility; noloop's solvers are deterministic.
    missing : {"error", "impute"}, default="error"
        As :class:`LogisticRegression`'s. A table (a DataFrame with text,
        category or bool columns, or any X under ``"impute"``) is encoded
        inside each training fold, as a scikit-learn Pipeline would: levels,
        imputation means and indicators come from the fold's training rows only.
    handle_unknown : {"ignore", "error"}, default="ignore"
        As :class:`LogisticRegression`'s, for levels a fold's held-out rows
        hold but its training rows do not (ignored silently while scoring).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    Cs_ : ndarray of shape (n_cs,)
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        The score of every fold's fit at every (l1_ratio, C), on the fold's held-out rows.
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_outputs, n_dof)
        Every fit's [coef | intercept]; n_outputs is 1 for two classes,
        n_dof is n_features + 1 with an intercept.
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
    C_ : float
    l1_ratio_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X was a DataFrame with string column names.
    encoding_ : TableEncoding
        Only after a fit on a table: the encoding learned on all the rows. The
        columns of ``coefs_paths_`` and ``coef_`` are its features: a fold
        whose training rows lack a level or a missing cell has 0 for that
        feature, as a fit on the whole layout would give it.
    feature_names_out_ : ndarray of shape (n_coef_columns,)
        With ``encoding_``: the name of each column of ``coef_``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from noloop import LogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = LogisticRegressionCV(Cs=5, cv=3).fit(X, y)
    >>> model.scores_.shape, float(model.C_)
    ((3, 1, 5), 1.0)
    """

    def __init__(
        self,
        *,
        Cs: int | Sequence[float] = 10,
        l1_ratios: Sequence[float] | None = None,
        fit_intercept: bool = True,
        cv: Any = None,
        scoring: str | Callable[..., float] | None = None,
        solver: str = "lbfgs",
        tol: float = 1e-4,
        max_iter: int = 100,
        class_weight: dict | str | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        refit: bool = True,
        random_state: Any = None,
        missing: str = "error",
        handle_unknown: str = "ignore",
    ) -> None:
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.random_state = random_state
        self.missing = missing
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------------ fit

    def _template(self, C: float, l1_ratio: float, class_weight: Any) -> LogisticRegression:
        """The LogisticRegression one path runs, warm-started from C to C."""
        params: dict[str, Any] = dict(C=float(C), solver=self.solver, tol=self.tol,
                                      max_iter=self.max_iter, class_weight=class_weight,
                                      fit_intercept=self.fit_intercept, warm_start=True,
                                      verbose=max(0, int(self.verbose) - 1),
                                      missing=self.missing, handle_unknown=self.handle_unknown)
        if l1_ratio != 0:  # only then: works before and after LogisticRegression has l1_ratio
            if "l1_ratio" not in LogisticRegression().get_params():
                raise ValueError(f"`l1_ratios` holds {l1_ratio!r}, but this noloop's "
                                 "LogisticRegression has no l1_ratio (L2 only); use "
                                 "l1_ratios=None or [0.0]")
            params["l1_ratio"] = float(l1_ratio)
        return LogisticRegression(**params)

    def _check_params(self) -> tuple[np.ndarray, np.ndarray]:
        """Validate every parameter; return the (Cs, l1_ratios) grids."""
        _check_params(self._template(1.0, 0.0, self.class_weight).get_params(deep=False))
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"`refit` must be True or False; got {self.refit!r}")
        if self.scoring is not None and not callable(self.scoring):
            from sklearn.metrics import get_scorer_names

            if self.scoring not in get_scorer_names():
                raise ValueError(f"`scoring` must be None, a callable or a scikit-learn "
                                 f"scorer name such as 'accuracy' or 'neg_log_loss'; "
                                 f"got {self.scoring!r}")
        _n_threads(self.n_jobs, 1)
        return _grid(self.Cs), _l1_ratios(self.l1_ratios)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "LogisticRegressionCV":
        """Cross-validate the grid of (l1_ratio, C), then refit the best on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy, pandas, or a dask array (folds of whole row chunks).
        y : array-like of shape (n_samples,)
            A dask array chunked like X's rows when X is one.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights the fits and, as in scikit-learn, the held-out scores.

        Returns
        -------
        self : LogisticRegressionCV
        """
        from noloop.linear_model._categorical import dask_uses_table, uses_table
        from noloop.linear_model._dask import is_dask

        Cs, l1_ratios = self._check_params()
        if is_dask(X):
            if dask_uses_table(X, missing=self.missing):
                raise ValueError("LogisticRegressionCV on Dask takes numeric columns without "
                                 "missing cells; this X has text, category or bool columns (or "
                                 "missing='impute'): cross-validate it in memory (X.compute()), "
                                 "where each fold learns its own encoding")
            data: Any = _DaskFolds(self, X, y, sample_weight)
        elif uses_table(X, missing=self.missing):
            data = _TableFolds(self, X, y, sample_weight)
        else:
            data = _InMemoryFolds(self, X, y, sample_weight)
        class_weight = data.class_weight(self.class_weight)
        scorer = _scorer(self.scoring, data.classes)
        tasks = [(k, l1_ratio) for k in range(data.n_folds) for l1_ratio in l1_ratios]

        def run(task: tuple[int, float]) -> _Path:
            k, l1_ratio = task
            return self._path(data, k, Cs, self._template(Cs[0], l1_ratio, class_weight),
                              scorer)

        threads = _n_threads(self.n_jobs, len(tasks))
        if threads > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                paths = list(pool.map(run, tasks))
        else:
            paths = [run(task) for task in tasks]
        shape = (data.n_folds, l1_ratios.size, Cs.size)
        self.Cs_, self.l1_ratios_ = Cs, l1_ratios
        self.classes_ = data.classes
        self.scores_ = np.stack([p.scores for p in paths]).reshape(shape)
        self.n_iter_ = np.stack([p.n_iter for p in paths]).reshape(shape).astype(np.int32)
        _warn_unconverged(np.stack([p.converged for p in paths]).reshape(shape), Cs,
                          self.max_iter)
        self.coefs_paths_ = np.stack([p.coefs for p in paths]).reshape(
            shape + paths[0].coefs.shape[1:])
        self._choose(data, class_weight)
        return self

    @staticmethod
    def _path(data: Any, k: int, Cs: np.ndarray, model: LogisticRegression,
              scorer: Callable[..., float] | None) -> _Path:
        """Fit fold ``k`` at every C in order, each fit warm-started from the last; score each.

        The fold's model is quiet (``_quiet``): one warning after all folds says which fits
        did not converge, and held-out levels new to the fold count zero without a warning
        per fold and C. A flag on this model, not a warnings filter: filters are
        process-wide, and folds (or two searches) run in threads.
        """
        model._quiet = True
        X_train, y_train, w_train, X_test, y_test, w_test = data.fold(k)
        coefs, scores, n_iter, converged = [], [], [], []
        for C in Cs:
            model.set_params(C=float(C))
            model.fit(X_train, y_train, sample_weight=w_train)
            if model.classes_.shape != data.classes.shape:
                raise ValueError(_absent_class_message(data, k, model.classes_))
            coefs.append(data.in_layout(model))
            n_iter.append(int(model.n_iter_[0]))
            converged.append(bool(model.converged_))
            weight = {} if w_test is None else {"sample_weight": w_test}
            try:
                scores.append(model.score(X_test, y_test, **weight) if scorer is None
                              else scorer(model, X_test, y_test, **weight))
            except ValueError as error:  # e.g. handle_unknown="error" and a level new to the fold
                raise ValueError(f"fold {k}, scoring its held-out rows: {error}") from None
        return _Path(np.stack(coefs), np.asarray(scores, dtype=np.float64),
                     np.asarray(n_iter), np.asarray(converged))

    def _choose(self, data: Any, class_weight: Any) -> None:
        """Pick (l1_ratio, C) as scikit-learn does and set coef_, intercept_, C_, l1_ratio_."""
        n_folds, n_l1, n_cs = self.scores_.shape
        if self.refit:
            # scikit-learn takes the argmax over a (n_cs, n_l1_ratios) table: the same ties
            summed = self.scores_.sum(axis=0).T
            i_c, i_l1 = np.unravel_index(int(np.argmax(summed)), summed.shape)
            self.C_, self.l1_ratio_ = float(self.Cs_[i_c]), float(self.l1_ratios_[i_l1])
            model = self._template(self.C_, self.l1_ratio_, class_weight)
            start = self.coefs_paths_[:, i_l1, i_c].mean(axis=0)
            _set_start(model, start, data.dtype)
            model.fit(*data.everything())
            w = data.in_layout(model)
            self._refit_state = {"n_iter": int(model.n_iter_[0]),
                                 "loss_history": list(model.loss_history_),
                                 "converged": bool(model.converged_),
                                 "stop_reason": str(model.stop_reason_)}
        else:
            # each fold's best over its (n_cs, n_l1_ratios) table, ties as scikit-learn
            best = np.argmax(self.scores_.transpose(0, 2, 1).reshape(n_folds, -1), axis=1)
            i_cs, i_l1s = np.unravel_index(best, (n_cs, n_l1))
            w = np.mean([self.coefs_paths_[k, i_l1s[k], i_cs[k]] for k in range(n_folds)],
                        axis=0)
            self.C_ = float(np.mean(self.Cs_[i_cs]))
            self.l1_ratio_ = float(np.mean(self.l1_ratios_[i_l1s]))
            self._refit_state = {"n_iter": 0, "loss_history": [], "converged": True,
                                 "stop_reason": "refit=False: the mean of the folds' best fits"}
        n_features = w.shape[1] - int(self.fit_intercept)
        self.coef_ = np.ascontiguousarray(w[:, :n_features], dtype=data.dtype)
        self.intercept_ = np.ascontiguousarray(w[:, n_features], dtype=data.dtype) \
            if self.fit_intercept else np.zeros(w.shape[0], dtype=data.dtype)
        self.n_features_in_ = n_features
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        set_encoding(self, getattr(data, "encoding", None))

    # ------------------------------------------------------------- the model

    def to_logistic_regression(self) -> LogisticRegression:
        """The chosen model as a fitted :class:`LogisticRegression` (for ``save_model``, inference).

        Returns
        -------
        model : LogisticRegression
            With ``C=C_`` and this estimator's solver, tol, max_iter,
            class_weight and fit_intercept; coefficients, classes and feature
            names are this fit's.
        """
        check_is_fitted(self)
        model = self._template(self.C_, self.l1_ratio_, self.class_weight)
        model.set_params(warm_start=False, verbose=0)
        state = getattr(self, "_refit_state", None) or {
            "n_iter": 0, "loss_history": [], "converged": True, "stop_reason": ""}
        names = getattr(self, "feature_names_in_", None)
        model._restore(classes=self.classes_, coef=self.coef_, intercept=self.intercept_,
                       feature_names=None if names is None else list(names),
                       encoding=getattr(self, "encoding_", None), **state)
        return model

    decision_function = LogisticRegression.decision_function
    predict_proba = LogisticRegression.predict_proba
    predict_log_proba = LogisticRegression.predict_log_proba
    predict = LogisticRegression.predict

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The ``scoring`` score on (X, y), as scikit-learn's CV estimator (accuracy when None).

        Returns
        -------
        score : float
        """
        if self.scoring is None:
            return LogisticRegression.score(self, X, y, sample_weight)
        from sklearn.metrics import get_scorer

        weight = {} if sample_weight is None else {"sample_weight": sample_weight}
        return float(get_scorer(self.scoring)(self, X, y, **weight))


class _InMemoryFolds:
    """NumPy and pandas data, validated once; folds by row indices (``cv`` as scikit-learn)."""

    def __init__(self, estimator: LogisticRegressionCV, X: Any, y: Any,
                 sample_weight: Any) -> None:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        with np.errstate(over="ignore", invalid="ignore"):  # as LogisticRegression's validation
            X, y = validate_data(estimator, X, y, dtype=[np.float64, np.float32],
                                 accept_sparse=False, y_numeric=False, multi_output=False)
        check_classification_targets(y)
        self.X, self.y = X, y
        self.dtype = X.dtype
        self.feature_names = getattr(estimator, "feature_names_in_", None)
        self._classes_weights_and_folds(estimator, sample_weight)

    def _classes_weights_and_folds(self, estimator: LogisticRegressionCV,
                                   sample_weight: Any) -> None:
        """classes, indices, sample_weight and the folds, from the validated X and y."""
        from sklearn.model_selection import check_cv
        from sklearn.utils.validation import _check_sample_weight

        self.classes, self.indices = np.unique(self.y, return_inverse=True)
        if self.classes.size < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {self.classes[0]!r}")
        self.sample_weight = None if sample_weight is None else \
            _check_sample_weight(sample_weight, self.X, dtype=self.dtype)
        cv = 5 if estimator.cv is None else estimator.cv
        self.folds = list(check_cv(cv, self.y, classifier=True).split(self.X, self.y))
        self.n_folds = len(self.folds)

    def class_weight(self, class_weight: Any) -> Any:
        """``"balanced"`` made a dict from all the data (as scikit-learn); others as given."""
        if not isinstance(class_weight, str):
            return class_weight
        from noloop.linear_model._objective import class_weight_vector

        counts = np.bincount(self.indices, weights=self.sample_weight,
                             minlength=self.classes.size)
        weights = class_weight_vector(class_weight, self.classes, counts)
        return {label.item() if isinstance(label, np.generic) else label: float(w)
                for label, w in zip(self.classes, weights)}

    def fold(self, k: int) -> tuple[Any, ...]:
        """(X_train, y_train, w_train, X_test, y_test, w_test) of fold ``k``."""
        train, test = self.folds[k]
        w = self.sample_weight
        return (self.X[train], self.y[train], None if w is None else w[train],
                self.X[test], self.y[test], None if w is None else w[test])

    def everything(self) -> tuple[Any, Any, Any]:
        return self.X, self.y, self.sample_weight

    @staticmethod
    def in_layout(model: LogisticRegression) -> np.ndarray:
        """A fit's [coef | intercept], shape (n_outputs, n_dof): every fit has the same columns."""
        return _with_intercept(model)


class _TableFolds(_InMemoryFolds):
    """A table (text, category or bool columns, or missing cells): each fold's model learns
    its own encoding from its training rows; coefficients are compared in the layout of the
    encoding learned from all the rows."""

    def __init__(self, estimator: LogisticRegressionCV, X: Any, y: Any,
                 sample_weight: Any) -> None:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        from noloop.linear_model._categorical import TableEncoding, _as_frame

        frame = _as_frame(X)
        y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y)
        if len(y) != len(frame):
            raise ValueError(f"`X` has {len(frame)} rows but `y` has {len(y)}")
        check_classification_targets(y)
        # learned here first, so a table the folds cannot take (a missing cell under
        # missing="error", duplicate columns) fails once, before any fold runs
        self.encoding = TableEncoding.learn(frame, missing=estimator.missing)
        self.X, self.y = frame, np.asarray(y)
        self.dtype = np.dtype(np.float64)
        self.feature_names = np.asarray(self.encoding.columns, dtype=object)
        self._classes_weights_and_folds(estimator, sample_weight)
        self._columns = {name: j for j, name in enumerate(self.encoding.feature_names_out)}

    def fold(self, k: int) -> tuple[Any, ...]:
        """(X_train, y_train, w_train, X_test, y_test, w_test) of fold ``k``; X as DataFrames.

        A column empty in every training row of the fold is left out of both: the fold has
        nothing to learn from it (its features get 0, as an all-zero column's would).
        """
        train, test = self.folds[k]
        w = self.sample_weight
        X_train, X_test = self.X.iloc[train], self.X.iloc[test]
        empty = X_train.columns[X_train.isna().all(axis=0).to_numpy()]
        if len(empty):
            X_train, X_test = X_train.drop(columns=empty), X_test.drop(columns=empty)
        return (X_train, self.y[train], None if w is None else w[train],
                X_test, self.y[test], None if w is None else w[test])

    def in_layout(self, model: LogisticRegression) -> np.ndarray:
        """The fit's [coef | intercept] in the all-rows encoding's columns, 0 where the fold's
        training rows lacked a level or a missing cell (an all-zero feature's L2 coefficient)."""
        fitted = _with_intercept(model)
        names = list(model.feature_names_out_)
        # a missing level is named to differ from the levels (rarely "<<missing>>" rather than
        # "<missing>"): take the all-rows name of the same column's missing level
        missing_levels = {name: level for name, _, level in self.encoding.categorical}
        for name, _, level in model.encoding_.categorical:
            if level is not None and level != missing_levels[name]:
                names[names.index(f"{name}[{level}]")] = f"{name}[{missing_levels[name]}]"
        n_features = len(self._columns)
        out = np.zeros((fitted.shape[0], n_features + int(model.fit_intercept)))
        out[:, [self._columns[name] for name in names]] = fitted[:, :len(names)]
        if model.fit_intercept:
            out[:, n_features] = fitted[:, len(names)]
        return out


class _DaskFolds:
    """Dask arrays or DataFrames: folds of whole row chunks (or the index pairs ``cv`` gives)."""

    in_layout = staticmethod(_InMemoryFolds.in_layout)

    def __init__(self, estimator: LogisticRegressionCV, X: Any, y: Any,
                 sample_weight: Any) -> None:
        import dask.array as da

        from noloop.linear_model._dask import to_dask_arrays

        if y is None:
            raise ValueError("y is required to fit")
        X, y, sample_weight, names = to_dask_arrays(X, y, sample_weight)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.dtype = X.dtype
        self.feature_names = None if names is None else np.asarray(names, dtype=object)
        estimator.n_features_in_ = int(X.shape[1])
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        self.classes = np.unique(np.asarray(da.unique(y).compute()))
        if self.classes.size < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {self.classes[0]!r}")
        cv = 5 if estimator.cv is None else estimator.cv
        if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            self.folds = chunk_folds(X.chunks[0], int(cv))
            self._blocks: list[np.ndarray] | None = [
                np.unique(np.searchsorted(np.cumsum(X.chunks[0]), test, side="right"))
                for _, test in self.folds]
        elif isinstance(cv, Iterable) and not hasattr(cv, "split"):
            self.folds = [(np.asarray(train), np.asarray(test)) for train, test in cv]
            self._blocks = None
        else:
            raise ValueError("`cv` for Dask data must be an int (folds of whole row chunks) or "
                             f"a list of (train, test) index arrays; got {cv!r}")
        self.n_folds = len(self.folds)

    def class_weight(self, class_weight: Any) -> Any:
        if not isinstance(class_weight, str):
            return class_weight
        import dask.array as da

        from noloop.linear_model._objective import class_weight_vector

        weight = self.sample_weight if self.sample_weight is not None else da.ones_like(
            self.y, dtype=np.float64)
        counts = np.array([float((weight * (self.y == label)).sum().compute())
                           for label in self.classes])
        weights = class_weight_vector(class_weight, self.classes, counts)
        return {label.item() if isinstance(label, np.generic) else label: float(w)
                for label, w in zip(self.classes, weights)}

    def _take(self, array: Any, rows: np.ndarray, blocks: np.ndarray | None) -> Any:
        import dask.array as da

        if array is None:
            return None
        if blocks is not None:  # whole chunks: no row moves between workers
            return da.concatenate([array.blocks[int(i)] for i in blocks])
        return array[rows]

    def fold(self, k: int) -> tuple[Any, ...]:
        train, test = self.folds[k]
        if self._blocks is not None:
            n_blocks = len(self.X.chunks[0])
            test_blocks = self._blocks[k]
            train_blocks = np.setdiff1d(np.arange(n_blocks), test_blocks)
        else:
            test_blocks = train_blocks = None
        return (self._take(self.X, train, train_blocks), self._take(self.y, train, train_blocks),
                self._take(self.sample_weight, train, train_blocks),
                self._take(self.X, test, test_blocks), self._take(self.y, test, test_blocks),
                self._take(self.sample_weight, test, test_blocks))

    def everything(self) -> tuple[Any, Any, Any]:
        return self.X, self.y, self.sample_weight
