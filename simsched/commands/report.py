"""``simsched report DIR -o report.html``: one self-contained HTML page of a run or a comparison.

The page (tables, figures, manifest and, for a run, a zoomable timeline) needs no
network and opens offline; see :mod:`simsched.report.html`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError


def cmd_report(args: argparse.Namespace) -> int:
    """Handler of ``simsched report``; returns the exit code."""
    from simsched.report.html import kind_of, write_report

    kind_of(args.directory)  # a clear error for a bad directory before matplotlib loads
    out = Path(args.output) if args.output else Path(args.directory) / "report.html"
    if out.is_dir():
        raise ConfigError(str(out), "", "is a directory; give a file name such as report.html")
    try:
        write_report(args.directory, out)
    except OSError as exc:
        raise ConfigError(str(out), "", f"cannot write the report ({exc.strerror or exc})") from None
    print(out)
    return 0


def register(subparsers: Any) -> None:
    """Add ``simsched report`` to the command line."""
    p = subparsers.add_parser(
        "report", help="one self-contained HTML page of a run or comparison directory",
        description="Write one HTML page of a run directory (`simsched run --out`: summary, zoomable timeline, "
                    "Gantt chart, power and frequency, manifest) or of a comparison directory (`simsched compare "
                    "--out`: statistics, figures, every run). The page needs no network.")
    p.add_argument("directory", metavar="RUN_DIR|COMPARE_DIR", help="a run or comparison directory")
    p.add_argument("--output", "-o", metavar="FILE", help="output file (default DIR/report.html)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=cmd_report)
