"""``noloop train``: fit a model on a table, report accuracy and log-loss, write the model."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from noloop.cli._common import (Progress, UsageError, add_chatter, add_dask_options,
                                add_reading_options, check_paths, dask_client, dask_kind,
                                in_option_words,
                                metrics_line, non_negative_int, non_negative_number,
                                option_type, positive_int, positive_number,
                                refuse_na_values_off_csv, say, use_dask,
                                warnings_as_lines)
from noloop.sparse_files import add_sparse_options, is_sparse_file, read_sparse

__all__ = ["add_parser", "run"]

SOLVER_CHOICES = ("lbfgs", "newton-cholesky", "newton-cg", "newton-cd", "gd")


_learning_rate = option_type(lambda text: text if text == "auto" else float(text),
                             lambda value: value == "auto" or 0 < value < math.inf,
                             "'auto' or a positive finite number")
_inverse_strength = option_type(float, lambda value: 0 < value <= math.inf,
                                "a positive number or inf")
_l1_ratio = option_type(float, lambda value: 0 <= value <= 1, "a number in [0, 1]")
_fraction = option_type(float, lambda value: 0.0 < value < 1.0, "a fraction between 0 and 1")


def _learning_rates(text: str) -> list[float]:
    """``--learning-rates``: positive numbers separated by commas."""
    parts = [part for part in text.split(",") if part.strip()]
    try:
        rates = [positive_number(part) for part in parts]
    except argparse.ArgumentTypeError:
        rates = []
    if not rates:
        raise argparse.ArgumentTypeError(
            f"expected positive numbers separated by commas, such as 0.1,0.01; got {text!r}")
    return rates


def _columns(text: str) -> list[str]:
    """``--drop``/``--features``: column names separated by commas."""
    from noloop.table_columns import parse_columns

    names = parse_columns(text)
    if not names:
        raise argparse.ArgumentTypeError(f"expected column names separated by commas; got {text!r}")
    return names


def add_parser(commands: Any) -> None:
    """Add ``train`` and its options to the subcommands of the ``noloop`` parser."""
    train = commands.add_parser("train", help="fit a model on a CSV/Parquet/NumPy file")
    train.add_argument("data", help="CSV, Parquet, .npy or .npz file; sparse: LIBSVM "
                                    "(.svm, .libsvm) or a scipy.sparse .npz")
    train.add_argument("--target", help="the column holding the labels (tables only)")
    train.add_argument("--model", required=True, help="where to write the model (.safetensors)")
    train.add_argument("--solver", choices=SOLVER_CHOICES, default=None,
                       help="optimizer (default lbfgs; gd is the seed's gradient descent)")
    train.add_argument("--C", type=_inverse_strength, default=None,
                       help="inverse penalty strength (default 1.0; inf: no penalty)")
    train.add_argument("--l1-ratio", type=_l1_ratio, default=0.0,
                       help="elastic-net mixing: 0 L2 (default), 1 L1 (sparse), between: both; "
                            "above 0 the solver defaults to newton-cd")
    train.add_argument("--penalty", choices=("l2", "none"), default="l2",
                       help="none is --C inf")
    train.add_argument("--max-iter", type=non_negative_int, default=1000, help="default 1000")
    train.add_argument("--tol", type=non_negative_number, default=1e-4,
                       help="gradient tolerance (default 1e-4)")
    train.add_argument("--learning-rate", type=_learning_rate, default="auto",
                       help="gd step: 'auto' (safe) or a number")
    train.add_argument("--learning-rates", type=_learning_rates, default=None,
                       help="compare gd steps, e.g. 0.1,0.01,0.001: one curve each in --plot")
    train.add_argument("--test-size", type=_fraction, default=None,
                       help="hold out this fraction of rows and report accuracy on them")
    train.add_argument("--seed", type=int, default=0, help="seed of the --test-size split")
    train.add_argument("--no-standardize", dest="standardize", action="store_false",
                       help="fit on the raw columns (default: fit on standardized columns, then "
                            "fold the scaling into the saved coefficients)")
    train.add_argument("--missing", choices=("impute", "drop", "error"), default="impute",
                       help="empty cells: impute (numeric: training mean plus an indicator; "
                            "text: a level of its own; default), drop their rows, or error")
    train.add_argument("--drop", type=_columns, default=None, metavar="COL[,COL]",
                       help="leave these columns out")
    train.add_argument("--features", type=_columns, default=None, metavar="COL[,COL]",
                       help="use only these columns as features")
    train.add_argument("--plot", help="write the cost curve (with --cv: the validation curve "
                                      "and the regularization path) to this PNG")
    train.add_argument("--summary", action="store_true",
                       help="print the coefficient table after the fit (also with --quiet) and "
                            "keep its covariance in the model file, for noloop summary")
    train.add_argument("--cov-type", choices=("nonrobust", "HC0", "HC1"), default="nonrobust",
                       help="with --summary: the covariance (default nonrobust; HC0/HC1 sandwich)")
    from noloop.cli.train_cv import add_options as add_cv_options

    add_cv_options(train)
    add_reading_options(train)
    train.add_argument("--every", type=positive_int, default=100,
                       help="with --verbose: print every N iterations")
    add_sparse_options(train)
    add_dask_options(train)
    add_chatter(train)
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit on ``args.data`` (in memory or on Dask), print the metrics, write ``args.model``.

    Every check that can fail without reading the data (options, outputs) runs
    first; the model and the plot are written last, once both are ready.
    """
    import numpy as np

    from noloop.table_columns import training_table
    from noloop.tables import DataError, read_table, table_format

    _check_options(args)
    if is_sparse_file(args.data):
        return _train_sparse(args)
    if args.target is None:
        raise UsageError("--target is required: name the column holding the labels")
    if use_dask(args):
        return _train_dask(args)
    fmt = table_format(args.data, args.format)
    fast = (read_training_csv(args) if fmt == "csv" and args.drop is None
            and args.features is None and not args.na_values else None)
    text_columns: list[str] | None = None  # None: no table encoding (all numbers, all present)
    report = None
    if fast is not None:  # a clean numeric CSV: labels encoded once, as codes into the classes
        X, features, codes, classes = fast.X, fast.features, fast.codes, fast.classes
        del fast
    else:  # the careful reader: text columns, empty cells; messages name file, line, column
        frame = read_table(args.data, fmt, na_values=args.na_values)
        table = training_table(frame, args.target, str(args.data), fmt, missing=args.missing,
                               drop=args.drop, features=args.features)
        del frame
        text_columns = list(table.text_columns) if table.is_table else None
        report = table.report(args.missing)
        X, features = table.X, table.features
        classes, codes = np.unique(table.y, return_inverse=True)
        del table
    args.text_columns = text_columns
    if classes.size < 2:
        raise DataError(f"{args.data}: column {args.target!r} holds a single class "
                         f"({classes.tolist()[0]!r}); a classifier needs at least two")
    X_train, codes_train, X_test, codes_test = X, codes, None, None
    if args.test_size:
        from sklearn.model_selection import train_test_split

        counts = np.bincount(codes, minlength=classes.size)
        stratify = codes if counts.min() >= 2 else None
        X_train, X_test, codes_train, codes_test = train_test_split(
            X, codes, test_size=args.test_size, random_state=args.seed, stratify=stratify
        )
        del X
        if np.count_nonzero(np.bincount(codes_train, minlength=classes.size)) < 2:
            raise UsageError(f"--test-size {args.test_size} leaves a single class to train on")
    import pandas as pd

    X_train = pd.DataFrame(X_train, columns=features, copy=False)
    y_train = classes[codes_train]
    say(args, f"training on {len(y_train):,} rows × {len(features)} features from {args.data} "
              f"({np.count_nonzero(np.bincount(codes_train))} classes, solver {args.solver})")
    _say_table(args, text_columns, report)
    fits, model = _fit_each_rate(args, X_train, y_train)
    del y_train
    with warnings_as_lines(UserWarning):  # held-out rows with unseen levels: one line
        metrics = {"train": _metrics(model, X_train, codes_train, classes)}
        if X_test is not None:
            metrics["test"] = _metrics(model, pd.DataFrame(X_test, columns=features, copy=False),
                                       codes_test, classes)
    return _report_and_save(args, model, fits, metrics)


