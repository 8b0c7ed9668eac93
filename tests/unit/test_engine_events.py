"""The engine's direct event push gives exactly what SimPy's own Timeout gives."""

from __future__ import annotations

import hashlib

import pytest

import simsched.engine.events as events
from simsched.api import simulate

CONFIG = {
    "platform": "jetson-orin-nx",
    "workload": "twill-cai",
    "duration_ms": 1500,
    "power_mode": "15W",
    "policy": {"name": "fifo", "governor": "ondemand"},
}


def _digest(result) -> str:
    h = hashlib.sha256()
    for name in ("jobs", "tasks", "segments", "power", "frequency"):
        h.update(getattr(result, name).to_csv(index=False).encode())
    return h.hexdigest()


def test_installed_simpy_supports_the_direct_push():
    # If this fails after a SimPy upgrade the engine still works (it falls back to
    # Timeout objects), but the fast path is off: update simsched/engine/events.py.
    assert events.lean_events_supported()
    assert events.LEAN_EVENTS


def test_direct_push_and_simpy_timeouts_give_identical_runs(monkeypatch: pytest.MonkeyPatch):
    fast = simulate(CONFIG)
    monkeypatch.setattr(events, "LEAN_EVENTS", False)
    slow = simulate(CONFIG)
    assert fast.summary["manifest"]["events"] == slow.summary["manifest"]["events"] > 0
    assert _digest(fast) == _digest(slow)


def test_negative_delay_is_refused():
    from simsched.build import build_simulation
    from simsched.config.loader import load_config

    sim = build_simulation(load_config(CONFIG))
    with pytest.raises(ValueError, match="Negative delay"):
        sim.events.after(-1.0, lambda ev: None, None)
