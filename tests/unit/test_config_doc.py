"""docs/config.md stays true: its complete experiments validate, and the first is the minimal file.

Every fenced ```yaml block of the document that contains ``duration_ms`` is a complete
experiment. Each must load with :func:`simsched.load_config` and build a simulation
(which also checks the policy, governor and budget). Blocks that name a shipped
platform or workload that is not installed are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import simsched
from simsched.build import validate
from simsched.config.paths import shipped

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "config.md"
MINIMAL = ROOT / "experiments" / "minimal.yaml"

_YAML_BLOCK = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def experiment_blocks() -> list[str]:
    """The ```yaml blocks of docs/config.md that contain ``duration_ms``, in document order."""
    text = DOC.read_text(encoding="utf-8")
    return [block for block in _YAML_BLOCK.findall(text) if "duration_ms" in block]


def _is_shipped_name(value: str) -> bool:
    # The loader's rule: a path ends in .yaml/.yml or contains a separator; anything else is a name.
    return not value.endswith((".yaml", ".yml")) and "/" not in value and "\\" not in value


def missing_shipped(cfg: dict[str, Any]) -> list[str]:
    """Shipped platform/workload names the block uses that this installation does not have."""
    missing = []
    for key, kind in (("platform", "platforms"), ("workload", "workloads")):
        value = cfg.get(key)
        if isinstance(value, str) and _is_shipped_name(value) and shipped(kind, value) is None:
            missing.append(f"{key} {value!r}")
    return missing


BLOCKS = experiment_blocks()


def test_document_has_experiments() -> None:
    assert BLOCKS, "docs/config.md has no ```yaml block with duration_ms"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_experiment_block_validates(block: str) -> None:
    cfg = yaml.safe_load(block)
    assert isinstance(cfg, dict), "an experiment block must be a mapping"
    missing = missing_shipped(cfg)
    if missing:
        pytest.skip("not shipped here: " + ", ".join(missing))
    loaded = simsched.load_config(cfg)
    validate(loaded)  # policy, governor, budget floor


def test_first_experiment_is_minimal_yaml() -> None:
    assert BLOCKS, "docs/config.md has no ```yaml block with duration_ms"
    documented = yaml.safe_load(BLOCKS[0])
    assert documented == yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- against the code


def _section(text: str, heading: str) -> str:
    """The text from ``heading`` (a whole line) to the next heading of any level."""
    lines = text.splitlines()
    start = lines.index(heading)
    out = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def _table_keys(section: str) -> list[str]:
    """The first-column keys (`` `key` ``) of the markdown table rows of a section."""
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def _row(section: str, key: str) -> str:
    rows = [line for line in section.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"docs/config.md: one table row for `{key}` expected, found {len(rows)}"
    return rows[0]


@pytest.mark.parametrize(
    ("heading", "spec"),
    [("## 1. Top-level keys", "ExperimentSpec"), ("### `policy`", "PolicySpec"), ("### `limits`", "LimitsSpec")],
)
def test_documented_keys_are_the_schemas(heading: str, spec: str) -> None:
    from simsched.config import schema

    fields = set(getattr(schema, spec).model_fields)
    documented = _table_keys(_section(DOC.read_text(encoding="utf-8"), heading))
    assert len(documented) == len(set(documented)), f"{heading}: a key is documented twice"
    assert set(documented) == fields, f"{heading}: undocumented {fields - set(documented)}, unknown {set(documented) - fields}"


def test_every_registered_policy_and_governor_is_named() -> None:
    from simsched.policies.base import available_governors, available_policies, governor_class, policy_class

    def built_in(names: list[str], cls_of) -> set[str]:
        # The package's own: other tests (and installed plugins) register more in this process.
        return {n for n in names if cls_of(n).__module__.startswith("simsched.")}

    policy = _section(DOC.read_text(encoding="utf-8"), "### `policy`")
    policies = built_in(available_policies(), policy_class)
    governors = built_in(available_governors(), governor_class)
    assert len(policies) >= 7 and len(governors) >= 4
    for key, names in (("name", policies), ("governor", governors)):
        row = _row(policy, key)
        listed = row.split("built in:", 1)[1].split(";", 1)[0]
        assert set(re.findall(r"`([^`]+)`", listed)) == names, f"`{key}` row: {listed!r} vs {sorted(names)}"


def test_powersave_is_the_boot_configuration_as_documented() -> None:
    text = _section(DOC.read_text(encoding="utf-8"), "### `policy`")
    assert "`powersave` puts every domain at its lowest OPP from t = 0" in text
    # The engine: with a switch latency, the lowest OPP is in force from the first instant.
    cfg = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    cfg["duration_ms"] = 50
    cfg["policy"] = {"name": "fifo", "governor": "powersave"}
    assert cfg["platform"]["domains"]["little"]["switch_ms"] > 0
    freq = simsched.simulate(cfg).frequency
    lowest = min(mhz for mhz, _ in cfg["platform"]["domains"]["little"]["opps"])
    assert freq.iloc[0]["time_ms"] == 0.0 and freq.iloc[0]["freq_mhz"] == lowest
    assert (freq["freq_mhz"] == lowest).all()


def test_set_platform_name_resolves_as_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "`--set platform=NAME` and `--set workload=NAME`" in text
    if shipped("platforms", "xr-dual-4k") is None or shipped("workloads", "xrbench-vr-gaming") is None:
        pytest.skip("xr-dual-4k / xrbench-vr-gaming not shipped here")
    loaded = simsched.load_config(MINIMAL, overrides=["platform=xr-dual-4k", "workload=xrbench-vr-gaming", "power_mode="])
    assert loaded.spec.platform.name == "xr-dual-4k"
    assert "eye_gaze" in loaded.spec.workload.apps
