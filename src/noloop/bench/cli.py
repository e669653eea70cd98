"""``noloop train`` end to end against the reader's own speed and memory, in one run.

The section writes a generated CSV (1,000,000 rows × 30 numeric columns and a
yes/no text label; 5,000 rows with ``--quick``) to a temporary folder, then,
each in a fresh process, so that peak memory is the process's own:

- ``noloop train FILE --target label`` end to end (start-up, read, checks,
  fit, metrics, model file), its wall time and peak resident size (from
  ``os.wait4``);
- the reference: ``pyarrow.csv.read_csv`` of the same file, its columns to one
  float64 NumPy array, a finiteness check, then the same fit as ``train``
  (standardized columns, L-BFGS), each timed; it reports the bytes of the
  table and of X, and its resident size once everything is imported;
- ``noloop train FILE --target label --dask-above 0``: the same command forced
  onto Dask (local threads), whose fit time (standardization + L-BFGS, as
  train prints it) is set against the in-memory train's, from the same run.

Ratios: train's time over (read + conversion + fit); train's peak memory above
the import baseline over (table + X), and the reference's the same way (one
baseline for both: the reference's resident size once imports are done);
Dask's fit time over the in-memory one. Targets: time ≤ 2× (goal 1.3×), memory
≤ 1.5×, Dask's fit ≤ 2×.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from noloop.bench._format import Column, format_seconds, format_table

__all__ = ["write_csv", "reference", "run_train", "section", "main"]

N_FEATURES = 30


def write_csv(path: Path, n_rows: int, *, seed: int = 0) -> None:
    """A CSV of ``n_rows`` × 30 numbers (4 decimals) and a ``label`` column of yes/no text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    coef = rng.normal(size=N_FEATURES)
    columns: dict[str, Any] = {}
    logits = np.zeros(n_rows)
    for index in range(N_FEATURES):
        column = np.round(rng.normal(size=n_rows), 4)
        logits += coef[index] * column
        columns[f"x{index}"] = column
    labels = np.where(logits + rng.logistic(size=n_rows) > 0, "yes", "no")
    columns["label"] = pa.array(labels)
    pacsv.write_csv(pa.table(columns), str(path))


def _rss_bytes() -> int:
    from noloop.bench.machine import status_bytes

    return status_bytes("VmRSS")


def reference(path: str) -> dict[str, float]:
    """The reader's time and memory on ``path``: pyarrow read + float64 X + check, then the fit.

    Run in a fresh process (``python -m noloop.bench.cli reference FILE``).

    Returns
    -------
    numbers : dict
        ``read_seconds`` (read, conversion, finiteness check), ``fit_seconds``,
        ``table_bytes``, ``X_bytes``, ``baseline_rss_bytes`` (imports done,
        nothing read) and ``peak_rss_bytes``.
    """
    import pyarrow.csv as pacsv

    from noloop.bench.machine import status_bytes
    from noloop.linear_model import LogisticRegression
    from noloop.preprocessing import fold_standardization, standardize_lean

    baseline = _rss_bytes()
    start = time.perf_counter()
    table = pacsv.read_csv(path)
    names = [name for name in table.column_names if name != "label"]
    X = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for index, name in enumerate(names):
        X[:, index] = table.column(name).to_numpy()
    if not np.isfinite(X).all():
        raise ValueError("not finite")
    y = table.column("label").to_numpy(zero_copy_only=False)
    read_seconds = time.perf_counter() - start
    table_bytes = table.nbytes
    del table
    start = time.perf_counter()
    X_scaled, mean, scale = standardize_lean(X)  # as train standardizes
    model = LogisticRegression(C=1.0, tol=1e-4, max_iter=1000).fit(X_scaled, y)
    fold_standardization(model, mean, scale)
    fit_seconds = time.perf_counter() - start
    return {"read_seconds": read_seconds, "fit_seconds": fit_seconds,
            "table_bytes": float(table_bytes), "X_bytes": float(X.nbytes),
            "baseline_rss_bytes": float(baseline), "peak_rss_bytes": float(status_bytes("VmHWM"))}


def _output_of(command: Sequence[str]) -> str:
    """The stdout of ``command``, which must succeed."""
    completed = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed: {completed.stderr.strip()[-500:]}")
    return completed.stdout


_FIT_LINE = re.compile(r"fit: \d+ iterations in ([0-9.]+) s")


def _fit_seconds(printed: str) -> float:
    """The fit's seconds from train's ``  fit: N iterations in T s, ...`` line."""
    found = _FIT_LINE.search(printed)
    if found is None:
        raise RuntimeError(f"no fit time in train's output: {printed[-300:]!r}")
    return float(found.group(1))


def _train_arguments(path: Path, model: Path, dask: bool) -> list[str]:
    return ["train", str(path), "--target", "label", "--model", str(model),
            *(["--dask-above", "0"] if dask else [])]


def run_train(path: Path, model: Path, *, dask: bool = False) -> dict[str, float]:
    """``noloop train`` on ``path`` in a fresh process: wall seconds, peak resident bytes and
    the fit's seconds (as train prints them); with ``dask``, forced onto Dask."""
    # one child per measurement process, so RUSAGE_CHILDREN's maximum is that child's
    command = [sys.executable, "-c",
               "import os, subprocess, sys, time, resource\n"
               "start = time.perf_counter()\n"
               "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "seconds = time.perf_counter() - start\n"
               "sys.stderr.write(p.stderr)\n"
               "print(p.stdout)\n"
               "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,"
               " p.returncode)\n",
               sys.executable, "-m", "noloop.cli", *_train_arguments(path, model, dask)]
    out = _output_of(command)
    seconds, peak, status = out.split()[-3:]
    if int(status) != 0:
        raise RuntimeError("noloop train failed in the bench")
    return {"seconds": float(seconds), "peak_rss_bytes": float(peak),
            "fit_seconds": _fit_seconds(out)}