def _say_table(args: argparse.Namespace, text_columns: list[str] | None,
               report: str | None) -> None:
    """The lines naming the categorical columns and what was done to empty cells."""
    if text_columns:
        say(args, f"categorical: {', '.join(text_columns)}")
    if report:
        say(args, report)


def _train_sparse(args: argparse.Namespace) -> int:
    """Fit on a LIBSVM file or a scipy.sparse .npz, without standardizing (it would densify)."""
    import numpy as np

    from noloop.metrics import classification_metrics

    X, y = read_sparse(args.data, n_features=args.n_features, labels=args.labels)
    args.standardize = False
    data = {"train": (X, y)}
    if args.test_size:
        from sklearn.model_selection import train_test_split

        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=args.test_size,
                                                            random_state=args.seed)
        data = {"train": (X_train, y_train), "test": (X_test, y_test)}
    X_train, y_train = data["train"]
    say(args, f"training on {X_train.shape[0]:,} rows × {X_train.shape[1]:,} sparse features "
              f"({X_train.nnz:,} non-zeros, not standardized) from {args.data} "
              f"({np.unique(y_train).size} classes, solver {args.solver})")
    fits, model = _fit_each_rate(args, X_train, y_train)
    metrics = {name: classification_metrics(model, X, y) for name, (X, y) in data.items()}
    return _report_and_save(args, model, fits, metrics)


