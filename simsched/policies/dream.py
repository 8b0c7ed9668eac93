"""DREAM-like scheduling: scored dispatch, layer-block preemption, frame dropping, online-tuned weights.

A reconstruction of DREAM (Kim et al., "DREAM: A Dynamic Scheduler for Dynamic
Real-time Multi-model ML Workloads", ASPLOS 2023, arXiv 2212.03414) from its
abstract; docs/policies/dream.md says which parts are the paper's and which are
ours.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pydantic import Field

from simsched.policies.base import Policy, PolicyParams, register_policy
from simsched.scoring import uxcost
from simsched.workload.states import FROZEN, GONE, PENDING, READY, RUNNING, WAITING

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.profiles import ModelProfile
    from simsched.platform.soc import Domain, Processor
    from simsched.workload.jobs import Job, Task

_EPS = 1e-9
_INF = math.inf
_WINDOW = "dream:window"
_KEY = itemgetter(0)
# Scores closer than this may tie once rounded to 12 decimals (scores are in [0, 3]).
_NEAR = 1e-11
# Hill-climbing directions: (weight index, sign), tried in this order.
_DIRECTIONS = ((0, 1), (0, -1), (1, 1), (1, -1), (2, 1), (2, -1))
WEIGHT_NAMES = ("urgency", "fairness", "energy")


def _rounded(pair: tuple) -> tuple:
    """The key of a pair with its score rounded to 12 decimals, as pairs are compared."""
    key = pair[0]
    return (-round(-key[0], 12), *key[1:])


@dataclass(slots=True)
class ModelView:
    """What scoring reads of a task on its candidates, at the current frequencies."""

    cands: list[Processor]
    """Its online candidate processors (``sim.candidates``)."""
    ests: list[float]
    """Estimated remaining time on each candidate (ms)."""
    prefs: list[float]
    """Energy preference on each candidate: E_min / E_p (1 where E_p is 0)."""


@dataclass(slots=True)
class DreamCache:
    """Memoised pure functions of (model, processor, frequency) (docs/policies/dream.md, "How it is computed").

    Every value is the one ``sim.estimate_ms`` (and the energy formula) returned for
    the first task that filled it, so a cached decision is bit for bit the uncached
    one. This relies on ``estimate_ms`` of a task that has not started and has one
    phase depending on its model, processor and frequency only (profile means, no
    variability).
    """

    cands: dict[ModelProfile, list[Processor]] = field(default_factory=dict)
    """Model -> its online candidates: fixed for a run."""
    free_positions: dict[tuple[ModelProfile, int], list[int]] = field(default_factory=dict)
    """(model, bit set of free processors) -> positions of the free ones among its candidates."""
    views: dict[ModelProfile, ModelView] = field(default_factory=dict)
    """Model -> the view of a task that has not started (no progress, one phase); cleared on every frequency change."""
    fastest: dict[ModelProfile, float] = field(default_factory=dict)
    """Model -> fastest time of a task that has not started on any candidate at the highest allowed
    frequency (ms): the drop test's bound (allowed frequencies are fixed by the power mode)."""


