"""The ``noloop`` command: train, predict, evaluate, explain, demo and bench.

One module per command (``train``, ``predict``, ``evaluate``, ``explain``,
``demo``, ``bench``), each with ``add_parser(commands)`` and ``run(args)``;
what they share is in ``_common``. A command imports its heavy libraries
(pandas, scikit-learn, dask, matplotlib, ...) inside ``run``, so that
``noloop --help`` answers at once.
"""

from __future__ import annotations

from typing import Sequence

from noloop.cli import bench, demo, evaluate, explain, predict, train
from noloop.cli._common import Parser, execute

__all__ = ["main", "build_parser"]

_COMMANDS = (train, predict, evaluate, explain, bench, demo)


def build_parser() -> Parser:
    """The argument parser of the ``noloop`` command."""
    from noloop import __version__

    parser = Parser(
        prog="noloop",
        description="The vectorization lesson made real: logistic regression without loops.",
    )
    parser.add_argument("--version", action="version", version=f"noloop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in _COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 on any error).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``noloop``; ``sys.argv[1:]`` when None.
    """
    return execute(build_parser(), argv)
