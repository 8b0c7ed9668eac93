"""Tables and figures of the Twill study from its ``simsched compare`` results.

Usage: ``python experiments/twill/report.py [STUDY_DIR]`` (default: this folder).

1. Re-simulates seed 1 of ``fifo``, ``twill`` and ``dream`` in the 15W mode (runs are
   deterministic, so these are the comparison's own seed-1 runs) for the Gantt charts and
   power traces, and writes where each model ran to ``results/15W/placement_seed1.csv``.
2. Reads ``STUDY_DIR/results/<mode>/{runs,summary}.csv`` and rewrites the generated blocks
   of ``STUDY_DIR/README.md`` (between ``<!-- BEGIN name ... -->`` and ``<!-- END name -->``).
3. Writes the figures to ``STUDY_DIR/figures/``.

No number in the README is typed by hand: :func:`tables` renders every block from the
files in ``results/``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from simsched.report.stats import mean_ci

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from studylib import load_results, md_table, num, pm, policies_of, replace_blocks, stat, write_readme  # noqa: E402

MODES = ("10W", "15W", "25W")
FOCUS = "15W"  # the platform's default nvpmodel mode: per-app tables, Gantt charts, power traces
TRACED = ("fifo", "twill", "dream")
PAPER_REDUCTION = -0.54  # Twill abstract: 54% lower latency on average than its baselines
# Groups of baselines: the baselines docs/policies/ names
# for the Twill comparison (FIFO on the GPU, affinity-only without DVFS or freezing) and
# the DREAM-like scorer.
GROUPS = {
    "FIFO and affinity baselines": ("fifo", "affinity", "affinity+budget"),
    "DREAM-like scorer": ("dream", "dream+budget"),
}
BLOCKS = ("reduction", "latency", "budget", "apps", "utilisation", "placement", "duration")
CHECK = "15W-long"  # results/15W-long: the duration check of run.sh


def load(results: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Key -> (runs, summary) for the folders present under ``results``."""
    return load_results(results, MODES)


# ----------------------------------------------------------------------------- helpers


