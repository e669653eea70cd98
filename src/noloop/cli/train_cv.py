"""``noloop train --cv K``: choose C by K-fold cross-validation, report the curve, keep the refit.

``train`` calls :func:`fit_cv` in place of its single fit and :func:`cv_png`
in place of its cost curve; the model it saves is the refit at the chosen C.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from noloop.cli._common import UsageError, say

__all__ = ["add_options", "check_options", "fit_cv", "cv_png", "validation_table"]


def add_options(train: argparse.ArgumentParser) -> None:
    """``--cv`` and ``--Cs`` on the ``train`` parser."""
    from noloop.cli._common import positive_int

    train.add_argument("--cv", type=positive_int, default=None, metavar="K",
                       help="choose C by K-fold cross-validation (stratified; whole chunks on "
                            "Dask) and save the model refitted at the best C")
    train.add_argument("--Cs", type=positive_int, default=10, metavar="N",
                       help="with --cv: N values of C on scikit-learn's grid 1e-4..1e4 "
                            "(default 10)")


def check_options(args: argparse.Namespace) -> None:
    """Refuse what cannot go with --cv, before any data is read."""
    if args.cv is None:
        return
    if args.cv < 2:
        raise UsageError(f"--cv needs at least 2 folds; got {args.cv}")
    if args.learning_rates:
        raise UsageError("--cv chooses C; it cannot also compare --learning-rates")
    if args.penalty == "none":
        raise UsageError("--cv chooses the strength of the penalty; it cannot go with "
                         "--penalty none")
    if getattr(args, "C_given", False):
        raise UsageError(f"--cv chooses C; leave out --C {args.C:g}")
    if args.summary:
        raise UsageError("--summary prints the table of one fit: after --cv, train again with "
                         "--C set to the chosen C and --summary")


def fit_cv(args: argparse.Namespace, X: Any, y: Any) -> tuple[dict[str, Any], Any]:
    """Cross-validate on (X, y), print the chosen C and the validation table.

    Returns
    -------
    fits : dict
        ``{"cv": the fitted LogisticRegressionCV}`` (fitted on standardized
        columns unless --no-standardize).
    model : LogisticRegression
        The refit at the chosen C, on the raw columns.

    A table (text columns or empty cells: ``args.text_columns`` is set) is
    encoded inside each training fold by LogisticRegressionCV; only its
    numeric columns are standardized, as for a fit without --cv.
    """
    from noloop.linear_model import LogisticRegressionCV
    from noloop.linear_model._categorical import fold_table_standardization
    from noloop.preprocessing import fold_standardization, standardize
    from noloop.table_columns import standardized_numeric

    text_columns = getattr(args, "text_columns", None)
    table = {} if text_columns is None else \
        {"missing": "error" if args.missing == "error" else "impute"}
    if args.standardize:
        X, mean, scale = standardize(X, source=str(args.data)) if text_columns is None \
            else standardized_numeric(X, text_columns)
    # the search runs at the --l1-ratio asked for (0: L2), the refit and the model file too
    search = LogisticRegressionCV(Cs=args.Cs, cv=args.cv, solver=args.solver,
                                  l1_ratios=[args.l1_ratio], max_iter=args.max_iter,
                                  tol=args.tol, n_jobs=-1, **table)
    say(args, f"cross-validating {args.Cs} values of C on {args.cv} folds (accuracy)")
    start = time.perf_counter()
    search.fit(X, y)
    say(args, validation_table(search))
    model = search.to_logistic_regression()
    say(args, f"chosen C = {search.C_:.4g}; refit on every row: {int(model.n_iter_[0])} "
              f"iterations ({model.stop_reason_}), {time.perf_counter() - start:.2f} s in all")
    if args.standardize:
        fold = fold_standardization if text_columns is None else fold_table_standardization
        fold(model, mean, scale)
    return {"cv": search}, model


def validation_table(search: Any) -> str:
    """C, mean and std of the held-out score over the folds, one row per C; the chosen one marked."""
    from noloop.bench._format import Column, format_table

    i_l1 = int(list(search.l1_ratios_).index(search.l1_ratio_))
    scores = search.scores_[:, i_l1, :]
    rows = [(C, scores[:, i].mean(), scores[:, i].std(), C == search.C_)
            for i, C in enumerate(search.Cs_)]
    return format_table([
        Column("C", lambda row: row[0], "{:.4g}", ">"),
        Column("mean accuracy", lambda row: row[1], "{:.4f}", ">"),
        Column("std", lambda row: row[2], "{:.4f}", ">"),
        Column("", lambda row: row[3], lambda chosen: "← chosen" if chosen else ""),
    ], rows)


def cv_png(args: argparse.Namespace, search: Any, feature_names: list[str] | None) -> bytes:
    """The --plot picture with --cv: validation curve and regularization path (fold means)."""
    from noloop.plots import cv_path_png

    i_l1 = int(list(search.l1_ratios_).index(search.l1_ratio_))
    scores = search.scores_[:, i_l1, :]
    n_features = search.coef_.shape[1]  # a table's encoded features, not its input columns
    path = search.coefs_paths_[:, i_l1, :, :, :n_features].mean(axis=0)
    units = "raw columns" if not args.standardize else "standardized columns" \
        if getattr(args, "text_columns", None) is None else "numeric columns standardized"
    return cv_path_png(search.Cs_, scores.mean(axis=0), scores.std(axis=0), path, search.C_,
                       feature_names=feature_names, score_label="accuracy",
                       title=f"{args.cv}-fold cross-validation on {Path(str(args.data)).name} "
                             f"({units})")
