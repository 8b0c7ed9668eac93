"""The dream policy: invariants on the shipped scenarios, layer-block preemption, frame dropping, online weights."""

from __future__ import annotations

import copy
import itertools
import math

import pytest

from simsched import ConfigError, check_invariants, load_config, simulate
from simsched.build import build_simulation
from simsched.policies.dream import Dream
from tests.helpers import ROOT, minimal

XRBENCH = sorted(p.stem for p in (ROOT / "workloads").glob("xrbench-*.yaml"))
STATIC = {"name": "dream", "params": {"adapt": False}}


def _one_core(models: dict, apps: dict, policy: dict | str = STATIC, duration_ms: float = 200.0) -> dict:
    """The minimal platform (one CPU core, 1000 MHz under the default governor) with these models and apps."""
    cfg = minimal()
    cfg["duration_ms"] = duration_ms
    cfg["policy"] = copy.deepcopy(policy)
    cfg["platform"]["models"] = models
    cfg["workload"]["apps"] = apps
    return cfg


def _trace(*times: float) -> dict:
    return {"type": "trace", "times_ms": list(times)}


def _task(r, app: str):
    return r.tasks[r.tasks["app"] == app].iloc[0]


def _segments(r, app: str) -> list[tuple[str, float, float]]:
    s = r.segments[r.segments["app"] == app]
    return [(p, a, b) for p, a, b in zip(s["processor"], s["start_ms"], s["end_ms"], strict=True)]


# A 100 ms background task in 10 layer blocks (boundaries every 10 ms) holds the only
# core when a 5 ms alert with a 9 ms deadline arrives.
BULK = {"bulk": {"latency_ms": {"cpu0": 100.0}, "segments": 10}, "short": {"latency_ms": {"cpu0": 5.0}}}


def _alert_at(t: float) -> dict:
    return {
        "background": {"arrival": _trace(0.0), "graph": {"b": {"model": "bulk"}}},
        "alert": {"arrival": _trace(t), "deadline_ms": 9.0, "graph": {"a": {"model": "short"}}},
    }


@pytest.mark.parametrize("workload", XRBENCH)
def test_invariants_on_xrbench_scenarios(workload: str) -> None:
    r = simulate({"platform": "xr-dual-4k", "workload": workload, "duration_ms": 700, "policy": "dream"})
    assert r.summary["policy"] == "dream"
    assert check_invariants(r) == []
    assert r.summary["overall"]["jobs_finished"] > 0


def test_invariants_on_twill_cai() -> None:
    r = simulate({"platform": "jetson-orin-nx", "workload": "twill-cai", "duration_ms": 2000, "policy": "dream"})
    assert check_invariants(r) == []
    assert r.summary["overall"]["jobs_finished"] > 0


def test_urgent_task_preempts_at_the_next_layer_block_boundary() -> None:
    # At 17 ms the alert has 27 - 17 - 5 = 4 ms of slack (urgency 1 - 4/9 > 0.5). The
    # background task's next boundary is at 20 ms; the alert then ends at 25 <= 26.
    r = simulate(_one_core(BULK, _alert_at(17.0)))
    assert check_invariants(r) == []
    b, a = _task(r, "background"), _task(r, "alert")
    assert (b["freezes"], b["migrations"]) == (1, 0)
    assert (a["start_ms"], a["finish_ms"]) == pytest.approx((20.0, 25.0))
    assert _segments(r, "background") == [("cpu0", 0.0, 20.0), ("cpu0", 25.0, 105.0)]
    assert b["finish_ms"] == pytest.approx(105.0)
    # FIFO on the same input: no freeze, the alert waits for the whole background task.
    f = simulate(_one_core(BULK, _alert_at(17.0), policy="fifo"))
    assert _task(f, "background")["freezes"] == 0 and _task(f, "alert")["start_ms"] == pytest.approx(100.0)


def test_no_preemption_when_the_boundary_comes_too_late() -> None:
    # At 14 ms the next boundary (20 ms) is too late: the alert would end at 25 > 23.
    # So nothing is frozen; the alert waits, and when the core frees at 100 ms it is hopeless.
    r = simulate(_one_core(BULK, _alert_at(14.0)))
    assert _task(r, "background")["freezes"] == 0
    alert = r.jobs[r.jobs["app"] == "alert"].iloc[0]
    assert bool(alert["dropped"]) and alert["end_ms"] == pytest.approx(100.0)
    assert _segments(r, "alert") == []


def test_frozen_task_resumes_where_a_slot_frees_first() -> None:
    # Two cores. The background task (movable, 1 ms migration) is frozen on cpu0 at 20 ms
    # for the alert; cpu1 frees at 22 ms, before cpu0 (25 ms), so it resumes there.
    cfg = _one_core(
        {
            "bulk": {"latency_ms": {"cpu0": 100.0, "cpu1": 100.0}, "segments": 10, "migrate_ms": 1.0},
            "side": {"latency_ms": {"cpu1": 22.0}},
            "short": {"latency_ms": {"cpu0": 5.0}},
        },
        {**_alert_at(17.0), "side": {"arrival": _trace(0.0), "graph": {"s": {"model": "side"}}}},
    )
    cfg["platform"]["processors"]["cpu1"] = dict(cfg["platform"]["processors"]["cpu0"])
    r = simulate(cfg)
    assert check_invariants(r) == []
    b = _task(r, "background")
    assert (b["freezes"], b["migrations"]) == (1, 1)
    assert _segments(r, "background") == [("cpu0", 0.0, 20.0), ("cpu1", 23.0, 103.0)]  # 22 + 1 ms migration
    assert _segments(r, "alert") == [("cpu0", 20.0, 25.0)]


