"""What every ``noloop`` command shares: the parser, errors as one line, option and output checks.

Nothing here imports a heavy library when the module loads: ``noloop --help``
must answer at once. pandas, scikit-learn, rich and distributed are imported
by the functions that use them.

The order of a command's work: option values are checked as they are parsed
(the types below); then :func:`check_paths` checks every output against the
file system and against the inputs, before anything is read; the command then
reads, computes and renders everything it will write, in memory; it writes its
outputs last, each atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import time
import warnings
from typing import Any, Callable, Collection, Iterator, Mapping, Sequence, TypeVar

__all__ = [
    "UsageError",
    "Parser",
    "execute",
    "positive_int",
    "non_negative_int",
    "positive_number",
    "non_negative_number",
    "option_type",
    "in_option_words",
    "check_paths",
    "say",
    "metrics_line",
    "Progress",
    "ReadProgress",
    "warnings_as_lines",
    "add_reading_options",
    "add_dask_options",
    "add_chatter",
    "use_dask",
    "dask_kind",
    "dask_client",
    "read_model_rows",
    "refuse_na_values_off_csv",
    "load_model_to_read",
]

# what a user can cause: one ``error:`` line and status 2 (``DataError`` is a ValueError)
_USER_ERRORS = (ValueError, TypeError, OSError, MemoryError)


class UsageError(Exception):
    """A user-facing failure: printed as one ``error:`` line, exit status 2."""


class _ParseError(UsageError):
    """Arguments that do not parse: one line, ``--debug`` or not (no traceback explains them)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors end like every other failure: one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ParseError(f"{self.prog}: {message}")


# ------------------------------------------------------------------ running a command


def execute(build_parser: Callable[[], argparse.ArgumentParser], arguments: Sequence[str], *,
            interrupted: Callable[[], bool] = lambda: False) -> int:
    """Build the parser, parse ``arguments`` and run their command; return the exit status.

    Every failure a user can cause (``UsageError``, ``ValueError`` and so
    ``DataError``, ``TypeError``, ``OSError``, ``MemoryError``) becomes one
    ``error: ...`` line on stderr and status 2; ``--debug`` (before or after
    the command) lets the traceback through instead, except for a usage
    error, which is always one line. Status 1 when the reader of stdout went
    away. An interruption is left to :func:`noloop.cli.main`, which reports it.

    Parameters
    ----------
    build_parser : callable
        Returns the parser; called here, inside the error handling.
    arguments : sequence of str
        The arguments after ``noloop``.
    interrupted : callable, optional
        True once Ctrl-C came: whatever ends the command then is the
        interruption, even an error a library made of the KeyboardInterrupt
        (NumPy's ImportError "PyCapsule_Import could not import module ...").
    """
    debug = False
    data = None
    try:
        parser = build_parser()
        args = parser.parse_args(list(arguments))
        debug = bool(args.debug)
        data = getattr(args, "data", None)
        if not debug:
            import logging

            # a lost cluster makes distributed log its reconnection attempts; the error line says it
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        return args.run(args)
    except BaseException as error:
        status = None if interrupted() else _failure_status(error, debug, data)
        if status is None:
            raise
        return status


def _failure_status(error: BaseException, debug: bool, data: Any = None) -> int | None:
    """Report ``error`` as the command line does and return its status; None: let it through."""
    if isinstance(error, BrokenPipeError):
        # the reader (head, less) went away: stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if not isinstance(error, (UsageError, *_USER_ERRORS)) or \
            (debug and not isinstance(error, _ParseError)):
        return None
    message = " ".join(str(error).split()) or type(error).__name__
    if "Mismatched dtypes found in" in message and "read_csv" in message:
        message = _guessed_types_message(data, message)
    print(f"error: {message}", file=sys.stderr)
    return 2


def _guessed_types_message(data: Any, message: str) -> str:
    """Dask's report of a CSV column whose type changed after the sampled head, in one line.

    Dask guesses each column's type from the head of the first file; a column
    whose later rows need another type (an empty cell or a decimal in a column
    of integers, text in a column of numbers) fails there, with a table and
    advice for Python callers.
    """
    import re

    columns = re.findall(r"\| (\S+)\s+\| (\S+)\s+\| (\S+)\s+\|", message)
    found = [f"{name!r} ({found} after the head's {expected})" for name, found, expected
             in columns if name not in ("Column", "")]
    return (f"{data or 'the data'}: column(s) {', '.join(found) or '?'} change type "
            "after the rows Dask sampled to guess the types (an empty cell or a decimal in a "
            "column of integers, or text in a column of numbers); train in memory (a larger "
            "--dask-above), or write the file as Parquet with the types fixed")


