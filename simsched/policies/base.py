"""The registries of policies and DVFS governors, and entry-point discovery.

A policy is a small class registered by name. The interface it implements
(:class:`Policy`, :class:`Governor`) and the view of the engine it may use
(:class:`~simsched.engine.interface.SimView`) belong to the engine, in
:mod:`simsched.engine.interface`; they are re-exported here so that
``from simsched.policies.base import Policy`` keeps working. Third-party packages
add policies through the ``simsched.policies`` entry-point group and governors
through ``simsched.governors``.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any, TypeVar

from simsched.engine.interface import Governor, Policy, SimView
from simsched.errors import ConfigError

__all__ = [
    "GOVERNOR_GROUP",
    "POLICY_GROUP",
    "Governor",
    "Policy",
    "SimView",
    "available_governors",
    "available_policies",
    "governor_class",
    "instantiate",
    "policy_class",
    "register_governor",
    "register_policy",
]

POLICY_GROUP = "simsched.policies"
GOVERNOR_GROUP = "simsched.governors"


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