def _metrics(model: Any, X: Any, codes: Any, classes: Any) -> dict[str, Any]:
    """The split's metrics from the label codes (by values where the model lacks a class)."""
    import numpy as np

    from noloop.metrics import classification_metrics, metrics_from_codes

    if np.array_equal(model.classes_, classes):
        return metrics_from_codes(model.predict_proba(X), codes, classes)
    return classification_metrics(model, X, classes[codes])


def read_training_csv(args: argparse.Namespace) -> Any:
    """The fast read of a clean numeric CSV (None when the careful reader must look), with
    a progress bar by bytes once the read takes more than a second."""
    from noloop._fast_csv import read_numeric_csv
    from noloop.cli._common import ReadProgress

    with ReadProgress(args, args.data) as progress:
        return read_numeric_csv(args.data, target=args.target, on_bytes=progress)


def _check_options(args: argparse.Namespace) -> None:
    """Settle --solver, and refuse option combinations and outputs that cannot work."""
    solver_given = args.solver is not None
    args.C_given = args.C is not None  # --cv chooses C: a --C beside it would be ignored
    args.C = 1.0 if args.C is None else args.C
    args.solver = args.solver or ("newton-cd" if args.l1_ratio > 0 else "lbfgs")
    if args.learning_rates and args.solver != "gd":
        if solver_given:
            raise UsageError("--learning-rates compares the steps of --solver gd; "
                             f"got --solver {args.solver}")
        args.solver = "gd"
    if args.cov_type != "nonrobust" and not args.summary:
        raise UsageError(f"--cov-type {args.cov_type} chooses the covariance of --summary; "
                         "add --summary")
    from noloop.cli.train_cv import check_options as check_cv_options

    check_cv_options(args)
    refuse_na_values_off_csv(args)
    check_paths({"DATA": args.data}, {"--model": args.model, "--plot": args.plot})


