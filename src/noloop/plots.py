"""Pictures of what noloop measured: cost curves and loop-vs-vectorized speed-ups (PNG)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["cost_curves_png", "cv_path_png", "plot_cost_curves", "plot_speedups"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none assumed
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def _save(figure: Any, path: str | os.PathLike) -> Path:
    from noloop.persistence import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, _png(figure))
    return path


def plot_cost_curves(
    histories: Mapping[str, Sequence[float]], path: str | os.PathLike, *,
    title: str = "Learning curve", ylabel: str = "cost J (mean cross-entropy)",
) -> Path:
    """One line per run: iteration on x, cost on y, as the course draws its learning curves.

    Parameters
    ----------
    histories : mapping of label to sequence of float
        The cost at each iteration, per run (e.g. per learning rate).
    path : str or path-like
        Where the PNG goes (written atomically).
    """
    from noloop.persistence import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, cost_curves_png(histories, title=title, ylabel=ylabel))
    return path


def cost_curves_png(
    histories: Mapping[str, Sequence[float]], *,
    title: str = "Learning curve", ylabel: str = "cost J (mean cross-entropy)",
) -> bytes:
    """The picture of :func:`plot_cost_curves` as PNG bytes, drawn before anything is written."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for label, costs in histories.items():
        axes.plot(range(len(costs)), list(costs), label=label, linewidth=1.8)
    axes.set_xlabel("iteration")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if len(histories) > 1 or next(iter(histories), ""):
        axes.legend(frameon=False)
    return _png(figure)


def plot_speedups(
    names: Sequence[str], speedups: Sequence[float], path: str | os.PathLike, *,
    title: str = "Explicit loops vs vectorized",
) -> Path:
    """Horizontal bars of loop time / vectorized time on a log scale, each labelled with its ratio."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 0.6 * len(names) + 1.6))
    positions = range(len(names))
    bars = axes.barh(list(positions), list(speedups), color="#3b75af")
    axes.set_xscale("log")
    axes.set_yticks(list(positions), labels=list(names))
    axes.invert_yaxis()
    axes.set_xlabel("speed-up: loop time ÷ vectorized time (log scale)")
    axes.set_title(title)
    axes.axvline(300, color="#c44e52", linestyle="--", linewidth=1, label="the seed's ≈300×")
    axes.legend(loc="lower right", frameon=True, fontsize=9)
    for bar, speedup in zip(bars, speedups):
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {speedup:,.0f}×",
                  va="center", fontsize=9)
    axes.set_xlim(1, max(max(speedups) * 4, 1000))
    axes.grid(True, axis="x", which="both", alpha=0.2)
    return _save(figure, path)


def cv_path_png(
    Cs: Sequence[float], mean_scores: Sequence[float], std_scores: Sequence[float],
    coef_path: Any, chosen_C: float, *, feature_names: Sequence[str] | None = None,
    score_label: str = "accuracy", title: str = "Cross-validation",
) -> bytes:
    """The cross-validated choice of C as PNG bytes: the score curve beside the coefficients' path.

    Parameters
    ----------
    Cs : sequence of float, length n_cs
    mean_scores, std_scores : sequence of float, length n_cs
        The held-out score at each C, mean and standard deviation over the folds.
    coef_path : array of shape (n_cs, n_outputs, n_features)
        Coefficients at each C (e.g. averaged over the folds); one line per
        (output, feature).
    chosen_C : float
        Marked on both panels.
    feature_names : sequence of str, optional
        Legend labels, shown when there are at most 12 lines.
    """
    import numpy as np

    plt = _pyplot()
    Cs = np.asarray(Cs, dtype=float)
    mean, std = np.asarray(mean_scores, dtype=float), np.asarray(std_scores, dtype=float)
    path = np.asarray(coef_path, dtype=float)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(Cs, mean, marker="o", linewidth=1.8, color="#3b75af", label="mean over folds")
    left.fill_between(Cs, mean - std, mean + std, alpha=0.2, color="#3b75af", label="± 1 std")
    left.set_ylabel(f"held-out {score_label}")
    left.set_title("Validation curve")
    n_outputs, n_features = path.shape[1], path.shape[2]
    for k in range(n_outputs):
        for j in range(n_features):
            name = feature_names[j] if feature_names is not None else f"x{j}"
            label = name if n_outputs == 1 else f"class {k}: {name}"
            right.plot(Cs, path[:, k, j], linewidth=1.2, label=label,
                       linestyle=("-", "--", ":", "-.")[k % 4])
    right.set_ylabel("coefficient")
    right.set_title("Regularization path")
    if n_outputs * n_features <= 12:
        right.legend(frameon=False, fontsize=8)
    for axes in (left, right):
        axes.set_xscale("log")
        axes.set_xlabel("C (inverse regularization strength, log scale)")
        axes.axvline(chosen_C, color="#c44e52", linestyle="--", linewidth=1,
                     label=f"chosen C = {chosen_C:.3g}")
        axes.grid(True, alpha=0.3)
    left.legend(frameon=False, fontsize=9)
    figure.suptitle(title)
    return _png(figure)
