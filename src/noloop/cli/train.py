"""``noloop train``: fit a model on a table, report accuracy and log-loss, write the model."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from noloop.cli._common import (Progress, UsageError, add_chatter, add_dask_options,
                                add_format_option, check_paths, dask_client, dask_kind,
                                in_option_words,
                                metrics_line, non_negative_int, non_negative_number,
                                option_type, positive_int, positive_number, say, use_dask,
                                warnings_as_lines)

__all__ = ["add_parser", "run"]

SOLVER_CHOICES = ("lbfgs", "newton-cholesky", "gd")


_learning_rate = option_type(lambda text: text if text == "auto" else float(text),
                             lambda value: value == "auto" or 0 < value < math.inf,
                             "'auto' or a positive finite number")
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


def add_parser(commands: Any) -> None:
    """Add ``train`` and its options to the subcommands of the ``noloop`` parser."""
    train = commands.add_parser("train", help="fit a model on a CSV/Parquet/NumPy file")
    train.add_argument("data", help="CSV, Parquet, .npy or .npz file")
    train.add_argument("--target", required=True, help="the column holding the labels")
    train.add_argument("--model", required=True, help="where to write the model (.safetensors)")
    train.add_argument("--solver", choices=SOLVER_CHOICES, default=None,
                       help="optimizer (default lbfgs; gd is the seed's gradient descent)")
    train.add_argument("--C", type=positive_number, default=1.0,
                       help="inverse L2 strength (default 1.0)")
    train.add_argument("--penalty", choices=("l2", "none"), default="l2")
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
    train.add_argument("--plot", help="write the cost curve to this PNG")
    add_format_option(train)
    train.add_argument("--every", type=positive_int, default=100,
                       help="with --verbose: print every N iterations")
    add_dask_options(train)
    add_chatter(train)
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit on ``args.data`` (in memory or on Dask), print the metrics, write ``args.model``.

    Every check that can fail without reading the data (options, outputs) runs
    first; the model and the plot are written last, once both are ready.
    """
    import numpy as np

    from noloop.tables import DataError, read_table, split_features, table_format

    _check_options(args)
    if use_dask(args):
        return _train_dask(args)
    fmt = table_format(args.data, args.format)
    fast = read_training_csv(args) if fmt == "csv" else None
    if fast is not None:  # labels encoded once, as codes into the sorted classes
        X, features, codes, classes = fast.X, fast.features, fast.codes, fast.classes
        del fast
    else:  # the careful reader: every message names the file, the line and the column
        frame = read_table(args.data, fmt)
        X, y, features = split_features(frame, args.target, str(args.data), fmt)
        del frame
        classes, codes = np.unique(y, return_inverse=True)
        del y
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
    fits, model = _fit_each_rate(args, X_train, y_train)
    del y_train
    metrics = {"train": _metrics(model, X_train, codes_train, classes)}
    if X_test is not None:
        metrics["test"] = _metrics(model, pd.DataFrame(X_test, columns=features, copy=False),
                                   codes_test, classes)
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
    args.solver = args.solver or "lbfgs"
    if args.learning_rates and args.solver != "gd":
        if solver_given:
            raise UsageError("--learning-rates compares the steps of --solver gd; "
                             f"got --solver {args.solver}")
        args.solver = "gd"
    check_paths({"DATA": args.data}, {"--model": args.model, "--plot": args.plot})


def _train_dask(args: argparse.Namespace) -> int:
    from noloop._dask_tables import parse_once
    from noloop.metrics import classification_metrics
    from noloop.tables import DataError, dask_features, in_test_split, read_dask_table

    with dask_client(args.scheduler) as client:
        where = f"the cluster at {client.scheduler.address}" if client is not None \
            else "Dask's local threads"
        frame = read_dask_table(args.data, args.format)
        if args.target not in frame.columns:
            raise DataError(f"{args.data}: no column named {args.target!r} (the --target); "
                            f"columns are {', '.join(map(repr, map(str, frame.columns)))}")
        features = [str(column) for column in frame.columns if column != args.target]
        # parsed once: the checks, the fit and the metrics read the kept partitions
        frame, persisted = parse_once(frame, [*features, args.target], str(args.data),
                                      dask_kind(args))
        parts = {"train": frame}
        if args.test_size:
            in_test = frame.map_partitions(in_test_split, args.test_size, args.seed, features,
                                           meta=("in_test", bool))
            parts = {"train": frame[~in_test], "test": frame[in_test]}
        data = {name: (dask_features(part, features, str(args.data), target=args.target), part[args.target])
                for name, part in parts.items()}
        X_train, y_train = data["train"]
        say(args, f"training on {args.data} with Dask ({where}), {len(features)} features, "
                  f"solver {args.solver}; "
                  + ("parsed once and kept in memory" if persisted else
                     "read again at every pass (larger than half the cluster's memory)"))
        fits, model = _fit_each_rate(args, X_train, y_train)
        metrics = {name: classification_metrics(model, X, y) for name, (X, y) in data.items()}
    return _report_and_save(args, model, fits, metrics)


def _fit(args: argparse.Namespace, X: Any, y: Any, learning_rate: float | str, label: str) -> Any:
    from noloop.linear_model import LogisticRegression
    from noloop.preprocessing import fold_standardization, standardize

    if args.standardize:
        X, mean, scale = standardize(X, source=str(args.data))
    progress = Progress(args, args.max_iter, label)
    model = LogisticRegression(
        penalty=None if args.penalty == "none" else "l2", C=args.C, solver=args.solver,
        learning_rate=learning_rate, max_iter=args.max_iter, tol=args.tol, callback=progress,
    )
    try:
        model.fit(X, y)
    finally:
        progress.close()
    model.set_params(callback=None)
    if args.standardize:
        fold_standardization(model, mean, scale)
    return model


def _fit_each_rate(args: argparse.Namespace, X: Any, y: Any) -> tuple[dict[str, Any], Any]:
    """Fit once per --learning-rates entry (or once); return every fit and the lowest-cost one.

    A fit that diverges is an error with one rate; when comparing rates it is
    reported and left out, and an error only when every rate diverged.
    """
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
            say(args, f"  {shown}: {int(model.n_iter_[0])} iterations in "
                      f"{time.perf_counter() - start:.2f} s, final cost "
                      f"{model.loss_history_[-1]:.6f} ({model.stop_reason_})")
    if not fits:
        raise UsageError("every learning rate diverged (the cost grew); try smaller ones")
    best_label = min(fits, key=lambda label: fits[label].loss_history_[-1])
    if len(rates) > 1:
        say(args, f"keeping {best_label}, the lowest final cost")
    return fits, fits[best_label]


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
    picture = _cost_curve_png(args, model, fits) if args.plot else None
    save_model(model, args.model, metrics=metrics)
    say(args, f"model written to {args.model}")
    if picture is not None:
        atomic_write_bytes(args.plot, picture)
        say(args, f"cost curve written to {args.plot}")
    return 0
