"""Affinity: each task on the processor it runs fastest on, per-processor FIFO queues."""

from __future__ import annotations

from collections import deque

from simsched.policies.base import NoParams, Policy, register_policy


@register_policy("affinity")
class Affinity(Policy):
    """Each task goes to the processor with the lowest profiled latency for its model.

    The choice is static (latency at the highest OPP the power mode allows, from
    the profile), ties go to the processor listed first. Each processor serves its
    own FIFO queue. No migration, no freezing, no DVFS control.
    """

    Params = NoParams

    def __init__(self) -> None:
        self.queues: dict[int, deque] = {}
        self.best: dict[str, object] = {}

    def bind(self, sim):
        self.queues = {p.index: deque() for p in sim.processors}

    def on_ready(self, task, sim):
        proc = self.best.get(task.model.name)
        if proc is None:
            proc = min(sim.candidates(task), key=lambda p: sim.estimate_ms(task, p, max(sim.allowed_freqs(p.domain))))
            self.best[task.model.name] = proc
        self.queues[proc.index].append(task)
        self.dispatch(proc, sim)

    def on_finish(self, task, sim):
        self.dispatch(task.proc, sim)

    def dispatch(self, proc, sim):
        q = self.queues[proc.index]
        while q and sim.has_room(proc):
            sim.start(q.popleft(), proc)
