"""Latency-greedy: XRBench's default runtime, each model's oldest request on the fastest idle processor."""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import TYPE_CHECKING

from simsched.policies.base import NoParams, Policy, register_policy
from simsched.workload.states import READY

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.soc import Processor
    from simsched.workload.jobs import Job, Task



@register_policy("latency-greedy")
class LatencyGreedy(Policy):
    """XRBench's ``LatencyGreedy`` runtime: per-model FIFO queues, fastest idle processor.

    Each model has a FIFO queue of its ready tasks. A dispatch pass visits the
    models in alphabetical order of their names (XRBench keeps its queues in a
    ``std::map``, so this order acts as an implicit priority) and sends each
    model's oldest ready task to the idle processor (one with a free slot) on which
    that model has the lowest estimated latency at the current frequency; ties go
    to the processor listed first. Passes repeat while one of them started
    something, so a model gets at most one task per pass, as in XRBench's
    ``DispatchJobs``. A whole model runs on one processor; there is no preemption
    and no waiting for a faster busy processor. Late frames are dropped by the
    workload (``late: drop``), not by this policy. No DVFS control (a governor
    sets frequencies).
    """

    Params = NoParams

    def __init__(self) -> None:
        self._queues: dict[str, deque[Task]] = {}
        self._order: list[str] = []  # model names in alphabetical order (kept sorted by insertion)
        self._cands: dict[str, list[Processor]] = {}

    def on_ready(self, task: Task, sim: Simulation) -> None:
        """Append the task to its model's queue and dispatch."""
        name = task.model.name
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = deque()
            bisect.insort(self._order, name)
            self._cands[name] = sim.candidates(task)  # the online set never changes in a run
        q.append(task)
        self._dispatch(sim)

    def on_finish(self, task: Task, sim: Simulation) -> None:
        """A processor became idle: dispatch."""
        self._dispatch(sim)

    def on_drop(self, job: Job, sim: Simulation) -> None:
        """Cancelled tasks leave their queues lazily; a waiting task may have freed a slot."""
        self._dispatch(sim)

    def _fastest_idle(self, task: Task, sim: Simulation) -> Processor | None:
        best: Processor | None = None
        best_ms = math.inf
        for p in self._cands[task.model.name]:
            if sim.has_room(p):
                ms = sim.estimate_ms(task, p)
                if ms < best_ms:  # strict: ties keep the processor listed first, as XRBench's min search
                    best, best_ms = p, ms
        return best

    def _dispatch(self, sim: Simulation) -> None:
        procs = sim.processors
        started = True
        while started:
            started = False
            if not any(sim.has_room(p) for p in procs):
                return  # nothing is idle: no model can start (O(P), not O(queue))
            for name in self._order:
                q = self._queues[name]
                while q and q[0].state is not READY:  # dropped with its job
                    q.popleft()
                if not q:
                    continue
                proc = self._fastest_idle(q[0], sim)
                if proc is not None:
                    sim.start(q.popleft(), proc)
                    started = True
