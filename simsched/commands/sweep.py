"""``simsched sweep SWEEP.yaml --out DIR``: argument parsing and printing for :func:`simsched.sweep.sweep`.

Exit status: 0 when every run succeeded, 1 when any run failed (its row in
``results.csv`` holds the error), 2 for an unusable sweep file or output directory.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from simsched.errors import ConfigError


def _jobs(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except ValueError:
        raise ConfigError("--jobs", "", f"expected a number of worker processes, got '{text}'") from None
    if n < 1:
        raise ConfigError("--jobs", "", f"expected at least 1 worker, got {n}")
    return n


def cmd_sweep(args: argparse.Namespace) -> int:
    """Handler of ``simsched sweep``; returns the exit code."""
    from simsched.sweep import sweep

    if not args.out:
        raise ConfigError("--out", "", "give the output directory (results.csv goes there)")
    res = sweep(args.sweep, args.out, jobs=_jobs(args.jobs), scheduler=args.scheduler, force=args.force,
                keep_runs=args.keep_runs)
    n = len(res.results)
    print(f"{n} runs: {res.ran} run now, {res.skipped} already in {args.out}/results.csv, {len(res.failed)} failed",
          file=sys.stderr)
    for line in res.failed:
        print(f"failed: {line}", file=sys.stderr)
    print(f"{args.out}/results.csv")
    return 1 if res.failed else 0


def register(subparsers: Any) -> None:
    """Add ``simsched sweep`` to the command line."""
    p = subparsers.add_parser(
        "sweep", help="run a grid of configs x seeds into DIR/results.csv (resumable; local processes or Dask)",
        description="Run every configuration of a sweep file under every seed. Each finished run is appended to "
        "DIR/results.csv at once; a re-run skips the runs already there (docs/sweeps.md).",
    )
    p.add_argument("sweep", metavar="SWEEP.yaml", help="sweep file: base, grid, zip, seeds")
    p.add_argument("--out", "-o", metavar="DIR", help="output directory (required)")
    p.add_argument("--jobs", "-j", metavar="N", help="local worker processes (default: the machine's cores; 1 = in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask distributed scheduler (tcp://host:8786); needs simsched[dask]")
    p.add_argument("--force", action="store_true", help="rerun every run, replacing DIR/results.csv")
    p.add_argument("--keep-runs", action="store_true", help="also write each run's tables to DIR/runs/<run_id>/")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=cmd_sweep)
