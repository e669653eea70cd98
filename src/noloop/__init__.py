"""noloop: the vectorization lesson made real.

``noloop.loops`` and ``noloop.vectorized`` hold the seed's computations twice,
with explicit loops and vectorized.
"""

from noloop import loops, vectorized
from noloop.io import load_model, save_model
from noloop.linear_model import LogisticRegression

__version__ = "0.1.0"

__all__ = ["LogisticRegression", "load_model", "save_model", "loops", "vectorized", "__version__"]
