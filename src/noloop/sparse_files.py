"""Reading sparse data files for the command line: LIBSVM/SVMlight text and scipy's ``.npz``.

- LIBSVM / SVMlight (``.svm``, ``.libsvm``, ``.svmlight``): one row per line,
  ``label index:value index:value ...``, read by scikit-learn's
  ``load_svmlight_file`` (indices one-based or zero-based, detected).
- ``.npz`` written by ``scipy.sparse.save_npz`` (a CSR/CSC/COO matrix); its
  labels come from ``--labels FILE.npy`` or from ``NAME.labels.npy`` beside it.
  An ``.npz`` holding arrays ``X`` and ``y`` stays a table (:mod:`noloop.tables`).

Sparse data is never standardized: centring a column would make every zero
non-zero. Every malformed file is a :class:`~noloop.errors.DataError` naming
the file and what was wrong.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from noloop.errors import DataError

if TYPE_CHECKING:  # numpy is imported where a file is read: `noloop --help` must not load it
    import numpy as np

__all__ = ["SVMLIGHT_SUFFIXES", "is_sparse_file", "read_sparse", "add_sparse_options"]

SVMLIGHT_SUFFIXES = (".svm", ".libsvm", ".svmlight")


def _is_scipy_npz(path: Path) -> bool:
    """True for an ``.npz`` written by ``scipy.sparse.save_npz`` (it stores ``indptr``/``row``)."""
    import numpy as np

    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as archive:
            return "format" in archive.files and "shape" in archive.files
    except (OSError, ValueError):
        return False


def is_sparse_file(path: str | Path) -> bool:
    """Whether ``path`` is a LIBSVM/SVMlight file (by extension) or a scipy.sparse ``.npz``."""
    path = Path(path)
    return path.suffix.lower() in SVMLIGHT_SUFFIXES or _is_scipy_npz(path)


def add_sparse_options(parser: argparse.ArgumentParser) -> None:
    """``--n-features`` and ``--labels``, for LIBSVM and sparse ``.npz`` files."""
    parser.add_argument("--n-features", type=int, default=None,
                        help="LIBSVM files: the number of feature columns (default: the largest "
                             "index in the file; a model's own when predicting)")
    parser.add_argument("--labels", default=None,
                        help="sparse .npz files: a .npy file of labels (default NAME.labels.npy "
                             "beside it)")


def read_sparse(path: str | Path, *, n_features: int | None = None, labels: str | None = None,
                need_labels: bool = True) -> tuple[Any, np.ndarray | None]:
    """(X as a CSR float64 array, labels or None) from a LIBSVM file or a scipy.sparse ``.npz``.

    Parameters
    ----------
    path : str or Path
    n_features : int, optional
        The number of columns; a LIBSVM index beyond it is an error.
    labels : str, optional
        A ``.npy`` file of labels for an ``.npz`` matrix.
    need_labels : bool, default=True
        Whether missing labels are an error (``predict`` needs none).

    Returns
    -------
    X : scipy.sparse.csr_array of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or None
    """
    import numpy as np
    import scipy.sparse as sp

    path = Path(path)
    if path.suffix.lower() in SVMLIGHT_SUFFIXES:
        X, y = _read_svmlight(path, n_features)
    else:
        try:
            X = sp.csr_array(sp.load_npz(path))
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"{path}: not a scipy.sparse .npz file ({error})") from None
        if n_features is not None and X.shape[1] != n_features:
            raise DataError(f"{path}: has {X.shape[1]} columns, expected {n_features}")
        y = _read_labels(path, labels, X.shape[0], need_labels)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.shape[0] == 0:
        raise DataError(f"{path}: has no rows")
    if not np.all(np.isfinite(X.data)):
        raise DataError(f"{path}: holds NaN or infinite values")
    return X, y


def _read_svmlight(path: Path, n_features: int | None) -> tuple[Any, np.ndarray]:
    import numpy as np
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(str(path), n_features=n_features, dtype=np.float64)
    except (ValueError, IndexError) as error:
        raise DataError(f"{path}: not a valid LIBSVM/SVMlight file: {_reason(error)}") from None
    return sp.csr_array(X), y


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "n_features was set to" in text:
        return f"{text} (an index is beyond --n-features)"
    return text


def _read_labels(path: Path, labels: str | None, n_rows: int, need: bool) -> np.ndarray | None:
    import numpy as np

    source = Path(labels) if labels else path.with_name(path.name[:-len(".npz")] + ".labels.npy")
    if not source.is_file():
        if need:
            raise DataError(f"{path}: a sparse matrix needs its labels: give --labels FILE.npy "
                            f"or put them in {source.name} beside it")
        return None
    try:
        y = np.load(source, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{source}: not a .npy array of labels ({error})") from None
    if y.ndim != 1 or y.shape[0] != n_rows:
        raise DataError(f"{source}: expected {n_rows} labels, one per row of {path.name}; got "
                        f"shape {y.shape}")
    return y