# ------------------------------------------------------------------ option values

Value = TypeVar("Value")


def option_type(convert: Callable[[str], Value], accepts: Callable[[Value], bool],
                expected: str) -> Callable[[str], Value]:
    """An argparse ``type``: ``convert`` the text, then refuse what ``accepts`` does not.

    Parameters
    ----------
    convert : callable
        From the option's text to its value; raises ValueError on bad text.
    accepts : callable
        True for the values the option allows.
    expected : str
        What the option allows, in words, for the message
        (``argument --C: expected a positive finite number; got '0'``).
    """

    def parse(text: str) -> Value:
        try:
            value = convert(text)
            accepted = accepts(value)
        except (ValueError, TypeError):
            accepted = False
        if not accepted:
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    return parse


positive_int = option_type(int, lambda value: value > 0, "a positive integer")
non_negative_int = option_type(int, lambda value: value >= 0, "an integer >= 0")
positive_number = option_type(float, lambda value: 0 < value < math.inf,
                              "a positive finite number")
non_negative_number = option_type(float, lambda value: 0 <= value < math.inf,
                                  "a finite number >= 0")

# the estimator's parameters as the command line names them
_OPTION_OF = {"C": "--C", "tol": "--tol", "max_iter": "--max-iter",
              "learning_rate": "--learning-rate", "penalty": "--penalty", "solver": "--solver",
              "l1_ratio": "--l1-ratio"}


def in_option_words(message: str) -> str:
    """``message`` of the estimator with its parameters named as options.

    ```learning_rate``` becomes ``--learning-rate``; ``learning_rate = 1e+08``
    and ``learning_rate='auto'`` become ``--learning-rate 1e+08`` and
    ``--learning-rate auto``.
    """
    names = "|".join(_OPTION_OF)
    message = re.sub(rf"`({names})`", lambda match: _OPTION_OF[match[1]], message)
    return re.sub(rf"\b({names}) ?= ?'?([^\s',;:]+)'?",
                  lambda match: f"{_OPTION_OF[match[1]]} {match[2]}", message)


# ------------------------------------------------------------------ outputs


def _same_file(first: str, second: str) -> bool:
    """True when two paths name one file: one inode where both exist, else one real path."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


def _inside(path: str, folder: str) -> bool:
    """True when ``path`` would be written inside the existing folder ``folder``."""
    if not os.path.isdir(folder):
        return False
    return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) \
        == os.path.realpath(folder)


def _check_writable(option: str, path: str, *, folder_ok: bool) -> None:
    """Refuse an output whose folder is missing or read-only, or that names a folder."""
    if os.path.isdir(path) and not folder_ok:
        raise UsageError(f"{option} {path}: is a folder; expected the name of a file to write")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        shown = os.path.dirname(path) or folder
        raise UsageError(f"{option} {path}: the folder {shown} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable")


def check_paths(inputs: Mapping[str, Any], outputs: Mapping[str, Any], *,
                folders: Collection[str] = ()) -> None:
    """Check, before any work, that every output can be written and overwrites nothing it must not.

    Parameters
    ----------
    inputs : mapping of str to path or None
        What the command reads, by the name the usage gives it (``DATA``,
        ``MODEL``); None entries are skipped.
    outputs : mapping of str to path or None
        What it writes, by option (``--model``, ``--plot``); None and ``-``
        (stdout) are skipped.
    folders : collection of str
        The outputs that are folders (a Dask prediction), which may exist.

    Raises
    ------
    UsageError
        When an output's folder is missing or not writable, an output names
        a folder, or an output is an input, lies inside an input folder or
        is another output (compared as real paths, and as files where they exist).
    """
    sources = {name: str(path) for name, path in inputs.items() if path is not None}
    targets = {option: str(path) for option, path in outputs.items()
               if path is not None and str(path) != "-"}
    for option, path in targets.items():
        _check_writable(option, path, folder_ok=option in folders)
        for name, source in sources.items():
            where = "is" if _same_file(path, source) else \
                "lies inside" if _inside(path, source) else None
            if where is not None:
                raise UsageError(f"{option} {path}: {where} the input {name} {source}; a "
                                 f"command never writes over what it reads, choose another "
                                 f"{option}")
    written = list(targets.items())
    for index, (option, path) in enumerate(written):
        for other, other_path in written[index + 1:]:
            if _same_file(path, other_path):
                raise UsageError(f"{option} {path} and {other} {other_path} name the same file; "
                                 "give each output its own path")


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
        self.every: int = getattr(args, "every", 100)  # a positive integer: see --every
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


class ReadProgress:
    """A context whose instance, called with the bytes read so far, shows a bar by bytes.

    The bar (rich) appears once a read has taken about a second, only on a
    terminal and without --quiet; it goes away when the read ends.
    """

    def __init__(self, args: argparse.Namespace, path: Any, total: int | None = None) -> None:
        self.enabled = not getattr(args, "quiet", False) and sys.stdout.isatty()
        self.path = str(path)
        self.total = total
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> "ReadProgress":
        return self

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < 1.0:
                return
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)

            if self.total is None:
                with contextlib.suppress(OSError):
                    self.total = os.path.getsize(self.path)
            self.bar = Progress(TextColumn(f"reading {os.path.basename(self.path)}"), BarColumn(),
                                DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("read", total=self.total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextlib.contextmanager
def warnings_as_lines(*also: type[Warning]) -> Iterator[None]:
    """Show library warnings (ConvergenceWarning, and ``also``) as one ``warning:`` line each."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        for category in (ConvergenceWarning, *also):
            warnings.simplefilter("always", category)
        yield
    seen = set()
    for warning in caught:
        text = in_option_words(" ".join(str(warning.message).split()))
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr)


