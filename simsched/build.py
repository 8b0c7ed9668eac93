"""From a loaded config to a ready-to-run Simulation: name look-ups, instantiation, feasibility.

The engine receives built objects and looks up no names. This module does the
building for every caller (:func:`simsched.api.simulate`, ``simulate_streaming``,
``simsched validate``, ``compare``): the platform and the apps from the specs,
the policy and governor classes from the registries and entry points, their
instances from the parameters, and the checks that a config is feasible (the
budget above the power floor, every model runnable in the power mode, a governor
only for a policy that does not set frequencies). :func:`validate` runs the same
steps without constructing a Simulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simsched.config.loader import LoadedConfig
from simsched.config.schema import ExperimentSpec, PowerModeSpec, json_schema
from simsched.engine.interface import Governor, Policy
from simsched.engine.recorder import Recorder
from simsched.engine.simulation import Simulation
from simsched.errors import ConfigError
from simsched.platform.soc import Platform
from simsched.policies.base import all_params_schemas, governor_class, instantiate, policy_class
from simsched.workload.apps import App


@dataclass
class Parts:
    """The built inputs of one run."""

    platform: Platform
    apps: list[App]
    policy: Policy
    governor: Governor | None
    mode_name: str | None
    mode: PowerModeSpec | None
    budget_w: float | None


def build_parts(spec: ExperimentSpec) -> Parts:
    """Build and check the inputs of a run.

    Raises
    ------
    ConfigError
        Budget below the platform's static plus idle power, a model that can run
        only on processors offline in the power mode, an unknown policy or
        governor, bad policy parameters, or a governor for a policy that sets
        frequencies itself (checked in this order).
    """
    plat = Platform.from_spec(spec.platform)
    mode_name = spec.power_mode or plat.default_power_mode
    mode = plat.power_modes.get(mode_name) if mode_name else None
    offline = frozenset(mode.offline) if mode else frozenset()
    budget_w = spec.budget_w if spec.budget_w is not None else (mode.budget_w if mode else None)
    if budget_w is not None:
        floor = plat.min_power_w(offline)
        if budget_w < floor:
            where = "budget_w" if spec.budget_w is not None else f"platform.power_modes.{mode_name}.budget_w"
            raise ConfigError(
                "<config>", where, f"budget {budget_w:g} W is below the platform's static plus idle power ({floor:g} W)"
            )
    apps = [App(name, i, a, plat, spec.seed) for i, (name, a) in enumerate(spec.workload.apps.items())]
    online = [p.name not in offline for p in plat.processors]
    for app in apps:
        used = [t.model for t in app.template] if app.template is not None else list(app.generator.models)
        for mname in used:
            m = plat.models[mname]
            if not any(online[p.index] for p in plat.processors if m.base_ms[p.index] is not None):
                raise ConfigError(
                    "<config>", "power_mode",
                    f"model '{mname}' (app '{app.name}') can run only on processors that are offline in mode '{mode_name}'",
                )
    pcls = policy_class(spec.policy.name)
    policy: Policy = instantiate(pcls, spec.policy.params, "policy.params")
    governor: Governor | None = None
    if not pcls.controls_frequency:
        gcls = governor_class(spec.policy.governor or "performance")
        governor = instantiate(gcls, {}, "policy.governor")
    elif spec.policy.governor:
        raise ConfigError("<config>", "policy.governor", f"policy '{pcls.name}' sets frequencies itself; remove the governor")
    return Parts(plat, apps, policy, governor, mode_name, mode, budget_w)


def validate(loaded: LoadedConfig) -> None:
    """Check that ``loaded`` can run, without constructing a Simulation.

    Raises
    ------
    ConfigError
        For every feasibility error :func:`build_simulation` would raise (see :func:`build_parts`).
    """
    build_parts(loaded.spec)


def build_simulation(
    loaded: LoadedConfig, make_recorder: Callable[[Platform, list[App]], Recorder] | None = None
) -> Simulation:
    """A Simulation of ``loaded``, ready to ``run()``.

    Parameters
    ----------
    loaded : LoadedConfig
        A loaded, schema-valid config.
    make_recorder : callable, optional
        ``make_recorder(platform, apps)`` gives the recorder the records go to
        (default: a :class:`~simsched.engine.recorder.MemoryRecorder`).

    Raises
    ------
    ConfigError
        When the config is not feasible (see :func:`build_parts`).
    """
    spec = loaded.spec
    parts = build_parts(spec)
    recorder = make_recorder(parts.platform, parts.apps) if make_recorder is not None else None
    return Simulation(
        parts.platform, parts.apps, parts.policy, parts.governor,
        duration_ms=spec.duration_ms, power_mode=parts.mode_name, mode=parts.mode, budget_w=parts.budget_w,
        max_events=spec.limits.max_events, max_jobs=spec.limits.max_jobs, recorder=recorder,
    )


def experiment_schema() -> dict[str, Any]:
    """JSON Schema of an experiment file with every registered policy's and governor's parameters.

    What ``simsched schema`` prints: :func:`simsched.config.schema.json_schema` fed
    :func:`simsched.policies.base.all_params_schemas`.
    """
    return json_schema(all_params_schemas())
