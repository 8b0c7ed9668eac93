"""Tables and figures of the DVFS study from its ``simsched compare`` results.

Usage: ``python experiments/dvfs/report.py [STUDY_DIR]`` (default: this folder).

1. Re-simulates seed 1 under each governor (runs are deterministic, so these are the
   comparison's own seed-1 runs) and writes each domain's time-weighted mean frequency
   to ``results/frequency_seed1.csv`` and the GPU frequency trace figure.
2. Reads ``STUDY_DIR/results/{runs,summary}.csv`` and rewrites the generated blocks of
   ``STUDY_DIR/README.md`` (between ``<!-- BEGIN name ... -->`` and ``<!-- END name -->``).
3. Writes the energy-vs-latency figure.

No number in the README is typed by hand.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from simsched.report.stats import mean_ci

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from studylib import md_table, num, pm, policies_of, replace_blocks, write_readme  # noqa: E402

REFERENCE = "affinity+performance"  # the changes are against the engine's default governor
BLOCKS = ("tradeoff", "changes", "frequency")


# ----------------------------------------------------------------------------- helpers


def paired_change(runs: pd.DataFrame, metric: str, policy: str, baseline: str) -> str:
    """Mean and 95% t-interval over seeds of the per-seed change ``policy / baseline - 1``."""
    a = runs[runs["policy"] == policy].set_index("seed")[metric]
    b = runs[runs["policy"] == baseline].set_index("seed")[metric]
    ci = mean_ci((a / b - 1.0).dropna().tolist())
    if not math.isfinite(ci.mean):
        return "-"
    return f"{ci.mean * 100:+.1f}%" + (f" [{ci.low * 100:+.0f}, {ci.high * 100:+.0f}]" if math.isfinite(ci.low) else "")


def load(results: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(results / "runs.csv"), pd.read_csv(results / "summary.csv")


def governor(policy: str) -> str:
    return policy.partition("+")[2] or "performance"


# ----------------------------------------------------------------------------- tables


def tradeoff_table(runs: pd.DataFrame, summary: pd.DataFrame) -> str:
    header = ["governor", "mean latency (ms)", "p95 latency (ms)", "deadline miss (%)", "LLM TTFT (ms)", "decode tokens/s",
              "energy (J per run)", "avg power (W)", "peak power (W, max over seeds)", "time over 15 W (ms per run)", "GPU busy (%)"]
    rows = []
    for p in policies_of(runs):
        r = runs[runs["policy"] == p]
        rows.append([f"`{governor(p)}`", pm(summary, p, "latency_mean_ms"), pm(summary, p, "latency_p95_ms", 0),
                     pm(summary, p, "deadline_miss_rate", 1, 100), pm(summary, p, "ttft_mean_ms", 0),
                     pm(summary, p, "tokens_per_s_mean"), pm(summary, p, "energy_mj", 1, 1e-3), pm(summary, p, "avg_power_w", 2),
                     num(r["peak_power_w"].max(), 2), pm(summary, p, "time_over_budget_ms", 0), pm(summary, p, "utilization.gpu", 0, 100)])
    return md_table(header, rows) + f"\n\n`affinity` under each governor; mean ± 95% CI half-width over {runs['seed'].nunique()} seeds."


def changes_table(runs: pd.DataFrame) -> str:
    rows = [[f"`{governor(p)}`", paired_change(runs, "latency_mean_ms", p, REFERENCE), paired_change(runs, "energy_mj", p, REFERENCE),
             paired_change(runs, "deadline_miss_rate", p, REFERENCE)]
            for p in policies_of(runs) if p != REFERENCE]
    return md_table(["governor", "mean latency", "energy", "deadline miss rate"], rows) + (
        f"\n\nChange against `{governor(REFERENCE)}`: mean over seeds of the per-seed ratio minus 1, 95% t-interval in brackets.")


def frequency_table(results: Path) -> str:
    path = results / "frequency_seed1.csv"
    if not path.exists():
        return "(not generated: run report.py with the seed-1 step)"
    df = pd.read_csv(path)
    domains = [c for c in df.columns if c != "policy"]
    rows = [[f"`{governor(r['policy'])}`", *[num(r[d], 0) for d in domains]] for _, r in df.iterrows()]
    return md_table(["governor", *[f"{d} (MHz)" for d in domains]], rows) + \
        "\n\nTime-weighted mean frequency of each DVFS domain over the whole run of seed 1."


def tables(runs: pd.DataFrame, summary: pd.DataFrame, results: Path) -> dict[str, str]:
    """The generated README blocks by name; the committed README is rendered by this function."""
    return {"tradeoff": tradeoff_table(runs, summary), "changes": changes_table(runs), "frequency": frequency_table(results)}


# ----------------------------------------------------------------------------- seed 1, figures and main


def mean_frequency(freq: pd.DataFrame, end_ms: float) -> dict[str, float]:
    """Time-weighted mean frequency per domain; a row holds until the domain's next row."""
    out = {}
    for dom, g in freq.groupby("domain", sort=False):
        g = g.sort_values("time_ms", kind="stable")
        t = g["time_ms"].to_numpy(dtype=float)
        f = g["freq_mhz"].to_numpy(dtype=float)
        dt = [*(t[1:] - t[:-1]), max(end_ms - t[-1], 0.0)]
        out[str(dom)] = float(sum(x * w for x, w in zip(f, dt, strict=True)) / max(sum(dt), 1e-12))
    return out