# ------------------------------------------------------------------ options


def add_reading_options(command: argparse.ArgumentParser) -> None:
    """``--format``, for files whose extension does not say, and ``--na-values``."""
    from noloop._formats import TABLE_FORMATS

    command.add_argument("--format", choices=TABLE_FORMATS,
                         help="file format, when the extension does not say")
    command.add_argument("--na-values", type=_text_list, default=(), metavar="TEXT[,TEXT]",
                         help="CSV cells holding one of these texts are empty, in every column "
                              "(e.g. NA, as R writes a missing value); by default only an "
                              "empty cell is, or, for predict and evaluate, those the model "
                              "was trained with")


def refuse_na_values_off_csv(args: argparse.Namespace) -> None:
    """An explicit --na-values on a file that is not CSV is a usage error, not ignored:
    Parquet, .npy and sparse files hold missing values as such, not as texts."""
    from noloop.sparse_files import is_sparse_file
    from noloop.tables import DataError

    if not args.na_values:
        return
    try:
        kind = "sparse" if is_sparse_file(str(args.data)) else dask_kind(args)
    except DataError:
        return  # the command says what is wrong with DATA when it reads it
    if kind != "csv":
        raise UsageError(f"--na-values names texts in CSV cells; {args.data} is {kind}, which "
                         "keeps missing values as such: leave the option out")


