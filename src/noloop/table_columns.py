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

__all__ = ["TrainingTable", "training_table", "parse_columns", "standardized_numeric",
           "MIN_IDENTIFIER_ROWS"]

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
        feature columns as a DataFrame (text kept as text, empty cells as NaN).
    y : ndarray of shape (n_rows,)
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
        """Whether X goes to the estimator as a DataFrame (categories or empty cells)."""
        return not isinstance(self.X, np.ndarray)

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
    named = (features or []) + (drop or [])
    unknown = [name for name in named if name not in frame.columns]
    if unknown:
        raise DataError(f"{path}: no column(s) {', '.join(map(repr, unknown))} (in --features/"
                        f"--drop); columns are {', '.join(map(repr, map(str, frame.columns)))}")
    if target in named:
        raise DataError(f"{path}: {target!r} is the --target; it cannot be in --features or --drop")
    columns = features if features else [c for c in frame.columns if c != target]
    columns = [c for c in columns if c not in set(drop or [])]
    if not columns:
        if not named:
            raise DataError(f"{path}: only the target column {target!r}; expected feature "
                            "columns too")
        raise DataError(f"{path}: no feature columns left (after --features/--drop)")
    _present_labels(frame, target, path, fmt)  # an empty label: one error, with its line
    frame = frame[columns + [target]]
    text = [c for c in columns if _is_text(frame[c])]
    empty = {c: int(frame[c].isna().sum()) for c in columns}
    for name in columns:
        if empty[name] == len(frame):
            raise DataError(f"{path}: column {name!r} is empty in every row; leave it out with "
                            f"--drop {name}")
    for name in text:
        values = frame[name].dropna()
        if len(values) >= MIN_IDENTIFIER_ROWS and values.nunique() == len(values):
            raise DataError(f"{path}: column {name!r} looks like an identifier (text, all "
                            f"{len(values):,} values distinct), not a feature; leave it out with "
                            f"--drop {name}")
    missing_counts = {name: count for name, count in empty.items() if count}
    if missing_counts and missing == "error":
        name = next(iter(missing_counts))
        position = int(np.flatnonzero(frame[name].isna().to_numpy())[0])
        raise DataError(f"{path}: column {name!r}, {_line_of(frame, position, fmt)}: an empty "
                        f"or NaN cell ({missing_counts[name]} in this column); use --missing "
                        "impute or --missing drop")
    dropped = 0
    if missing_counts and missing == "drop":
        keep = ~frame[columns].isna().any(axis=1).to_numpy()
        dropped = int((~keep).sum())
        if not keep.any():
            raise DataError(f"{path}: every row has an empty cell; --missing drop leaves no rows")
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


def standardized_numeric(X: Any, text_columns: list[str]) -> tuple[Any, dict[str, float],
                                                                   dict[str, float]]:
    """The table with each numeric column (x − mean) / scale, and the means and scales.

    The statistics are those of scikit-learn's ``SimpleImputer`` followed by
    ``StandardScaler``: the mean of the present cells, and the population
    standard deviation of the column after its empty cells took that mean
    (1 for a constant column). Empty cells stay empty: the estimator imputes
    them, with the standardized column's mean, 0.
    """
    X = X.copy()
    means, scales = {}, {}
    for name in X.columns:
        if name in text_columns:
            continue
        values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        mean = float(np.nanmean(values))
        filled = np.where(np.isnan(values), mean, values)
        scale = float(np.sqrt(np.mean((filled - mean) ** 2)))
        scale = scale if scale > 0 and np.isfinite(scale) else 1.0
        X[name] = (values - mean) / scale
        means[name], scales[name] = mean, scale
    return X, means, scales
