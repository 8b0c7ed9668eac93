"""The registries of policies and DVFS governors, and entry-point discovery.

A policy is a small class registered by name. The interface it implements
(:class:`Policy`, :class:`Governor`) and the view of the engine it may use
(:class:`~simsched.engine.interface.SimView`) belong to the engine, in
:mod:`simsched.engine.interface`; they are re-exported here so that
``from simsched.policies.base import Policy`` keeps working. Third-party packages
add policies through the ``simsched.policies`` entry-point group and governors
through ``simsched.governors``.

A policy (or governor) declares its parameters as a pydantic model, its class
attribute ``Params`` (a subclass of :class:`PolicyParams`: unknown keys are
rejected). :func:`instantiate` validates ``policy.params`` against it, so a wrong
parameter is a one-line config error naming the field; ``simsched schema`` and
``simsched list policies --verbose`` show the models. A class without ``Params``
(``Params = None``, as in third-party policies written before the models existed)
has its parameters checked against its constructor's signature instead.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from simsched.engine.interface import Governor, Policy, SimView
from simsched.errors import ConfigError

__all__ = [
    "GOVERNOR_GROUP",
    "POLICY_GROUP",
    "Governor",
    "NoParams",
    "Policy",
    "PolicyParams",
    "SimView",
    "all_params_schemas",
    "available_governors",
    "available_policies",
    "describe_params",
    "governor_class",
    "instantiate",
    "params_schema",
    "policy_class",
    "register_governor",
    "register_policy",
    "validate_params",
]

POLICY_GROUP = "simsched.policies"
GOVERNOR_GROUP = "simsched.governors"


class PolicyParams(BaseModel):
    """Base of the parameter model of a policy or governor: unknown keys are rejected.

    Subclass it, one field per constructor keyword argument, with the same name
    and default, a description and the unit in the name or the description.
    """

    model_config = ConfigDict(extra="forbid")


class NoParams(PolicyParams):
    """The parameters of a policy or governor that takes none."""


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
    """Construct ``cls`` from its parameters, turning bad ones into a ConfigError naming the field.

    Parameters
    ----------
    cls : type
        A policy or governor class.
    params : dict
        Its parameters as the config gives them.
    field : str
        Dotted config path of ``params`` (``policy.params``), the prefix of the error's field.

    Returns
    -------
    object
        The instance. With a ``Params`` model, the constructor receives the given
        keys only, with the model's validated (coerced) values, so its own defaults
        apply to the others; without one, unknown keys are refused by signature.
    """
    model = getattr(cls, "Params", None)
    if model is not None:
        kwargs = validate_params(cls, params, field)
    else:
        sig = inspect.signature(cls)
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
        if not accepts_any:
            unknown = [k for k in params if k not in sig.parameters]
            if unknown:
                known = ", ".join(sig.parameters) or "none"
                raise ConfigError("<config>", f"{field}.{unknown[0]}", f"unknown parameter of '{cls.name}'; known: {known}")
        kwargs = params
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError("<config>", field, f"{cls.name}: {exc}") from None


def validate_params(cls: type, params: dict[str, Any], field: str) -> dict[str, Any]:
    """Validate ``params`` against ``cls.Params``; the given keys with their validated values.

    Raises
    ------
    ConfigError
        For the first invalid parameter, at ``FIELD.NAME`` (``policy.params.tolerance``).
    """
    model: type[BaseModel] = cls.Params
    try:
        values = model.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        where = f"{field}.{loc}" if loc else field
        if err["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            raise ConfigError("<config>", where, f"unknown parameter of '{cls.name}'; known: {known}") from None
        raise ConfigError("<config>", where, f"{cls.name}: {err['msg']}") from None
    return {k: getattr(values, k) for k in params}


def params_schema(cls: type) -> dict[str, Any] | None:
    """JSON Schema of the parameters of a policy or governor class; None if it declares no model."""
    model = getattr(cls, "Params", None)
    if model is None:
        return None
    schema = model.model_json_schema()
    schema["title"] = f"{cls.name} parameters"
    return schema


def describe_params(cls: type) -> list[tuple[str, str, str, str]] | None:
    """``(name, type, default, description)`` of each parameter of ``cls``; None without a model."""
    model = getattr(cls, "Params", None)
    if model is None:
        return None
    rows = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        typ = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        rows.append((name, typ, default, info.description or ""))
    return rows


def all_params_schemas() -> dict[str, dict[str, dict[str, Any]]]:
    """``{"policies": {name: schema}, "governors": {name: schema}}`` of every known class with a model.

    Classes that fail to load or declare no model are left out (``simsched list``
    and a run report those).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {"policies": {}, "governors": {}}
    for key, names, get in (
        ("policies", available_policies(), policy_class),
        ("governors", available_governors(), governor_class),
    ):
        for name in names:
            try:
                schema = params_schema(get(name))
            except ConfigError:
                continue
            if schema is not None:
                out[key][name] = schema
    return out


def _load_builtins() -> None:
    # Imported lazily so that `simsched.policies.base` has no import cycle with them.
    from simsched.policies import builtin  # noqa: F401
