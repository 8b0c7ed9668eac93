"""Typed policy parameters: each built-in policy and governor declares a pydantic model.

The model validates ``policy.params`` (one-line errors naming the field), shows in
``simsched schema`` and ``simsched list policies --verbose``, and must agree with the
constructor it feeds: same names, same defaults. A custom policy without a model keeps
the signature check.
"""

from __future__ import annotations

import inspect
import json
import math

import pytest
from pydantic import ValidationError

from simsched import ConfigError, simulate
from simsched.build import experiment_schema
from simsched.policies import base
from simsched.policies.base import (
    PolicyParams,
    available_governors,
    available_policies,
    describe_params,
    governor_class,
    instantiate,
    params_schema,
    policy_class,
)
from simsched.policies.fifo import Fifo
from tests.cli.test_cli import run_main

BUILTIN_POLICIES = ("affinity", "dream", "edf", "fifo", "heft", "latency-greedy", "twill")
BUILTIN_GOVERNORS = ("budget", "ondemand", "performance", "powersave")


def _classes() -> list[type]:
    return [policy_class(n) for n in BUILTIN_POLICIES] + [governor_class(n) for n in BUILTIN_GOVERNORS]


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.name)
def test_every_builtin_declares_a_model_matching_its_constructor(cls) -> None:
    model = cls.Params
    assert model is not None and issubclass(model, PolicyParams)
    assert model.model_config.get("extra") == "forbid"
    sig = dict(inspect.signature(cls).parameters)
    assert list(model.model_fields) == list(sig), "the model lists the constructor's keyword arguments, in order"
    for name, info in model.model_fields.items():
        assert info.get_default() == sig[name].default, f"{cls.name}.{name}: model and constructor defaults differ"
        assert info.description, f"{cls.name}.{name} has no description"
    # The defaults pass the model's own constraints and the constructor's checks.
    instantiate(cls, {}, "policy.params")


@pytest.mark.parametrize(
    ("name", "params", "field", "text"),
    [
        ("twill", {"tolerance": -0.5}, "policy.params.tolerance", "greater than or equal to 0"),
        ("twill", {"window": 0}, "policy.params.window", "greater than or equal to 1"),
        ("twill", {"window": "many"}, "policy.params.window", "valid integer"),
        ("twill", {"windw": 3}, "policy.params.windw", "unknown parameter of 'twill'; known: tolerance, migrate"),
        ("dream", {"w_energy": 1.5}, "policy.params.w_energy", "less than or equal to 1"),
        ("dream", {"window_ms": 0}, "policy.params.window_ms", "greater than 0"),
        ("dream", {"window_ms": math.nan}, "policy.params.window_ms", "greater than 0"),
        ("dream", {"top_k": 2.5}, "policy.params.top_k", "integer"),
        ("fifo", {"foo": 1}, "policy.params.foo", "unknown parameter of 'fifo'; known: none"),
    ],
)
def test_bad_parameters_name_their_field(name, params, field, text) -> None:
    with pytest.raises(ConfigError) as err:
        instantiate(policy_class(name), params, "policy.params")
    assert err.value.field == field
    assert text in err.value.message
    assert "\n" not in str(err.value)


def test_validated_values_reach_the_constructor() -> None:
    twill = instantiate(policy_class("twill"), {"tolerance": 0, "window": "4", "migrate": "false"}, "policy.params")
    assert (twill.tolerance, twill.window, twill.migrate) == (0.0, 4, False)
    assert isinstance(twill.tolerance, float)
    gov = instantiate(governor_class("ondemand"), {"period_ms": 5}, "policy.governor")
    assert (gov.period_ms, gov.up) == (5.0, 0.8)
    with pytest.raises(ConfigError, match=r"policy\.governor\.up_threshold"):
        instantiate(governor_class("ondemand"), {"up_threshold": 0}, "policy.governor")


def test_a_bad_parameter_in_a_file_is_a_one_line_error_with_exit_2(tmp_path) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        "platform: jetson-orin-nx\nworkload: twill-cai\nduration_ms: 50\npolicy: {name: dream, params: {urgency_threshold: 2}}\n"
    )
    code, _out, err = run_main(["validate", str(cfg)])
    assert code == 2
    assert err.strip().splitlines() == [f"error: {cfg}: policy.params.urgency_threshold: dream: Input should be less than or equal to 1"]


