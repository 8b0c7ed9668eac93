"""Invariants hold on random platforms and workloads under every core policy."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from simsched import check_invariants, simulate
from tests.properties.strategies import experiments

EXAMPLES = int(os.environ.get("SIMSCHED_PROPERTY_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(experiments())
def test_random_runs_keep_every_invariant(cfg: dict) -> None:
    r = simulate(cfg)
    assert check_invariants(r) == []
    o = r.summary["overall"]
    assert o["jobs_arrived"] == o["jobs_finished"] + o["jobs_dropped"] + o["jobs_in_flight"]
    done = r.tasks[r.tasks["state"] == "done"]
    assert (done["start_ms"] >= done["ready_ms"] - 1e-9).all()
    assert (done["finish_ms"] > done["start_ms"] - 1e-9).all()
