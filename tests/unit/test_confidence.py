"""Every shipped profile number carries a confidence; the confidence never changes a run."""

from __future__ import annotations

import copy
import json

import pytest

from simsched import simulate
from simsched.config.loader import read_yaml, validate_part
from simsched.config.paths import shipped, shipped_names
from simsched.config.schema import FRACTION_CONFIDENCE_KEYS, PlatformSpec
from simsched.errors import ConfigError

PLATFORMS = shipped_names("platforms")


def missing_confidence(spec: PlatformSpec) -> list[str]:
    """Profile numbers of a platform without a usable confidence entry.

    Latencies and per-token costs always need one; a compute fraction needs one when
    the file sets it (the schema default is not a number the file claims).
    """
    problems = []
    for mname, model in spec.models.items():
        explicit = set(model.model_fields_set)
        if model.llm is not None:
            explicit |= {k for k in model.llm.model_fields_set if k in FRACTION_CONFIDENCE_KEYS}
        for key in model.confidence_targets():
            if key in FRACTION_CONFIDENCE_KEYS and key not in explicit:
                continue
            conf = model.confidence.get(key)
            if conf is None:
                problems.append(f"{mname}.{key}: no confidence")
            elif conf.level != "measured" and conf.range is None:
                problems.append(f"{mname}.{key}: {conf.level} without a range")
    return problems


@pytest.mark.parametrize("name", PLATFORMS)
def test_every_shipped_profile_number_has_a_confidence(name: str) -> None:
    path = shipped("platforms", name)
    spec = validate_part("platforms", read_yaml(path), str(path))
    assert missing_confidence(spec) == []


def _platform(**confidence: object) -> dict:
    return {
        "name": "p",
        "domains": {"d": {"opps": [[1000, 800]]}},
        "processors": {"cpu": {"kind": "cpu", "domain": "d", "busy_w": 1.0}},
        "models": {"m": {"latency_ms": {"cpu": 10.0}, "confidence": confidence}},
    }


def test_the_check_fails_on_a_missing_confidence() -> None:
    spec = PlatformSpec.model_validate(_platform())
    assert missing_confidence(spec) == ["m.cpu: no confidence"]
    data = _platform(cpu="measured")
    data["models"]["m"]["compute_fraction"] = 0.5
    assert missing_confidence(PlatformSpec.model_validate(data)) == ["m.compute_fraction: no confidence"]


def test_an_llm_needs_both_phases() -> None:
    data = _platform()
    data["models"]["m"] = {
        "kind": "llm",
        "llm": {"prefill_ms_per_token": {"cpu": 1.0}, "decode_ms_per_token": {"cpu": 10.0}},
        "confidence": {"prefill.cpu": "measured"},
    }
    assert missing_confidence(PlatformSpec.model_validate(data)) == ["m.decode.cpu: no confidence"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("estimate", "needs range"),
        ({"level": "derived"}, "needs range"),
        ({"level": "estimate", "range": [1.2, 2.0]}, "must contain 1"),
        ({"level": "guess", "range": [0.5, 2.0]}, "measured"),
    ],
)
def test_the_schema_rejects_bad_entries(tmp_path, entry: object, message: str) -> None:
    path = tmp_path / "p.yaml"
    with pytest.raises(ConfigError) as err:
        validate_part("platforms", _platform(cpu=entry), str(path))
    assert "models.m.confidence.cpu" in str(err.value)
    assert message in str(err.value)


def test_the_schema_rejects_a_key_that_names_no_number(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"models\.m\.confidence\.gpu.*names no number"):
        validate_part("platforms", _platform(gpu="measured"), str(tmp_path / "p.yaml"))


def test_the_shorthand_is_measured_without_a_range() -> None:
    spec = PlatformSpec.model_validate(_platform(cpu="measured"))
    conf = spec.models["m"].confidence["cpu"]
    assert (conf.level, conf.range) == ("measured", None)


def test_results_do_not_depend_on_confidence() -> None:
    base = {
        "duration_ms": 3000,
        "seed": 3,
        "policy": "fifo",
        "platform": read_yaml(shipped("platforms", "ryzen-ai")),
        "workload": "rtgen-videoconf",
    }
    stripped = copy.deepcopy(base)
    for model in stripped["platform"]["models"].values():
        model.pop("confidence", None)
    changed = copy.deepcopy(base)
    for model in changed["platform"]["models"].values():
        for key in model.get("confidence", {}):
            model["confidence"][key] = {"level": "estimate", "range": [0.1, 10.0]}
    runs = [simulate(cfg) for cfg in (base, stripped, changed)]
    tables = [r.jobs.to_csv(index=False) + r.tasks.to_csv(index=False) for r in runs]
    assert tables[0] == tables[1] == tables[2]
    # Whole summaries, manifest included: confidence stays out of the resolved config and
    # the config hash, so a metadata edit does not even change the run's identity.
    assert runs[0].summary == runs[1].summary == runs[2].summary
    assert "confidence" not in json.dumps(runs[0].summary["manifest"])
    assert len(runs[0].jobs) > 50  # the run did something to compare
