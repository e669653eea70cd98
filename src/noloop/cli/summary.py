"""``noloop summary``: the coefficient table a model file keeps (``noloop train --summary``).

The table is computed from the stored coefficients and covariance, without
the data: estimates, standard errors, z, p-values, confidence intervals and
significance marks, with the covariance type and the number of rows named.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from noloop.cli._common import UsageError, option_type

__all__ = ["add_parser", "run", "model_table", "format_summary", "summary_json", "penalized"]

# the significance marks of R's and statsmodels' summaries, tightest first
MARKS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."))

_alpha = option_type(float, lambda value: 0.0 < value < 1.0, "a fraction between 0 and 1")


def add_parser(commands: Any) -> None:
    """Add ``summary`` and its options to the subcommands of the ``noloop`` parser."""
    summary = commands.add_parser(
        "summary", help="print a model's coefficient table (trained with --summary)")
    summary.add_argument("model", help="a model file written by noloop train --summary")
    summary.add_argument("--alpha", type=_alpha, default=0.05,
                         help="the intervals cover 1 - alpha (default 0.05: 95%%)")
    summary.add_argument("--json", action="store_true", help="print the table as JSON")
    summary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the table of ``args.model`` (aligned text, or JSON with ``--json``)."""
    import json

    from noloop.persistence import load_model, read_model_covariance

    model = load_model(args.model)
    stored = read_model_covariance(args.model)
    if stored is None:
        raise UsageError(f"{args.model} keeps no covariance: train it with "
                         "`noloop train ... --summary` to print its coefficient table")
    table = model_table(model, stored["matrix"], alpha=args.alpha)
    if args.json:
        print(json.dumps(summary_json(table, cov_type=stored["cov_type"],
                                      n_samples=stored["n_samples"], alpha=args.alpha),
                         indent=2))
        return 0
    print(format_summary(table, cov_type=stored["cov_type"], n_samples=stored["n_samples"],
                         alpha=args.alpha, penalized=penalized(model), title=str(args.model)))
    return 0


def penalized(model: Any) -> bool:
    """Whether ``model`` was fitted with a penalty (its p-values are then not classical)."""
    return model.penalty is not None and math.isfinite(float(model.C))


def model_table(model: Any, cov: Any, *, alpha: float = 0.05) -> Any:
    """The coefficient table of a fitted model from its covariance, without data.

    Parameters
    ----------
    model : LogisticRegression
        Fitted.
    cov : ndarray of shape (n_params, n_params)
        As ``model.covariance_matrix`` returns it (possibly folded back from
        standardized columns).
    alpha : float, default=0.05

    Returns
    -------
    table : pandas.DataFrame of shape (n_params, 6)
        As ``LogisticRegression.coef_table``.
    """
    import numpy as np

    from noloop._xp import to_numpy
    from noloop.linear_model._inference import coef_table, parameter_labels, reference_coef
    from noloop.linear_model._objective import Layout

    coef = np.asarray(to_numpy(model.coef_), dtype=np.float64)
    layout = Layout(n_features=int(coef.shape[1]), n_outputs=int(coef.shape[0]),
                    fit_intercept=bool(model.fit_intercept))
    if layout.fit_intercept:
        coef = np.concatenate(
            [coef, np.asarray(to_numpy(model.intercept_), dtype=np.float64)[:, None]], axis=1)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(layout.n_features)]
    labels = parameter_labels(names, model.classes_, layout)
    return coef_table(reference_coef(coef, layout), np.asarray(cov, dtype=np.float64), labels,
                      alpha)


def _mark(p_value: float) -> str:
    return next((mark for bound, mark in MARKS if p_value < bound), "")


def _label(label: Any) -> str:
    return f"{label[0]}: {label[1]}" if isinstance(label, tuple) else str(label)


def format_summary(table: Any, *, cov_type: str, n_samples: int, alpha: float = 0.05,
                   penalized: bool = False, title: str = "") -> str:
    """The table as aligned text: one row per coefficient, with significance marks.

    Parameters
    ----------
    table : pandas.DataFrame
        From ``coef_table`` or :func:`model_table`.
    cov_type : str
    n_samples : int
        The rows the covariance was computed on.
    alpha : float, default=0.05
    penalized : bool, default=False
        Adds the note that penalized p-values are not classical.
    title : str, default=""
        Named in the first line (the model file, say).
    """
    header = ["", "coef", "std err", "z", "P>|z|", f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]", ""]
    rows = [[_label(label), f"{row.coef:.4f}", f"{row.std_err:.4f}", f"{row.z:.3f}",
             f"{row.p_value:.4f}" if row.p_value >= 1e-4 else f"{row.p_value:.1e}",
             f"{row.ci_lower:.4f}", f"{row.ci_upper:.4f}", _mark(row.p_value)]
            for label, row in zip(table.index, table.itertuples())]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:-1], widths[1:-1])]
        return "  ".join([first, *rest, cells[-1]]).rstrip()

    intro = (f"{title + ': ' if title else ''}coefficient table, covariance {cov_type}, "
             f"n = {n_samples:,}")
    rule = "-" * len(line(header))
    notes = ["significance: *** p < 0.001, ** p < 0.01, * p < 0.05, . p < 0.1"]
    if penalized:
        notes.append("note: a penalized fit; its standard errors come from the penalized "
                     "Hessian and its p-values are not classical (train with --C inf)")
    return "\n".join([intro, rule, line(header), rule, *map(line, rows), rule, *notes])


def summary_json(table: Any, *, cov_type: str, n_samples: int, alpha: float) -> dict[str, Any]:
    """The table as a JSON-ready dict: the covariance type, n, alpha and one entry per coefficient."""
    coefficients = []
    for label, row in zip(table.index, table.itertuples()):
        entry: dict[str, Any] = ({"class": label[0], "feature": label[1]}
                                 if isinstance(label, tuple) else {"feature": str(label)})
        entry.update({column: float(getattr(row, column)) for column in table.columns})
        coefficients.append(entry)
    return {"cov_type": cov_type, "n_samples": int(n_samples), "alpha": alpha,
            "coefficients": coefficients}
