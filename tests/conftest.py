"""Shared fixtures and settings."""

import os

from hypothesis import HealthCheck, settings

# CI machines are small and shared: fewer, deterministic examples keep the suite steady.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# ------------------------------------------------------------------ array libraries

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _cupy():
    try:
        import cupy

        cupy.zeros(1)
        return cupy
    except Exception:  # no CuPy, or no CUDA driver for it
        return None


def _torch(device):
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return lambda array: torch.as_tensor(np.asarray(array), device=device)


def _array_libraries():
    cupy = _cupy()
    converters = {
        "numpy": np.asarray,
        "torch": _torch("cpu"),
        "torch-cuda": _torch("cuda"),
        "cupy": None if cupy is None else cupy.asarray,
    }
    return [pytest.param(convert, id=name, marks=[] if convert is not None else
                         pytest.mark.skip(reason=f"{name} is not available here"))
            for name, convert in converters.items()]


@pytest.fixture(params=_array_libraries())
def to_xp(request):
    """Moves a NumPy array into one array library (NumPy, PyTorch CPU/CUDA, CuPy) and device."""
    return request.param


# ---------------------------------------------------------------- shared by several test files

import pickle  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

HEAVY_LIBRARIES = ("pandas", "pyarrow", "sklearn", "scipy", "numba", "matplotlib", "dask",
                   "distributed", "torch", "rich", "safetensors")


def heavy_imports(code):
    """The heavy libraries a fresh interpreter has imported after running ``code``."""
    script = (f"import sys\n{code}\n"
              f"print(','.join(name for name in {HEAVY_LIBRARIES!r} if name in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.strip().split(",") if name]


@pytest.fixture
def pickled_exploit(tmp_path):
    """(a pickle that would create ``marker`` when unpickled, named like a model; ``marker``)."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(Exploit()))
    return bad, marker


@pytest.fixture(scope="session")
def dask_client():
    """One real 2-worker LocalCluster on loopback, shared by every test that only trains on it.

    Tests that kill workers or change the cluster make their own.
    """
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local, Client(local) as connected:
        yield connected


# ---------------------------------------------------------------- the command line, in-process


@pytest.fixture
def noloop(capsys):
    """``noloop ARGS`` in this process: its exit status and what it printed."""
    from types import SimpleNamespace

    from noloop.cli import main

    def run(*args):
        status = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=status, stdout=out, stderr=err)

    return run


def one_error_line(result):
    """The single ``error: ...`` line a failed command printed, after checking it is one."""
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]
