"""Transitional: the former home of tables and model files; import from the new modules.

Tables are in :mod:`noloop.tables`, model files in :mod:`noloop.persistence`.
This module is kept only while ``noloop/__init__.py`` and ``noloop/bench.py``
(restructured elsewhere) still import ``noloop.io``; delete it once they import
``save_model``, ``load_model`` and ``atomic_write_bytes`` from
``noloop.persistence``.
"""

from noloop.persistence import (MODEL_FORMAT, MODEL_FORMAT_VERSION, atomic_write_bytes,
                                load_model, save_model)
from noloop.tables import (TABLE_FORMATS, DataError, read_table, select_features,
                           split_features, write_table)

__all__ = [
    "DataError",
    "TABLE_FORMATS",
    "read_table",
    "split_features",
    "select_features",
    "write_table",
    "atomic_write_bytes",
    "save_model",
    "load_model",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
]
