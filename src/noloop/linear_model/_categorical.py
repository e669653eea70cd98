"""Tables with categorical columns and missing values: an encoding learned as data, and its data term.

A table's columns become, in this order,

1. its numeric columns (missing cells, under ``missing="impute"``, take the
   training mean),
2. one 0/1 *missing indicator* per numeric column that had missing cells in
   training (named ``col[missing]``),
3. one coefficient per level of each categorical column (``object``, string,
   ``category`` or ``bool`` dtype), named ``col[level]``; missing cells of a
   categorical column form a level of their own (named ``col[<missing>]``, with
   more angle brackets while that collides with a real level's name).

That is scikit-learn's ``ColumnTransformer`` of ``SimpleImputer(add_indicator=True)``
(numeric) and ``OneHotEncoder`` (categorical), but the one-hot part is never
formed: each categorical column is held as integer codes and the fused kernels
of :mod:`._categorical_kernels` compute z = X_num·w + Σ_j w[code_ij] + b.

Unseen levels at predict time (and missing cells of a categorical column that
had none in training) contribute zero with a ``UserWarning`` under
``handle_unknown="ignore"``, as ``OneHotEncoder(handle_unknown="ignore")``;
``"error"`` raises ``ValueError`` instead.

The encoding is plain data (:meth:`TableEncoding.to_metadata`): model files
keep it as JSON and the imputation values as a tensor; no pickle.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from noloop._xp import namespace
from noloop.linear_model._loss import curvature, encode_labels, probabilities
from noloop.linear_model._objective import Layout, LogisticObjective, class_weight_vector
from noloop.linear_model._problem import Problem, penalties, require_two_classes

__all__ = ["TableEncoding", "CategoricalData", "TABLE", "DASK_TABLE", "uses_table",
           "dask_uses_table", "fold_table_standardization"]

_MISSING_LEVEL = "<missing>"


def _is_categorical_dtype(dtype: Any) -> bool:
    import pandas as pd

    return (dtype == bool or dtype == object or isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(dtype))


def _missing_level_name(levels: list[str]) -> str:
    """A name for the missing level that no real level has (a level may be called "<missing>")."""
    name = _MISSING_LEVEL
    taken = set(levels)
    while name in taken:
        name = "<" + name + ">"
    return name


def _check_not_dates(values: Any, name: str) -> None:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values.dtype) or \
            pd.api.types.is_timedelta64_dtype(values.dtype):
        raise ValueError(f"column {name!r} holds dates or times ({values.dtype}); "
                         "convert it to numbers or leave it out")


def _column_stats(values: Any, name: str) -> dict[str, Any]:
    """What :meth:`TableEncoding.from_stats` needs of one pandas column, in one pass."""
    import pandas as pd

    _check_not_dates(values, name)
    if isinstance(values.dtype, pd.CategoricalDtype):  # the categories in use, without a pass of str()
        # one count per category, a missing cell's code −1 counted first
        counts = np.bincount(values.cat.codes.to_numpy().astype(np.intp) + 1,
                             minlength=len(values.cat.categories) + 1)
        return {"n_missing": int(counts[0]),
                "levels": values.cat.categories[counts[1:] > 0].astype(str).tolist()}
    absent = values.isna().to_numpy()
    if _is_categorical_dtype(values.dtype):
        return {"n_missing": int(absent.sum()),
                "levels": pd.unique(values[~absent].astype(str)).tolist()}
    present = values.to_numpy(dtype=np.float64, na_value=np.nan)[~absent]
    return {"n_missing": int(absent.sum()), "sum": float(np.sum(present)),
            "count": int(present.size), "finite": bool(np.all(np.isfinite(present)))}


def _partition_stats(part: Any, columns: list[str]) -> tuple[dict[str, dict[str, Any]], int]:
    """:func:`_column_stats` of every column of one partition, and its row count."""
    return {name: _column_stats(part[column], name)
            for name, column in zip(columns, part.columns)}, len(part)


def _merged_stats(pieces: list[tuple[dict[str, dict[str, Any]], int]]
                  ) -> tuple[dict[str, dict[str, Any]], int]:
    """The statistics of the whole table from those of its partitions."""
    merged: dict[str, dict[str, Any]] = {}
    for stats, _ in pieces:
        for name, column in stats.items():
            total = merged.setdefault(name, {key: (set() if key == "levels" else
                                                   True if key == "finite" else 0)
                                             for key in column})
            total["n_missing"] += column["n_missing"]
            if ("levels" in column) != ("levels" in total):
                raise ValueError(f"column {name!r} holds text in some partitions and numbers in "
                                 "others; give it one type in every partition")
            if "levels" in column:
                total["levels"].update(column["levels"])
            else:
                total["sum"] += column["sum"]
                total["count"] += column["count"]
                total["finite"] = total["finite"] and column["finite"]
    return merged, sum(n_rows for _, n_rows in pieces)


@dataclass(frozen=True)
class TableEncoding:
    """How a table's columns become model features; learned by :meth:`learn`, applied by :meth:`encode`.

    Attributes
    ----------
    columns : list of str
        The input columns, in the order the table had them.
    numeric : list of str
        The numeric columns.
    impute : ndarray of shape (len(numeric),)
        The value a missing numeric cell takes (the training mean).
    indicators : list of str
        Numeric columns that had missing cells in training: one indicator each.
    categorical : list of (str, list of str, str or None)
        Each categorical column, its levels (as text, sorted), and the name of
        its missing level (None when it had no missing cells in training).
    missing : {"error", "impute"}
    missing_counts : dict of str to int
        Missing cells per column in the training table (only columns that had some).
    """

    columns: list[str]
    numeric: list[str]
    impute: np.ndarray
    indicators: list[str]
    categorical: list[tuple[str, list[str], str | None]]
    missing: str = "error"
    missing_counts: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------ learning

    @classmethod
    def learn(cls, frame: Any, *, missing: str = "error") -> "TableEncoding":
        """Learn the encoding from a pandas DataFrame in one pass over its columns.

        Parameters
        ----------
        frame : pandas.DataFrame of shape (n_samples, n_columns)
        missing : {"error", "impute"}, default="error"

        Raises
        ------
        ValueError
            For a column with dates, infinite values, a column empty in every
            row, or (with ``missing="error"``) any missing cell; the message names the column.
        """
        columns = [str(column) for column in frame.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"`X` has duplicate column names: {columns!r}")
        stats = {name: _column_stats(frame[column], name)
                 for name, column in zip(columns, frame.columns)}
        return cls.from_stats(columns, stats, len(frame), missing=missing)

    @classmethod
    def from_stats(cls, columns: list[str], stats: dict[str, dict[str, Any]], n_rows: int, *,
                   missing: str = "error") -> "TableEncoding":
        """The encoding from per-column statistics (:func:`_column_stats` or the Dask pass).

        Each entry has ``n_missing`` and either ``levels`` (categorical: the
        distinct present values as text) or ``sum``, ``count`` and ``finite``
        (numeric: over the present cells).
        """
        numeric, impute, indicators, categorical, counts = [], [], [], [], {}
        for name in columns:
            column = stats[name]
            n_missing = int(column["n_missing"])
            if n_missing == n_rows:
                raise ValueError(f"column {name!r} is empty in every row ({n_rows}); leave it out")
            if n_missing:
                if missing != "impute":
                    raise ValueError(f"column {name!r} has {n_missing} missing cell(s); "
                                     "use missing='impute' or remove them")
                counts[name] = n_missing
            if "levels" in column:
                levels = sorted({str(level) for level in column["levels"]})
                categorical.append((name, levels,
                                    _missing_level_name(levels) if n_missing else None))
                continue
            if not column["finite"]:
                raise ValueError(f"column {name!r} holds infinite values; expected finite numbers")
            numeric.append(name)
            impute.append(float(column["sum"]) / int(column["count"]))
            if n_missing:
                indicators.append(name)
        encoding = cls(columns=columns, numeric=numeric,
                       impute=np.asarray(impute, dtype=np.float64), indicators=indicators,
                       categorical=categorical, missing=missing, missing_counts=counts)
        names = encoding.feature_names_out
        if len(set(names)) != len(names):
            twice = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(f"the feature name(s) {twice!r} would each name two coefficients: "
                             "a column is called like a level or a missing indicator of "
                             "another column; rename it")
        return encoding

    @classmethod
    def learn_dask(cls, frame: Any, *, missing: str = "error") -> "TableEncoding":
        """Learn the encoding from a dask DataFrame in one pass (one ``dask.compute``).

        One task per partition takes every column's distinct levels, missing
        count, sum and count (the partition is read once); the client merges them.
        """
        import dask

        columns = [str(column) for column in frame.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"`X` has duplicate column names: {columns!r}")
        # one task per partition reads it once and returns its small statistics
        pieces = dask.compute(*[dask.delayed(_partition_stats)(part, columns)
                                for part in frame.to_delayed()])
        stats, n_rows = _merged_stats(list(pieces))
        return cls.from_stats(columns, stats, int(n_rows), missing=missing)

    # ------------------------------------------------------------ layout

    @property
    def n_dense(self) -> int:
        """Columns of X_num: the numeric columns and the missing indicators."""
        return len(self.numeric) + len(self.indicators)

    @cached_property
    def offsets(self) -> np.ndarray:
        """The first global feature index of each categorical column, (J,)."""
        sizes = [len(levels) + (missing is not None) for _, levels, missing in self.categorical]
        return (self.n_dense + np.concatenate([[0], np.cumsum(sizes)[:-1]])).astype(np.int64) \
            if sizes else np.zeros(0, dtype=np.int64)

    @cached_property
    def feature_names_out(self) -> list[str]:
        """One name per coefficient: ``col``, ``col[missing]``, ``col[level]``."""
        names = list(self.numeric) + [f"{name}[missing]" for name in self.indicators]
        for name, levels, missing_level in self.categorical:
            names += [f"{name}[{level}]" for level in levels]
            if missing_level is not None:
                names.append(f"{name}[{missing_level}]")
        return names

    @property
    def n_features(self) -> int:
        return len(self.feature_names_out)

    # ------------------------------------------------------------ encoding

    def encode(self, frame: Any, *, handle_unknown: str = "ignore", source: str = "`X`"
               ) -> tuple[np.ndarray, np.ndarray]:
        """(X_num, codes) for a DataFrame holding (at least) :attr:`columns`.

        Returns
        -------
        X_num : float64 ndarray of shape (n_samples, n_dense), C-contiguous
        codes : int32 ndarray of shape (n_samples, n_categorical)
            Global feature indices; −1 where a level has no coefficient.

        Raises
        ------
        ValueError
            A missing column, a text cell in a numeric column, a missing cell
            under ``missing="error"``, or an unseen level under
            ``handle_unknown="error"``.
        """
        import pandas as pd

        frame = frame.rename(columns=str)
        absent_columns = [name for name in self.columns if name not in frame.columns]
        if absent_columns:
            raise ValueError(f"{source} lacks the column(s) {absent_columns!r} the model was "
                             f"fitted on")
        n = len(frame)
        X_num = np.empty((n, self.n_dense), dtype=np.float64)
        for index, name in enumerate(self.numeric):
            values = frame[name]
            if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
                numbers = pd.to_numeric(values, errors="coerce")
                text = numbers.isna() & values.notna()
                if text.any():
                    first = values[text].iloc[0]
                    raise ValueError(f"{source}: column {name!r} holds {first!r}, which is not a "
                                     "number (the column was numeric when the model was fitted)")
                values = numbers
            array = values.to_numpy(dtype=np.float64, na_value=np.nan)
            absent = np.isnan(array)
            if absent.any():
                if self.missing != "impute":
                    raise ValueError(f"{source}: column {name!r} has {int(absent.sum())} missing "
                                     "cell(s) and the model was fitted with missing='error'")
                array = np.where(absent, self.impute[index], array)
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{source}: column {name!r} holds infinite values")
            X_num[:, index] = array
        for index, name in enumerate(self.indicators):
            X_num[:, len(self.numeric) + index] = frame[name].isna().to_numpy()
        from noloop.linear_model import _categorical_kernels as kernels

        columns = [self._rows_and_table(frame[name], name, levels, missing_level,
                                        int(self.offsets[j]), handle_unknown, source)
                   for j, (name, levels, missing_level) in enumerate(self.categorical)]
        return X_num, kernels.gather_codes(columns, n)

    def _rows_and_table(self, values: Any, name: str, levels: list[str],
                        missing_level: str | None, offset: int, handle_unknown: str,
                        source: str) -> tuple[np.ndarray, np.ndarray]:
        """One column's codes as (rows, table): row i's global code is ``table[rows[i] + 1]``.

        ``table`` is short (one entry per category or level, and one for "none");
        :func:`~._categorical_kernels.gather_codes` looks every column up in one pass.
        """
        import pandas as pd

        index = pd.Index(levels)
        if isinstance(values.dtype, pd.CategoricalDtype):
            # map the (few) categories, then look rows up by the column's own codes: no string
            # hashing per row; a missing cell's own code −1 reads the table's first entry
            own = values.cat.codes.to_numpy()
            lookup = index.get_indexer(values.cat.categories.astype(str))
            absent = own < 0
            n_absent = int(np.count_nonzero(absent))
            if (lookup.size == 0 or lookup.min() >= 0) and (
                    n_absent == 0 or (self.missing == "impute" and missing_level is not None)):
                # every category is a level and every missing cell has one
                return own, np.concatenate([[len(levels)], lookup]).astype(np.int32) + offset
            local = np.append(lookup, -1)[own]
        else:
            absent = values.isna().to_numpy()
            local = index.get_indexer(values.astype(str).to_numpy())
            local[absent] = -1
        if absent.any():
            if self.missing != "impute":
                raise ValueError(f"{source}: column {name!r} has {int(absent.sum())} missing "
                                 "cell(s) and the model was fitted with missing='error'")
            if missing_level is not None:
                local[absent] = len(levels)
        unknown = local < 0
        if unknown.any():
            seen = sorted({str(v) for v in values[unknown & ~absent].tolist()})[:5]
            n_empty = int((unknown & absent).sum())
            what = ", ".join(map(repr, seen)) + (f"{', ' if seen else ''}{n_empty} empty cell(s)"
                                                 if n_empty else "")
            if handle_unknown == "error":
                raise ValueError(f"{source}: column {name!r} holds level(s) not seen in fit: "
                                 f"{what}; known levels are {levels!r}")
            if handle_unknown == "ignore":  # "ignore quietly": cross-validation's held-out rows
                warnings.warn(f"column {name!r}: {int(unknown.sum())} row(s) hold level(s) not seen "
                              f"in fit ({what}); they contribute nothing to the logits",
                              UserWarning, stacklevel=4)
        # local: −1 (no coefficient) or a level, the missing level last
        table = np.concatenate([[-1], offset + np.arange(len(levels) + 1)]).astype(np.int32)
        return local, table

    # ------------------------------------------------------------ as data

    def to_metadata(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-ready description, tensors) for a model file; :meth:`from_metadata` reads them back."""
        description = {
            "columns": list(self.columns), "numeric": list(self.numeric),
            "indicators": list(self.indicators),
            "categorical": [[name, list(levels), missing_level]
                            for name, levels, missing_level in self.categorical],
            "missing": self.missing, "missing_counts": dict(self.missing_counts),
        }
        return description, {"impute": np.ascontiguousarray(self.impute, dtype=np.float64)}

    @classmethod
    def from_metadata(cls, description: Any, tensors: dict[str, np.ndarray]) -> "TableEncoding":
        """The encoding :meth:`to_metadata` described; ValueError naming the first bad field."""
        def strings(value: Any, what: str) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"the encoding's `{what}` must be a list of strings")
            return value

        if not isinstance(description, dict):
            raise ValueError("the encoding must be a JSON object")
        columns = strings(description.get("columns"), "columns")
        numeric = strings(description.get("numeric"), "numeric")
        indicators = strings(description.get("indicators"), "indicators")
        raw = description.get("categorical")
        if not isinstance(raw, list):
            raise ValueError("the encoding's `categorical` must be a list")
        categorical = []
        for entry in raw:
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                    and (entry[2] is None or isinstance(entry[2], str))):
                raise ValueError("each entry of the encoding's `categorical` must be "
                                 "[name, levels, missing level or null]")
            categorical.append((entry[0], strings(entry[1], "categorical levels"), entry[2]))
        missing = description.get("missing")
        if missing not in ("error", "impute"):
            raise ValueError(f"the encoding's `missing` must be 'error' or 'impute'; got {missing!r}")
        counts = description.get("missing_counts", {})
        if not isinstance(counts, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            raise ValueError("the encoding's `missing_counts` must map columns to integers")
        impute = tensors.get("impute")
        if not isinstance(impute, np.ndarray) or impute.shape != (len(numeric),) or \
                impute.dtype != np.float64 or not np.all(np.isfinite(impute)):
            raise ValueError(f"the encoding's `impute` tensor must be {len(numeric)} finite "
                             "float64 values, one per numeric column")
        named = set(numeric) | {entry[0] for entry in categorical}
        if named != set(columns) or len(numeric) + len(categorical) != len(columns) or \
                not set(indicators) <= set(numeric):
            raise ValueError("the encoding's columns do not match its numeric and categorical ones")
        return cls(columns=columns, numeric=numeric, impute=impute.copy(), indicators=indicators,
                   categorical=categorical, missing=missing, missing_counts=dict(counts))


def fold_table_standardization(model: Any, mean: dict[str, float], scale: dict[str, float]) -> Any:
    """Rewrite a model fitted on a table whose numeric columns were (x − mean) / scale, in place.

    w·(x − μ)/σ + b = (w/σ)·x + (b − (w/σ)·μ) for each standardized numeric
    column; a missing cell's imputed value moves the same way (μ + σ·v), so
    predictions on the raw table equal those of the standardized fit.
    """
    encoding: TableEncoding = model.encoding_
    coef = np.array(model.coef_, dtype=np.float64)
    intercept = np.array(model.intercept_, dtype=np.float64)
    impute = encoding.impute.copy()
    for index, name in enumerate(encoding.numeric):
        if name not in mean:
            continue
        coef[:, index] /= scale[name]
        intercept -= coef[:, index] * mean[name]
        impute[index] = mean[name] + scale[name] * impute[index]
    model.coef_, model.intercept_ = coef, intercept
    model.encoding_ = replace(encoding, impute=impute)
    return model


# ---------------------------------------------------------------- the data term


@dataclass(frozen=True)
class CategoricalData:
    """The averaged logistic loss over [X_num | one-hot(codes)], never formed; implements ``DataTerm``.

    Parameters
    ----------
    X_num : float64 array of shape (n_samples, d)
    codes : int32 array of shape (n_samples, J)
        Global feature indices (d ≤ index < n_features) or −1.
    Y : array of shape (n_samples, n_outputs)
    normalized_weight : array of shape (n_samples,)
    n_features : int
    fit_intercept : bool
    """

    X_num: np.ndarray
    codes: np.ndarray
    Y: np.ndarray
    normalized_weight: np.ndarray
    n_features: int
    fit_intercept: bool

    @cached_property
    def layout(self) -> Layout:
        return Layout(n_features=self.n_features, n_outputs=int(self.Y.shape[1]),
                      fit_intercept=self.fit_intercept)

    @cached_property
    def xp(self) -> Any:
        return namespace(self.X_num)

    @property
    def device(self) -> Any:
        return "cpu"

    @property
    def parameter_dtype(self) -> Any:
        return np.float64

    @cached_property
    def _labels(self) -> np.ndarray:
        if self.layout.multinomial:
            return np.ascontiguousarray(np.argmax(self.Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(self.Y[:, 0], dtype=np.float64)

    def _split(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        W, b = self.layout.split(coef)
        return np.ascontiguousarray(W), (b if self.fit_intercept else np.zeros(W.shape[0]))

    def logits(self, coef: np.ndarray) -> np.ndarray:
        """Z = X̃ Wᵀ + b, of shape (n_samples, n_outputs)."""
        from noloop.linear_model import _categorical_kernels as kernels

        W, b = self._split(coef)
        return kernels.logits(self.X_num, self.codes, W, b)

    def loss_gradient(self, coef: Any) -> tuple[Any, Any]:
        """(1 / S) Σᵢ sᵢ lossᵢ and its gradient, shaped like ``coef``, in one pass."""
        from noloop.linear_model import _categorical_kernels as kernels

        W, b = self._split(coef)
        if self.layout.multinomial:
            value, grad = kernels.multinomial_loss_gradient(
                self.X_num, self.codes, self._labels, self.normalized_weight, W, b)
        else:
            value, grad = kernels.binary_loss_gradient(
                self.X_num, self.codes, self._labels, self.normalized_weight, W[0], float(b[0]))
            grad = grad[None, :]
        if not self.fit_intercept:
            grad = grad[:, :-1]
        return np.asarray(value), np.ascontiguousarray(grad, dtype=coef.dtype)

    def hessian(self, coef: Any) -> Any:
        """The unpenalized Hessian (n_outputs · n_dof, n_outputs · n_dof), blocks X̃ᵀ diag(h) X̃."""
        from noloop.linear_model import _categorical_kernels as kernels

        n_outputs, n_dof = self.layout.shape
        if not self.layout.multinomial:  # logits, curvature and Hessian in one pass
            W, b = self._split(coef)
            H = kernels.binary_hessian(self.X_num, self.codes, self.normalized_weight, W[0],
                                       float(b[0]))
            return np.ascontiguousarray(H[:n_dof, :n_dof])
        P = probabilities(self.logits(coef), np)
        H = np.zeros((n_outputs * n_dof, n_outputs * n_dof))
        for k in range(n_outputs):
            for j in range(k, n_outputs):
                h = curvature(P, k, j) * self.normalized_weight
                block = kernels.weighted_gram(self.X_num, self.codes, h, self.n_features)
                block = block[:n_dof, :n_dof]  # without an intercept: drop its row and column
                H[k * n_dof:(k + 1) * n_dof, j * n_dof:(j + 1) * n_dof] = block
                if j != k:
                    H[j * n_dof:(j + 1) * n_dof, k * n_dof:(k + 1) * n_dof] = block.T
        return H

    def gram_matvec(self, v: Any) -> Any:
        """X̃ᵀ diag(s / S) X̃ v for v of shape (n_features + fit_intercept,)."""
        from noloop.linear_model import _categorical_kernels as kernels

        p = self.n_features
        b = np.array([v[p] if self.fit_intercept else 0.0])
        u = kernels.logits(self.X_num, self.codes, np.asarray(v[:p])[None, :], b)[:, 0]
        u = u * self.normalized_weight
        product = kernels.rmatvec(self.X_num, self.codes, u, p)
        if self.fit_intercept:
            product = np.concatenate([product, [u.sum()]])
        return product


# ---------------------------------------------------------------- the estimator's backend


def _as_frame(X: Any) -> Any:
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D table X of shape (n_samples, n_features); got "
                         f"{array.ndim}-D shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def uses_table(X: Any, *, missing: str = "error", encoding: Any = None) -> bool:
    """Whether X goes through the table encoding.

    At predict time (``encoding`` given): always. At fit time: pandas
    DataFrames with a categorical/text/bool column, and any NumPy or pandas
    input under ``missing="impute"``.
    """
    import pandas as pd

    if encoding is not None:
        return True
    if isinstance(X, pd.DataFrame):
        return missing == "impute" or any(_is_categorical_dtype(dtype) for dtype in X.dtypes)
    return missing == "impute" and isinstance(X, np.ndarray)


class _Table:
    """The estimator on tables (pandas DataFrames with categorical columns, or missing cells)."""

    @staticmethod
    def problem(estimator: Any, X: Any, y: Any, sample_weight: Any) -> Problem:
        frame = _as_frame(X)
        if len(frame) < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={frame.shape}) while a "
                             "minimum of 1 is required.")
        encoding = TableEncoding.learn(frame, missing=estimator.missing)
        X_num, codes = encoding.encode(frame, handle_unknown="error")
        return _table_problem(estimator, encoding, X_num, codes, y, sample_weight)

    @staticmethod
    def decision_function(estimator: Any, X: Any) -> Any:
        from noloop.linear_model import _categorical_kernels as kernels

        encoding: TableEncoding = estimator.encoding_
        handle_unknown = estimator.handle_unknown
        if handle_unknown == "ignore" and getattr(estimator, "_quiet", False):
            handle_unknown = "ignore quietly"
        X_num, codes = encoding.encode(_as_frame(X), handle_unknown=handle_unknown)
        with np.errstate(over="ignore", invalid="ignore"):
            scores = kernels.logits(X_num, codes, np.asarray(estimator.coef_, dtype=np.float64),
                                    np.asarray(estimator.intercept_, dtype=np.float64))
        if not np.all(np.isfinite(scores)):
            raise ValueError("the logits overflow: the model's weights are too large for this X")
        return scores[:, 0] if scores.shape[1] == 1 else scores

    @staticmethod
    def labels(classes: np.ndarray, indices: Any) -> Any:
        return classes[np.asarray(indices)]

    @staticmethod
    def accuracy(predicted: Any, y: Any, sample_weight: Any) -> float:
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, predicted, sample_weight=sample_weight))


