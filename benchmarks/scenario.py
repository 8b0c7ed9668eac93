"""The benchmark scenario: one job set that simsched and the SimPy ceiling model both run.

A small SoC (a 4-slot CPU, a GPU and an NPU, each in its own DVFS domain) runs
two apps with fixed DAGs:

* ``vision``: an 8-task fork-join (``src`` -> four branches -> two joins -> ``sink``),
* ``audio``: a 3-task chain.

Arrival times are drawn once here (exponential gaps from a fixed seed) and given
to simsched as trace arrivals, so both models see the same instants. Latencies
are constant (no variability), there is no transfer cost on any edge and every
model's default processor is also its fastest one, so ``fifo`` and ``affinity``
place every task on the processor the ceiling model uses, and a task's duration
is its model's latency there. :func:`check_same_jobs` verifies this on
simsched's own tables.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

SEED = 7

# name -> (latency per processor name at the highest OPP (ms), default processor, realistic segment count)
MODELS: dict[str, tuple[dict[str, float], str, int]] = {
    "pre": ({"cpu": 1.0, "gpu": 1.6}, "cpu", 12),
    "det": ({"npu": 2.0, "gpu": 3.0, "cpu": 12.0}, "npu", 92),
    "cls": ({"gpu": 1.5, "npu": 2.5, "cpu": 6.0}, "gpu", 42),
    "post": ({"cpu": 1.0}, "cpu", 4),
    "fuse": ({"cpu": 0.8, "gpu": 1.4}, "cpu", 8),
    "kws": ({"npu": 0.5, "cpu": 2.0}, "npu", 24),
    "asr": ({"gpu": 3.0, "npu": 4.5, "cpu": 15.0}, "gpu", 224),
}

# app -> (mean inter-arrival gap (ms), DAG as [(task, model, [predecessor tasks])] in topological order)
APPS: dict[str, tuple[float, list[tuple[str, str, list[str]]]]] = {
    "vision": (
        5.0,
        [
            ("src", "pre", []),
            ("b0", "det", ["src"]),
            ("b1", "cls", ["src"]),
            ("b2", "post", ["src"]),
            ("b3", "post", ["src"]),
            ("j0", "fuse", ["b0", "b1"]),
            ("j1", "fuse", ["b2", "b3"]),
            ("sink", "post", ["j0", "j1"]),
        ],
    ),
    "audio": (
        10.0,
        [
            ("kd", "kws", []),
            ("asr", "asr", ["kd"]),
            ("out", "post", ["asr"]),
        ],
    ),
}

PROCESSORS: dict[str, dict[str, Any]] = {
    "cpu": {"kind": "cpu", "domain": "cpu", "capacity": 4, "idle_w": 0.2, "busy_w": 4.0},
    "gpu": {"kind": "gpu", "domain": "gpu", "capacity": 1, "idle_w": 0.3, "busy_w": 6.0},
    "npu": {"kind": "npu", "domain": "npu", "capacity": 1, "idle_w": 0.1, "busy_w": 2.0},
}
DOMAINS: dict[str, dict[str, Any]] = {
    "cpu": {"opps": [[1000, 700], [2000, 900]], "switch_ms": 0.1},
    "gpu": {"opps": [[500, 650], [1000, 850]], "switch_ms": 0.1},
    "npu": {"opps": [[800, 700], [1000, 800]], "switch_ms": 0.1},
}


def tasks_per_ms() -> float:
    """Mean number of tasks arriving per simulated millisecond."""
    return sum(len(dag) / gap for gap, dag in APPS.values())


@dataclass
class Scenario:
    """One instance of the benchmark workload.

    Attributes
    ----------
    duration_ms : float
        Simulated time; every job arrives before it.
    arrivals : dict
        App name -> ascending arrival times (ms), identical for both models.
    segments : bool
        Whether models carry realistic segment counts (else one segment per task).
    """

    duration_ms: float
    arrivals: dict[str, list[float]]
    segments: bool = False

    @property
    def n_tasks(self) -> int:
        """Tasks that arrive during the run."""
        return sum(len(APPS[a][1]) * len(t) for a, t in self.arrivals.items())

    def config(self, policy: str) -> dict[str, Any]:
        """The simsched experiment mapping of this scenario under ``policy``."""
        models = {
            name: {
                "kind": "cnn",
                "latency_ms": dict(lat),
                "default_processor": default,
                "segments": nseg if self.segments else 1,
                "variability": {"type": "constant"},
                "compute_fraction": 0.8,
            }
            for name, (lat, default, nseg) in MODELS.items()
        }
        apps = {
            app: {
                "arrival": {"type": "trace", "times_ms": list(self.arrivals[app])},
                "graph": {task: {"model": model, "after": list(preds)} for task, model, preds in dag},
            }
            for app, (_gap, dag) in APPS.items()
        }
        return {
            "name": "bench",
            "seed": 1,
            "duration_ms": self.duration_ms,
            "policy": policy,
            "platform": {
                "name": "bench-soc",
                "static_w": 0.5,
                "domains": copy.deepcopy(DOMAINS),
                "processors": copy.deepcopy(PROCESSORS),
                "models": models,
            },
            "workload": {"name": "bench-mix", "apps": apps},
            "limits": {"max_events": 10**9, "max_jobs": 10**8},
        }


def make_scenario(n_tasks: int, *, segments: bool = False, seed: int = SEED) -> Scenario:
    """A scenario in which about ``n_tasks`` tasks arrive.

    Jobs stop arriving at 98 % of the simulated time, so nearly every task
    finishes before the end and the done-task counts of both models agree.
    """
    duration = n_tasks / tasks_per_ms() / 0.98
    rng = np.random.default_rng(seed)
    arrivals: dict[str, list[float]] = {}
    for app, (gap, _dag) in APPS.items():
        n = int(duration / gap * 1.2) + 16
        times = np.cumsum(rng.exponential(gap, n))
        times = times[times < 0.98 * duration]
        # Rounded to 1 us: the same float in both models, printable without loss.
        arrivals[app] = np.round(times, 3).tolist()
    return Scenario(duration_ms=duration, arrivals=arrivals, segments=segments)


def check_same_jobs(scenario: Scenario, jobs: Any, tasks: Any) -> None:
    """Raise AssertionError unless simsched's tables show the scenario's jobs.

    Checks arrival times per app, and for every task that finished: the
    processor (each model's default) and the duration (start to finish equals
    the model's latency there, as no task waits for data or is preempted).

    Parameters
    ----------
    jobs, tasks : DataFrame
        ``Result.jobs`` and ``Result.tasks`` of a run of ``scenario.config(...)``.
    """
    for app, times in scenario.arrivals.items():
        got = jobs.loc[jobs["app"] == app, "arrival_ms"].to_numpy(dtype=float)
        # Equal up to rounding: both models schedule an arrival as a delay from "now".
        want = np.asarray(times, dtype=float)
        if len(got) != len(want) or not np.allclose(np.sort(got), want, rtol=0, atol=1e-9):
            raise AssertionError(f"arrival times of app {app} differ from the scenario's")
    done = tasks[tasks["state"] == "done"]
    lat = {m: lat_all[d] for m, (lat_all, d, _n) in MODELS.items()}
    proc = {m: d for m, (_l, d, _n) in MODELS.items()}
    want_proc = done["model"].map(proc)
    if not (done["processor"] == want_proc).all():
        raise AssertionError("a task ran on another processor than its model's default")
    dur = (done["finish_ms"] - done["start_ms"]).to_numpy(dtype=float)
    want = done["model"].map(lat).to_numpy(dtype=float)
    if not np.allclose(dur, want, rtol=0, atol=1e-6):
        raise AssertionError("a task's duration differs from its model's latency")