def paired_change(runs: pd.DataFrame, metric: str, policy: str, baseline: str) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds of the per-seed change ``policy / baseline - 1``.

    Every policy sees the same arrivals for a given seed (common random numbers), so
    the per-seed ratio removes most of the seed-to-seed variation of the offered load.
    """
    a = runs[runs["policy"] == policy].set_index("seed")[metric]
    b = runs[runs["policy"] == baseline].set_index("seed")[metric]
    ci = mean_ci((a / b - 1.0).dropna().tolist())
    return ci.mean, ci.low, ci.high


def change_text(mean: float, low: float, high: float) -> str:
    if not math.isfinite(mean):
        return "-"
    text = f"{mean * 100:+.1f}%"
    if math.isfinite(low):
        text += f" [{low * 100:+.0f}, {high * 100:+.0f}]"
    return text


def avg(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def honours_budget(runs: pd.DataFrame, policy: str) -> bool:
    return bool((runs.loc[runs["policy"] == policy, "time_over_budget_ms"].fillna(0.0) == 0.0).all())


def apps_of(runs: pd.DataFrame) -> list[str]:
    return sorted({c.split(".")[1] for c in runs.columns if c.startswith("apps.") and c.endswith(".jobs_arrived")})


def focus_of(data: dict) -> str:
    return FOCUS if FOCUS in data else next(iter(data))


# ----------------------------------------------------------------------------- tables


def reduction_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    modes = list(data)
    baselines = [p for p in policies_of(data[modes[0]][0]) if p != "twill"]
    rows, per_base = [], {}
    for base in baselines:
        cells, means = [], []
        for mode in modes:
            runs = data[mode][0]
            m, lo, hi = paired_change(runs, "latency_mean_ms", "twill", base)
            cells.append(change_text(m, lo, hi) + ("" if honours_budget(runs, base) else " (baseline over budget)"))
            means.append(m)
        per_base[base] = means
        rows.append([f"`{base}`", *cells, change_text(avg(means), math.nan, math.nan)])
    text = md_table(["twill's mean latency vs", *modes, "mean over modes"], rows)
    text += ("\n\nCells: mean over seeds of the per-seed change of the mean job latency, `twill / baseline - 1`, "
             "with its 95% t-interval in brackets (the same seed gives every policy the same arrivals).\n")
    for group, members in GROUPS.items():
        vals = [v for b in members if b in per_base for v in per_base[b]]
        if vals:
            text += f"\n* vs the {group} ({', '.join(f'`{b}`' for b in members if b in per_base)}), mean over modes: " \
                    f"**{change_text(avg(vals), math.nan, math.nan)}**"
    allv = [v for vs in per_base.values() for v in vs]
    text += (f"\n* vs every baseline, mean over baselines and modes: **{change_text(avg(allv), math.nan, math.nan)}**"
             f"\n* paper (Twill on a Jetson Orin NX, against its own baselines): **{PAPER_REDUCTION * 100:+.0f}%** on average"
             f"\n* `twill` stayed within the budget in every run of every mode: "
             f"**{'yes' if all(honours_budget(data[m][0], 'twill') for m in modes) else 'no'}**")
    return text


def latency_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    header = ["mode", "policy", "mean latency (ms)", "p95 latency (ms)", "deadline miss (%)", "dropped (%)",
              "LLM TTFT (ms)", "decode tokens/s"]
    rows = []
    for mode, (runs, summary) in data.items():
        for p in policies_of(runs):
            rows.append([mode, f"`{p}`", pm(summary, p, "latency_mean_ms"), pm(summary, p, "latency_p95_ms", 0),
                         pm(summary, p, "deadline_miss_rate", 1, 100), pm(summary, p, "drop_rate", 1, 100),
                         pm(summary, p, "ttft_mean_ms", 0), pm(summary, p, "tokens_per_s_mean")])
    n = data[next(iter(data))][0]["seed"].nunique()
    return md_table(header, rows) + f"\n\nmean ± 95% CI half-width over {n} seeds; latencies over finished jobs."


def budget_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    header = ["mode", "policy", "budget (W)", "avg power (W)", "peak power (W, max over seeds)",
              "time over budget (ms per run)", "runs over budget", "energy (J per run)"]
    rows = []
    for mode, (runs, summary) in data.items():
        for p in policies_of(runs):
            r = runs[runs["policy"] == p]
            over = int((r["time_over_budget_ms"].fillna(0.0) > 0).sum())
            rows.append([mode, f"`{p}`", num(r["budget_w"].iloc[0], 0), pm(summary, p, "avg_power_w", 2),
                         num(r["peak_power_w"].max(), 2), pm(summary, p, "time_over_budget_ms", 0),
                         f"{over} / {len(r)}", pm(summary, p, "energy_mj", 1, 1e-3)])
    return md_table(header, rows) + "\n\nPower of the whole module (static + every processor); energy over the whole run."


def apps_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    mode = focus_of(data)
    runs, summary = data[mode]
    pols = policies_of(runs)
    rows = []
    for app in apps_of(runs):
        rows.append([app, *[f"{num(stat(summary, p, f'apps.{app}.latency_mean_ms'), 0)} / "
                            f"{num(stat(summary, p, f'apps.{app}.deadline_miss_rate'), 1, 100)}" for p in pols]])
    return (md_table(["app", *[f"`{p}`" for p in pols]], rows)
            + f"\n\nPower mode {mode}. Each cell: mean job latency (ms) / deadline miss rate (%), means over the seeds. "
            "The other modes' per-app metrics are in `results/<mode>/summary.csv`.")


def utilisation_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    mode = focus_of(data)
    runs = data[mode][0]
    procs = [c.split(".", 1)[1] for c in runs.columns if c.startswith("utilization.")]
    rows = [[f"`{p}`", *[num(runs.loc[runs["policy"] == p, f"utilization.{q}"].mean(), 0, 100) for q in procs]]
            for p in policies_of(runs)]
    return md_table(["policy", *procs], rows) + \
        f"\n\nPower mode {mode}: share of each processor's time spent executing (%), mean over the seeds."


def placement_table(results: Path, data: dict) -> str:
    path = results / focus_of(data) / "placement_seed1.csv"
    if not path.exists():
        return "(not generated: run report.py with the figures step)"
    df = pd.read_csv(path)
    procs = [c for c in df.columns if c not in ("policy", "model", "tasks", "freezes", "migrations")]
    rows = [[f"`{r.policy}`", r.model, str(r.tasks), *[num(getattr(r, q), 0, 100) for q in procs], str(r.freezes), str(r.migrations)]
            for r in df.itertuples(index=False)]
    return md_table(["policy", "model", "tasks done", *[f"% on {q}" for q in procs], "freezes", "migrations"], rows) + \
        f"\n\nPower mode {focus_of(data)}, seed 1 (the same run as the Gantt charts): where each model's finished tasks ran."


def duration_table(results: Path, data: dict) -> str:
    """twill against fifo and dream at the focus mode: the main runs and the longer check runs."""
    sets = []
    if FOCUS in data:
        sets.append(data[FOCUS][0])
    if (results / CHECK / "runs.csv").exists():
        sets.append(pd.read_csv(results / CHECK / "runs.csv"))
    rows = []
    for runs in sets:
        pols = policies_of(runs)
        rows.append([f"{num(runs['sim_end_ms'].iloc[0] / 1000, 0)} s x {runs['seed'].nunique()} seeds",
                     *[change_text(*paired_change(runs, "latency_mean_ms", "twill", b)) if b in pols else "-" for b in ("fifo", "dream")]])
    return md_table(["runs (power mode 15W)", "twill vs `fifo`", "twill vs `dream`"], rows) + \
        "\n\nChange of the mean job latency as in the first table (mean of per-seed changes, 95% t-interval)."


def tables(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], results: Path) -> dict[str, str]:
    """The generated README blocks by name; the committed README is rendered by this function."""
    return {
        "reduction": reduction_table(data),
        "latency": latency_table(data),
        "budget": budget_table(data),
        "apps": apps_table(data),
        "utilisation": utilisation_table(data),
        "placement": placement_table(results, data),
        "duration": duration_table(results, data),
    }


# ----------------------------------------------------------------------------- runs of seed 1 and figures


def online_processors(config: Path, mode: str) -> list[str]:
    """The platform's processors in its own order, without those offline in ``mode``."""
    from simsched.config.loader import load_config

    plat = load_config(str(config), [f"power_mode={mode}"]).resolved["platform"]
    offline = set((plat.get("power_modes") or {}).get(mode, {}).get("offline") or [])
    return [p for p in plat["processors"] if p not in offline]