def trace_seed1(runs: pd.DataFrame, results: Path, figdir: Path, config: Path) -> list[Path]:
    """Seed 1 under every governor: mean frequencies (CSV) and the GPU frequency over 3 s (figure)."""
    from matplotlib.figure import Figure

    import simsched
    from simsched.report import plots

    duration, warmup = float(runs["sim_end_ms"].iloc[0]), float(runs["warmup_ms"].iloc[0])
    t0, t1 = warmup, min(duration, warmup + 3000.0)
    pols = policies_of(runs)
    colors = plots.policy_colors(pols)
    fig = Figure(figsize=(11.0, 4.0), layout="constrained")
    ax = fig.subplots()
    rows = []
    for p in pols:
        policy = f"policy={{name: affinity, governor: {governor(p)}}}"
        r = simsched.simulate(str(config), overrides=[policy, f"duration_ms={duration:g}"], seed=1)
        rows.append({"policy": p, **mean_frequency(r.frequency, duration)})
        g = r.frequency[r.frequency["domain"] == "gpu"].sort_values("time_ms", kind="stable")
        t, f = g["time_ms"].to_numpy(dtype=float), g["freq_mhz"].to_numpy(dtype=float)
        keep = (t >= t0) & (t <= t1)
        before = t < t0
        t = [t0, *t[keep], t1]
        f = [f[before][-1] if before.any() else f[0], *f[keep]]
        f.append(f[-1])
        width = 3.0 if governor(p) == "performance" else 1.2  # drawn first and widest: visible under ondemand
        ax.step(t, f, where="post", color=colors[p], label=governor(p), linewidth=width)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("GPU frequency (MHz)")
    ax.set_title(f"GPU frequency under each governor (affinity, MAXN, 15 W budget), seed 1, {t0:g}-{t1:g} ms")
    ax.grid(alpha=0.3)
    ax.legend(title="governor", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    pd.DataFrame(rows).to_csv(results / "frequency_seed1.csv", index=False, lineterminator="\n", float_format="%.6g")
    return plots.save_figure(fig, figdir / "gpu_frequency", formats=("png",))


def figures(summary: pd.DataFrame, figdir: Path) -> list[Path]:
    from matplotlib.figure import Figure

    from simsched.report import plots

    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = plots.energy_vs_latency(summary, ax=fig.subplots())
    ax.set_xscale("log")
    ax.set_title("affinity on jetson-orin-nx (MAXN, 15 W budget): energy vs latency per governor")
    return plots.save_figure(fig, figdir / "energy_vs_latency", formats=("png",))


def render(study: Path) -> str:
    """The README of ``study`` with its generated blocks rendered from ``study/results``."""
    runs, summary = load(study / "results")
    text = (study / "README.md").read_text(encoding="utf-8")
    return replace_blocks(text, tables(runs, summary, study / "results"))


def main(argv: list[str]) -> int:
    study = Path(argv[0]).resolve() if argv else HERE
    runs, summary = load(study / "results")
    figdir = study / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    written = trace_seed1(runs, study / "results", figdir, HERE / "config.yaml")
    written += figures(summary, figdir)
    return write_readme(study, render(study), written)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
