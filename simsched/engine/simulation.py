"""The SimPy core: jobs arrive, policies place tasks, processors execute, power is integrated.

Design (see docs/architecture.md):

* Event-driven, never ticking. Each executing task has exactly one pending SimPy
  timeout: the end of its current phase, or its next segment boundary when a
  freeze is pending. A frequency change or a freeze re-targets the task by bumping
  ``task.version``; the stale timeout still fires but is ignored. This keeps the
  hot path to one event per task phase instead of a generator process per task.
* Progress is tracked as the fraction of the current phase done, so a frequency
  change mid-segment re-times the remaining work exactly, and a migration keeps
  the work done.
* Power is piecewise constant: a row is recorded whenever a processor's power
  changes, and energy is integrated exactly at every change.
* The engine knows no policy by name: it calls the hooks of
  :class:`simsched.policies.base.Policy` and offers the actions below.
"""

from __future__ import annotations

import math
from array import array
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, Timeout

from simsched.config.schema import ExperimentSpec
from simsched.errors import ConfigError, LimitError, PolicyError
from simsched.platform.soc import Domain, Platform, Processor
from simsched.policies.base import Governor, Policy, governor_class, instantiate, policy_class
from simsched.workload.apps import App
from simsched.workload.jobs import Job, Task, TaskState

# Module constants: reading an enum member through its class (TaskState.READY) costs
# about 160 ns on CPython 3.11, a global about 7 ns, and the hot path reads many.
PENDING = TaskState.PENDING
READY = TaskState.READY
WAITING = TaskState.WAITING
RUNNING = TaskState.RUNNING
FROZEN = TaskState.FROZEN
DONE = TaskState.DONE
CANCELLED = TaskState.CANCELLED
SKIPPED = TaskState.SKIPPED
EPS = 1e-12
_new_event = object.__new__
_TIMEOUT_FIELDS = frozenset({"env", "callbacks", "_value", "_delay", "_ok"})


def lean_events_supported() -> bool:
    """Whether the installed SimPy builds a Timeout as ``Simulation._after`` does.

    Checked once at import on a throw-away environment: the Timeout's fields and
    its heap entry ``(time, NORMAL, id, event)``. With another SimPy the engine
    falls back to creating ``Timeout`` objects (same results, a little slower).
    """
    env = simpy.Environment()
    ev = Timeout(env, 1.5, "x")
    entry = env._queue[0] if len(env._queue) == 1 else ()
    return (
        set(vars(ev)) == _TIMEOUT_FIELDS
        and len(entry) == 4
        and entry[0] == 1.5
        and entry[1] == NORMAL
        and entry[3] is ev
        and hasattr(env, "_eid")
    )


_LEAN_EVENTS = lean_events_supported()
_STARTED = frozenset({RUNNING, WAITING, DONE, SKIPPED})


