"""The SimPy core: jobs arrive, policies place tasks, processors execute.

Event-driven, never ticking (docs/architecture.md, "The engine"): each executing
task has exactly one pending timeout, the end of its current phase or its next
segment boundary when a freeze is pending; a frequency change or a freeze bumps
``task.version`` and the stale timeout is ignored. Progress is the fraction of
the phase done, so re-timing is exact. The engine receives built inputs
(:func:`simsched.build.build_simulation`) and offers policies what
:class:`~simsched.engine.interface.SimView` lists. Records go to a
:class:`~simsched.engine.recorder.Recorder`, power to the
:class:`~simsched.engine.power.PowerMeter`, events through
:class:`~simsched.engine.events.EventScheduler`; frequency requests are
:class:`~simsched.engine.dvfs.FrequencyControl`'s.
"""

from __future__ import annotations

import math
from typing import Any

from simpy.events import Timeout

from simsched.config.schema import PowerModeSpec
from simsched.engine.dvfs import FrequencyControl
from simsched.engine.events import EventScheduler
from simsched.engine.interface import Governor, Policy
from simsched.engine.recorder import MemoryRecorder, Recorder, record_job
from simsched.errors import LimitError, PolicyError
from simsched.platform.soc import Domain, Platform, Processor
from simsched.workload.apps import App
from simsched.workload.jobs import Job, Task
from simsched.workload.states import CANCELLED, DONE, FROZEN, PENDING, READY, RUNNING, SKIPPED, WAITING

# The task states are module constants (simsched.workload.states): a global read is
# much cheaper than an enum member read through its class, and the hot path reads many.
EPS = 1e-12
_STARTED = frozenset({RUNNING, WAITING, DONE, SKIPPED})


class Simulation(FrequencyControl):
    """One run of a platform, a workload and a policy.

    The policy receives this object as ``sim`` and may use what
    :class:`~simsched.engine.interface.SimView` lists: the read-only view (from
    :class:`~simsched.engine.state.EngineState`) and the actions defined here.
    Everything starting with ``_`` is the engine's own.

    Parameters
    ----------
    platform : Platform
        The platform.
    apps : list of App
        The workload's apps (their arrivals and random streams), in config order.
    policy : Policy
        The scheduling policy.
    governor : Governor or None
        The DVFS governor; None for a policy that sets frequencies itself.
    duration_ms : float
        Simulated time (ms).
    power_mode : str or None
        The power mode's name (reported in the summary).
    mode : PowerModeSpec or None
        The power mode: frequency caps and offline processors.
    budget_w : float or None
        The power budget (W).
    max_events, max_jobs : int
        The run's limits (``LimitError`` beyond them).
    recorder : Recorder, optional
        Where the records go; a new :class:`MemoryRecorder` by default.

    The inputs are assumed feasible (:func:`simsched.build.validate` checks them).
    """

    def __init__(
        self,
        platform: Platform,
        apps: list[App],
        policy: Policy,
        governor: Governor | None = None,
        *,
        duration_ms: float,
        power_mode: str | None = None,
        mode: PowerModeSpec | None = None,
        budget_w: float | None = None,
        max_events: int = 10**12,
        max_jobs: int = 10**12,
        recorder: Recorder | None = None,
    ) -> None:
        if recorder is None:
            recorder = MemoryRecorder(len(platform.processors))
        super().__init__(platform, mode, budget_w, recorder)
        self.duration_ms = duration_ms
        self.power_mode = power_mode
        self.apps = apps
        self.policy = policy
        self.governor = governor
        self._max_jobs = max_jobs

        rec = self.recorder
        # Hot-path look-ups, resolved once: the recorder's methods, the power update, the scheduler's push.
        self._rec_segment = rec.segment
        self._rec_freq = rec.frequency
        self._job_ended = rec.job_ended
        self._update_power = self.meter.update
        self.events = EventScheduler(self.env, max_events)
        self._after = self.events.after
        self._gov_start: Any = None
        self._gov_finish: Any = None
        self._ran = False
        self._started = False
        self.sim_end_ms = math.nan

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
            self._update_power(p, 0.0)
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
            self._rec_freq((0.0, d.index, self.freq[d.index]))
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
        self._update_power(task.proc, now)
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
        self._update_power(task.proc, self.env._now)  # the next phase may draw a different activity

    def _close_row(self, task: Task) -> None:
        now = self.env._now
        if now > task.row_t0:
            p = task.proc
            self._rec_segment(
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
        self._update_power(proc, self.env._now)

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
        record_job(self.recorder, job)
        # Break the job <-> task and task <-> task reference cycles, so reference
        # counting frees the job as soon as no policy holds its tasks: otherwise
        # every job waits for the cyclic garbage collector, whose full collections
        # grow with the run (docs/performance.md). Policies keep task.job.
        for t in job.tasks:
            t.preds = t.succs = ()  # type: ignore[assignment]
        job.tasks = ()  # type: ignore[assignment]
        del self._live[job.id]
        self._job_ended(self)
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
        self.drop(job, False)

    def drop(self, job: Job, abort_running: bool = False) -> None:
        """Drop a job: its unstarted tasks never run; running ones finish unless ``abort_running``."""
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
        now = self.env._now
        for p in domain.processors:
            self._update_power(p, now)
        if self._started:
            self._rec_freq((now, di, self.freq[di]))
            self.policy.on_freq_change(domain, self)

    def _close(self) -> None:
        """Close open segments and the energy integral at the end of the run."""
        end = self.duration_ms
        self.meter.advance(end)
        for slots in self._slots:
            for t in slots:
                if t.state is RUNNING:
                    self._close_row(t)
        for job in list(self._live.values()):
            record_job(self.recorder, job)
        self.sim_end_ms = end
