"""FIFO: one global queue in arrival order, each task on its model's default processor."""

from __future__ import annotations

from collections import deque

from simsched.policies.base import NoParams, Policy, register_policy


@register_policy("fifo")
class Fifo(Policy):
    """One global queue in arrival order; each task on its model's default processor.

    Strict FIFO: when the head of the queue cannot start because its processor is
    busy, nothing behind it starts either (head-of-line blocking), as in a single
    in-order inference server. No DVFS control, no preemption.
    """

    Params = NoParams

    def __init__(self) -> None:
        self.queue: deque = deque()

    def on_ready(self, task, sim):
        self.queue.append(task)
        self.dispatch(sim)

    def on_finish(self, task, sim):
        self.dispatch(sim)

    def on_drop(self, job, sim):
        self.dispatch(sim)  # a dropped head no longer blocks the queue

    def dispatch(self, sim):
        q = self.queue
        while q and (q[0].job.dropped or sim.has_room(proc := sim.default_processor(q[0]))):
            task = q.popleft()
            if not task.job.dropped:
                sim.start(task, proc)
