"""Choosing a table's feature columns and their missing cells, for the command line.

``noloop train`` reads a table whose columns may be text (categorical) and
whose cells may be empty. :func:`training_table` picks the feature columns
(``--features``, ``--drop``), refuses identifier-like text columns, applies the
missing-value policy (``--missing impute|drop|error``) and says what it did,
so the training report can name the columns and counts.

A table with neither text columns nor empty cells takes the numeric path
of :func:`noloop.tables.split_features` unchanged; every other table goes to
the estimator as a DataFrame, where :class:`noloop.linear_model._categorical.TableEncoding`
learns levels and imputation values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from noloop.errors import DataError

__all__ = ["TrainingTable", "training_table", "dask_training_table", "feature_columns",
           "parse_columns", "standardized_numeric", "MIN_IDENTIFIER_ROWS"]

# a text column whose every value differs is a row identifier, not a category; below this
# many rows all-distinct values are common and say nothing
MIN_IDENTIFIER_ROWS = 20


@dataclass
class TrainingTable:
    """The features a fit gets, and what was done to the table on the way.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features), or DataFrame
        A float matrix for an all-numeric table without empty cells, else the
        feature columns as a DataFrame (text kept as text, empty cells as NaN);
        from :func:`dask_training_table`, always a lazy dask DataFrame.
    y : ndarray of shape (n_rows,), or a lazy dask Series
    features : list of str
    text_columns : list of str
        The columns learned as categories.
    missing_counts : dict of str to int
        Empty cells per feature column (before rows were dropped).
    dropped_rows : int
        Rows left out by ``--missing drop``.
    """

    X: Any
    y: np.ndarray
    features: list[str]
    text_columns: list[str] = field(default_factory=list)
    missing_counts: dict[str, int] = field(default_factory=dict)
    dropped_rows: int = 0

    @property
    def is_table(self) -> bool:
        """Whether the fit needs the table encoding: text columns, or empty cells to impute."""
        return bool(self.text_columns) or (bool(self.missing_counts) and not self.dropped_rows)

    def report(self, missing: str) -> str | None:
        """One line on empty cells: how many of which columns were imputed, or rows dropped."""
        if self.dropped_rows:
            columns = ", ".join(f"{name} {count}" for name, count in self.missing_counts.items())
            return f"dropped {self.dropped_rows:,} row(s) with empty cells ({columns})"
        if not self.missing_counts or missing != "impute":
            return None
        parts = [f"{name} {count} ({'own level' if name in self.text_columns else 'mean'})"
                 for name, count in self.missing_counts.items()]
        return f"imputed {sum(self.missing_counts.values()):,} empty cell(s): {', '.join(parts)}"


def parse_columns(text: str | None) -> list[str] | None:
    """``--drop``/``--features``: column names separated by commas (None when not given)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _is_text(values: Any) -> bool:
    import pandas as pd

    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype) or \
        isinstance(values.dtype, pd.CategoricalDtype)


def feature_columns(columns: list[str], target: str, path: str, *,
                    drop: list[str] | None = None, features: list[str] | None = None
                    ) -> list[str]:
    """The feature columns of a table with ``columns``: ``features`` (or all but the target),
    less ``drop``.

    Raises
    ------
    DataError
        A name in ``drop``/``features`` that is not a column, the target among
        them, or no feature column left.
    """
    named = (features or []) + (drop or [])
    unknown = [name for name in named if name not in columns]
    if unknown:
        raise DataError(f"{path}: no column(s) {', '.join(map(repr, unknown))} (in --features/"
                        f"--drop); columns are {', '.join(map(repr, map(str, columns)))}")
    if target in named:
        raise DataError(f"{path}: {target!r} is the --target; it cannot be in --features or --drop")
    chosen = features if features else [c for c in columns if c != target]
    chosen = [c for c in chosen if c not in set(drop or [])]
    if not chosen:
        if not named:
            raise DataError(f"{path}: only the target column {target!r}; expected feature "
                            "columns too")
        raise DataError(f"{path}: no feature columns left (after --features/--drop)")
    return chosen