def _train_here(path: Path, model: Path, *, dask: bool = False) -> dict[str, float]:
    """``noloop train`` in this process (for --quick): seconds, the fit's seconds; peak memory
    as the reference's."""
    import contextlib
    import io

    from noloop.bench.machine import status_bytes
    from noloop.cli import main as noloop

    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        status = noloop(_train_arguments(path, model, dask))
    if status != 0:
        raise RuntimeError("noloop train failed in the bench")
    return {"seconds": time.perf_counter() - start,
            "peak_rss_bytes": float(status_bytes("VmHWM")),
            "fit_seconds": _fit_seconds(printed.getvalue())}


def _reference_in_process(path: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "noloop.bench.cli", "reference", str(path)]
    return json.loads(_output_of(command))


def section(report: dict[str, Any], *, number: int, quick: bool,
            say: Callable[[str], None]) -> None:
    """Bench section "cli": ``noloop train`` end to end vs pyarrow's read + conversion + the fit."""
    n_rows = 5_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="noloop-bench-cli-") as folder:
        path = Path(folder) / "big.csv"
        write_csv(path, n_rows)
        size = path.stat().st_size
        say(f"{number}. The command line at size: noloop train on a {n_rows:,} × {N_FEATURES} CSV "
            f"(+ a text label, {size / 2**20:,.0f} MiB), against pyarrow's read + conversion "
            "+ the same fit (" + ("in this process" if quick else "each in a fresh process")
            + ")")
        model = Path(folder) / "model.safetensors"
        if quick:  # in this process, imports already paid: seconds, memory not measured
            ref = reference(str(path))
            train = _train_here(path, model)
            dask = _train_here(path, model, dask=True)
        else:
            ref = _reference_in_process(path)
            train = run_train(path, model)
            dask = run_train(path, model, dask=True)
    reader_plus_fit = ref["read_seconds"] + ref["fit_seconds"]
    data_bytes = ref["table_bytes"] + ref["X_bytes"]
    baseline = ref["baseline_rss_bytes"]
    row = {
        "rows": n_rows, "features": N_FEATURES, "file_bytes": size,
        "train_seconds": train["seconds"], "read_seconds": ref["read_seconds"],
        "fit_seconds": ref["fit_seconds"], "time_ratio": train["seconds"] / reader_plus_fit,
        "train_peak_rss_bytes": train["peak_rss_bytes"],
        "reference_peak_rss_bytes": ref["peak_rss_bytes"],
        "baseline_rss_bytes": ref["baseline_rss_bytes"],
        "table_bytes": ref["table_bytes"], "X_bytes": ref["X_bytes"],
        "memory_ratio": (train["peak_rss_bytes"] - baseline) / data_bytes,
        "reference_memory_ratio": (ref["peak_rss_bytes"] - baseline) / data_bytes,
        "train_fit_seconds": train["fit_seconds"],
        "dask_train_seconds": dask["seconds"], "dask_fit_seconds": dask["fit_seconds"],
        "dask_train_peak_rss_bytes": dask["peak_rss_bytes"],
        "dask_fit_ratio": dask["fit_seconds"] / train["fit_seconds"],
    }
    report["cli"] = [row]
    mib = 2**20
    rows = [("noloop train (end to end)", train["seconds"], train["peak_rss_bytes"]),
            ("  of which the fit (standardize + L-BFGS)", train["fit_seconds"], None),
            ("pyarrow read + X + check", ref["read_seconds"], None),
            ("the fit (standardize + L-BFGS)", ref["fit_seconds"], None),
            ("reader + fit (reference)", reader_plus_fit, ref["peak_rss_bytes"]),
            ("noloop train --dask-above 0 (end to end)", dask["seconds"],
             dask["peak_rss_bytes"]),
            ("  of which the fit on Dask", dask["fit_seconds"], None)]
    say(format_table([
        Column("", lambda r: r[0]),
        Column("time", lambda r: format_seconds(r[1]), align=">"),
        Column("peak RSS", lambda r: "" if r[2] is None else f"{r[2] / mib:,.0f} MiB",
               align=">"),
    ], rows, rule=True))
    say(f"   train / (read + fit): {row['time_ratio']:.2f}× (target ≤ 2×, goal ≤ 1.3×); "
        f"train's peak above the import baseline ({ref['baseline_rss_bytes'] / mib:,.0f} MiB) / "
        f"(table {ref['table_bytes'] / mib:,.0f} MiB + X {ref['X_bytes'] / mib:,.0f} MiB): "
        f"{row['memory_ratio']:.2f}× (target ≤ 1.5×; the reference's: "
        f"{row['reference_memory_ratio']:.2f}×)")
    say(f"   Dask's fit / the in-memory fit (same file, same run): {row['dask_fit_ratio']:.2f}× "
        "(target ≤ 2×)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m noloop.bench.cli reference FILE``: print the reference's numbers as JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "reference":
        print("usage: python -m noloop.bench.cli reference FILE", file=sys.stderr)
        return 2
    print(json.dumps(reference(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
