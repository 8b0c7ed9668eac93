"""The ceiling: the smallest idiomatic SimPy model of the benchmark's jobs.

Each task is a SimPy process that waits for its predecessors (``AllOf`` of their
processes), holds its processor's ``simpy.Resource`` for its duration and ends.
One source process per app releases the jobs at the scenario's arrival times.
There is no policy, no power, no DVFS and nothing is recorded but a count of
finished tasks: whatever simsched adds on top of this costs time, so its
tasks per second over this model's is the figure of merit.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Generator
from typing import Any

import simpy

from benchmarks.scenario import APPS, MODELS, PROCESSORS, Scenario


def _task(env: simpy.Environment, preds: list[simpy.Process], res: simpy.Resource, dur: float, done: list[int]) -> Generator:
    if preds:
        yield env.all_of(preds)
    with res.request() as req:
        yield req
        yield env.timeout(dur)
    done[0] += 1


def _source(
    env: simpy.Environment,
    times: list[float],
    dag: list[tuple[simpy.Resource, float, list[int]]],
    done: list[int],
) -> Generator:
    for t in times:
        yield env.timeout(t - env.now)
        procs: list[simpy.Process] = []
        for res, dur, preds in dag:
            procs.append(env.process(_task(env, [procs[i] for i in preds], res, dur, done)))


def run_ceiling(scenario: Scenario) -> dict[str, Any]:
    """Run the ceiling model once.

    Returns
    -------
    dict
        ``tasks`` (finished within ``duration_ms``), ``events`` (SimPy events
        scheduled), ``seconds`` (wall time of building and running the model)
        and ``cpu_s`` (its CPU time).
    """
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    env = simpy.Environment()
    res = {name: simpy.Resource(env, capacity=p["capacity"]) for name, p in PROCESSORS.items()}
    done = [0]
    for app, (_gap, dag) in APPS.items():
        index = {task: i for i, (task, _m, _p) in enumerate(dag)}
        plan = []
        for _task_name, model, preds in dag:
            lat, default, _nseg = MODELS[model]
            plan.append((res[default], lat[default], [index[p] for p in preds]))
        env.process(_source(env, scenario.arrivals[app], plan, done))
    env.run(until=scenario.duration_ms)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    events = next(env._eid)  # SimPy's event-id counter: every event ever scheduled
    return {"tasks": done[0], "events": events, "seconds": seconds, "cpu_s": cpu}
