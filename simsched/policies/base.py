"""The policy interface and the registries of policies and DVFS governors.

A policy is a small class registered by name. The engine calls its hooks on
events with itself as ``sim`` (see :class:`simsched.engine.simulation.Simulation`
for the actions and the read-only view a policy may use). Third-party packages
add policies through the ``simsched.policies`` entry-point group and governors
through ``simsched.governors``.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from simsched.errors import ConfigError

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.soc import Domain
    from simsched.workload.jobs import Job, Task

POLICY_GROUP = "simsched.policies"
GOVERNOR_GROUP = "simsched.governors"


class Policy:
    """Base class of scheduling policies: override the hooks you need.

    Hooks are called synchronously inside the event that triggers them; a policy
    acts by calling the engine (``sim.start``, ``sim.set_freq``, ``sim.freeze``,
    ``sim.resume``, ``sim.migrate``, ``sim.drop``, ``sim.call_at``).

    Constructor keyword arguments are the policy's parameters (``policy.params``
    in the config); give them defaults.
    """

    name: ClassVar[str] = ""
    controls_frequency: ClassVar[bool] = False
    """True if the policy sets frequencies itself (no governor is attached then)."""

    def bind(self, sim: Simulation) -> None:
        """Called once before the first event."""

    def on_arrival(self, job: Job, sim: Simulation) -> None:
        """A job arrived (its root tasks follow through ``on_ready``)."""

    def on_ready(self, task: Task, sim: Simulation) -> None:
        """A task's predecessors have all finished: it may be started."""
        raise NotImplementedError

    def on_finish(self, task: Task, sim: Simulation) -> None:
        """A task finished and freed its processor slot."""

    def on_frozen(self, task: Task, sim: Simulation) -> None:
        """A task this policy froze has stopped at a segment boundary and freed its slot."""

    def on_drop(self, job: Job, sim: Simulation) -> None:
        """A job was dropped; its unstarted tasks will not run (``sim.start`` returns False)."""

    def on_freq_change(self, domain: Domain, sim: Simulation) -> None:
        """A domain's new frequency took effect."""

    def on_timer(self, payload: Any, sim: Simulation) -> None:
        """A timer set with ``sim.call_at`` fired."""


class Governor:
    """Base class of DVFS governors, for policies that do not set frequencies.

    A governor sees the same events as a policy (after the policy) and may only
    call ``sim.set_freq``.
    """

    name: ClassVar[str] = ""

    def bind(self, sim: Simulation) -> None:
        """Called once before the first event, after every domain is set to its highest allowed OPP."""

    def on_start(self, task: Task, sim: Simulation) -> None:
        """A task started executing."""

    def on_finish(self, task: Task, sim: Simulation) -> None:
        """A task finished."""

    def on_timer(self, payload: Any, sim: Simulation) -> None:
        """A timer set with ``sim.call_at(t, payload, owner=governor)`` fired."""


P = TypeVar("P", bound=type)

_POLICIES: dict[str, type[Policy]] = {}
_GOVERNORS: dict[str, type[Governor]] = {}


def register_policy(name: str):
    """Class decorator: make a :class:`Policy` subclass available under ``name``."""

    def deco(cls: P) -> P:
        if not (inspect.isclass(cls) and issubclass(cls, Policy)):
            raise TypeError(f"{cls!r} is not a Policy subclass")
        cls.name = name
        _POLICIES[name] = cls
        return cls

    return deco


def register_governor(name: str):
    """Class decorator: make a :class:`Governor` subclass available under ``name``."""

    def deco(cls: P) -> P:
        if not (inspect.isclass(cls) and issubclass(cls, Governor)):
            raise TypeError(f"{cls!r} is not a Governor subclass")
        cls.name = name
        _GOVERNORS[name] = cls
        return cls

    return deco


def _lookup(name: str, registry: dict, group: str, base: type, what: str, field: str) -> type:
    if name in registry:
        return registry[name]
    for ep in entry_points(group=group):
        if ep.name == name:
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not look like a typo
                raise ConfigError("<config>", field, f"{what} '{name}' from {ep.value} failed to load: {exc}") from None
            if not (inspect.isclass(obj) and issubclass(obj, base)):
                raise ConfigError("<config>", field, f"entry point '{name}' ({ep.value}) is not a {base.__name__}")
            registry.setdefault(name, obj)
            if not getattr(obj, "name", ""):
                obj.name = name
            return obj
    known = ", ".join(sorted(set(registry) | {ep.name for ep in entry_points(group=group)}))
    raise ConfigError("<config>", field, f"unknown {what} '{name}'; known: {known}")


def policy_class(name: str) -> type[Policy]:
    """The policy class registered (or installed as an entry point) under ``name``."""
    _load_builtins()
    return _lookup(name, _POLICIES, POLICY_GROUP, Policy, "policy", "policy.name")


def governor_class(name: str) -> type[Governor]:
    """The governor class registered (or installed as an entry point) under ``name``."""
    _load_builtins()
    return _lookup(name, _GOVERNORS, GOVERNOR_GROUP, Governor, "governor", "policy.governor")


def available_policies() -> list[str]:
    """Names of every known policy, built in and installed."""
    _load_builtins()
    return sorted(set(_POLICIES) | {ep.name for ep in entry_points(group=POLICY_GROUP)})


def available_governors() -> list[str]:
    """Names of every known governor, built in and installed."""
    _load_builtins()
    return sorted(set(_GOVERNORS) | {ep.name for ep in entry_points(group=GOVERNOR_GROUP)})


def instantiate(cls: type, params: dict[str, Any], field: str) -> Any:
    """Construct ``cls(**params)``, turning bad parameters into a ConfigError naming ``field``."""
    sig = inspect.signature(cls)
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    if not accepts_any:
        unknown = [k for k in params if k not in sig.parameters]
        if unknown:
            known = ", ".join(sig.parameters) or "none"
            raise ConfigError("<config>", f"{field}.{unknown[0]}", f"unknown parameter of '{cls.name}'; known: {known}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError("<config>", field, f"{cls.name}: {exc}") from None


def _load_builtins() -> None:
    # Imported lazily so that `simsched.policies.base` has no import cycle with them.
    from simsched.policies import builtin  # noqa: F401
