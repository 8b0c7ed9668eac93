"""``simsched compare CONFIG --policies a,b --seeds N``: the same workload and seeds under several policies.

Each (policy, seed) is an independent run of the experiment with ``policy`` replaced
(the config's governor is kept; ``policy.params`` are kept only for the policy they
were written for) and ``seed`` set. Runs may execute in a process pool; results are
collected by (policy, seed) and never depend on the number of workers or on the
order in which runs finish.

Outputs (``--out DIR``):

* ``runs.csv``: one row per (policy, seed) in the order given: ``policy``, ``seed``, every
  overall metric of ``summary.json`` under its own name (``latency_mean_ms``,
  ``deadline_miss_rate``, ``ttft_mean_ms`` ...), ``energy_mj``, ``avg_power_w``,
  ``peak_power_w``, ``budget_w``, ``time_over_budget_ms``, ``energy_over_budget_mj``,
  ``sim_end_ms``, ``warmup_ms``, ``utilization.<processor>`` and
  ``apps.<app>.<metric>`` for every per-app metric;
* ``summary.csv``: per (policy, metric) ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``,
  ``ci_half`` (95% Student-t interval across seeds) and ``rel_change`` against the baseline;
* with ``--plots``: figures as PNG and SVG; with ``--trace``: ``trace_<policy>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simsched.errors import ConfigError, SimschedError

DEFAULT_SEEDS = 5
GANTT_WINDOW_MS = 1000.0

# (metric, label, display scale, digits): the key metrics printed by `simsched compare`.
KEY_METRICS: tuple[tuple[str, str, float, int], ...] = (
    ("latency_mean_ms", "latency mean (ms)", 1.0, 2),
    ("latency_p95_ms", "latency p95 (ms)", 1.0, 2),
    ("latency_p99_ms", "latency p99 (ms)", 1.0, 2),
    ("deadline_miss_rate", "deadline miss (%)", 100.0, 2),
    ("drop_rate", "drop (%)", 100.0, 2),
    ("energy_mj", "energy (J)", 1e-3, 3),
    ("avg_power_w", "avg power (W)", 1.0, 3),
    ("time_over_budget_ms", "time over budget (ms)", 1.0, 1),
    ("ttft_mean_ms", "TTFT mean (ms)", 1.0, 2),
    ("tokens_per_s_mean", "decode tokens/s", 1.0, 1),
)
_TOP_LEVEL = ("energy_mj", "avg_power_w", "peak_power_w", "budget_w", "time_over_budget_ms",
              "energy_over_budget_mj", "sim_end_ms", "warmup_ms")


# ----------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison (picklable, sent to a worker).

    Attributes
    ----------
    index : int
        Position in the comparison's (policy, seed) order.
    config : str
        The experiment file.
    overrides : tuple of str
        ``--set`` overrides, the policy's last.
    policy : str
        The policy's name.
    seed : int
        The root seed.
    keep_jobs : bool
        Return the jobs table (for the latency CDF).
    keep_tables : bool
        Return every table (for the Gantt chart, power trace and trace file).
    """

    index: int
    config: str
    overrides: tuple[str, ...]
    policy: str
    seed: int
    keep_jobs: bool = False
    keep_tables: bool = False


@dataclass
class RunOutput:
    """What a worker sends back: the summary (without manifest) and the tables asked for."""

    index: int
    summary: dict[str, Any] | None = None
    jobs: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] | None = None
    error: tuple[str, str, str, str] | None = None  # (kind, file, field, message)


def run_one(spec: RunSpec) -> RunOutput:
    """Run one (policy, seed) of a comparison; errors are returned, not raised (exceptions
    with custom constructors do not survive pickling between processes)."""
    from simsched.api import simulate
    from simsched.config.loader import load_config

    try:
        loaded = load_config(spec.config, list(spec.overrides), spec.seed)
        result = simulate(loaded)
    except ConfigError as exc:
        return RunOutput(spec.index, error=("config", exc.file, exc.field, exc.message))
    except SimschedError as exc:
        return RunOutput(spec.index, error=("run", "", "", str(exc)))
    summary = {k: v for k, v in result.summary.items() if k != "manifest"}
    out = RunOutput(spec.index, summary=summary)
    if spec.keep_jobs:
        j = result.jobs
        measured = j["arrival_ms"] >= summary.get("warmup_ms", 0.0)
        out.jobs = j.loc[measured, ["job_id", "app", "arrival_ms", "latency_ms", "missed", "dropped"]]
    if spec.keep_tables:
        out.tables = {"jobs": result.jobs, "tasks": result.tasks, "segments": result.segments,
                      "power": result.power, "frequency": result.frequency}
    return out


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """One run's summary as a flat row (the columns of ``runs.csv`` after policy and seed).

    Parameters
    ----------
    summary : dict
        A run's ``summary.json``.

    Returns
    -------
    dict
        Overall metrics under their own names, then the top-level energy and power
        metrics, ``utilization.<processor>`` and ``apps.<app>.<metric>`` (apps sorted).
    """
    row: dict[str, Any] = {}
    _put(row, "", summary.get("overall") or {})
    for k in _TOP_LEVEL:
        if k in summary:
            row[k] = summary[k]
    _put(row, "utilization.", summary.get("utilization") or {})
    for app in sorted(summary.get("apps") or {}):
        _put(row, f"apps.{app}.", summary["apps"][app])
    return row


