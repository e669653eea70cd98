"""``noloop train``: fit a model on a table, report accuracy and log-loss, write the model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from noloop.cli._common import (Progress, UsageError, add_chatter, add_dask_options,
                                add_format_option, dask_client, metrics_line, say, use_dask,
                                warnings_as_lines)

__all__ = ["add_parser", "run"]

SOLVER_CHOICES = ("lbfgs", "newton-cholesky", "gd")


def _learning_rate(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number; got {text!r}") from None


def _learning_rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, such as 0.1,0.01; got {text!r}") from None
    if not rates:
        raise argparse.ArgumentTypeError("expected at least one learning rate")
    return rates


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1; got {text!r}")
    return value


def add_parser(commands: Any) -> None:
    """Add ``train`` and its options to the subcommands of the ``noloop`` parser."""
    train = commands.add_parser("train", help="fit a model on a CSV/Parquet/NumPy file")
    train.add_argument("data", help="CSV, Parquet, .npy or .npz file")
    train.add_argument("--target", required=True, help="the column holding the labels")
    train.add_argument("--model", required=True, help="where to write the model (.safetensors)")
    train.add_argument("--solver", choices=SOLVER_CHOICES, default=None,
                       help="optimizer (default lbfgs; gd is the seed's gradient descent)")
    train.add_argument("--C", type=float, default=1.0, help="inverse L2 strength (default 1.0)")
    train.add_argument("--penalty", choices=("l2", "none"), default="l2")
    train.add_argument("--max-iter", type=int, default=1000, help="default 1000")
    train.add_argument("--tol", type=float, default=1e-4, help="gradient tolerance (default 1e-4)")
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
    train.add_argument("--every", type=int, default=100, help="with --verbose: print every N")
    add_dask_options(train)
    add_chatter(train)
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit on ``args.data`` (in memory or on Dask), print the metrics, write ``args.model``."""
    import numpy as np

    from noloop.tables import read_table, split_features, table_format

    args.solver_given = args.solver is not None
    args.solver = args.solver or "lbfgs"
    if args.learning_rates and args.solver != "gd":
        if args.solver_given:
            raise UsageError("--learning-rates compares the steps of --solver gd; "
                             f"got --solver {args.solver}")
        args.solver = "gd"
    if use_dask(args):
        return _train_dask(args)
    fmt = table_format(args.data, args.format)
    frame = read_table(args.data, fmt)
    X, y, features = split_features(frame, args.target, str(args.data), fmt)
    X_train, y_train, X_test, y_test = X, y, None, None
    if args.test_size:
        from sklearn.model_selection import train_test_split

        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=args.test_size, random_state=args.seed, stratify=stratify
        )
        if np.unique(y_train).size < 2:
            raise UsageError(f"--test-size {args.test_size} leaves a single class to train on")
    import pandas as pd

    from noloop.metrics import classification_metrics

    X_train = pd.DataFrame(X_train, columns=features)
    say(args, f"training on {len(y_train):,} rows × {len(features)} features from {args.data} "
              f"({np.unique(y_train).size} classes, solver {args.solver})")
    fits, model = _fit_each_rate(args, X_train, y_train)
    metrics = {"train": classification_metrics(model, X_train, y_train)}
    if X_test is not None:
        metrics["test"] = classification_metrics(model, pd.DataFrame(X_test, columns=features),
                                                 y_test)
    return _report_and_save(args, model, fits, metrics)


def _train_dask(args: argparse.Namespace) -> int:
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
        parts = {"train": frame}
        if args.test_size:
            in_test = frame.map_partitions(in_test_split, args.test_size, args.seed, features,
                                           meta=("in_test", bool))
            parts = {"train": frame[~in_test], "test": frame[in_test]}
        data = {name: (dask_features(part, features, str(args.data)), part[args.target])
                for name, part in parts.items()}
        X_train, y_train = data["train"]
        say(args, f"training on {args.data} with Dask ({where}), {len(features)} features, "
                  f"solver {args.solver}")
        fits, model = _fit_each_rate(args, X_train, y_train)
        metrics = {name: classification_metrics(model, X, y) for name, (X, y) in data.items()}
    return _report_and_save(args, model, fits, metrics)


def _fit(args: argparse.Namespace, X: Any, y: Any, learning_rate: float | str, label: str) -> Any:
    from noloop.linear_model import LogisticRegression
    from noloop.preprocessing import fold_standardization, standardize

    if args.standardize:
        X, mean, scale = standardize(X)
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
    """Fit once per --learning-rates entry (or once); return every fit and the lowest-cost one."""
    import numpy as np

    rates = args.learning_rates or [args.learning_rate]
    fits = {}
    with warnings_as_lines():
        for rate in rates:
            label = f"α = {rate:g}" if isinstance(rate, float) else "training"
            start = time.perf_counter()
            fits[label] = model = _fit(args, X, y, rate, label)
            say(args, f"  {label if len(rates) > 1 else 'fit'}: {int(model.n_iter_[0])} "
                      f"iterations in {time.perf_counter() - start:.2f} s, final cost "
                      f"{model.loss_history_[-1]:.6f} ({model.stop_reason_})")
    finite = {label: fit for label, fit in fits.items() if np.isfinite(fit.loss_history_[-1])}
    if not finite:
        raise UsageError("every learning rate diverged (the cost became infinite); try smaller ones")
    best_label = min(finite, key=lambda label: finite[label].loss_history_[-1])
    if len(rates) > 1:
        say(args, f"keeping {best_label}, the lowest final cost")
    return fits, finite[best_label]


def _report_and_save(args: argparse.Namespace, model: Any, fits: dict[str, Any],
                     metrics: dict[str, Any]) -> int:
    """Print the metrics, write the model (atomically) and, with --plot, the cost curves."""
    from noloop.persistence import save_model

    for split, values in metrics.items():
        say(args, metrics_line(split, values))
    save_model(model, args.model, metrics=metrics)
    say(args, f"model written to {args.model}")
    if args.plot:
        from noloop.plots import plot_cost_curves

        several = len(fits) > 1
        title = (f"Cost per iteration, {args.solver}, by learning rate" if several
                 else f"Cost per iteration ({args.solver}) on {Path(str(args.data)).name}")
        histories = {label: fit.loss_history_ for label, fit in fits.items()} if several \
            else {"": model.loss_history_}
        plot_cost_curves(histories, args.plot, title=title,
                         ylabel="cost (mean cross-entropy + L2 penalty)")
        say(args, f"cost curve written to {args.plot}")
    return 0
