"""``compare()``: the same workload and seeds under several policies, with paired statistics.

Each (policy, seed) is an independent run of the experiment with ``policy`` replaced
(the config's governor is kept for policies that take one; ``policy.params`` are kept
only for the policy they were written for) and ``seed`` set. The runs go through
:func:`simsched.sweep.runs.execute` like a sweep's; results are collected by
(policy, seed) and never depend on the executor, the number of workers or the order
in which runs finish. A failing run does not stop the others: the comparison keeps
every finished run and lists the failures.

Statistics (docs/sweeps.md): per policy, the mean and Student-t interval across seeds
(``summary``); per other policy, its change against the baseline with a paired-t
interval and p-value over the shared seeds, or Welch's unpaired interval when the
seeds differ (``changes``).
"""

from __future__ import annotations

import json
import math
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simsched.errors import ConfigError
from simsched.metrics.catalogue import key_metrics
from simsched.sweep.runs import RunOutput, RunSpec, execute, flatten, make_executor

DEFAULT_SEEDS = 5
GANTT_WINDOW_MS = 1000.0

# (metric, label, display scale, digits): the key metrics printed by `simsched compare`, from the catalogue.
KEY_METRICS: tuple[tuple[str, str, float, int], ...] = key_metrics()
CHANGE_COLUMNS = ("policy", "metric", "method", "n", "baseline_mean", "diff", "ci_low", "ci_high", "ci_half",
                  "p_value", "rel_change", "rel_ci_half")


def policy_override(base_policy: dict[str, Any], name: str) -> str | None:
    """The ``--set`` override that switches the experiment to policy ``name``.

    Parameters
    ----------
    base_policy : dict
        The experiment's policy (``{"name", "params", "governor"}``).
    name : str
        The policy to run; ``NAME+GOVERNOR`` adds a DVFS governor.

    Returns
    -------
    str or None
        None for the experiment's own policy (kept with its params); otherwise
        ``policy={...}`` naming ``name`` and the governor (the config's, for a policy
        that takes one).

    Raises
    ------
    ConfigError
        ``NAME+GOVERNOR`` for a policy that sets frequencies itself: the governor
        would not run, and the label would say it did.
    """
    from simsched.policies.base import policy_class

    name, _, governor = name.partition("+")  # "affinity+budget": a policy with a governor
    controls = policy_class(name).controls_frequency
    if governor and controls:
        raise ConfigError("--policies", f"{name}+{governor}",
                          f"policy '{name}' sets frequencies itself; it cannot run with the governor '{governor}'")
    if base_policy.get("name") == name and not governor:
        return None
    new: dict[str, Any] = {"name": name}
    if base_policy.get("name") == name and base_policy.get("params"):
        new["params"] = base_policy["params"]
    governor = governor or base_policy.get("governor")
    if governor and not controls:
        new["governor"] = governor
    return "policy=" + json.dumps(new, sort_keys=True)


