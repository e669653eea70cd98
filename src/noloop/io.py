"""Reading users' tables and saving/loading models, with errors that say what and where.

Tables: CSV, Parquet, NumPy ``.npy`` (a 2-D array; columns named "0", "1", ...)
and ``.npz`` (arrays ``X`` and ``y``; the label column is named "y").

Models are data, not code: a safetensors file holds the weights, and its
JSON header the classes, feature names, hyperparameters, training metrics,
noloop's version and a format version. Nothing is unpickled, ever. Writes are
atomic: a temporary file beside the target is fsynced and renamed over it,
so a failed or interrupted save never leaves a half-written file and never
damages a model already at that path.
"""

from __future__ import annotations

import contextlib
import csv
import io as _io
import json
import math
import os
import struct
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "TABLE_FORMATS",
    "read_table",
    "split_features",
    "select_features",
    "write_table",
    "atomic_write_bytes",
    "save_model",
    "load_model",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
]

MODEL_FORMAT = "noloop-logistic-regression"
MODEL_FORMAT_VERSION = 1
TABLE_FORMATS = ("csv", "parquet", "npy", "npz")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".npy": "npy", ".npz": "npz"}


class DataError(ValueError):
    """Input a user gave that noloop cannot use; the message names the file and what was expected."""


# ------------------------------------------------------------------ tables


def table_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The table format of ``path``: ``fmt`` when given, else from the extension."""
    if fmt is not None:
        if fmt not in TABLE_FORMATS:
            raise DataError(f"--format must be one of {', '.join(TABLE_FORMATS)}; got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; expected "
            f"one of {', '.join(sorted(_EXTENSIONS))}, or name it with --format"
        )
    return _EXTENSIONS[suffix]


def read_table(path: str | os.PathLike, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet, ``.npy`` or ``.npz`` file into a DataFrame with at least one row.

    Raises
    ------
    DataError
        When the file is missing, empty, has a header but no rows, has ragged
        rows, is binary or not UTF-8 where text was expected, or is not a
        readable file of its format. The message names the file and, where it
        can, the line.
    """
    path = Path(path)
    kind = table_format(path, fmt)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a {kind} file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected a header line and rows of data")
    reader: Callable[[Path], pd.DataFrame] = {
        "csv": _read_csv, "parquet": _read_parquet, "npy": _read_npy, "npz": _read_npz,
    }[kind]
    frame = reader(path)
    if len(frame.columns) == 0:
        raise DataError(f"{path}: no columns found")
    if len(frame) == 0:
        raise DataError(f"{path}: has a header ({len(frame.columns)} columns) but no rows of data")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: looks like a binary file (it holds NUL bytes), not CSV text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8 CSV"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected a header line and rows of data")
    _check_rectangular(path, text)
    try:
        return pd.read_csv(_io.StringIO(text), skip_blank_lines=True, keep_default_na=True)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(f"{path}: is not valid CSV ({' '.join(str(error).split())})") from None


def _check_rectangular(path: Path, text: str) -> None:
    """Every non-blank row must have as many fields as the header (pandas would pad short rows)."""
    rows = csv.reader(_io.StringIO(text))
    expected = None
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if expected is None:
            expected = len(row)
            continue
        if len(row) != expected:
            raise DataError(
                f"{path}: line {rows.line_num} has {len(row)} fields, but the header has {expected}"
            )


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pandas()
    except (pyarrow.ArrowException, OSError) as error:
        raise DataError(
            f"{path}: is not a readable Parquet file ({' '.join(str(error).split())})"
        ) from None


def _load_numpy(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: is not a readable NumPy file ({error})") from None


def _read_npy(path: Path) -> pd.DataFrame:
    array = _load_numpy(path)
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows × columns); got shape {array.shape}")
    return pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])


def _read_npz(path: Path) -> pd.DataFrame:
    archive = _load_numpy(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: expected a .npz archive holding arrays 'X' and 'y'")
    with archive:
        names = set(archive.files)
        if "X" not in names:
            raise DataError(f"{path}: expected arrays 'X' and optionally 'y'; found "
                            f"{', '.join(sorted(names)) or 'none'}")
        X = archive["X"]
        if X.ndim != 2:
            raise DataError(f"{path}: array 'X' must be 2-D (rows × columns); got shape {X.shape}")
        frame = pd.DataFrame(X, columns=[str(i) for i in range(X.shape[1])])
        if "y" in names:
            y = archive["y"]
            if y.shape != (X.shape[0],):
                raise DataError(f"{path}: array 'y' must have shape ({X.shape[0]},) to match 'X'; "
                                f"got {y.shape}")
            frame["y"] = y
    return frame


def _line_of(position: int, fmt: str) -> str:
    # CSV data row i sits on line i + 2 (1-based, after the header); elsewhere name the row
    return f"line {position + 2}" if fmt == "csv" else f"row {position + 1}"


def _numeric_column(path: str, frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=np.float64)
    numeric = pd.to_numeric(values, errors="coerce")
    not_number = numeric.isna() & values.notna()
    if not_number.any():
        position = int(np.flatnonzero(not_number.to_numpy())[0])
        raise DataError(
            f"{path}: column {column!r}, {_line_of(position, fmt)}: "
            f"{values.iloc[position]!r} is not a number"
        )
    array = numeric.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        what = "an empty or NaN cell" if np.isnan(array[position]) else "an infinite value"
        raise DataError(
            f"{path}: column {column!r}, {_line_of(position, fmt)}: {what}; "
            f"expected a finite number ({int(bad.sum())} such cell(s) in this column)"
        )
    return array


def select_features(
    frame: pd.DataFrame, columns: list[str], path: str, fmt: str = "csv"
) -> np.ndarray:
    """The named columns of ``frame`` as a float64 matrix (n_rows, n_columns), checked cell by cell.

    Raises
    ------
    DataError
        Naming the missing columns, or the column and line of the first cell
        that is text, empty, NaN or infinite.
    """
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; the model needs "
            f"{', '.join(map(repr, columns))}"
        )
    matrix = np.empty((len(frame), len(columns)), dtype=np.float64)
    for index, column in enumerate(columns):
        matrix[:, index] = _numeric_column(path, frame, column, fmt)
    return matrix


