"""Hypothesis strategies: random (valid) platforms, workloads and experiments."""

from __future__ import annotations

from hypothesis import strategies as st

KINDS = ["cpu", "gpu", "npu", "dla", "dsp"]


@st.composite
def platforms(draw, max_procs: int = 4) -> dict:
    n_dom = draw(st.integers(1, 3))
    domains = {}
    for d in range(n_dom):
        n_opp = draw(st.integers(1, 4))
        freqs = sorted(draw(st.sets(st.integers(200, 3000), min_size=n_opp, max_size=n_opp)))
        volts = sorted(draw(st.lists(st.integers(500, 1100), min_size=n_opp, max_size=n_opp)))
        domains[f"d{d}"] = {"opps": [[f, v] for f, v in zip(freqs, volts, strict=True)],
                            "switch_ms": draw(st.sampled_from([0.0, 0.05, 0.5]))}
    n_proc = draw(st.integers(1, max_procs))
    procs = {}
    for i in range(n_proc):
        idle = draw(st.floats(0, 0.5))
        procs[f"p{i}"] = {
            "kind": draw(st.sampled_from(KINDS)),
            "domain": f"d{draw(st.integers(0, n_dom - 1))}",
            "capacity": draw(st.integers(1, 3)),
            "idle_w": idle,
            "busy_w": idle + draw(st.floats(0.1, 5)),
        }
    models = {}
    for m in range(draw(st.integers(1, 3))):
        runs_on = draw(st.lists(st.sampled_from(list(procs)), min_size=1, max_size=n_proc, unique=True))
        models[f"m{m}"] = {
            "latency_ms": {p: draw(st.floats(0.1, 20)) for p in runs_on},
            "compute_fraction": draw(st.floats(0, 1)),
            "segments": draw(st.integers(1, 8)),
            "variability": draw(st.sampled_from([{"type": "constant"}, {"type": "exponential"},
                                                 {"type": "lognormal", "cv": 0.3}, {"type": "normal", "cv": 0.2}])),
            "activity": draw(st.floats(0.2, 1.5)),
        }
    if draw(st.booleans()):
        models["llm"] = {
            "kind": "llm",
            "llm": {
                "prefill_ms_per_token": {p: draw(st.floats(0.01, 1)) for p in runs_on},
                "decode_ms_per_token": {p: draw(st.floats(1, 30)) for p in runs_on},
                "prompt_tokens": {"type": "uniform", "low": 1, "high": 300},
                "output_tokens": {"type": "uniform", "low": 1, "high": 20},
            },
        }
    modes = {"full": {}}
    caps_dom = draw(st.sampled_from(list(domains)))
    modes["capped"] = {"caps_mhz": {caps_dom: domains[caps_dom]["opps"][0][0]}}
    return {"name": "random", "static_w": draw(st.floats(0, 2)), "domains": domains, "processors": procs,
            "power_modes": modes, "interconnect": {"latency_ms": draw(st.floats(0, 1)), "bandwidth_gb_per_s": 5.0},
            "models": models}


ARRIVALS = st.one_of(
    st.builds(lambda p, j: {"type": "periodic", "period_ms": p, "jitter_ms": min(j, p)},
              st.floats(2, 50), st.floats(0, 5)),
    st.builds(lambda r: {"type": "poisson", "rate_hz": r}, st.floats(5, 300)),
    st.builds(lambda r, on, off: {"type": "bursty", "rate_hz": r, "on_ms": on, "off_ms": off},
              st.floats(10, 500), st.floats(5, 100), st.floats(5, 100)),
    # Think time >= 0.1 ms: with zero think time a policy that drops every request on arrival
    # makes a closed loop resubmit forever at one instant (Zeno); the event limit stops
    # such a run with a clear error, which is right, but it is not what this test is for.
    st.builds(lambda z, n: {"type": "closed", "think_ms": z, "population": n}, st.floats(0.1, 20), st.integers(1, 4)),
)


@st.composite
def experiments(draw, policies=("fifo", "affinity")) -> dict:
    plat = draw(platforms())
    names = list(plat["models"])
    apps = {}
    for a in range(draw(st.integers(1, 3))):
        app: dict = {"arrival": draw(ARRIVALS), "priority": draw(st.integers(0, 3))}
        if draw(st.booleans()):
            app["deadline_ms"] = draw(st.floats(1, 200))
            app["late"] = draw(st.sampled_from(["run", "drop"]))
        if draw(st.booleans()):
            app["generator"] = {"models": dict.fromkeys(names, 1.0), "tasks": [1, 4],
                                "edge_prob": draw(st.floats(0, 1)), "transfer_ms": draw(st.floats(0, 2))}
        else:
            n = draw(st.integers(1, 4))
            graph = {}
            for i in range(n):
                preds = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=i)) if i else []
                graph[f"t{i}"] = {"model": draw(st.sampled_from(names)),
                                  "after": {f"t{p}": {"transfer_ms": draw(st.floats(0, 2)),
                                                      "transfer_kb": draw(st.floats(0, 100)),
                                                      "prob": draw(st.sampled_from([1.0, 0.5]))} for p in preds}}
            app["graph"] = graph
        apps[f"a{a}"] = app
    return {
        "seed": draw(st.integers(0, 2**31)),
        "duration_ms": draw(st.floats(50, 400)),
        "policy": draw(st.sampled_from(list(policies))),
        "power_mode": draw(st.sampled_from(["full", "capped"])),
        "platform": plat,
        "workload": {"apps": apps},
        # A 400 ms scenario needs a few thousand events; a livelock (events at one instant
        # forever) must fail fast instead of running to the default limit.
        "limits": {"max_events": 300_000},
    }
