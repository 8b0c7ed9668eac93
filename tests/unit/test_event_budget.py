"""Engine events per task stay within budget (a deterministic guard of the engine's cost model).

The engine schedules one SimPy event per job arrival, per deadline of a ``late: drop``
job, per task *phase* (one for a DNN, prefill and decode for an LLM), per wait for
input data on another processor, and per frequency switch or timer; never one per
segment. Run time is roughly proportional to the number of events, so a change
that adds events per task slows every long run. Wall time is never asserted here:
the event count of a seeded run is exact, so this test cannot flake.

Updating the bound: when a change adds events on purpose, print the new value with

    python -c "from tests.unit.test_event_budget import events_per_task; print(events_per_task('fifo'), events_per_task('affinity'))"

and set ``BOUND`` to the larger value plus about 2 %, rounded up to two decimals,
saying in the change why the engine needs the extra events. Lower it when a change
removes events.
"""

from __future__ import annotations

from typing import Any

import pytest

from simsched import simulate

# Measured 1.906 (fifo) and 1.916 (affinity) events per task on the scenario below:
# per task about 1/3 arrival, 1/3 deadline, 1/3 input-data wait (det -> cls crosses
# processors), one per phase (two for the LLM), nothing per segment.
BOUND = 1.96


def scenario(segments: bool = True) -> dict[str, Any]:
    """Three processors, a camera pipeline with a deadline and a data transfer, and an LLM assistant."""
    seg = (lambda n: n) if segments else (lambda n: 1)
    return {
        "seed": 3,
        "duration_ms": 3000,
        "platform": {
            "name": "budget-soc",
            "static_w": 0.3,
            "domains": {
                "big": {"opps": [[1000, 800], [2000, 1000]], "switch_ms": 0.05},
                "acc": {"opps": [[600, 700], [900, 800]], "switch_ms": 0.05},
            },
            "processors": {
                "cpu": {"kind": "cpu", "domain": "big", "capacity": 2, "idle_w": 0.1, "busy_w": 3.0},
                "gpu": {"kind": "gpu", "domain": "acc", "capacity": 1, "idle_w": 0.2, "busy_w": 5.0},
                "npu": {"kind": "npu", "domain": "acc", "capacity": 1, "idle_w": 0.05, "busy_w": 1.5},
            },
            "interconnect": {"latency_ms": 0.1, "bandwidth_gb_per_s": 8.0},
            "models": {
                "det": {
                    "kind": "cnn",
                    "latency_ms": {"npu": 3.0, "gpu": 4.0},
                    "segments": seg(30),
                    "variability": {"type": "normal", "cv": 0.1},
                },
                "cls": {
                    "kind": "transformer",
                    "latency_ms": {"gpu": 1.5, "cpu": 5.0},
                    "segments": seg(12),
                    "variability": {"type": "lognormal", "cv": 0.2},
                },
                "track": {"kind": "other", "latency_ms": {"cpu": 1.0}, "segments": seg(4)},
                "chat": {
                    "kind": "llm",
                    "llm": {
                        "prefill_ms_per_token": {"gpu": 0.05, "cpu": 0.4},
                        "decode_ms_per_token": {"gpu": 2.0, "cpu": 9.0},
                        "prompt_tokens": {"type": "uniform", "low": 32, "high": 256},
                        "output_tokens": {"type": "uniform", "low": 4, "high": 32},
                        "prefill_chunk_tokens": 64 if segments else 1_000_000,
                    },
                },
            },
        },
        "workload": {
            "name": "budget-mix",
            "apps": {
                "camera": {
                    "arrival": {"type": "periodic", "period_ms": 16.6, "jitter_ms": 1.0},
                    "deadline_ms": 33.0,
                    "late": "drop",
                    "graph": {
                        "det": {"model": "det"},
                        "cls": {"model": "cls", "after": {"det": {"transfer_kb": 64}}},
                        "track": {"model": "track", "after": ["det"]},
                    },
                },
                "assistant": {
                    "arrival": {"type": "poisson", "rate_hz": 5},
                    "graph": {"chat": {"model": "chat"}, "speak": {"model": "track", "after": ["chat"]}},
                },
            },
        },
    }


def events_per_task(policy: str, segments: bool = True) -> float:
    """Engine events of the scenario's run under ``policy`` divided by its tasks."""
    cfg = scenario(segments)
    cfg["policy"] = policy
    result = simulate(cfg)
    n_tasks = len(result.tasks)
    assert n_tasks > 500, "the scenario should produce enough tasks for a meaningful ratio"
    return result.summary["manifest"]["events"] / n_tasks


@pytest.mark.parametrize("policy", ["fifo", "affinity"])
def test_events_per_task_within_budget(policy: str) -> None:
    assert events_per_task(policy) <= BOUND


@pytest.mark.parametrize("policy", ["fifo", "affinity"])
def test_events_do_not_grow_with_segments(policy: str) -> None:
    # Segments are preemption points, not events: without freezes, a run with
    # many segments per task costs the same number of events as with one.
    assert events_per_task(policy, segments=True) == events_per_task(policy, segments=False)