def split_features(
    frame: pd.DataFrame, target: str, path: str, fmt: str = "csv"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X, y, feature names): every column but ``target`` as numeric features, and the labels.

    Raises
    ------
    DataError
        When ``target`` is not a column, a label is missing, fewer than two
        classes are present, or a feature cell is not a finite number.
    """
    if target not in frame.columns:
        raise DataError(
            f"{path}: no column named {target!r} (the --target); columns are "
            f"{', '.join(map(repr, map(str, frame.columns)))}"
        )
    features = [str(column) for column in frame.columns if column != target]
    if not features:
        raise DataError(f"{path}: only the target column {target!r}; expected feature columns too")
    labels = frame[target]
    if labels.isna().any():
        position = int(np.flatnonzero(labels.isna().to_numpy())[0])
        raise DataError(
            f"{path}: column {target!r}, {_line_of(position, fmt)}: the label is empty"
        )
    y = labels.to_numpy()
    if y.dtype == object:
        y = y.astype(str)
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(
            f"{path}: column {target!r} holds a single class ({classes[0]!r}); a classifier "
            "needs at least two"
        )
    frame = frame.rename(columns=str)
    return select_features(frame, features, path, fmt), y, features


def write_table(frame: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``frame`` as CSV or Parquet (by extension or ``fmt``), atomically; ``-`` is stdout."""
    if str(path) == "-":
        import sys

        frame.to_csv(sys.stdout, index=False)
        return
    kind = table_format(path, fmt)
    if kind == "csv":
        payload = frame.to_csv(index=False).encode("utf-8")
    elif kind == "parquet":
        buffer = _io.BytesIO()
        frame.to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    else:
        raise DataError(f"{path}: predictions are written as CSV or Parquet; got format {kind!r}")
    atomic_write_bytes(Path(path), payload)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, then renamed over ``path`` (an atomic replace on POSIX and Windows).
    """
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


# ------------------------------------------------------------------ models


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
        A fitted model, on any array library (weights are stored as NumPy).
    path : str or path-like
    metrics : dict, optional
        Training metrics to keep beside the weights (shown by ``noloop evaluate``).
    """
    from safetensors.numpy import save

    from noloop import __version__
    from noloop._xp import to_numpy

    if not hasattr(model, "coef_"):
        raise ValueError("save_model needs a fitted model; call fit first")
    classes = np.asarray(model.classes_)
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
        "feature_names": json.dumps(
            [str(name) for name in getattr(model, "feature_names_in_", [])]
        ),
        "n_features": str(model.n_features_in_),
        "hyperparameters": json.dumps(_json_ready(params)),
        "metrics": json.dumps(_json_ready(metrics or {})),
        "n_iter": str(int(model.n_iter_[0])),
        "stop_reason": str(model.stop_reason_),
        "converged": json.dumps(bool(model.converged_)),
    }
    tensors = {
        "coef": np.ascontiguousarray(to_numpy(model.coef_)),
        "intercept": np.ascontiguousarray(to_numpy(model.intercept_)),
        "loss_history": np.asarray(model.loss_history_, dtype=np.float64),
    }
    metadata["dtype"] = str(tensors["coef"].dtype)
    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))


def _read_header(path: Path, raw: bytes) -> dict[str, Any]:
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
    return header


