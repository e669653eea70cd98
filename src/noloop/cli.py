"""The ``noloop`` command."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from noloop import __version__

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    """A user-facing failure: printed as one ``error:`` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other failure
        raise UsageError(f"{self.prog}: {message}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from noloop.demo import run_demo

    run_demo(quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``noloop`` command."""
    parser = _Parser(
        prog="noloop",
        description="The vectorization lesson made real: logistic regression without loops.",
    )
    parser.add_argument("--version", action="version", version=f"noloop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="the seed's lesson on this machine, offline")
    demo.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        return args.run(args)
    except (UsageError, ValueError, TypeError, OSError) as error:
        if debug:
            raise
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
