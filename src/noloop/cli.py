"""The ``noloop`` command: train, predict, evaluate, explain, demo and bench."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from noloop import __version__

__all__ = ["main", "build_parser"]

SOLVER_CHOICES = ("lbfgs", "newton-cholesky", "gd")


class UsageError(Exception):
    """A user-facing failure: printed as one ``error:`` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other failure
        raise UsageError(f"{self.prog}: {message}")


# ------------------------------------------------------------------ helpers


def _say(args: argparse.Namespace, message: str = "") -> None:
    if not getattr(args, "quiet", False):
        print(message, flush=True)


class _Progress:
    """A fit callback: a progress bar once a fit has run ~1 s (on a terminal), or periodic lines.

    The bar shows the iteration, the current cost and the iteration rate; it
    never appears when stdout is not a terminal or with --quiet. With
    --verbose the cost is printed every ``every`` iterations instead, as the
    seed's course does.
    """

    def __init__(self, args: argparse.Namespace, max_iter: int, label: str) -> None:
        self.verbose = bool(getattr(args, "verbose", False))
        self.every = int(getattr(args, "every", 100))
        self.enabled = not getattr(args, "quiet", False) and sys.stdout.isatty() \
            and not self.verbose
        self.max_iter = max_iter
        self.label = label
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, iteration: int, cost: float) -> None:
        if self.verbose and iteration % self.every == 0:
            print(f"  cost after iteration {iteration:6d}: {cost:.6f}", flush=True)
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < 1.0:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("cost {task.fields[cost]:.6f}"),
                TextColumn("{task.fields[rate]:,.0f} it/s"), TimeElapsedColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.max_iter, cost=cost, rate=0.0)
        rate = iteration / max(time.perf_counter() - self.start, 1e-9)
        self.bar.update(self.task, completed=iteration, cost=cost, rate=rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Show library warnings (ConvergenceWarning) as one ``warning:`` line each."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    seen = set()
    for warning in caught:
        text = " ".join(str(warning.message).split())
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr)


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


