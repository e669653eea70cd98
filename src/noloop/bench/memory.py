"""Peak memory a fit adds beyond its data, measured in a fresh process (Linux).

:func:`peak_memory_of_fit` runs this module in a child process::

    python -m noloop.bench.memory X.npy y.npy SOLVER
    python -m noloop.bench.memory X.npz y.npy SOLVER     # scipy.sparse.save_npz

which loads X and y, imports and compiles everything with a small fit,
resets its peak resident size, fits, and prints two numbers in bytes: the
resident size before the fit and the peak during it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from noloop.bench.machine import reset_peak_resident, status_bytes

__all__ = ["peak_memory_of_fit", "measure_fit", "main"]


def measure_fit(X: np.ndarray, y: np.ndarray, solver: str = "lbfgs") -> tuple[int, int]:
    """Resident bytes of this process before a fit on (X, y), and its peak during the fit.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    solver : str, default="lbfgs"
        The solver of :class:`noloop.LogisticRegression`.

    Returns
    -------
    before, peak : int
    """
    import warnings

    from noloop.linear_model import LogisticRegression

    LogisticRegression(max_iter=5).fit(X[:1000], y[:1000])  # imports and compilation first
    reset_peak_resident()
    before = status_bytes("VmRSS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(solver=solver, tol=1e-5).fit(X, y)
    return before, status_bytes("VmHWM")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m noloop.bench.memory X.npy y.npy SOLVER``: print resident bytes before and at peak."""
    parser = argparse.ArgumentParser(prog="python -m noloop.bench.memory",
                                     description=main.__doc__)
    parser.add_argument("X", help=".npy file of X, shape (n_samples, n_features), or .npz of a "
                        "scipy.sparse matrix")
    parser.add_argument("y", help=".npy file of y, shape (n_samples,)")
    parser.add_argument("solver", help="solver of noloop.LogisticRegression")
    args = parser.parse_args(argv)
    if args.X.endswith(".npz"):
        import scipy.sparse as sp

        X = sp.load_npz(args.X)
    else:
        X = np.load(args.X)
    before, peak = measure_fit(X, np.load(args.y), args.solver)
    print(before, peak)
    return 0


def peak_memory_of_fit(X: np.ndarray, y: np.ndarray, solver: str = "lbfgs") -> dict[str, float]:
    """Peak memory a fit adds beyond its data, measured in a fresh process (Linux).

    X is written to a temporary .npy file and loaded by a child process
    (this module, :func:`main`), which resets its peak resident size
    (``/proc/self/clear_refs``) once X is loaded and everything is imported,
    fits, and reports the new peak (VmHWM): the difference is what the fit
    itself allocated at its busiest.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), or a scipy.sparse matrix
        A sparse X travels as ``scipy.sparse.save_npz``; its ``X_bytes`` are
        the CSR arrays (data + indices + indptr).
    y : array of shape (n_samples,)
    solver : str, default="lbfgs"

    Returns
    -------
    memory : dict
        ``X_bytes``, ``rss_before_fit_bytes``, ``peak_rss_bytes``, ``added_bytes``
        and ``added_fraction_of_X``, with the ``solver``.
    """
    from noloop.linear_model._sparse import as_csr, is_scipy_sparse

    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        if is_scipy_sparse(X):
            import scipy.sparse as sp

            X = as_csr(X)
            x_path = Path(folder) / "X.npz"
            sp.save_npz(x_path, X, compressed=False)
            x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
        else:
            x_path = Path(folder) / "X.npy"
            np.save(x_path, np.ascontiguousarray(X))
            x_bytes = X.nbytes
        y_path = Path(folder) / "y.npy"
        np.save(y_path, y)
        completed = subprocess.run(
            [sys.executable, "-m", "noloop.bench.memory", str(x_path), str(y_path), solver],
            capture_output=True, text=True, check=True,
        )
    before, peak = (int(value) for value in completed.stdout.split())
    return {"solver": solver, "X_bytes": float(x_bytes), "rss_before_fit_bytes": float(before),
            "peak_rss_bytes": float(peak), "added_bytes": float(peak - before),
            "added_fraction_of_X": (peak - before) / x_bytes}


if __name__ == "__main__":
    sys.exit(main())
