"""The seed's table: each example of the lesson timed with loops and vectorized, side by side.

"Seed" here is the lesson (``seed/vectorization.txt``); the random inputs'
seed is called ``random_state``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from noloop import loops, vectorized
from noloop._xp import to_numpy
from noloop.bench._format import Column, format_seconds, format_table
from noloop.bench._timing import best_seconds

__all__ = [
    "SeedCase", "SeedRow", "seed_cases", "Backend", "available_backends", "time_seed_table",
    "format_seed_table",
]


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
    """One measured row: best seconds per call for each twin, their ratio and agreement.

    ``backend_seconds`` holds the vectorized twin's time on other array
    libraries (``--backends``), keyed by library and device.
    """

    name: str
    equation: str
    size: str
    loop_seconds: float
    vectorized_seconds: float
    speedup: float
    agree: bool
    max_abs_difference: float
    backend_seconds: dict[str, float] = field(default_factory=dict)

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


@dataclass(frozen=True)
class Backend:
    """An array library (and device) the vectorized twin can run on."""

    name: str
    convert: Callable[[np.ndarray], Any]
    synchronize: Callable[[], None]


def available_backends() -> list[Backend]:
    """NumPy, plus PyTorch (CPU, and CUDA where present) and CuPy where installed and usable."""
    backends = [Backend("numpy", lambda a: a, lambda: None)]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        backends.append(Backend("torch-cpu", torch.from_numpy, lambda: None))
        if torch.cuda.is_available():
            backends.append(Backend("torch-cuda", lambda a: torch.from_numpy(a).to("cuda"),
                                    torch.cuda.synchronize))
    try:
        import cupy

        cupy.zeros(1)
        backends.append(Backend("cupy", cupy.asarray,
                                lambda: cupy.cuda.Device().synchronize()))
    except Exception:  # not installed, or no CUDA driver for it
        pass
    return backends


def _on_backend(case: SeedCase, args: tuple[Any, ...], backend: Backend) -> Callable[[], Any]:
    """The vectorized twin of ``case`` on ``backend``'s copies of ``args``, waiting for the device."""
    converted = tuple(backend.convert(a) if isinstance(a, np.ndarray) else a for a in args)

    def run() -> Any:
        result = case.compute(vectorized, converted)
        backend.synchronize()  # a GPU returns before it is done: time the work, not the launch
        return result

    return run


def _time_case(case: SeedCase, args: tuple[Any, ...], *, quick: bool,
               backends: list[Backend]) -> SeedRow:
    """One row: both twins on ``args``, timed and compared, plus the vectorized twin per backend."""
    loop_result = np.asarray(to_numpy(case.compute(loops, args)))
    scale = float(np.max(np.abs(loop_result))) or 1.0
    results = {"numpy": np.asarray(to_numpy(case.compute(vectorized, args)))}
    loop_seconds = best_seconds(lambda: case.compute(loops, args),
                                repeat=1 if quick else 3, calibrate=False)
    vector_seconds = best_seconds(lambda: case.compute(vectorized, args),
                                  repeat=3 if quick else 7, calibrate=not quick)
    backend_seconds = {}
    for backend in backends:
        if backend.name == "numpy":
            continue
        run = _on_backend(case, args, backend)
        results[backend.name] = np.asarray(to_numpy(run()))
        backend_seconds[backend.name] = best_seconds(run, repeat=3 if quick else 7,
                                                     calibrate=not quick)
    difference = max(float(np.max(np.abs(loop_result - result))) for result in results.values())
    return SeedRow(
        name=case.name,
        equation=case.equation,
        size=case.size if not quick else "quick",
        loop_seconds=loop_seconds,
        vectorized_seconds=vector_seconds,
        speedup=loop_seconds / vector_seconds,
        agree=difference <= 1e-9 * scale,
        max_abs_difference=difference,
        backend_seconds=backend_seconds,
    )


def time_seed_table(
    *, quick: bool = False, random_state: int = 0, backends: list[Backend] | None = None
) -> list[SeedRow]:
    """Time every seed example with :mod:`noloop.loops` and :mod:`noloop.vectorized`.

    Parameters
    ----------
    quick : bool, default=False
        Shrink every size so the whole table takes a second or two.
    random_state : int, default=0
        Seed of the random generator that makes the inputs.
    backends : list of Backend, optional
        Also time the vectorized twin on these array libraries (``--backends``);
        each must agree with the loops too.

    Returns
    -------
    rows : list of SeedRow
        One row per example, in the seed's order.
    """
    rng = np.random.default_rng(random_state)
    return [_time_case(case, case.make_inputs(rng, quick), quick=quick, backends=backends or [])
            for case in seed_cases()]


def _backend_column(name: str) -> Column:
    """The column of one ``--backends`` library: its time and its speed-up over the loops."""
    return Column(f"{name} (speed-up)", lambda row: row,
                  lambda row: f"{format_seconds(row.backend_seconds[name])} "
                              f"({row.loop_seconds / row.backend_seconds[name]:,.0f}×)")


def format_seed_table(rows: list[SeedRow]) -> str:
    """The seed table as aligned text, one line per example."""
    backends = list(rows[0].backend_seconds) if rows else []
    columns = [
        Column("example", lambda row: row.name),
        Column("computes", lambda row: row.equation),
        Column("size", lambda row: row.size),
        Column("loops", lambda row: row.loop_seconds, format_seconds),
        Column("vectorized", lambda row: row.vectorized_seconds, format_seconds),
        Column("speed-up", lambda row: row.speedup, "{:,.0f}×"),
        *[_backend_column(name) for name in backends],
        Column("same answer", lambda row: row,
               lambda row: "yes" if row.agree else f"NO (differ by {row.max_abs_difference:.2g})"),
    ]
    return format_table(columns, rows, rule=True)