def _metrics(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Accuracy, log-loss, ROC AUC (two classes), per-class precision/recall, confusion matrix."""
    import numpy as np
    from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss,
                                 precision_recall_fscore_support, roc_auc_score)

    classes = model.classes_
    unknown = sorted(set(np.unique(y).tolist()) - set(classes.tolist()), key=str)
    if unknown:
        raise UsageError(
            f"labels {', '.join(map(repr, unknown[:5]))} are not among the model's classes "
            f"{', '.join(map(repr, classes.tolist()))}"
        )
    proba = model.predict_proba(X)
    predicted = classes[np.argmax(proba, axis=1)]
    precision, recall, _, support = precision_recall_fscore_support(
        y, predicted, labels=classes, zero_division=0
    )
    metrics: dict[str, Any] = {
        "n_rows": int(len(y)),
        "accuracy": float(accuracy_score(y, predicted)),
        "log_loss": float(log_loss(y, proba, labels=classes)),
        "per_class": {
            str(label): {"precision": float(p), "recall": float(r), "support": int(s)}
            for label, p, r, s in zip(classes, precision, recall, support)
        },
        "confusion_matrix": confusion_matrix(y, predicted, labels=classes).tolist(),
    }
    if classes.size == 2 and np.unique(y).size == 2:
        metrics["roc_auc"] = float(roc_auc_score(y == classes[1], proba[:, 1]))
    return metrics


# ------------------------------------------------------------------ commands


def _standardize(X: Any) -> tuple[Any, Any, Any]:
    """(X − mean) / std per column, with the mean and std (1 where a column is constant).

    On a dask DataFrame the statistics take one pass and the scaling stays lazy.
    """
    from noloop._dask import is_dask

    mean = X.mean(axis=0)
    scale = X.std(axis=0, ddof=0)  # population std, as StandardScaler
    if is_dask(X):
        import dask

        mean, scale = dask.compute(mean, scale)
        scale[scale == 0] = 1.0
        return X.map_partitions(_scale_rows, mean, scale, meta=X._meta), mean, scale
    scale[scale == 0] = 1.0
    return _scale_rows(X, mean, scale), mean, scale


def _scale_rows(X: Any, mean: Any, scale: Any) -> Any:
    return (X - mean) / scale


def _fold_standardization(model: Any, mean: Any, scale: Any) -> None:
    """Rewrite a model fitted on (X − mean) / scale as the same model on raw X.

    w·(x − μ)/σ + b = (w/σ)·x + (b − (w/σ)·μ): predictions do not change, and
    the saved model needs no scaler beside it.
    """
    coef = model.coef_ / scale
    model.intercept_ = model.intercept_ - coef @ mean
    model.coef_ = coef


def _fit(args: argparse.Namespace, X: Any, y: Any, learning_rate: float | str, label: str) -> Any:
    from noloop.linear_model import LogisticRegression

    if args.standardize:
        X, mean, scale = _standardize(X)
    progress = _Progress(args, args.max_iter, label)
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
        _fold_standardization(model, mean.to_numpy(), scale.to_numpy())
    return model


def _free_memory_bytes() -> float:
    import os

    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def _human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"


def _use_dask(args: argparse.Namespace) -> bool:
    """Dask for a --scheduler, a folder or glob of files, or a file too big for memory."""
    from noloop.io import dataset_bytes, is_dataset_path

    if args.scheduler or is_dataset_path(args.data):
        return True
    size = dataset_bytes(args.data)
    threshold = args.dask_above if args.dask_above is not None else _free_memory_bytes() / 4
    if size > threshold:
        _say(args, f"{args.data} is {_human_bytes(size)}, more than {_human_bytes(threshold)}"
                   + (" (a quarter of the free memory)" if args.dask_above is None else "")
                   + ": reading it with Dask")
        return True
    return False


@contextlib.contextmanager
def _dask_client(spec: str | None) -> Iterator[Any]:
    """A Client for ``tcp://HOST:PORT``, or a LocalCluster for ``local[:N]``; None without one."""
    if not spec:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    if spec == "local" or spec.startswith("local:"):
        try:
            n_workers = int(spec.partition(":")[2] or 2)
        except ValueError:
            raise UsageError(f"--scheduler local:N needs a number of workers; got {spec!r}") \
                from None
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {spec} "
                         f"({' '.join(str(error).split())})") from None
    with client:
        yield client


