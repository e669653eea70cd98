"""``noloop evaluate``: a model's accuracy, log-loss, ROC AUC, per-class scores and confusion matrix."""

from __future__ import annotations

import argparse
from typing import Any

from noloop.cli._common import (add_dask_options, add_reading_options, dask_client, dask_kind,
                                metrics_line, read_model_rows, use_dask,
                                warnings_as_lines)
from noloop.sparse_files import add_sparse_options

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``evaluate`` and its options to the subcommands of the ``noloop`` parser."""
    evaluate = commands.add_parser("evaluate", help="score a model on a labelled file")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.add_argument("--target", help="the column holding the labels (tables only)")
    add_reading_options(evaluate)
    add_sparse_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_dask_options(evaluate)
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Score ``args.model`` on the labelled rows of ``args.data``; print a report or JSON."""
    import json

    import numpy as np

    from noloop.metrics import classification_metrics
    from noloop.tables import evaluation_labels, table_format

    from noloop.cli._common import UsageError, load_model_to_read
    from noloop.sparse_files import is_sparse_file, read_sparse

    sparse = is_sparse_file(args.data)
    if not sparse and args.target is None:
        raise UsageError("--target is required: name the column holding the labels")
    model, training = load_model_to_read(args)
    args.quiet = args.json  # the line saying Dask is used must not break the JSON
    if sparse:
        X, y = read_sparse(args.data, n_features=args.n_features or model.n_features_in_,
                           labels=args.labels)
        metrics = classification_metrics(model, X, y)
    elif use_dask(args):
        with warnings_as_lines(UserWarning):  # as in memory (a cluster's workers log theirs)
            metrics = _evaluate_dask(args, model)
    else:
        frame, X = read_model_rows(args, model)
        y = evaluation_labels(frame, args.target, model.classes_, str(args.data),
                              table_format(args.data, args.format))
        with warnings_as_lines(UserWarning):  # unseen levels: one warning line
            metrics = classification_metrics(
                model, X if hasattr(model, "feature_names_in_") else X.to_numpy(), y)
    if args.json:
        print(json.dumps({**metrics, "training": training}, indent=2))
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
    # two spaces between columns: a label as wide as the cell would touch its neighbour
    print(" " * width + "".join(f"  {label:>{cell}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label:<{width}}" + "".join(f"  {count:>{cell}d}" for count in row))
    # train before test, whatever order the file keeps its keys in
    splits = {split: training[split] for split in sorted(training, key=lambda s: s != "train")
              if isinstance(training[split], dict)
              and {"accuracy", "log_loss", "n_rows"} <= set(training[split])}
    if splits:
        print()
        print("when trained (stored in the model file)")
        for split, values in splits.items():
            print(metrics_line(split, values))
    return 0


def _evaluate_dask(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    """The metrics from per-partition sums on Dask (parsed once when the data fits in memory)."""
    from noloop._dask_tables import dask_evaluation, dask_model_rows, parse_once
    from noloop.tables import DataError, model_features, read_dask_table

    features = model_features(model)
    with dask_client(args.scheduler):
        frame = read_dask_table(args.data, args.format,
                                na_values=args.na_values).rename(columns=str)
        if args.target not in frame.columns:
            raise DataError(f"{args.data}: no column named {args.target!r} (the --target); "
                            f"columns are {', '.join(map(repr, map(str, frame.columns)))}")
        if all(column in frame.columns for column in features):  # else dask_model_rows says which
            frame, _ = parse_once(frame, [*features, args.target], str(args.data),
                                  dask_kind(args))
        X = dask_model_rows(frame, model, str(args.data))
        return dask_evaluation(model, X.assign(**{args.target: frame[args.target]}), features,
                               args.target, str(args.data))