def _put(row: dict[str, Any], prefix: str, metrics: dict[str, Any]) -> None:
    """Copy scalar metrics into ``row``; a nested mapping becomes dotted columns."""
    for k, v in metrics.items():
        if isinstance(v, dict):
            _put(row, f"{prefix}{k}.", v)
        elif not isinstance(v, (list, tuple)):
            row[f"{prefix}{k}"] = v


def policy_override(base_policy: dict[str, Any], name: str) -> str | None:
    """The ``--set`` override that switches the experiment to policy ``name``.

    Parameters
    ----------
    base_policy : dict
        The experiment's policy (``{"name", "params", "governor"}``).
    name : str
        The policy to run.

    Returns
    -------
    str or None
        None for the experiment's own policy (kept with its params); otherwise
        ``policy={...}`` naming ``name`` and keeping the governor.
    """
    from simsched.policies.base import policy_class

    name, _, governor = name.partition("+")  # "affinity+budget": a policy with a governor
    if base_policy.get("name") == name and not governor:
        return None
    new: dict[str, Any] = {"name": name}
    if base_policy.get("name") == name and base_policy.get("params"):
        new["params"] = base_policy["params"]
    governor = governor or base_policy.get("governor")
    if governor and not policy_class(name).controls_frequency:
        new["governor"] = governor
    return "policy=" + json.dumps(new, sort_keys=True)


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    policies : list of str
        The policies, in the order given.
    seeds : list of int
        The seeds.
    baseline : str
        The policy relative changes are computed against.
    runs : DataFrame
        One row per (policy, seed) (``runs.csv``).
    summary : DataFrame
        Per (policy, metric) statistics (``summary.csv``).
    jobs : DataFrame or None
        The measured jobs of every run with ``policy`` and ``seed`` columns (``keep_jobs``).
    first : dict
        Policy -> the tables and summary of its first seed (``keep_tables``).
    """

    policies: list[str]
    seeds: list[int]
    baseline: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    jobs: pd.DataFrame | None = None
    first: dict[str, dict[str, Any]] = field(default_factory=dict)

    def key_metrics(self) -> list[str]:
        """The key metrics present in these runs (TTFT and tokens/s only with LLM requests,
        time over budget only with a budget)."""
        out = []
        for m, *_ in KEY_METRICS:
            if m not in self.runs or self.runs[m].isna().all():
                continue
            if m == "time_over_budget_ms" and ("budget_w" not in self.runs or self.runs["budget_w"].isna().all()):
                continue
            out.append(m)
        return out

    def table(self) -> pd.DataFrame:
        """Policies x key metrics, each with mean, ci_low, ci_high, ci_half and rel_change."""
        from simsched.report.stats import wide_table

        return wide_table(self.summary, self.key_metrics())


def compare(
    config: str,
    policies: list[str],
    seeds: list[int],
    *,
    overrides: list[str] | None = None,
    baseline: str | None = None,
    jobs: int = 1,
    keep_jobs: bool = False,
    keep_tables: bool = False,
    progress: bool | None = None,
) -> Comparison:
    """Run an experiment under several policies and seeds and summarise across seeds.

    Parameters
    ----------
    config : str
        The experiment file.
    policies : list of str
        Registered policy names.
    seeds : list of int
        Root seeds; every policy runs every seed.
    overrides : list of str, optional
        ``key.path=value`` overrides applied to every run (the policy override last).
    baseline : str, optional
        Policy for the relative changes; default the first.
    jobs : int, default 1
        Worker processes (1 runs in this process).
    keep_jobs, keep_tables : bool, default False
        Keep every run's measured jobs, and the first seed's tables per policy.
    progress : bool, optional
        Show a progress bar; default only on a terminal (see :mod:`simsched.report.progress`).

    Returns
    -------
    Comparison
        The tidy runs and their summary. Identical for any ``jobs``.

    Raises
    ------
    ConfigError
        Unknown policy, bad seeds or baseline, or an experiment that does not validate.
    """
    from simsched.build import validate
    from simsched.config.loader import load_config
    from simsched.policies.base import available_policies
    from simsched.report.progress import Progress
    from simsched.report.stats import summarize_runs

    overrides = list(overrides or [])
    _check_choices(policies, seeds, baseline)
    from simsched.policies.base import available_governors

    known = available_policies()
    governors = available_governors()
    for p in policies:
        name, _, gov = p.partition("+")
        if name not in known:
            raise ConfigError("--policies", p, f"unknown policy '{name}'; available: {', '.join(known)}")
        if gov and gov not in governors:
            raise ConfigError("--policies", p, f"unknown governor '{gov}'; available: {', '.join(governors)}")
    base = load_config(config, overrides)
    base_policy = base.resolved.get("policy") or {}
    per_policy: dict[str, tuple[str, ...]] = {}
    for p in policies:
        extra = policy_override(base_policy, p)
        per_policy[p] = tuple(overrides + ([extra] if extra else []))
        validate(load_config(config, list(per_policy[p])))  # bad params, budget or modes fail here, before any run

    specs = [
        RunSpec(i * len(seeds) + k, str(config), per_policy[p], p, s,
                keep_jobs=keep_jobs, keep_tables=keep_tables and k == 0)
        for i, p in enumerate(policies) for k, s in enumerate(seeds)
    ]
    outputs: dict[int, RunOutput] = {}
    with Progress(total=len(specs), desc="compare", enabled=progress) as bar:
        if jobs <= 1 or len(specs) == 1:
            for spec in specs:
                outputs[spec.index] = _checked(run_one(spec), spec)
                bar.update(1, note=f"{spec.policy} seed {spec.seed}")
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(specs))) as pool:
                pending: dict[Future[RunOutput], RunSpec] = {pool.submit(run_one, s): s for s in specs}
                try:
                    while pending:
                        done, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            spec = pending.pop(fut)
                            outputs[spec.index] = _checked(fut.result(), spec)
                            bar.update(1, note=f"{spec.policy} seed {spec.seed}")
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise

    rows, job_frames = [], []
    first: dict[str, dict[str, Any]] = {}
    for spec in specs:  # the comparison's order, whatever the completion order
        out = outputs[spec.index]
        assert out.summary is not None
        rows.append({"policy": spec.policy, "seed": spec.seed, **flatten(out.summary)})
        if out.jobs is not None:
            job_frames.append(out.jobs.assign(policy=spec.policy, seed=spec.seed))
        if out.tables is not None:
            first[spec.policy] = {**out.tables, "summary": out.summary}
    runs = pd.DataFrame(rows)
    runs = runs[["policy", "seed", *_ordered_columns(rows)]]
    summary = summarize_runs(runs, baseline=baseline or policies[0])
    jobs_df = pd.concat(job_frames, ignore_index=True) if job_frames else None
    return Comparison(list(policies), list(seeds), baseline or policies[0], runs, summary, jobs_df, first)


def _ordered_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Metric columns in order of first appearance over the runs (in the comparison's order)."""
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in ("policy", "seed"):
                cols.setdefault(k, None)
    return list(cols)