def training_table(frame: Any, target: str, path: str, fmt: str = "csv", *,
                   missing: str = "impute", drop: list[str] | None = None,
                   features: list[str] | None = None) -> TrainingTable:
    """The feature columns and labels of ``frame`` for training, under the missing-value policy.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    target : str
    path : str
        The file, for the messages.
    fmt : str, default="csv"
    missing : {"impute", "drop", "error"}, default="impute"
    drop, features : list of str, optional
        Columns to leave out; the only columns to use.

    Raises
    ------
    DataError
        An unknown column in ``drop``/``features``, the target among them, an
        empty label, an identifier-like text column, an all-empty column, or
        (``missing="error"``) the first empty cell, with its line.
    """
    from noloop.tables import _line_of, _present_labels, split_features

    frame = frame.rename(columns=str)
    if target not in frame.columns:
        _present_labels(frame, target, path, fmt)  # names the columns
    columns = feature_columns(list(frame.columns), target, path, drop=drop, features=features)
    _present_labels(frame, target, path, fmt)  # an empty label: one error, with its line
    frame = frame[columns + [target]]
    text = [c for c in columns if _is_text(frame[c])]
    empty = {c: int(frame[c].isna().sum()) for c in columns}
    _refuse_empty_and_identifier_columns(
        path, len(frame), empty, {name: int(frame[name].nunique()) for name in text})
    for name in text:
        numbers = _as_numbers(frame[name])
        present = frame[name].notna().to_numpy()
        stray = present & np.isnan(numbers)
        if _looks_numeric(int(present.sum()), int(stray.sum()), int(frame[name].nunique())):
            position = int(np.flatnonzero(stray)[0])
            raise DataError(f"{path}: column {name!r}, {_line_of(frame, position, fmt)}: "
                            f"{frame[name].iloc[position]!r} is not a number "
                            + _stray_text_advice(int(present.sum() - stray.sum()), name,
                                                 frame[name].iloc[position]))
    missing_counts = {name: count for name, count in empty.items() if count}
    if text or (missing_counts and missing == "impute"):  # the numeric path checks its own
        for name in columns:  # before rows are dropped: the line numbers still hold
            if name not in text and frame[name].dtype != bool:
                _refuse_dates_and_infinities(frame, name, path, fmt)
    if missing_counts and missing == "error":
        name = next(iter(missing_counts))
        position = int(np.flatnonzero(frame[name].isna().to_numpy())[0])
        raise DataError(f"{path}: column {name!r}, {_line_of(frame, position, fmt)}: an empty "
                        f"or NaN cell ({missing_counts[name]} in this column); use --missing "
                        "impute or --missing drop")
    dropped = 0
    if missing_counts and missing == "drop":
        keep = ~frame[columns].isna().any(axis=1).to_numpy()
        dropped = _rows_dropped(path, len(frame), int(keep.sum()))
        frame = frame[keep]
    if not text and (not missing_counts or missing == "drop"):
        X, y, names = split_features(frame, target, path, fmt)  # the numeric path, as before
        return TrainingTable(X=X, y=y, features=names, missing_counts=missing_counts,
                             dropped_rows=dropped)
    # the labels, checked as the numeric path checks them (whole numbers, two classes or more)
    labels = split_features(frame[[target]].assign(_=0), target, path, fmt)[1]
    table = frame[columns].copy()
    for name in columns:
        if name not in text and table[name].dtype == bool:
            table[name] = table[name].astype(np.float64)  # as the numeric path reads it
    return TrainingTable(X=table, y=labels, features=columns, text_columns=text,
                         missing_counts=missing_counts, dropped_rows=dropped)


def _refuse_dates_and_infinities(table: Any, name: str, path: str, fmt: str) -> None:
    """Refuse a numeric column of dates, or with an infinite value (naming its line), as the
    numeric path does; empty cells are left to the missing-value policy."""
    import pandas as pd

    from noloop.tables import _line_of

    values = table[name]
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or \
            pd.api.types.is_timedelta64_dtype(values.dtype):
        raise DataError(f"{path}: column {name!r} holds dates or times ({values.dtype}); "
                        "expected numbers: convert it (e.g. to seconds since an epoch) or drop it")
    infinite = np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if infinite.any():
        position = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{path}: column {name!r}, {_line_of(table, position, fmt)}: an infinite "
                        f"value; expected a finite number ({int(infinite.sum())} such cell(s) in "
                        "this column)")


def _refuse_empty_and_identifier_columns(path: str, n_rows: int, empty: dict[str, int],
                                         n_levels: dict[str, int]) -> None:
    """Refuse a column empty in every row, then a text column whose every value differs.

    Parameters
    ----------
    n_rows : int
    empty : dict of str to int
        Empty cells per feature column.
    n_levels : dict of str to int
        Distinct present values per text column.
    """
    for name, count in empty.items():
        if count == n_rows:
            raise DataError(f"{path}: column {name!r} is empty in every row; leave it out with "
                            f"--drop {name}")
    for name, levels in n_levels.items():
        present = n_rows - empty[name]
        if present >= MIN_IDENTIFIER_ROWS and levels == present:
            raise DataError(f"{path}: column {name!r} looks like an identifier (text, all "
                            f"{present:,} values distinct), not a feature; leave it out with "
                            f"--drop {name}")


# a text column is taken for a numeric column with stray text when at least this share of
# its present cells are numbers and it has more distinct values than a category would
_NUMERIC_SHARE = 0.9
_MIN_NUMERIC_LEVELS = 20


