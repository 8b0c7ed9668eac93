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
