"""The run's state that policies may read, and the read-only half of the policy API.

:class:`EngineState` holds the clock, the processors' slots, the domains'
frequencies, the power meter and the recorder of one run, and answers the
queries of :class:`~simsched.engine.interface.SimView` (``now``, ``has_room``,
``estimate_ms``, ``predict_power_w``, ...). :class:`~simsched.engine.simulation.Simulation`
extends it with the events and the actions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import simpy

from simsched.config.schema import PowerModeSpec
from simsched.engine.power import PowerMeter
from simsched.engine.recorder import Recorder
from simsched.platform.soc import Domain, Platform, Processor
from simsched.workload.jobs import Job, Task
from simsched.workload.states import RUNNING


class EngineState:
    """Clock, slots, frequencies, power and records of one run, with the read-only queries.

    Parameters
    ----------
    platform : Platform
        The platform.
    mode : PowerModeSpec or None
        The power mode: frequency caps and offline processors.
    budget_w : float or None
        The power budget (W).
    recorder : Recorder
        Where the records go.
    """

    def __init__(self, platform: Platform, mode: PowerModeSpec | None, budget_w: float | None, recorder: Recorder) -> None:
        self.platform = plat = platform
        self.env = simpy.Environment()
        self.offline: frozenset[str] = frozenset(mode.offline) if mode else frozenset()
        self.budget_w = budget_w
        # Highest OPP index allowed per domain under the power mode's caps.
        self.max_opp: list[int] = []
        for d in plat.domains:
            cap = mode.caps_mhz.get(d.name, math.inf) if mode else math.inf
            self.max_opp.append(max(i for i, f in enumerate(d.freqs_mhz) if f <= cap + 1e-9))
        self.opp: list[int] = list(self.max_opp)
        self.freq: list[float] = [d.freqs_mhz[k] for d, k in zip(plat.domains, self.opp, strict=True)]
        self._pending_opp: list[int | None] = [None] * len(plat.domains)  # per domain, the OPP a switch heads to
        self._freq_version = [0] * len(plat.domains)  # per domain, bumped by every request
        self._online = [p.name not in self.offline for p in plat.processors]
        self._slots: list[list[Task]] = [[] for _ in plat.processors]
        self._live: dict[int, Job] = {}  # jobs arrived and not ended, by id
        self._next_job = 0
        self.recorder = recorder
        self.meter = PowerMeter(plat, self._online, self._slots, self.opp, budget_w, recorder.power)
        # Hot-path look-ups, resolved once: each processor's domain index, each domain's highest frequency.
        self._proc_dom = [p.domain.index for p in plat.processors]
        self._fmax = [d.f_max_mhz for d in plat.domains]

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
        return self.meter.total_w

    @property
    def energy_mj(self) -> float:
        """Energy integrated up to the latest power change (mJ)."""
        return self.meter.energy_mj

    @property
    def peak_w(self) -> float:
        """Highest total power so far (W)."""
        return self.meter.peak_w

    @property
    def over_budget_ms(self) -> float:
        """Time with the total power above the budget (ms)."""
        return self.meter.over_budget_ms

    @property
    def over_budget_mj(self) -> float:
        """Energy above the budget (mJ)."""
        return self.meter.over_budget_mj

    @property
    def n_events(self) -> int:
        """Events scheduled so far."""
        return self.events.n_events

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
        add: Sequence[tuple[Task, Processor]] = (),
        remove: Sequence[Task] = (),
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
        return self.meter.predict_w(freqs_mhz, add, remove)

    def busy_ms(self, proc: Processor) -> float:
        """Slot-time ``proc`` has spent executing since the start of the run (ms; capacity c counts c-fold)."""
        return self.meter.busy_ms(proc, self.env._now)

    def pending_freq_mhz(self, domain: Domain) -> float:
        """The frequency ``domain`` is switching to, or its current one if no switch is pending (MHz)."""
        k = self._pending_opp[domain.index]
        return domain.freqs_mhz[k] if k is not None else self.freq[domain.index]

    # ---------------------------------------------------- for record sinks

    def first_unrecorded_job(self) -> int:
        """The smallest job id whose rows are not recorded yet (in flight, or the next to arrive)."""
        return min(self._live) if self._live else self._next_job

    def earliest_open_row_ms(self) -> float:
        """The earliest start of a segment still to be recorded (ms): now, or an executing task's open row."""
        w = self.env._now
        for slots in self._slots:
            for t in slots:
                if t.state is RUNNING and t.row_t0 < w:
                    w = t.row_t0
        return w