def validate_configs(config: str | dict[str, Any], per_policy: dict[str, tuple[str, ...]]) -> None:
    """Check that every policy's experiment can be built, before any run starts.

    The one place where a comparison validates its configs: bad parameters, budgets
    or power modes fail here with a one-line ConfigError rather than in every run.

    Parameters
    ----------
    config : str or dict
        The experiment.
    per_policy : dict
        Policy label -> the overrides of its runs.
    """
    from simsched.build import validate
    from simsched.config.loader import load_config

    for overrides in per_policy.values():
        validate(load_config(config, list(overrides)))


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
    changes : DataFrame
        Each other policy's change against the baseline (:func:`paired_changes`).
    failed : list of str
        ``policy P, seed S: error`` of every run that failed (its row is not in ``runs``).
    seeds_needed : dict
        Policy -> the number of seeds it ran (more than given with ``until_ci``).
    level : float
        Confidence level of ``changes``.
    until_ci : float or None
        The sequential-stopping target, if one was used.
    """

    policies: list[str]
    seeds: list[int]
    baseline: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    jobs: pd.DataFrame | None = None
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CHANGE_COLUMNS)))
    failed: list[str] = field(default_factory=list)
    seeds_needed: dict[str, int] = field(default_factory=dict)
    level: float = 0.95
    until_ci: float | None = None

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

    @property
    def paired(self) -> bool:
        """Whether every change is a paired comparison (all policies ran the same seeds)."""
        return self.changes.empty or bool((self.changes["method"] == "paired-t").all())


def compare(
    config: str | dict[str, Any],
    policies: list[str],
    seeds: list[int],
    *,
    overrides: list[str] | None = None,
    baseline: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    keep_jobs: bool = False,
    keep_tables: bool = False,
    progress: bool | None = None,
    until_ci: float | None = None,
    max_seeds: int | None = None,
    level: float = 0.95,
) -> Comparison:
    """Run an experiment under several policies and seeds and summarise across seeds.

    Parameters
    ----------
    config : str or dict
        The experiment file (or mapping).
    policies : list of str
        Registered policy names; ``NAME+GOVERNOR`` adds a DVFS governor.
    seeds : list of int
        Root seeds; every policy runs every seed.
    overrides : list of str, optional
        ``key.path=value`` overrides applied to every run (the policy override last).
    baseline : str, optional
        Policy the changes are computed against; default the first.
    jobs : int, default 1
        Local worker processes (1 runs in this process).
    scheduler : str, optional
        A Dask distributed scheduler's address instead of local processes.
    executor : Executor, optional
        Any ``concurrent.futures``-style executor; overrides ``jobs`` and ``scheduler``.
    keep_jobs, keep_tables : bool, default False
        Keep every run's measured jobs, and the first seed's tables per policy.
    progress : bool, optional
        Show a progress bar; default only on a terminal.
    until_ci : float, optional
        Sequential stopping: after ``seeds``, keep adding seeds to each policy until the
        interval of every key metric is within ``until_ci`` x |mean| (0.05 = 5%), or
        ``max_seeds`` is reached. :attr:`Comparison.seeds_needed` reports the counts.
    max_seeds : int, optional
        Upper bound on the seeds per policy with ``until_ci`` (default 10 x len(seeds), at least 30).
    level : float, default 0.95
        Confidence level of the changes' intervals (and of the stopping rule).

    Returns
    -------
    Comparison
        The tidy runs, their summary and the changes against the baseline, with the
        failed runs listed in :attr:`Comparison.failed`. Identical for any executor.

    Raises
    ------
    ConfigError
        Unknown policy or governor, a governor on a policy that sets frequencies, bad
        seeds or baseline, or an experiment that does not validate.
    """
    from simsched.config.loader import load_config
    from simsched.policies.base import available_governors, available_policies
    from simsched.report.progress import Progress

    overrides = list(overrides or [])
    _check_choices(policies, seeds, baseline)
    if until_ci is not None and not (until_ci > 0 and math.isfinite(until_ci)):
        raise ConfigError("--until-ci", str(until_ci), "expected a positive relative half-width such as 0.05")
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
    validate_configs(config, per_policy)
    cfg = config if isinstance(config, dict) else str(config)
    limit = max_seeds if max_seeds is not None else max(30, 10 * len(seeds))
    if until_ci is not None and limit < len(seeds):
        raise ConfigError("--max-seeds", str(limit), f"must be at least the {len(seeds)} starting seeds")

    outputs: dict[tuple[str, int], RunOutput] = {}
    run_seeds: dict[str, list[int]] = {p: list(seeds) for p in policies}
    batch = [(p, s) for p in policies for s in seeds]
    total = len(batch)
    with _executor(executor, jobs if total > 1 else 1, scheduler) as ex:
        while batch:
            specs = [RunSpec(i, cfg, per_policy[p], s, keep_jobs=keep_jobs, keep_tables=keep_tables and s == run_seeds[p][0])
                     for i, (p, s) in enumerate(batch)]
            order = dict(enumerate(batch))
            with Progress(total=len(specs), desc="compare", enabled=progress) as bar:
                execute(specs, lambda spec, out, order=order, bar=bar: _keep(spec, out, order, outputs, bar), ex)
            batch = []
            if until_ci is not None:
                for p in policies:
                    if len(run_seeds[p]) < limit and not _converged(outputs, p, run_seeds[p], until_ci, level):
                        # Every policy extends with the same seed sequence, so the seeds stay shared.
                        step = min(limit - len(run_seeds[p]), max(1, jobs // max(1, len(policies))))
                        nxt = max(run_seeds[p]) + 1
                        new = list(range(nxt, nxt + step))
                        run_seeds[p] += new
                        batch += [(p, s) for s in new]
    comp = _assemble(policies, run_seeds, baseline or policies[0], outputs, level)
    comp.until_ci = until_ci
    return comp


def _keep(spec: RunSpec, out: RunOutput, order: dict[int, tuple[str, int]],
          outputs: dict[tuple[str, int], RunOutput], bar: Any) -> None:
    """Keep one finished run as it completes (a later failure cannot lose it)."""
    p, s = order[spec.index]
    outputs[(p, s)] = out
    bar.update(1, note=f"{p} seed {s}" + (" failed" if out.error else ""))


class _executor:
    """A given executor as is, or one made by :func:`make_executor`."""

    def __init__(self, given: Executor | None, jobs: int, scheduler: str | None) -> None:
        self.given, self.jobs, self.scheduler = given, jobs, scheduler
        self._cm: Any = None

    def __enter__(self) -> Executor | None:
        if self.given is not None:
            return self.given
        self._cm = make_executor(self.jobs, self.scheduler)
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)


def _key_values(outputs: dict[tuple[str, int], RunOutput], p: str, seeds: list[int], m: str) -> list[float | None]:
    vals: list[float | None] = []
    for s in seeds:
        out = outputs.get((p, s))
        if out is not None and out.summary is not None:
            vals.append(flatten(out.summary).get(m))
    return vals


def _converged(outputs: dict[tuple[str, int], RunOutput], p: str, seeds: list[int], rel: float, level: float) -> bool:
    """Whether every key metric of ``p`` has an interval within ``rel`` x |mean|."""
    from simsched.report.stats import mean_interval

    for m, *_ in KEY_METRICS:
        ci = mean_interval(_key_values(outputs, p, seeds, m), level)
        if ci.n == 0:
            continue  # the metric does not apply (no LLM request, no budget)
        if not math.isfinite(ci.half_width):
            return False
        if ci.half_width > rel * abs(ci.mean) and ci.half_width > 0:
            return False
    return True


def _assemble(policies: list[str], run_seeds: dict[str, list[int]], baseline: str,
              outputs: dict[tuple[str, int], RunOutput], level: float) -> Comparison:
    from simsched.report.stats import summarize_runs

    rows, job_frames, failed = [], [], []
    first: dict[str, dict[str, Any]] = {}
    for p in policies:  # the comparison's order, whatever the completion order
        for s in run_seeds[p]:
            out = outputs[(p, s)]
            if out.summary is None:
                failed.append(f"policy {p}, seed {s}: {out.error_text}")
                continue
            rows.append({"policy": p, "seed": s, **flatten(out.summary)})
            if out.jobs is not None:
                job_frames.append(out.jobs.assign(policy=p, seed=s))
            if out.tables is not None:
                first[p] = {**out.tables, "summary": {k: v for k, v in out.tables["summary"].items() if k != "manifest"}}
    all_seeds = sorted({s for v in run_seeds.values() for s in v}, key=lambda s: (s not in run_seeds[policies[0]], s))
    if rows:
        runs = pd.DataFrame(rows)
        runs = runs[["policy", "seed", *_ordered_columns(rows)]]
        present = list(dict.fromkeys(runs["policy"]))
        summary = summarize_runs(runs, baseline=baseline if baseline in present else None)
    else:
        runs = pd.DataFrame(columns=["policy", "seed"])
        summary = pd.DataFrame(columns=["policy", "metric", "n", "mean", "std", "ci_low", "ci_high", "ci_half", "rel_change"])
    changes = paired_changes(runs, baseline, level=level)
    jobs_df = pd.concat(job_frames, ignore_index=True) if job_frames else None
    return Comparison(list(policies), all_seeds, baseline, runs, summary, jobs_df, first, changes=changes,
                      failed=failed, seeds_needed={p: len(v) for p, v in run_seeds.items()}, level=level)


def paired_changes(runs: pd.DataFrame, baseline: str, *, metrics: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Every policy's change against the baseline, metric by metric, with its interval and p-value.

    Parameters
    ----------
    runs : DataFrame
        One row per (policy, seed) (``runs.csv``).
    baseline : str
        The reference policy.
    metrics : list of str, optional
        Default every numeric metric column.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    DataFrame
        Columns :data:`CHANGE_COLUMNS`: ``diff`` = mean of (policy - baseline) over
        the shared seeds (paired-t) when both ran the same seeds, else the difference
        of the means with Welch's interval (``method``); ``ci_low``, ``ci_high``,
        ``ci_half`` in the metric's unit; ``p_value`` of "no change"; ``rel_change`` and
        ``rel_ci_half`` relative to |baseline mean|.
    """
    from simsched.report.stats import paired_interval, relative_change, welch_interval

    if runs.empty or baseline not in set(runs["policy"]):
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    if metrics is None:
        metrics = [c for c in runs.columns if c not in ("policy", "seed") and pd.api.types.is_numeric_dtype(runs[c])
                   and not pd.api.types.is_bool_dtype(runs[c])]
    base = runs[runs["policy"] == baseline].set_index("seed")
    rows = []
    for p in dict.fromkeys(runs["policy"]):
        if p == baseline:
            continue
        other = runs[runs["policy"] == p].set_index("seed")
        shared = sorted(set(base.index) & set(other.index))
        paired = set(base.index) == set(other.index)
        for m in metrics:
            a_all = pd.to_numeric(base[m], errors="coerce")
            b_all = pd.to_numeric(other[m], errors="coerce")
            if paired:
                iv = paired_interval(a_all.loc[shared].tolist(), b_all.loc[shared].tolist(), level)
            else:
                iv = welch_interval(a_all.tolist(), b_all.tolist(), level)
            bmean = float(a_all.mean()) if a_all.notna().any() else math.nan
            rel = relative_change(bmean + iv.mean, bmean) if math.isfinite(iv.mean) else math.nan
            rel_half = iv.half_width / abs(bmean) if math.isfinite(bmean) and bmean != 0 else math.nan
            rows.append((p, m, iv.method, iv.n, bmean, iv.mean, iv.mean - iv.half_width, iv.mean + iv.half_width,
                         iv.half_width, iv.p_value, rel, rel_half))
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def _ordered_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Metric columns in order of first appearance over the runs (in the comparison's order)."""
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in ("policy", "seed"):
                cols.setdefault(k, None)
    return list(cols)


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


# ----------------------------------------------------------------------------- outputs


def write_outputs(comp: Comparison, out: Path, *, plots: bool = False, trace: bool = False, svg: bool = False) -> list[Path]:
    """Write ``runs.csv``, ``summary.csv``, ``changes.csv`` and, if asked, the figures and trace files.

    Parameters
    ----------
    comp : Comparison
        The comparison (with ``jobs`` and ``first`` for plots and traces).
    out : Path
        Output directory (created).
    plots, trace : bool, default False
        Write figures (PNG) and ``trace_<policy>.json`` files.
    svg : bool, default False
        Also write each figure as SVG.

    Returns
    -------
    list of Path
        The files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "runs.csv", out / "summary.csv"]
    comp.runs.to_csv(written[0], index=False, lineterminator="\n")
    comp.summary.to_csv(written[1], index=False, lineterminator="\n")
    if len(comp.policies) > 1:
        written.append(out / "changes.csv")
        comp.changes.to_csv(written[-1], index=False, lineterminator="\n")
    if plots:
        written += _write_plots(comp, out, ("png", "svg") if svg else ("png",))
    if trace:
        from simsched.report.trace import write_trace

        for p, tables in comp.first.items():
            written.append(write_trace(tables, out / f"trace_{_safe(p)}.json"))
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_plots(comp: Comparison, out: Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    from matplotlib.figure import Figure

    from simsched.report import plots
    from simsched.report.trace import processor_order

    written: list[Path] = []

    def new(size: tuple[float, float]) -> Any:
        return Figure(figsize=size, layout="constrained")

    if comp.jobs is not None and len(comp.jobs):
        fig = new((9.0, 5.5))
        plots.latency_cdf(comp.jobs, ax=fig.subplots())
        written += plots.save_figure(fig, out / "latency_cdf", formats)
    fig = new((11.0, 4.0))
    a1, a2 = fig.subplots(1, 2)
    plots.rates_by_policy(comp.summary, "deadline_miss_rate", ax=a1)
    plots.rates_by_policy(comp.summary, "drop_rate", ax=a2)
    written += plots.save_figure(fig, out / "miss_drop_rates", formats)
    if "ttft_mean_ms" in comp.key_metrics():
        fig = new((9.0, 3.8))
        plots.llm_by_policy(comp.summary, ax=fig.subplots(1, 2))
        written += plots.save_figure(fig, out / "llm", formats)
    fig = new((6.5, 4.5))
    plots.energy_vs_latency(comp.summary, ax=fig.subplots())
    written += plots.save_figure(fig, out / "energy_vs_latency", formats)
    for p, t in comp.first.items():
        s = t["summary"]
        procs = processor_order(t)
        start = float(s.get("warmup_ms") or 0.0)
        end = min(float(s["sim_end_ms"]), start + GANTT_WINDOW_MS)
        fig = new((12.0, 1.4 + 0.45 * len(procs)))
        ax = plots.gantt(t["tasks"], t["segments"], t["jobs"], ax=fig.subplots(), t0=start, t1=end, processors=procs)
        ax.set_title(f"{p}, seed {s.get('seed')}: {start:g}-{end:g} ms")
        written += plots.save_figure(fig, out / f"gantt_{_safe(p)}", formats)
        fig = new((12.0, 4.0))
        ax = plots.power_trace(t["power"], s.get("budget_w"), ax=fig.subplots(), t_end=s["sim_end_ms"], processors=procs)
        ax.set_title(f"{p}, seed {s.get('seed')}: power")
        written += plots.save_figure(fig, out / f"power_{_safe(p)}", formats)
    return written
