"""Closed-form checks: critical paths, DVFS scaling, exact re-timing, energy integrals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simsched import Policy, register_policy, simulate
from tests.helpers import minimal, one_processor

# A diamond DAG with a known critical path: a(5) -> {b(7), c(3)} -> d(2) = 14 ms.
DIAMOND = {
    "a": {"model": "m5"},
    "b": {"model": "m7", "after": ["a"]},
    "c": {"model": "m3", "after": ["a"]},
    "d": {"model": "m2", "after": ["b", "c"]},
}


def _dag_config(capacity: int, transfer_ms: float = 0.0, two_procs: bool = False) -> dict:
    cfg = minimal()
    cfg["duration_ms"] = 1000
    cfg["platform"]["processors"]["cpu0"]["capacity"] = capacity
    keys = ["cpu0"]
    if two_procs:
        cfg["platform"]["processors"]["cpu1"] = {"kind": "cpu", "domain": "little", "capacity": capacity, "busy_w": 1.0}
        keys.append("cpu1")
    cfg["platform"]["models"] = {f"m{n}": {"latency_ms": {k: float(n) for k in keys}} for n in (2, 3, 5, 7)}
    graph = {k: dict(v) for k, v in DIAMOND.items()}
    if transfer_ms:
        graph["b"]["after"] = {"a": {"transfer_ms": transfer_ms}}
    cfg["workload"]["apps"] = {"dag": {"arrival": {"type": "periodic", "period_ms": 100}, "graph": graph}}
    return cfg


def test_ample_processors_give_the_critical_path() -> None:
    r = simulate(_dag_config(capacity=8))
    assert len(r.jobs) == 10
    assert np.allclose(r.jobs["latency_ms"], 14.0)


def test_one_slot_serialises_the_dag() -> None:
    r = simulate(_dag_config(capacity=1))
    assert np.allclose(r.jobs["latency_ms"], 5 + 7 + 3 + 2)


@register_policy("test-split")
class _Split(Policy):
    """Task b on cpu1, everything else on cpu0 (to exercise transfers)."""

    def on_ready(self, task, sim):
        sim.start(task, sim.processors[1 if task.name == "b" else 0])


def test_transfer_applies_only_across_processors() -> None:
    cfg = _dag_config(capacity=8, transfer_ms=4.0, two_procs=True)
    cfg["policy"] = "test-split"
    r = simulate(cfg)
    # a(5) -> transfer 4 -> b(7) -> d(2) on cpu0 again, which needs no transfer from c but b->d has none set.
    assert np.allclose(r.jobs["latency_ms"], 5 + 4 + 7 + 2)
    t = r.tasks[r.tasks["job_id"] == 0].set_index("task")
    assert t.loc["b", "start_ms"] - t.loc["a", "finish_ms"] == pytest.approx(4.0)
    assert t.loc["b", "ready_ms"] == pytest.approx(t.loc["a", "finish_ms"])
    cfg["policy"] = "fifo"  # everything on cpu0: the transfer never applies
    assert np.allclose(simulate(cfg).jobs["latency_ms"], 14.0)


@pytest.mark.parametrize(("beta", "expected"), [(1.0, 16.0), (0.5, 12.0), (0.0, 8.0)])
def test_halving_the_frequency(beta: float, expected: float) -> None:
    cfg = one_processor(8.0, compute_fraction=beta, arrival={"type": "periodic", "period_ms": 50}, duration_ms=1000)
    full = simulate(cfg)
    assert np.allclose(full.jobs["latency_ms"], 8.0)
    cfg["power_mode"] = "half"  # caps the domain at 500 MHz, half of f_max
    half = simulate(cfg)
    assert np.allclose(half.jobs["latency_ms"], expected)
    assert set(half.segments["freq_mhz"]) == {500.0}


@register_policy("test-slowdown")
class _SlowDown(Policy):
    """Starts tasks on cpu0 and halves the clock 4 ms into the first job."""

    def bind(self, sim):
        sim.call_at(4.0, "slow")

    def on_ready(self, task, sim):
        sim.start(task, sim.processors[0])

    def on_timer(self, payload, sim):
        sim.set_freq(sim.domains[0], 500.0)


def test_frequency_change_mid_segment_retimes_the_remainder() -> None:
    cfg = one_processor(8.0, arrival={"type": "trace", "times_ms": [0.0]}, duration_ms=100, policy="test-slowdown")
    r = simulate(cfg)
    # The switch takes 0.05 ms: 4.05 ms done at 1000 MHz, the remaining 3.95 ms of
    # work takes twice as long at 500 MHz.
    assert r.jobs.loc[0, "finish_ms"] == pytest.approx(4.05 + 2 * 3.95)
    seg = r.segments
    assert list(seg["freq_mhz"]) == [1000.0, 500.0]
    assert seg.loc[0, "end_ms"] == pytest.approx(4.05)
    f = r.frequency
    assert list(f["freq_mhz"]) == [1000.0, 500.0]
    assert f.loc[1, "time_ms"] == pytest.approx(4.05)


def _integrate(power: pd.DataFrame, end: float, who: str) -> float:
    p = power[power["processor"] == who]
    t = np.append(p["time_ms"].to_numpy(), end)
    return float(np.sum(np.diff(t) * p["power_w"].to_numpy()))


def test_energy_equals_integral_of_power_trace() -> None:
    cfg = one_processor(8.0, variability="exponential", arrival={"type": "poisson", "rate_hz": 80}, duration_ms=5000)
    cfg["power_mode"] = "half"
    r = simulate(cfg)
    s = r.summary
    total = _integrate(r.power, s["sim_end_ms"], "total")
    assert s["energy_mj"] == pytest.approx(total, rel=1e-9)
    parts = _integrate(r.power, s["sim_end_ms"], "cpu0") + 0.5 * s["sim_end_ms"]  # plus static_w x T
    assert s["energy_mj"] == pytest.approx(parts, rel=1e-9)
    assert s["avg_power_w"] == pytest.approx(total / s["sim_end_ms"])


def test_constant_load_energy_is_power_times_time() -> None:
    """Back-to-back work at 500 MHz: P = static + idle + dyn * V^2 f scaling, for the whole run."""
    cfg = one_processor(5.0, arrival={"type": "periodic", "period_ms": 10}, duration_ms=1000)
    cfg["power_mode"] = "half"  # 500 MHz at 600 mV: the task takes exactly the 10 ms period
    r = simulate(cfg)
    dyn = (1.0 - 0.05) * (600**2 * 500) / (800**2 * 1000)
    expected_w = 0.5 + 0.05 + dyn
    assert r.summary["energy_mj"] == pytest.approx(expected_w * 1000, rel=1e-9)
    assert r.summary["peak_power_w"] == pytest.approx(expected_w)


def test_budget_accounting() -> None:
    cfg = one_processor(8.0, arrival={"type": "periodic", "period_ms": 16}, duration_ms=1600)
    cfg["budget_w"] = 1.0  # busy draws 1.5 W: over budget exactly while busy
    s = simulate(cfg).summary
    assert s["time_over_budget_ms"] == pytest.approx(800.0)
    assert s["energy_over_budget_mj"] == pytest.approx(800.0 * 0.5)