def load_model(path: str | os.PathLike) -> Any:
    """Load a model written by :func:`save_model`. No code in the file is ever run.

    Raises
    ------
    DataError
        When the file is missing, corrupt, not a noloop model, or written by
        a newer noloop (an unknown format version).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from noloop.linear_model import LogisticRegression

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    raw = path.read_bytes()
    header = _read_header(path, raw)
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != MODEL_FORMAT:
        raise DataError(f"{path}: is not a noloop model file (a safetensors file without noloop's "
                        "metadata)")
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
    try:
        tensors = load(raw)
        classes = np.array(json.loads(metadata["classes"]), dtype=np.dtype(metadata["classes_dtype"]))
        feature_names = json.loads(metadata["feature_names"])
        params = json.loads(metadata["hyperparameters"])
        coef, intercept = tensors["coef"], tensors["intercept"]
        n_features = int(metadata["n_features"])
    except (SafetensorError, KeyError, ValueError, TypeError) as error:
        raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
    n_outputs = 1 if classes.size == 2 else classes.size
    if coef.shape != (n_outputs, n_features) or intercept.shape != (n_outputs,):
        raise DataError(
            f"{path}: is a corrupt noloop model file (coef has shape {coef.shape}, expected "
            f"{(n_outputs, n_features)})"
        )
    model = LogisticRegression(**{key: value for key, value in params.items()
                                  if key in LogisticRegression().get_params()})
    model.classes_ = classes
    model.coef_ = coef
    model.intercept_ = intercept
    model.n_features_in_ = n_features
    if feature_names:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)
    model.n_iter_ = np.array([int(metadata.get("n_iter", 0))], dtype=np.int32)
    model.loss_history_ = tensors.get("loss_history", np.zeros(0)).tolist()
    model.converged_ = bool(json.loads(metadata.get("converged", "false")))
    model.stop_reason_ = metadata.get("stop_reason", "")
    model.training_metrics_ = json.loads(metadata.get("metrics", "{}"))
    return model


# ------------------------------------------------------------------ Dask tables


def is_dataset_path(path: str | os.PathLike) -> bool:
    """True when ``path`` names several files (a glob pattern) or a folder of them."""
    text = str(path)
    return any(character in text for character in "*?[") or Path(text).is_dir()


def dataset_bytes(path: str | os.PathLike) -> int:
    """Total size on disk of the file, folder or glob ``path``."""
    import glob

    text = str(path)
    if Path(text).is_dir():
        files = [p for p in Path(text).rglob("*") if p.is_file()]
    elif any(character in text for character in "*?["):
        files = [Path(p) for p in glob.glob(text)]
    else:
        files = [Path(text)] if Path(text).is_file() else []
    return sum(p.stat().st_size for p in files)


def _dataset_files(text: str) -> list[str]:
    import glob

    if Path(text).is_dir():
        files = sorted(str(p) for p in Path(text).rglob("*")
                       if p.is_file() and not p.name.startswith((".", "_")))
    else:
        files = sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text]
    if not files:
        raise DataError(f"{text}: no files match")
    return files


def _read_parquet_part(path: str) -> pd.DataFrame:
    return _read_parquet(Path(path))


def read_dask_table(path: str | os.PathLike, fmt: str | None = None) -> Any:
    """A lazy dask DataFrame over a CSV or Parquet file, folder or glob; checked, not loaded.

    Parquet is read one file per partition, whatever columns are selected later:
    Dask's own reader merges files differently for different column
    projections, which would give the features and the target different
    partitions.
    """
    import dask.dataframe as dd

    text = str(path)
    kind = fmt or ("parquet" if Path(text).is_dir() else table_format(text.rstrip("/"), None))
    if dataset_bytes(text) == 0:
        raise DataError(f"{text}: no such file, folder or matching files (or all are empty)")
    try:
        if kind == "parquet":
            return dd.from_map(_read_parquet_part, _dataset_files(text))
        if kind == "csv":
            return dd.read_csv(text)
    except (OSError, ValueError) as error:
        raise DataError(f"{text}: cannot be read as {kind} ({' '.join(str(error).split())})") \
            from None
    raise DataError(f"{text}: Dask reads CSV or Parquet datasets; got format {kind!r}")


def dask_features(frame: Any, columns: list[str], path: str) -> Any:
    """The named numeric columns of a dask DataFrame, after one pass that refuses NaN/inf."""
    import dask

    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; needed "
                        f"{', '.join(map(repr, columns))}")
    selected = frame[columns]
    text_columns = [column for column, dtype in selected.dtypes.items()
                    if not (np.issubdtype(dtype, np.number) or dtype == bool)]
    if text_columns:
        raise DataError(f"{path}: column(s) {', '.join(map(repr, text_columns))} hold text; "
                        "expected numbers")
    bad = (~np.isfinite(selected.astype("float64"))).sum()
    (counts,) = dask.compute(bad)
    bad_columns = [f"{column!r} ({int(count)} cells)" for column, count in counts.items() if count]
    if bad_columns:
        raise DataError(f"{path}: empty, NaN or infinite cells in column(s) "
                        f"{', '.join(bad_columns)}; expected finite numbers")
    return selected.astype("float64")


def write_dask_table(frame: Any, path: str | os.PathLike) -> None:
    """Write a dask DataFrame as a folder of Parquet parts, replacing ``path`` only when complete."""
    import shutil

    target = Path(path)
    if target.suffix.lower() not in (".parquet", ".pq", "") and not target.is_dir():
        raise DataError(f"{target}: predictions on a Dask dataset are written as a folder of "
                        f"Parquet parts, not as one {target.suffix} file; name a folder, "
                        "e.g. predictions.parquet")
    parent = target.parent if str(target.parent) else Path(".")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        frame.to_parquet(str(staging), write_index=False)
        if target.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, previous / target.name)
            os.replace(staging, target)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
