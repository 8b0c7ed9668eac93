"""``simsched sensitivity CONFIG --policies a,b [--seeds N] [--samples K]``: does a ranking survive the data?

Re-runs the comparison of the policies with every ``derived`` and ``estimate`` profile
number of the platform moved to the ends of its range, one at a time, and (``--samples``)
in a seeded Latin-hypercube sample of all of them at once; prints, per metric, whether
the ranking of the policies holds, which numbers flip it and by how much
(:mod:`simsched.sensitivity`).
"""

from __future__ import annotations

import argparse
import json
import sys

from simsched.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``sensitivity`` subcommand."""
    p = sub.add_parser("sensitivity", help="re-run a policy comparison with the uncertain profile numbers moved")
    p.add_argument("config", help="experiment YAML file")
    p.add_argument("--policies", required=True, help="comma-separated policy names (at least two)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 1..N per scenario and policy (default 1)")
    p.add_argument("--samples", type=int, default=0, metavar="K", help="Latin-hypercube scenarios (default 0)")
    p.add_argument("--lhs-seed", type=int, default=1, help="seed of the Latin-hypercube draw (default 1)")
    p.add_argument("--no-oat", action="store_true", help="skip the one-at-a-time scenarios")
    p.add_argument("--metrics", default=None, help="comma-separated summary metrics "
                   "(default latency_mean_ms,deadline_miss_rate,energy_mj)")
    p.add_argument("--only", action="append", default=None, metavar="GLOB",
                   help="move only entries matching MODEL.KEY patterns (repeatable)")
    p.add_argument("--rtol", type=float, default=1e-9,
                   help="relative difference of two means that still counts as a tie (default 1e-9); "
                   "set it to the run-to-run noise so that flips within the noise are not reported")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from simsched.sensitivity import DEFAULT_METRICS, format_report, run_sensitivity, to_json

    if not 0 <= args.rtol < 1:
        raise ConfigError("--rtol", "", f"expected a relative tolerance in [0, 1), got {args.rtol}")
    if args.seeds < 1:
        raise ConfigError("--seeds", "", f"expected at least 1 seed, got {args.seeds}")
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else list(DEFAULT_METRICS)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    result = run_sensitivity(
        args.config, policies, seeds=range(1, args.seeds + 1), samples=args.samples, lhs_seed=args.lhs_seed,
        one_at_a_time=not args.no_oat, metrics=metrics, overrides=args.set, only=args.only, progress=progress,
    )
    if args.json:
        print(json.dumps(to_json(result, args.rtol), indent=2))
    else:
        print(format_report(result, rtol=args.rtol))
    return 0
