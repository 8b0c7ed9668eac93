"""HEFT: Heterogeneous Earliest Finish Time list scheduling, planned per job when it arrives."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import count
from typing import TYPE_CHECKING, Any

from simsched.policies.base import NoParams, Policy, register_policy
from simsched.workload.states import CANCELLED, PENDING, READY, SKIPPED

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.soc import Processor
    from simsched.workload.jobs import Job, Task

EPS_MS = 1e-9
"""Times closer than this (ms) are equal: a gap this much too short still fits, EFT ties go to the first processor."""
RANK_DIGITS = 9
"""Upward ranks are compared rounded to this many decimals, so that ranks equal on paper
(n3 and n4 of the paper's example, both 80) are not ordered by floating-point noise."""


def upward_ranks(mean_cost_ms: Sequence[float], succs: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
    """Upward ranks of a DAG (Topcuoglu et al. 2002, eq. 8).

    ``rank_u(i) = w̄_i + max over successors j of (c̄_ij + rank_u(j))``, and
    ``rank_u(exit) = w̄_exit``.

    Parameters
    ----------
    mean_cost_ms : sequence of float
        Mean computation cost ``w̄_i`` of each task (ms), tasks indexed in a
        topological order (every successor after its predecessors).
    succs : sequence of sequence of (int, float)
        For each task, its successors as ``(index, mean communication cost c̄ in ms)``.

    Returns
    -------
    list of float
        The upward rank of each task (ms).

    Raises
    ------
    ValueError
        If a successor index does not come after its predecessor.
    """
    n = len(mean_cost_ms)
    ranks = [0.0] * n
    for i in range(n - 1, -1, -1):
        tail = 0.0
        for j, c in succs[i]:
            if j <= i:
                raise ValueError(f"task {i} has successor {j}: indices must be in topological order")
            tail = max(tail, c + ranks[j])
        ranks[i] = mean_cost_ms[i] + tail
    return ranks


class Timeline:
    """The free gaps of one lane's plan: sorted, disjoint, the last one open-ended.

    Gaps are kept in blocks of at most ``2 * BLOCK`` with each block's longest gap,
    so a search skips every block that cannot hold the task: under a long backlog
    the plan has many short gaps (left by data transfers), and walking them all on
    every arrival would make planning quadratic.
    """

    BLOCK = 32

    __slots__ = ("ends", "last", "longest", "starts")

    def __init__(self) -> None:
        self.starts: list[list[float]] = [[0.0]]
        self.ends: list[list[float]] = [[math.inf]]
        self.longest: list[float] = [math.inf]  # longest gap of each block (ms)
        self.last: list[float] = [math.inf]  # end of each block's last gap (ms), ascending

    def gaps(self) -> list[tuple[float, float]]:
        """Every gap as ``(start, end)`` (ms), in time order."""
        return [g for s, e in zip(self.starts, self.ends, strict=True) for g in zip(s, e, strict=True)]

    def prune(self, now: float) -> None:
        """Forget gaps that ended before ``now`` (ms)."""
        k = bisect_right(self.last, now)
        if k:
            del self.starts[:k], self.ends[:k], self.longest[:k], self.last[:k]
        j = bisect_right(self.ends[0], now)
        if j:
            del self.starts[0][:j], self.ends[0][:j]
            self._refresh(0)

    def fit(self, ready: float, w: float) -> tuple[float, int, int]:
        """Earliest start >= ``ready`` (ms) of a gap that holds ``w`` ms (the insertion policy).

        Returns the start and the gap's position (block, index) for :meth:`reserve`.
        """
        need = w - EPS_MS
        b = bisect_right(self.last, ready)  # the first block with a gap ending after ready
        starts, ends = self.starts[b], self.ends[b]
        for j in range(bisect_right(ends, ready), len(ends)):
            s = max(starts[j], ready)
            if ends[j] - s >= need:
                return s, b, j
        # Every later gap starts after ready, so any gap of length >= w fits.
        for b2 in range(b + 1, len(self.starts)):
            if self.longest[b2] >= need:
                starts, ends = self.starts[b2], self.ends[b2]
                for j in range(len(ends)):
                    if ends[j] - starts[j] >= need:
                        return starts[j], b2, j
        raise AssertionError("the last gap is open-ended")  # pragma: no cover

    def reserve(self, s: float, w: float, b: int, j: int) -> None:
        """Occupy ``[s, s + w]`` (ms) inside gap ``j`` of block ``b`` (as returned by :meth:`fit`)."""
        starts, ends = self.starts[b], self.ends[b]
        a, e = starts[j], ends[j]
        f = s + w
        ps, pe = [], []
        if s - a > EPS_MS:
            ps.append(a)
            pe.append(s)
        if e - f > EPS_MS:
            ps.append(f)
            pe.append(e)
        starts[j : j + 1] = ps
        ends[j : j + 1] = pe
        if not starts:  # never the last block: its last gap is open-ended
            del self.starts[b], self.ends[b], self.longest[b], self.last[b]
            return
        if len(starts) > 2 * self.BLOCK:
            h = len(starts) // 2
            self.starts[b + 1 : b + 1] = [starts[h:]]
            self.ends[b + 1 : b + 1] = [ends[h:]]
            self.longest.insert(b + 1, 0.0)
            self.last.insert(b + 1, 0.0)
            del starts[h:], ends[h:]
            self._refresh(b + 1)
        self._refresh(b)

    def _refresh(self, b: int) -> None:
        ends = self.ends[b]
        self.longest[b] = max(e - s for s, e in zip(self.starts[b], ends, strict=True))
        self.last[b] = ends[-1]


class _Lane:
    """One slot of a processor: its planned free time and its planned tasks, in planned-start order."""

    __slots__ = ("busy", "index", "proc", "queue", "timeline")

    def __init__(self, proc: Processor, index: int) -> None:
        self.proc = proc
        self.index = index
        self.timeline = Timeline()
        self.queue: list[tuple[float, int, Task]] = []  # heap of (planned start ms, planning order, task)
        self.busy: Task | None = None  # the planned task executing in this slot


@register_policy("heft")
class Heft(Policy):
    """HEFT list scheduling per job, executed as planned.

    When a job arrives, its tasks get upward ranks over mean costs (the mean of
    ``sim.estimate_ms`` over the processors that can run the task; an edge's mean
    communication cost is its full transfer time, the paper's convention). In
    decreasing rank order (ties: DAG order), each task goes to the processor with
    the earliest finish time, using the insertion policy on per-processor
    timelines: a processor of capacity ``c`` has ``c`` lanes, each a timeline that
    already holds the reservations of earlier jobs (gaps that ended before the
    arrival are forgotten). Data from a predecessor on another processor arrives
    after the edge's transfer time; on the same processor it costs nothing.

    Execution follows the plan: every task waits for its planned lane, and each
    lane starts its tasks in planned-start order, each when it is ready and its
    input data has arrived (a timer fires at the arrival, so the slot is not held
    while data is in flight). Actual durations differ from the estimates; the
    order per lane is kept, the planned times are not. No DVFS control (a governor
    sets frequencies), no preemption, no migration.

    Attributes
    ----------
    last_ranks : dict of str to float
        Upward rank (ms) of each task of the most recently planned job, by task name.
    last_plan : dict of str to tuple
        ``(processor name, planned start ms, planned finish ms)`` of each task of that job.
    """

    Params = NoParams

    def __init__(self) -> None:
        self._lanes: list[list[_Lane]] = []
        self._where: dict[Task, _Lane] = {}  # planned lane of every task not yet finished or dropped
        self._timed: set[Task] = set()  # tasks with a data-arrival timer pending
        self._seq = count()
        self._cands: dict[str, list[Processor]] = {}
        self.last_ranks: dict[str, float] = {}
        self.last_plan: dict[str, tuple[str, float, float]] = {}

    def bind(self, sim: Simulation) -> None:
        """Create the lanes: ``capacity`` per processor."""
        self._lanes = [[_Lane(p, k) for k in range(p.capacity)] for p in sim.processors]

    # ------------------------------------------------------------- planning

    def on_arrival(self, job: Job, sim: Simulation) -> None:
        """Plan the whole job: upward ranks, then insertion-based EFT in rank order."""
        now = sim.now
        tasks = [t for t in job.tasks if t.state is not SKIPPED]  # cascade outcomes are known on arrival
        index = {t: i for i, t in enumerate(tasks)}  # job.tasks is in topological order
        cands = [self._candidates(t, sim) for t in tasks]
        w = [{p.index: sim.estimate_ms(t, p) for p in c} for t, c in zip(tasks, cands, strict=True)]
        mean = [sum(wi.values()) / len(wi) for wi in w]
        succs: list[list[tuple[int, float]]] = [[] for _ in tasks]
        for j, t in enumerate(tasks):
            for pred, tr in t.preds:
                succs[index[pred]].append((j, tr))
        ranks = upward_ranks(mean, succs)
        self.last_ranks = {t.name: r for t, r in zip(tasks, ranks, strict=True)}

        for lanes in self._lanes:
            for lane in lanes:
                lane.timeline.prune(now)
        order = sorted(range(len(tasks)), key=lambda i: (-round(ranks[i], RANK_DIGITS), i))
        proc_of: list[Processor | None] = [None] * len(tasks)
        finish: list[float] = [0.0] * len(tasks)
        plan: dict[str, tuple[str, float, float]] = {}
        for i in order:
            task = tasks[i]
            best: tuple[float, float, _Lane, int, int] | None = None  # (eft, start, lane, gap block, gap index)
            for p in cands[i]:
                ready = now
                for pred, tr in task.preds:
                    k = index[pred]
                    # A predecessor always has a higher rank, so it is already placed.
                    ready = max(ready, finish[k] + (tr if proc_of[k] is not p else 0.0))
                wi = w[i][p.index]
                for lane in self._lanes[p.index]:
                    s, b, j = lane.timeline.fit(ready, wi)
                    if best is None or s + wi < best[0] - EPS_MS:
                        best = (s + wi, s, lane, b, j)
            assert best is not None  # every task has a candidate (the engine checks it)
            eft, s, lane, b, j = best
            lane.timeline.reserve(s, eft - s, b, j)
            proc_of[i] = lane.proc
            finish[i] = eft
            plan[task.name] = (lane.proc.name, s, eft)
            heapq.heappush(lane.queue, (s, next(self._seq), task))
            self._where[task] = lane
        self.last_plan = plan

    # ------------------------------------------------------------ execution

    def on_ready(self, task: Task, sim: Simulation) -> None:
        """The task may now start if it heads its lane."""
        self._dispatch(self._where[task], sim)

    def on_finish(self, task: Task, sim: Simulation) -> None:
        """Free the task's lane and start the lane's next planned task."""
        lane = self._where.pop(task)
        lane.busy = None
        self._dispatch(lane, sim)

    def on_timer(self, payload: Any, sim: Simulation) -> None:
        """A task's input data arrived on its planned processor."""
        task = payload
        self._timed.discard(task)
        lane = self._where.get(task)
        if lane is not None:
            self._dispatch(lane, sim)

    def on_drop(self, job: Job, sim: Simulation) -> None:
        """Release the lanes of the job's cancelled tasks; their queue entries are skipped lazily."""
        touched: list[_Lane] = []
        for t in job.tasks:
            lane = self._where.get(t)
            if lane is None or t.state is not CANCELLED:
                continue  # not planned, or still executing (it finishes normally)
            del self._where[t]
            self._timed.discard(t)
            if lane.busy is t:
                lane.busy = None  # it was waiting for input data and lost its slot
            touched.append(lane)
        for lane in touched:
            self._dispatch(lane, sim)

    def _candidates(self, task: Task, sim: Simulation) -> list[Processor]:
        c = self._cands.get(task.model.name)
        if c is None:
            c = self._cands[task.model.name] = sim.candidates(task)  # the online set never changes in a run
        return c

    def _dispatch(self, lane: _Lane, sim: Simulation) -> None:
        """Start the lane's head if the lane is free, the head is ready and its data is there."""
        if lane.busy is not None:
            return
        q = lane.queue
        while q:
            task = q[0][2]
            st = task.state
            if st is PENDING:
                return  # planned next here: the lane waits for its predecessors
            if st is not READY:
                heapq.heappop(q)  # cancelled with its job
                continue
            proc = lane.proc
            delay = sim.transfer_in_ms(task, proc)
            if delay > EPS_MS:
                if task not in self._timed:
                    self._timed.add(task)
                    sim.call_at(sim.now + delay, task)
                return
            if not sim.has_room(proc):  # pragma: no cover - lanes never outnumber slots
                return
            heapq.heappop(q)
            lane.busy = task
            sim.start(task, proc)
            return
