"""Twill: affinity-aware mapping and migration, priority-aware freezing, DVFS under a power budget.

Reconstructed from the abstract and secondary summaries of Taufique et al., "Twill:
Scheduling Compound AI Systems on Heterogeneous Mobile Edge Platforms" (ICCAD
2025, arXiv 2507.00491); docs/policies/twill.md says what is published and what
was reconstructed here.
"""

from __future__ import annotations

import heapq
import itertools
import math

from simsched.errors import ConfigError
from simsched.policies.base import Policy, register_policy
from simsched.policies.governors import fit_to_budget, task_load
from simsched.workload.jobs import TaskState

# Processor kinds in order of affinity per model family. DLA-compatible CNNs belong
# on the DLA; the DLA lacks attention, LayerNorm and GELU, so transformers and LLMs
# belong on the GPU (secondary summaries of the Twill paper); the CPU is the fallback.
AFFINITY = {
    "cnn": ("dla", "npu", "gpu", "dsp", "cpu"),
    "transformer": ("gpu", "npu", "dla", "dsp", "cpu"),
    "llm": ("gpu", "npu", "dla", "dsp", "cpu"),
    "speech": ("npu", "gpu", "dla", "dsp", "cpu"),
    "other": ("npu", "gpu", "dla", "dsp", "cpu"),
}

_LIVE = (TaskState.RUNNING, TaskState.WAITING)