def _train_dask(args: argparse.Namespace) -> int:
    """Fit on Dask: the columns parsed once (kept in memory when they fit), then checked,
    fitted and scored as in memory; text columns and empty cells go to the table encoding."""
    from noloop._dask_tables import dask_evaluation, parse_once
    from noloop.table_columns import dask_training_table, feature_columns
    from noloop.tables import DataError, read_dask_table, split_rows

    with dask_client(args.scheduler) as client:
        where = f"the cluster at {client.scheduler.address}" if client is not None \
            else "Dask's local threads"
        frame = read_dask_table(args.data, args.format,
                                na_values=args.na_values).rename(columns=str)
        if args.target not in frame.columns:
            raise DataError(f"{args.data}: no column named {args.target!r} (the --target); "
                            f"columns are {', '.join(map(repr, map(str, frame.columns)))}")
        features = feature_columns(list(frame.columns), args.target, str(args.data),
                                   drop=args.drop, features=args.features)
        if args.cv and frame.npartitions < args.cv:  # on Dask a fold is whole partitions
            frame = frame.repartition(npartitions=args.cv)
        # parsed once: the checks, the fit and the metrics read the kept partitions
        frame, persisted = parse_once(frame, [*features, args.target], str(args.data),
                                      dask_kind(args))
        table = dask_training_table(frame, args.target, features, str(args.data),
                                    missing=args.missing)
        args.text_columns = list(table.text_columns) if table.is_table else None
        data = {"train": (table.X, table.y)}
        if args.test_size:
            rows = table.X.assign(**{args.target: table.y})
            parts = {name: rows.map_partitions(split_rows, args.test_size, args.seed, features,
                                               name == "test", meta=rows._meta)
                     for name in ("train", "test")}
            data = {name: (part[features], part[args.target]) for name, part in parts.items()}
        X_train, y_train = data["train"]
        say(args, f"training on {args.data} with Dask ({where}), {len(features)} features, "
                  f"solver {args.solver}; "
                  + ("parsed once and kept in memory" if persisted else
                     "read again at every pass (larger than half the cluster's memory)"))
        _say_table(args, args.text_columns, table.report(args.missing))
        fits, model = _fit_each_rate(args, X_train, y_train)
        # per-partition sums, as `noloop evaluate` on Dask: any table the model reads
        with warnings_as_lines(UserWarning):
            metrics = {name: dask_evaluation(model, X.assign(**{args.target: y}), features,
                                             args.target, str(args.data))
                       for name, (X, y) in data.items()}
    return _report_and_save(args, model, fits, metrics)


def _fit(args: argparse.Namespace, X: Any, y: Any, learning_rate: float | str, label: str) -> Any:
    from noloop.linear_model import LogisticRegression
    from noloop.preprocessing import fold_standardization

    text_columns = getattr(args, "text_columns", None)
    if text_columns is not None:  # a table: categories and empty cells go to the encoding
        return _fit_table(args, X, y, learning_rate, label, text_columns)
    if args.standardize:
        X, mean, scale = _standardized(X, str(args.data))
    progress = Progress(args, args.max_iter, label)
    model = LogisticRegression(
        C=math.inf if args.penalty == "none" else args.C, l1_ratio=args.l1_ratio,
        solver=args.solver,
        learning_rate=learning_rate, max_iter=args.max_iter, tol=args.tol, callback=progress,
    )
    try:
        model.fit(X, y)
    finally:
        progress.close()
    model.set_params(callback=None)
    if getattr(args, "summary", False):
        from noloop.cli.summary_fit import fit_covariance

        # computed on the standardized fit (the penalty, if any, applies there), then folded
        model._summary_covariance = fit_covariance(  # read by _report_and_save
            model, X, y, args.cov_type, (mean, scale) if args.standardize else None)
    if args.standardize:
        fold_standardization(model, mean, scale)
    return model


