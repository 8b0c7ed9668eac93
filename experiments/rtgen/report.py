"""Tables and figures of the RTGen study from its ``simsched compare`` results.

Usage: ``python experiments/rtgen/report.py [STUDY_DIR]`` (default: this folder). Reads
``STUDY_DIR/results/<workload>/{runs,summary}.csv`` and the shipped platform and workload
files (for the feasibility table), rewrites the generated blocks of ``STUDY_DIR/README.md``
(between ``<!-- BEGIN name ... -->`` and ``<!-- END name -->``) and writes
``STUDY_DIR/figures/*.png``. No number in the README is typed by hand.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from studylib import load_results, md_table, num, pm, policies_of, replace_blocks, stat, write_readme  # noqa: E402

WORKLOADS = ("gaming", "videoconf")  # experiments/rtgen/<workload>.yaml
LLM_APPS = {"gaming": "npc_dialogue", "videoconf": "meeting_assistant"}
PAPER_SPREAD_PP = 41.7  # Karami et al.: "a 41.7% difference in deadline violation rates on average"
BLOCKS = ("feasibility", "spread", "policies", "utilisation", "placement")


def load(results: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Key -> (runs, summary) for the folders present under ``results``."""
    return load_results(results, WORKLOADS)


# ----------------------------------------------------------------------------- helpers


def apps_of(runs: pd.DataFrame) -> list[str]:
    return sorted({c.split(".")[1] for c in runs.columns if c.startswith("apps.") and c.endswith(".jobs_arrived")})


# ----------------------------------------------------------------------------- feasibility (from the profiles)


def _mean_tokens(dist: dict | None) -> float:
    if not dist:
        return math.nan
    if dist.get("type") == "uniform":
        return (float(dist["low"]) + float(dist["high"])) / 2.0
    for key in ("mean", "value"):
        if dist.get(key) is not None:
            return float(dist[key])
    return math.nan


def model_time_ms(plat: dict, mode: str, model: str, proc: str, prompt: float = math.nan, output: float = math.nan) -> float:
    """Mean time of one invocation of ``model`` on ``proc`` at the highest OPP ``mode`` allows (profile
    mean, no queueing): ``W (beta f_max / f + 1 - beta)`` per phase, as the engine scales it."""
    spec, pr = plat["models"][model], plat["processors"][proc]
    freqs = [float(f) for f, _mv in plat["domains"][pr["domain"]]["opps"]]
    cap = ((plat.get("power_modes") or {}).get(mode, {}).get("caps_mhz") or {}).get(pr["domain"], max(freqs))
    f, fmax = max(x for x in freqs if x <= float(cap) + 1e-9), max(freqs)

    def pick(mapping: dict | None) -> float | None:
        mapping = mapping or {}
        v = mapping.get(proc, mapping.get(pr["kind"]))
        return None if v is None else float(v)

    def scale(beta: float) -> float:
        return beta * fmax / f + 1.0 - beta

    llm = spec.get("llm")
    if not llm:
        w = pick(spec.get("latency_ms"))
        return math.nan if w is None else w * scale(float(spec.get("compute_fraction", 1.0)))
    pre, dec = pick(llm.get("prefill_ms_per_token")), pick(llm.get("decode_ms_per_token"))
    if pre is None or dec is None:
        return math.nan
    p = prompt if math.isfinite(prompt) else _mean_tokens(llm.get("prompt_tokens"))
    o = output if math.isfinite(output) else _mean_tokens(llm.get("output_tokens"))
    fixed = pick(llm.get("prefill_fixed_ms")) or 0.0
    return (fixed + p * pre) * scale(float(llm.get("prefill_compute_fraction", 1.0))) + \
        max(o - 1.0, 0.0) * dec * scale(float(llm.get("decode_compute_fraction", 1.0)))


def feasibility_rows(config: Path) -> list[list[str]]:
    """One row per (app, model) of the experiment: fastest processor and time vs deadline and period."""
    from simsched.config.loader import load_config

    resolved = load_config(str(config), []).resolved
    plat, wl = resolved["platform"], resolved["workload"]
    mode = resolved.get("power_mode") or plat.get("default_power_mode")
    offline = set((plat.get("power_modes") or {}).get(mode, {}).get("offline") or [])
    rows = []
    for app, spec in wl["apps"].items():
        arr = spec["arrival"]
        if arr["type"] == "periodic":
            period, period_text = float(arr["period_ms"]), num(arr["period_ms"], 1)
        elif arr["type"] == "poisson":
            period, period_text = 1000.0 / float(arr["rate_hz"]), f"{num(1000.0 / float(arr['rate_hz']), 0)} (mean)"
        else:
            period, period_text = math.nan, f"{arr['type']} loop"
        deadline = float(spec["deadline_ms"]) if spec.get("deadline_ms") is not None else math.nan
        for task in (spec.get("graph") or {}).values():
            model = task["model"]
            prompt, output = _mean_tokens(task.get("prompt_tokens")), _mean_tokens(task.get("output_tokens"))
            times = {p: model_time_ms(plat, mode, model, p, prompt, output) for p in plat["processors"] if p not in offline}
            times = {p: t for p, t in times.items() if math.isfinite(t)}
            best = min(times, key=times.get)
            t = times[best]
            rows.append([app, model, period_text, num(deadline, 1), best, num(t, 1), num(t / deadline, 2),
                         num(t / period, 0, 100) if math.isfinite(period) else "-"])
    return rows