def _as_numbers(values: Any) -> np.ndarray:
    """A column's cells as float64, NaN where a cell is empty or not a number."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == bool:
        return np.full(len(values), np.nan)  # declared categories are never numbers gone astray
    return pd.to_numeric(values.astype(object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)


def _looks_numeric(n_present: int, n_text: int, n_levels: int) -> bool:
    """Whether a text column is a numeric column with a few text cells (an "n/a", a typo)."""
    return (0 < n_text <= (1 - _NUMERIC_SHARE) * n_present
            and n_levels > _MIN_NUMERIC_LEVELS)


def _stray_text_advice(n_numbers: int, name: str, cell: Any = None) -> str:
    from noloop.tables import na_values_hint

    return (f"(the column's other {n_numbers:,} cells are numbers); {na_values_hint(cell)}"
            f"empty the cell(s) to impute them, or leave the column out with --drop {name}")


def _rows_dropped(path: str, n_rows: int, n_kept: int) -> int:
    """How many rows ``--missing drop`` leaves out; an error when it leaves none."""
    if n_kept == 0:
        raise DataError(f"{path}: every row has an empty cell; --missing drop leaves no rows")
    return n_rows - n_kept


def _partition_counts(part: Any, columns: list[str], text: list[str], target: str
                      ) -> dict[str, Any]:
    """One partition's counts: rows, empty cells per column, rows with one, empty labels, up
    to two distinct labels, infinite cells per numeric column, and each text column's levels
    and cells that are not numbers."""
    import pandas as pd

    features = part[columns]
    absent = features.isna()
    numeric = [name for name in columns if name not in text]
    values = features[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    return {
        "rows": len(part), "empty": absent.sum().to_dict(),
        "rows_with_empty": int(absent.any(axis=1).sum()),
        "empty_labels": int(part[target].isna().sum()),
        "labels": pd.unique(part[target].dropna())[:2].tolist(),  # two say "not one class"
        "infinite": dict(zip(numeric, np.isinf(values).sum(axis=0).tolist())),
        "levels": {name: set(pd.unique(features[name].dropna().astype(str))) for name in text},
        # each text column's cells that are not numbers: how many, and the first few
        "stray": {name: _stray_cells(features[name]) for name in text},
    }


def _stray_cells(values: Any) -> tuple[int, list[str]]:
    """How many present cells of a text column are not numbers, and the first three."""
    stray = values[values.notna().to_numpy() & np.isnan(_as_numbers(values))]
    return len(stray), stray.iloc[:3].astype(str).tolist()


def _merged_counts(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole table's :func:`_partition_counts` from those of its partitions."""
    total = pieces[0]
    for piece in pieces[1:]:
        total = {
            "rows": total["rows"] + piece["rows"],
            "empty": {name: total["empty"][name] + piece["empty"][name] for name in total["empty"]},
            "rows_with_empty": total["rows_with_empty"] + piece["rows_with_empty"],
            "empty_labels": total["empty_labels"] + piece["empty_labels"],
            "labels": list(dict.fromkeys(total["labels"] + piece["labels"]))[:2],
            "infinite": {name: total["infinite"][name] + piece["infinite"][name]
                         for name in total["infinite"]},
            "levels": {name: total["levels"][name] | piece["levels"][name]
                       for name in total["levels"]},
            "stray": {name: (total["stray"][name][0] + piece["stray"][name][0],
                             (total["stray"][name][1] + piece["stray"][name][1])[:3])
                      for name in total["stray"]},
        }
    return total