def _checked(out: RunOutput, spec: RunSpec) -> RunOutput:
    if out.error is None:
        return out
    kind, file, fld, message = out.error
    if kind == "config":
        raise ConfigError(file, fld, message)
    raise SimschedError(f"policy {spec.policy}, seed {spec.seed}: {message}")


def _check_choices(policies: list[str], seeds: list[int], baseline: str | None) -> None:
    if not policies:
        raise ConfigError("--policies", "", "give at least one policy, e.g. --policies fifo,affinity")
    dup = sorted({p for p in policies if policies.count(p) > 1})
    if dup:
        raise ConfigError("--policies", "", f"policy listed twice: {', '.join(dup)}")
    if not seeds:
        raise ConfigError("--seeds", "", "give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConfigError("--seed-list", "", "a seed is listed twice")
    if baseline is not None and baseline not in policies:
        raise ConfigError("--baseline", baseline, f"not one of the compared policies ({', '.join(policies)})")


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
    return "\n".join(lines)


def _seed_text(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}..{seeds[-1]}"
    return "seeds " + ",".join(str(s) for s in seeds)


# ----------------------------------------------------------------------------- outputs


def write_outputs(comp: Comparison, out: Path, *, plots: bool = False, trace: bool = False) -> list[Path]:
    """Write ``runs.csv``, ``summary.csv`` and, if asked, the figures and trace files.

    Parameters
    ----------
    comp : Comparison
        The comparison (with ``jobs`` and ``first`` for plots and traces).
    out : Path
        Output directory (created).
    plots, trace : bool, default False
        Write figures (PNG and SVG) and ``trace_<policy>.json`` files.

    Returns
    -------
    list of Path
        The files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "runs.csv", out / "summary.csv"]
    comp.runs.to_csv(written[0], index=False, lineterminator="\n")
    comp.summary.to_csv(written[1], index=False, lineterminator="\n")
    if plots:
        written += _write_plots(comp, out)
    if trace:
        from simsched.report.trace import write_trace

        for p, tables in comp.first.items():
            written.append(write_trace(tables, out / f"trace_{_safe(p)}.json"))
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_plots(comp: Comparison, out: Path) -> list[Path]:
    from matplotlib.figure import Figure

    from simsched.report import plots
    from simsched.report.trace import processor_order

    written: list[Path] = []

    def new(size: tuple[float, float]) -> Any:
        return Figure(figsize=size, layout="constrained")

    if comp.jobs is not None and len(comp.jobs):
        fig = new((9.0, 5.5))
        plots.latency_cdf(comp.jobs, ax=fig.subplots())
        written += plots.save_figure(fig, out / "latency_cdf")
    fig = new((11.0, 4.0))
    a1, a2 = fig.subplots(1, 2)
    plots.rates_by_policy(comp.summary, "deadline_miss_rate", ax=a1)
    plots.rates_by_policy(comp.summary, "drop_rate", ax=a2)
    written += plots.save_figure(fig, out / "miss_drop_rates")
    if "ttft_mean_ms" in comp.key_metrics():
        fig = new((9.0, 3.8))
        plots.llm_by_policy(comp.summary, ax=fig.subplots(1, 2))
        written += plots.save_figure(fig, out / "llm")
    fig = new((6.5, 4.5))
    plots.energy_vs_latency(comp.summary, ax=fig.subplots())
    written += plots.save_figure(fig, out / "energy_vs_latency")
    for p, t in comp.first.items():
        s = t["summary"]
        procs = processor_order(t)
        start = float(s.get("warmup_ms") or 0.0)
        end = min(float(s["sim_end_ms"]), start + GANTT_WINDOW_MS)
        fig = new((12.0, 1.4 + 0.45 * len(procs)))
        ax = plots.gantt(t["tasks"], t["segments"], t["jobs"], ax=fig.subplots(), t0=start, t1=end, processors=procs)
        ax.set_title(f"{p}, seed {s.get('seed')}: {start:g}-{end:g} ms")
        written += plots.save_figure(fig, out / f"gantt_{_safe(p)}")
        fig = new((12.0, 4.0))
        ax = plots.power_trace(t["power"], s.get("budget_w"), ax=fig.subplots(), t_end=s["sim_end_ms"], processors=procs)
        ax.set_title(f"{p}, seed {s.get('seed')}: power")
        written += plots.save_figure(fig, out / f"power_{_safe(p)}")
    return written


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


def _parse_jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError("--jobs", "", f"expected a number of worker processes, got '{text}'") from None
    if n < 1:
        raise ConfigError("--jobs", "", f"expected at least 1 worker, got {n}")
    return n


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
    comp = compare(
        args.config, policies, seeds, overrides=args.set, baseline=args.baseline, jobs=jobs,
        keep_jobs=args.plots, keep_tables=args.plots or args.trace,
    )
    print(format_table(comp))
    if out is not None:
        try:
            written = write_outputs(comp, out, plots=args.plots, trace=args.trace)
        except OSError as exc:
            raise ConfigError(args.out, "", f"cannot write the outputs ({exc.strerror or exc})") from None
        print(f"wrote {len(written)} files to {out}", file=sys.stderr)
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
                   help=f"with --out: figures (PNG, SVG), and a Gantt chart (first {GANTT_WINDOW_MS:g} ms after the warm-up) "
                   "and power trace of the first seed per policy")
    p.add_argument("--trace", action="store_true", help="with --out: trace_<policy>.json of the first seed (open in https://ui.perfetto.dev)")
    p.add_argument("--jobs", "-j", default="1", metavar="N", help="worker processes (default 1); results do not depend on it")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=cmd_compare)
