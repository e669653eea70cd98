"""``noloop explain``: every array and shape of one vectorized step, on a small example."""

from __future__ import annotations

import argparse
from typing import Any

from noloop.cli._common import non_negative_number, positive_int

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``explain`` and its options to the subcommands of the ``noloop`` parser."""
    explain = commands.add_parser("explain", help="walk the seed's vectorized steps on a small example")
    explain.add_argument("--n-x", type=positive_int, default=3, help="features (default 3)")
    explain.add_argument("--m", type=positive_int, default=4, help="examples (default 4)")
    explain.add_argument("--seed", type=int, default=1)
    explain.add_argument("--l1", type=non_negative_number, default=0.0,
                         help="also show the L1 soft-threshold step with this λ (e.g. 0.5)")
    explain.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the walk-through of :func:`noloop.explain.explain`."""
    from noloop.explain import explain

    explain(n_x=args.n_x, m=args.m, seed=args.seed, l1=args.l1)
    return 0
