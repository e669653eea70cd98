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
import functools
import io
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from noloop._formats import TABLE_FORMATS
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
    "model_features",
    "require_model_columns",
    "split_features",
    "evaluation_labels",
    "write_table",
    "in_test_split",
    "split_rows",
    "folder_format",
    "is_dataset_path",
    "dataset_bytes",
    "read_dask_table",
    "dask_features",
    "write_dask_table",
]

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
    suffix = _suffix(path)
    if suffix not in _EXTENSIONS:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; expected "
            f"one of {', '.join(sorted(_EXTENSIONS))}, or name it with --format"
        )
    return _EXTENSIONS[suffix]


def _suffix(path: str | os.PathLike) -> str:
    """The extension that names the format: ``.csv`` for ``data.csv.gz`` (gzip is read as such)."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return suffixes[-2]
    return Path(path).suffix.lower()


def read_table(
    path: str | os.PathLike, fmt: str | None = None, *, allow_empty: bool = False,
    na_values: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV, Parquet, ``.npy`` or ``.npz`` file into a DataFrame.

    CSV is read by ``pd.read_csv`` (so columns get pandas' types) with one
    difference that keeps a user's data as written: only an empty cell is
    missing (``NA``, ``None``, ``null`` or ``n/a`` are text, and so labels,
    unless ``na_values`` names them). Gzip
    files (``.csv.gz``, or any CSV starting with gzip's magic bytes) are
    decompressed. A header cell that is empty or ``Unnamed: N`` (the index
    ``DataFrame.to_csv()`` writes) is refused, not used as a feature: write the
    file with ``index=False``. Duplicate column names are refused (pandas would
    rename the second ``y`` to ``y.1``). The physical line of each CSV row
    (after blank lines and multi-line quoted fields) is kept in
    ``frame.attrs["lines"]`` for the messages.

    Parameters
    ----------
    path : str or path-like
    fmt : {"csv", "parquet", "npy", "npz"}, optional
        The format, when the extension does not say.
    allow_empty : bool, default=False
        Accept a header without rows (``predict`` writes an empty output for
        it); training refuses such a file.
    na_values : sequence of str, default=()
        CSV cells holding one of these texts are missing too, in every column
        (pandas' ``na_values``; e.g. ``("NA",)`` for a file R wrote).

    Returns
    -------
    frame : DataFrame of shape (n_rows, n_columns)

    Raises
    ------
    DataError
        When the file is missing, empty, has a header but no rows (unless
        ``allow_empty``), has ragged rows, duplicate or missing column names,
        a field that never ends (a stray quote), a single column that looks
        semicolon- or tab-separated, is binary or not UTF-8 where text was
        expected, or is not a readable file of its format. The message names
        the file and, where it can, the physical line.
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
        "csv": functools.partial(_read_csv, na_values=na_values), "parquet": _read_parquet,
        "npy": _read_npy, "npz": _read_npz,
    }[kind]
    frame = reader(path)
    if len(frame.columns) == 0:
        raise DataError(f"{path}: no columns found")
    _check_column_names(path, [str(column) for column in frame.columns])
    if len(frame) == 0 and not allow_empty:
        raise DataError(f"{path}: has a header ({len(frame.columns)} columns) but no rows of data")
    return frame


def _check_column_names(path: str | os.PathLike, names: list[str]) -> None:
    """Refuse duplicate names and empty or ``Unnamed: N`` ones (a pandas index written by to_csv)."""
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name.strip() or name.startswith("Unnamed: "):
            raise DataError(
                f"{path}: column {number} has no name in the header ({name!r}); if it is the "
                "index pandas writes with DataFrame.to_csv(), write the file with "
                "to_csv(index=False) or delete that column; otherwise name it"
            )
        if name in seen:
            raise DataError(
                f"{path}: the column name {name!r} appears twice in the header (columns "
                f"{seen[name]} and {number}); expected unique names"
            )
        seen[name] = number


_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _read_csv(path: Path, na_values: Sequence[str] = ()) -> pd.DataFrame:
    import gzip
    import zlib

    import pandas as pd

    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: is a damaged gzip file ({error})") from None
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
    header, lines = _scan_csv(path, text)
    _check_column_names(path, header)  # before pandas renames a second 'y' to 'y.1'
    try:
        # only an empty cell is missing: NA, None, null or n/a are a user's text (labels),
        # unless the user names them (--na-values)
        frame = pd.read_csv(io.StringIO(text), skip_blank_lines=True, keep_default_na=False,
                            na_values=["", *na_values])
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(f"{path}: is not valid CSV ({' '.join(str(error).split())})") from None
    if len(lines) == len(frame):
        frame.attrs["lines"] = lines
    return frame


def _scan_csv(path: Path, text: str) -> tuple[list[str], list[int]]:
    """(the header, the physical line where each data row starts), as pandas will read them.

    Blank and whitespace-only lines are skipped, as pandas skips them. Every
    row must have as many fields as the header (pandas would pad short rows).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            first, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and row[0] != "" and not row[0].strip()):
                continue
            if header is None:
                header = row
                _check_delimiter(path, header)
                continue
            if len(row) != len(header):
                raise DataError(f"{path}: line {first} has {len(row)} fields, but the header has "
                                f"{len(header)}{_quote_hint(row, first, reader.line_num)}")
            lines.append(first)
    except csv.Error as error:
        raise DataError(
            f"{path}: line {start}: cannot be read as CSV ({error}); a field there never ends, "
            "most often because of a stray '\"' that opens a quoted field: remove it or close "
            "the quotes"
        ) from None
    if header is None:  # only blank lines and empty quoted fields ("")
        raise DataError(f"{path}: the file holds no header line; expected column names and rows")
    return header, lines


