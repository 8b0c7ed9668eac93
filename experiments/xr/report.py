"""Tables and figures of the XR study from the runs of ``run_xr.py``.

Usage: ``python experiments/xr/report.py [STUDY_DIR]`` (default: this folder). Reads
``STUDY_DIR/results/<duration>ms/<scenario>/{runs,summary}.csv`` and the shipped platform
and workload files (for the feasibility table), rewrites the generated blocks of
``STUDY_DIR/README.md`` (between ``<!-- BEGIN name ... -->`` and ``<!-- END name -->``)
and writes ``STUDY_DIR/figures/*.png``. No number in the README is typed by hand.

UXCost of a (scenario, policy) is pooled over the seeds: the sum of the seeds' window
energies over the sum of their on-time jobs (the seeds taken as one long run). Unlike the
mean of per-seed values it stays defined when a seed has no on-time job (infinite UXCost).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from studylib import md_table, num, replace_blocks, stat, write_readme  # noqa: E402

SCENARIOS = ("vr-gaming", "ar-gaming", "ar-assistant", "outdoor-a", "outdoor-b", "social-a", "social-b")
POLICIES = ("latency-greedy", "edf", "dream")
BASELINES = ("latency-greedy", "edf")
PAPER = {"geomean": (-0.322, -0.500), "max": (-0.808, -0.976)}  # DREAM (ASPLOS 2023) vs its two unnamed baselines
BLOCKS = ("feasibility", "geomean", "scenarios", "apps")


# ----------------------------------------------------------------------------- helpers


def pm(summary: pd.DataFrame, policy: str, metric: str, digits: int = 1, scale: float = 1.0) -> str:
    """``mean ± 95% CI half-width`` of a metric from summary.csv (no interval when every seed agrees)."""
    mean, half = stat(summary, policy, metric), stat(summary, policy, metric, "ci_half")
    if not math.isfinite(mean):
        return "-"
    shown = math.isfinite(half) and round(half * scale, digits) > 0  # identical seeds: no interval
    return num(mean, digits, scale) + (f" ± {num(half, digits, scale)}" if shown else "")


Data = dict[str, dict[str, tuple[pd.DataFrame, pd.DataFrame]]]  # duration label -> scenario -> (runs, summary)


def load(results: Path) -> Data:
    """Duration folder (e.g. ``700ms``) -> scenario -> (runs, summary), durations in increasing order."""
    out: Data = {}
    folders = sorted((d for d in results.glob("*ms") if d.is_dir()), key=lambda d: float(d.name[:-2]))
    for d in folders:
        found = {sc: (pd.read_csv(d / sc / "runs.csv"), pd.read_csv(d / sc / "summary.csv"))
                 for sc in SCENARIOS if (d / sc / "runs.csv").exists()}
        if found:
            out[d.name] = found
    if not out:
        raise FileNotFoundError(f"no results under {results}")
    return out


def label(duration: str) -> str:
    ms = float(duration[:-2])
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def pooled_uxcost(runs: pd.DataFrame, policy: str) -> float:
    """Sum of window energy over the sum of on-time jobs across seeds (mJ per on-time job); inf if none."""
    r = runs[runs["policy"] == policy]
    on_time = float(r["on_time_jobs"].sum())
    return float(r["window_energy_mj"].sum()) / on_time if on_time > 0 else math.inf


def ux_text(x: float) -> str:
    return "inf (no on-time job)" if math.isinf(x) else num(x, 1)


def apps_of(runs: pd.DataFrame) -> list[str]:
    return [c.split(".")[1] for c in runs.columns if c.startswith("apps.") and c.endswith(".jobs_arrived")]


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else math.nan


# ----------------------------------------------------------------------------- feasibility (from the profiles)


def feasibility() -> list[tuple[str, str, str, float, str, float]]:
    """(scenario, app, model, period, fastest accelerator, time there) for every model of every scenario."""
    from simsched.config.loader import load_config

    out = []
    for sc in SCENARIOS:
        resolved = load_config(str(HERE / "configs" / f"{sc}.yaml"), []).resolved
        plat, wl = resolved["platform"], resolved["workload"]
        for app, spec in wl["apps"].items():
            period = float(spec["arrival"]["period_ms"])
            for task in spec["graph"].values():
                lat = plat["models"][task["model"]]["latency_ms"]
                times = {p: float(lat.get(p, lat.get(plat["processors"][p]["kind"], math.nan))) for p in plat["processors"]}
                best = min(times, key=times.get)
                after = ", ".join(f"after {k} (p = {v.get('prob', 1.0):g})" for k, v in (task.get("after") or {}).items())
                out.append((sc, app, task["model"] + (f" ({after})" if after else ""), period, best, times[best]))
    return out


def infeasible_scenarios() -> set[str]:
    """Scenarios with a model that exceeds its frame period even on its fastest accelerator."""
    return {sc for sc, _a, _m, period, _b, t in feasibility() if t > period}


def feasibility_table() -> str:
    rows = [[sc, app, model, num(period, 0), best, num(t, 2), f"**{num(t / period, 2)}**" if t > period else num(t / period, 2)]
            for sc, app, model, period, best, t in feasibility()]
    return md_table(["scenario", "app", "model", "period = deadline (ms)", "fastest accelerator", "time there (ms)",
                     "time / period"], rows) + (
        "\n\nFrom the platform profile (one OPP, no queueing). A ratio above 1 (bold) means the model alone misses every "
        "frame even with both accelerators to itself; the ratios of an app's cascade add up.")


# ----------------------------------------------------------------------------- result tables


def geomean_table(data: Data) -> str:
    feasible = [sc for sc in SCENARIOS if sc not in infeasible_scenarios()]
    rows = []
    for d, scen in data.items():
        for i, base in enumerate(BASELINES):
            ratios, per = {}, []
            for sc, (runs, _) in scen.items():
                a, b = pooled_uxcost(runs, "dream"), pooled_uxcost(runs, base)
                if math.isfinite(a) and math.isfinite(b) and b > 0:
                    ratios[sc] = a / b
                    per.append(f"{sc} {(a / b - 1) * 100:+.0f}%")
                else:
                    per.append(f"{sc} n/a ({'baseline' if math.isinf(b) else 'dream'} inf)")
            g_all = geomean(list(ratios.values()))
            g_feas = geomean([r for sc, r in ratios.items() if sc in feasible])
            rows.append([label(d), f"`dream` vs `{base}`",
                         f"**{(g_all - 1) * 100:+.1f}%** ({len(ratios)} of {len(scen)})" if ratios else "-",
                         f"{(g_feas - 1) * 100:+.1f}%" if math.isfinite(g_feas) else "-",
                         f"{(min(ratios.values()) - 1) * 100:+.1f}%" if ratios else "-",
                         f"{PAPER['geomean'][i] * 100:+.1f}% (largest {PAPER['max'][i] * 100:+.1f}%)", "; ".join(per)])
    return md_table(["duration", "UXCost change", "geomean (scenarios)", "geomean, feasible scenarios only",
                     "largest reduction", "paper: geomean (largest)", "per scenario"], rows) + (
        "\n\nUXCost pooled over the seeds (total window energy / total on-time jobs); change = dream / baseline - 1, "
        "geometric mean over the scenarios where both are finite. \"Feasible scenarios\": those in which every model fits "
        f"its frame period on its fastest accelerator (feasibility table): {', '.join(feasible) or 'none'}. The paper's two "
        "baselines are not named in its abstract; pairing them with `latency-greedy` and `edf` in this order is ours.")


def scenarios_table(data: Data) -> str:
    rows = []
    for d, scen in data.items():
        for sc, (runs, summary) in scen.items():
            for p in POLICIES:
                if p not in set(runs["policy"]):
                    continue
                rows.append([label(d), sc, f"`{p}`", ux_text(pooled_uxcost(runs, p)), pm(summary, p, "xrbench_score", 1),
                             pm(summary, p, "xrbench_scenario_score", 1),
                             pm(summary, p, "deadline_miss_rate", 1, 100), pm(summary, p, "drop_rate", 1, 100),
                             pm(summary, p, "energy_mj", 0)])
    n = next(iter(next(iter(data.values())).values()))[0]["seed"].nunique()
    return md_table(["duration", "scenario", "policy", "UXCost (mJ per on-time frame)", "XRBench score",
                     "scaled as XRBench's figures", "deadline miss (%)", "dropped (%)", "energy (mJ per run)"], rows) + (
        f"\n\nmean ± 95% CI half-width over {n} seeds (no interval: every seed gave the same value; the seeds only "
        "change cascade outcomes, so scenarios whose cascades always fire are deterministic). UXCost pooled over the "
        "seeds; lower is better. XRBench score 0-100, higher is better: the mean over the models that logged a frame, "
        "as the artifact's summary files; \"scaled as XRBench's figures\" multiplies it by the share of the scenario's "
        "models that logged one, as the artifact's plotting script does (docs/metrics.md).")


def apps_table(data: Data) -> str:
    durs = list(data)
    header = ["scenario", "app", *[f"{p} {label(d)}" for d in durs for p in POLICIES]]
    rows = []
    for sc in SCENARIOS:
        if sc not in data[durs[0]]:
            continue
        for app in apps_of(data[durs[0]][sc][0]):
            cells = []
            for d in durs:
                summary = data[d][sc][1]
                for p in POLICIES:
                    miss = stat(summary, p, f"apps.{app}.deadline_miss_rate")
                    drop = stat(summary, p, f"apps.{app}.drop_rate")
                    cells.append(f"{num(miss, 0, 100)} ({num(drop, 0, 100)})")
            rows.append([sc, app, *cells])
    return md_table(header, rows) + "\n\nEach cell: deadline miss rate (%) and, in brackets, the share dropped (%), means over the seeds."


def tables(data: Data) -> dict[str, str]:
    """The generated README blocks by name; the committed README is rendered by this function."""
    return {"feasibility": feasibility_table(), "geomean": geomean_table(data), "scenarios": scenarios_table(data),
            "apps": apps_table(data)}


# ----------------------------------------------------------------------------- figures and main


def figures(data: Data, figdir: Path) -> list[Path]:
    """UXCost (log scale) and XRBench score per scenario and policy, one panel per duration."""
    import numpy as np
    from matplotlib.figure import Figure

    from simsched.report import plots

    figdir.mkdir(parents=True, exist_ok=True)
    colors = plots.policy_colors(POLICIES)
    fig = Figure(figsize=(11.0, 3.4 * len(data) + 0.6), layout="constrained")
    axes = fig.subplots(len(data), 2, squeeze=False)
    width = 0.8 / len(POLICIES)
    for row, (d, scen) in zip(axes, data.items(), strict=True):
        names = list(scen)
        x = np.arange(len(names))
        for i, p in enumerate(POLICIES):
            ux = [pooled_uxcost(scen[sc][0], p) for sc in names]
            score = [stat(scen[sc][1], p, "xrbench_score") for sc in names]
            err = [np.nan_to_num(stat(scen[sc][1], p, "xrbench_score", "ci_half")) for sc in names]
            off = x - 0.4 + width * (i + 0.5)
            row[0].bar(off, [u if math.isfinite(u) else np.nan for u in ux], width, color=colors[p], label=p)
            row[1].bar(off, score, width, yerr=err, capsize=2, color=colors[p], label=p)
        row[0].set_yscale("log")
        row[0].set_ylabel("UXCost (mJ / on-time frame)")
        row[1].set_ylabel("XRBench score")
        row[1].set_ylim(0, 100)
        for ax in row:
            ax.set_xticks(x, names, rotation=30, ha="right")
            ax.grid(axis="y", alpha=0.3)
            ax.set_title(f"{label(d)} runs")
        row[0].legend(fontsize="small")
    fig.suptitle("XRBench scenarios on xr-dual-4k: UXCost (lower is better) and XRBench score (higher is better)")
    return plots.save_figure(fig, figdir / "uxcost_score", formats=("png",))


def render(study: Path) -> str:
    """The README of ``study`` with its generated blocks rendered from ``study/results``."""
    text = (study / "README.md").read_text(encoding="utf-8")
    return replace_blocks(text, tables(load(study / "results")))


def main(argv: list[str]) -> int:
    study = Path(argv[0]).resolve() if argv else HERE
    written = figures(load(study / "results"), study / "figures")
    return write_readme(study, render(study), written)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
