"""The command line's contract on Dask: parse once, write one file, evaluate from sums.

- :func:`parse_once` persists the columns a command needs when they fit in
  the cluster's memory, so that the checks, the fit and the metrics all read
  the parsed partitions instead of parsing the files again.
- :func:`write_dask_file` writes a dask DataFrame as one CSV or Parquet file,
  partitions in order, atomically: the same bytes as the in-memory
  ``to_csv(index=False)`` for CSV.
- :func:`dask_evaluation` computes :func:`noloop.metrics.classification_metrics`'
  dictionary from per-partition sums: the confusion matrix, the summed
  log-loss and, for two classes, a histogram of the logits per class, from
  which the ROC AUC is computed (:data:`AUC_BINS` bins over logits in
  [-:data:`AUC_LOGIT_RANGE`, +:data:`AUC_LOGIT_RANGE`]; two scores in one bin
  count as a tie, so the value is within the share of such pairs of the exact
  one: about 1e-4 or better on real data). Memory is bounded by the
  partitions and the histogram, whatever the file's size.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from noloop.errors import DataError

__all__ = ["AUC_BINS", "AUC_LOGIT_RANGE", "parse_once", "dask_model_rows", "write_dask_file",
           "dask_evaluation", "auc_from_histograms"]

AUC_BINS = 1 << 16
AUC_LOGIT_RANGE = 40.0
# parsed numbers take about this many times the bytes of the file that holds them
_PARSED_PER_FILE_BYTE = {"csv": 1.0, "parquet": 4.0}
# partitions computed at once while writing one file in order
_WINDOW = 8


def parse_once(frame: Any, columns: list[str], path: str, fmt: str) -> tuple[Any, bool]:
    """``frame[columns]``, persisted (parsed once, kept in memory) when it fits; (frame, persisted).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    columns : list of str
        The columns the command needs.
    path : str
        The file, folder or glob the frame reads (its size estimates the parsed size).
    fmt : {"csv", "parquet"}

    Returns
    -------
    frame : dask.dataframe.DataFrame
    persisted : bool
        False when the data would take more than
        :data:`noloop.linear_model._dask.PERSIST_FRACTION` of the cluster's
        memory: every pass then reads the files again (out of core).
    """
    import dask

    from noloop.linear_model._dask import PERSIST_FRACTION, cluster_memory_bytes
    from noloop.tables import dataset_bytes

    selected = frame[columns]
    estimate = dataset_bytes(path) * _PARSED_PER_FILE_BYTE.get(fmt, 4.0)
    if estimate > PERSIST_FRACTION * cluster_memory_bytes():
        return selected, False
    (persisted,) = dask.persist(selected)
    return persisted, True


def dask_model_rows(frame: Any, model: Any, path: str) -> Any:
    """The columns ``model`` reads from a dask DataFrame: checked numbers, or a table as it is.

    A model fitted on a table (``encoding_``) reads text and empty cells
    itself, partition by partition; any other model gets the checked float
    columns of :func:`noloop.tables.dask_features`.

    Raises
    ------
    DataError
        Naming the columns the model needs that ``frame`` lacks (and, for a
        numeric model, those holding text or non-finite cells).
    """
    from noloop.tables import dask_features, model_features, require_model_columns

    features = model_features(model)
    if not hasattr(model, "encoding_"):
        return dask_features(frame, features, path)
    require_model_columns(frame.columns, features, path)
    return frame[features]


def write_dask_file(frame: Any, path: str | os.PathLike, kind: str) -> int:
    """Write a dask DataFrame as one ``kind`` file, partitions in order, atomically; the row count.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    path : str or path-like
    kind : {"csv", "parquet"}

    Returns
    -------
    n_rows : int
    """
    import dask

    from noloop.persistence import atomic_writer

    parts = frame.to_delayed()
    n_rows = 0
    writer: Any = None
    with atomic_writer(path) as handle:
        for start in range(0, len(parts), _WINDOW):
            for offset, part in enumerate(dask.compute(*parts[start:start + _WINDOW])):
                first = start + offset == 0
                n_rows += len(part)
                if kind == "csv":
                    handle.write(part.to_csv(index=False, header=first).encode("utf-8"))
                else:
                    writer = _write_parquet_part(handle, writer, part)
        if writer is not None:
            writer.close()
    return n_rows


def _write_parquet_part(handle: Any, writer: Any, part: Any) -> Any:
    """Append ``part`` as a row group of one Parquet file (the writer opens at the first part)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(part, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(handle, table.schema)
    writer.write_table(table.cast(writer.schema))
    return writer


def _partition_sums(part: Any, model: Any, features: list[str], target: str) -> dict[str, Any]:
    """One partition's counts and sums: rows, confusion matrix, log-loss, logit histograms."""
    from noloop.metrics import match_classes

    classes = np.asarray(model.classes_)
    k = classes.size
    labels = part[target]
    empty = labels.isna().to_numpy()
    codes = match_classes(labels, classes)
    unknown = (codes < 0) & ~empty
    sums: dict[str, Any] = {
        "n_rows": len(part), "empty": int(empty.sum()), "unknown": int(unknown.sum()),
        "unknown_labels": sorted({repr(v) for v in labels[unknown].tolist()[:1000]})[:5],
        "first_unknown": labels[unknown].tolist()[:1],
        "confusion": np.zeros((k, k), dtype=np.int64), "log_loss": 0.0,
        "histograms": np.zeros((2, AUC_BINS), dtype=np.int64) if k == 2 else None,
    }
    if len(part) == 0 or sums["empty"] or sums["unknown"]:
        return sums
    X = part[features]
    X = X if hasattr(model, "feature_names_in_") else X.to_numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        proba = model.predict_proba(X)
    predicted = np.argmax(proba, axis=1)
    sums["confusion"] = np.bincount(codes * k + predicted, minlength=k * k).reshape(k, k)
    eps = np.finfo(proba.dtype).eps
    chosen = np.clip(proba[np.arange(len(codes)), codes], eps, 1 - eps)
    sums["log_loss"] = float(-np.log(chosen).sum())
    if k == 2:
        logits = np.asarray(model.decision_function(X), dtype=np.float64).reshape(-1)
        bins = np.clip(((logits + AUC_LOGIT_RANGE) / (2 * AUC_LOGIT_RANGE) * AUC_BINS)
                       .astype(np.int64), 0, AUC_BINS - 1)
        sums["histograms"] = np.stack([np.bincount(bins[codes == c], minlength=AUC_BINS)
                                       for c in (0, 1)])
    return sums


def _add(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Two partitions' sums as one (the first unknown label kept from the earlier one)."""
    return {
        "n_rows": left["n_rows"] + right["n_rows"], "empty": left["empty"] + right["empty"],
        "unknown": left["unknown"] + right["unknown"],
        "unknown_labels": sorted(set(left["unknown_labels"]) | set(right["unknown_labels"]))[:5],
        "first_unknown": left["first_unknown"] or right["first_unknown"],
        "confusion": left["confusion"] + right["confusion"],
        "log_loss": left["log_loss"] + right["log_loss"],
        "histograms": None if left["histograms"] is None
        else left["histograms"] + right["histograms"],
    }


def auc_from_histograms(negatives: np.ndarray, positives: np.ndarray) -> float:
    """ROC AUC from per-class counts of scores in ordered bins (a bin's pairs count half).

    Parameters
    ----------
    negatives, positives : ndarray of shape (n_bins,)
        How many negative and positive examples scored in each bin, bins in
        increasing score.

    Returns
    -------
    auc : float
        P(score of a positive > score of a negative) + ½ P(same bin).
    """
    negatives = negatives.astype(np.float64)
    positives = positives.astype(np.float64)
    below = np.cumsum(negatives) - negatives  # negatives in lower bins
    pairs = float(negatives.sum() * positives.sum())
    return float((positives * (below + negatives / 2)).sum() / pairs)


def dask_evaluation(model: Any, frame: Any, features: list[str], target: str,
                    path: str) -> dict[str, Any]:
    """The metrics of :func:`noloop.metrics.classification_metrics` over a dask DataFrame.

    Parameters
    ----------
    model : LogisticRegression
    frame : dask.dataframe.DataFrame
        Holding ``features`` (checked finite numbers) and ``target``.
    features : list of str
    target : str
    path : str
        For the messages.

    Returns
    -------
    metrics : dict
        ``n_rows``, ``accuracy``, ``log_loss``, ``per_class``,
        ``confusion_matrix`` and, for two classes both present, ``roc_auc``
        (from the histograms: see the module's notes).

    Raises
    ------
    DataError
        When a label is empty or not one of the model's classes (with their count).
    """
    import dask

    parts = [dask.delayed(_partition_sums)(part, model, features, target)
             for part in frame.to_delayed()]
    while len(parts) > 1:  # a tree of additions: no task holds every partition's histogram
        parts = [dask.delayed(_add)(*parts[i:i + 2]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    (sums,) = dask.compute(parts[0])
    classes = np.asarray(model.classes_)
    listing = ", ".join(map(repr, classes.tolist()))
    if sums["empty"]:
        raise DataError(f"{path}: column {target!r}: {sums['empty']} empty label(s); expected "
                        f"one of the model's classes {listing}")
    if sums["unknown"]:
        raise DataError(
            f"{path}: column {target!r}: the label {sums['first_unknown'][0]!r} is not one of "
            f"the model's classes {listing} ({sums['unknown']} such row(s); labels "
            f"{', '.join(sums['unknown_labels'])})")
    n_rows = sums["n_rows"]
    if n_rows == 0:
        raise DataError(f"{path}: has a header but no rows of data")
    confusion = sums["confusion"]
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    correct = np.diag(confusion)
    metrics: dict[str, Any] = {
        "n_rows": int(n_rows),
        "accuracy": float(correct.sum() / n_rows),
        "log_loss": float(sums["log_loss"] / n_rows),
        "per_class": {
            str(label): {"precision": float(c / p) if p else 0.0,
                         "recall": float(c / s) if s else 0.0, "support": int(s)}
            for label, c, p, s in zip(classes, correct, predicted, support)
        },
        "confusion_matrix": confusion.tolist(),
    }
    if classes.size == 2 and np.count_nonzero(support) == 2:
        metrics["roc_auc"] = auc_from_histograms(*sums["histograms"])
    return metrics
