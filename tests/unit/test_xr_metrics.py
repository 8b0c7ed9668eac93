"""UXCost and the XRBench score (docs/metrics.md, "UXCost and the XRBench score")."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from simsched import simulate
from simsched.metrics.summary import summarize
from simsched.metrics.xr import EnergyModel, en_score, rt_score, uxcost, uxcost_metrics, xr_metrics, xrbench_score
from tests.helpers import minimal

# One processor at one OPP: 10 W of dynamic power (10.5 busy - 0.5 idle), so a task
# of activity u executing t ms costs 10 * u * t mJ above idle.
PLATFORM = {
    "name": "one-acc",
    "static_w": 0.0,
    "domains": {"d": {"opps": [[1000, 800]]}},
    "processors": {"acc": {"kind": "npu", "domain": "d", "capacity": 1, "idle_w": 0.5, "busy_w": 10.5}},
    "models": {
        "A": {"latency_ms": {"acc": 10.0}, "activity": 1.0},
        "B": {"latency_ms": {"acc": 5.0}, "activity": 0.5},
    },
}


def _tables(frames: list[dict], end_ms: float = 50.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """jobs/tasks/segments tables of single-frame jobs: each dict gives deadline, state, segment, model."""
    jobs, tasks, segs = [], [], []
    for i, f in enumerate(frames):
        done = f["state"] == "done"
        jobs.append({
            "job_id": i, "app": f.get("app", "cam"), "arrival_ms": f["deadline"] - 10.0,
            "finish_ms": f["seg"][1] if done else np.nan, "deadline_ms": f["deadline"],
            "dropped": f.get("dropped", False),
            "missed": (f["seg"][1] > f["deadline"]) if done else (True if f["deadline"] <= end_ms or f.get("dropped") else None),
        })
        tasks.append({
            "job_id": i, "app": f.get("app", "cam"), "task": "t", "model": f.get("model", "A"), "state": f["state"],
            "finish_ms": f["seg"][1] if done else np.nan, "first_token_ms": np.nan,
        })
        if f.get("seg") is not None and f["state"] != "cancelled":
            segs.append({"job_id": i, "app": "cam", "task": "t", "processor": "acc",
                         "start_ms": f["seg"][0], "end_ms": f["seg"][1], "freq_mhz": 1000.0, "phase": 0})
    j = pd.DataFrame(jobs)
    j["missed"] = pd.array(j["missed"], dtype="boolean")
    seg_cols = ["job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz", "phase"]
    return j, pd.DataFrame(tasks), pd.DataFrame(segs, columns=seg_cols)


def test_rt_score_is_the_artifacts_sigmoid_and_does_not_overflow() -> None:
    # 0.1 ms early: 1 / (1 + e^(15 * -0.1)).
    assert rt_score(-0.1) == pytest.approx(1.0 / (1.0 + math.exp(-1.5)), rel=1e-12)
    assert rt_score(0.0) == pytest.approx(0.5)
    assert rt_score(1.0) == pytest.approx(1.0 / (1.0 + math.exp(15.0)), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a naive np.exp(15 * 100) overflows with a RuntimeWarning
        assert rt_score(40.0) == pytest.approx(math.exp(-600.0), rel=1e-9)
        assert rt_score(100.0) == 0.0
        assert rt_score(1e6) == 0.0
        assert rt_score(-1e6) == 1.0
        arr = rt_score(np.array([-1e6, -0.1, 0.0, 1e6]))
    assert arr.tolist() == pytest.approx([1.0, 1.0 / (1.0 + math.exp(-1.5)), 0.5, 0.0])


def test_en_score() -> None:
    assert en_score(150.0) == pytest.approx(0.9)
    assert en_score(1500.0) == 0.0
    assert en_score(3000.0) == pytest.approx(-1.0)  # not clipped, as in the artifact


def test_xrbench_score_on_a_hand_built_run() -> None:
    frames = [
        {"deadline": 10.0, "state": "done", "seg": (0.1, 9.9)},  # 0.1 ms early, 98 mJ + 4.9 mJ idle
        {"deadline": 20.0, "state": "cancelled", "dropped": True, "seg": None},  # dropped
        {"deadline": 30.0, "state": "done", "seg": (28.0, 31.0)},  # 1 ms late, 30 mJ + 1.5 mJ idle
        {"deadline": 40.0, "state": "running", "seg": (40.0, 50.0)},  # overdue at the end
        {"deadline": 60.0, "state": "running", "seg": (45.0, 50.0)},  # before its deadline: not counted
        {"deadline": 50.0, "state": "done", "seg": (40.0, 45.0), "model": "B"},  # 5 ms early, 25 + 2.5 mJ
        {"deadline": 70.0, "state": "skipped", "seg": None, "model": "B"},  # cascade did not fire
    ]
    jobs, tasks, segs = _tables(frames)
    # The energy charged includes the accelerator's idle power (0.5 W) while the frame runs.
    rt0, en0 = 1.0 / (1.0 + math.exp(-1.5)), (1500.0 - 98.0 - 4.9) / 1500.0
    rt2, en2 = 1.0 / (1.0 + math.exp(15.0)), (1500.0 - 30.0 - 1.5) / 1500.0
    score_b = 1.0 / (1.0 + math.exp(-75.0)) * (1500.0 - 27.5) / 1500.0
    for unfinished, n_a in (("unlogged", 3), ("zero", 4)):
        # "unlogged": the overdue frame is not logged (the artifact); "zero": it scores 0.
        out = xrbench_score(jobs, tasks, segs, EnergyModel(PLATFORM), sim_end_ms=50.0, unfinished=unfinished)
        score_a = (rt0 * en0 + rt2 * en2) / n_a * (1.0 - 1 / n_a)
        assert out["models"]["A"]["frames"] == n_a
        assert out["models"]["A"]["dropped_frames"] == 1
        assert out["models"]["A"]["score"] == pytest.approx(score_a, rel=1e-12)
        assert out["models"]["B"]["frames"] == 1
        assert out["models"]["B"]["score"] == pytest.approx(score_b, rel=1e-12)
        assert out["overall"] == pytest.approx(100.0 * (score_a + score_b) / 2, rel=1e-12)
        assert out["scenario_score"] == out["overall"]


def test_dropped_frames_score_zero_and_the_ux_factor_applies() -> None:
    model = EnergyModel(PLATFORM)
    ok = {"deadline": 100.0, "state": "done", "seg": (0.0, 15.0)}  # 85 ms early (RT = 1), 150 + 7.5 mJ
    en = (1500.0 - 157.5) / 1500.0
    one = xrbench_score(*_tables([ok], end_ms=200.0), model, sim_end_ms=200.0)
    assert one["overall"] == pytest.approx(100.0 * en)
    drop = {"deadline": 110.0, "state": "cancelled", "dropped": True, "seg": None}
    two = xrbench_score(*_tables([ok, drop], end_ms=200.0), model, sim_end_ms=200.0)
    # The dropped frame adds 0 to the sum but counts in the denominator (en / 2), and
    # the UX factor 1 - drop rate halves it again.
    assert two["models"]["A"]["score"] == pytest.approx(en / 2 * (1 - 1 / 2))
    assert two["overall"] == pytest.approx(100.0 * en / 4)


def test_xrbench_score_needs_deadlines() -> None:
    jobs, tasks, segs = _tables([{"deadline": 10.0, "state": "done", "seg": (0.0, 5.0)}])
    jobs.loc[0, "deadline_ms"] = np.nan
    assert xrbench_score(jobs, tasks, segs, EnergyModel(PLATFORM), sim_end_ms=50.0) is None


def test_uxcost_is_energy_per_on_time_job() -> None:
    # (E / N) / (1 - m): 300 mJ over 4 jobs with 1 miss is 100 mJ per on-time job.
    assert uxcost(300.0, 4, 1) == pytest.approx(100.0)
    assert uxcost(300.0, 4, 0) == pytest.approx(75.0)
    assert uxcost(300.0, 4, 4) == math.inf
    assert math.isnan(uxcost(300.0, 0, 0))


def test_per_app_uxcost_shares_the_window_energy() -> None:
    r = simulate({"platform": "xr-dual-4k", "workload": "xrbench-vr-gaming", "duration_ms": 700, "policy": "fifo"})
    s = r.summary
    ux = uxcost_metrics(
        r.jobs, r.tasks, r.segments, energy_mj=s["energy_mj"], sim_end_ms=700.0, warmup_ms=0.0,
        model=EnergyModel(r.manifest["config"]["platform"]), power_mode=s["power_mode"],
    )
    on_time = r.jobs[r.jobs["missed"].notna() & ~r.jobs["missed"].fillna(True).astype(bool)]
    assert ux["overall"] == pytest.approx(s["energy_mj"] / len(on_time), rel=1e-12)
    n_ok = on_time.groupby("app").size()
    total = sum(ux["apps"][a] * n_ok[a] for a in ux["apps"])
    assert total == pytest.approx(s["energy_mj"], rel=1e-9)


def test_energy_model_reproduces_the_run_energy_with_llms_and_dvfs() -> None:
    # The documented minimal platform (two OPPs) with an LLM whose decode draws less
    # power than its prefill, under a governor that changes frequencies.
    cfg = minimal()
    cfg["duration_ms"] = 1500
    cfg["policy"] = {"name": "fifo", "governor": "ondemand"}
    cfg["platform"]["models"]["chat"] = {
        "kind": "llm", "activity": 1.0,
        "llm": {"prefill_ms_per_token": {"cpu0": 0.05}, "decode_ms_per_token": {"cpu0": 0.5},
                "prompt_tokens": 64, "output_tokens": 12, "decode_activity": 0.4},
    }
    cfg["workload"]["apps"]["chat"] = {"arrival": {"type": "poisson", "rate_hz": 20}, "graph": {"ask": {"model": "chat"}}}
    r = simulate(cfg)
    seg = r.segments
    assert seg["freq_mhz"].nunique() == 2 and (seg["phase"] == 1).any()  # both OPPs and decode phases ran
    model = EnergyModel(r.manifest["config"]["platform"])
    dynamic = model.segment_energy_mj(seg, r.tasks).sum()
    expected = r.summary["energy_mj"] - model.baseline_w(r.summary["power_mode"]) * 1500.0
    assert dynamic == pytest.approx(expected, rel=1e-9)


def test_summary_of_a_shipped_xrbench_run_contains_them() -> None:
    r = simulate({"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 700, "policy": "fifo"})
    s = r.summary
    ref = xr_metrics(r)
    assert s["overall"]["uxcost"] == pytest.approx(ref["uxcost"]["overall"]) and s["overall"]["uxcost"] > 0
    assert set(s["apps"]) == set(ref["uxcost"]["apps"]) and all("uxcost" in m for m in s["apps"].values())
    assert "xrbench_score" in s  # filled when the summary is given the platform (see below)
    # The summary as build_result makes it, given the platform: per-app UXCost and the score.
    full = summarize(
        r.jobs, r.tasks, r.segments, sim_end_ms=s["sim_end_ms"], warmup_ms=s["warmup_ms"],
        capacities={p: v["capacity"] for p, v in r.manifest["config"]["platform"]["processors"].items()},
        energy_mj=s["energy_mj"], peak_power_w=s["peak_power_w"], time_over_budget_ms=s["time_over_budget_ms"],
        energy_over_budget_mj=s["energy_over_budget_mj"], budget_w=s["budget_w"], power_mode=s["power_mode"],
        platform=r.manifest["config"]["platform"],
    )
    json.dumps(full, allow_nan=False)  # summary.json must stay valid JSON
    for app, m in full["apps"].items():
        assert m["uxcost"] == ref["uxcost"]["apps"][app]
    assert full["overall"] == s["overall"]
    score = full["xrbench_score"]
    assert score == ref["xrbench_score"] and 0 < score["overall"] <= 100
    ran = set(r.tasks.loc[r.tasks["state"] != "skipped", "model"])
    assert set(score["models"]) == ran
    if s["xrbench_score"] is not None:  # once the result builder passes the platform
        assert s["xrbench_score"] == score
