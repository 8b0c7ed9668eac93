"""The studies in experiments/ (twill, rtgen, xr, dvfs) stay reproducible and their READMEs generated.

Two kinds of checks:

* **committed**: each study's README blocks are exactly what its ``report.py`` renders
  from the committed ``results/`` (no number typed by hand, no stale table), every block
  has its markers, and the committed results have the shape of the study's ``run.sh``
  (policies x seeds rows, the same policy list);
* **reduced**: each study runs end to end in a reduced form (short runs, 2 seeds, fewer
  policies where the study has many) through the same library functions as
  ``simsched compare`` and the same report code, into a temporary folder.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from simsched.sweep import compare, write_outputs

ROOT = Path(__file__).resolve().parents[2]
EXP = ROOT / "experiments"
STUDIES = ("twill", "rtgen", "xr", "dvfs")
SEEDS = [1, 2]
SUMMARY_COLUMNS = ["policy", "metric", "n", "mean", "std", "ci_low", "ci_high", "ci_half", "rel_change"]
RUN_COLUMNS = ["policy", "seed", "latency_mean_ms", "deadline_miss_rate", "drop_rate", "energy_mj", "avg_power_w",
               "peak_power_w", "time_over_budget_ms", "sim_end_ms", "warmup_ms"]


def module(study: str, name: str = "report") -> ModuleType:
    """Import experiments/<study>/<name>.py under a unique module name."""
    spec = importlib.util.spec_from_file_location(f"study_{study}_{name}", EXP / study / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def block_names(text: str) -> list[str]:
    return re.findall(r"<!-- BEGIN (\w[\w-]*)\b", text)


def run_sh_policies(study: str) -> list[list[str]]:
    """Every ``--policies`` list in the study's run.sh."""
    return [m.split(",") for m in re.findall(r"--policies (\S+)", (EXP / study / "run.sh").read_text())]


def check_tables(runs: pd.DataFrame, summary: pd.DataFrame, policies: list[str], seeds: list[int]) -> None:
    assert len(runs) == len(policies) * len(seeds)
    assert list(runs["policy"].drop_duplicates()) == policies
    assert sorted(set(runs["seed"])) == sorted(seeds)
    assert not runs.duplicated(["policy", "seed"]).any()
    missing = [c for c in RUN_COLUMNS if c not in runs.columns]
    assert not missing, f"runs.csv lacks {missing}"
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert set(summary["policy"]) == set(policies)
    assert (summary.groupby("policy").size() == summary["metric"].nunique()).all()


def render_into(tmp: Path, study: str, report: ModuleType) -> str:
    """Render the committed README's blocks from the reduced results in ``tmp``."""
    shutil.copy(EXP / study / "README.md", tmp / "README.md")
    text = report.render(tmp)
    assert block_names(text) == block_names((EXP / study / "README.md").read_text(encoding="utf-8"))
    return text


# ----------------------------------------------------------------------------- committed files


@pytest.mark.parametrize("study", STUDIES)
def test_committed_readme_is_generated_from_committed_results(study: str) -> None:
    report = module(study)
    readme = (EXP / study / "README.md").read_text(encoding="utf-8")
    assert block_names(readme) == list(report.BLOCKS), "every generated block needs its BEGIN/END markers, in order"
    for name in report.BLOCKS:
        assert f"<!-- END {name} -->" in readme
    assert report.render(EXP / study) == readme, (
        f"experiments/{study}/README.md differs from what report.py renders from results/: "
        f"run `python experiments/{study}/report.py` (or `bash experiments/{study}/run.sh`)")


@pytest.mark.parametrize(("study", "folder", "seeds"), [
    ("twill", "10W", 10), ("twill", "15W", 10), ("twill", "25W", 10), ("twill", "15W-long", 5),
    ("rtgen", "gaming", 5), ("rtgen", "videoconf", 5), ("dvfs", "", 10),
])
def test_committed_results_match_run_sh(study: str, folder: str, seeds: int) -> None:
    d = EXP / study / "results" / folder
    runs, summary = pd.read_csv(d / "runs.csv"), pd.read_csv(d / "summary.csv")
    policies = list(runs["policy"].drop_duplicates())
    assert policies in run_sh_policies(study), f"{d}: policies {policies} are not a --policies list of run.sh"
    check_tables(runs, summary, policies, list(range(1, seeds + 1)))


def test_committed_xr_results_cover_every_scenario() -> None:
    runner = module("xr", "run_xr")
    for duration in runner.DURATIONS_MS:
        for sc in runner.SCENARIOS:
            d = EXP / "xr" / "results" / f"{duration}ms" / sc
            runs, summary = pd.read_csv(d / "runs.csv"), pd.read_csv(d / "summary.csv")
            check_tables(runs, summary, list(runner.POLICIES), [1, 2, 3, 4, 5])
            assert runs["xrbench_score"].between(0, 100).all()
            assert (runs["sim_end_ms"] == duration).all()


def test_twill_figures_for_the_top_level_readme() -> None:
    for name in ("gantt_twill", "power_twill", "gantt_fifo", "power_fifo"):
        path = EXP / "twill" / "figures" / f"{name}.png"
        assert path.exists() and path.stat().st_size > 10_000, path


def test_index_lists_every_study() -> None:
    index = (EXP / "README.md").read_text(encoding="utf-8")
    for study in STUDIES:
        assert f"bash experiments/{study}/run.sh" in index
        assert f"({study}/README.md)" in index


# ----------------------------------------------------------------------------- reduced runs