def feasibility_table(configs: dict[str, Path]) -> str:
    rows = [[w, *r] for w, cfg in configs.items() for r in feasibility_rows(cfg)]
    header = ["workload", "app", "model", "period (ms)", "deadline (ms)", "fastest processor",
              "time there (ms)", "time / deadline", "load on it (%)"]
    return md_table(header, rows) + (
        "\n\nTime of one invocation on its fastest processor at the 28W mode's frequency caps, from the platform "
        "profile (mean; LLMs with the app's mean prompt and output lengths), without any queueing. A ratio above 1 "
        "means the frame misses its deadline under every policy; \"load\" is that time over the mean period: the share "
        "of the fastest processor the stream needs alone.")


# ----------------------------------------------------------------------------- result tables


def app_rate(summary: pd.DataFrame, p: str, app: str) -> float:
    return stat(summary, p, f"apps.{app}.deadline_miss_rate")


def rates(runs: pd.DataFrame, summary: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Definition -> policy -> deadline-violation rate (mean over seeds, 0..1)."""
    pols, apps = policies_of(runs), apps_of(runs)
    out: dict[str, dict[str, float]] = {"all jobs": {p: stat(summary, p, "deadline_miss_rate") for p in pols}}
    out["mean over apps"] = {p: sum(app_rate(summary, p, a) for a in apps) / len(apps) for p in pols}
    for a in apps:
        out[f"app {a}"] = {p: app_rate(summary, p, a) for p in pols}
    return out


def spread(values: dict[str, float]) -> tuple[float, float, str, str]:
    """(max - min, mean pairwise |difference|, best policy, worst policy), rates 0..1."""
    v = {p: x for p, x in values.items() if math.isfinite(x)}
    if len(v) < 2:
        return math.nan, math.nan, "-", "-"
    best, worst = min(v, key=v.get), max(v, key=v.get)
    pairs = [abs(a - b) for a, b in itertools.combinations(v.values(), 2)]
    return v[worst] - v[best], sum(pairs) / len(pairs), best, worst


def spread_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    rows, avg_range, avg_pair = [], {}, {}
    for w, (runs, summary) in data.items():
        for name, values in rates(runs, summary).items():
            rng, pair, best, worst = spread(values)
            rows.append([w, name, f"**{num(rng, 1, 100)}**", num(pair, 1, 100),
                         f"`{best}` {num(values.get(best, math.nan), 1, 100)}", f"`{worst}` {num(values.get(worst, math.nan), 1, 100)}"])
            if not name.startswith("app "):
                avg_range.setdefault(name, []).append(rng)
                avg_pair.setdefault(name, []).append(pair)
    for name in avg_range:
        r, p = avg_range[name], avg_pair[name]
        rows.append([f"mean over {len(r)} workloads", name, f"**{num(sum(r) / len(r), 1, 100)}**", num(sum(p) / len(p), 1, 100), "", ""])
    n = len(policies_of(next(iter(data.values()))[0]))
    return md_table(["workload", "deadline-violation rate of", "max - min (pp)", "mean pairwise difference (pp)",
                     "lowest (%)", "highest (%)"], rows) + (
        f"\n\nSpread between the {n} policies of their deadline-violation rates (means over seeds), in percentage points. "
        f"Paper (Karami et al., five policies on Ryzen AI): **{PAPER_SPREAD_PP:g}%** \"difference in deadline violation rates "
        "on average\"; the closest reading is the max - min column averaged over workloads (see the text).")


def policies_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    parts = []
    for w, (runs, summary) in data.items():
        apps, llm = apps_of(runs), LLM_APPS.get(w)
        header = ["policy", "miss, all jobs (%)", *[f"miss {a} (%)" for a in apps], "LLM answered / arrived",
                  "TTFT (ms)", "decode tokens/s", "energy (J)", "time over 28 W (s per run)"]
        rows = []
        for p in policies_of(runs):
            r = runs[runs["policy"] == p]
            answered = "-"
            if llm and f"apps.{llm}.jobs_finished" in r:
                answered = f"{int(r[f'apps.{llm}.jobs_finished'].sum())} / {int(r[f'apps.{llm}.jobs_arrived'].sum())}"
            rows.append([f"`{p}`", pm(summary, p, "deadline_miss_rate", 1, 100),
                         *[pm(summary, p, f"apps.{a}.deadline_miss_rate", 1, 100) for a in apps], answered,
                         pm(summary, p, "ttft_mean_ms", 0), pm(summary, p, "tokens_per_s_mean", 1),
                         pm(summary, p, "energy_mj", 0, 1e-3), pm(summary, p, "time_over_budget_ms", 1, 1e-3)])
        n = runs["seed"].nunique()
        parts.append(f"**rtgen-{w}** (mean ± 95% CI half-width over {n} seeds; LLM counts summed over the seeds)\n\n"
                     + md_table(header, rows))
    return "\n\n".join(parts) + (
        "\n\nTTFT and tokens/s cover only the LLM requests that produced a first token before the end of the run: "
        "a policy that starves the LLM shows few answered requests and a TTFT that understates the wait.")


def utilisation_table(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    rows = []
    procs: list[str] = []
    for w, (runs, _) in data.items():
        procs = [c.split(".", 1)[1] for c in runs.columns if c.startswith("utilization.")]
        for p in policies_of(runs):
            rows.append([w, f"`{p}`", *[num(runs.loc[runs["policy"] == p, f"utilization.{q}"].mean(), 0, 100) for q in procs]])
    return md_table(["workload", "policy", *procs], rows) + "\n\nShare of each processor's time spent executing (%), mean over the seeds."


def placement_table(results: Path, data: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> str:
    parts = []
    for w, (runs, _) in data.items():
        path = results / w / "placement_seed1.csv"
        if not path.exists():
            return "(not generated: run report.py with the seed-1 step)"
        df = pd.read_csv(path)
        procs = [c for c in df.columns if c not in ("policy", "model", "tasks")]
        pols = policies_of(runs)
        rows = []
        for model in sorted(set(df["model"])):
            cells = []
            for p in pols:
                r = df[(df["policy"] == p) & (df["model"] == model)]
                if r.empty or int(r["tasks"].iloc[0]) == 0:
                    cells.append("none finished")
                    continue
                shares = sorted(((float(r[q].iloc[0]), q) for q in procs), reverse=True)
                cells.append(" · ".join(f"{q} {round(v * 100)}" for v, q in shares if round(v * 100) >= 1))
            rows.append([w, model, *cells])
        parts.append(rows)
    return md_table(["workload", "model", *[f"`{p}`" for p in policies_of(next(iter(data.values()))[0])]],
                    [r for rows in parts for r in rows]) + (
        "\n\nSeed 1 (re-simulated; runs are deterministic): share (%) of each model's finished tasks per processor.")


def tables(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], results: Path) -> dict[str, str]:
    """The generated README blocks by name; the committed README is rendered by this function."""
    return {
        "feasibility": feasibility_table({w: HERE / f"{w}.yaml" for w in data}),
        "spread": spread_table(data),
        "policies": policies_table(data),
        "utilisation": utilisation_table(data),
        "placement": placement_table(results, data),
    }


# ----------------------------------------------------------------------------- figures and main


def figures(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], figdir: Path) -> list[Path]:
    """Per workload: deadline-violation rate per app and policy; TTFT and decode rate per policy."""
    from matplotlib.figure import Figure

    from simsched.report import plots

    figdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for w, (_runs, summary) in data.items():
        fig = Figure(figsize=(10.0, 4.2), layout="constrained")
        ax = plots.rates_by_policy(summary, "deadline_miss_rate", ax=fig.subplots())
        ax.set_title(f"rtgen-{w} on ryzen-ai (28W): deadline-violation rate per app (95% CI over seeds)")
        ax.legend(title="policy", fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        written += plots.save_figure(fig, figdir / f"miss_by_app_{w}", formats=("png",))
        fig = Figure(figsize=(11.0, 3.8), layout="constrained")
        plots.llm_by_policy(summary, ax=fig.subplots(1, 2))
        fig.suptitle(f"rtgen-{w}: LLM time to first token and decode rate (answered requests only)")
        for ax in fig.axes:
            ax.tick_params(axis="x", labelrotation=30)
        written += plots.save_figure(fig, figdir / f"llm_{w}", formats=("png",))
    return written


def trace_seed1(data: dict[str, tuple[pd.DataFrame, pd.DataFrame]], results: Path) -> None:
    """Seed 1 of every policy on every workload: where each model's finished tasks ran (CSV)."""
    import simsched

    for w, (runs, _) in data.items():
        duration = float(runs["sim_end_ms"].iloc[0])
        rows = []
        for p in policies_of(runs):
            r = simsched.simulate(str(HERE / f"{w}.yaml"), overrides=[f"policy={p}", f"duration_ms={duration:g}"], seed=1)
            procs = list(r.summary["utilization"])
            done = r.tasks[r.tasks["state"] == "done"]
            for model in sorted(set(r.tasks["model"])):
                g = done[done["model"] == model]
                rows.append({"policy": p, "model": model, "tasks": len(g),
                             **{q: float((g["processor"] == q).mean()) if len(g) else 0.0 for q in procs}})
        pd.DataFrame(rows).to_csv(results / w / "placement_seed1.csv", index=False, lineterminator="\n", float_format="%.6g")


def render(study: Path) -> str:
    """The README of ``study`` with its generated blocks rendered from ``study/results``."""
    text = (study / "README.md").read_text(encoding="utf-8")
    return replace_blocks(text, tables(load(study / "results"), study / "results"))


def main(argv: list[str]) -> int:
    study = Path(argv[0]).resolve() if argv else HERE
    data = load(study / "results")
    trace_seed1(data, study / "results")
    written = figures(data, study / "figures")
    return write_readme(study, render(study), written)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
