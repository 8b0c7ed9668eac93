"""``simsched baseline`` and ``simsched check``: performance regression gates for CI.

``baseline RUN_DIR|SWEEP_DIR -o baseline.json`` records the metrics that matter;
``check RUN_DIR|SWEEP_DIR --baseline baseline.json`` exits 0 when every metric is
within tolerance, 1 with a table of what regressed (and what improved), and 2 with
one line on unusable input. The rules are in docs/ci.md.
"""

from __future__ import annotations

import argparse
import sys

from simsched.errors import EXIT_FAIL, EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``baseline`` and ``check`` subcommands.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``simsched`` parser's subcommands.
    """
    from simsched.regress import CONFIG_MATCHES, DEFAULT_RATE_ATOL, DEFAULT_RTOL, TESTS

    base = subparsers.add_parser(
        "baseline", help="record a run's (or a sweep's) key metrics as a regression baseline",
        description="Write the metrics that matter (per app and overall) with the config hash they came from. "
        "A sweep directory (subfolders = runs of one config with different seeds) stores each metric's "
        "mean, standard deviation and number of seeds.",
    )
    base.add_argument("runs", metavar="RUN_DIR|SWEEP_DIR", help="a run directory, or a folder of run directories (one per seed)")
    base.add_argument("--output", "-o", metavar="FILE", help="write the baseline here (default: standard output)")
    base.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    base.set_defaults(func=_cmd_baseline)

    chk = subparsers.add_parser(
        "check", help="compare a run (or a sweep) with a baseline; exit 1 on a regression",
        description="Exit 0 when every metric is within tolerance, 1 (with a table) when one regressed, "
        "2 on unusable input. With several seeds on both sides a change counts only when it is also "
        "statistically clear: its 95 percent interval (paired over shared seeds, else Welch) excludes zero.",
    )
    chk.add_argument("runs", metavar="RUN_DIR|SWEEP_DIR", help="a run directory, or a folder of run directories (one per seed)")
    chk.add_argument("--baseline", "-b", required=True, metavar="FILE", help="baseline written by `simsched baseline`")
    chk.add_argument("--rtol", type=float, default=DEFAULT_RTOL, help=f"relative tolerance of every metric (default {DEFAULT_RTOL})")
    chk.add_argument(
        "--rate-atol", type=float, default=DEFAULT_RATE_ATOL,
        help=f"absolute tolerance of the miss and drop rates, for zero baselines (default {DEFAULT_RATE_ATOL})",
    )
    chk.add_argument(
        "--metric-tolerance", action="append", default=[], metavar="NAME=RTOL",
        help="relative tolerance of one metric: a full name (apps.camera.latency_p99_ms), a field "
        "(latency_p99_ms) or a glob (apps.*.ttft_*); repeatable",
    )
    chk.add_argument(
        "--config-match", choices=CONFIG_MATCHES, default="scenario",
        help="scenario (default): run and baseline may differ only in policy and platform.models; "
        "exact: same config hash; any: no check",
    )
    chk.add_argument(
        "--test", choices=TESTS, default="auto",
        help="with several seeds on both sides: auto (default) = paired on shared seeds, else Welch; "
        "welch = always unpaired; overlap = the two seed intervals must not overlap (the older, stricter rule)",
    )
    chk.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    chk.set_defaults(func=_cmd_check)


def _cmd_baseline(args: argparse.Namespace) -> int:
    from simsched.regress import baseline_json, make_baseline, write_baseline

    baseline = make_baseline(args.runs)
    what = (
        f"{len(baseline['metrics'])} metrics from {len(baseline['seeds'])} run(s) "
        f"(seeds {', '.join(map(str, baseline['seeds']))}), config {baseline['config_hash'][:12]}"
    )
    if args.output and args.output != "-":
        write_baseline(baseline, args.output)
        print(f"wrote {args.output}: {what}")
    else:
        sys.stdout.write(baseline_json(baseline))
        print(f"baseline: {what}", file=sys.stderr)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from simsched.regress import Tolerances, compare, format_report, load_sample, read_baseline

    tolerances = Tolerances.parse(args.rtol, args.rate_atol, args.metric_tolerance)
    baseline = read_baseline(args.baseline)
    report = compare(
        baseline, load_sample(args.runs), tolerances, config_match=args.config_match, baseline_label=args.baseline,
        test=args.test,
    )
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_FAIL
