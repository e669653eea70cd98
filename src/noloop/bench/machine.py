"""The machine a measurement ran on, and this process's memory, read from ``/proc`` (Linux)."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

__all__ = ["machine_info", "format_machine", "cpu_model", "status_bytes", "reset_peak_resident"]


def _proc_value(path: str, key: str) -> str | None:
    """The text after ``key:`` on the first line of a ``/proc`` file that starts with ``key``."""
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what :mod:`platform` knows elsewhere."""
    return (_proc_value("/proc/cpuinfo", "model name")
            or platform.processor() or platform.machine())


def status_bytes(field: str) -> int:
    """A memory field of this process's ``/proc/self/status`` (``"VmRSS"``, ``"VmHWM"``) in bytes."""
    value = _proc_value("/proc/self/status", field)
    if value is None:
        raise OSError(f"/proc/self/status has no {field!r} line (is this Linux?)")
    return int(value.split()[0]) * 1024  # the kernel writes kB


def reset_peak_resident() -> None:
    """Reset this process's peak resident size (VmHWM) to its current resident size."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


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
        "cpu": cpu_model(),
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
