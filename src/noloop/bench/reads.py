"""One loss-and-gradient evaluation, measured in reads of X: how close to streaming X once."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from noloop.bench._format import Column, format_table
from noloop.bench._timing import best_seconds, one_read_seconds
from noloop.bench.race import _objective

__all__ = ["ReadsRow", "loss_gradient_reads", "format_reads"]


@dataclass(frozen=True)
class ReadsRow:
    """Seconds of one loss-and-gradient evaluation, in reads of X (:func:`one_read_seconds`)."""

    path: str
    dtype: str
    seconds: float
    reads_of_X: float
    read_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _evaluation_paths(X: np.ndarray, y: np.ndarray) -> list[tuple[str, Any]]:
    """(path, objective) for each way ``loss_gradient`` can run on (X, y).

    The fused one-pass kernel where it takes the data, then the plain
    vectorized (textbook, two-pass) form.
    """
    fused = _objective(X, y)
    textbook = ("plain vectorized (two passes)", _objective(X, y, kernels=False))
    return [("fused one-pass kernel", fused), textbook] if fused.data.uses_kernels else [textbook]


def loss_gradient_reads(X: np.ndarray, y: np.ndarray, *, quick: bool = False) -> list[ReadsRow]:
    """Time one ``loss_gradient`` on (X, y), fused and plain vectorized, float64 and float32.

    One "read of X" is the best time of one pass over the same array's bytes on
    every thread (:func:`~noloop.bench._timing.one_read_seconds`, bound by
    memory bandwidth); a ratio of 1.0 means the evaluation costs no more than
    streaming X once.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
        0/1 labels.
    quick : bool, default=False
        Fewer repeats, for tests.

    Returns
    -------
    rows : list of ReadsRow
        Per dtype, the fused path (where the kernel takes X) then the plain one.
    """
    rows = []
    rng = np.random.default_rng(0)
    repeat = 3 if quick else 7
    for dtype in (np.float64, np.float32):
        data = np.ascontiguousarray(X, dtype=dtype)
        coef = (rng.standard_normal((1, X.shape[1] + 1)) * 0.01).astype(dtype)
        read = one_read_seconds(data, repeat=repeat)
        for path, objective in _evaluation_paths(data, y):
            evaluate = functools.partial(objective.loss_gradient, coef)
            evaluate()  # compile / warm up
            seconds = best_seconds(evaluate, repeat=repeat, calibrate=False)
            rows.append(ReadsRow(path, np.dtype(dtype).name, seconds, seconds / read, read))
    return rows


def format_reads(rows: list[ReadsRow]) -> str:
    """The reads table as aligned text."""
    # the minimum widths keep the layout of earlier runs' tables (docs/bench.txt)
    columns = [
        Column("loss_gradient path", lambda row: row.path, min_width=30),
        Column("dtype", lambda row: row.dtype, min_width=7),
        Column("ms", lambda row: row.seconds * 1e3, "{:.1f}", ">", min_width=8),
        Column("reads of X", lambda row: row.reads_of_X, "{:.2f}", ">"),
        Column("one read ms", lambda row: row.read_seconds * 1e3, "{:.1f}", ">"),
    ]
    return format_table(columns, rows)