def dask_training_table(frame: Any, target: str, columns: list[str], path: str, *,
                        missing: str = "impute") -> TrainingTable:
    """:func:`training_table` for a dask DataFrame: the same checks, from one pass of counts.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        Holding ``columns`` and ``target`` (best persisted: the fit reads it again).
    target : str
    columns : list of str
        The feature columns (:func:`feature_columns`).
    path : str
    missing : {"impute", "drop", "error"}, default="impute"

    Returns
    -------
    TrainingTable
        ``X`` a lazy dask DataFrame (numeric columns float64, text columns as
        read), ``y`` the lazy label column, both over the same partitions.

    Raises
    ------
    DataError
        As :func:`training_table`, with counts instead of line numbers (Dask
        does not keep them); and for dates or infinite values.
    """
    import dask
    import pandas as pd

    dates = [name for name in columns if pd.api.types.is_datetime64_any_dtype(frame[name].dtype)
             or pd.api.types.is_timedelta64_dtype(frame[name].dtype)]
    if dates:
        raise DataError(f"{path}: column(s) {', '.join(map(repr, dates))} hold dates or times; "
                        "expected numbers or text")
    text = [name for name in columns if _is_text(frame[name])]
    pieces = dask.compute(*[dask.delayed(_partition_counts)(part, columns, text, target)
                            for part in frame.to_delayed()])
    counts = _merged_counts(list(pieces))
    if counts["rows"] == 0:
        raise DataError(f"{path}: has a header ({len(frame.columns)} columns) but no rows of data")
    if counts["empty_labels"]:
        raise DataError(f"{path}: column {target!r}: {counts['empty_labels']:,} empty label(s); "
                        "every row needs a label")
    if len(counts["labels"]) < 2:
        raise DataError(f"{path}: column {target!r} holds a single class "
                        f"({counts['labels'][0]!r}); a classifier needs at least two")
    infinite = [f"{name!r} ({count} cells)" for name, count in counts["infinite"].items() if count]
    if infinite:
        raise DataError(f"{path}: infinite values in column(s) {', '.join(infinite)}; expected "
                        "finite numbers")
    _refuse_empty_and_identifier_columns(
        path, counts["rows"], counts["empty"],
        {name: len(levels) for name, levels in counts["levels"].items()})
    for name, levels in counts["levels"].items():
        present = counts["rows"] - counts["empty"][name]
        n_stray, examples = counts["stray"][name]
        if _looks_numeric(present, n_stray, len(levels)):
            raise DataError(f"{path}: column {name!r}: {n_stray:,} cell(s) such as "
                            f"{examples[0]!r} are not numbers "
                            + _stray_text_advice(present - n_stray, name, examples[0]))
    missing_counts = {name: int(count) for name, count in counts["empty"].items() if count}
    if missing_counts and missing == "error":
        name = next(iter(missing_counts))
        raise DataError(f"{path}: column {name!r}: {missing_counts[name]:,} empty or NaN cell(s); "
                        "use --missing impute or --missing drop")
    dropped = 0
    if missing_counts and missing == "drop":
        dropped = _rows_dropped(path, counts["rows"], counts["rows"] - counts["rows_with_empty"])
        frame = frame.dropna(subset=columns)
    # a True/False column with empty cells is text in memory (pandas reads it as objects):
    # its levels "False", "True" and a missing level, here too
    flags = [name for name in columns if name not in text and missing_counts.get(name)
             and isinstance(frame[name].dtype, pd.BooleanDtype)]
    text = [name for name in columns if name in text or name in flags]
    numeric = [name for name in columns if name not in text]
    # as the in-memory path reads them: numbers (bool too) as float64, text as it is
    # (column by column: dask's optimizer pushed a dict astype into the label column's own
    # selection, where pandas refuses the other names)
    frame = frame.assign(**{name: frame[name].astype(np.float64 if name in numeric else object)
                            for name in [*numeric, *flags]})
    return TrainingTable(X=frame[columns], y=frame[target], features=columns, text_columns=text,
                         missing_counts=missing_counts, dropped_rows=dropped)


def standardized_numeric(X: Any, text_columns: list[str]) -> tuple[Any, dict[str, float],
                                                                   dict[str, float]]:
    """The table with each numeric column (x − mean) / scale, and the means and scales.

    The statistics are those of scikit-learn's ``SimpleImputer`` followed by
    ``StandardScaler``: the mean of the present cells, and the population
    standard deviation of the column after its empty cells took that mean
    (1 for a constant column). Empty cells stay empty: the estimator imputes
    them, with the standardized column's mean, 0.

    Parameters
    ----------
    X : DataFrame or dask DataFrame of shape (n_rows, n_columns)
        On Dask the statistics take two passes (the means, then the squared
        deviations from them) and the scaling stays lazy.
    text_columns : list of str
        The columns left as they are.
    """
    from noloop.linear_model._dask import is_dask

    numeric = [name for name in X.columns if name not in text_columns]
    if is_dask(X):
        import dask

        (means,) = dask.compute(X[numeric].mean(axis=0))  # NaN skipped: the present cells'
        mean_of = {name: float(means[name]) for name in numeric}
        squares, n_rows = dask.compute([((X[name] - mean_of[name]) ** 2).sum() for name in numeric],
                                       X.map_partitions(len).sum())
        scale_of = {name: _positive_scale(float(np.sqrt(total / n_rows)))
                    for name, total in zip(numeric, squares)}
        return X.assign(**{name: (X[name] - mean_of[name]) / scale_of[name]
                           for name in numeric}), mean_of, scale_of
    X = X.copy()
    means, scales = {}, {}
    for name in numeric:
        values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        mean = float(np.nanmean(values))
        filled = np.where(np.isnan(values), mean, values)
        scale = _positive_scale(float(np.sqrt(np.mean((filled - mean) ** 2))))
        X[name] = (values - mean) / scale
        means[name], scales[name] = mean, scale
    return X, means, scales


def _positive_scale(scale: float) -> float:
    """The scale a column is divided by: 1 for a constant column (or one too spread to say)."""
    return scale if scale > 0 and np.isfinite(scale) else 1.0
