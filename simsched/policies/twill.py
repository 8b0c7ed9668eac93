"""Twill: affinity-aware mapping and migration, priority-aware freezing, DVFS under a power budget.

Reconstructed from the abstract and secondary summaries of Taufique et al., "Twill:
Scheduling Compound AI Systems on Heterogeneous Mobile Edge Platforms" (ICCAD
2025, arXiv 2507.00491); docs/policies/twill.md says what is published and what
was reconstructed here.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from pydantic import Field

from simsched.errors import ConfigError
from simsched.policies.base import Policy, PolicyParams, register_policy
from simsched.policies.governors import fit_to_budget, task_load
from simsched.workload.states import FROZEN, HOLDING, READY, RUNNING

if TYPE_CHECKING:
    from simsched.platform.soc import Domain, Processor
    from simsched.workload.jobs import Task

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

_UNSET = object()


@dataclass(slots=True)
class Memo:
    """What a queued task's choice reads that outlives one dispatch (see :meth:`Twill._memo`)."""

    rows: list[tuple[Processor, int, int, float]]
    """Candidates ``(processor, index, domain index, estimate ms)``, most affine first."""
    arrived: list[bool] | None
    """Per candidate: its input data is there; None once it is on every candidate."""
    share: str | None
    """The key under which tasks share one choice in a round (their model's name), or None."""
    epoch: list[int]
    """``[frequency epoch of the estimates in rows]`` (shared with the model's fresh tasks)."""
    shareable: str | None
    """The model's name if the task has not started and is not an LLM: ``share`` once its input is everywhere."""


@dataclass(slots=True)
class QueueEntry:
    """A ready or frozen task in Twill's queue; the queue is sorted by ``key``."""

    key: tuple[int, float, int]
    """``(-priority, absolute deadline ms, ready order)``: unique, so entries never tie."""
    task: Task
    memo: Memo | None = None
    """Filled the first time a dispatch considers the task."""


_ENTRY_KEY = attrgetter("key")


@dataclass(slots=True)
class ModelPlan:
    """Per model, what mapping reads that is fixed for a run once built (see :meth:`Twill._plan`)."""

    order: list[Processor]
    """Usable processors that can run the model, most affine first (then fastest)."""
    cands: list[tuple[Processor, int, int, float]]
    """``(processor, index, domain index, 0.0)`` of each, in that order: a memo's rows before estimating."""
    rank: dict[int, int]
    """Processor index -> position in ``order``."""
    fresh: list[tuple[Processor, int, int, float]]
    """The rows of a task of the model that has not started (shared by every such task)."""
    fresh_epoch: list[int]
    """``[frequency epoch of fresh's estimates]``; -1: not estimated yet."""


@dataclass(slots=True)
class Setup:
    """What Twill derives from the platform and workload at bind; fixed for the run."""

    usable: dict[int, bool] = field(default_factory=dict)
    """Processor index -> online and able to run one task alone within the budget."""
    usable_procs: list[Processor] = field(default_factory=list)
    slots_of: list[tuple[int, int, list[Task]]] = field(default_factory=list)
    """``(index, capacity, live slot list)`` of the usable processors."""
    proc_by_index: dict[int, Processor] = field(default_factory=dict)
    worse: dict[int, set[int]] = field(default_factory=dict)
    """Processor index -> the processors it is more affine than for some model that may move:
    only those can lose a task to it by migration."""
    winners: set[int] = field(default_factory=set)
    """The processors with any ``worse``."""
    movable: set[str] = field(default_factory=set)
    """Models whose tasks a migration may pay off for."""
    distinct_opps: bool = True
    """No two OPPs of a domain closer than Domain.opp_index's tolerance (see :meth:`Twill._current`)."""
    contend: bool = True
    """More than one app priority: a task may freeze another."""
    tuned: bool = False
    """DVFS under a power budget."""


