"""What a policy implements and what it may see: ``Policy``, ``Governor`` and ``SimView``.

The engine calls the hooks of a :class:`Policy` (and of a :class:`Governor`, for
policies that leave frequencies to one) with itself as ``sim``. Everything a hook
may read or do through ``sim`` is listed in :class:`SimView`; the engine's
:class:`~simsched.engine.simulation.Simulation` implements it. The registries and
entry-point discovery that turn names into these classes live outside the engine,
in :mod:`simsched.policies.base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from simsched.platform.soc import Domain, Platform, Processor
    from simsched.workload.apps import App
    from simsched.workload.jobs import Job, Task


class SimView(Protocol):
    """The engine as a policy or governor sees it: a read-only view and the actions.

    Times in ms, frequencies in MHz, power in W, energy in mJ. A policy must use
    nothing else of the object it receives as ``sim``.
    """

    # ---------------------------------------------------------------- view
    @property
    def now(self) -> float:
        """Current simulated time (ms)."""
        ...

    @property
    def processors(self) -> list[Processor]:
        """Every processor of the platform (some may be offline in this power mode)."""
        ...

    @property
    def domains(self) -> list[Domain]:
        """Every DVFS domain."""
        ...

    @property
    def power_w(self) -> float:
        """Total SoC power right now (W)."""
        ...

    @property
    def energy_mj(self) -> float:
        """Energy integrated up to the latest power change (mJ)."""
        ...

    platform: Platform
    """The platform (processors, domains, model profiles, power modes)."""
    apps: list[App]
    """The workload's apps, in config order."""
    offline: frozenset[str]
    """Names of the processors switched off in this power mode."""
    budget_w: float | None
    """The power budget (W), or None."""
    duration_ms: float
    """Simulated time of the run (ms)."""

    def online(self, proc: Processor) -> bool:
        """Whether ``proc`` is switched on in this power mode."""
        ...

    def has_room(self, proc: Processor) -> bool:
        """Whether ``proc`` is online and has a free slot."""
        ...

    def running(self, proc: Processor) -> list[Task]:
        """Tasks holding a slot of ``proc``; the same live list for the whole run; do not modify."""
        ...

    def candidates(self, task: Task) -> list[Processor]:
        """Online processors that can run the task, in platform order."""
        ...

    def default_processor(self, task: Task) -> Processor:
        """The profile's default processor for the task's model, or the first online candidate."""
        ...

    def estimate_ms(self, task: Task, proc: Processor, freq_mhz: float | None = None) -> float:
        """Expected remaining execution time of ``task`` on ``proc`` (ms)."""
        ...

    def transfer_in_ms(self, task: Task, proc: Processor) -> float:
        """How long after ``now`` the task's input data would be on ``proc`` (ms)."""
        ...

    def freq_mhz(self, domain: Domain) -> float:
        """Current frequency of ``domain`` (MHz)."""
        ...

    def pending_freq_mhz(self, domain: Domain) -> float:
        """The frequency ``domain`` is switching to, or its current one (MHz)."""
        ...

    def allowed_freqs(self, domain: Domain) -> tuple[float, ...]:
        """Frequencies ``domain`` may run at under the power mode's cap (MHz, ascending)."""
        ...

    def predict_power_w(
        self,
        freqs_mhz: dict[Domain, float] | None = None,
        add: Sequence[tuple[Task, Processor]] = (),
        remove: Sequence[Task] = (),
    ) -> float:
        """Predicted SoC power (W) for candidate frequencies and task assignments."""
        ...

    def busy_ms(self, proc: Processor) -> float:
        """Slot-time ``proc`` has spent executing since the start of the run (ms)."""
        ...

    # ------------------------------------------------------------- actions
    def start(self, task: Task, proc: Processor) -> bool:
        """Start a ready (or resume a frozen) task on ``proc``; False if its job was dropped."""
        ...

    def resume(self, task: Task, proc: Processor | None = None) -> bool:
        """Resume a frozen task on ``proc`` (default: where it ran)."""
        ...

    def freeze(self, task: Task, immediate: bool = False, save_ms: float = 0.0) -> None:
        """Stop a task at its next segment boundary, or at once if ``immediate``."""
        ...

    def migrate(self, task: Task, proc: Processor) -> None:
        """Move a running or frozen task to ``proc`` at its next segment boundary."""
        ...

    def set_freq(self, domain: Domain, freq_mhz: float) -> None:
        """Set ``domain`` to the OPP of ``freq_mhz`` after its switch latency."""
        ...

    def drop(self, job: Job, abort_running: bool = False) -> None:
        """Drop a job: its unstarted tasks never run."""
        ...

    def call_at(self, time_ms: float, payload: Any = None, owner: Policy | Governor | None = None) -> None:
        """Call ``owner.on_timer(payload, sim)`` at ``time_ms`` (default owner: the policy)."""
        ...


class Policy:
    """Base class of scheduling policies: override the hooks you need.

    Hooks are called synchronously inside the event that triggers them; a policy
    acts by calling the engine (``sim.start``, ``sim.set_freq``, ``sim.freeze``,
    ``sim.resume``, ``sim.migrate``, ``sim.drop``, ``sim.call_at``); :class:`SimView`
    lists everything it may use.

    Constructor keyword arguments are the policy's parameters (``policy.params``
    in the config); give them defaults.
    """

    name: ClassVar[str] = ""
    controls_frequency: ClassVar[bool] = False
    """True if the policy sets frequencies itself (no governor is attached then)."""
    Params: ClassVar[type[BaseModel] | None] = None
    """The parameter model (``policy.params``); None: checked against ``__init__``'s signature."""

    def bind(self, sim: SimView) -> None:
        """Called once before the first event."""

    def on_arrival(self, job: Job, sim: SimView) -> None:
        """A job arrived (its root tasks follow through ``on_ready``)."""

    def on_ready(self, task: Task, sim: SimView) -> None:
        """A task's predecessors have all finished: it may be started."""
        raise NotImplementedError

    def on_finish(self, task: Task, sim: SimView) -> None:
        """A task finished and freed its processor slot."""

    def on_frozen(self, task: Task, sim: SimView) -> None:
        """A task this policy froze has stopped at a segment boundary and freed its slot."""

    def on_drop(self, job: Job, sim: SimView) -> None:
        """A job was dropped; its unstarted tasks will not run (``sim.start`` returns False)."""

    def on_freq_change(self, domain: Domain, sim: SimView) -> None:
        """A domain's new frequency took effect."""

    def on_timer(self, payload: Any, sim: SimView) -> None:
        """A timer set with ``sim.call_at`` fired."""


class Governor:
    """Base class of DVFS governors, for policies that do not set frequencies.

    A governor sees the same events as a policy (after the policy) and may only
    call ``sim.set_freq`` (and ``sim.call_at`` for its own timers).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel] | None] = None
    """The parameter model; None: checked against ``__init__``'s signature."""

    def bind(self, sim: SimView) -> None:
        """Called once before the first event, after every domain is set to its highest allowed OPP."""

    def on_start(self, task: Task, sim: SimView) -> None:
        """A task started executing."""

    def on_finish(self, task: Task, sim: SimView) -> None:
        """A task finished."""

    def on_timer(self, payload: Any, sim: SimView) -> None:
        """A timer set with ``sim.call_at(t, payload, owner=governor)`` fired."""