@register_policy("dream")
class Dream(Policy):
    """Score every (ready task, free processor) pair and dispatch the best, repeatedly.

    ``score = w_urgency * urgency + w_fairness * fairness + w_energy * energy``,
    each term in [0, 1]. Urgent tasks may preempt the running task with the most
    slack at its next layer-block boundary; jobs that cannot meet their deadline
    even on the fastest processor are dropped; the weights are tuned online by
    hill-climbing the UXCost measured over windows.

    Parameters
    ----------
    w_urgency, w_fairness, w_energy : float
        Initial weights, in [0, 1].
    window_ms : float
        Length of a UXCost measurement window for the weight adaptation (ms).
    step : float
        Initial hill-climbing step of one weight.
    min_step : float
        The adaptation stops (converged) when the step falls below this.
    adapt : bool
        Tune the weights online.
    drop_hopeless : bool
        Drop a job with a deadline as soon as its remaining work cannot finish in
        time even on the fastest processors at their highest allowed frequency.
    urgency_threshold : float
        Urgency (in [0, 1]) from which a task that finds no room may preempt.
    top_k : int
        Ready tasks scored per dispatch, taken in deadline order (bounds the cost
        of an event under overload).
    fairness_scale_ms : float
        Waiting time that gives full fairness to tasks without a deadline (ms);
        tasks with a deadline use their job's relative deadline.
    drop_credit : float
        Fairness added per drop of the same app within the last window.
    """

    class Params(PolicyParams):
        """Parameters of the ``dream`` policy."""

        w_urgency: float = Field(1.0, ge=0, le=1, description="Initial weight of the urgency term (in [0, 1]).")
        w_fairness: float = Field(0.5, ge=0, le=1, description="Initial weight of the fairness term (in [0, 1]).")
        w_energy: float = Field(0.25, ge=0, le=1, description="Initial weight of the energy term (in [0, 1]).")
        window_ms: float = Field(100.0, gt=0, description="Length of a UXCost measurement window of the weight tuning (ms).")
        step: float = Field(0.25, gt=0, description="Initial hill-climbing step of one weight (weight units).")
        min_step: float = Field(0.05, gt=0, description="The tuning stops (converged) when the step falls below this (weight units).")
        adapt: bool = Field(True, description="Tune the weights online.")
        drop_hopeless: bool = Field(
            True,
            description="Drop a job with a deadline as soon as its remaining work cannot finish in time even on the "
            "fastest processors at their highest allowed frequency.",
        )
        urgency_threshold: float = Field(
            0.5, ge=0, le=1, description="Urgency (in [0, 1]) from which a task that finds no room may preempt."
        )
        top_k: int = Field(
            32,
            ge=1,
            description="Ready tasks (count) scored per dispatch, in deadline order; bounds the cost under overload.",
        )
        fairness_scale_ms: float = Field(
            100.0,
            gt=0,
            description="Waiting time that gives full fairness to tasks without a deadline (ms); tasks with a "
            "deadline use their job's relative deadline.",
        )
        drop_credit: float = Field(
            0.25, ge=0, description="Fairness added per drop of the same app within the last window (fairness units)."
        )

    def __init__(
        self,
        w_urgency: float = 1.0,
        w_fairness: float = 0.5,
        w_energy: float = 0.25,
        window_ms: float = 100.0,
        step: float = 0.25,
        min_step: float = 0.05,
        adapt: bool = True,
        drop_hopeless: bool = True,
        urgency_threshold: float = 0.5,
        top_k: int = 32,
        fairness_scale_ms: float = 100.0,
        drop_credit: float = 0.25,
    ) -> None:
        for name, w in zip(WEIGHT_NAMES, (w_urgency, w_fairness, w_energy), strict=True):
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"w_{name} must be in [0, 1], got {w}")
        if not window_ms > 0:
            raise ValueError(f"window_ms must be positive, got {window_ms}")
        if not (step > 0 and min_step > 0):
            raise ValueError("step and min_step must be positive")
        if not 0.0 <= urgency_threshold <= 1.0:
            raise ValueError(f"urgency_threshold must be in [0, 1], got {urgency_threshold}")
        if int(top_k) < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if not fairness_scale_ms > 0:
            raise ValueError(f"fairness_scale_ms must be positive, got {fairness_scale_ms}")
        if drop_credit < 0:
            raise ValueError(f"drop_credit must be non-negative, got {drop_credit}")
        self.weights = [float(w_urgency), float(w_fairness), float(w_energy)]
        self.window_ms = float(window_ms)
        self.step = float(step)
        self.min_step = float(min_step)
        self.adapt = bool(adapt)
        self.drop_hopeless = bool(drop_hopeless)
        self.urgency_threshold = float(urgency_threshold)
        self.top_k = int(top_k)
        self.fairness_scale_ms = float(fairness_scale_ms)
        self.drop_credit = float(drop_credit)

        # Ready and frozen tasks: a heap on (absolute deadline, sequence) with lazy
        # deletion; _entry maps a queued task to its live sequence number.
        self._heap: list[tuple[float, int, Task]] = []
        self._entry: dict[Task, int] = {}
        self._seq = 0
        self._reserved: dict[int, Task] = {}  # processor index -> urgent task waiting for the slot
        self._victims: dict[Task, Task] = {}  # task being frozen -> the urgent task it makes room for
        self._preempting: set[Task] = set()  # urgent tasks with a pending preemption
        self._shielded: set[Task] = set()  # started through a preemption: never a victim themselves
        self._drops: dict[str, deque] = {}  # app -> times of its recent drops (fairness)
        self._busy = False
        self._again = False

        self._procs: list[Processor] = []
        self.cache = DreamCache()
        """Memoised pure functions of (model, processor, frequency): see :class:`DreamCache`."""

        # Online adaptation: the tuner owns the weights (changed in place, so
        # ``self.weights`` is always the list in force) and the per-window history.
        self.tuner = WeightTuner(self.weights, self.step, self.min_step)
        self.history: list[dict[str, Any]] = self.tuner.history
        """One entry per window: time, weights in force, UXCost, the action taken."""
        self._e0 = 0.0
        self._n_ended = 0
        self._n_missed = 0

    @property
    def converged(self) -> bool:
        """True once the weight tuning has stopped (its step fell below ``min_step``)."""
        return self.tuner.converged

    # ------------------------------------------------------------------ hooks

    def bind(self, sim: Simulation) -> None:
        self._procs = list(sim.processors)
        if self.adapt:
            sim.call_at(self.window_ms, _WINDOW)

    def on_freq_change(self, domain: Domain, sim: Simulation) -> None:
        # Estimates and energies of queued tasks depend on the frequencies.
        self.cache.views.clear()

    def on_ready(self, task: Task, sim: Simulation) -> None:
        self._push(task)
        self._dispatch(sim)

    def on_finish(self, task: Task, sim: Simulation) -> None:
        self._victims.pop(task, None)  # a victim whose freeze point was its end
        self._shielded.discard(task)
        job = task.job
        if job.left == 0 and not job.dropped:
            self._n_ended += 1
            if sim.now > job.deadline_ms + _EPS:
                self._n_missed += 1
        self._dispatch(sim)

    def on_frozen(self, task: Task, sim: Simulation) -> None:
        self._victims.pop(task, None)
        self._push(task)
        self._dispatch(sim)

    def on_drop(self, job: Job, sim: Simulation) -> None:
        self._n_ended += 1
        self._n_missed += 1
        self._drops.setdefault(job.app.name, deque()).append(sim.now)
        self._dispatch(sim)

    def on_timer(self, payload: Any, sim: Simulation) -> None:
        if payload == _WINDOW:
            # sim.energy_mj is integrated up to the last power change; the energy since
            # then counts in the next window (windows telescope to the run's total).
            energy = sim.energy_mj - self._e0
            self._e0 = sim.energy_mj
            n, missed = self._n_ended, self._n_missed
            self._n_ended = self._n_missed = 0
            self.tuner.end_window(sim.now, uxcost(energy, n, missed))
            if sim.now + self.window_ms < sim.duration_ms:
                sim.call_at(sim.now + self.window_ms, _WINDOW)

    # ------------------------------------------------------------- the queue

    def _push(self, task: Task) -> None:
        self._seq += 1
        self._entry[task] = self._seq
        heapq.heappush(self._heap, (task.job.deadline_ms, self._seq, task))

    def _pop_top(self) -> list[tuple[float, int, Task]]:
        """Up to ``top_k`` live entries in deadline order, removed from the heap."""
        out: list[tuple[float, int, Task]] = []
        heap = self._heap
        entry = self._entry
        k = self.top_k
        pop = heapq.heappop
        while heap and len(out) < k:
            e = pop(heap)
            task = e[2]
            if entry.get(task) == e[1]:
                st = task.state
                if (st is READY or st is FROZEN) and not task.job.dropped:
                    out.append(e)
                else:
                    del entry[task]
        return out

    # ------------------------------------------------------------- dispatch

    def _dispatch(self, sim: Simulation) -> None:
        # Starting, freezing or dropping can call hooks synchronously (a waiting
        # task freezes at once, a drop calls on_drop): rerun instead of recursing.
        if self._busy:
            self._again = True
            return
        if not self._heap and not self._reserved:
            return  # nothing queued, no slot promised: nothing to decide
        self._busy = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._dispatch_once(sim)
        finally:
            self._busy = False

    def _dispatch_once(self, sim: Simulation) -> None:
        """One round: honour reservations, drop hopeless jobs, place the best pairs, preempt, requeue."""
        if self._reserved:
            self._honour_reservations(sim)
        heap = self._heap
        if not heap:
            return
        room, free, mask = self._slots(sim)
        if not free and heap[0][0] == _INF:
            # Nothing queued has a deadline (the heap's minimum has none), so nothing
            # can be dropped or preempt, and no slot is free: nothing to decide.
            return
        top = self._pop_top()
        if not top:
            return
        now = sim.now
        kept = top
        if self.drop_hopeless and top[0][0] < _INF:
            kept, dropped = self._drop_hopeless_jobs(top, sim)
            if dropped:  # a dropped job frees the slots its waiting tasks held
                room, free, mask = self._slots(sim)
        placed = self._place(kept, mask, room, sim, now) if free and kept else None
        if not placed:
            rest = kept
        elif len(placed) == len(kept):
            rest = []
        else:
            rest = [e for e in kept if e[2] not in placed]
        self._preempt_for(rest, sim, now)
        push = heapq.heappush
        for e in rest:
            push(heap, e)

    def _drop_hopeless_jobs(self, top: list[tuple[float, int, Task]], sim: Simulation) -> tuple[list, bool]:
        """Drop the jobs of ``top`` that cannot meet their deadline; the entries kept, and whether any was dropped."""
        kept = []
        dropped = False
        for e in top:
            job = e[2].job
            if job.dropped:
                continue  # dropped by the check of another of its tasks just now
            if e[0] < _INF and self._hopeless(job, sim):
                sim.drop(job)  # its queued tasks become cancelled; on_drop counts it
                dropped = True
            else:
                kept.append(e)
        return kept, dropped

    def _place(self, kept: list[tuple[float, int, Task]], mask: int, room: list[bool], sim: Simulation, now: float) -> set[Task]:
        """Start the best (task, free processor) pairs; the tasks started."""
        placed: set[Task] = set()
        pairs = self._pairs(kept, mask, room, sim, now)
        if len(pairs) > 1:
            self._rank(pairs)
        # The best pair first; a pair is void once its task is placed or its
        # processor filled. Keys are unique (sequence, processor), so this is the
        # order of repeatedly taking the best of the remaining pairs.
        full: set[int] = set()
        for _key, task, p in pairs:
            if task in placed or p.index in full:
                continue
            self._start(task, p, sim)
            placed.add(task)
            if not sim.has_room(p):
                full.add(p.index)
        return placed

    def _preempt_for(self, rest: list[tuple[float, int, Task]], sim: Simulation, now: float) -> None:
        """Let each unplaced task with a deadline try to preempt (tasks without one never do)."""
        for e in rest:
            if e[0] < _INF:
                st = e[2].state
                if st is READY or st is FROZEN:
                    self._maybe_preempt(e[2], sim, now)

    def _slots(self, sim: Simulation) -> tuple[list[bool], list[Processor], int]:
        """Which processors have a free slot, and which a queued task may take now (not reserved).

        Returns ``room`` (a flag per processor index), ``free`` (processors) and
        ``mask``, the bit set of the free processors' indices.
        """
        has_room = sim.has_room
        reserved = self._reserved
        room = []
        free = []
        mask = 0
        for p in self._procs:
            r = has_room(p)
            room.append(r)
            if r and p.index not in reserved:
                free.append(p)
                mask |= 1 << p.index
        return room, free, mask

    @staticmethod
    def _rank(pairs: list) -> None:
        """Sort pairs best first: by score rounded to 12 decimals, then the tie-breaks.

        Scores are compared rounded so that float noise cannot decide between
        equal scores; ``round`` with digits is slow, and it is monotone, so the
        pairs are sorted on the exact score and only runs of scores closer than
        ``_NEAR`` (where rounding could tie them) are re-sorted on the rounded key.
        """
        pairs.sort(key=_KEY)
        n = len(pairs)
        i = 0
        while i < n - 1:
            j = i
            distinct = False
            while j + 1 < n:
                gap = pairs[j + 1][0][0] - pairs[j][0][0]
                if gap > _NEAR:
                    break
                distinct = distinct or gap > 0.0
                j += 1
            if distinct:  # equal scores are already in tie-break order
                pairs[i : j + 1] = sorted(pairs[i : j + 1], key=_rounded)
            i = j + 1

    def _start(self, task: Task, p: Processor, sim: Simulation) -> None:
        self._entry.pop(task, None)
        self._preempting.discard(task)
        if task.state is FROZEN:
            sim.resume(task, p)
        else:
            sim.start(task, p)

    def _honour_reservations(self, sim: Simulation) -> None:
        """Give a slot freed by a preemption to the urgent task it was freed for."""
        for pi, task in list(self._reserved.items()):
            if task.job.dropped or not (task.state is READY or task.state is FROZEN):
                del self._reserved[pi]
                self._preempting.discard(task)
                continue
            p = sim.processors[pi]
            if sim.has_room(p):
                del self._reserved[pi]
                self._start(task, p, sim)
                self._shielded.add(task)

    # -------------------------------------------------------------- scoring

    def _candidates(self, task: Task, sim: Simulation) -> list[Processor]:
        """``sim.candidates(task)``, memoised per model (which processors are online is fixed for a run)."""
        m = task.model
        cands = self.cache.cands
        c = cands.get(m)
        if c is None:
            c = cands[m] = sim.candidates(task)
        return c

    def _view(self, task: Task, sim: Simulation) -> ModelView:
        """The task's candidates, its estimated remaining time and its energy preference on each.

        The preference on ``p`` is E_min / E_p (1 where E_p is 0). For a task that
        has not started and has one phase, all three depend only on its model and
        the current frequencies: they are computed once per model and kept until a
        frequency changes.
        """
        m = task.model
        plain = task.state is READY and m.llm is None
        if plain:
            v = self.cache.views.get(m)
            if v is not None:
                return v
        cands = self._candidates(task, sim)
        ests = [sim.estimate_ms(task, p) for p in cands]
        energy = [self._energy_mj(task, p, e, sim) for p, e in zip(cands, ests, strict=True)]
        e_min = min(energy) if energy else 0.0
        prefs = [1.0 if e <= 0 else e_min / e for e in energy]
        v = ModelView(cands, ests, prefs)
        if plain:
            self.cache.views[m] = v
        return v

    def _estimates(self, task: Task, sim: Simulation) -> list[float]:
        """``sim.estimate_ms`` of the task on each of its candidates (from the cache when it has not started)."""
        m = task.model
        if task.state is READY and m.llm is None:
            v = self.cache.views.get(m)
            return v.ests if v is not None else self._view(task, sim).ests
        return [sim.estimate_ms(task, p) for p in self._candidates(task, sim)]

    def _overhead_ms(self, task: Task, p: Processor, sim: Simulation) -> float:
        """Delay before ``task`` can execute on ``p``: input transfer, or context restore and migration."""
        if task.state is FROZEN:
            extra = task.resume_delay
            if p is not task.proc:
                m = task.model
                extra += m.migrate_ms if m.migrate_ms is not None else sim.platform.transfer_ms(m.state_kb)
            return extra
        return sim.transfer_in_ms(task, p)

    def _pairs(self, top, mask: int, room: list[bool], sim: Simulation, now: float) -> list:
        """Scored (key, task, processor) pairs, unsorted; the smallest key is the best pair.

        The key is (-score, estimated time, deadline, sequence, processor index);
        the score is compared rounded to 12 decimals (see :meth:`_rank`).
        ``mask`` has bit ``i`` set if a task may start on processor ``i`` now;
        ``room[i]`` says whether it has a free slot (reserved for someone or not).
        """
        wu, wf, we = self.weights
        cache = self.cache
        free_cs = cache.free_positions
        views = cache.views
        drops = self._drops
        out = []
        append = out.append
        waits: dict[int, float] = {}  # full processor -> expected wait for a slot, filled on demand
        for d, seq, task in top:
            job = task.job
            m = task.model
            free_c = free_cs.get((m, mask))
            if free_c is None:  # positions in the candidate list of the free candidates
                cands = self._candidates(task, sim)
                free_c = free_cs[m, mask] = [i for i, p in enumerate(cands) if mask >> p.index & 1]
            if not free_c:
                continue
            v = views.get(m) if task.state is READY and m.llm is None else None
            if v is None:
                v = self._view(task, sim)
            cands, ests, prefs = v.cands, v.ests, v.prefs
            # Urgency ranks tasks: 1 - slack/relative deadline on the task's best free
            # processor (1 when it is late everywhere). It is not taken per pair:
            # slack shrinks on slower processors, so a per-pair urgency would favour
            # the processor on which the task finishes later.
            if d < _INF:
                rel = d - job.arrival_ms
                over = [self._overhead_ms(task, p, sim) for p in cands]
                slack = [d - now - o - e for o, e in zip(over, ests, strict=True)]
                best_free = -_INF
                for i in free_c:
                    if slack[i] > best_free:  # max() of the free candidates' slack
                        best_free = slack[i]
                urgency = 1.0 - min(1.0, best_free / rel) if best_free > 0 and rel > 0 else 1.0
                # Slack on a busy processor after its earliest slot frees.
                best_any = -_INF
                for p, o, e in zip(cands, over, ests, strict=True):
                    w = 0.0
                    if not room[p.index]:
                        wp = waits.get(p.index)
                        if wp is None:
                            wp = waits[p.index] = self._slot_wait_ms(p, sim)
                        w = wp
                    s = d - now - (w if w > o else o) - e  # max(o, w)
                    if s > best_any:
                        best_any = s
                scale = rel if 0 < rel < _INF else self.fairness_scale_ms
            else:
                urgency, best_free, best_any, slack = 0.0, _INF, _INF, None
                scale = self.fairness_scale_ms
            # Fairness: time waited, relative to the deadline (or a scale), plus recent
            # drops of the app (written out as max(0, .) and min(1, .) for speed).
            waited = now - task.ready_ms
            fair = (waited if waited > 0.0 else 0.0) / scale
            fair += self.drop_credit * (self._recent_drops(job, now) if drops else 0)
            if not fair < 1.0:
                fair = 1.0
            base = wu * urgency + wf * fair
            for i in free_c:
                if slack is not None:
                    s = slack[i]
                    # Never start a task where it would miss if another processor (maybe
                    # after its current work) still meets the deadline; when it misses
                    # everywhere, only its least-late free processor is considered.
                    if s < 0 and (best_any >= 0 or s < best_free):
                        continue
                p = cands[i]
                # Ties: the faster processor, then earlier deadline, then FIFO.
                append(((-(base + we * prefs[i]), ests[i], d, seq, p.index), task, p))
        return out

    def _energy_mj(self, task: Task, p: Processor, est_ms: float, sim: Simulation) -> float:
        """Estimated energy above idle of the task's remaining work on ``p`` at its current OPP (mJ).

        Idle power is drawn whether or not the task runs there, so only the power
        the task adds counts: activity x dyn_w[opp] / capacity (docs/metrics.md),
        with the highest activity of the task's phases (an upper bound for LLMs).
        """
        d = p.domain
        k = d.opp_index(sim.freq_mhz(d))
        return est_ms * task.model.peak_activity * p.dyn_w[k] / p.capacity

    def _recent_drops(self, job: Job, now: float) -> int:
        q = self._drops.get(job.app.name)
        if not q:
            return 0
        while q and q[0] < now - self.window_ms:
            q.popleft()
        return len(q)

    # ------------------------------------------------------- running tasks

    @staticmethod
    def _remaining_ms(r: Task, p: Processor, sim: Simulation) -> float:
        """Expected remaining time of a task holding a slot of ``p`` (ms)."""
        if r.state is WAITING:
            return sim.transfer_in_ms(r, p) + sim.estimate_ms(r, p)
        # estimate_ms counts from the progress last recorded (at seg_t0); the task
        # has been executing since.
        return max(0.0, sim.estimate_ms(r, p) - (sim.now - r.seg_t0))

    def _slot_wait_ms(self, p: Processor, sim: Simulation) -> float:
        """Expected time until a slot of the full processor ``p`` frees (ms)."""
        if not sim.online(p):
            return math.inf
        if p.index in self._reserved:
            t = self._reserved[p.index]
            return sim.estimate_ms(t, p)
        running = sim.running(p)
        return min((self._remaining_ms(r, p, sim) for r in running), default=math.inf)

    @staticmethod
    def _to_boundary_ms(r: Task, sim: Simulation) -> float:
        """Time until a running task reaches its next segment (layer-block) boundary (ms).

        Mirrors how the engine places a deferred freeze: at the next multiple of
        1/segments of the current phase.
        """
        if r.state is not RUNNING:
            return 0.0  # a task still waiting for its input freezes at once
        nseg = r.phases[r.phase][3]
        if r.seg_time <= 0:
            return 0.0
        x = r.progress + (sim.now - r.seg_t0) / r.seg_time
        target = min(1.0, (math.floor(x * nseg + 1e-9) + 1) / nseg)
        return max(0.0, (target - x) * r.seg_time)

    # ----------------------------------------------------------- preemption

    def _maybe_preempt(self, task: Task, sim: Simulation, now: float) -> None:
        """Freeze the running task with the most slack to make room for an urgent one.

        Only when the urgent task would then meet its deadline (it starts at the
        victim's next layer-block boundary), the victim has more slack than the
        urgent task, and the victim would still meet its own deadline after
        waiting for it.
        """
        d = task.job.deadline_ms
        if d == math.inf or task in self._preempting:
            return
        rel = d - task.job.arrival_ms
        cands = self._candidates(task, sim)
        reserved = self._reserved
        if not any(p.index not in reserved and not sim.has_room(p) for p in cands):
            return  # no full processor it could take a slot of (nothing below would be tried)
        est = {p.index: e for p, e in zip(cands, self._estimates(task, sim), strict=True)}
        over = {p.index: self._overhead_ms(task, p, sim) for p in cands}
        best = max(d - now - over[p.index] - est[p.index] for p in cands)
        urgency = 1.0 - min(1.0, best / rel) if best > 0 and rel > 0 else 1.0
        if urgency < self.urgency_threshold - _EPS or best < 0:
            return
        choice = None
        for p in cands:
            if p.index in self._reserved or sim.has_room(p):
                continue
            if any(r in self._victims or r.freeze_pending for r in sim.running(p)):
                continue  # a slot is already being freed there
            for r in sim.running(p):
                if (r.state is not RUNNING and r.state is not WAITING) or r in self._shielded:
                    continue
                b = self._to_boundary_ms(r, sim)
                gap = max(b, over[p.index])
                if now + gap + est[p.index] > d + _EPS:
                    continue  # freezing it would not free the slot early enough
                rd = r.job.deadline_ms
                s_r = rd - now - self._remaining_ms(r, p, sim) if rd < math.inf else math.inf
                s_t = d - now - over[p.index] - est[p.index]
                if s_r <= s_t or s_r - (gap - b) - est[p.index] < 0:
                    continue  # it is as urgent, or would miss its own deadline by yielding
                key = (-s_r, b, p.index, r.job.id, r.name)
                if choice is None or key < choice[0]:
                    choice = (key, r, p)
        if choice is None:
            return
        _key, victim, p = choice
        self._victims[victim] = task
        self._reserved[p.index] = task
        self._preempting.add(task)
        sim.freeze(victim)  # takes effect at its next segment boundary; on_frozen follows

    # ------------------------------------------------------------- dropping

    def _hopeless(self, job: Job, sim: Simulation) -> bool:
        """True if the job's remaining critical path cannot end by its deadline.

        Each remaining task that has not started counts at its fastest candidate
        processor at the highest frequency the power mode allows, without queueing
        or transfers; a task holding a slot counts its expected remaining time
        where it is. An optimistic bound, so a job that could still make it is not
        dropped.
        """
        d = job.deadline_ms
        if d == math.inf:
            return False
        fastest = self.cache.fastest

        def own(t: Task) -> float:
            st = t.state
            if st is RUNNING or st is WAITING:
                return self._remaining_ms(t, t.proc, sim)
            # Not started and one phase: a function of the model alone.
            plain = (st is PENDING or st is READY) and t.model.llm is None
            if plain and t.model in fastest:
                return fastest[t.model]
            best = math.inf
            for p in self._candidates(t, sim):
                f = sim.allowed_freqs(p.domain)[-1]
                best = min(best, sim.estimate_ms(t, p, f))
            if plain:
                fastest[t.model] = best
            return best

        memo: dict[Task, float] = {}

        def path(t: Task) -> float:
            """Longest remaining path from ``t`` (its own time, then its longest successor path)."""
            v = memo.get(t)
            if v is None:
                v = 0.0 if t.state in GONE else own(t)
                tail = None
                for s in t.succs:
                    x = path(s)
                    if tail is None or x > tail:  # max(), first of equals
                        tail = x
                v += tail if tail is not None else 0.0
                memo[t] = v
            return v

        # job.tasks is in topological order, so in reverse every successor's path is
        # known before its predecessors' (path() recurses only if it were not).
        longest = 0.0
        first = True
        for t in reversed(job.tasks):
            x = path(t)
            if t.state not in GONE and (first or x > longest):
                longest = x
                first = False
        return sim.now + longest > d + _EPS


