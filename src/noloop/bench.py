"""Measure the lesson: the seed's examples timed with loops and vectorized, side by side.

Every ratio is measured in one process, one case after the other, with the
machine named (:func:`machine_info`), because these numbers mean nothing
without the hardware and libraries that produced them.
"""

from __future__ import annotations

import os
import platform
import timeit
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from noloop import loops, vectorized
from noloop._xp import to_numpy

__all__ = ["SeedRow", "seed_cases", "time_seed_table", "machine_info", "format_seed_table"]


@dataclass(frozen=True)
class SeedCase:
    """One example of the seed: how to make its inputs and how to compute it with a twin."""

    name: str
    equation: str
    size: str
    make_inputs: Callable[[np.random.Generator, bool], tuple[Any, ...]]
    compute: Callable[[Any, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class SeedRow:
    """One measured row: best seconds per call for each twin, their ratio and agreement."""

    name: str
    equation: str
    size: str
    loop_seconds: float
    vectorized_seconds: float
    speedup: float
    agree: bool
    max_abs_difference: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gradient(impl: Any, args: tuple[Any, ...]) -> Any:
    w, b, X, Y = args
    dw, db = impl.backward(X, impl.forward(w, b, X), Y)
    return np.append(to_numpy(dw).ravel(), db)


def _gradient_inputs(rng: np.random.Generator, quick: bool) -> tuple[Any, ...]:
    n_x, m = (20, 200) if quick else (100, 10_000)
    X = rng.standard_normal((n_x, m))
    w = rng.standard_normal((n_x, 1)) / np.sqrt(n_x)
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return w, 0.1, X, Y


def seed_cases() -> list[SeedCase]:
    """The seed's examples at the seed's sizes (``quick`` shrinks them for tests)."""
    return [
        SeedCase(
            "dot", "z = wᵀx", "n_x = 1,000,000",
            lambda rng, quick: tuple(rng.standard_normal((2, 1_000 if quick else 1_000_000))),
            lambda impl, args: impl.dot(*args),
        ),
        SeedCase(
            "matvec", "u = Av", "A: 1000 × 1000",
            lambda rng, quick: (
                rng.standard_normal((30, 30) if quick else (1000, 1000)),
                rng.standard_normal((30 if quick else 1000, 1)),
            ),
            lambda impl, args: impl.matvec(*args),
        ),
        SeedCase(
            "exp", "u = e^v", "n = 1,000,000",
            lambda rng, quick: (rng.standard_normal(1_000 if quick else 1_000_000),),
            lambda impl, args: impl.exp(*args),
        ),
        SeedCase(
            "gradient", "dZ = A − Y, dw = X dZᵀ/m, db = ΣdZ/m", "n_x = 100, m = 10,000",
            _gradient_inputs,
            _gradient,
        ),
    ]


def _best_seconds(call: Callable[[], Any], repeat: int, min_seconds: float) -> float:
    timer = timeit.Timer(call)
    number = 1
    if min_seconds > 0:
        number, _ = timer.autorange() if min_seconds >= 0.2 else (1, 0.0)
    return min(timer.repeat(repeat=repeat, number=number)) / number


def time_seed_table(*, quick: bool = False, seed: int = 0) -> list[SeedRow]:
    """Time every seed example with :mod:`noloop.loops` and :mod:`noloop.vectorized`.

    Parameters
    ----------
    quick : bool, default=False
        Shrink every size so the whole table takes well under a second.
    seed : int, default=0
        Seed of the random inputs.

    Returns
    -------
    rows : list of SeedRow
        One row per example, in the seed's order.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for case in seed_cases():
        args = case.make_inputs(rng, quick)
        loop_result = to_numpy(case.compute(loops, args))
        vector_result = to_numpy(case.compute(vectorized, args))
        difference = float(np.max(np.abs(np.asarray(loop_result) - np.asarray(vector_result))))
        scale = float(np.max(np.abs(np.asarray(loop_result)))) or 1.0
        loop_seconds = _best_seconds(
            lambda: case.compute(loops, args), repeat=1 if quick else 3, min_seconds=0
        )
        vector_seconds = _best_seconds(
            lambda: case.compute(vectorized, args), repeat=3 if quick else 7, min_seconds=0.2
        )
        rows.append(
            SeedRow(
                name=case.name,
                equation=case.equation,
                size=case.size if not quick else "quick",
                loop_seconds=loop_seconds,
                vectorized_seconds=vector_seconds,
                speedup=loop_seconds / vector_seconds,
                agree=difference <= 1e-9 * scale,
                max_abs_difference=difference,
            )
        )
    return rows


def _format_seconds(seconds: float) -> str:
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_seed_table(rows: list[SeedRow]) -> str:
    """The seed table as aligned text, one line per example."""
    header = ("example", "computes", "size", "loops", "vectorized", "speed-up", "same answer")
    body = [
        (
            row.name,
            row.equation,
            row.size,
            _format_seconds(row.loop_seconds),
            _format_seconds(row.vectorized_seconds),
            f"{row.speedup:,.0f}×",
            "yes" if row.agree else f"NO (differ by {row.max_abs_difference:.2g})",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """The hardware and library versions a measurement ran on."""
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    blas = [
        f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('num_threads')} threads)"
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "blas": ", ".join(blas) or "unknown",
    }


def format_machine(info: dict[str, Any]) -> str:
    """``machine_info()`` as one line."""
    return (
        f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, numpy {info['numpy']}, "
        f"scipy {info['scipy']}, scikit-learn {info['scikit-learn']}; BLAS: {info['blas']}"
    )
