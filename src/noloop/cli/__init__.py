"""The ``noloop`` command: train, predict, evaluate, explain, demo and bench.

One module per command (``train``, ``predict``, ``evaluate``, ``explain``,
``demo``, ``bench``), each with ``add_parser(commands)`` and ``run(args)``;
what they share is in ``_common``. A command imports its heavy libraries
(pandas, scikit-learn, dask, matplotlib, ...) inside ``run``, so that
``noloop --help`` answers at once.

Importing this package imports nothing else: ``python -m noloop.cli`` reaches
:func:`main`, which turns Ctrl-C into ``error: interrupted`` (exit 130),
before any module that takes time to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from noloop.cli._common import Parser

__all__ = ["main", "build_parser"]

_COMMANDS = ("train", "predict", "evaluate", "explain", "bench", "demo")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 on any error, 130 after Ctrl-C).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``noloop``; ``sys.argv[1:]`` when None, which also
        means this is the ``noloop`` process itself: a Ctrl-C after the
        command returned (while the interpreter shuts down) then ends the
        process at once, quietly, with status 130.
    """
    from noloop.cli._common import execute

    return execute(build_parser, argv)