class Simulation:
    """One run of a platform, a workload and a policy.

    The policy receives this object as ``sim``. Its public methods fall in two
    groups: a read-only view (``now``, ``processors``, ``has_room``, ``running``,
    ``candidates``, ``estimate_ms``, ``freq_mhz``, ``power_w``, ...) and actions
    (``start``, ``set_freq``, ``freeze``, ``resume``, ``migrate``, ``drop``,
    ``call_at``). Everything starting with ``_`` is the engine's own.

    Parameters
    ----------
    spec : ExperimentSpec
        A validated experiment.
    """

    def __init__(self, spec: ExperimentSpec) -> None:
        self.spec = spec
        self.platform = Platform.from_spec(spec.platform)
        plat = self.platform
        self.env = simpy.Environment()
        self.duration_ms = spec.duration_ms

        mode_name = spec.power_mode or plat.default_power_mode
        mode = plat.power_modes.get(mode_name) if mode_name else None
        self.power_mode = mode_name
        self.offline = frozenset(mode.offline) if mode else frozenset()
        self.budget_w: float | None = spec.budget_w if spec.budget_w is not None else (mode.budget_w if mode else None)
        if self.budget_w is not None:
            floor = plat.min_power_w(self.offline)
            if self.budget_w < floor:
                where = "budget_w" if spec.budget_w is not None else f"platform.power_modes.{mode_name}.budget_w"
                raise ConfigError(
                    "<config>", where,
                    f"budget {self.budget_w:g} W is below the platform's static plus idle power ({floor:g} W)",
                )
        # Highest OPP index allowed per domain under the power mode's caps.
        self.max_opp: list[int] = []
        for d in plat.domains:
            cap = mode.caps_mhz.get(d.name, math.inf) if mode else math.inf
            self.max_opp.append(max(i for i, f in enumerate(d.freqs_mhz) if f <= cap + 1e-9))
        self.opp: list[int] = list(self.max_opp)
        self.freq: list[float] = [d.freqs_mhz[k] for d, k in zip(plat.domains, self.opp, strict=True)]
        self._freq_version = [0] * len(plat.domains)
        self._pending_opp: list[int | None] = [None] * len(plat.domains)
        self._online = [p.name not in self.offline for p in plat.processors]

        self.apps = [App(name, i, a, plat, spec.seed) for i, (name, a) in enumerate(spec.workload.apps.items())]
        for app in self.apps:
            used = [t.model for t in app.template] if app.template is not None else list(app.generator.models)
            for mname in used:
                m = plat.models[mname]
                if not any(self._online[p.index] for p in plat.processors if m.base_ms[p.index] is not None):
                    raise ConfigError(
                        "<config>", "power_mode",
                        f"model '{mname}' (app '{app.name}') can run only on processors that are offline in mode '{mode_name}'",
                    )
        pcls = policy_class(spec.policy.name)
        self.policy: Policy = instantiate(pcls, spec.policy.params, "policy.params")
        self.governor: Governor | None = None
        if not pcls.controls_frequency:
            gcls = governor_class(spec.policy.governor or "performance")
            self.governor = instantiate(gcls, {}, "policy.governor")
        elif spec.policy.governor:
            raise ConfigError("<config>", "policy.governor", f"policy '{pcls.name}' sets frequencies itself; remove the governor")

        self._slots: list[list[Task]] = [[] for _ in plat.processors]
        self._live: dict[int, Job] = {}
        self._next_job = 0
        self._n_events = 0
        self._max_events = spec.limits.max_events
        self._max_jobs = spec.limits.max_jobs

        # Power accounting: piecewise constant, integrated at every change.
        self._pw = [0.0] * len(plat.processors)
        self._busy_acc = [0.0] * len(plat.processors)
        self._busy_n = [0] * len(plat.processors)
        self._busy_t = [0.0] * len(plat.processors)
        self._total_w = plat.static_w
        self._last_t = 0.0
        self.energy_mj = 0.0
        self.peak_w = 0.0
        self.over_budget_ms = 0.0
        self.over_budget_mj = 0.0

        # Records: tuples, turned into tables once at the end. Power rows are the
        # most numerous, so they live in typed arrays (8 bytes a value instead of a
        # list slot plus a float object); they hold processor rows only, and the
        # SoC total's rows are derived from them when the table is built
        # (simsched/engine/power_table.py).
        self.rec_jobs: list[tuple] = []
        self.rec_tasks: list[tuple] = []
        self.rec_segments: list[tuple] = []
        self.rec_power_t = array("d")
        self.rec_power_p = array("i")
        self.rec_power_w = array("d")
        self._power_last_row = [-1] * len(plat.processors)
        self._power_started = False  # the first power update writes a row even if unchanged
        self._stream: Any = None  # a simsched.streaming.StreamWriter in a streaming run
        self.rec_freq: list[tuple[float, int, float]] = []
        # Hot-path look-ups, resolved once: each processor's domain index, each
        # domain's highest frequency, SimPy's event heap and id counter.
        self._proc_dom = [p.domain.index for p in plat.processors]
        self._fmax = [d.f_max_mhz for d in plat.domains]
        self._queue = self.env._queue if _LEAN_EVENTS else None
        self._eid = self.env._eid if _LEAN_EVENTS else None
        self._gov_start: Any = None
        self._gov_finish: Any = None
        self._ran = False
        self._started = False

    # ------------------------------------------------------------------ view

    @property
    def now(self) -> float:
        """Current simulated time (ms)."""
        return self.env._now

    @property
    def processors(self) -> list[Processor]:
        """Every processor of the platform (some may be offline in this power mode)."""
        return self.platform.processors

    @property
    def domains(self) -> list[Domain]:
        """Every DVFS domain."""
        return self.platform.domains

    @property
    def power_w(self) -> float:
        """Total SoC power right now (W)."""
        return self._total_w

    def online(self, proc: Processor) -> bool:
        """Whether ``proc`` is switched on in this power mode."""
        return self._online[proc.index]

    def has_room(self, proc: Processor) -> bool:
        """Whether ``proc`` is online and has a free slot."""
        return self._online[proc.index] and len(self._slots[proc.index]) < proc.capacity

    def running(self, proc: Processor) -> list[Task]:
        """Tasks holding a slot of ``proc`` (executing or waiting for input data); do not modify.

        The same list object for the whole run, updated as tasks start and stop, so a
        policy may keep it (``len(...) < proc.capacity`` is ``has_room`` for an online
        processor).
        """
        return self._slots[proc.index]

    def default_processor(self, task: Task) -> Processor:
        """Where a naive deployment runs the task's model: the profile's default processor.

        If that processor is offline in this power mode, the first online processor
        that can run the model (platform order) stands in for it.
        """
        p = task.model.default_processor
        if self._online[p.index]:
            return p
        return self.candidates(task)[0]

    def candidates(self, task: Task) -> list[Processor]:
        """Online processors that can run the task, in platform order."""
        m = task.model
        return [p for p in self.platform.processors if self._online[p.index] and m.base_ms[p.index] is not None]

    def freq_mhz(self, domain: Domain) -> float:
        """Current frequency of ``domain`` (MHz)."""
        return self.freq[domain.index]

    def allowed_freqs(self, domain: Domain) -> tuple[float, ...]:
        """Frequencies ``domain`` may run at under the power mode's cap (MHz, ascending)."""
        return domain.freqs_mhz[: self.max_opp[domain.index] + 1]

    def estimate_ms(self, task: Task, proc: Processor, freq_mhz: float | None = None) -> float:
        """Expected remaining execution time of ``task`` on ``proc`` (ms).

        Uses the profile's mean (no variability) and, for LLMs, the known prompt
        length and the mean of the task's output-length distribution; ``freq_mhz`` defaults to the domain's
        current frequency. Excludes queueing and data transfer.

        For a task that has not started and is not an LLM, the result depends only
        on its model, ``proc`` and the frequency, so a policy may cache it per
        (model, processor, frequency), as ``dream`` and ``twill`` do.
        """
        m = task.model
        base = m.base_ms[proc.index]
        if base is None:
            return math.inf
        d = proc.domain
        f = freq_mhz if freq_mhz is not None else self.freq[d.index]
        done = task.progress
        if task.state is RUNNING and task.seg_time > 0:
            # Progress is stored when the task is (re)timed; add what it did since.
            done = min(task.target, done + (self.env._now - task.seg_t0) / task.seg_time)
        if m.llm is None:  # one phase: the common case, kept cheap (policies call this a lot)
            beta = m.beta
            return (1.0 - done) * base * (beta * self._fmax[d.index] / f + 1.0 - beta)
        output = task.mean_output
        total = 0.0
        for i, (work, beta, _act, _n) in enumerate(m.phases(proc.index, 1.0, task.prompt_tokens, output)):
            if i < task.phase:
                continue
            left = 1.0 - done if i == task.phase else 1.0
            total += left * work * (beta * self._fmax[d.index] / f + 1.0 - beta)
        return total

    def transfer_in_ms(self, task: Task, proc: Processor) -> float:
        """How long after ``now`` the task's input data would be on ``proc`` (ms, >= 0)."""
        t = self.env._now
        for pred, tr in task.preds:
            if pred.proc is not proc:
                t = max(t, pred.finish_ms + tr)
        return t - self.env._now

    def predict_power_w(
        self,
        freqs_mhz: dict[Domain, float] | None = None,
        add: list[tuple[Task, Processor]] | tuple = (),
        remove: list[Task] | tuple = (),
    ) -> float:
        """Predicted SoC power (W) for candidate domain frequencies and assignments.

        Parameters
        ----------
        freqs_mhz : dict, optional
            Frequency per domain; domains not given keep their current frequency.
        add : list of (task, processor)
            Tasks assumed to be running on those processors in addition to the current ones.
        remove : list of Task
            Running tasks assumed to have stopped.

        Every running (or added) task counts with the highest activity of its phases,
        so the prediction is an upper bound for the set of tasks it describes.
        """
        plat = self.platform
        acts = [0.0] * len(plat.processors)
        gone = {id(t) for t in remove}
        for i, slots in enumerate(self._slots):
            for t in slots:
                if id(t) not in gone:
                    acts[i] += t.model.peak_activity
        for t, p in add:
            acts[p.index] += t.model.peak_activity
        total = plat.static_w
        for p in plat.processors:
            if not self._online[p.index]:
                continue
            d = p.domain
            f = freqs_mhz.get(d) if freqs_mhz else None
            k = self.opp[d.index] if f is None else d.opp_index(f)
            total += p.idle_w + acts[p.index] * p.dyn_w[k] / p.capacity
        return total

    def busy_ms(self, proc: Processor) -> float:
        """Slot-time ``proc`` has spent executing since the start of the run (ms; capacity c counts c-fold)."""
        i = proc.index
        return self._busy_acc[i] + self._busy_n[i] * (self.env._now - self._busy_t[i])

    def pending_freq_mhz(self, domain: Domain) -> float:
        """The frequency ``domain`` is switching to, or its current one if no switch is pending (MHz)."""
        k = self._pending_opp[domain.index]
        return domain.freqs_mhz[k] if k is not None else self.freq[domain.index]

    # --------------------------------------------------------------- actions

    def start(self, task: Task, proc: Processor) -> bool:
        """Start a ready (or resume a frozen) task on ``proc``.

        Returns False, doing nothing, when the task can no longer run (its job was
        dropped). Raises PolicyError for impossible requests: a model without a
        profile on ``proc``, a full or offline processor, a task in the wrong state.
        """
        st = task.state
        if st is not READY and st is not FROZEN:
            if st is CANCELLED or task.job.dropped:
                return False
            raise PolicyError(
                f"policy '{self.policy.name}' started task {task.job.id}:{task.name} "
                f"which is {st.name.lower()}, not ready or frozen"
            )
        i = proc.index
        if task.model.base_ms[i] is None:
            raise PolicyError(
                f"policy '{self.policy.name}' put task {task.job.id}:{task.name} (model {task.model.name}) "
                f"on processor {proc.name}, which has no profile for that model"
            )
        slots = self._slots[i]
        if len(slots) >= proc.capacity or not self._online[i]:
            why = "offline in this power mode" if not self._online[i] else f"full ({proc.capacity} slots)"
            raise PolicyError(
                f"policy '{self.policy.name}' put task {task.job.id}:{task.name} on processor {proc.name}, "
                f"which is {why}"
            )
        now = self.env._now
        t = now
        if task.start_ms != task.start_ms:  # never executed: wait for input data
            for pred, tr in task.preds:
                if pred.proc is not proc:
                    t = max(t, pred.finish_ms + tr)
        else:
            t += task.resume_delay
            task.resume_delay = 0.0
            if task.proc is not proc:
                m = task.model
                t += m.migrate_ms if m.migrate_ms is not None else self.platform.transfer_ms(m.state_kb)
                task.migrations += 1
        if task.proc is not proc:
            task.phases = task.model.phases(i, task.factor, task.prompt_tokens, task.output_tokens)
            task.proc = proc
        slots.append(task)
        if t > now:
            task.state = WAITING
            task.version += 1
            self._after(t - now, self._on_input_ready, (task, task.version))
        else:
            self._begin(task)
        return True

    def resume(self, task: Task, proc: Processor | None = None) -> bool:
        """Resume a frozen task on ``proc`` (default: where it ran); another processor is a migration."""
        if task.state is not FROZEN:
            if task.state is CANCELLED:
                return False
            raise PolicyError(f"policy '{self.policy.name}' resumed task {task.job.id}:{task.name}, which is not frozen")
        return self.start(task, proc or task.proc)  # type: ignore[arg-type]

    def freeze(self, task: Task, immediate: bool = False, save_ms: float = 0.0) -> None:
        """Stop a task at its next segment boundary, or at once if ``immediate``.

        The slot is freed when it stops and the policy's ``on_frozen`` hook is
        called; the task keeps its progress and can be resumed. An immediate
        preemption may cost ``save_ms`` of context save, paid when it resumes.
        """
        task.resume_delay += save_ms
        st = task.state
        if st is WAITING:
            task.version += 1
            self._release(task)
            task.state = FROZEN
            task.freezes += 1
            self.policy.on_frozen(task, self)
            return
        if st is not RUNNING:
            raise PolicyError(f"policy '{self.policy.name}' froze task {task.job.id}:{task.name}, which is not running")
        task.freeze_pending = True
        self._sync_progress(task)
        if immediate:
            task.target = task.progress
            self._close_row(task)
            self._stop(task)
        else:
            self._run_segment(task)

    def migrate(self, task: Task, proc: Processor) -> None:
        """Move a running or frozen task to ``proc`` at its next segment boundary.

        The task pays the migration cost (the model's ``migrate_ms``, or its
        ``state_kb`` over the interconnect). If ``proc`` has no room when the task
        stops, it stays frozen and the policy's ``on_frozen`` is called.
        """
        if task.model.base_ms[proc.index] is None:
            raise PolicyError(
                f"policy '{self.policy.name}' migrated task {task.job.id}:{task.name} (model {task.model.name}) "
                f"to processor {proc.name}, which has no profile for that model"
            )
        if task.state is FROZEN:
            self.start(task, proc)
            return
        task.migrate_to = proc
        self.freeze(task)

    def set_freq(self, domain: Domain, freq_mhz: float) -> None:
        """Set ``domain`` to the OPP of ``freq_mhz``; it takes effect after the domain's switch latency."""
        try:
            k = domain.opp_index(freq_mhz)
        except ValueError as exc:
            raise PolicyError(f"'{self._actor()}': {exc}") from None
        if k > self.max_opp[domain.index]:
            raise PolicyError(
                f"'{self._actor()}' set domain {domain.name} to {freq_mhz:g} MHz, above the power mode's "
                f"cap of {domain.freqs_mhz[self.max_opp[domain.index]]:g} MHz"
            )
        di = domain.index
        self._freq_version[di] += 1
        # Before the first event (policy and governor bind) frequencies are the boot
        # configuration and apply at once; afterwards a switch takes switch_ms.
        if not self._started or domain.switch_ms <= 0 or (k == self.opp[di] and self._pending_opp[di] is None):
            self._pending_opp[di] = None
            self._apply_opp(domain, k)
        else:
            self._pending_opp[di] = k
            self._after(domain.switch_ms, self._on_freq_switch, (domain, k, self._freq_version[di]))

    def drop(self, job: Job, abort_running: bool = False) -> None:
        """Drop a job: its unstarted tasks never run; running ones finish unless ``abort_running``."""
        self._drop(job, abort_running)

    def call_at(self, time_ms: float, payload: Any = None, owner: Policy | Governor | None = None) -> None:
        """Call ``owner.on_timer(payload, sim)`` at ``time_ms`` (default owner: the policy)."""
        self._after(max(0.0, time_ms - self.env._now), self._on_timer, (owner or self.policy, payload))

    # ------------------------------------------------------------- the run

    def run(self) -> Simulation:
        """Run until ``duration_ms`` and close the books; returns self."""
        if self._ran:
            raise RuntimeError("a Simulation runs once")
        self._ran = True
        for p in self.platform.processors:
            self._update_power(p)
        self.policy.bind(self)
        gov = self.governor
        if gov is not None:
            gov.bind(self)
            # Call only the hooks the governor overrides (the default one overrides none).
            cls = type(gov)
            self._gov_start = gov.on_start if cls.on_start is not Governor.on_start else None
            self._gov_finish = gov.on_finish if cls.on_finish is not Governor.on_finish else None
        self._started = True
        for d in self.platform.domains:  # the boot frequencies, after the binds chose them
            self.rec_freq.append((0.0, d.index, self.freq[d.index]))
        for app in self.apps:
            if app.closed is not None:
                for user in range(app.closed.population):
                    self._schedule_arrival(app, app.closed.offset_ms, user)
            else:
                self._schedule_arrival(app, app.arrivals.next_ms(), 0)  # type: ignore[union-attr]
        self.env.run(until=self.duration_ms)
        self._close()
        return self

    # --------------------------------------------------------------- internals

    def _actor(self) -> str:
        return self.policy.name if self.governor is None else f"{self.policy.name}+{self.governor.name}"

    def _after(self, delay: float, fn: Any, value: Any) -> None:
        """Schedule ``fn(event)`` in ``delay`` ms, with ``value`` as the event's value.

        This is what ``Timeout(env, delay, value).callbacks.append(fn)`` does in
        SimPy 4.1 (same fields, same heap entry, so the same event order), without
        its two Python frames: the engine's most frequent call. It relies on SimPy
        internals, so :func:`lean_events_supported` checks them at import, and
        tests/unit/test_engine_events.py compares both paths.
        """
        n = self._n_events + 1
        self._n_events = n
        if n > self._max_events:
            raise LimitError(
                f"the run exceeded limits.max_events ({self._max_events}) at t={self.env.now:.3f} ms; "
                "shorten duration_ms or raise the limit"
            )
        if not _LEAN_EVENTS:
            Timeout(self.env, delay, value).callbacks.append(fn)
            return
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        env = self.env
        ev = _new_event(Timeout)
        ev.env = env
        ev.callbacks = [fn]
        ev._value = value
        ev._delay = delay
        ev._ok = True
        heappush(self._queue, (env._now + delay, NORMAL, next(self._eid), ev))

    def _schedule_arrival(self, app: App, t: float, user: int) -> None:
        if t < self.duration_ms:
            self._after(max(0.0, t - self.env._now), self._on_arrival, (app, user))

    def _on_arrival(self, ev: Timeout) -> None:
        app, user = ev._value
        now = self.env._now
        if self._next_job >= self._max_jobs:
            raise LimitError(f"the run exceeded limits.max_jobs ({self._max_jobs}); shorten duration_ms or raise the limit")
        job = app.make_job(self._next_job, now, user)
        self._next_job += 1
        self._live[job.id] = job
        if app.closed is None:
            self._schedule_arrival(app, app.arrivals.next_ms(), 0)  # type: ignore[union-attr]
        if app.drop_late and job.deadline_ms < math.inf:
            self._after(job.deadline_ms - now, self._on_deadline, job)
        self.policy.on_arrival(job, self)
        roots = [t for t in job.tasks if t.state is PENDING and t.n_left == 0]
        for t in roots:
            t.state = READY
            t.ready_ms = now
        for t in roots:
            if t.state is READY:
                self.policy.on_ready(t, self)

    def _on_input_ready(self, ev: Timeout) -> None:
        task, ver = ev._value
        if ver == task.version:
            self._begin(task)

    def _begin(self, task: Task) -> None:
        task.state = RUNNING
        now = self.env._now
        if task.start_ms != task.start_ms:
            task.start_ms = now
        task.seg_t0 = now
        task.row_t0 = now
        self._run_segment(task)
        self._update_power(task.proc)
        if self._gov_start is not None:
            self._gov_start(task, self)

    def _run_segment(self, task: Task) -> None:
        """(Re)schedule the task's next engine event from its current progress."""
        work, beta, act, nseg = task.phases[task.phase]
        task.act = act  # read by _update_power for every task on the processor
        di = self._proc_dom[task.proc.index]
        seg_time = work * (beta * self._fmax[di] / self.freq[di] + 1.0 - beta)
        x0 = task.progress
        if task.freeze_pending:
            target = min(1.0, (math.floor(x0 * nseg + 1e-9) + 1) / nseg)
        else:
            target = 1.0
        task.seg_time = seg_time
        task.seg_t0 = self.env._now
        task.target = target
        task.version += 1
        self._after((target - x0) * seg_time, self._on_task_event, (task, task.version))

    def _sync_progress(self, task: Task) -> None:
        if task.seg_time > 0:
            x = task.progress + (self.env._now - task.seg_t0) / task.seg_time
            task.progress = min(x, task.target)
        task.seg_t0 = self.env._now

    def _on_task_event(self, ev: Timeout) -> None:
        task, ver = ev._value
        if ver != task.version:
            return  # re-targeted since this event was scheduled
        task.progress = task.target
        if task.progress < 1.0 - EPS:
            # A segment boundary where a freeze was requested.
            self._close_row(task)
            self._stop(task)
            return
        self._close_row(task)  # the phase just completed
        if task.phase == 0 and task.model.llm is not None:
            task.first_token_ms = self.env._now  # prefill emits the first token
        task.phase += 1
        task.progress = 0.0
        if task.phase >= len(task.phases):
            self._finish(task)
            return
        if task.freeze_pending:  # a phase boundary is a segment boundary too
            self._stop(task)
            return
        self._run_segment(task)
        self._update_power(task.proc)  # the next phase may draw a different activity

    def _close_row(self, task: Task) -> None:
        now = self.env._now
        if now > task.row_t0:
            p = task.proc
            self.rec_segments.append(
                (task.job.id, task.job.app.index, task.name, p.index, task.row_t0, now, self.freq[p.domain.index], task.phase)
            )
        task.row_t0 = now

    def _stop(self, task: Task) -> None:
        """A freeze takes effect: free the slot, keep the progress."""
        task.version += 1
        task.freeze_pending = False
        self._release(task)
        task.state = FROZEN
        task.freezes += 1
        target = task.migrate_to
        if target is not None:
            task.migrate_to = None
            if self.has_room(target):
                self.start(task, target)
                return
        self.policy.on_frozen(task, self)

    def _release(self, task: Task) -> None:
        proc = task.proc
        self._slots[proc.index].remove(task)
        self._update_power(proc)

    def _finish(self, task: Task) -> None:
        now = self.env._now
        task.state = DONE
        task.finish_ms = now
        self._close_row(task)
        self._release(task)
        job = task.job
        job.left -= 1
        ready = []
        if not job.dropped:
            for s in task.succs:
                s.n_left -= 1
                if s.n_left == 0 and s.state is PENDING:
                    s.state = READY
                    s.ready_ms = now
                    ready.append(s)
        self.policy.on_finish(task, self)
        if self._gov_finish is not None:
            self._gov_finish(task, self)
        for s in ready:
            if s.state is READY:
                self.policy.on_ready(s, self)
        if job.left == 0 and not job.ended:
            self._end_job(job)

    def _end_job(self, job: Job) -> None:
        now = self.env._now
        job.end_ms = now
        if not job.dropped:
            job.finish_ms = now
        self._record_job(job)
        # Break the job <-> task and task <-> task reference cycles, so reference
        # counting frees the job as soon as no policy holds its tasks: otherwise
        # every job waits for the cyclic garbage collector, whose full collections
        # grow with the run (docs/performance.md). Policies keep task.job.
        for t in job.tasks:
            t.preds = t.succs = ()  # type: ignore[assignment]
        job.tasks = ()  # type: ignore[assignment]
        del self._live[job.id]
        st = self._stream
        if st is not None and len(self.rec_tasks) + len(self.rec_segments) + len(self.rec_power_t) >= st.chunk_rows:
            st.flush(self)
        app = job.app
        if app.closed is not None:
            self._schedule_arrival(app, now + app.think_ms(), job.user)

    def _on_deadline(self, ev: Timeout) -> None:
        job = ev._value
        if job.ended:
            return
        # XRBench semantics: work already executing is never dropped; a job whose
        # remaining tasks have all started completes late instead of being dropped.
        if all(t.state in _STARTED for t in job.tasks):
            return
        self._drop(job, False)

    def _drop(self, job: Job, abort_running: bool) -> None:
        if job.ended or job.dropped:
            return
        job.dropped = True
        for t in job.tasks:
            st = t.state
            if st is PENDING or st is READY or st is FROZEN:
                t.state = CANCELLED
                job.left -= 1
            elif st is WAITING or (st is RUNNING and abort_running):
                if st is RUNNING:
                    self._sync_progress(t)
                    self._close_row(t)
                t.version += 1
                self._release(t)
                t.state = CANCELLED
                job.left -= 1
        self.policy.on_drop(job, self)
        if job.left == 0:
            self._end_job(job)

    def _on_timer(self, ev: Timeout) -> None:
        owner, payload = ev._value
        owner.on_timer(payload, self)

    def _on_freq_switch(self, ev: Timeout) -> None:
        domain, k, ver = ev._value
        if ver == self._freq_version[domain.index]:
            self._pending_opp[domain.index] = None
            self._apply_opp(domain, k)

    def _apply_opp(self, domain: Domain, k: int) -> None:
        di = domain.index
        if k == self.opp[di]:
            return
        moving = []
        for p in domain.processors:
            for t in self._slots[p.index]:
                if t.state is RUNNING:
                    self._sync_progress(t)
                    self._close_row(t)
                    moving.append(t)
        self.opp[di] = k
        self.freq[di] = domain.freqs_mhz[k]
        for t in moving:
            self._run_segment(t)
        for p in domain.processors:
            self._update_power(p)
        if self._started:
            self.rec_freq.append((self.env._now, di, self.freq[di]))
            self.policy.on_freq_change(domain, self)

    def _update_power(self, proc: Processor) -> None:
        i = proc.index
        now = self.env._now
        n = 0
        act = 0.0
        for t in self._slots[i]:
            if t.state is RUNNING:
                n += 1
                act += t.act
        # Executing slot-time, integrated at every change (for utilisation-driven governors).
        busy_n = self._busy_n
        if busy_n[i]:
            self._busy_acc[i] += busy_n[i] * (now - self._busy_t[i])
        self._busy_t[i] = now
        busy_n[i] = n
        if not self._online[i]:
            w = 0.0
        else:
            w = proc.idle_w + act * proc.dyn_w[self.opp[self._proc_dom[i]]] / proc.capacity
        if w == self._pw[i] and self._power_started:
            return
        self._power_started = True
        rec_t = self.rec_power_t
        if now > self._last_t:
            self._advance(now)
        self._pw[i] = w
        # Recomputed, not accumulated, so rounding cannot drift over millions of
        # changes. power_table() derives the total's rows with the same additions.
        self._total_w = self.platform.static_w + sum(self._pw)
        last = self._power_last_row[i]
        if last >= 0 and rec_t[last] == now:
            self.rec_power_w[last] = w  # several changes at one instant: keep the last
            return
        self._power_last_row[i] = len(rec_t)
        rec_t.append(now)
        self.rec_power_p.append(i)
        self.rec_power_w.append(w)

    def _forget_power_rows(self, k: int) -> None:
        """Drop the first ``k`` power rows (a streaming run has written them; all are before now)."""
        del self.rec_power_t[:k], self.rec_power_p[:k], self.rec_power_w[:k]
        # Keep each processor's latest-row index (used to merge changes at one instant) pointing right.
        self._power_last_row = [i - k if i >= k else -1 for i in self._power_last_row]

    def _advance(self, now: float) -> None:
        dt = now - self._last_t
        if dt <= 0:
            return
        w = self._total_w
        self.energy_mj += w * dt  # W x ms = mJ
        if w > self.peak_w:
            self.peak_w = w
        b = self.budget_w
        if b is not None and w > b + 1e-9:
            self.over_budget_ms += dt
            self.over_budget_mj += (w - b) * dt
        self._last_t = now

    def _record_job(self, job: Job) -> None:
        self.rec_jobs.append(
            (job.id, job.app.index, job.arrival_ms, job.finish_ms, job.deadline_ms, job.dropped, job.end_ms, job.user)
        )
        jid = job.id
        app = job.app.index
        append = self.rec_tasks.append
        for t in job.tasks:
            append(
                (
                    jid,
                    app,
                    t.name,
                    t.model.name,
                    t.proc.index if t.proc is not None else -1,
                    int(t.state),
                    t.ready_ms,
                    t.start_ms,
                    t.finish_ms,
                    t.first_token_ms,
                    t.prompt_tokens,
                    t.output_tokens,
                    t.freezes,
                    t.migrations,
                    t.pred_names,
                    t.factor,
                )
            )

    def _close(self) -> None:
        """Close open segments and the energy integral at the end of the run."""
        end = self.duration_ms
        self._advance(end)
        for slots in self._slots:
            for t in slots:
                if t.state is RUNNING:
                    self._close_row(t)
        for job in list(self._live.values()):
            self._record_job(job)
        self.sim_end_ms = end