class _Untyped(Fifo):
    """A custom policy in the old style: parameters by constructor signature, no model."""

    Params = None

    def __init__(self, depth: int = 2) -> None:
        super().__init__()
        self.depth = depth


class _Typed(_Untyped):
    """The same policy with a model: ``depth`` must be a positive integer."""

    class Params(PolicyParams):
        depth: int = 2


@pytest.fixture
def custom(monkeypatch):
    for name, cls in (("test-untyped", _Untyped), ("test-typed", _Typed)):
        monkeypatch.setattr(cls, "name", name)
        monkeypatch.setitem(base._POLICIES, name, cls)


def test_a_custom_policy_without_a_model_keeps_the_signature_check(custom) -> None:
    assert _Untyped.Params is None
    assert instantiate(_Untyped, {"depth": "3"}, "policy.params").depth == "3"  # untyped: passed as given
    with pytest.raises(ConfigError) as err:
        instantiate(_Untyped, {"width": 1}, "policy.params")
    assert err.value.field == "policy.params.width"
    assert "unknown parameter of 'test-untyped'; known: depth" in err.value.message
    assert describe_params(_Untyped) is None and params_schema(_Untyped) is None
    assert "test-untyped" not in experiment_schema()["policies"]
    code, out, _ = run_main(["list", "policies", "--verbose"])
    assert code == 0
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("test-untyped"))
    assert "not declared" in lines[i + 1]


def test_a_custom_model_is_used_and_listed(custom) -> None:
    assert instantiate(_Typed, {"depth": "3"}, "policy.params").depth == 3
    with pytest.raises(ConfigError, match="valid integer"):
        instantiate(_Typed, {"depth": "deep"}, "policy.params")
    assert experiment_schema()["policies"]["test-typed"]["properties"]["depth"]["default"] == 2
    r = simulate(
        {"platform": "jetson-orin-nx", "workload": "twill-cai", "duration_ms": 30, "policy": {"name": "test-typed", "params": {"depth": 5}}}
    )
    assert len(r.jobs) > 0


def test_schema_holds_every_policy_and_governor_model() -> None:
    schema = experiment_schema()
    assert set(BUILTIN_POLICIES) <= set(schema["policies"]) <= set(available_policies())
    assert set(BUILTIN_GOVERNORS) <= set(schema["governors"]) <= set(available_governors())
    twill = schema["policies"]["twill"]
    assert twill["additionalProperties"] is False
    assert twill["properties"]["tolerance"] == {
        "default": 1.0,
        "description": twill["properties"]["tolerance"]["description"],
        "minimum": 0,
        "title": "Tolerance",
        "type": "number",
    }
    assert schema["policies"]["fifo"]["properties"] == {}
    assert schema["governors"]["ondemand"]["properties"]["period_ms"]["exclusiveMinimum"] == 0
    # The printed schema is the same document.
    code, out, _ = run_main(["schema"])
    assert code == 0
    assert json.loads(out)["policies"]["dream"] == schema["policies"]["dream"]


def test_list_verbose_prints_type_default_and_description() -> None:
    code, out, _ = run_main(["list", "policies", "--verbose"])
    assert code == 0
    assert "    window: int = 32  Ready tasks (count) considered per dispatch" in out
    assert "    window_ms: float = 100.0  Length of a UXCost measurement window" in out
    i = out.splitlines().index(next(line for line in out.splitlines() if line.startswith("fifo ")))
    assert out.splitlines()[i + 1] == "    parameters: none"
    code, plain, _ = run_main(["list", "policies"])
    assert "window:" not in plain
    code, gov, _ = run_main(["list", "governors", "-v"])
    assert "    up_threshold: float = 0.8" in gov


def test_model_rejects_unknown_keys_directly() -> None:
    with pytest.raises(ValidationError):
        policy_class("dream").Params.model_validate({"w_urgency": 0.5, "nope": 1})
