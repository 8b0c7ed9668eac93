"""Every shipped platform and workload loads, runs under the core policies, and cites its sources."""

from __future__ import annotations

import pytest
import yaml

from simsched import load_config, simulate
from simsched.config.loader import read_yaml, validate_part
from simsched.config.paths import shipped, shipped_names

PLATFORMS = shipped_names("platforms")
WORKLOADS = shipped_names("workloads")


def test_the_required_files_are_shipped() -> None:
    assert {"jetson-orin-nx", "ryzen-ai", "tensor-g1"} <= set(PLATFORMS)
    xr = {f"xrbench-{s}" for s in ("vr-gaming", "ar-gaming", "ar-assistant", "outdoor-a", "outdoor-b", "social-a", "social-b")}
    assert xr | {"twill-cai", "rtgen-videoconf", "rtgen-gaming"} <= set(WORKLOADS)


def _has_source(entry: dict) -> bool:
    return bool(entry.get("source") or entry.get("sources"))


@pytest.mark.parametrize("name", PLATFORMS)
def test_platform_is_valid_and_cited(name: str) -> None:
    path = shipped("platforms", name)
    data = read_yaml(path)
    spec = validate_part("platforms", data, str(path))
    assert spec.name == name
    assert _has_source(data), "the platform lists no sources"
    for section in ("domains", "processors", "models"):
        for key, entry in data[section].items():
            assert _has_source(entry), f"{name}: {section}.{key} cites no source"
    text = path.read_text()
    assert "estimate" in text.lower(), "estimates must say so"


@pytest.mark.parametrize("name", WORKLOADS)
def test_workload_is_valid_cited_and_runs(name: str) -> None:
    path = shipped("workloads", name)
    data = read_yaml(path)
    validate_part("workloads", data, str(path))
    assert data.get("platform") in PLATFORMS, "a shipped workload names the shipped platform it is written for"
    assert _has_source(data)
    for app, entry in data["apps"].items():
        assert _has_source(entry), f"{name}: apps.{app} cites no source"
    for policy in ("fifo", "affinity"):
        cfg = {"duration_ms": 2000, "seed": 3, "policy": policy, "platform": data["platform"], "workload": name}
        r = simulate(cfg)
        o = r.summary["overall"]
        assert o["jobs_arrived"] > 0
        assert o["jobs_arrived"] == o["jobs_finished"] + o["jobs_dropped"] + o["jobs_in_flight"]
        assert r.summary["energy_mj"] > 0


@pytest.mark.parametrize("path", ["experiments/minimal.yaml", "experiments/quickstart.yaml"])
def test_shipped_experiments_run(path: str) -> None:
    from tests.helpers import ROOT

    loaded = load_config(ROOT / path)
    assert simulate(loaded).summary["overall"]["jobs_finished"] > 0
    assert yaml.safe_load((ROOT / path).read_text())["duration_ms"] > 0