TABLE = _Table()


def _table_problem(estimator: Any, encoding: TableEncoding, X_num: np.ndarray, codes: np.ndarray,
                   y: Any, sample_weight: Any) -> Problem:
    """The fit's problem over an encoded table: labels, weights, penalty and the data term."""
    from sklearn.utils.validation import _check_sample_weight, column_or_1d

    from noloop.linear_model._in_memory import class_indices

    y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
    classes, indices = class_indices(y)
    if indices.shape[0] != X_num.shape[0]:
        raise ValueError(f"X and y must have the same number of samples; got {X_num.shape[0]} "
                         f"rows in X and {indices.shape[0]} labels in y")
    require_two_classes(classes)
    weight = _check_sample_weight(sample_weight, X_num, dtype=np.float64)
    if estimator.class_weight is not None:
        counts = np.bincount(indices, weights=weight, minlength=classes.size)
        weight = weight * class_weight_vector(estimator.class_weight, classes, counts)[indices]
    weight_sum = float(weight.sum())
    penalty, l1 = penalties(estimator, weight_sum)
    n_outputs = 1 if classes.size == 2 else int(classes.size)
    data = CategoricalData(X_num=X_num, codes=codes,
                           Y=encode_labels(indices, n_outputs, np.float64, namespace(X_num)),
                           normalized_weight=weight / weight_sum, n_features=encoding.n_features,
                           fit_intercept=estimator.fit_intercept)
    return Problem(objective=LogisticObjective(data, penalty, l1), classes=classes,
                   feature_names=np.asarray(encoding.feature_names_out, dtype=object),
                   coef_dtype=np.float64, weight_sum=weight_sum, encoding=encoding)