def _standardized(X: Any, source: str) -> tuple[Any, Any, Any]:
    """(X − mean) / scale with the mean and scale; in memory without temporaries of X's size.

    In memory, X is a DataFrame over the float64 matrix read: the scaled copy
    is the only new array of X's size (see ``standardize_lean``), and it keeps
    X's columns so the model learns their names. On Dask, lazily per partition.
    """
    from noloop.linear_model._dask import is_dask
    from noloop.preprocessing import standardize, standardize_lean

    if is_dask(X):
        return standardize(X, source=source)
    import pandas as pd

    scaled, mean, scale = standardize_lean(X, source=source)
    return pd.DataFrame(scaled, columns=X.columns, copy=False), mean, scale


def _fit_table(args: argparse.Namespace, X: Any, y: Any, learning_rate: float | str, label: str,
               text_columns: list[str]) -> Any:
    """Fit on a table with text columns or empty cells; numeric columns standardized, then folded.

    Only numeric columns are standardized (as scikit-learn's SimpleImputer then
    StandardScaler); levels and missing indicators stay 0/1.
    """
    from noloop.linear_model import LogisticRegression
    from noloop.linear_model._categorical import fold_table_standardization
    from noloop.table_columns import standardized_numeric

    if getattr(args, "summary", False):
        # the covariance would have to be folded through the numeric columns' scaling only
        raise UsageError("--summary covers tables of numeric columns without empty cells; "
                         f"{args.data} has text columns or empty cells: use "
                         "LogisticRegression(...).coef_table(X, y) in Python for it")
    if args.standardize:
        X, mean, scale = standardized_numeric(X, text_columns)
    progress = Progress(args, args.max_iter, label)
    model = LogisticRegression(
        C=math.inf if args.penalty == "none" else args.C, l1_ratio=args.l1_ratio,
        solver=args.solver, learning_rate=learning_rate, max_iter=args.max_iter, tol=args.tol, callback=progress,
        missing="error" if args.missing == "error" else "impute",
    )
    try:
        model.fit(X, y)
    finally:
        progress.close()
    model.set_params(callback=None)
    if args.standardize:
        fold_table_standardization(model, mean, scale)
    return model


def _fit_each_rate(args: argparse.Namespace, X: Any, y: Any) -> tuple[dict[str, Any], Any]:
    """Fit once per --learning-rates entry (or once); return every fit and the lowest-cost one.

    A fit that diverges is an error with one rate; when comparing rates it is
    reported and left out, and an error only when every rate diverged.
    """
    if args.cv:
        from noloop.cli.train_cv import fit_cv

        from noloop.linear_model._dask import is_dask

        if getattr(args, "text_columns", None) is not None and is_dask(X):
            # on Dask a fold is whole partitions, and LogisticRegressionCV encodes tables
            # fold by fold in memory only
            raise UsageError(f"--cv on Dask covers numeric columns without empty cells; "
                             f"{args.data} has text columns or empty cells: train in memory "
                             "(a larger --dask-above), choose --C yourself, or leave those "
                             "columns out (--drop) and those rows (--missing drop)")

        with warnings_as_lines():
            return fit_cv(args, X, y)
    rates = args.learning_rates or [args.learning_rate]
    fits = {}
    with warnings_as_lines():
        for rate in rates:
            label = f"α = {rate:g}" if isinstance(rate, float) else "training"
            shown = label if len(rates) > 1 else "fit"
            start = time.perf_counter()
            try:
                fits[label] = model = _fit(args, X, y, rate, label)
            except ValueError as error:
                if "diverged" not in str(error):
                    raise
                if len(rates) == 1:
                    raise UsageError(in_option_words(str(error))) from None
                say(args, f"  {shown}: diverged")
                continue
            if _made_no_progress(model):
                if len(rates) == 1:
                    raise UsageError(_no_progress_message(args, X, model))
                del fits[label]
                say(args, f"  {shown}: did not lower the cost ({model.stop_reason_})")
                continue
            say(args, f"  {shown}: {int(model.n_iter_[0])} iterations in "
                      f"{time.perf_counter() - start:.2f} s, final cost "
                      f"{model.loss_history_[-1]:.6f} ({model.stop_reason_})")
    if not fits:
        raise UsageError("no learning rate lowered the cost (each diverged or stalled); try "
                         "smaller ones")
    best_label = min(fits, key=lambda label: fits[label].loss_history_[-1])
    if len(rates) > 1:
        say(args, f"keeping {best_label}, the lowest final cost")
    return fits, fits[best_label]


