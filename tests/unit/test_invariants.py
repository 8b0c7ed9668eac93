"""The invariant checker finds violations (so a clean report means something)."""

from __future__ import annotations

import pandas as pd

from simsched import check_invariants, simulate
from tests.helpers import ROOT, one_processor


def _run():
    return simulate(one_processor(8.0, arrival={"type": "periodic", "period_ms": 10}, duration_ms=200))


def test_clean_run_has_no_violations() -> None:
    assert check_invariants(_run()) == []


def test_overlapping_segments_break_capacity() -> None:
    r = _run()
    extra = r.segments.iloc[[0]].copy()
    extra["job_id"] = 999
    r.segments = pd.concat([r.segments, extra], ignore_index=True)
    assert any(v.startswith("capacity") for v in check_invariants(r))


def test_wrong_energy_is_reported() -> None:
    r = _run()
    r.summary["energy_mj"] += 1.0
    assert any(v.startswith("energy") for v in check_invariants(r))


def test_precedence_violation_is_reported() -> None:
    r = _run()
    r.tasks.loc[0, "preds"] = "detect"  # pretend the task depends on itself... which finished after it started
    assert any(v.startswith("precedence") for v in check_invariants(r))


def test_frequency_outside_the_table_is_reported() -> None:
    r = _run()
    r.segments.loc[0, "freq_mhz"] = 750.0
    assert any(v.startswith("frequency") for v in check_invariants(r))


def test_budget_check_is_optional() -> None:
    cfg = one_processor(8.0, arrival={"type": "periodic", "period_ms": 10}, duration_ms=200)
    cfg["budget_w"] = 1.0
    r = simulate(cfg)
    assert check_invariants(r) == []
    assert any("budget" in v for v in check_invariants(r, budget_honouring=True))


def test_lost_work_is_reported() -> None:
    r = _run()
    r.segments.loc[0, "end_ms"] -= 1.0  # a segment that did 1 ms less than its task needed
    assert any(v.startswith("work") for v in check_invariants(r))


def test_work_is_conserved_across_freeze_migration_and_dvfs() -> None:
    r = simulate(ROOT / "experiments" / "quickstart.yaml", overrides=["policy=twill", "power_mode=10W", "duration_ms=4000"])
    assert (r.tasks["freezes"] > 0).any()
    assert r.frequency["freq_mhz"].nunique() > 1
    assert check_invariants(r, budget_honouring=True) == []
