"""EDF: earliest absolute deadline first, each task on the processor with the earliest estimated finish."""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import TYPE_CHECKING

from simsched.policies.base import NoParams, Policy, register_policy
from simsched.workload.states import CANCELLED, READY

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.soc import Processor
    from simsched.workload.jobs import Job, Task

EPS_MS = 1e-9
"""Two finish-time estimates closer than this (ms) are a tie (the processor listed first wins)."""

# A queue entry: (absolute deadline ms, ready time ms, arrival sequence, task).
# The sequence number is unique, so tuples never compare two tasks.
Entry = tuple[float, float, int, "Task"]


@register_policy("edf")
class Edf(Policy):
    """Earliest absolute deadline first, mapped by earliest estimated finish time (EFT).

    Ready tasks are served in order of their job's absolute deadline (ties: earlier
    ready time, then the order they became ready); tasks of jobs without a deadline
    come after every task with one. Each task goes to the processor ``p`` that
    minimises

    ``EFT(p) = max(free(p), now + transfer_in(task, p)) + estimate(task, p)``

    where ``free(p)`` is ``now`` if ``p`` has a free slot, else the earliest
    estimated end among the tasks holding its slots. If that processor is busy the
    task waits for it (it is not started on a worse processor) and the processor is
    reserved for the rest of the dispatch round, so a later-deadline task cannot
    claim it; later tasks choose among the remaining processors and may start on
    other idle ones. No DVFS control (a governor sets frequencies), no preemption,
    no migration.

    Notes
    -----
    The ready queue is one heap per model, merged by deadline in each dispatch
    round. All tasks of a model have the same candidate processors, so once every
    candidate of a model is reserved the whole model leaves the round; a round
    therefore costs O((M + P + k) log M) heap operations for M models with ready
    tasks, P processors and k tasks started, however long the queues are.
    """

    Params = NoParams

    def __init__(self) -> None:
        self._queues: dict[str, list[Entry]] = {}
        self._seq = count()
        # Estimated end (ms) of every task this policy started and that still holds a slot.
        self._end_ms: dict[Task, float] = {}
        self._cands: dict[str, list[Processor]] = {}

    # ----------------------------------------------------------------- hooks

    def on_ready(self, task: Task, sim: Simulation) -> None:
        """Queue the task by deadline and run a dispatch round."""
        q = self._queues.get(task.model.name)
        if q is None:
            q = self._queues[task.model.name] = []
            self._cands[task.model.name] = sim.candidates(task)  # the online set never changes in a run
        heapq.heappush(q, (task.job.deadline_ms, task.ready_ms, next(self._seq), task))
        self._dispatch(sim)

    def on_finish(self, task: Task, sim: Simulation) -> None:
        """A slot freed: run a dispatch round."""
        self._end_ms.pop(task, None)
        self._dispatch(sim)

    def on_drop(self, job: Job, sim: Simulation) -> None:
        """Forget the dropped job's cancelled tasks (queued ones are skipped lazily) and dispatch."""
        for t in job.tasks:
            if t.state is CANCELLED:
                self._end_ms.pop(t, None)  # a task waiting for input data lost its slot
        self._dispatch(sim)

    # ------------------------------------------------------------- internals

    def _free_ms(self, proc: Processor, sim: Simulation) -> float:
        """When a slot of ``proc`` is expected to free (ms, absolute)."""
        now = sim.now
        if sim.has_room(proc):
            return now
        # The policy's own estimate from when it started each task: the engine's
        # estimate_ms of a running task does not subtract the time executed since
        # its progress was last synchronised, so it would overstate the remainder.
        best = math.inf
        for t in sim.running(proc):
            end = self._end_ms.get(t)
            if end is None:  # not started by this policy (cannot happen in a plain run)
                end = now + sim.transfer_in_ms(t, proc) + sim.estimate_ms(t, proc)
            best = min(best, end)
        return max(now, best)

    def _best(self, task: Task, sim: Simulation, reserved: set[int]) -> Processor | None:
        """The unreserved candidate with the earliest estimated finish, or None if all are reserved."""
        now = sim.now
        best: Processor | None = None
        best_eft = math.inf
        for p in self._cands[task.model.name]:
            if p.index in reserved:
                continue
            eft = max(self._free_ms(p, sim), now + sim.transfer_in_ms(task, p)) + sim.estimate_ms(task, p)
            if eft < best_eft - EPS_MS:
                best, best_eft = p, eft
        return best

    def _dispatch(self, sim: Simulation) -> None:
        """One dispatch round: start ready tasks in deadline order until no slot is left."""
        rooms = sum(p.capacity - len(sim.running(p)) for p in sim.processors if sim.online(p))
        if rooms <= 0:
            return
        queues = self._queues
        # The head of every model's heap, merged by (deadline, ready, seq).
        heads = [(q[0][:3], name) for name, q in queues.items() if q]
        heapq.heapify(heads)
        reserved: set[int] = set()
        held: list[tuple[str, Entry]] = []  # waiting for a reserved processor: back in the queue after the round
        while rooms > 0 and heads:
            _, name = heapq.heappop(heads)
            q = queues[name]
            entry = q[0]
            task = entry[3]
            if task.state is not READY:  # its job was dropped: discard lazily
                heapq.heappop(q)
            else:
                proc = self._best(task, sim, reserved)
                if proc is None:
                    continue  # every candidate of this model is reserved: the model sits out this round
                heapq.heappop(q)
                if sim.has_room(proc):
                    self._end_ms[task] = sim.now + sim.transfer_in_ms(task, proc) + sim.estimate_ms(task, proc)
                    sim.start(task, proc)
                    rooms -= 1
                else:
                    reserved.add(proc.index)  # wait for the best processor, and keep it for this task
                    held.append((name, entry))
            if q:
                heapq.heappush(heads, (q[0][:3], name))
        for name, entry in held:
            heapq.heappush(queues[name], entry)
