"""The table formats noloop reads, in a module that imports nothing.

``noloop --help`` lists them (``--format``) without loading NumPy or
:mod:`noloop.tables`.
"""

TABLE_FORMATS = ("csv", "parquet", "npy", "npz")