def trace_seed1(data: dict, results: Path, figdir: Path, config: Path) -> list[Path]:
    """Seed 1 of the traced policies at the focus mode: Gantt chart, power trace, placement CSV."""
    from matplotlib.figure import Figure

    import simsched
    from simsched.report import plots

    mode = focus_of(data)
    runs = data[mode][0]
    duration, warmup = float(runs["sim_end_ms"].iloc[0]), float(runs["warmup_ms"].iloc[0])
    t0, t1 = warmup, min(duration, warmup + 1000.0)
    procs = online_processors(config, mode)
    written, placement = [], []
    for p in TRACED:
        if p not in policies_of(runs):
            continue
        r = simsched.simulate(str(config), overrides=[f"power_mode={mode}", f"policy={p}", f"duration_ms={duration:g}"], seed=1)
        fig = Figure(figsize=(12.0, 1.6 + 0.5 * len(procs)), layout="constrained")
        ax = plots.gantt(r.tasks, r.segments, r.jobs, ax=fig.subplots(), t0=t0, t1=t1, processors=procs)
        ax.set_title(f"{p}: twill-cai on jetson-orin-nx, power mode {mode}, seed 1, {t0:g}-{t1:g} ms")
        written += plots.save_figure(fig, figdir / f"gantt_{p}", formats=("png",))
        fig = Figure(figsize=(12.0, 4.0), layout="constrained")
        ax = plots.power_trace(r.power, r.summary.get("budget_w"), ax=fig.subplots(), t_end=duration, t0=t0, t1=t1, processors=procs)
        ax.set_title(f"{p}: module power, power mode {mode}, seed 1, {t0:g}-{t1:g} ms")
        written += plots.save_figure(fig, figdir / f"power_{p}", formats=("png",))
        done = r.tasks[r.tasks["state"] == "done"]
        for model, g in done.groupby("model", sort=True):
            row = {"policy": p, "model": model, "tasks": len(g)}
            row.update({q: float((g["processor"] == q).mean()) for q in procs})
            row.update(freezes=int(g["freezes"].sum()), migrations=int(g["migrations"].sum()))
            placement.append(row)
    pd.DataFrame(placement).to_csv(results / mode / "placement_seed1.csv", index=False, lineterminator="\n", float_format="%.6g")
    return written


