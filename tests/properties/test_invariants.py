"""Invariants hold on random platforms and workloads under every policy and governor."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsched import ConfigError, check_invariants, simulate
from simsched.policies.base import available_governors, available_policies, policy_class
from tests.properties.strategies import experiments

EXAMPLES = int(os.environ.get("SIMSCHED_PROPERTY_EXAMPLES", "200"))
POLICIES = [p for p in available_policies() if not p.startswith("test-")]


@st.composite
def runs(draw):
    cfg = draw(experiments(policies=POLICIES))
    policy = cfg["policy"]
    budget_kept = policy_class(policy).controls_frequency
    if not policy_class(policy).controls_frequency:
        gov = draw(st.sampled_from(available_governors()))
        cfg["policy"] = {"name": policy, "governor": gov}
        budget_kept = gov == "budget"
    if draw(st.booleans()):
        plat = cfg["platform"]
        floor = plat["static_w"] + sum(p["idle_w"] for p in plat["processors"].values())
        cfg["budget_w"] = floor + draw(st.floats(0.05, 10))
    return cfg, budget_kept


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_random_runs_keep_every_invariant(case) -> None:
    cfg, budget_kept = case
    try:
        r = simulate(cfg)
    except ConfigError as exc:
        # The only acceptable refusal: a budget the policy or governor cannot keep.
        assert "budget" in str(exc)  # noqa: PT017 - hypothesis decides per example whether it raises
        return
    assert check_invariants(r, budget_honouring=budget_kept) == []
    o = r.summary["overall"]
    assert o["jobs_arrived"] == o["jobs_finished"] + o["jobs_dropped"] + o["jobs_in_flight"]
    done = r.tasks[r.tasks["state"] == "done"]
    assert (done["start_ms"] >= done["ready_ms"] - 1e-9).all()
    assert (done["finish_ms"] > done["start_ms"] - 1e-9).all()
