"""``noloop demo``: the seed's lesson on this machine, offline, in under a minute.

1. The seed's examples timed with explicit loops and vectorized, side by side.
2. The seed's vectorized gradient descent trained on a real bundled image data
   set (scikit-learn's 8×8 handwritten digits, one digit against the rest), as
   the seed's course did with cat pictures.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from noloop import bench, vectorized

__all__ = [
    "DigitSplit", "load_digit_split", "run_seed_training", "compare_estimators", "run_demo",
]

DEMO_DIGIT = 3
DEMO_LEARNING_RATE = 1.0
DEMO_ITERATIONS = 2000


@dataclass(frozen=True)
class DigitSplit:
    """The digits data set in the seed's layout: X is (n_x, m) with pixels in [0, 1]."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    labels_train: np.ndarray
    labels_test: np.ndarray


def load_digit_split(digit: int = DEMO_DIGIT, test_size: float = 0.25, seed: int = 0) -> DigitSplit:
    """scikit-learn's bundled 8×8 digits, ``digit`` (Y = 1) against the rest, split for testing.

    Returns arrays in the seed's layout: ``X_*`` of shape (64, m), ``Y_*`` of
    shape (1, m); ``labels_*`` keep the original digit (0-9) for multiclass use.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = digits.data / 16.0  # the images hold 0..16 ink levels
    X_train, X_test, labels_train, labels_test = train_test_split(
        pixels, digits.target, test_size=test_size, random_state=seed, stratify=digits.target
    )
    return DigitSplit(
        X_train=X_train.T,
        Y_train=(labels_train == digit).astype(np.float64)[None, :],
        X_test=X_test.T,
        Y_test=(labels_test == digit).astype(np.float64)[None, :],
        labels_train=labels_train,
        labels_test=labels_test,
    )


def _accuracy(w: np.ndarray, b: float, X: np.ndarray, Y: np.ndarray) -> float:
    predictions = vectorized.forward(w, b, X) > 0.5
    return float(np.mean(predictions == (Y == 1)))


def run_seed_training(
    split: DigitSplit, say: Callable[[str], None], *, learning_rate: float = DEMO_LEARNING_RATE,
    num_iterations: int = DEMO_ITERATIONS, every: int = 100,
) -> tuple[np.ndarray, float, list[float]]:
    """Train with :func:`noloop.vectorized.gradient_descent`; report the cost every ``every`` steps."""
    n_x = split.X_train.shape[0]
    w, b, costs = vectorized.gradient_descent(
        np.zeros((n_x, 1)), 0.0, split.X_train, split.Y_train, learning_rate, num_iterations
    )
    for iteration in range(0, num_iterations, every):
        say(f"  cost after iteration {iteration:5d}: {costs[iteration]:.6f}")
    say(f"  cost after iteration {num_iterations:5d}: "
        f"{vectorized.cost(vectorized.forward(w, b, split.X_train), split.Y_train):.6f}")
    return w, b, costs


def compare_estimators(split: DigitSplit) -> list[dict[str, Any]]:
    """Fit noloop's and scikit-learn's LogisticRegression on the binary and ten-class digits."""
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from noloop.linear_model import LogisticRegression

    tasks = {
        f"'{DEMO_DIGIT}' vs rest": (split.Y_train[0], split.Y_test[0]),
        "all ten digits": (split.labels_train, split.labels_test),
    }
    rows = []
    for task, (y_train, y_test) in tasks.items():
        for library, estimator in (
            ("noloop", LogisticRegression(C=1.0, max_iter=1000)),
            ("scikit-learn", SklearnLogisticRegression(C=1.0, max_iter=1000)),
        ):
            # one small fit first, so one-time costs (imports, loading compiled kernels)
            # stay out of the timing
            estimator.fit(split.X_train.T[:200], y_train[:200])
            start = time.perf_counter()
            estimator.fit(split.X_train.T, y_train)
            seconds = time.perf_counter() - start
            rows.append({
                "task": task, "library": library, "fit_seconds": seconds,
                "n_iter": int(estimator.n_iter_[0]),
                "test_accuracy": float(estimator.score(split.X_test.T, y_test)),
            })
    return rows


def format_estimator_table(rows: list[dict[str, Any]]) -> str:
    """The estimator comparison as aligned text."""
    lines = [f"  {'task':<16}{'library':<14}{'iterations':>11}{'fit time':>11}{'test accuracy':>15}"]
    for row in rows:
        lines.append(
            f"  {row['task']:<16}{row['library']:<14}{row['n_iter']:>11d}"
            f"{row['fit_seconds'] * 1e3:>9.1f} ms{row['test_accuracy']:>15.2%}"
        )
    return "\n".join(lines)


def write_demo_plots(
    plots_dir: str | Path, rows: list[bench.SeedRow], split: DigitSplit, costs: list[float],
    num_iterations: int,
) -> list[Path]:
    """The demo's pictures: the learning curve, three learning rates compared, the speed-ups."""
    from noloop.plots import plot_cost_curves, plot_speedups

    folder = Path(plots_dir)
    folder.mkdir(parents=True, exist_ok=True)
    n_x = split.X_train.shape[0]
    by_rate = {}
    for rate in (0.01, 0.1, 1.0):
        _, _, rate_costs = vectorized.gradient_descent(
            np.zeros((n_x, 1)), 0.0, split.X_train, split.Y_train, rate, num_iterations
        )
        by_rate[f"α = {rate:g}"] = rate_costs
    return [
        plot_cost_curves({f"α = {DEMO_LEARNING_RATE:g}": costs}, folder / "cost_curve.png",
                         title=f"Learning curve: digit '{DEMO_DIGIT}' vs rest, vectorized gradient descent"),
        plot_cost_curves(by_rate, folder / "learning_rates.png",
                         title="Learning curves for three learning rates"),
        plot_speedups([f"{row.name}  ({row.size})" for row in rows],
                      [row.speedup for row in rows], folder / "speedups.png",
                      title="The seed's examples: explicit loops vs vectorized, this machine"),
    ]


