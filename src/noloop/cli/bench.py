"""``noloop bench``: the seed's table, the solver race, reads of X, memory; as text, JSON, PNG."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``bench`` and its options to the subcommands of the ``noloop`` parser."""
    bench = commands.add_parser("bench", help="measure: the seed's table, the solver race, reads of X")
    bench.add_argument("--quick", action="store_true", help="small sizes: seconds, for tests")
    bench.add_argument("--backends", action="store_true",
                       help="time the vectorized twin on every installed array library too")
    bench.add_argument("--json", help="write every row to this JSON file")
    bench.add_argument("--plot", help="write the speed-up chart (log scale) to this PNG")
    # the names are not listed here: that would import noloop.bench for every `noloop --help`
    bench.add_argument("--only", metavar="SECTION[,SECTION]",
                       help="run only these sections (an unknown name lists them all)")
    bench.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run :func:`noloop.bench.run_bench`, once its outputs are known to be writable."""
    from noloop.bench import run_bench
    from noloop.cli._common import check_paths

    from noloop.bench import SECTIONS
    from noloop.errors import DataError

    check_paths({}, {"--json": args.json, "--plot": args.plot})
    only = None if args.only is None else [name.strip() for name in args.only.split(",")]
    unknown = sorted(set(only or ()) - set(SECTIONS))
    if unknown:
        raise DataError(f"--only: unknown section {', '.join(unknown)}; "
                        f"expected some of {', '.join(SECTIONS)}")
    run_bench(quick=args.quick, backends=args.backends, json_path=args.json,
              plot_path=args.plot, only=only)
    return 0
