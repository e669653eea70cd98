"""noloop: the vectorization lesson made real.

``noloop.loops`` and ``noloop.vectorized`` hold the seed's computations twice,
with explicit loops and vectorized; they import NumPy only. The estimator and
model files load scikit-learn, scipy and numba, so they are imported on first
use (``noloop.LogisticRegression``), never by ``import noloop``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["LogisticRegression", "LogisticRegressionCV", "LostClusterError", "load_model", "save_model", "loops",
           "vectorized", "__version__"]

# public name -> the module that defines it, imported when the name is first used
_LAZY = {
    "LogisticRegression": "noloop.linear_model",
    "LogisticRegressionCV": "noloop.linear_model",
    "LostClusterError": "noloop.linear_model",
    "load_model": "noloop.persistence",
    "save_model": "noloop.persistence",
    "loops": "noloop.loops",
    "vectorized": "noloop.vectorized",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'noloop' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"noloop.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
