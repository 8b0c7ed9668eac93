"""``simsched compare CONFIG --policies a,b --seeds N``: argument parsing and printing.

The runs and statistics are :func:`simsched.compare` (:mod:`simsched.sweep.comparison`);
this module parses the command line, prints the table and writes the outputs.

Outputs (``--out DIR``):

* ``runs.csv``: one row per finished (policy, seed) in the order given: ``policy``, ``seed``, every
  overall metric of ``summary.json`` under its own name (``latency_mean_ms``,
  ``deadline_miss_rate``, ``ttft_mean_ms`` ...), ``energy_mj``, ``avg_power_w``,
  ``peak_power_w``, ``budget_w``, ``time_over_budget_ms``, ``energy_over_budget_mj``,
  ``sim_end_ms``, ``warmup_ms``, ``utilization.<processor>`` and
  ``apps.<app>.<metric>`` for every per-app metric;
* ``summary.csv``: per (policy, metric) ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``,
  ``ci_half`` (95% Student-t interval across seeds) and ``rel_change`` against the baseline;
* ``changes.csv`` (two or more policies): per (policy, metric) the change against the
  baseline with its paired-t (or Welch) interval and p-value;
* with ``--plots``: figures as PNG and SVG; with ``--trace``: ``trace_<policy>.json``.

A run that fails does not stop the others: the finished runs are printed and written,
the failures listed on standard error, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.sweep.comparison import DEFAULT_SEEDS, GANTT_WINDOW_MS, KEY_METRICS, Comparison, compare, write_outputs

__all__ = ["KEY_METRICS", "cmd_compare", "format_changes", "format_table", "parse_seeds", "register"]


# ----------------------------------------------------------------------------- printing


def format_table(comp: Comparison) -> str:
    """The comparison printed by ``simsched compare``: one line per key metric, one column per policy.

    Each cell is ``mean ± half-width`` of the 95% CI across seeds, followed for the
    other policies by the relative change of the mean against the baseline.
    """
    by_metric = {m: (label, scale, digits) for m, label, scale, digits in KEY_METRICS}
    table = comp.table()
    cells: list[list[str]] = []
    for m in comp.key_metrics():
        label, scale, digits = by_metric[m]
        row = [label]
        for p in comp.policies:
            mean, half, rel = (table.loc[p, (m, f)] for f in ("mean", "ci_half", "rel_change"))
            text = "-" if not math.isfinite(mean) else f"{mean * scale:.{digits}f}"
            if math.isfinite(mean) and math.isfinite(half):
                text += f" ± {half * scale:.{digits}f}"
            if p != comp.baseline:
                text += f" ({rel * 100:+.1f}%)" if math.isfinite(rel) else " (n/a)"
            row.append(text)
        cells.append(row)
    header = ["metric", *[f"{p} (baseline)" if p == comp.baseline else p for p in comp.policies]]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    n = len(comp.seeds)
    lines.append("")
    lines.append(
        f"mean ± 95% CI half-width over {n} seed{'s' if n != 1 else ''} ({_seed_text(comp.seeds)}); "
        f"(+x%) = change of the mean against {comp.baseline}"
        + ("; one seed gives no interval" if n == 1 else "")
    )
    if comp.until_ci is not None:
        lines.append(f"seeds needed for every key metric's CI within {comp.until_ci * 100:g}% of its mean: "
                     + ", ".join(f"{p} {n}" for p, n in comp.seeds_needed.items()))
    elif len(set(comp.seeds_needed.values())) > 1:
        lines.append("seeds per policy: " + ", ".join(f"{p} {n}" for p, n in comp.seeds_needed.items()))
    return "\n".join(lines)


def format_changes(comp: Comparison) -> str:
    """The changes against the baseline: ``diff ± half-width (rel ± rel half) p=...`` per key metric.

    The interval is the paired-t interval of the per-seed differences when every policy
    ran the same seeds, Welch's unpaired interval otherwise (a note says which).
    """
    others = [p for p in comp.policies if p != comp.baseline and p in set(comp.changes["policy"])]
    if not others:
        return ""
    by_metric = {m: (label, scale, digits) for m, label, scale, digits in KEY_METRICS}
    ch = comp.changes.set_index(["policy", "metric"])
    cells: list[list[str]] = []
    for m in comp.key_metrics():
        label, scale, digits = by_metric[m]
        row = [label]
        for p in others:
            if (p, m) not in ch.index:
                row.append("-")
                continue
            r = ch.loc[(p, m)]
            d, half, rel, rhalf, pv = (float(r[f]) for f in ("diff", "ci_half", "rel_change", "rel_ci_half", "p_value"))
            if not math.isfinite(d):
                row.append("-")
                continue
            text = f"{d * scale:+.{digits}f}"
            if math.isfinite(half):
                text += f" ± {half * scale:.{digits}f}"
            if math.isfinite(rel):
                text += f" ({rel * 100:+.1f}%" + (f" ± {rhalf * 100:.1f}%" if math.isfinite(rhalf) else "") + ")"
            text += f" p={_p_text(pv)}" if math.isfinite(pv) else ""
            row.append(text)
        cells.append(row)
    header = ["change vs " + comp.baseline, *others]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    lines.append("")
    level = f"{comp.level * 100:g}%"
    if comp.paired:
        n = int(comp.changes["n"].max()) if len(comp.changes) else 0
        lines.append(f"policy - {comp.baseline}: mean of the per-seed differences ± {level} paired-t CI half-width "
                     f"over {n} shared seeds; p = two-sided paired t-test of no change")
    else:
        lines.append(f"note: the policies did not run the same seeds, so the changes use Welch's unpaired {level} "
                     f"interval and t-test (policy - {comp.baseline}, difference of the means)")
    return "\n".join(lines)


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _seed_text(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}..{seeds[-1]}"
    return "seeds " + ",".join(str(s) for s in seeds)


# ----------------------------------------------------------------------------- command line


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip() != ""]
    except ValueError:
        raise ConfigError(what, "", f"expected comma-separated integers, got '{text}'") from None
    if not values:
        raise ConfigError(what, "", "give at least one seed")
    if any(v < 0 for v in values):
        raise ConfigError(what, "", f"seeds must be non-negative, got '{text}'")
    return values


def parse_seeds(seeds: str | None, seed_list: str | None) -> list[int]:
    """Seeds from ``--seeds N`` (1..N) or ``--seed-list a,b,c``; ConfigError on bad input."""
    if seeds is not None and seed_list is not None:
        raise ConfigError("--seeds", "", "give either --seeds N or --seed-list, not both")
    if seed_list is not None:
        return _int_list(seed_list, "--seed-list")
    if seeds is None:
        return list(range(1, DEFAULT_SEEDS + 1))
    try:
        n = int(seeds)
    except ValueError:
        raise ConfigError("--seeds", "", f"expected a number of seeds, got '{seeds}' (use --seed-list for a list)") from None
    if n < 1:
        raise ConfigError("--seeds", "", f"expected at least 1 seed, got {n}")
    return list(range(1, n + 1))


def _parse_jobs(text: str, option: str = "--jobs") -> int:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(option, "", f"expected a positive whole number, got '{text}'") from None
    if n < 1:
        what = "worker" if option == "--jobs" else "seed"
        raise ConfigError(option, "", f"expected at least 1 {what}, got {n}")
    return n


def _parse_rel(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ConfigError("--until-ci", text, "expected a positive relative half-width such as 0.05")
    return v


def cmd_compare(args: argparse.Namespace) -> int:
    """Handler of ``simsched compare``; returns the exit code."""
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    seeds = parse_seeds(args.seeds, args.seed_list)
    jobs = _parse_jobs(args.jobs)
    out = Path(args.out) if args.out else None
    if (args.plots or args.trace) and out is None:
        raise ConfigError("--out", "", "--plots and --trace write files: give --out DIR")
    if out is not None:
        if out.exists() and not out.is_dir():
            raise ConfigError(args.out, "", "exists and is not a directory; choose another --out")
        if out.is_dir() and any(out.iterdir()) and not args.force:
            raise ConfigError(args.out, "", "output directory is not empty; use --force to overwrite its files or choose another --out")
    until = _parse_rel(args.until_ci)
    max_seeds = _parse_jobs(args.max_seeds, "--max-seeds") if args.max_seeds is not None else None
    comp = compare(
        args.config, policies, seeds, overrides=args.set, baseline=args.baseline, jobs=jobs, scheduler=args.scheduler,
        keep_jobs=args.plots, keep_tables=args.plots or args.trace, until_ci=until, max_seeds=max_seeds,
    )
    if len(comp.runs):
        print(format_table(comp))
        changes = format_changes(comp)
        if changes:
            print()
            print(changes)
    if out is not None:
        try:
            written = write_outputs(comp, out, plots=args.plots, trace=args.trace, svg=args.svg)
        except OSError as exc:
            raise ConfigError(args.out, "", f"cannot write the outputs ({exc.strerror or exc})") from None
        print(f"wrote {len(written)} files to {out}", file=sys.stderr)
    for line in comp.failed:
        print(f"failed: {line}", file=sys.stderr)
    if comp.failed:
        print(f"{len(comp.failed)} of {len(comp.failed) + len(comp.runs)} runs failed", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``simsched compare`` to the command line."""
    p = subparsers.add_parser(
        "compare",
        help="run an experiment under several policies and seeds; mean and 95%% CI per metric",
        description="Run the same workload and seeds under each policy and compare the key metrics "
        "(mean ± 95% Student-t CI half-width across seeds, and the change against a baseline policy).",
    )
    p.add_argument("config", help="experiment YAML file")
    p.add_argument(
        "--policies", required=True, metavar="P1,P2,...",
        help="comma-separated policy names (`simsched list policies`); NAME+GOVERNOR adds a DVFS governor, e.g. affinity+budget",
    )
    p.add_argument("--seeds", metavar="N", help=f"run seeds 1..N (default {DEFAULT_SEEDS})")
    p.add_argument("--seed-list", metavar="S1,S2,...", help="run these seeds instead of 1..N")
    p.add_argument("--baseline", metavar="POLICY", help="policy the relative changes refer to (default: the first)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key by its dotted path")
    p.add_argument("--out", "-o", metavar="DIR", help="write runs.csv and summary.csv (and figures, traces) here")
    p.add_argument("--force", action="store_true", help="overwrite files in a non-empty --out directory")
    p.add_argument("--plots", action="store_true",
                   help=f"with --out: figures (PNG; --svg adds SVG), and a Gantt chart (first {GANTT_WINDOW_MS:g} ms after the warm-up) "
                   "and power trace of the first seed per policy")
    p.add_argument("--svg", action="store_true", help="with --plots: also write each figure as SVG (large for long runs)")
    p.add_argument("--trace", action="store_true", help="with --out: trace_<policy>.json of the first seed (open in https://ui.perfetto.dev)")
    p.add_argument("--jobs", "-j", default="1", metavar="N", help="worker processes (default 1); results do not depend on it")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed cluster (tcp://host:8786); needs simsched[dask]")
    p.add_argument("--until-ci", metavar="REL",
                   help="add seeds until every key metric's 95%% CI half-width is within REL x |mean| (e.g. 0.05)")
    p.add_argument("--max-seeds", metavar="N", help="with --until-ci: at most N seeds per policy (default 10 x --seeds, at least 30)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=cmd_compare)