@register_policy("twill")
class Twill(Policy):
    """Affinity-aware mapping with migration, priority-aware freezing, and DVFS within the power budget.

    Parameters
    ----------
    tolerance : float
        A processor of a more affine kind is chosen over the one with the earliest
        estimated finish if it finishes within ``(1 + tolerance)`` times that finish
        (relative to now). 0 is pure earliest-finish mapping.
    migrate : bool
        Move a running task to a freed, more affine processor when it would finish sooner there.
    freeze : bool
        Freeze a lower-priority running task when a higher-priority one needs its processor.
    dvfs : bool
        Choose frequencies to minimise latency within the power budget (else run at the highest allowed OPPs).
    window : int
        Ready tasks considered per dispatch, in priority order (bounds the cost under overload).
    """

    controls_frequency = True

    def __init__(
        self,
        tolerance: float = 1.0,
        migrate: bool = True,
        freeze: bool = True,
        dvfs: bool = True,
        window: int = 32,
    ) -> None:
        if tolerance < 0 or window < 1:
            raise ValueError("tolerance must be >= 0 and window >= 1")
        self.tolerance = tolerance
        self.migrate = migrate
        self.freeze_enabled = freeze
        self.dvfs = dvfs
        self.window = window
        self._queue: list = []  # heap of (-priority, deadline, ready order, task)
        self._seq = itertools.count()
        self._reserved: dict[int, object] = {}  # processor index -> task on its way there
        self._freezing: set = set()  # tasks asked to freeze for a waiting task (held, so never reused)
        self._affinity: dict[str, list] = {}
        self._usable: dict[int, bool] = {}
        self._pending_start = False
        self._proc_by_index: dict = {}
        self._fits: dict = {}

    # ------------------------------------------------------------------ setup

    def bind(self, sim):
        budget = sim.budget_w
        self._proc_by_index = {p.index: p for p in sim.processors}
        for p in sim.processors:
            self._usable[p.index] = sim.online(p)
        if budget is None or not self.dvfs:
            return
        floor = sim.platform.min_power_w(sim.offline)
        for p in sim.processors:
            if sim.online(p):
                acts = [m.peak_activity for m in sim.platform.models.values() if m.base_ms[p.index] is not None]
                # A processor that cannot run even one task alone at its lowest OPP is unusable.
                self._usable[p.index] = floor + max(acts, default=0.0) * p.dyn_w[0] / p.capacity <= budget + 1e-9
        for app in sim.apps:
            models = [t.model for t in app.template] if app.template is not None else list(app.generator.models)
            for name in models:
                m = sim.platform.models[name]
                if not any(self._usable[p.index] and m.base_ms[p.index] is not None for p in sim.processors):
                    raise ConfigError(
                        "<config>", "budget_w",
                        f"twill: no processor can run model '{name}' within {budget:g} W even at its lowest OPP",
                    )
        self._retune(sim)

    # ------------------------------------------------------------------ hooks

    def on_ready(self, task, sim):
        self._push(task)
        self._dispatch(sim)

    def on_finish(self, task, sim):
        self._freezing.discard(task)  # it finished before reaching the boundary
        self._dispatch(sim)

    def on_frozen(self, task, sim):
        self._freezing.discard(task)
        self._push(task)
        self._dispatch(sim)

    def on_drop(self, job, sim):
        self._dispatch(sim)

    def on_timer(self, payload, sim):
        self._pending_start = False
        self._dispatch(sim)

    # ------------------------------------------------------------------ mapping

    def _push(self, task):
        heapq.heappush(self._queue, (-task.priority, task.job.deadline_ms, next(self._seq), task))

    def _affine(self, task, sim) -> list:
        """Online, usable processors that can run the task, most affine first (then fastest)."""
        key = task.model.name
        order = self._affinity.get(key)
        if order is None:
            kinds = AFFINITY.get(task.model.kind, AFFINITY["other"])
            cands = [p for p in sim.candidates(task) if self._usable[p.index]]
            order = sorted(
                cands,
                key=lambda p: (kinds.index(p.kind) if p.kind in kinds else len(kinds), task.model.base_ms[p.index]),
            )
            self._affinity[key] = order
        return order

    def _free_at(self, p, sim) -> float:
        """Estimated time a slot of ``p`` frees (ms)."""
        if p.index in self._reserved:
            t = self._reserved[p.index]
            return sim.now + sim.estimate_ms(t, p, sim.pending_freq_mhz(p.domain))
        if sim.has_room(p):
            return sim.now
        running = sim.running(p)
        if not running:
            return math.inf
        return sim.now + min(sim.estimate_ms(t, p) for t in running)

    def _choose(self, task, sim):
        """The processor for ``task``: the most affine one finishing within tolerance of the earliest finish."""
        cands = self._affine(task, sim)
        if not cands:
            return None, math.inf
        now = sim.now
        eft = []
        for p in cands:
            start = max(self._free_at(p, sim), now + sim.transfer_in_ms(task, p))
            eft.append(start + sim.estimate_ms(task, p, sim.pending_freq_mhz(p.domain)))
        best = min(eft)
        limit = now + (best - now) * (1.0 + self.tolerance)
        for p, f in zip(cands, eft, strict=True):
            if f <= limit + 1e-9:
                return p, f
        return cands[0], eft[0]  # pragma: no cover - best itself is always within the limit

    def _room(self, p, sim) -> bool:
        return sim.has_room(p) and p.index not in self._reserved

    def _dispatch(self, sim):
        if self._pending_start:
            return  # a frequency switch is in flight for a start; the timer re-dispatches
        self._clean_reservations(sim)
        deferred = []
        blocked: set[int] = set()
        scanned = 0
        usable = [q for q in sim.processors if self._usable[q.index]]
        # Lowest priority among running tasks: a queued task at or below it can never
        # freeze anyone, so with no free slot left the rest of the queue can wait.
        lowest = min((t.priority for q in usable for t in sim.running(q)), default=math.inf)
        while self._queue and scanned < self.window:
            if not any(self._room(q, sim) and q.index not in blocked for q in usable) and (
                not self.freeze_enabled or -self._queue[0][0] <= lowest
            ):
                break  # nothing free, and nobody left in the queue may preempt
            entry = heapq.heappop(self._queue)
            task = entry[3]
            if task.job.dropped or task.state not in (TaskState.READY, TaskState.FROZEN):
                continue  # dropped, or already restarted by a migration
            scanned += 1
            if not self.freeze_enabled and not any(
                self._room(q, sim) and q.index not in blocked for q in self._affine(task, sim)
            ):
                deferred.append(entry)  # nothing it could use is free, and it may not freeze anyone
                continue
            p, _ = self._choose(task, sim)
            if p is None or p.index in blocked:
                deferred.append(entry)
                continue
            if self._room(p, sim):
                if not self._start(task, p, sim):
                    deferred.append(entry)
                    blocked.add(p.index)
                    if self._pending_start:
                        break
                continue
            # Its processor is busy: hold it for this task (no lower-priority task takes
            # it in this round), and free it by freezing a lower-priority task if allowed.
            blocked.add(p.index)
            deferred.append(entry)
            if self.freeze_enabled:
                self._maybe_freeze(task, p, sim)
        for e in deferred:
            heapq.heappush(self._queue, e)
        if self.migrate and not self._pending_start:
            self._migrate_back(sim, blocked)
        if self.dvfs and sim.budget_w is not None and not self._pending_start:
            self._retune(sim)

    def _start(self, task, p, sim) -> bool:
        """Start ``task`` on ``p`` if the power budget allows; lower frequencies first if needed."""
        budget = sim.budget_w
        if budget is None or not self.dvfs:
            return sim.start(task, p)
        add = [(task, p), *self._inbound()]
        if sim.predict_power_w(self._current(sim), add=add) <= budget + 1e-9:
            return sim.start(task, p)
        target = self._fit(sim, task_load(sim, add=add))
        if target is None:
            return False  # even the lowest OPPs cannot take this task now: wait for a finish
        lowering = [d for d, f in target.items() if f < sim.pending_freq_mhz(d)]
        for d in lowering:
            sim.set_freq(d, target[d])
        # Start only once every lowering has taken effect, so power never overshoots.
        wait = max((d.switch_ms for d in lowering), default=0.0)
        if wait <= 0:
            return sim.start(task, p)
        self._pending_start = True
        sim.call_at(sim.now + wait, "start")
        return False

    def _fit(self, sim, load: list[float]) -> dict | None:
        """fit_to_budget, memoised: the same loads recur constantly and the answer depends on nothing else."""
        key = tuple(load)
        if key not in self._fits:
            if len(self._fits) > 4096:
                self._fits.clear()
            self._fits[key] = fit_to_budget(sim, sim.budget_w, load)
        return self._fits[key]

    def _inbound(self) -> list:
        """Migrations on their way: counted on their target too until they arrive."""
        return [(t, p) for p, t in self._reserved_procs()]

    def _reserved_procs(self):
        return [(self._proc_by_index[i], t) for i, t in self._reserved.items()]

    def _current(self, sim) -> dict:
        # Pending switches count at the higher of the two frequencies: a prediction
        # must hold both before and after the switch lands.
        return {d: max(sim.freq_mhz(d), sim.pending_freq_mhz(d)) for d in sim.domains}

    def _retune(self, sim):
        """Raise (or lower) frequencies to the best setting for the tasks now running."""
        target = self._fit(sim, task_load(sim, add=self._inbound()))
        if target is None:
            target = {d: sim.allowed_freqs(d)[0] for d in sim.domains}
        lowering = [d for d, f in target.items() if f < sim.pending_freq_mhz(d)]
        if lowering:
            # Should not happen (starts keep the budget), but stay safe: lower only.
            for d in lowering:
                sim.set_freq(d, target[d])
            return
        # Raising is safe only after pending lowerings land; none are pending here.
        for d, f in target.items():
            if f > sim.pending_freq_mhz(d) and not self._switching_down(d, sim):
                sim.set_freq(d, f)

    @staticmethod
    def _switching_down(d, sim) -> bool:
        return sim.pending_freq_mhz(d) < sim.freq_mhz(d)

    # ------------------------------------------------------------------ freezing and migration

    def _maybe_freeze(self, task, p, sim):
        """Freeze the lowest-priority running task on ``p`` if it ranks below ``task``."""
        if any(t in self._freezing for t in sim.running(p)):
            return  # a slot is already being freed
        victims = [t for t in sim.running(p) if t.state is TaskState.RUNNING and t.priority < task.priority]
        if not victims:
            return
        victim = min(victims, key=lambda t: (t.priority, -sim.estimate_ms(t, p)))
        # Worth it only if the victim would hold the slot longer than the newcomer needs.
        if sim.estimate_ms(victim, p) <= sim.estimate_ms(task, p):
            return
        self._freezing.add(victim)
        sim.freeze(victim)

    def _migrate_back(self, sim, blocked: set[int]):
        """Move tasks running on less affine processors to free, more affine ones when that finishes sooner."""
        for p in sim.processors:
            if not self._room(p, sim) or p.index in blocked:
                continue
            best, gain = None, 0.0
            for q in sim.processors:
                if q is p:
                    continue
                for t in sim.running(q):
                    if t.state is not TaskState.RUNNING or t in self._freezing or t.migrate_to is not None:
                        continue
                    order = self._affine(t, sim)
                    if p not in order or order.index(p) >= order.index(q):
                        continue
                    m = t.model
                    cost = m.migrate_ms if m.migrate_ms is not None else sim.platform.transfer_ms(m.state_kb)
                    here = sim.estimate_ms(t, q)
                    there = cost + sim.estimate_ms(t, p, sim.pending_freq_mhz(p.domain))
                    # Segment granularity: the move happens at the next boundary, up to one segment later.
                    seg = here / max(1, m.segments)
                    if here - there - seg > gain:
                        best, gain = t, here - there - seg
            if best is not None:
                if sim.budget_w is not None and self.dvfs:
                    add = [(best, p), *self._inbound()]
                    if sim.predict_power_w(self._current(sim), add=add) > sim.budget_w + 1e-9:
                        continue  # the move would not fit the budget at the current frequencies
                self._reserved[p.index] = best
                sim.migrate(best, p)

    def _clean_reservations(self, sim):
        for i, t in list(self._reserved.items()):
            if t.state in _LIVE and t.proc is not None and t.proc.index == i:
                del self._reserved[i]  # arrived
            elif t.state not in _LIVE and t.state is not TaskState.FROZEN:
                del self._reserved[i]  # finished or cancelled on the way
            elif t.state is TaskState.FROZEN and t.migrate_to is None:
                del self._reserved[i]  # the move failed; it is back in the queue


