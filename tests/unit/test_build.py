"""Building a run outside the engine: ``validate`` finds every feasibility error without a Simulation."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest

from simsched import ConfigError, load_config, simulate
from simsched.build import build_simulation, validate
from simsched.engine import simulation as simmod
from simsched.engine.recorder import MemoryRecorder
from tests.helpers import minimal

ENGINE = Path(simmod.__file__).parent
ABOVE_ENGINE = ("simsched.policies", "simsched.metrics", "simsched.report", "simsched.cli", "simsched.commands", "simsched.build")


def _offline_only() -> dict[str, Any]:
    cfg = minimal()
    cfg["platform"]["processors"]["cpu1"] = {"kind": "cpu", "domain": "little", "idle_w": 0.05, "busy_w": 1.0}
    cfg["platform"]["models"]["detector"]["latency_ms"] = {"cpu1": 8.0}
    cfg["platform"]["power_modes"]["half"]["offline"] = ["cpu1"]
    cfg["power_mode"] = "half"
    return cfg


def _with(**changes: Any) -> dict[str, Any]:
    cfg = minimal()
    cfg.update(copy.deepcopy(changes))
    return cfg


INFEASIBLE = {
    "budget-below-floor": (_with(budget_w=0.1), "budget_w", "below the platform's static plus idle power"),
    "offline-only-model": (_offline_only(), "power_mode", "can run only on processors that are offline"),
    "governor-with-dvfs-policy": (
        _with(policy={"name": "twill", "governor": "ondemand"}), "policy.governor", "sets frequencies itself",
    ),
    "unknown-policy": (_with(policy="nosuch"), "policy.name", "unknown policy 'nosuch'"),
    "unknown-governor": (_with(policy={"name": "fifo", "governor": "nosuch"}), "policy.governor", "unknown governor"),
    "unknown-parameter": (_with(policy={"name": "fifo", "params": {"foo": 1}}), "policy.params.foo", "unknown parameter"),
}


@pytest.mark.parametrize("case", sorted(INFEASIBLE))
def test_validate_raises_what_building_raises_without_a_simulation(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, field, message = INFEASIBLE[case]
    loaded = load_config(cfg)
    with pytest.raises(ConfigError) as built:
        build_simulation(loaded)
    assert built.value.field == field and message in str(built.value)

    def no_simulation(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("validate constructed a Simulation")

    monkeypatch.setattr(simmod.Simulation, "__init__", no_simulation)
    with pytest.raises(ConfigError) as checked:
        validate(loaded)
    assert str(checked.value) == str(built.value)


def test_validate_accepts_a_feasible_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simmod.Simulation, "__init__", None)  # would fail if called
    validate(load_config(minimal()))


def test_engine_imports_no_policies_metrics_report_or_cli() -> None:
    # Module-level imports only: imports under TYPE_CHECKING may cross layers.
    for path in ENGINE.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(ABOVE_ENGINE), f"{path.name} imports {name}"


class CountingRecorder(MemoryRecorder):
    """A third recorder: counts what the engine sends, on top of keeping it."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.counts = {"job": 0, "task": 0, "segment": 0, "frequency": 0, "power": 0, "job_ended": 0}
        keep = {"job": self.job, "task": self.task, "segment": self.segment, "frequency": self.frequency}
        for name, fn in keep.items():
            setattr(self, name, self._counting(name, fn))

    def _counting(self, name: str, fn: Any) -> Any:
        def record(row: Any) -> None:
            self.counts[name] += 1
            fn(row)

        return record

    def power(self, time_ms: float, proc: int, power_w: float) -> None:
        self.counts["power"] += 1
        super().power(time_ms, proc, power_w)

    def job_ended(self, sim: Any) -> None:
        self.counts["job_ended"] += 1


def test_a_recorder_receives_every_record_of_the_run() -> None:
    cfg = {**minimal(), "duration_ms": 2000}
    rec: list[CountingRecorder] = []

    def make(platform: Any, apps: Any) -> CountingRecorder:
        rec.append(CountingRecorder(len(platform.processors)))
        return rec[0]

    sim = build_simulation(load_config(cfg), make).run()
    r = simulate(cfg)
    c = rec[0].counts
    assert sim.recorder is rec[0]
    assert c["job"] == len(r.jobs) > 0
    assert c["task"] == len(r.tasks)
    assert c["segment"] == len(r.segments)
    assert c["frequency"] == len(r.frequency)
    # Every job that ended was announced; the jobs still in flight at the end are recorded without it.
    assert c["job_ended"] == int(r.jobs["end_ms"].notna().sum())
    # Power rows: at most one per processor and instant is kept, every call counts.
    assert c["power"] >= (r.power["processor"] != "total").sum()
