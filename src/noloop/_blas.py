"""BLAS on one thread, for the many small products where a second thread only waits.

On a busy shared 2-core machine, a small product run on two BLAS threads
waits each time for the second thread to be scheduled: 150 ms instead of
under 1 ms per call for a 4096 × 20 row-block Gram (measured 2026-11-28), and
2–12 ms instead of 0.7 ms for an 8000 × 100 matrix-vector pair (2026-11-29).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["one_blas_thread"]


def one_blas_thread() -> Any:
    """A context manager that runs NumPy's BLAS on one thread inside it."""
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller() -> Any:
    """One ThreadpoolController: building it scans the loaded libraries (about 10 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
