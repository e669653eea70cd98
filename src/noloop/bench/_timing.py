"""Clocks shared by the bench's tables."""

from __future__ import annotations

import time
import timeit
from typing import Any, Callable, TypeVar

import numpy as np

__all__ = ["best_seconds", "timed_call", "one_read_seconds"]

try:
    import numba
    from numba import prange
except ImportError:  # numba is a dependency, but the bench must work without it
    numba = None

if numba is not None:

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _sum_words(words):  # pragma: no cover - compiled
        # integer adds are associative, so the loop vectorizes and splits over the threads;
        # overflow wraps, which is harmless: only the pass's time matters
        total = np.uint64(0)
        for k in prange(words.shape[0]):
            total += words[k]
        return total

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


def _pieces(arrays: tuple[np.ndarray, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each array's bytes as (8-byte words, the tail of up to 7 bytes), made before any timing:
    a strided array is copied once here, not at every timed pass."""
    pieces = []
    for array in arrays:
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise TypeError(f"one read streams numbers; got an array of dtype {array.dtype}")
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        whole = raw.size // 8 * 8
        pieces.append((raw[:whole].view(np.uint64), raw[whole:]))
    return pieces


def _read_once(pieces: list[tuple[np.ndarray, np.ndarray]]) -> int:
    total = 0
    for words, tail in pieces:
        total += int(_sum_words(words)) if numba is not None else int(words.sum())
        total += int(tail.sum())
    return total


def one_read_seconds(*arrays: np.ndarray, repeat: int = 7) -> float:
    """Best seconds of one pass over the bytes of ``arrays``: the floor of a "read".

    The bytes are summed as 8-byte integers on every numba thread, so the
    pass is bound by memory bandwidth (or by the cache's, for arrays that fit
    in it), as a kernel reading the same arrays on the same threads is at
    best. (``X.sum()`` is one thread, and a float sum in order is bound by the
    add's latency: both measured 1.3-2.3x slower on this project's 2-core
    machine, which made every figure in reads look better than it was.)

    Parameters
    ----------
    *arrays : numpy arrays
        What one evaluation must stream, e.g. X, or a CSR matrix's ``data`` and ``indices``.
    repeat : int, default=7

    Returns
    -------
    seconds : float
    """
    pieces = _pieces(arrays)
    _read_once(pieces)  # compile / load from numba's cache, and warm the pages
    return best_seconds(lambda: _read_once(pieces), repeat=repeat, calibrate=False)