def _made_no_progress(model: Any) -> bool:
    """True when the solver stopped, unconverged, with a cost no lower than at its start.

    Nothing was learned then (a line search that failed at the first step, gd
    that oscillated upwards), and a model file would only look like a result.
    """
    history = model.loss_history_
    return not model.converged_ and (int(model.n_iter_[0]) == 0 or history[-1] >= history[0])


def _no_progress_message(args: argparse.Namespace, X: Any, model: Any) -> str:
    """Why a fit that took no step is refused, naming the column most likely to blame.

    Parameters
    ----------
    X : DataFrame or dask DataFrame of shape (n_samples, n_features)
        The training columns as the model saw them (before standardization).
    """
    import numpy as np

    numeric = X.select_dtypes("number")
    hint = ""
    if numeric.shape[1]:
        peaks = abs(numeric).max(axis=0)  # empty cells skipped
        peaks = np.asarray(peaks.compute() if hasattr(peaks, "compute") else peaks,
                           dtype=np.float64)
        column = int(np.argmax(peaks))
        hint = f"; the largest values are in column {numeric.columns[column]!r} (|x| up to {peaks[column]:.3g})"
    remedy = ("train without --no-standardize, or rescale the columns" if not args.standardize
              else "rescale the columns")
    return (f"{args.solver} stopped without lowering the cost ({model.stop_reason_}), so "
            f"nothing was learned and no model is written{hint}: {remedy}")


def _cost_curve_png(args: argparse.Namespace, model: Any, fits: dict[str, Any]) -> bytes:
    """The --plot picture, as PNG bytes: one cost curve, or one per learning rate."""
    from noloop.plots import cost_curves_png

    several = len(fits) > 1
    title = (f"Cost per iteration, {args.solver}, by learning rate" if several
             else f"Cost per iteration ({args.solver}) on {Path(str(args.data)).name}")
    histories = {label: fit.loss_history_ for label, fit in fits.items()} if several \
        else {"": model.loss_history_}
    return cost_curves_png(histories, title=title,
                           ylabel="cost (mean cross-entropy + L2 penalty)")


def _report_and_save(args: argparse.Namespace, model: Any, fits: dict[str, Any],
                     metrics: dict[str, Any]) -> int:
    """Print the metrics, draw the plot in memory, then write the model and the plot, atomically."""
    from noloop.persistence import atomic_write_bytes, save_model

    for split, values in metrics.items():
        say(args, metrics_line(split, values))
    if args.plot and args.cv:
        from noloop.cli.train_cv import cv_png

        names = getattr(model, "feature_names_out_", getattr(model, "feature_names_in_", None))
        picture = cv_png(args, fits["cv"], None if names is None else [str(n) for n in names])
    else:
        picture = _cost_curve_png(args, model, fits) if args.plot else None
    covariance = getattr(model, "_summary_covariance", None)
    if covariance is not None:
        from noloop.cli.summary import format_summary, model_table, penalized

        del model._summary_covariance
        print(format_summary(model_table(model, covariance["matrix"]),
                             cov_type=covariance["cov_type"],
                             n_samples=covariance["n_samples"],
                             penalized=penalized(model), title=str(args.data)))
    if args.na_values:  # predict and evaluate read new files as this one was read
        metrics = {**metrics, "na_values": list(args.na_values)}
    save_model(model, args.model, metrics=metrics, covariance=covariance)
    say(args, f"model written to {args.model}")
    if picture is not None:
        atomic_write_bytes(args.plot, picture)
        say(args, f"{'cross-validation plot' if args.cv else 'cost curve'} written to "
                  f"{args.plot}")
    return 0
