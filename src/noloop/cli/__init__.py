"""The ``noloop`` command: train, predict, evaluate, explain, summary, demo and bench.

One module per command (``train``, ``predict``, ``evaluate``, ``explain``,
``summary``, ``demo``, ``bench``), each with ``add_parser(commands)`` and ``run(args)``;
what they share is in ``_common``. A command imports its heavy libraries
(pandas, scikit-learn, dask, matplotlib, ...) inside ``run``, so that
``noloop --help`` answers at once.

Importing this package imports nothing the interpreter has not loaded already:
``python -m noloop.cli`` reaches :func:`main`, which turns Ctrl-C into
``error: interrupted`` (exit 130), before any module that takes time to load.
"""

from __future__ import annotations

# only what the interpreter has loaded already: Ctrl-C is handled from the first line of main
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from types import FrameType

    from noloop.cli._common import Parser

__all__ = ["main", "build_parser"]

_COMMANDS = ("train", "predict", "evaluate", "explain", "summary", "bench", "demo")


def build_parser() -> Parser:
    """The argument parser of the ``noloop`` command.

    ``--debug`` is accepted before the command and after it.
    """
    import argparse
    import importlib

    from noloop import __version__
    from noloop.cli._common import Parser

    parser = Parser(
        prog="noloop",
        description="The vectorization lesson made real: logistic regression without loops.",
    )
    parser.add_argument("--version", action="version", version=f"noloop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in _COMMANDS:
        importlib.import_module(f"noloop.cli.{name}").add_parser(commands)
    for command in commands.choices.values():
        # SUPPRESS: absent after the command, it leaves the value parsed before it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    return parser


class _Interrupts:
    """A SIGINT handler: notes that Ctrl-C came, then raises KeyboardInterrupt as Python's does."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        raise KeyboardInterrupt


def _exit_interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C once the command has returned, as the interpreter shuts down: end it now."""
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def _set_sigint(handler: Any) -> Any:
    """Install ``handler`` for SIGINT; return the previous one (None off the main thread)."""
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # signal handlers belong to the main thread
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 on any error, 130 after Ctrl-C).

    Ctrl-C at any moment, while the command's modules are imported too, is
    one ``error: interrupted`` line and status 130, never a traceback.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``noloop``; ``sys.argv[1:]`` when None, which also
        means this is the ``noloop`` process itself: a Ctrl-C after the
        command returned (while the interpreter shuts down) then ends the
        process at once with status 130, instead of a traceback from shutdown.
    """
    interrupts = _Interrupts()
    previous = _set_sigint(interrupts)
    try:
        from noloop.cli._common import execute

        return execute(build_parser, sys.argv[1:] if argv is None else argv,
                       interrupted=lambda: interrupts.received)
    except BaseException as error:
        if not (interrupts.received or isinstance(error, KeyboardInterrupt)):
            raise
        _set_sigint(signal.SIG_IGN)  # a second Ctrl-C must not interrupt the message
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            _set_sigint(_exit_interrupted if argv is None else previous)
        if argv is None:
            # the process ends next: spare its shutdown a garbage collection over every
            # module's objects (scikit-learn, SciPy, pandas, numba: 0.7-1.2 s of train's 11 s)
            import gc

            gc.freeze()