def load_model_to_read(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """(the model ``args.model``, its stored training metrics), with ``args.na_values``
    defaulting to the texts the model's training file was read with (predict, evaluate)."""
    from noloop.persistence import load_model

    refuse_na_values_off_csv(args)
    model, training = load_model(args.model, with_metrics=True)
    args.na_values = args.na_values or tuple(training.get("na_values", ()))
    return model, training


def _text_list(text: str) -> tuple[str, ...]:
    """``NA,n/a`` -> ("NA", "n/a"); an empty entry is refused (an empty cell is missing anyway)."""
    values = tuple(value.strip() for value in text.split(","))
    if not all(values):
        raise argparse.ArgumentTypeError(f"expected texts separated by commas, such as NA,n/a; "
                                         f"got {text!r}")
    return values


def add_dask_options(command: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--dask-above``."""
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on Dask: tcp://HOST:8786 for a running cluster, or "
                              "local[:N] for N worker processes on this machine")
    command.add_argument("--dask-above", type=non_negative_number, default=None, metavar="BYTES",
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

    if args.scheduler:
        say(args, f"reading {args.data} with Dask: --scheduler {args.scheduler} was given")
        return True
    if is_dataset_path(args.data):
        say(args, f"reading {args.data} with Dask: it names several files (a folder or a glob)")
        return True
    size = dataset_bytes(args.data)
    threshold = args.dask_above if args.dask_above is not None else _free_memory_bytes() / 4
    if size > threshold:
        say(args, f"{args.data} is {_human_bytes(size)}, more than {_human_bytes(threshold)}"
                  + (" (a quarter of the free memory)" if args.dask_above is None else "")
                  + ": reading it with Dask")
        return True
    return False


def dask_kind(args: argparse.Namespace) -> str:
    """The format of a Dask dataset: "csv" or "parquet" (a folder: CSV when all its files are)."""
    from pathlib import Path

    from noloop.tables import folder_format, table_format

    text = str(args.data)
    if Path(text).is_dir():
        return args.format or folder_format(text)
    return table_format(text.rstrip("/"), args.format)


@contextlib.contextmanager
def dask_client(spec: str | None) -> Iterator[Any]:
    """A Client for ``tcp://HOST:PORT``, or a LocalCluster for ``local[:N]``; None without one."""
    if not spec:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    _quiet_cancelled_gathers()
    if spec == "local" or spec.startswith("local:"):
        try:
            n_workers = int(spec.partition(":")[2] or 2)
        except ValueError:
            raise UsageError(f"--scheduler local:N needs a number of workers; got {spec!r}") \
                from None
        if n_workers < 1:
            raise UsageError(f"--scheduler local:N needs at least 1 worker; got {spec!r}")
        with _workers_ignoring_ctrl_c():
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        _probe_scheduler(spec)
        client = Client(spec, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {spec} "
                         f"({' '.join(str(error).split())})") from None
    with client:
        yield client


def _is_cancelled_gather(record: Any) -> bool:
    """False for asyncio's log of a client gather ended by ``AllExit`` (Ctrl-C); True otherwise."""
    error = record.exc_info[1] if record.exc_info else None
    return type(error).__name__ != "AllExit"


def _quiet_cancelled_gathers() -> None:
    """asyncio's "Task exception was never retrieved" for gathers Ctrl-C cancelled, left unsaid.

    After Ctrl-C the client cancels its pending gathers (``AllExit``), and asyncio
    logs each one as an unretrieved error, tracebacks under the one
    ``error: interrupted`` line, when the task is collected, which may be after
    the client closed: so the filter stays for the rest of the process (added
    once). Every other asyncio message still shows.
    """
    import logging

    logging.getLogger("asyncio").addFilter(_is_cancelled_gather)


@contextlib.contextmanager
def _workers_ignoring_ctrl_c() -> Iterator[None]:
    """SIGINT ignored while a LocalCluster starts its worker processes, which inherit that.

    A terminal's Ctrl-C goes to the whole process group: workers that handled it
    would print their own tracebacks under the command's one ``error:`` line. The
    command's process alone then handles Ctrl-C and closes the cluster. A Ctrl-C
    during those start-up seconds is dropped. Off the main thread it changes nothing.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # signal handlers belong to the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _probe_scheduler(spec: str, seconds: float = 3.0) -> None:
    """Open and close one TCP connection to a ``tcp://HOST:PORT`` scheduler.

    A refused or unroutable address fails here at once, where distributed's
    client would retry until its 10 s timeout. Other protocols are left to it.
    """
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(spec)
    if address.scheme != "tcp" or address.hostname is None or address.port is None:
        return
    with socket.create_connection((address.hostname, address.port), timeout=seconds):
        pass


# ------------------------------------------------------------------ models and rows


def read_model_rows(args: argparse.Namespace, model: Any, *, allow_empty: bool = False
                    ) -> tuple[Any, Any]:
    """(the whole table ``args.data``, its model columns as a checked float DataFrame)."""
    import pandas as pd

    from noloop.tables import (model_features, read_table, refuse_text_in_numbers,
                               require_model_columns, select_features, table_format)

    fmt = table_format(args.data, args.format)
    frame = read_table(args.data, fmt, allow_empty=allow_empty,
                       na_values=args.na_values).rename(columns=str)
    features = model_features(model)
    if hasattr(model, "encoding_"):  # a table model: its encoding reads text and empty cells
        require_model_columns(frame.columns, features, str(args.data))
        refuse_text_in_numbers(frame, model.encoding_.numeric, str(args.data), fmt,
                               imputes=model.encoding_.missing == "impute")
        return frame, frame[features]
    X = pd.DataFrame(select_features(frame, features, str(args.data), fmt), columns=features)
    return frame, X