@dataclass(slots=True)
class FreqCache:
    """Twill's view of the frequencies.

    Twill sets the frequencies (no governor runs beside it) and a switch that lands
    leaves the pending value as it was, so ``pending`` changes only through Twill's
    own set_freq calls (:meth:`Twill._set_freq`), each of which bumps ``epoch``.
    """

    pending: list[float] = field(default_factory=list)
    """Each domain's pending frequency (MHz), by domain index."""
    epoch: int = 0
    """Twill's set_freq calls so far: estimates taken at an older epoch are stale."""
    current: dict[Domain, float] | None = None
    """The frequencies for predict_power_w (see :meth:`Twill._current`); None: recompute."""
    fits: dict[tuple[float, ...], dict | None] = field(default_factory=dict)
    """fit_to_budget answers by load."""


@dataclass(slots=True)
class _Round:
    """What one dispatch round caches, valid at this instant until the next change."""

    free: list[float | None]
    """When each processor's slot frees (ms; now for an open one; None: not known yet)."""
    chosen: dict[str, Processor | None]
    """The choice for a model's tasks that have not started and have their input everywhere."""
    blocked: set[int]
    """Processors held for a waiting task in this round."""

    def forget(self, open_: set[int], now: float) -> None:
        """Frequencies or slot holders changed: free times and shared choices are stale.

        Both are emptied in place, so a dispatch may hold them in local variables.
        """
        free = self.free
        free[:] = [None] * len(free)
        for j in open_:
            free[j] = now
        self.chosen.clear()


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

    Notes
    -----
    Twill dispatches after every event, so its dispatch is kept cheap without
    changing any decision (docs/policies/twill.md, "Cost"): what a decision reads is
    cached for as long as it provably stays the same, and work whose outcome is
    already known is skipped.
    """

    controls_frequency = True

    class Params(PolicyParams):
        """Parameters of the ``twill`` policy."""

        tolerance: float = Field(
            1.0, ge=0,
            description="Relative slack (ratio, >= 0) within which a more affine processor beats the earliest "
            "finish: it is chosen if it finishes within (1 + tolerance) times that finish, counted from now; "
            "0 is pure earliest-finish mapping.",
        )
        migrate: bool = Field(
            True, description="Move a running task to a freed, more affine processor when it would finish sooner there."
        )
        freeze: bool = Field(
            True, description="Freeze a lower-priority running task when a higher-priority one needs its processor."
        )
        dvfs: bool = Field(
            True,
            description="Choose frequencies to minimise latency within the power budget (else run at the highest "
            "allowed OPPs).",
        )
        window: int = Field(
            32, ge=1, description="Ready tasks (count) considered per dispatch, in priority order; bounds the cost under overload."
        )

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
        # Ready and frozen tasks, sorted by key: a dispatch walks it in order and leaves
        # the tasks it defers where they are.
        self._queue: list[QueueEntry] = []
        self._seq = itertools.count()
        self._reserved: dict[int, Task] = {}  # processor index -> task on its way there
        self._freezing: set[Task] = set()  # tasks asked to freeze for a waiting task (held, so never reused)
        self._pending_start = False  # a frequency switch is in flight for a start
        # Whether something _retune depends on (slot holders, migrations on their way,
        # frequencies, pending switches) may have changed since it last ran.
        self._retune_due = True
        self.setup = Setup()
        self.plans: dict[str, ModelPlan] = {}  # by model name, see _plan
        self.freq = FreqCache()

    # ------------------------------------------------------------------ setup

    def bind(self, sim):
        budget = sim.budget_w
        setup = self.setup
        setup.proc_by_index = {p.index: p for p in sim.processors}
        setup.contend = len({app.priority for app in sim.apps}) > 1
        usable = setup.usable
        for p in sim.processors:
            usable[p.index] = sim.online(p)
        tuned = setup.tuned = budget is not None and self.dvfs
        if tuned:
            floor = sim.platform.min_power_w(sim.offline)
            for p in sim.processors:
                if sim.online(p):
                    acts = [m.peak_activity for m in sim.platform.models.values() if m.base_ms[p.index] is not None]
                    # A processor that cannot run even one task alone at its lowest OPP is unusable.
                    usable[p.index] = floor + max(acts, default=0.0) * p.dyn_w[0] / p.capacity <= budget + 1e-9
            for app in sim.apps:
                models = [t.model for t in app.template] if app.template is not None else list(app.generator.models)
                for name in models:
                    m = sim.platform.models[name]
                    if not any(usable[p.index] and m.base_ms[p.index] is not None for p in sim.processors):
                        raise ConfigError(
                            "<config>", "budget_w",
                            f"twill: no processor can run model '{name}' within {budget:g} W even at its lowest OPP",
                        )
        setup.usable_procs = [p for p in sim.processors if usable[p.index]]
        # sim.running(p) is the live slot list of p for the whole run: kept, it
        # answers has_room without a call per processor and dispatch.
        setup.slots_of = [(p.index, p.capacity, sim.running(p)) for p in setup.usable_procs]
        setup.worse = {p.index: set() for p in sim.processors}
        for m in sim.platform.models.values():
            order = self._plan(m).order
            cost = m.migrate_ms if m.migrate_ms is not None else sim.platform.transfer_ms(m.state_kb)
            if m.segments <= 1 and cost >= 0:
                # A move pays the cost plus the rest of the task there and saves the
                # rest here less one segment, all of it: it never gains (_migrate_back).
                continue
            setup.movable.add(m.name)
            for r, p in enumerate(order):
                setup.worse[p.index].update(q.index for q in order[r + 1 :])
        setup.winners = {i for i, w in setup.worse.items() if w}
        self.freq.pending = [sim.pending_freq_mhz(d) for d in sim.domains]
        # Two OPPs closer than Domain.opp_index's tolerance would make the OPP index of
        # a domain's current frequency ambiguous (see _current).
        setup.distinct_opps = all(
            b - a >= 1e-9 for d in sim.domains for a, b in zip(d.freqs_mhz, d.freqs_mhz[1:], strict=False)
        )
        if tuned:
            self._retune(sim)

    # ------------------------------------------------------------------ hooks

    def on_ready(self, task, sim):
        self._push(task)
        self._dispatch(sim)

    def on_finish(self, task, sim):
        self._freezing.discard(task)  # it finished before reaching the boundary
        self._retune_due = True
        self._dispatch(sim)

    def on_frozen(self, task, sim):
        self._freezing.discard(task)
        self._push(task)
        self._retune_due = True
        self._dispatch(sim)

    def on_drop(self, job, sim):
        self._retune_due = True  # tasks waiting for their input data gave up their slots
        self._dispatch(sim)

    def on_freq_change(self, domain, sim):
        self.freq.current = None
        self._retune_due = True  # a switch landed: a domain held back while switching down may rise

    def on_timer(self, payload, sim):
        self._pending_start = False
        self._retune_due = True
        self._dispatch(sim)

    # ------------------------------------------------------------------ mapping

    def _push(self, task):
        # A sorted list rather than a heap: a dispatch walks it in order and leaves the
        # tasks it defers where they are instead of popping and pushing them again.
        key = (-task.priority, task.job.deadline_ms, next(self._seq))
        bisect.insort(self._queue, QueueEntry(key, task), key=_ENTRY_KEY)

    def _plan(self, m) -> ModelPlan:
        """The model's plan: usable processors that can run ``m``, most affine first (then fastest)."""
        plan = self.plans.get(m.name)
        if plan is None:
            kinds = AFFINITY.get(m.kind, AFFINITY["other"])
            # Usable processors are online, so these are the model's candidates (sim.candidates).
            cands = [p for p in self.setup.usable_procs if m.base_ms[p.index] is not None]
            order = sorted(
                cands,
                key=lambda p: (kinds.index(p.kind) if p.kind in kinds else len(kinds), m.base_ms[p.index]),
            )
            rows = [(p, p.index, p.domain.index, 0.0) for p in order]
            plan = self.plans[m.name] = ModelPlan(
                order=order, cands=rows, rank={p.index: r for r, p in enumerate(order)}, fresh=list(rows), fresh_epoch=[-1]
            )
        return plan

    def _free_at(self, p, sim, now: float) -> float:
        """Estimated time a slot of ``p`` frees (ms); ``now`` is ``sim.now``."""
        if p.index in self._reserved:
            t = self._reserved[p.index]
            return now + sim.estimate_ms(t, p, sim.pending_freq_mhz(p.domain))
        if sim.has_room(p):
            return now
        running = sim.running(p)
        if not running:
            return math.inf
        if len(running) == 1:
            return now + sim.estimate_ms(running[0], p)
        return now + min(sim.estimate_ms(t, p) for t in running)

    def _memo(self, task, now) -> Memo:
        """A queued task's memo (see :class:`Memo`).

        A queued task neither runs nor changes its progress, so its estimates
        change only with the frequencies: they are recomputed when Twill has set a
        frequency since (the epoch). A task that has not started shares rows and
        epoch with every such task of its model (the plan's ``fresh``). Once its
        input data is on a processor it stays there: ``arrived`` becomes None once
        the data is on every candidate. From then on the choice for a task that has
        not started depends only on its model and the processors' state, so
        ``share`` (the model's name; None for a started task or an LLM, whose
        estimate depends on its tokens) lets such tasks share a choice in a round.
        """
        m = task.model
        plan = self._plan(m)
        if m.llm is None and task.phase == 0 and task.progress == 0.0:
            rows, epoch, key = plan.fresh, plan.fresh_epoch, m.name
        else:
            rows, epoch, key = list(plan.cands), [-1], None
        # transfer_in_ms is zero on every processor once each predecessor's output has
        # had its transfer time (taken whether or not it ran on the same processor).
        if all(pred.finish_ms + tr <= now for pred, tr in task.preds):
            return Memo(rows, None, key, epoch, key)
        return Memo(rows, [False] * len(rows), None, epoch, key)

    def _estimate(self, task, rows, epoch, sim):
        """Estimates of a queued task on its candidates, at their domains' pending frequencies."""
        pfreq = self.freq.pending
        rows[:] = [(p, i, di, sim.estimate_ms(task, p, pfreq[di])) for p, i, di, _ in rows]
        epoch[0] = self.freq.epoch

    def _choose(self, task, memo, sim, now, free):
        """The processor for ``task``: the most affine one finishing within tolerance of the earliest finish.

        ``free`` caches when each processor's slot frees (None: not known yet), for
        the current instant until the next change; ``memo`` is the task's (see _memo).
        """
        rows = memo.rows
        if not rows:
            return None
        epoch = memo.epoch
        if epoch[0] != self.freq.epoch:
            self._estimate(task, rows, epoch, sim)
        arrived = memo.arrived
        eft = []
        if arrived is None:
            for p, i, _di, e in rows:
                fa = free[i]
                if fa is None:
                    fa = free[i] = self._free_at(p, sim, now)
                # The start is max(fa, now + 0), which is fa: a slot never frees before now.
                eft.append(fa + e)
        else:
            for k, (p, i, _di, e) in enumerate(rows):
                fa = free[i]
                if fa is None:
                    fa = free[i] = self._free_at(p, sim, now)
                if arrived[k]:
                    eft.append(fa + e)
                else:
                    tin = sim.transfer_in_ms(task, p)
                    # Zero means every input was there at or before now, hence from now on.
                    arrived[k] = tin == 0.0
                    s = now + tin
                    # max(fa, s), as max() breaks ties: the first argument unless the second is larger.
                    eft.append((s if s > fa else fa) + e)
            if all(arrived):
                memo.arrived = None
                memo.share = memo.shareable  # from now on, if it has not started
        best = min(eft)
        limit = now + (best - now) * (1.0 + self.tolerance) + 1e-9
        for k, f in enumerate(eft):
            if f <= limit:
                return rows[k][0]
        return rows[0][0]  # pragma: no cover - best itself is always within the limit

    def _open(self, sim) -> set[int]:
        """Usable processors with a free slot that no migration has reserved."""
        reserved = self._reserved
        open_ = set()
        for i, cap, slots in self.setup.slots_of:
            # has_room, for a processor known to be online
            if i not in reserved and len(slots) < cap:
                open_.add(i)
        return open_

    def _dispatch(self, sim):
        if self._pending_start:
            return  # a frequency switch is in flight for a start; the timer re-dispatches
        if self._reserved:
            self._clean_reservations(sim)
        setup = self.setup
        open_ = self._open(sim)
        # With no free slot, the queue is worth a look only if someone in it may preempt.
        if self._queue and (open_ or (self.freeze_enabled and setup.contend)):
            open_ = self._scan(sim, open_)
        # Only a processor more affine than another for some model can take a task back.
        if setup.winners and self.migrate and not self._pending_start and not open_.isdisjoint(setup.winners):
            self._migrate_back(sim, open_)
        if setup.tuned and self._retune_due and not self._pending_start:
            self._retune_due = False
            self._retune(sim)

    def _scan(self, sim, open_: set[int]) -> set[int]:
        """Map queued tasks in priority order, up to ``window`` of them.

        ``open_``: the usable processors with a free, unreserved slot; returns those
        left free and not held for a waiting task. Each task goes to its chosen
        processor if that is open (:meth:`_start_open`), else holds it for this round
        and may free it by freezing a lower-priority task (:meth:`_hold_busy`).
        """
        freeze = self.freeze_enabled
        # A queued task at or below the lowest priority among running tasks can never
        # freeze anyone, so with no free slot left the rest of the queue can wait.
        # With a single priority that holds for every queued task.
        contend = freeze and self.setup.contend
        lowest = self._lowest_running_priority(sim) if contend else math.inf
        now = sim.now
        free: list[float | None] = [None] * len(self.setup.proc_by_index)
        for j in open_:
            free[j] = now
        chosen: dict[str, Processor | None] = {}
        blocked: set[int] = set()
        rnd = _Round(free, chosen, blocked)  # the same objects: _Round changes them in place
        queue = self._queue
        window = self.window
        scanned = 0
        k = 0  # the entries before k are deferred
        while k < len(queue) and scanned < window:
            entry = queue[k]
            if not open_ and (not contend or -entry.key[0] <= lowest):
                break  # nothing free, and nobody left in the queue may preempt
            task = entry.task
            st = task.state
            if task.job.dropped or (st is not READY and st is not FROZEN):
                del queue[k]
                continue  # dropped, or already restarted by a migration
            scanned += 1
            memo = entry.memo
            if memo is None:
                memo = entry.memo = self._memo(task, now)
            if not freeze and not any(c[1] in open_ for c in memo.rows):
                k += 1  # nothing it could use is free, and it may not freeze anyone
                continue
            key = memo.share
            if key is None:
                p = self._choose(task, memo, sim, now, free)
            else:
                p = chosen.get(key, _UNSET)
                if p is _UNSET:
                    p = chosen[key] = self._choose(task, memo, sim, now, free)
            if p is None or p.index in blocked:
                k += 1
                continue
            if p.index in open_:
                started = self._start_open(task, p, sim, open_, rnd, now)
                if started:
                    del queue[k]
                else:
                    k += 1
                    if self._pending_start:
                        break
                continue
            k += 1
            self._hold_busy(task, p, sim, open_, rnd, now, contend)
        return open_

    def _lowest_running_priority(self, sim) -> float:
        """The lowest priority among the tasks holding a slot of a usable processor (inf if none)."""
        lowest = math.inf
        for q in self.setup.usable_procs:
            for t in sim.running(q):
                if t.priority < lowest:
                    lowest = t.priority
        return lowest

    def _start_open(self, task, p, sim, open_: set[int], rnd: _Round, now: float) -> bool:
        """Start ``task`` on the open processor ``p``; True if it started.

        A start takes a slot of ``p`` and changes nothing else a choice reads, unless
        frequencies were lowered for it. A start the budget refuses holds ``p`` for
        this round.
        """
        i = p.index
        epoch = self.freq.epoch
        started = self._start(task, p, sim)
        if started:
            if not sim.has_room(p):
                open_.discard(i)
                rnd.free[i] = None
                rnd.chosen.clear()
        else:
            rnd.blocked.add(i)
            open_.discard(i)
            if self._pending_start:
                return False
        if epoch != self.freq.epoch:
            rnd.forget(open_, now)
        return started

    def _hold_busy(self, task, p, sim, open_: set[int], rnd: _Round, now: float, contend: bool) -> None:
        """``task``'s processor is busy: hold it for this task (no lower-priority task takes it in
        this round), and free it by freezing a lower-priority task if allowed."""
        rnd.blocked.add(p.index)
        if contend and self._maybe_freeze(task, p, sim):
            rnd.forget(open_, now)

    def _start(self, task, p, sim) -> bool:
        """Start ``task`` on ``p`` if the power budget allows; lower frequencies first if needed."""
        budget = sim.budget_w
        if budget is None or not self.dvfs:
            self._retune_due = True
            return sim.start(task, p)
        add = [(task, p), *self._inbound()]
        if sim.predict_power_w(self._current(sim), add=add) <= budget + 1e-9:
            self._retune_due = True
            return sim.start(task, p)
        target = self._fit(sim, task_load(sim, add=add))
        if target is None:
            return False  # even the lowest OPPs cannot take this task now: wait for a finish
        pfreq = self.freq.pending
        lowering = [d for d, f in target.items() if f < pfreq[d.index]]
        for d in lowering:
            self._set_freq(sim, d, target[d])
        # Start only once every lowering has taken effect, so power never overshoots.
        wait = max((d.switch_ms for d in lowering), default=0.0)
        self._retune_due = True
        if wait <= 0:
            return sim.start(task, p)
        self._pending_start = True
        sim.call_at(sim.now + wait, "start")
        return False

    def _set_freq(self, sim, d, f):
        self.freq.epoch += 1
        sim.set_freq(d, f)
        self.freq.pending[d.index] = sim.pending_freq_mhz(d)
        self.freq.current = None
        self._retune_due = True

    def _fit(self, sim, load: list[float]) -> dict | None:
        """fit_to_budget, memoised: the same loads recur constantly and the answer depends on nothing else."""
        fits = self.freq.fits
        key = tuple(load)
        if key not in fits:
            if len(fits) > 4096:
                fits.clear()
            fits[key] = fit_to_budget(sim, sim.budget_w, load)
        return fits[key]

    def _inbound(self) -> list:
        """Migrations on their way: counted on their target too until they arrive."""
        if not self._reserved:
            return []
        return [(t, p) for p, t in self._reserved_procs()]

    def _reserved_procs(self):
        return [(self.setup.proc_by_index[i], t) for i, t in self._reserved.items()]

    def _current(self, sim) -> dict:
        """Frequencies for predict_power_w: each domain at the higher of its current and pending one.

        A prediction must hold both before and after a pending switch lands. Cached
        until a frequency is set or lands. A domain left out counts at its current
        OPP, which is what the OPP index of its current frequency gives when the
        domain's OPPs are distinct (checked at bind); so only the domains switching
        up are listed, which spares predict_power_w the look-ups of the others.
        """
        cur = self.freq.current
        if cur is None:
            pfreq = self.freq.pending
            if self.setup.distinct_opps:
                cur = {d: pfreq[d.index] for d in sim.domains if pfreq[d.index] > sim.freq_mhz(d)}
            else:
                cur = {d: max(sim.freq_mhz(d), pfreq[d.index]) for d in sim.domains}
            self.freq.current = cur
        return cur

    def _retune(self, sim):
        """Raise (or lower) frequencies to the best setting for the tasks now running."""
        target = self._fit(sim, task_load(sim, add=self._inbound()))
        if target is None:
            target = {d: sim.allowed_freqs(d)[0] for d in sim.domains}
        pfreq = self.freq.pending
        lowering = [d for d, f in target.items() if f < pfreq[d.index]]
        if lowering:
            # Should not happen (starts keep the budget), but stay safe: lower only.
            for d in lowering:
                self._set_freq(sim, d, target[d])
            return
        # Raising is safe only after pending lowerings land; none are pending here.
        for d, f in target.items():
            if f > pfreq[d.index] and not self._switching_down(d, sim):
                self._set_freq(sim, d, f)

    @staticmethod
    def _switching_down(d, sim) -> bool:
        return sim.pending_freq_mhz(d) < sim.freq_mhz(d)

    # ------------------------------------------------------------------ freezing and migration

    def _maybe_freeze(self, task, p, sim) -> bool:
        """Freeze the lowest-priority running task on ``p`` if it ranks below ``task``; True if it did."""
        if any(t in self._freezing for t in sim.running(p)):
            return False  # a slot is already being freed
        victims = [t for t in sim.running(p) if t.state is RUNNING and t.priority < task.priority]
        if not victims:
            return False
        victim = min(victims, key=lambda t: (t.priority, -sim.estimate_ms(t, p)))
        # Worth it only if the victim would hold the slot longer than the newcomer needs.
        if sim.estimate_ms(victim, p) <= sim.estimate_ms(task, p):
            return False
        self._freezing.add(victim)
        self._retune_due = True
        sim.freeze(victim)
        return True

    def _migrate_back(self, sim, open_: set[int]):
        """Move tasks running on less affine processors to free, more affine ones when that finishes sooner.

        ``open_``: the usable processors with a free, unreserved slot that no waiting
        task holds in this round, the only possible targets.
        """
        worse = self.setup.worse
        targets = [p for p in self.setup.usable_procs if p.index in open_ and worse[p.index]]
        losers = set().union(*(worse[p.index] for p in targets))
        # Tasks that may move: running, not being frozen or moved, and not already on
        # their most affine processor. [processor, task, its ranks, its rank there, estimate there]
        movers = []
        for q in sim.processors:
            if q.index not in losers:
                continue
            for t in sim.running(q):
                if t.state is not RUNNING or t in self._freezing or t.migrate_to is not None:
                    continue
                if t.model.name not in self.setup.movable:
                    continue
                rank = self.plans[t.model.name].rank
                rq = rank.get(q.index)
                if rq:  # None: not placed by this policy; 0: nowhere better
                    movers.append([q, t, rank, rq, None])
        if not movers:
            return
        for p in targets:
            i = p.index
            best, gain = None, 0.0
            for mv in movers:
                q, t, rank, rq, here = mv
                if q is p or t.migrate_to is not None:
                    continue
                rp = rank.get(i)
                if rp is None or rp >= rq:
                    continue
                m = t.model
                cost = m.migrate_ms if m.migrate_ms is not None else sim.platform.transfer_ms(m.state_kb)
                if here is None:
                    here = mv[4] = sim.estimate_ms(t, q)
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
                self._retune_due = True
                sim.migrate(best, p)
                for mv in movers:
                    mv[4] = None  # the move re-timed a task: estimate again

    def _clean_reservations(self, sim):
        for i, t in list(self._reserved.items()):
            if t.state in HOLDING and t.proc is not None and t.proc.index == i:
                del self._reserved[i]  # arrived
            elif t.state not in HOLDING and t.state is not FROZEN:
                del self._reserved[i]  # finished or cancelled on the way
            elif t.state is FROZEN and t.migrate_to is None:
                del self._reserved[i]  # the move failed; it is back in the queue
            else:
                continue
            self._retune_due = True  # the load no longer counts it on both processors