def _check_delimiter(path: Path, header: list[str]) -> None:
    if len(header) != 1:
        return
    for delimiter, name in _DELIMITERS.items():
        if delimiter in header[0]:
            raise DataError(
                f"{path}: line 1 holds a single column {header[0][:60]!r}; noloop reads "
                f"comma-separated CSV and this file looks {name}-separated: save it with commas "
                "(pandas: to_csv(path, index=False))"
            )


def _quote_hint(row: list[str], first: int, last: int) -> str:
    if last == first or not any("\n" in field or "\r" in field for field in row):
        return ""
    return (f" (this row spans lines {first}-{last} inside quotes: a stray '\"' may have opened "
            "a quoted field that never closes)")


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


def _line_of(frame: pd.DataFrame, position: int, fmt: str) -> str:
    """Where row ``position`` of ``frame`` sits: its physical CSV line, else its row number."""
    lines = frame.attrs.get("lines")
    if lines is not None and len(lines) == len(frame):
        return f"line {lines[position]}"
    # CSV data row i sits on line i + 2 (1-based, after the header); elsewhere name the row
    return f"line {position + 2}" if fmt == "csv" else f"row {position + 1}"


# texts that mark a missing value in files other tools wrote (R writes NA, pandas NaN)
_MISSING_MARKERS = frozenset({"NA", "N/A", "n/a", "na", "NaN", "nan", "NAN", "null", "NULL",
                              "None", "none", "#N/A", "<NA>", "-", "?", "."})


def na_values_hint(cell: Any) -> str:
    """``"read 'NA' as an empty cell with --na-values=NA, "`` for a usual missing-value
    marker, else ``""``: the start of the advice for a text cell among numbers.

    Only an exact marker (pandas matches cells exactly: ``" NA"`` is not ``NA``), quoted
    for the shell (``'#N/A'`` would start a comment, ``<NA>`` a redirection), after ``=``
    (``-`` would read as an option).
    """
    marker = "" if cell is None else str(cell)
    return (f"read {marker!r} as an empty cell with --na-values={shlex.quote(marker)}, "
            if marker in _MISSING_MARKERS else "")


