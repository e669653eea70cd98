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


# ---------------------------------------------------------------- shared by several test files

import os  # noqa: E402
import pickle  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

HEAVY_LIBRARIES = ("pandas", "pyarrow", "sklearn", "scipy", "numba", "matplotlib", "dask",
                   "distributed", "torch", "rich", "safetensors")


def heavy_imports(code):
    """The heavy libraries a fresh interpreter has imported after running ``code``.

    noloop's package ``__init__`` is bypassed (the package is a bare module
    over its folder), so only the imports of the modules ``code`` uses count.
    """
    import noloop

    script = (
        "import sys, types\n"
        "package = types.ModuleType('noloop'); package.__path__ = [sys.argv[1]]\n"
        "package.__version__ = '0'\n"
        "sys.modules['noloop'] = package\n"
        f"{code}\n"
        f"print(','.join(name for name in {HEAVY_LIBRARIES!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(Path(noloop.__file__).parent)],
                            capture_output=True, text=True, timeout=60, check=False)
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