class WeightTuner:
    """DREAM's online weight adaptation: pattern search on the three weights, one step per window.

    A *base* window measures the cost of the current weights, the next (*trial*)
    window runs with one weight moved by ``step``. A lower cost keeps the move and
    tries the same direction again; otherwise the move is undone and the next
    direction is measured against a fresh base window. After a full round of six
    failed directions the step halves; below ``min_step`` the weights are final.

    Parameters
    ----------
    weights : list of float
        The weights in force, [urgency, fairness, energy], each in [0, 1]; changed in place.
    step : float
        Initial step of one weight (weight units).
    min_step : float
        The search stops (converged) when the step falls below this (weight units).
    """

    __slots__ = ("_base_cost", "_dir", "_fails", "_phase", "_undo", "converged", "history", "min_step", "step", "weights")

    def __init__(self, weights: list[float], step: float, min_step: float) -> None:
        self.weights = weights
        self.step = step
        self.min_step = min_step
        self.history: list[dict[str, Any]] = []
        """One entry per window: time, weights in force, UXCost, the action taken."""
        self.converged = False
        self._phase = "base"  # "base": measuring the current weights; "trial": measuring a move
        self._base_cost = math.nan  # UXCost of the last base (or kept trial) window
        self._dir = 0  # index into _DIRECTIONS of the move being tried
        self._fails = 0  # failed directions in a row at this step
        self._undo: list[float] | None = None  # the weights before the trial move

    def end_window(self, t_ms: float, cost: float) -> None:
        """Close a window that ended at ``t_ms`` (ms) with UXCost ``cost`` (mJ per on-time job; nan: no job ended)."""
        entry = {"t_ms": t_ms, "weights": tuple(self.weights), "uxcost": cost, "action": "none"}
        self.history.append(entry)
        if self.converged or math.isnan(cost):
            return  # converged, or no job ended in the window: nothing learnt
        if self._phase == "trial":
            if cost < self._base_cost:
                self._base_cost = cost
                self._fails = 0
                entry["action"] = "keep"
                if not self._perturb(after_keep=True):  # same direction again, from the new point
                    self._phase = "base"
                return
            self.weights[:] = self._undo  # type: ignore[index]
            entry["action"] = "revert"
            self._dir = (self._dir + 1) % len(_DIRECTIONS)
            self._fails += 1
            if self._fails >= len(_DIRECTIONS):
                self._fails = 0
                self.step /= 2.0
                if self.step < self.min_step:
                    self.converged = True
                    entry["action"] = "converged"
                    return
            self._phase = "base"
            return
        self._base_cost = cost
        entry["action"] = "base"
        self._perturb()

    def _perturb(self, after_keep: bool = False) -> bool:
        """Move one weight by the step in the current direction.

        Directions the bounds [0, 1] block are skipped. Right after a kept move,
        only the same direction is worth retrying; if it is blocked, the search
        goes on with the next weight rather than undoing the move just kept.
        """
        if after_keep:
            i, sign = _DIRECTIONS[self._dir]
            if self._move(i, sign):
                return True
            self._dir = (2 * (i + 1)) % len(_DIRECTIONS)
        for _ in range(len(_DIRECTIONS)):
            i, sign = _DIRECTIONS[self._dir]
            if self._move(i, sign):
                return True
            self._dir = (self._dir + 1) % len(_DIRECTIONS)
        return False

    def _move(self, i: int, sign: int) -> bool:
        w = min(1.0, max(0.0, self.weights[i] + sign * self.step))
        if abs(w - self.weights[i]) <= _EPS:
            return False
        self._undo = list(self.weights)
        self.weights[i] = w
        self._phase = "trial"
        return True