def refuse_text_in_numbers(frame: pd.DataFrame, columns: list[str], path: str,
                           fmt: str, *, imputes: bool = True) -> None:
    """A text cell in a column a table model learned as numbers: one error naming its line.

    Empty cells pass here (the model imputes them, or, when it does not, its encoding
    refuses them); without this check the encoding would name the cell but not its
    line, nor ``--na-values``.
    """
    import pandas as pd

    for name in columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values.dtype):  # bool included: 0/1, as fitted
            continue
        stray = (pd.to_numeric(values, errors="coerce").isna() & values.notna()).to_numpy()
        if stray.any():
            position = int(np.flatnonzero(stray)[0])
            cell = values.iloc[position]
            raise DataError(f"{path}: column {name!r}, {_line_of(frame, position, fmt)}: "
                            f"{cell!r} is not a number (the column was numeric when the model "
                            f"was fitted); {na_values_hint(cell)}"
                            + ("or empty the cell(s) to impute them" if imputes
                               else "or give it a number"))


def _numeric_column(path: str, frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    import pandas as pd

    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=np.float64)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or \
            pd.api.types.is_timedelta64_dtype(values.dtype):
        raise DataError(
            f"{path}: column {column!r} holds dates or times ({values.dtype}); expected numbers: "
            "convert it (e.g. to seconds since an epoch) or drop it"
        )
    numeric = pd.to_numeric(values, errors="coerce")
    not_number = numeric.isna() & values.notna()
    if not_number.any():
        position = int(np.flatnonzero(not_number.to_numpy())[0])
        raise DataError(
            f"{path}: column {column!r}, {_line_of(frame, position, fmt)}: "
            f"{values.iloc[position]!r} is not a number"
        )
    array = numeric.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        what = "an empty or NaN cell" if np.isnan(array[position]) else "an infinite value"
        raise DataError(
            f"{path}: column {column!r}, {_line_of(frame, position, fmt)}: {what}; "
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
        _present_labels(frame, target, path, fmt)  # names the columns
    features = [str(column) for column in frame.columns if column != target]
    if not features:
        raise DataError(f"{path}: only the target column {target!r}; expected feature columns too")
    labels = _present_labels(frame, target, path, fmt)
    y = labels.to_numpy()
    if y.dtype == object:
        y = y.astype(str)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        position = int(np.flatnonzero(y != np.round(y))[0])
        raise DataError(
            f"{path}: column {target!r}, {_line_of(frame, position, fmt)}: the label "
            f"{y[position].item()!r} is not a whole number; a classifier needs classes (whole "
            "numbers or text), not continuous values"
        )
    if y.dtype.kind == "f" and np.any(np.abs(y) >= 2.0**63):
        # classifiers (scikit-learn's included) read whole-number labels as int64
        position = int(np.flatnonzero(np.abs(y) >= 2.0**63)[0])
        raise DataError(
            f"{path}: column {target!r}, {_line_of(frame, position, fmt)}: the label "
            f"{y[position].item()!r} is beyond the whole numbers a classifier takes "
            "(|label| < 2**63); write the classes as smaller numbers or as text"
        )
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(
            f"{path}: column {target!r} holds a single class ({classes.tolist()[0]!r}); a "
            "classifier needs at least two"
        )
    frame = frame.rename(columns=str)
    return select_features(frame, features, path, fmt), y, features


def _present_labels(frame: pd.DataFrame, target: str, path: str, fmt: str,
                    expected: str = "") -> pd.Series:
    """The column ``target``, refusing an empty label with its line."""
    if target not in frame.columns:
        raise DataError(f"{path}: no column named {target!r} (the --target); columns are "
                        f"{', '.join(map(repr, map(str, frame.columns)))}")
    labels = frame[target]
    empty = labels.isna().to_numpy()
    if empty.any():
        position = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"{path}: column {target!r}, {_line_of(frame, position, fmt)}: the label is empty"
            f"{expected} ({int(empty.sum())} empty label(s) in this column)"
        )
    return labels


