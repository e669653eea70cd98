"""``noloop predict``: labels (and probabilities) for a table's rows, matched by column name."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from noloop.cli._common import (UsageError, add_chatter, add_dask_options, add_reading_options,
                                check_paths, dask_client, dask_kind,
                                load_model_to_read, read_model_rows, say, use_dask,
                                warnings_as_lines)
from noloop.sparse_files import add_sparse_options, is_sparse_file, read_sparse

__all__ = ["add_parser", "run"]

_OUTPUT_FORMATS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def add_parser(commands: Any) -> None:
    """Add ``predict`` and its options to the subcommands of the ``noloop`` parser."""
    predict = commands.add_parser("predict", help="predict labels for a file's rows")
    predict.add_argument("model", help="a model written by noloop train")
    predict.add_argument("data", help="CSV, Parquet, .npy or .npz file")
    predict.add_argument("--output", required=True,
                         help="where the predictions go: a .csv or .parquet file (on Dask too), "
                              "a folder of Parquet parts (a name without suffix, on Dask), "
                              "or - for stdout")
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    add_reading_options(predict)
    add_sparse_options(predict)
    add_dask_options(predict)
    add_chatter(predict)
    predict.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Predict every row of ``args.data`` with ``args.model``; write ``args.output``.

    The output is checked (its folder, its format, that it is neither input)
    before the model or the data is read, and written once every row is predicted.
    """
    from noloop.tables import write_table

    on_dask = args.output != "-" and use_dask(args)
    to_folder = on_dask and _dask_output_kind(args.output) is None
    check_paths({"MODEL": args.model, "DATA": args.data}, {"--output": args.output},
                folders={"--output"} if to_folder else ())
    output_format = None if to_folder else _output_format(args.output)
    model, _ = load_model_to_read(args)
    if on_dask:
        # unseen levels: one warning line (from Dask's local threads; a cluster's workers
        # log theirs)
        with warnings_as_lines(UserWarning):
            return _predict_dask(args, model)
    if is_sparse_file(args.data):
        X, _ = read_sparse(args.data, n_features=args.n_features or model.n_features_in_,
                           labels=args.labels, need_labels=False)
        out = _sparse_prediction_frame(X, model, args.proba)
    else:
        _, X = read_model_rows(args, model, allow_empty=True)  # a header-only file: no rows out
        with warnings_as_lines(UserWarning):  # unseen levels: one warning line
            out = _prediction_frame(X, model, args.proba)
    write_table(out, args.output, output_format)
    if args.output != "-":
        say(args, f"{len(out):,} predictions written to {args.output}")
    return 0


def _output_format(path: str) -> str | None:
    """The table format of ``--output`` from its extension (None for stdout); refuse any other.

    ``--format`` names the format of DATA, not of the output, so the message
    does not suggest it.
    """
    if path == "-":
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in _OUTPUT_FORMATS:
        raise UsageError(f"--output {path}: predictions are written as CSV or Parquet, named "
                         f"by the extension ({', '.join(_OUTPUT_FORMATS)}), or to stdout with "
                         f"--output -; got {suffix or 'no extension'!r}")
    return _OUTPUT_FORMATS[suffix]


def _prediction_frame(rows: Any, model: Any, proba: bool) -> Any:
    """Predicted labels (and per-class probabilities) for a pandas frame of feature columns."""
    import pandas as pd

    if len(rows) == 0:  # the estimator refuses 0 rows; the output is just its header
        empty = pd.DataFrame({"prediction": model.classes_[:0]})
        return empty.assign(**{f"proba_{label}": [] for label in model.classes_}) if proba \
            else empty
    X = rows if hasattr(model, "feature_names_in_") else rows.to_numpy()
    out = pd.DataFrame({"prediction": model.predict(X)}, index=rows.index)
    if proba:
        probabilities = model.predict_proba(X)
        for index, label in enumerate(model.classes_):
            out[f"proba_{label}"] = probabilities[:, index]
    return out


def _sparse_prediction_frame(X: Any, model: Any, proba: bool) -> Any:
    """Predicted labels (and probabilities) for a sparse matrix's rows, never densified."""
    import pandas as pd

    out = pd.DataFrame({"prediction": model.predict(X)})
    if proba:
        probabilities = model.predict_proba(X)
        for index, label in enumerate(model.classes_):
            out[f"proba_{label}"] = probabilities[:, index]
    return out


def _dask_output_kind(path: str) -> str | None:
    """On Dask: "csv" or "parquet" for one file named so; None for a folder of Parquet parts.

    A name without a suffix, or an existing folder (earlier partitioned
    predictions), is a folder of parts.
    """
    if Path(path).is_dir():
        return None
    return _OUTPUT_FORMATS.get(Path(path).suffix.lower())


def _predict_dask(args: argparse.Namespace, model: Any) -> int:
    import numpy as np
    import pandas as pd

    from noloop._dask_tables import dask_model_rows, parse_once, write_dask_file
    from noloop.tables import model_features, read_dask_table, write_dask_table

    features = model_features(model)
    with dask_client(args.scheduler):
        frame = read_dask_table(args.data, args.format,
                                na_values=args.na_values).rename(columns=str)
        if all(column in frame.columns for column in features):  # else dask_model_rows says which
            frame, _ = parse_once(frame, features, str(args.data), dask_kind(args))
        X = dask_model_rows(frame, model, str(args.data))
        # the output's columns and dtypes, from predicting one row (string labels, for
        # instance, come out as pandas' string dtype, not as the classes' object dtype); a
        # table model predicts the first row, as the file holds it
        one_row = X.head(1, npartitions=-1) if hasattr(model, "encoding_") else \
            pd.DataFrame(np.zeros((1, len(X.columns))), columns=list(X.columns))
        meta = _prediction_frame(one_row, model, args.proba).iloc[:0]
        predictions = X.map_partitions(_prediction_frame, model, args.proba, meta=meta)
        kind = _dask_output_kind(args.output)
        if kind is not None:  # one file, partitions in order, as in memory
            n_rows = write_dask_file(predictions, args.output, kind)
            say(args, f"{n_rows:,} predictions written to {args.output}")
            return 0
        write_dask_table(predictions, args.output)
    say(args, f"predictions written to {args.output}/ as partitioned Parquet")
    return 0
