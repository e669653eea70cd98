"""Users' tables: reading, checking and writing them, with errors that say what and where.

Formats: CSV, Parquet, NumPy ``.npy`` (a 2-D array; columns named "0", "1",
...) and ``.npz`` (arrays ``X`` and ``y``; the label column is named "y").
Every reading error is a :class:`~noloop.errors.DataError` naming the file
and, where it can, the column and the line.

Larger-than-memory data goes through Dask: a CSV or Parquet file, a folder or
a glob becomes a lazy dask DataFrame (:func:`read_dask_table`), checked in one
pass (:func:`dask_features`) and written back as a folder of Parquet parts
(:func:`write_dask_table`).

pandas (and pyarrow, dask) are imported by the functions that use them, so
that importing this module, for :data:`TABLE_FORMATS` or :class:`DataError`,
stays cheap.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from noloop.errors import DataError
from noloop.persistence import atomic_write_bytes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DataError",
    "TABLE_FORMATS",
    "table_format",
    "read_table",
    "select_features",
    "split_features",
    "write_table",
    "in_test_split",
    "is_dataset_path",
    "dataset_bytes",
    "read_dask_table",
    "dask_features",
    "write_dask_table",
]

TABLE_FORMATS = ("csv", "parquet", "npy", "npz")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".npy": "npy", ".npz": "npz"}


# ------------------------------------------------------------------ reading


def table_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The table format of ``path``: ``fmt`` when given, else from the extension.

    Parameters
    ----------
    path : str or path-like
    fmt : {"csv", "parquet", "npy", "npz"}, optional

    Returns
    -------
    fmt : str
        One of :data:`TABLE_FORMATS`.
    """
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

    Parameters
    ----------
    path : str or path-like
    fmt : {"csv", "parquet", "npy", "npz"}, optional
        The format, when the extension does not say.

    Returns
    -------
    frame : DataFrame of shape (n_rows, n_columns)

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
    import pandas as pd

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
        return pd.read_csv(io.StringIO(text), skip_blank_lines=True, keep_default_na=True)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(f"{path}: is not valid CSV ({' '.join(str(error).split())})") from None


def _check_rectangular(path: Path, text: str) -> None:
    """Every non-blank row must have as many fields as the header (pandas would pad short rows)."""
    rows = csv.reader(io.StringIO(text))
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


def _numbered_columns(array: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])


def _read_npy(path: Path) -> pd.DataFrame:
    array = _load_numpy(path)
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows × columns); got shape {array.shape}")
    return _numbered_columns(array)


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
        frame = _numbered_columns(X)
        if "y" in names:
            y = archive["y"]
            if y.shape != (X.shape[0],):
                raise DataError(f"{path}: array 'y' must have shape ({X.shape[0]},) to match 'X'; "
                                f"got {y.shape}")
            frame["y"] = y
    return frame


# ------------------------------------------------------------------ checking


def _line_of(position: int, fmt: str) -> str:
    # CSV data row i sits on line i + 2 (1-based, after the header); elsewhere name the row
    return f"line {position + 2}" if fmt == "csv" else f"row {position + 1}"


def _numeric_column(path: str, frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    import pandas as pd

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
    """The named columns of ``frame`` as a float64 matrix, checked cell by cell.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    columns : list of str
        The columns to take, in this order.
    path : str
        The file ``frame`` came from, for the messages.
    fmt : str, default="csv"
        Its format: CSV errors name the line, others the row.

    Returns
    -------
    X : ndarray of shape (n_rows, len(columns)), float64

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
    """Every column but ``target`` as numeric features, and ``target`` as the labels.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    target : str
        The label column.
    path : str
        The file ``frame`` came from, for the messages.
    fmt : str, default="csv"

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns - 1), float64
    y : ndarray of shape (n_rows,)
        Text labels as ``str``.
    features : list of str
        The names of X's columns.

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


def in_test_split(rows: pd.DataFrame, fraction: float, seed: int, columns: list[str]) -> pd.Series:
    """Whether each row is held out, decided by a seeded hash of its values.

    A row's fate depends on its content alone, never on which partition holds
    it: Dask may split the same files into different partitions for the
    feature columns and for the target column. Use as
    ``frame.map_partitions(in_test_split, fraction, seed, columns)``.

    Parameters
    ----------
    rows : DataFrame of shape (n_rows, n_columns)
    fraction : float
        The share of rows to hold out, in (0, 1).
    seed : int
    columns : list of str
        The columns whose values are hashed.

    Returns
    -------
    held_out : Series of shape (n_rows,), bool
    """
    import pandas as pd

    hashes = pd.util.hash_pandas_object(rows[columns], index=False).to_numpy()
    # pandas' hash_key reaches only text columns: the seed is mixed into every row's hash instead
    seeded = pd.util.hash_array(hashes ^ np.uint64(seed % 2**64))
    return pd.Series(seeded % 1_000_003 < fraction * 1_000_003, index=rows.index)


# ------------------------------------------------------------------ writing


def write_table(frame: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``frame`` as CSV or Parquet (by extension or ``fmt``), atomically; ``-`` is stdout.

    Parameters
    ----------
    frame : DataFrame
    path : str or path-like
    fmt : {"csv", "parquet"}, optional

    Raises
    ------
    DataError
        For another format, or when the directory does not exist.
    """
    if str(path) == "-":
        import sys

        frame.to_csv(sys.stdout, index=False)
        return
    kind = table_format(path, fmt)
    if kind == "csv":
        payload = frame.to_csv(index=False).encode("utf-8")
    elif kind == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    else:
        raise DataError(f"{path}: predictions are written as CSV or Parquet; got format {kind!r}")
    atomic_write_bytes(Path(path), payload)


# ------------------------------------------------------------------ Dask datasets


def is_dataset_path(path: str | os.PathLike) -> bool:
    """True when ``path`` names several files (a glob pattern) or a folder of them."""
    text = str(path)
    return any(character in text for character in "*?[") or Path(text).is_dir()


def dataset_bytes(path: str | os.PathLike) -> int:
    """Total size on disk of the file, folder or glob ``path`` (0 when nothing is there)."""
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

    Parameters
    ----------
    path : str or path-like
        A file, a folder (of Parquet parts) or a glob pattern.
    fmt : {"csv", "parquet"}, optional

    Returns
    -------
    frame : dask.dataframe.DataFrame
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
    """The named numeric columns of a dask DataFrame, after one pass that refuses NaN/inf.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    columns : list of str
    path : str
        Where ``frame`` came from, for the messages.

    Returns
    -------
    X : dask.dataframe.DataFrame of shape (n_rows, len(columns)), float64, lazy
    """
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
    """Write a dask DataFrame as a folder of Parquet parts, replacing ``path`` only when complete.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    path : str or path-like
        A folder (no suffix, ``.parquet`` or ``.pq``).
    """
    import shutil
    import tempfile

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