def evaluation_labels(
    frame: pd.DataFrame, target: str, classes: Any, path: str, fmt: str = "csv"
) -> np.ndarray:
    """The column ``target`` as the model's own class values, each label checked as read.

    Labels are compared as the file holds them, never converted to the
    classes' type first (so 2 is not True, 0.5 is not 0): the rule is that of
    :func:`noloop.metrics.match_classes` (numbers by value, text by its text,
    True/False only as themselves; a model trained on 0, 1 and "other" scores
    a file holding only 0 and 1).

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
        As :func:`read_table` read it.
    target : str
        The label column.
    classes : array-like of shape (n_classes,)
        The model's ``classes_``.
    path : str
        The file ``frame`` came from, for the messages.
    fmt : str, default="csv"

    Returns
    -------
    y : ndarray of shape (n_rows,)
        Elements of ``classes``.

    Raises
    ------
    DataError
        Naming the file, the column and the line of the first empty label or
        of the first label that is not one of the model's classes.
    """
    from noloop.metrics import match_classes

    classes = np.asarray(classes)
    listing = ", ".join(map(repr, classes.tolist()))
    labels = _present_labels(frame, target, path, fmt,
                             expected=f"; expected one of the model's classes {listing}")
    indices = match_classes(labels, classes)
    unknown = indices < 0
    if unknown.any():
        position = int(np.flatnonzero(unknown)[0])
        others = sorted({repr(value) for value in labels[unknown].tolist()})
        raise DataError(
            f"{path}: column {target!r}, {_line_of(frame, position, fmt)}: the label "
            f"{labels.iloc[position:position + 1].tolist()[0]!r} is not one of the model's "
            f"classes {listing} "
            f"({int(unknown.sum())} such row(s); labels {', '.join(others[:5])})"
        )
    return classes[indices]


def in_test_split(rows: pd.DataFrame, fraction: float, seed: int, columns: list[str]) -> pd.Series:
    """Whether each row is held out, decided by a seeded hash of its values.

    A row's fate depends on its content alone, never on which partition holds
    it: Dask may split the same files into different partitions for the
    feature columns and for the target column. On Dask, :func:`split_rows`
    applies it inside each partition's task.

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


def split_rows(rows: pd.DataFrame, fraction: float, seed: int, columns: list[str],
               held_out: bool) -> pd.DataFrame:
    """The rows :func:`in_test_split` holds out (``held_out=True``) or keeps, as one frame.

    Use as ``frame.map_partitions(split_rows, fraction, seed, columns, held_out)``:
    the mask and the rows it picks come from the same partition in one task.
    (A mask built as its own dask expression and applied to two frames derived
    from the same one, X and y, was rewritten by dask's optimizer when both were
    computed together: X kept 264 rows where y kept 253.)
    """
    mask = in_test_split(rows, fraction, seed, columns).to_numpy()
    return rows[mask if held_out else ~mask]


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


def _csv_header(path: Path) -> list[str]:
    """The first non-blank record of a (maybe gzip) CSV file, its delimiter checked."""
    import gzip

    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if row and not (len(row) == 1 and not row[0].strip()):
                    _check_delimiter(path, row)
                    return row
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read its header line ({error})") from None
    raise DataError(f"{path}: the file is empty; expected a header line and rows of data")


# rows (and bytes) of a CSV's head from which Dask guesses the columns' types: dask's own 10
# rows let a later empty cell in an integer column, or a decimal, fail the read
_CSV_SAMPLE_ROWS = 100_000
_CSV_SAMPLE_BYTES = 16 * 2**20


def folder_format(folder: str) -> str:
    """A folder's table format: "csv" when every file in it is a CSV, else "parquet"."""
    files = _dataset_files(folder)
    csv_files = [file for file in files if file.lower().endswith((".csv", ".csv.gz"))]
    return "csv" if files and len(csv_files) == len(files) else "parquet"


def _read_dask_csv(files: list[str], *, gzipped: bool, na_values: Sequence[str] = ()) -> Any:
    """CSV files as a dask DataFrame, as in memory: only empty cells (and ``na_values``) are
    missing.

    Columns that look True/False in the sampled head are read as pandas'
    nullable ``boolean``: a plain ``bool`` would turn a later empty cell into
    True without a word.
    """
    import dask.dataframe as dd

    options = dict(keep_default_na=False, na_values=["", *na_values], sample=_CSV_SAMPLE_BYTES,
                   sample_rows=_CSV_SAMPLE_ROWS, blocksize=None if gzipped else "default")
    frame = dd.read_csv(files, **options)
    flags = {name: "boolean" for name, dtype in frame.dtypes.items() if dtype == bool}
    return dd.read_csv(files, dtype=flags, **options) if flags else frame


