"""One home for task states and for the UXCost formula; the layers import them from there."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import simsched.metrics.xr as xr
import simsched.workload.jobs as jobs
from simsched import scoring
from simsched.workload import states

PKG = Path(__file__).resolve().parents[2] / "simsched"


def test_constants_are_the_enum_members() -> None:
    for member in states.TaskState:
        assert getattr(states, member.name) is member
    assert jobs.TaskState is states.TaskState  # still importable from its old place
    assert {states.READY, states.FROZEN} == states.QUEUED
    assert {states.RUNNING, states.WAITING} == states.HOLDING
    assert {states.DONE, states.SKIPPED, states.CANCELLED} == states.GONE
    assert [int(s) for s in states.TaskState] == list(range(8))


def _module_state_constants(path: Path) -> list[str]:
    """Module-level names bound to ``TaskState.X`` (a copy of the states)."""
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
            v = node.value
            if isinstance(v.value, ast.Name) and v.value.id == "TaskState":
                out.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def test_no_policy_or_workload_module_copies_the_states() -> None:
    for folder in ("policies", "workload"):
        for path in (PKG / folder).glob("*.py"):
            if path.name == "states.py":
                continue
            assert _module_state_constants(path) == [], path
            assert "TaskState." not in path.read_text(), path


def test_uxcost_lives_below_metrics_and_policies() -> None:
    assert xr.uxcost is scoring.uxcost
    assert scoring.uxcost(300.0, 4, 1) == 100.0
    assert scoring.uxcost(5.0, 2, 2) == math.inf
    assert math.isnan(scoring.uxcost(5.0, 0, 0))
    dream = (PKG / "policies" / "dream.py").read_text()
    assert "simsched.metrics" not in dream
    for path in (PKG / "policies").glob("*.py"):
        imports = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)]
        for n in imports:
            assert not (n.module or "").startswith(("simsched.metrics", "simsched.report", "simsched.cli")), path