def test_hopeless_frames_are_dropped_and_not_run() -> None:
    # 8 ms frames with a 10 ms deadline arriving at 0 and 1 ms, and a 15 ms frame that
    # cannot meet its 10 ms deadline at all. Apps keep late frames (late: run), so
    # only the policy drops.
    models = {"det": {"latency_ms": {"cpu0": 8.0}}, "big": {"latency_ms": {"cpu0": 15.0}}}
    apps = {
        "cam": {"arrival": _trace(0.0, 1.0), "deadline_ms": 10.0, "graph": {"d": {"model": "det"}}},
        "huge": {"arrival": _trace(50.0), "deadline_ms": 10.0, "graph": {"h": {"model": "big"}}},
    }
    r = simulate(_one_core(models, apps))
    j = r.jobs.set_index("job_id")
    # Frame 1 could still make it at 1 ms (1 + 8 <= 11) but not when the core frees at 8 ms.
    assert not j.loc[0, "dropped"] and j.loc[0, "finish_ms"] == pytest.approx(8.0)
    assert j.loc[1, "dropped"] and j.loc[1, "end_ms"] == pytest.approx(8.0)
    assert j.loc[2, "dropped"] and j.loc[2, "end_ms"] == pytest.approx(50.0)  # hopeless on arrival
    assert set(r.segments["job_id"]) == {0}
    assert check_invariants(r) == []
    # Without frame dropping both late frames run.
    keep = simulate(_one_core(models, apps, {"name": "dream", "params": {"adapt": False, "drop_hopeless": False}}))
    assert not keep.jobs["dropped"].any()
    assert keep.jobs.set_index("job_id").loc[1, "finish_ms"] == pytest.approx(16.0)


def _history(seed: int) -> tuple[Dream, list[tuple]]:
    cfg = {"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 3000, "seed": seed,
           "policy": "dream"}
    sim = build_simulation(load_config(cfg)).run()
    pol = sim.policy
    assert isinstance(pol, Dream)
    rows = [(h["t_ms"], h["weights"], None if math.isnan(h["uxcost"]) else h["uxcost"], h["action"]) for h in pol.history]
    return pol, rows


def test_weights_adapt_online_and_deterministically() -> None:
    pol, rows = _history(1)
    assert len(rows) == 29  # one per 100 ms window before the end
    weights = [w for _, w, _, _ in rows]
    assert len(set(weights)) > 2 and tuple(pol.weights) != (1.0, 0.5, 0.25)
    assert {"keep", "revert"} <= {a for *_, a in rows}
    # A move is kept only if its window cost beats the window it was compared with.
    for (_, _, c0, a0), (_, _, c1, a1) in itertools.pairwise(rows):
        if a1 == "keep" and a0 in ("base", "keep"):
            assert c1 < c0
    _, again = _history(1)
    assert again == rows
    # Without adaptation the weights stay put and no window is measured.
    cfg = {"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 3000, "policy": STATIC}
    fixed = build_simulation(load_config(cfg)).run().policy
    assert fixed.history == [] and fixed.weights == [1.0, 0.5, 0.25]


def test_scoring_is_bounded_to_top_k_ready_tasks(monkeypatch) -> None:
    # Overload without deadlines: the queue grows far beyond top_k, but each dispatch
    # scores at most top_k tasks.
    seen: list[int] = []
    real = Dream._pairs

    def spy(self, top, *args):
        seen.append(len(top))
        return real(self, top, *args)

    monkeypatch.setattr(Dream, "_pairs", spy)
    models = {"det": {"latency_ms": {"cpu0": 8.0}}}
    apps = {"cam": {"arrival": {"type": "periodic", "period_ms": 2.0}, "graph": {"d": {"model": "det"}}}}
    r = simulate(_one_core(models, apps, {"name": "dream", "params": {"adapt": False, "top_k": 4}}, 400.0))
    assert r.summary["overall"]["jobs_in_flight"] > 100
    assert max(seen) == 4


def test_bad_parameters_are_config_errors() -> None:
    models = {"det": {"latency_ms": {"cpu0": 8.0}}}
    apps = {"cam": {"arrival": _trace(0.0), "graph": {"d": {"model": "det"}}}}
    for params in ({"w_urgency": 2.0}, {"window_ms": 0}, {"top_k": 0}, {"urgency_threshold": -0.1}):
        with pytest.raises(ConfigError):
            simulate(_one_core(models, apps, {"name": "dream", "params": params}))


def test_uxcost_against_baselines_on_ar_assistant() -> None:
    """Report (not a claim): UXCost of dream, fifo and affinity on the XRBench AR assistant."""
    rows = []
    for policy in ("dream", "fifo", "affinity"):
        r = simulate({"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 700, "policy": policy})
        o = r.summary["overall"]
        assert o["uxcost"] is not None and o["uxcost"] > 0
        rows.append((policy, o["uxcost"], o["deadline_miss_rate"], o["drop_rate"], r.summary["energy_mj"]))
    print("\nxrbench-ar-assistant, xr-dual-4k, 700 ms, seed 1")
    print(f"{'policy':10s} {'UXCost mJ':>10s} {'miss':>6s} {'drop':>6s} {'energy mJ':>10s}")
    for p, ux, miss, drop, e in rows:
        print(f"{p:10s} {ux:10.1f} {miss:6.3f} {drop:6.3f} {e:10.1f}")