def _dask_metrics(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Accuracy and log-loss over a dask dataset, in one pass."""
    import dask
    import dask.array as da
    import numpy as np

    from noloop._dask import to_dask_arrays

    classes = model.classes_
    # one conversion for both, so that probabilities and labels share their row chunks
    X, labels, _, _ = to_dask_arrays(X, y)
    indices = labels.map_blocks(lambda block: np.searchsorted(classes, block), dtype=np.int64)
    proba = model.predict_proba(X).rechunk({1: -1})
    # indices as a column, so blocks pair up by rows (map_blocks aligns trailing axes)
    chosen = da.map_blocks(lambda P, i: P[np.arange(len(i)), i[:, 0]], proba, indices[:, None],
                           drop_axis=1, dtype=proba.dtype)
    correct = da.argmax(proba, axis=1) == indices
    accuracy, log_loss, n_rows = dask.compute(
        correct.mean(), -da.log(da.clip(chosen, 1e-300, 1.0)).mean(), indices.shape[0])
    return {"n_rows": int(n_rows), "accuracy": float(accuracy), "log_loss": float(log_loss)}


def _in_test_split(rows: Any, fraction: float, seed: int, columns: list[str]) -> Any:
    """Whether each row is held out, decided by a seeded hash of its values.

    A row's fate depends on its content alone, never on which partition holds
    it: Dask may split the same files into different partitions for the
    feature columns and for the target column.
    """
    import pandas as pd

    hashes = pd.util.hash_pandas_object(rows[columns], index=False,
                                        hash_key=f"noloop{seed:010d}"[-16:])
    return (hashes % 1_000_003) < fraction * 1_000_003


def _train_dask(args: argparse.Namespace) -> int:
    from noloop.io import DataError, dask_features, read_dask_table

    with _dask_client(args.scheduler) as client:
        where = f"the cluster at {client.scheduler.address}" if client is not None \
            else "Dask's local threads"
        frame = read_dask_table(args.data, args.format)
        if args.target not in frame.columns:
            raise DataError(f"{args.data}: no column named {args.target!r} (the --target); "
                            f"columns are {', '.join(map(repr, map(str, frame.columns)))}")
        features = [str(column) for column in frame.columns if column != args.target]
        parts = {"train": frame}
        if args.test_size:
            in_test = frame.map_partitions(_in_test_split, args.test_size, args.seed, features,
                                           meta=("in_test", bool))
            parts = {"train": frame[~in_test], "test": frame[in_test]}
        data = {name: (dask_features(part, features, str(args.data)), part[args.target])
                for name, part in parts.items()}
        X_train, y_train = data["train"]
        _say(args, f"training on {args.data} with Dask ({where}), {len(features)} features, "
                   f"solver {args.solver}")
        fits, model = _fit_each_rate(args, X_train, y_train)
        metrics = {name: _dask_metrics(model, X, y) for name, (X, y) in data.items()}
    return _report_and_save(args, model, fits, metrics)


def _fit_each_rate(args: argparse.Namespace, X: Any, y: Any) -> tuple[dict[str, Any], Any]:
    """Fit once per --learning-rates entry (or once); return every fit and the lowest-cost one."""
    import numpy as np

    rates = args.learning_rates or [args.learning_rate]
    fits = {}
    with _warnings_as_lines():
        for rate in rates:
            label = f"α = {rate:g}" if isinstance(rate, float) else "training"
            start = time.perf_counter()
            fits[label] = model = _fit(args, X, y, rate, label)
            _say(args, f"  {label if len(rates) > 1 else 'fit'}: {int(model.n_iter_[0])} "
                       f"iterations in {time.perf_counter() - start:.2f} s, final cost "
                       f"{model.loss_history_[-1]:.6f} ({model.stop_reason_})")
    finite = {label: fit for label, fit in fits.items() if np.isfinite(fit.loss_history_[-1])}
    if not finite:
        raise UsageError("every learning rate diverged (the cost became infinite); try smaller ones")
    best_label = min(finite, key=lambda label: finite[label].loss_history_[-1])
    if len(rates) > 1:
        _say(args, f"keeping {best_label}, the lowest final cost")
    return fits, finite[best_label]


def _report_and_save(args: argparse.Namespace, model: Any, fits: dict[str, Any],
                     metrics: dict[str, Any]) -> int:
    """Print the metrics, write the model (atomically) and, with --plot, the cost curves."""
    from noloop.io import save_model

    for split, values in metrics.items():
        _say(args, f"{split:<5} accuracy {values['accuracy']:.4f}   log-loss "
                   f"{values['log_loss']:.4f}   ({values['n_rows']:,} rows)")
    save_model(model, args.model, metrics=metrics)
    _say(args, f"model written to {args.model}")
    if args.plot:
        from noloop.plots import plot_cost_curves

        several = len(fits) > 1
        title = (f"Cost per iteration, {args.solver}, by learning rate" if several
                 else f"Cost per iteration ({args.solver}) on {Path(str(args.data)).name}")
        histories = {label: fit.loss_history_ for label, fit in fits.items()} if several \
            else {"": model.loss_history_}
        plot_cost_curves(histories, args.plot, title=title,
                         ylabel="cost (mean cross-entropy + L2 penalty)")
        _say(args, f"cost curve written to {args.plot}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from noloop.io import read_table, split_features, table_format

    if args.learning_rates and args.solver != "gd":
        if args.solver_given:
            raise UsageError("--learning-rates compares the steps of --solver gd; "
                             f"got --solver {args.solver}")
        args.solver = "gd"
    if _use_dask(args):
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

    X_train = pd.DataFrame(X_train, columns=features)
    _say(args, f"training on {len(y_train):,} rows × {len(features)} features from {args.data} "
               f"({np.unique(y_train).size} classes, solver {args.solver})")
    fits, model = _fit_each_rate(args, X_train, y_train)
    metrics = {"train": _metrics(model, X_train, y_train)}
    if X_test is not None:
        metrics["test"] = _metrics(model, pd.DataFrame(X_test, columns=features), y_test)
    return _report_and_save(args, model, fits, metrics)


def _prediction_frame(rows: Any, model: Any, proba: bool) -> Any:
    """Predicted labels (and per-class probabilities) for a pandas frame of feature columns."""
    import pandas as pd

    X = rows if hasattr(model, "feature_names_in_") else rows.to_numpy()
    out = pd.DataFrame({"prediction": model.predict(X)}, index=rows.index)
    if proba:
        probabilities = model.predict_proba(X)
        for index, label in enumerate(model.classes_):
            out[f"proba_{label}"] = probabilities[:, index]
    return out


def _predict_dask(args: argparse.Namespace, model: Any) -> int:
    from noloop.io import dask_features, read_dask_table, write_dask_table

    with _dask_client(args.scheduler):
        frame = read_dask_table(args.data, args.format).rename(columns=str)
        X = dask_features(frame, _model_features(model), str(args.data))
        # the output's columns and dtypes, from predicting one row (string labels, for
        # instance, come out as pandas' string dtype, not as the classes' object dtype)
        import numpy as np
        import pandas as pd

        one_row = pd.DataFrame(np.zeros((1, len(X.columns))), columns=list(X.columns))
        meta = _prediction_frame(one_row, model, args.proba).iloc[:0]
        predictions = X.map_partitions(_prediction_frame, model, args.proba, meta=meta)
        write_dask_table(predictions, args.output)
    _say(args, f"predictions written to {args.output}/ as partitioned Parquet")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from noloop.io import load_model, read_table, select_features, table_format, write_table

    model = load_model(args.model)
    if args.output != "-" and _use_dask(args):
        return _predict_dask(args, model)
    fmt = table_format(args.data, args.format)
    frame = read_table(args.data, fmt).rename(columns=str)
    features = _model_features(model)
    X = pd.DataFrame(select_features(frame, features, str(args.data), fmt), columns=features)
    out = _prediction_frame(X, model, args.proba)
    write_table(out, args.output)
    if args.output != "-":
        _say(args, f"{len(out):,} predictions written to {args.output}")
    return 0


def _model_features(model: Any) -> list[str]:
    if hasattr(model, "feature_names_in_"):
        return [str(name) for name in model.feature_names_in_]
    return [str(i) for i in range(model.n_features_in_)]


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    import pandas as pd

    from noloop.io import DataError, load_model, read_table, select_features, table_format

    model = load_model(args.model)
    fmt = table_format(args.data, args.format)
    frame = read_table(args.data, fmt).rename(columns=str)
    if args.target not in frame.columns:
        raise DataError(f"{args.data}: no column named {args.target!r} (the --target)")
    features = _model_features(model)
    X = pd.DataFrame(select_features(frame, features, str(args.data), fmt), columns=features)
    y = frame[args.target].to_numpy()
    if y.dtype == object:
        y = y.astype(str)
    y = y.astype(model.classes_.dtype) if model.classes_.dtype.kind in "iufb" and \
        y.dtype.kind in "iufb" else y
    metrics = _metrics(model, X if hasattr(model, "feature_names_in_") else X.to_numpy(), y)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{args.data}: {metrics['n_rows']:,} rows, model {args.model}")
    print(f"accuracy  {metrics['accuracy']:.4f}")
    print(f"log-loss  {metrics['log_loss']:.4f}")
    if "roc_auc" in metrics:
        print(f"ROC AUC   {metrics['roc_auc']:.4f}")
    print()
    width = max(5, *(len(label) for label in metrics["per_class"]))
    print(f"{'class':<{width}}  precision  recall  support")
    for label, row in metrics["per_class"].items():
        print(f"{label:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['support']:7d}")
    print()
    labels = list(metrics["per_class"])
    matrix = np.asarray(metrics["confusion_matrix"])
    cell = max(6, width, len(str(matrix.max())))
    print("confusion matrix (rows: true class, columns: predicted)")
    print(" " * (width + 2) + "".join(f"{label:>{cell}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label:<{width}}  " + "".join(f"{count:>{cell}d}" for count in row))
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from noloop.explain import explain

    explain(n_x=args.n_x, m=args.m, seed=args.seed)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from noloop.bench import run_bench

    run_bench(quick=args.quick, backends=args.backends, json_path=args.json,
              plot_path=args.plot)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from noloop.demo import run_demo

    run_demo(quick=args.quick, plots_dir=None if args.no_plots else args.plots)
    return 0


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``noloop`` command."""
    parser = _Parser(
        prog="noloop",
        description="The vectorization lesson made real: logistic regression without loops.",
    )
    parser.add_argument("--version", action="version", version=f"noloop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

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
    train.add_argument("--format", choices=("csv", "parquet", "npy", "npz"),
                       help="file format, when the extension does not say")
    train.add_argument("--every", type=int, default=100, help="with --verbose: print every N")
    _add_dask_options(train)
    _add_chatter(train)
    train.set_defaults(run=_cmd_train)

    predict = commands.add_parser("predict", help="predict labels for a file's rows")
    predict.add_argument("model", help="a model written by noloop train")
    predict.add_argument("data", help="CSV, Parquet, .npy or .npz file")
    predict.add_argument("--output", required=True, help="CSV or Parquet path, or - for stdout")
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    predict.add_argument("--format", choices=("csv", "parquet", "npy", "npz"))
    _add_dask_options(predict)
    _add_chatter(predict)
    predict.set_defaults(run=_cmd_predict)

    evaluate = commands.add_parser("evaluate", help="score a model on a labelled file")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.add_argument("--target", required=True)
    evaluate.add_argument("--format", choices=("csv", "parquet", "npy", "npz"))
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(run=_cmd_evaluate)

    explain = commands.add_parser("explain", help="walk the seed's vectorized steps on a small example")
    explain.add_argument("--n-x", type=int, default=3, help="features (default 3)")
    explain.add_argument("--m", type=int, default=4, help="examples (default 4)")
    explain.add_argument("--seed", type=int, default=1)
    explain.set_defaults(run=_cmd_explain)

    bench = commands.add_parser("bench", help="measure: the seed's table, the solver race, reads of X")
    bench.add_argument("--quick", action="store_true", help="small sizes: seconds, for tests")
    bench.add_argument("--backends", action="store_true",
                       help="time the vectorized twin on every installed array library too")
    bench.add_argument("--json", help="write every row to this JSON file")
    bench.add_argument("--plot", help="write the speed-up chart (log scale) to this PNG")
    bench.set_defaults(run=_cmd_bench)

    demo = commands.add_parser("demo", help="the seed's lesson on this machine, offline")
    demo.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    demo.add_argument("--plots", default="noloop-demo", help="folder for the PNGs (default noloop-demo)")
    demo.add_argument("--no-plots", action="store_true", help="write no pictures")
    demo.set_defaults(run=_cmd_demo)
    return parser


def _add_dask_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="train on Dask: tcp://HOST:8786 for a running cluster, or "
                              "local[:N] for N worker processes on this machine")
    command.add_argument("--dask-above", type=float, default=None, metavar="BYTES",
                         help="read DATA with Dask when it is larger than this "
                              "(default: a quarter of the free memory)")


def _add_chatter(command: argparse.ArgumentParser) -> None:
    chatter = command.add_mutually_exclusive_group()
    chatter.add_argument("--quiet", action="store_true", help="print nothing but errors")
    chatter.add_argument("--verbose", action="store_true",
                         help="print the cost every --every iterations")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 on any error)."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    if not debug:
        import logging

        # a lost cluster makes distributed log its reconnection attempts; the one error line says it
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        args = parser.parse_args(arguments)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        if getattr(args, "command", None) == "train":
            args.solver_given = args.solver is not None
            args.solver = args.solver or "lbfgs"
        return args.run(args)
    except BrokenPipeError:
        # the reader (head, less) went away: stop quietly, as other command-line tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UsageError, ValueError, TypeError, OSError, MemoryError) as error:
        if debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
