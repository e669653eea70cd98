"""What every ``noloop`` command shares: the parser, errors as one line, progress, Dask options.

Nothing here imports a heavy library when the module loads: ``noloop --help``
must answer at once. pandas, scikit-learn, rich and distributed are imported
by the functions that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings
from typing import Any, Iterator, Sequence

__all__ = [
    "UsageError",
    "Parser",
    "execute",
    "say",
    "metrics_line",
    "Progress",
    "warnings_as_lines",
    "add_format_option",
    "add_dask_options",
    "add_chatter",
    "use_dask",
    "dask_client",
    "model_features",
    "read_model_rows",
]


class UsageError(Exception):
    """A user-facing failure: printed as one ``error:`` line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors end like every other failure: one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def execute(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command; return the exit status.

    Every failure a user can cause (``UsageError``, ``ValueError`` and so
    ``DataError``, ``TypeError``, ``OSError``, ``MemoryError``) becomes one
    ``error: ...`` line on stderr and status 2; ``--debug`` lets the
    traceback through instead. Status 130 after Ctrl-C, 1 when the reader of
    stdout went away.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    if not debug:
        import logging

        # a lost cluster makes distributed log its reconnection attempts; the one error line says it
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        args = parser.parse_args(arguments)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        return args.run(args)
    except BrokenPipeError:
        # the reader (head, less) went away: stop quietly, as other command-line tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UsageError, ValueError, TypeError, OSError, MemoryError) as error:
        if debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------ output


def say(args: argparse.Namespace, message: str = "") -> None:
    """Print ``message`` unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(message, flush=True)


def metrics_line(split: str, values: dict[str, Any]) -> str:
    """One split's accuracy, log-loss and row count, as ``train`` prints them."""
    return (f"{split:<5} accuracy {values['accuracy']:.4f}   log-loss "
            f"{values['log_loss']:.4f}   ({values['n_rows']:,} rows)")


class Progress:
    """A fit callback: a progress bar once a fit has run ~1 s (on a terminal), or periodic lines.

    The bar shows the iteration, the current cost and the iteration rate; it
    never appears when stdout is not a terminal or with --quiet. With
    --verbose the cost is printed every ``every`` iterations instead, as the
    seed's course does.
    """

    def __init__(self, args: argparse.Namespace, max_iter: int, label: str) -> None:
        self.verbose = bool(getattr(args, "verbose", False))
        self.every = int(getattr(args, "every", 100))
        self.enabled = not getattr(args, "quiet", False) and sys.stdout.isatty() \
            and not self.verbose
        self.max_iter = max_iter
        self.label = label
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, iteration: int, cost: float) -> None:
        if self.verbose and iteration % self.every == 0:
            print(f"  cost after iteration {iteration:6d}: {cost:.6f}", flush=True)
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < 1.0:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("cost {task.fields[cost]:.6f}"),
                TextColumn("{task.fields[rate]:,.0f} it/s"), TimeElapsedColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.max_iter, cost=cost, rate=0.0)
        rate = iteration / max(time.perf_counter() - self.start, 1e-9)
        self.bar.update(self.task, completed=iteration, cost=cost, rate=rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Show library warnings (ConvergenceWarning) as one ``warning:`` line each."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    seen = set()
    for warning in caught:
        text = " ".join(str(warning.message).split())
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr)


# ------------------------------------------------------------------ options


def add_format_option(command: argparse.ArgumentParser) -> None:
    """``--format``, for files whose extension does not say."""
    from noloop.tables import TABLE_FORMATS

    command.add_argument("--format", choices=TABLE_FORMATS,
                         help="file format, when the extension does not say")


def add_dask_options(command: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--dask-above``."""
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="train on Dask: tcp://HOST:8786 for a running cluster, or "
                              "local[:N] for N worker processes on this machine")
    command.add_argument("--dask-above", type=float, default=None, metavar="BYTES",
                         help="read DATA with Dask when it is larger than this "
                              "(default: a quarter of the free memory)")


def add_chatter(command: argparse.ArgumentParser) -> None:
    """``--quiet`` or ``--verbose``."""
    chatter = command.add_mutually_exclusive_group()
    chatter.add_argument("--quiet", action="store_true", help="print nothing but errors")
    chatter.add_argument("--verbose", action="store_true",
                         help="print the cost every --every iterations")


# ------------------------------------------------------------------ Dask


def _free_memory_bytes() -> float:
    import os

    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def _human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"


def use_dask(args: argparse.Namespace) -> bool:
    """Dask for a --scheduler, a folder or glob of files, or a file too big for memory."""
    from noloop.tables import dataset_bytes, is_dataset_path

    if args.scheduler or is_dataset_path(args.data):
        return True
    size = dataset_bytes(args.data)
    threshold = args.dask_above if args.dask_above is not None else _free_memory_bytes() / 4
    if size > threshold:
        say(args, f"{args.data} is {_human_bytes(size)}, more than {_human_bytes(threshold)}"
                  + (" (a quarter of the free memory)" if args.dask_above is None else "")
                  + ": reading it with Dask")
        return True
    return False


@contextlib.contextmanager
def dask_client(spec: str | None) -> Iterator[Any]:
    """A Client for ``tcp://HOST:PORT``, or a LocalCluster for ``local[:N]``; None without one."""
    if not spec:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    if spec == "local" or spec.startswith("local:"):
        try:
            n_workers = int(spec.partition(":")[2] or 2)
        except ValueError:
            raise UsageError(f"--scheduler local:N needs a number of workers; got {spec!r}") \
                from None
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {spec} "
                         f"({' '.join(str(error).split())})") from None
    with client:
        yield client


# ------------------------------------------------------------------ models and rows


def model_features(model: Any) -> list[str]:
    """The columns a model reads: its feature names, else "0", "1", ... as in ``.npy`` files."""
    if hasattr(model, "feature_names_in_"):
        return [str(name) for name in model.feature_names_in_]
    return [str(i) for i in range(model.n_features_in_)]


def read_model_rows(args: argparse.Namespace, model: Any) -> tuple[Any, Any]:
    """(the whole table ``args.data``, its model columns as a checked float DataFrame)."""
    import pandas as pd

    from noloop.tables import read_table, select_features, table_format

    fmt = table_format(args.data, args.format)
    frame = read_table(args.data, fmt).rename(columns=str)
    features = model_features(model)
    X = pd.DataFrame(select_features(frame, features, str(args.data), fmt), columns=features)
    return frame, X