def run_demo(
    say: Callable[[str], None] = print, *, quick: bool = False, plots_dir: str | Path | None = None,
) -> dict[str, float]:
    """Run the whole demo, printing through ``say``; return the headline numbers.

    With ``plots_dir`` the learning curves and the speed-up chart are written there as PNGs.
    """
    say("noloop demo: the seed's lesson, measured on this machine")
    say(f"machine: {bench.format_machine(bench.machine_info())}")
    say("")
    say("1. The seed's examples, explicit Python loops vs vectorized (best of several runs)")
    rows = bench.time_seed_table(quick=quick)
    say(bench.format_seed_table(rows))
    say("")

    split = load_digit_split()
    say(f"2. The seed's vectorized gradient descent on real images: 8×8 handwritten digits, "
        f"'{DEMO_DIGIT}' against the rest")
    say(f"   X_train is {split.X_train.shape} (n_x, m), X_test is {split.X_test.shape}; "
        f"learning rate α = {DEMO_LEARNING_RATE}, {DEMO_ITERATIONS} iterations")
    w, b, costs = run_seed_training(split, say, num_iterations=200 if quick else DEMO_ITERATIONS)
    train_accuracy = _accuracy(w, b, split.X_train, split.Y_train)
    test_accuracy = _accuracy(w, b, split.X_test, split.Y_test)
    majority = 1.0 - float(np.mean(split.Y_test))
    say(f"  train accuracy: {train_accuracy:.2%}")
    say(f"  test accuracy:  {test_accuracy:.2%}  (always answering 'not {DEMO_DIGIT}' scores "
        f"{majority:.2%})")
    say("")
    say("3. The same digits through noloop.LogisticRegression (lbfgs, C = 1), next to scikit-learn's")
    estimator_rows = compare_estimators(split)
    say(format_estimator_table(estimator_rows))
    if plots_dir is not None:
        say("")
        paths = write_demo_plots(plots_dir, rows, split, costs, len(costs))
        say(f"4. Pictures written to {Path(plots_dir)}/: " + ", ".join(path.name for path in paths))
    return {
        **{f"{row['task']}_{row['library']}_test_accuracy": row["test_accuracy"]
           for row in estimator_rows},
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "final_cost": costs[-1],
        **{f"speedup_{row.name}": row.speedup for row in rows},
    }
