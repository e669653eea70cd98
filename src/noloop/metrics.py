"""How well a fitted classifier does on labelled data: accuracy, log-loss, ROC AUC, per class."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["classification_metrics"]


def classification_metrics(model: Any, X: Any, y: Any) -> dict[str, Any]:
    """Accuracy, log-loss and more of ``model`` on ``(X, y)``, as JSON-ready values.

    Parameters
    ----------
    model : LogisticRegression
        Fitted; any classifier with ``classes_`` and ``predict_proba`` will do.
    X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        The true labels, all among ``model.classes_``.

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
    from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss,
                                 precision_recall_fscore_support, roc_auc_score)

    classes = model.classes_
    unknown = sorted(set(np.unique(y).tolist()) - set(classes.tolist()), key=str)
    if unknown:
        raise ValueError(
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
