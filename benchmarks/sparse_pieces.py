"""What one sparse loss + gradient and one H·v cost, in pieces, on the bench's tf-idf matrix.

Run: ``.venv/bin/python benchmarks/sparse_pieces.py [THREADS ...]`` (default: 1 2).

Per thread count, interleaved rounds (each piece timed once per round, best and
median over the rounds): one read of ``data`` + ``indices`` (the bench's floor),
the gather z = X·w alone, the scatter g += rᵢxᵢ alone, the fused loss +
gradient, the curvature pass and one fused H·v, as ``noloop bench --only
sparse`` calls them. docs/sparse.md's tables of pieces come from this script; to
compare two versions of the kernels, run it on both commits.
"""

from __future__ import annotations

import os
import platform
import sys
import time

import numba
import numpy as np
from numba import prange

from noloop.bench._timing import _pieces, _read_once
from noloop.bench.sparse import FULL, text_like
from noloop.linear_model import _sparse_kernels as kernels

_jit = numba.njit(parallel=True, fastmath={"reassoc", "contract"}, nogil=True)


@_jit
def gather(data, indices, indptr, w, bounds, out):  # pragma: no cover - compiled
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            z = 0.0
            for k in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                z += data[k] * w[np.uint64(indices[k])]
            out[i] = z


@_jit
def scatter(data, indices, indptr, r, bounds, acc):  # pragma: no cover - compiled
    for c in prange(bounds.shape[0] - 1):
        g = acc[c]
        g[:] = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            t = r[i]
            for k in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                g[np.uint64(indices[k])] += t * data[k]


def main(thread_counts: list[int], rounds: int = 12) -> None:
    X, y = text_like(FULL)
    n, d = X.shape
    rng = np.random.default_rng(0)
    w, r = rng.standard_normal(d) * 0.01, rng.standard_normal(n) * 0.01
    weight, labels = np.full(n, 1.0 / n), y.astype(np.float64)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; {n:,} × {d:,}, {X.nnz:,} non-zeros")
    pieces = _pieces((X.data, X.indices))
    for threads in thread_counts:
        numba.set_num_threads(threads)
        work = kernels.Workspace(X.indptr, d + 1)
        z = np.empty(n)
        h = kernels.binary_curvature(X.data, X.indices, X.indptr, weight, w, 0.0)
        calls = {
            "one read": lambda: _read_once(pieces),
            "gather alone": lambda: gather(X.data, X.indices, X.indptr, w, work.bounds, z),
            "scatter alone": lambda: scatter(X.data, X.indices, X.indptr, r, work.bounds,
                                             work.accumulators),
            "fused loss + gradient": lambda: kernels.binary_loss_gradient(
                X.data, X.indices, X.indptr, labels, weight, w, 0.0, work),
            "curvature": lambda: kernels.binary_curvature(X.data, X.indices, X.indptr, weight,
                                                          w, 0.0),
            "fused H·v": lambda: kernels.binary_hessian_product(X.data, X.indices, X.indptr, h,
                                                               w, 0.0, work),
        }
        times: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():
            call()  # compile / warm up
        for _ in range(rounds):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - start) * 1e3)
        read = min(times["one read"])
        print(f"\n{threads} thread(s), load {os.getloadavg()[0]:.2f}")
        for name, values in times.items():
            print(f"  {name:24s} best {min(values):6.1f} ms  median {np.median(values):6.1f} ms"
                  f"  = {min(values) / read:4.2f} reads")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1, 2])
