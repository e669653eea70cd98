"""Model files: a fitted :class:`~noloop.LogisticRegression` as data, written atomically.

A model file is a safetensors file. Its tensors are the weights (``coef`` of
shape (n_outputs, n_features), ``intercept`` of shape (n_outputs,)) and the
cost history; its JSON header holds the classes, feature names,
hyperparameters, training metrics, noloop's version and a format version.
Nothing is unpickled, ever: a pickle or any other file in place of a model is
refused before any of it is interpreted.

Writes are atomic: a temporary file beside the target is fsynced and renamed
over it, so a failed or interrupted save never leaves a half-written file and
never damages a model already at that path.

This module imports only NumPy and the standard library when it loads; the
estimator and safetensors are imported by the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from noloop.errors import DataError

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "atomic_write_bytes",
    "save_model",
    "load_model",
    "read_model_metrics",
]

MODEL_FORMAT = "noloop-logistic-regression"
MODEL_FORMAT_VERSION = 1


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, then renamed over ``path`` (an atomic replace on POSIX and Windows).
    On any failure the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.
    payload : bytes
        Its whole new content.

    Raises
    ------
    DataError
        When the directory of ``path`` does not exist.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise DataError(f"{path}: the directory {directory} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# ------------------------------------------------------------------ writing


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def save_model(model: Any, path: str | os.PathLike, *, metrics: dict[str, Any] | None = None) -> None:
    """Save a fitted :class:`noloop.LogisticRegression` to ``path`` (safetensors + JSON), atomically.

    Parameters
    ----------
    model : LogisticRegression
        A fitted noloop model, on any array library (weights are stored as NumPy).
    path : str or path-like
        Where the file goes; a file already there is replaced only once the
        new one is complete.
    metrics : dict, optional
        Training metrics to keep beside the weights (JSON-ready values; read
        back by :func:`read_model_metrics` and shown by ``noloop evaluate``).

    Raises
    ------
    TypeError
        When ``model`` is not a noloop ``LogisticRegression`` (a scikit-learn
        estimator, for instance).
    ValueError
        When ``model`` is not fitted, or its classes are neither numbers nor strings.
    """
    from safetensors.numpy import save

    from noloop import __version__
    from noloop.linear_model import LogisticRegression

    if not isinstance(model, LogisticRegression):
        kind = type(model)
        raise TypeError(f"save_model saves a noloop.LogisticRegression; got "
                        f"{kind.__module__}.{kind.__qualname__}")
    if not hasattr(model, "coef_"):
        raise ValueError("save_model needs a fitted model; call fit first")
    state = model._fitted_state()
    classes = state["classes"]
    if classes.dtype == object and all(isinstance(label, str) for label in classes):
        classes = classes.astype(str)
    if classes.dtype.kind not in "biufUS":
        raise ValueError(f"classes of dtype {classes.dtype} cannot be saved; use numbers or strings")
    params = {key: value for key, value in model.get_params().items() if key != "callback"}
    metadata = {
        "format": MODEL_FORMAT,
        "format_version": str(MODEL_FORMAT_VERSION),
        "noloop_version": __version__,
        "classes": json.dumps(_json_ready(classes.tolist())),
        "classes_dtype": classes.dtype.str,
        "feature_names": json.dumps(state["feature_names"] or []),
        "n_features": str(state["coef"].shape[1]),
        "hyperparameters": json.dumps(_json_ready(params)),
        "metrics": json.dumps(_json_ready(metrics or {})),
        "n_iter": str(state["n_iter"]),
        "stop_reason": state["stop_reason"],
        "converged": json.dumps(state["converged"]),
        "dtype": str(state["coef"].dtype),
    }
    tensors = {
        "coef": state["coef"],
        "intercept": state["intercept"],
        "loss_history": np.asarray(state["loss_history"], dtype=np.float64),
    }
    atomic_write_bytes(path, save(tensors, metadata=metadata))


# ------------------------------------------------------------------ reading


def _read_metadata(path: Path) -> tuple[bytes, dict[str, str]]:
    """The file's bytes and its noloop metadata, after checking it is a model noloop can read."""
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    raw = path.read_bytes()
    not_model = f"{path}: is not a noloop model file"
    if len(raw) < 8:
        raise DataError(f"{not_model} (too short to hold a safetensors header)")
    (header_length,) = struct.unpack("<Q", raw[:8])
    if header_length > len(raw) - 8 or header_length > 100_000_000:
        raise DataError(f"{not_model} (no safetensors header; is it another kind of file?)")
    try:
        header = json.loads(raw[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{not_model} (its header is not valid JSON: corrupt or another format)") \
            from None
    if not isinstance(header, dict):
        raise DataError(f"{not_model} (unexpected header)")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != MODEL_FORMAT:
        raise DataError(f"{not_model} (a safetensors file without noloop's metadata)")
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise DataError(f"{path}: has an unreadable format version "
                        f"{metadata.get('format_version')!r}") from None
    if version > MODEL_FORMAT_VERSION:
        raise DataError(
            f"{path}: was written in model format {version} by noloop "
            f"{metadata.get('noloop_version', '?')}; this noloop reads format "
            f"{MODEL_FORMAT_VERSION} and older: upgrade noloop"
        )
    return raw, metadata


def _json_object(metadata: dict[str, str], field: str, default: str | None = None) -> dict:
    value = json.loads(metadata[field] if default is None else metadata.get(field, default))
    if not isinstance(value, dict):
        raise ValueError(f"`{field}` must be a JSON object; got {type(value).__name__}")
    return value


def _class_weight_keys(class_weight: dict[str, Any], classes: np.ndarray) -> dict[Any, Any]:
    """JSON turned the class_weight keys into strings: give them back the classes' type."""
    labels = classes.tolist()

    def label_of(key: str) -> Any:
        for label in labels:
            if str(label) == key:
                return label
        if classes.dtype.kind in "iuf":  # 1 saved for the class 1.0, say
            with contextlib.suppress(ValueError):
                return next((label for label in labels if label == float(key)), key)
        return key

    return {label_of(key): weight for key, weight in class_weight.items()}


def _read_model_file(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:
    """(params, state, metrics, n_features) as the file holds them; DataError when unreadable."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    raw, metadata = _read_metadata(path)
    try:
        tensors = load(raw)
        classes = np.array(json.loads(metadata["classes"]), dtype=np.dtype(metadata["classes_dtype"]))
        params = _json_object(metadata, "hyperparameters")
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = _class_weight_keys(params["class_weight"], classes)
        metrics = _json_object(metadata, "metrics", "{}")
        state = {
            "classes": classes,
            "coef": tensors["coef"],
            "intercept": tensors["intercept"],
            "feature_names": json.loads(metadata["feature_names"]) or None,
            "n_iter": int(metadata.get("n_iter", 0)),
            "loss_history": tensors["loss_history"].tolist() if "loss_history" in tensors else [],
            "converged": json.loads(metadata.get("converged", "false")),
            "stop_reason": metadata.get("stop_reason", ""),
        }
        n_features = int(metadata["n_features"])
    except (SafetensorError, KeyError, ValueError, TypeError) as error:
        raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
    return params, state, metrics, n_features


def load_model(path: str | os.PathLike, *, with_metrics: bool = False) -> Any:
    """Load a model written by :func:`save_model`. No code in the file is ever run.

    Parameters
    ----------
    path : str or path-like
    with_metrics : bool, default=False
        Also return the training metrics stored beside the weights.

    Returns
    -------
    model : LogisticRegression
        Fitted, with the saved hyperparameters; it predicts as the saved
        model did and can be refitted.
    metrics : dict
        Only with ``with_metrics=True``: the ``metrics`` given to
        :func:`save_model` (empty when none were).

    Raises
    ------
    DataError
        When the file is missing, corrupt, not a noloop model, written by a
        newer noloop (an unknown format version), or holds a field that fails
        the estimator's checks (the message names the file and the field).
    """
    from noloop.linear_model import LogisticRegression

    path = Path(path)
    params, state, metrics, n_features = _read_model_file(path)
    try:
        model = LogisticRegression._from_fitted_state(params, state)
    except ValueError as error:
        raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
    if model.n_features_in_ != n_features:
        raise DataError(f"{path}: is a corrupt noloop model file (coef has "
                        f"{model.n_features_in_} feature column(s); the header says {n_features})")
    return (model, metrics) if with_metrics else model


def read_model_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """The training metrics stored in a model file, without loading the model.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    metrics : dict
        The ``metrics`` given to :func:`save_model`; empty when none were.
        ``noloop train`` stores one entry per split (``"train"``, and
        ``"test"`` with ``--test-size``), each with ``n_rows``, ``accuracy``
        and ``log_loss``.

    Raises
    ------
    DataError
        When the file is missing, not a noloop model, or its metrics are unreadable.
    """
    path = Path(path)
    _, metadata = _read_metadata(path)
    try:
        return _json_object(metadata, "metrics", "{}")
    except ValueError as error:
        raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