def figures(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], figdir: Path) -> list[Path]:
    """Mean latency per mode and policy; per-app miss rates and energy vs latency at the focus mode."""
    import numpy as np
    from matplotlib.figure import Figure

    from simsched.report import plots

    written: list[Path] = []
    modes = list(data)
    pols = policies_of(data[modes[0]][0])
    colors = plots.policy_colors(pols)
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(pols)
    for i, p in enumerate(pols):
        means = [stat(data[m][1], p, "latency_mean_ms") for m in modes]
        errs = [np.nan_to_num(stat(data[m][1], p, "latency_mean_ms", "ci_half")) for m in modes]
        ax.bar(np.arange(len(modes)) - 0.4 + width * (i + 0.5), means, width, yerr=errs, capsize=3, color=colors[p], label=p)
    ax.set_xticks(range(len(modes)), [f"{m} mode (budget {m[:-1]} W)" for m in modes])
    ax.set_ylabel("mean job latency (ms)")
    ax.set_title("twill-cai on jetson-orin-nx: mean job latency (95% CI over seeds)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="policy", fontsize="small", ncols=2)
    written += plots.save_figure(fig, figdir / "latency_by_mode", formats=("png",))

    mode = focus_of(data)
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    ax = plots.rates_by_policy(data[mode][1], "deadline_miss_rate", ax=fig.subplots())
    ax.set_title(f"deadline miss rate per app, power mode {mode}")
    ax.legend(title="policy", fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    written += plots.save_figure(fig, figdir / f"miss_by_app_{mode}", formats=("png",))
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = plots.energy_vs_latency(data[mode][1], ax=fig.subplots())
    ax.set_title(f"energy vs latency, power mode {mode}")
    written += plots.save_figure(fig, figdir / f"energy_vs_latency_{mode}", formats=("png",))
    return written


# ----------------------------------------------------------------------------- main


def render(study: Path) -> str:
    """The README of ``study`` with its generated blocks rendered from ``study/results``."""
    data = load(study / "results")
    text = (study / "README.md").read_text(encoding="utf-8")
    return replace_blocks(text, tables(data, study / "results"))


def main(argv: list[str]) -> int:
    study = Path(argv[0]).resolve() if argv else HERE
    data = load(study / "results")
    figdir = study / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    written = trace_seed1(data, study / "results", figdir, HERE / "config.yaml")
    written += figures(data, figdir)
    return write_readme(study, render(study), written)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