def _parquet_columns(path: str) -> dict[str, str]:
    """A Parquet file's columns and the kind of each: "text", "numbers", "bool" or another type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {}
    for field in pq.read_schema(path):
        kind = field.type
        kind = ("text" if pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_dictionary(kind)
                else "numbers" if pa.types.is_integer(kind) or pa.types.is_floating(kind)
                else "bool" if pa.types.is_boolean(kind) else str(kind))
        kinds[field.name] = kind
    return {name: kind for name, kind in kinds.items() if not name.startswith("__index_level_")}


def _check_parts_agree(path: str, files: list[str], columns: list[dict[str, str]]) -> None:
    """Refuse a folder or glob whose files lack columns the first has, or hold text where it
    holds numbers (or the reverse); extra columns are left to the selection.

    Parameters
    ----------
    columns : list of dict of str to str
        Per file, its column names and their kinds ("" where the kind is not known).
    """
    first = columns[0]
    for file, found in zip(files[1:], columns[1:]):
        absent = [name for name in first if name not in found]
        if absent:
            raise DataError(f"{path}: {file} lacks column(s) {', '.join(map(repr, absent))} that "
                            f"{files[0]} has; every part needs the same columns")
        for name, kind in first.items():
            if kind and found[name] and kind != found[name] and "text" in (kind, found[name]):
                raise DataError(f"{path}: column {name!r} holds {kind} in {files[0]} but "
                                f"{found[name]} in {file}; every part needs the same types")


def _read_parquet_part(path: str) -> pd.DataFrame:
    return _read_parquet(Path(path))


def read_dask_table(path: str | os.PathLike, fmt: str | None = None, *,
                    na_values: Sequence[str] = ()) -> Any:
    """A lazy dask DataFrame over a CSV or Parquet file, folder or glob; checked, not loaded.

    Parquet is read one file per partition, whatever columns are selected later:
    Dask's own reader merges files differently for different column
    projections, which would give the features and the target different
    partitions.

    Parameters
    ----------
    path : str or path-like
        A file, a folder (of Parquet parts, or of CSV files only) or a glob pattern.
    fmt : {"csv", "parquet"}, optional
    na_values : sequence of str, default=()
        As :func:`read_table`'s, for CSV.

    Returns
    -------
    frame : dask.dataframe.DataFrame
    """
    import dask.dataframe as dd

    text = str(path)
    kind = fmt or (folder_format(text) if Path(text).is_dir()
                   else table_format(text.rstrip("/"), None))
    if dataset_bytes(text) == 0:
        raise DataError(f"{text}: no such file, folder or matching files (or all are empty)")
    try:
        if kind == "parquet":
            files = _dataset_files(text)
            _check_parts_agree(text, files, [_parquet_columns(file) for file in files])
            return dd.from_map(_read_parquet_part, files)
        if kind == "csv":
            files = _dataset_files(text)
            headers = [_csv_header(Path(file)) for file in files]
            _check_column_names(files[0], headers[0])
            _check_parts_agree(text, files, [{name: "" for name in header} for header in headers])
            return _read_dask_csv(files, gzipped=files[0].endswith(".gz"), na_values=na_values)
    except DataError:
        raise
    except (OSError, ValueError) as error:
        raise DataError(f"{text}: cannot be read as {kind} ({' '.join(str(error).split())})") \
            from None
    if kind == "npy":
        return _dask_npy(text)
    raise DataError(f"{text}: Dask reads CSV, Parquet or .npy datasets; got format {kind!r}")


# rows of a memory-mapped .npy file per Dask partition (about 64 MiB of float64 at 30 columns)
_NPY_PARTITION_BYTES = 64 * 2**20


def _npy_rows(path: str, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start:stop`` of a memory-mapped ``.npy`` file, columns named "0", "1", ..."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    return _numbered_columns(np.array(array[start:stop]))


def _dask_npy(path: str) -> Any:
    """A 2-D ``.npy`` file as a dask DataFrame whose partitions memory-map their rows."""
    import dask.dataframe as dd

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: is not a readable NumPy file ({error})") from None
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows × columns); got shape {array.shape}")
    rows = max(1, _NPY_PARTITION_BYTES // max(1, array.shape[1] * array.itemsize))
    starts = list(range(0, array.shape[0], rows)) or [0]
    meta = _numbered_columns(np.empty((0, array.shape[1]), dtype=array.dtype))
    return dd.from_map(_npy_rows, [path] * len(starts), starts,
                       [min(start + rows, array.shape[0]) for start in starts], meta=meta)


def model_features(model: Any) -> list[str]:
    """The columns a model reads: its feature names, else "0", "1", ... as in ``.npy`` files."""
    if hasattr(model, "feature_names_in_"):
        return [str(name) for name in model.feature_names_in_]
    return [str(i) for i in range(model.n_features_in_)]


def require_model_columns(columns: Any, features: list[str], path: str) -> None:
    """Refuse a table whose ``columns`` lack some of the model's ``features``, naming them."""
    absent = [name for name in features if name not in set(columns)]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, absent))}; the model "
                        f"needs {', '.join(map(repr, features))}")