def _encoded_partition(part: Any, encoding: TableEncoding) -> tuple[np.ndarray, np.ndarray]:
    return encoding.encode(part, handle_unknown="error")


def _partition_scores(part: Any, encoding: TableEncoding, coef: np.ndarray, intercept: np.ndarray,
                      handle_unknown: str) -> Any:
    import pandas as pd

    from noloop.linear_model import _categorical_kernels as kernels

    X_num, codes = encoding.encode(part, handle_unknown=handle_unknown)
    scores = kernels.logits(X_num, codes, coef, intercept)
    return pd.DataFrame(scores, index=part.index, columns=[f"z{k}" for k in range(coef.shape[0])])


def dask_uses_table(X: Any, *, missing: str = "error", encoding: Any = None) -> bool:
    """:func:`uses_table` for Dask input: dask DataFrames with categorical columns or impute."""
    import dask.dataframe as dd

    if encoding is not None:
        return True
    return isinstance(X, dd.DataFrame) and (
        missing == "impute" or any(_is_categorical_dtype(dtype) for dtype in X.dtypes))


class _DaskTable:
    """A dask DataFrame with categorical columns or missing cells.

    The levels, means and missing counts are learned in one pass on the
    cluster; every partition is encoded there with the same encoding (so the
    same codes), and the encoded partitions — X_num and int32 codes, a few
    bytes per cell — are gathered for the fit, which then equals the in-memory
    one. Predictions stay lazy, one task per partition.
    """

    @staticmethod
    def problem(estimator: Any, X: Any, y: Any, sample_weight: Any) -> Problem:
        import dask

        from noloop.linear_model._dask import is_dask

        encoding = TableEncoding.learn_dask(X, missing=estimator.missing)
        parts = [dask.delayed(_encoded_partition)(part, encoding) for part in X.to_delayed()]
        # everything as delayed pieces, computed together; each side is concatenated in row
        # order, so they line up whatever partitions each was planned into
        vectors = [vector.to_delayed() if is_dask(vector) else vector
                   for vector in (y, sample_weight)]
        parts, y_parts, weight_parts = dask.compute(parts, *vectors)

        def joined(pieces: Any) -> Any:
            if pieces is None or not isinstance(pieces, (list, tuple)):
                return pieces
            return np.concatenate([np.asarray(piece).reshape(-1) for piece in pieces])

        X_num = np.ascontiguousarray(np.concatenate([part[0] for part in parts]))
        codes = np.ascontiguousarray(np.concatenate([part[1] for part in parts]))
        return _table_problem(estimator, encoding, X_num, codes, joined(y_parts),
                              joined(weight_parts))

    @staticmethod
    def decision_function(estimator: Any, X: Any) -> Any:
        import pandas as pd

        coef = np.asarray(estimator.coef_, dtype=np.float64)
        intercept = np.asarray(estimator.intercept_, dtype=np.float64)
        meta = pd.DataFrame({f"z{k}": np.zeros(0) for k in range(coef.shape[0])})
        # chunk sizes counted on the array itself, as _dask._as_array does (a Parquet read may
        # be planned into another number of partitions for a count on the DataFrame)
        scores = X.map_partitions(_partition_scores, estimator.encoding_, coef, intercept,
                                  estimator.handle_unknown, meta=meta).optimize().to_dask_array()
        scores.compute_chunk_sizes()
        return scores[:, 0] if coef.shape[0] == 1 else scores

    @staticmethod
    def labels(classes: np.ndarray, indices: Any) -> Any:
        from noloop.linear_model._dask import BACKEND

        return BACKEND.labels(classes, indices)

    @staticmethod
    def accuracy(predicted: Any, y: Any, sample_weight: Any) -> float:
        from noloop.linear_model._dask import BACKEND

        return BACKEND.accuracy(predicted, y, sample_weight)


DASK_TABLE = _DaskTable()
