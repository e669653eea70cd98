"""How well a fitted classifier does on labelled data: accuracy, log-loss, ROC AUC, per class."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["classification_metrics", "metrics_from_codes", "match_classes"]


def classification_metrics(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Accuracy, log-loss and more of ``model`` on ``(X, y)``, as JSON-ready values.

    Parameters
    ----------
    model : LogisticRegression
        Fitted; any classifier with ``classes_`` and ``predict_proba`` will do.
    X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        The true labels, each matching one of ``model.classes_`` by the rule of
        :func:`match_classes`.

    Returns
    -------
    metrics : dict
        ``n_rows`` (int), ``accuracy`` and ``log_loss`` (float). In memory
        also ``per_class`` ({label: {precision, recall, support}}),
        ``confusion_matrix`` (list of lists, (n_classes, n_classes), rows the
        true class) and, for two classes both present, ``roc_auc``. On Dask
        only the first three, computed in one pass over the data.

    Raises
    ------
    ValueError
        When ``y`` holds labels that are not among the model's classes.
    """
    from noloop.linear_model._dask import is_dask

    if is_dask(X) or is_dask(y):
        return _dask_metrics(model, X, y)
    classes = np.asarray(model.classes_)
    y = np.asarray(y)
    indices = match_classes(y, classes)
    if (indices < 0).any():
        unknown = sorted(set(y[indices < 0].tolist()), key=str)
        raise ValueError(
            f"labels {', '.join(map(repr, unknown[:5]))} are not among the model's classes "
            f"{', '.join(map(repr, classes.tolist()))}"
        )
    # scikit-learn's finite check sums X: ±1e308 columns overflow there (inf - inf), harmlessly
    with np.errstate(over="ignore", invalid="ignore"):
        proba = model.predict_proba(X)
    return metrics_from_codes(proba, indices, classes)


def metrics_from_codes(proba: Any, codes: Any, classes: Any) -> dict[str, Any]:
    """The metrics of :func:`classification_metrics` from probabilities and label codes.

    Labels enter as their positions in ``classes`` (integers), so no metric
    sorts or compares the label values themselves (text labels are encoded
    once, where they are read). Computed with NumPy from one confusion matrix
    (a ``bincount``), scikit-learn's definitions: on a million rows
    scikit-learn's five functions took 1.3 s of ``noloop train``'s 11 s, mostly
    validating and re-encoding labels already encoded (issue 16).

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    codes : ndarray of shape (n_samples,), int
        Each true label's position in ``classes``.
    classes : array-like of shape (n_classes,)
        The model's ``classes_`` (they name the per-class rows).

    Returns
    -------
    metrics : dict
        As :func:`classification_metrics` returns in memory.
    """
    classes = np.asarray(classes)
    codes = np.asarray(codes, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = classes.size
    predicted = np.argmax(proba, axis=1)
    confusion = np.bincount(codes * n_classes + predicted,
                            minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits = np.diagonal(confusion)
    support = confusion.sum(axis=1)
    precision = _ratio_or_zero(hits, confusion.sum(axis=0))
    recall = _ratio_or_zero(hits, support)
    # scikit-learn's log_loss: probabilities clipped to [eps, 1 − eps]
    eps = np.finfo(np.float64).eps
    chosen = np.clip(np.take_along_axis(proba, codes[:, None], axis=1)[:, 0], eps, 1 - eps)
    metrics: dict[str, Any] = {
        "n_rows": int(len(codes)),
        "accuracy": float(np.mean(predicted == codes)),
        "log_loss": float(-np.mean(np.log(chosen))),
        "per_class": {
            str(label): {"precision": float(p), "recall": float(r), "support": int(s)}
            for label, p, r, s in zip(classes, precision, recall, support)
        },
        "confusion_matrix": confusion.tolist(),
    }
    if n_classes == 2 and np.count_nonzero(support) == 2:
        metrics["roc_auc"] = _binary_roc_auc(codes == 1, proba[:, 1])
    return metrics


def _ratio_or_zero(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (``zero_division=0``)."""
    return numerator / np.where(denominator == 0, 1, denominator) * (denominator != 0)


def _binary_roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic, ties counted one half.

    The same area as scikit-learn's trapezoids over the curve's corners (equal to
    rounding); one sort.
    """
    order = np.argsort(score, kind="stable")
    score, positive = score[order], positive[order]
    # rank of each row, ties sharing the mean of their ranks (1-based)
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])
    ends = np.r_[starts[1:], score.size]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.repeat(mean_rank, ends - starts)
    n_positive = int(np.count_nonzero(positive))
    n_negative = score.size - n_positive
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u / (n_positive * n_negative))