def dask_features(frame: Any, columns: list[str], path: str, target: str | None = None) -> Any:
    """The named numeric columns of a dask DataFrame, after one pass that refuses NaN/inf.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    columns : list of str
    path : str
        Where ``frame`` came from, for the messages.
    target : str, optional
        The label column: the same pass refuses empty labels in it.

    Returns
    -------
    X : dask.dataframe.DataFrame of shape (n_rows, len(columns)), float64, lazy

    Raises
    ------
    DataError
        Naming the file and the columns that are missing, hold text or dates,
        hold empty, NaN or infinite cells, or the empty labels; or when the
        data has a header but no rows.
    """
    import dask
    import pandas as pd

    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; needed "
                        f"{', '.join(map(repr, columns))}")
    selected = frame[columns]
    not_numbers = {column: dtype for column, dtype in selected.dtypes.items()
                   if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))}
    if not_numbers:
        if len(frame.head(1, npartitions=-1)) == 0:
            raise DataError(f"{path}: has a header ({len(frame.columns)} columns) but no rows of data")
        dates = [column for column, dtype in not_numbers.items()
                 if pd.api.types.is_datetime64_any_dtype(dtype)
                 or pd.api.types.is_timedelta64_dtype(dtype)]
        what = "dates or times" if dates else "text"
        raise DataError(f"{path}: column(s) {', '.join(map(repr, dates or list(not_numbers)))} "
                        f"hold {what}; expected numbers")
    numbers = selected.astype("float64")
    checks = {"bad": (~np.isfinite(numbers)).sum(), "rows": numbers.shape[0]}
    if target is not None:
        checks["empty_labels"] = frame[target].isna().sum()
    (counts,) = dask.compute(checks)
    if counts["rows"] == 0:
        raise DataError(f"{path}: has a header ({len(frame.columns)} columns) but no rows of data")
    bad_columns = [f"{column!r} ({int(count)} cells)" for column, count in counts["bad"].items()
                   if count]
    if bad_columns:
        raise DataError(f"{path}: empty, NaN or infinite cells in column(s) "
                        f"{', '.join(bad_columns)}; expected finite numbers")
    if counts.get("empty_labels"):
        raise DataError(f"{path}: column {target!r}: {int(counts['empty_labels'])} empty label(s); "
                        "every row needs a label")
    return numbers


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
    if target.is_dir():
        others = sorted(entry.name for entry in target.iterdir()
                        if not (entry.is_file() and entry.name.startswith("part.")
                                and entry.suffix == ".parquet"))
        if others or target.resolve() == Path.cwd().resolve():
            # only a folder of earlier prediction parts is replaced; anything else is the user's
            raise DataError(f"{target}: is a folder holding other files ({', '.join(others[:3])}"
                            f"{', ...' if len(others) > 3 else ''}); predictions replace only a "
                            "folder of part.N.parquet files: name a new folder")
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
