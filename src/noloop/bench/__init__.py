"""Measure the lesson: the seed's examples timed with loops and vectorized, side by side.

Every ratio is measured in one process, one case after the other, with the
machine named (:func:`machine_info`), because these numbers mean nothing
without the hardware and libraries that produced them.

Modules: :mod:`~noloop.bench.seed` (the seed's table), :mod:`~noloop.bench.race`
(the solver race), :mod:`~noloop.bench.cluster` (the race on Dask),
:mod:`~noloop.bench.reads` (one evaluation in reads of X),
:mod:`~noloop.bench.memory` (peak memory of a fit, in a child process) and
:mod:`~noloop.bench.machine` (the hardware, from ``/proc``); every table is
written by the one formatter of ``_format``. Heavy libraries are imported
inside the functions that need them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from noloop.bench.cluster import WORKER_ENV, dask_race, rows_on_workers, warm_up_cluster
from noloop.bench.machine import format_machine, machine_info
from noloop.bench.race import (
    RACE_GAP, RaceRow, format_race, race_problem, reference_objective, solver_race,
)
from noloop.bench.reads import ReadsRow, format_reads, loss_gradient_reads
from noloop.bench.seed import (
    Backend, SeedCase, SeedRow, available_backends, format_seed_table, seed_cases,
    time_seed_table,
)

__all__ = [
    "SeedCase", "SeedRow", "seed_cases", "Backend", "available_backends", "time_seed_table",
    "format_seed_table", "machine_info", "format_machine",
    "RACE_GAP", "RaceRow", "race_problem", "reference_objective", "solver_race", "format_race",
    "WORKER_ENV", "rows_on_workers", "warm_up_cluster", "dask_race",
    "ReadsRow", "loss_gradient_reads", "format_reads", "peak_memory_of_fit", "run_bench",
]


def __getattr__(name: str) -> Any:
    # noloop.bench.memory is imported on first use, not here: `python -m
    # noloop.bench.memory` must find it unimported after this package loads,
    # or runpy warns that it may run twice
    if name == "peak_memory_of_fit":
        from noloop.bench.memory import peak_memory_of_fit

        return peak_memory_of_fit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Say = Callable[[str], None]

# Sections 1-4 are above; further sections live in their own modules, each with
# ``section(report, *, number, quick, say)``, run in this order when present.
EXTRA_SECTIONS: tuple[str, ...] = ("inference", "l1_path", "cv", "sparse", "categorical", "cli")
SECTIONS: tuple[str, ...] = ("seed", "race", "reads", "dask") + EXTRA_SECTIONS


def _extra_section(name: str) -> Callable[..., None] | None:
    import importlib
    import importlib.util

    module_name = f"noloop.bench.{name}"
    if importlib.util.find_spec(module_name) is None:
        return None
    return importlib.import_module(module_name).section


def _seed_section(report: dict[str, Any], *, quick: bool, backends: bool, say: Say
                  ) -> list[SeedRow]:
    say("1. The seed's examples: explicit Python loops vs vectorized (best of repeated timeit runs)")
    rows = time_seed_table(quick=quick, backends=available_backends() if backends else None)
    report["seed_table"] = [row.as_dict() for row in rows]
    say(format_seed_table(rows))
    return rows


def _race_section(report: dict[str, Any], X: Any, y: Any, size: str, *, quick: bool,
                  say: Say) -> float:
    """The race, in ``report`` and said; returns the reference objective, for the Dask race."""
    say(f"2. The solver race: time to the optimum (objective within {RACE_GAP:g} relative of a "
        f"tight reference), make_classification {size}, C = 1, in this process")
    best = reference_objective(X, y)
    rows = solver_race(X, y, quick=quick, best=best, say=say)
    report["solver_race"] = {"problem": size, "rows": [row.as_dict() for row in rows]}
    say(format_race(rows))
    sklearn_best = min((row for row in rows if row.contestant.startswith("scikit-learn")),
                       key=lambda row: row.seconds)
    ratio = sklearn_best.seconds / rows[0].seconds
    say(f"   noloop's default took {rows[0].seconds:.2f} s, scikit-learn's fastest "
        f"({sklearn_best.contestant}) {sklearn_best.seconds:.2f} s: "
        + (f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / ratio:.1f}× slower"))
    return best


def _reads_section(report: dict[str, Any], X: Any, y: Any, size: str, *, quick: bool,
                   say: Say) -> None:
    from noloop.bench.memory import peak_memory_of_fit

    say(f"3. One loss-and-gradient evaluation on the same {size} X, in reads of X")
    rows = loss_gradient_reads(X, y, quick=quick)
    report["loss_gradient_reads"] = [row.as_dict() for row in rows]
    say(format_reads(rows))
    memory = peak_memory_of_fit(X, y)
    report["peak_memory"] = memory
    say(f"   peak memory a fit adds beyond X: {memory['added_bytes'] / 2**20:,.1f} MiB = "
        f"{memory['added_fraction_of_X']:.1%} of X ({memory['X_bytes'] / 2**20:,.0f} MiB); "
        f"whole process at its peak: {memory['peak_rss_bytes'] / 2**20:,.0f} MiB "
        "(Python, NumPy, scikit-learn and numba included)")


def _dask_section(report: dict[str, Any], X: Any, y: Any, size: str, *, best: float,
                  quick: bool, say: Say) -> None:
    try:
        import distributed  # noqa: F401 - is Dask's cluster available?
    except ImportError:
        say("4. Dask: not installed (pip install 'noloop[dask]'), no rows")
        return
    say(f"4. The same {size} problem on a 2-worker Dask LocalCluster, against the NumPy path "
        "(ratios to NumPy)")
    rows = dask_race(X, y, best=best, quick=quick, say=say)
    report["dask"] = {"problem": size, "rows": [row.as_dict() for row in rows]}
    say(format_race(rows))


def run_bench(
    *, quick: bool = False, backends: bool = False, json_path: str | None = None,
    plot_path: str | None = None, only: Sequence[str] | None = None, say: Say = print,
) -> dict[str, Any]:
    """``noloop bench``: the seed's table, the solver race, reads of X and peak memory.

    Parameters
    ----------
    quick : bool, default=False
        Small sizes everywhere, so the whole run fits in a test (seconds).
    backends : bool, default=False
        Add a vectorized column for every installed array library.
    json_path, plot_path : str, optional
        Where to write every row as JSON, and the speed-up chart (PNG, log scale).
    say : callable, default=print
        Called with each line of the report.

    Returns
    -------
    report : dict
        What the JSON holds.
    """
    import datetime
    import json

    info = machine_info()
    report: dict[str, Any] = {
        "noloop_bench": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": info,
    }
    chosen = set(SECTIONS if only is None else only)
    unknown = chosen - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown bench sections {sorted(unknown)}; expected some of {list(SECTIONS)}")
    say(f"machine: {format_machine(info)}")
    seed_rows: list[SeedRow] = []
    if "seed" in chosen:
        say("")
        seed_rows = _seed_section(report, quick=quick, backends=backends, say=say)
    if chosen & {"race", "reads", "dask"}:
        X, y = race_problem(quick=quick)
        size = f"{X.shape[0]:,} × {X.shape[1]}"
        best = None
        if "race" in chosen:
            say("")
            best = _race_section(report, X, y, size, quick=quick, say=say)
        if "reads" in chosen:
            say("")
            _reads_section(report, X, y, size, quick=quick, say=say)
        if "dask" in chosen:
            say("")
            best = reference_objective(X, y) if best is None else best
            _dask_section(report, X, y, size, best=best, quick=quick, say=say)
        del X, y
    number = 5
    for name in EXTRA_SECTIONS:
        section = _extra_section(name) if name in chosen else None
        if section is not None:
            say("")
            section(report, number=number, quick=quick, say=say)
            number += 1

    if plot_path and seed_rows:
        from noloop.plots import plot_speedups

        plot_speedups([f"{row.name}  ({row.size})" for row in seed_rows],
                      [row.speedup for row in seed_rows], plot_path,
                      title=f"Explicit loops vs vectorized ({info['cpu']}, {info['cores']} cores)")
        say(f"\nspeed-up chart written to {plot_path}")
    if json_path:
        from pathlib import Path

        from noloop.persistence import atomic_write_bytes

        atomic_write_bytes(Path(json_path), json.dumps(report, indent=2).encode("utf-8"))
        say(f"every row written to {json_path}")
    return report