def test_twill_reduced(tmp_path: Path) -> None:
    report = module("twill")
    policies = ["fifo", "dream", "twill"]
    for folder, mode, ms in (("10W", "10W", 2500), ("15W", "15W", 2500), ("25W", "25W", 2500), ("15W-long", "15W", 3000)):
        comp = compare(str(EXP / "twill" / "config.yaml"), policies, SEEDS, overrides=[f"power_mode={mode}", f"duration_ms={ms}"])
        write_outputs(comp, tmp_path / "results" / folder)
        check_tables(comp.runs, comp.summary, policies, SEEDS)
    data = report.load(tmp_path / "results")
    assert list(data) == ["10W", "15W", "25W"]
    figures = report.trace_seed1(data, tmp_path / "results", tmp_path / "figures", EXP / "twill" / "config.yaml")
    assert {p.name for p in figures} >= {"gantt_twill.png", "power_twill.png", "gantt_fifo.png", "power_fifo.png"}
    text = render_into(tmp_path, "twill", report)
    reduction = text.split("<!-- BEGIN reduction")[1].split("<!-- END reduction")[0]
    assert "| `fifo` |" in reduction and "| `dream` |" in reduction and "| `twill` |" not in reduction
    assert "-54%" in reduction  # the paper's headline next to ours
    placement = pd.read_csv(tmp_path / "results" / "15W" / "placement_seed1.csv")
    assert set(placement["policy"]) == {"fifo", "twill", "dream"}
    shares = placement[[c for c in placement.columns if c not in ("policy", "model", "tasks", "freezes", "migrations")]]
    assert ((shares.sum(axis=1) - 1.0).abs() < 1e-6).all()


def test_rtgen_reduced(tmp_path: Path) -> None:
    report = module("rtgen")
    policies = ["fifo", "affinity", "dream"]
    for w in report.WORKLOADS:
        comp = compare(str(EXP / "rtgen" / f"{w}.yaml"), policies, SEEDS, overrides=["duration_ms=3000"])
        write_outputs(comp, tmp_path / "results" / w)
        check_tables(comp.runs, comp.summary, policies, SEEDS)
    data = report.load(tmp_path / "results")
    report.trace_seed1(data, tmp_path / "results")
    text = render_into(tmp_path, "rtgen", report)
    spread = text.split("<!-- BEGIN spread")[1].split("<!-- END spread")[0]
    assert "41.7%" in spread and "mean over 2 workloads" in spread
    assert text.split("<!-- BEGIN policies")[1].count("LLM answered / arrived") == 2
    # upscaling misses its deadline on every processor: the feasibility table says so from the profile
    feas = text.split("<!-- BEGIN feasibility")[1].split("<!-- END feasibility")[0]
    row = next(line for line in feas.splitlines() if "| upscaling |" in line)
    assert float(row.split("|")[8]) > 1.0


def test_rtgen_spread_definitions() -> None:
    report = module("rtgen")
    rng, pair, best, worst = report.spread({"a": 0.1, "b": 0.5, "c": 0.3})
    assert (best, worst) == ("a", "b")
    assert rng == pytest.approx(0.4)
    assert pair == pytest.approx((0.4 + 0.2 + 0.2) / 3)


def test_xr_reduced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, report = module("xr", "run_xr"), module("xr")
    monkeypatch.setenv("STUDY_SEEDS", "2")
    monkeypatch.setenv("STUDY_DURATIONS_MS", "300")
    monkeypatch.setenv("STUDY_JOBS", "1")
    assert runner.main([str(tmp_path)]) == 0
    for sc in runner.SCENARIOS:
        d = tmp_path / "results" / "300ms" / sc
        runs = pd.read_csv(d / "runs.csv")
        check_tables(runs, pd.read_csv(d / "summary.csv"), list(runner.POLICIES), SEEDS)
        assert {"xrbench_score", "on_time_jobs", "window_energy_mj", "uxcost"} <= set(runs.columns)
        # pooled UXCost equals the per-run UXCost when it is defined for a single run
        one = runs[(runs["seed"] == 1) & runs["uxcost"].notna()]
        for _, r in one.iterrows():
            assert r["window_energy_mj"] / r["on_time_jobs"] == pytest.approx(r["uxcost"], rel=1e-9)
    text = render_into(tmp_path, "xr", report)
    geo = text.split("<!-- BEGIN geomean")[1].split("<!-- END geomean")[0]
    assert "`dream` vs `latency-greedy`" in geo and "`dream` vs `edf`" in geo and "-32.2%" in geo and "-50.0%" in geo
    assert report.infeasible_scenarios() >= {"ar-gaming", "ar-assistant", "social-a"}
    assert "vr-gaming" not in report.infeasible_scenarios()


def test_dvfs_reduced(tmp_path: Path) -> None:
    report = module("dvfs")
    policies = run_sh_policies("dvfs")[0]
    assert {report.governor(p) for p in policies} == {"performance", "powersave", "ondemand", "budget"}
    comp = compare(str(EXP / "dvfs" / "config.yaml"), policies, SEEDS, overrides=["duration_ms=2500"])
    write_outputs(comp, tmp_path / "results")
    check_tables(comp.runs, comp.summary, policies, SEEDS)
    runs, _ = report.load(tmp_path / "results")
    report.trace_seed1(runs, tmp_path / "results", tmp_path, EXP / "dvfs" / "config.yaml")
    freq = pd.read_csv(tmp_path / "results" / "frequency_seed1.csv").set_index("policy")
    assert freq.loc["affinity+performance", "gpu"] > freq.loc["affinity+powersave", "gpu"]
    text = render_into(tmp_path, "dvfs", report)
    assert "| `powersave` |" in text.split("<!-- BEGIN tradeoff")[1]
    # the budget governor keeps power within the budget in every run
    assert (comp.runs.loc[comp.runs["policy"] == "affinity+budget", "time_over_budget_ms"] == 0).all()
