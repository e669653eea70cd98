"""Clocks shared by the bench's tables."""

from __future__ import annotations

import time
import timeit
from typing import Any, Callable, TypeVar

__all__ = ["best_seconds", "timed_call"]

Result = TypeVar("Result")


def best_seconds(call: Callable[[], Any], *, repeat: int, calibrate: bool) -> float:
    """Best seconds per call of ``call`` over ``repeat`` timings.

    Parameters
    ----------
    call : callable
        Called with no arguments.
    repeat : int
        How many timings to take the best of.
    calibrate : bool
        Make each timing enough calls to last about 0.2 s (:meth:`timeit.Timer.autorange`),
        for calls too quick to time once; otherwise each timing is one call.

    Returns
    -------
    seconds : float
    """
    timer = timeit.Timer(call)
    number = timer.autorange()[0] if calibrate else 1
    return min(timer.repeat(repeat=repeat, number=number)) / number


def timed_call(call: Callable[[], Result]) -> tuple[float, Result]:
    """Call ``call`` once; return the wall-clock seconds it took and what it returned."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result