def match_classes(labels: Any, classes: Any) -> np.ndarray:
    """The position in ``classes`` of each label, or -1 where a label matches none.

    The rule: a label matches a class when it is the
    same value, compared as a user reads the file.

    - Numeric classes (0, 1, 2.5): a label that is a number, or text that spells
      one, with the same value (1, 1.0 and ``" 1e0"`` all match the class 1);
      0.5 or 1.7 match no class of 0/1.
    - Text classes ('0', '1', 'other'): a label whose text is the class's text; a
      number is written as Python writes it (the label 1 matches the class '1',
      1.5 the class '1.5', 2.0 the class '2.0' or else '2'), so a model trained on 0, 1 and "other" scores a
      file that holds only 0 and 1.
    - True/False classes: only True and False, as booleans or as the text
      true/false in any case; numbers such as 0, 1 or 2 match neither.

    Empty cells (None, NaN, pandas' NA) match no class.

    Parameters
    ----------
    labels : array-like or Series of shape (n_samples,)
    classes : array-like of shape (n_classes,)
        A model's ``classes_``.

    Returns
    -------
    indices : ndarray of shape (n_samples,), int64
    """
    import pandas as pd

    classes = np.asarray(classes)
    if classes.dtype == np.float16:
        classes = classes.astype(np.float64)  # pandas has no float16 index; every float16 is a float64
    labels = pd.Series(np.asarray(labels, dtype=object) if not isinstance(labels, pd.Series)
                       else labels, copy=False).reset_index(drop=True)
    missing = labels.isna().to_numpy()
    if classes.dtype.kind == "b":
        keys = _bool_keys(labels)
        indices = np.full(len(labels), -1, dtype=np.int64)
        for position, value in enumerate(classes.tolist()):
            indices[keys == (1 if value else 0)] = position
    elif classes.dtype.kind in "iuf":
        keys = _number_keys(labels)
        indices = pd.Index(classes).get_indexer(keys).astype(np.int64)
    else:
        texts = pd.Index([str(value) for value in classes.tolist()], dtype=object)
        indices = texts.get_indexer(labels.map(_label_text, na_action="ignore")).astype(np.int64)
        # a whole float read from a file (2.0, as a column with decimals holds it) also matches '2'
        whole = texts.get_indexer(labels.map(_whole_text, na_action="ignore")).astype(np.int64)
        indices = np.where(indices < 0, whole, indices)
    indices[missing] = -1
    return indices


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _label_text(value: Any) -> str:
    """A label as text: numbers as Python writes them (1, 1.5), booleans True/False."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    return str(value)


def _whole_text(value: Any) -> str | None:
    """A whole float (2.0) as an integer's text ('2'); None for anything else."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return None


def _bool_keys(labels: Any) -> np.ndarray:
    """1 for True, 0 for False, -1 for anything else (numbers included)."""
    def key(value: Any) -> int:
        if _is_bool(value):
            return int(value)
        if isinstance(value, str):
            return {"true": 1, "false": 0}.get(value.strip().lower(), -1)
        return -1

    return np.fromiter((key(value) for value in labels.tolist()), dtype=np.int64,
                       count=len(labels))


def _number_keys(labels: Any) -> np.ndarray:
    """Each label as a float where it is a number or spells one, else NaN (booleans are not numbers)."""
    import pandas as pd

    if labels.dtype == bool:
        return np.full(len(labels), np.nan)
    if pd.api.types.is_numeric_dtype(labels.dtype):
        return labels.to_numpy(dtype=np.float64, na_value=np.nan)
    values = labels.to_numpy(dtype=object)
    numbers = pd.to_numeric(pd.Series([None if _is_bool(v) else v for v in values], dtype=object)
                            .astype(str).str.strip(), errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _dask_metrics(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Accuracy and log-loss over a dask dataset, in one pass."""
    import dask
    import dask.array as da

    from noloop.linear_model._dask import to_dask_arrays

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
