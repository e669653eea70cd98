"""``noloop demo``: the seed's lesson on this machine, offline, with pictures."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``demo`` and its options to the subcommands of the ``noloop`` parser."""
    demo = commands.add_parser("demo", help="the seed's lesson on this machine, offline")
    demo.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    demo.add_argument("--plots", default="noloop-demo", help="folder for the PNGs (default noloop-demo)")
    demo.add_argument("--no-plots", action="store_true", help="write no pictures")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run :func:`noloop.demo.run_demo`, once --plots is known not to be a file."""
    from pathlib import Path

    from noloop.cli._common import UsageError
    from noloop.demo import run_demo

    if not args.no_plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise UsageError(f"--plots {args.plots}: is a file; expected a folder for the pictures")
    run_demo(quick=args.quick, plots_dir=None if args.no_plots else args.plots)
    return 0
