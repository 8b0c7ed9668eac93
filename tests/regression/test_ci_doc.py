"""docs/ci.md's examples work: the baseline commands, the workflow's ``run:`` steps, the pytest form.

The commands are extracted from the page (fenced ``sh``, ``yaml`` and ``python``
blocks) and run in a scratch project: ``ci/experiment.yaml`` is the documented
minimal experiment, once as is and once with a slower detector profile (8 -> 9 ms),
which the workflow's check step must reject.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import MINIMAL, ROOT

DOC = ROOT / "docs" / "ci.md"


def blocks(lang: str) -> list[str]:
    """The fenced code blocks of docs/ci.md in language ``lang``."""
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def workflow() -> dict[str, Any]:
    return yaml.safe_load(next(b for b in blocks("yaml") if "jobs:" in b))


def run_steps() -> list[str]:
    """The ``run:`` scripts of the workflow's job, in order."""
    (job,) = workflow()["jobs"].values()
    return [s["run"] for s in job["steps"] if "run" in s]


def baseline_block() -> str:
    return next(b for b in blocks("sh") if "simsched baseline" in b)


def bash(scripts: list[tuple[str, Path]]) -> list[subprocess.CompletedProcess[str]]:
    """Run shell scripts (each in its folder) in parallel, as the workflow's ``shell: bash`` does."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    procs = [
        subprocess.Popen(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script, cwd in scripts
    ]
    out = []
    for (script, _), p in zip(scripts, procs, strict=True):
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(script, p.returncode, stdout, stderr))
    return out


def new_project(folder: Path, latency_ms: float) -> Path:
    cfg = yaml.safe_load(MINIMAL.read_text())
    cfg["platform"]["models"]["detector"]["latency_ms"]["cpu0"] = latency_ms
    (folder / "ci").mkdir(parents=True)
    (folder / "ci" / "experiment.yaml").write_text(yaml.safe_dump(cfg))
    return folder


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Record the baseline (docs commands) and run the workflow on an unchanged and a slowed project."""
    tmp = tmp_path_factory.mktemp("ci-doc")
    ok, slow = new_project(tmp / "ok", 8.0), new_project(tmp / "slow", 9.0)
    steps = [s for s in run_steps() if "pip install" not in s]
    *simulate, check = steps
    # Phase 1: record the baseline in `ok`, and simulate the slowed project.
    recorded, *simulated = bash([(baseline_block(), ok)] + [(s, slow) for s in simulate])
    assert recorded.returncode == 0, recorded.stderr
    for r in simulated:
        assert r.returncode == 0, r.stderr
    shutil.copy(ok / "ci" / "baseline.json", slow / "ci" / "baseline.json")
    # Phase 2: the check step. The unchanged project's runs are the baseline's (same
    # commands, same seeds), so its simulate steps are not repeated.
    shutil.copytree(ok / "baseline-runs", ok / "runs")
    ok_check, slow_check = bash([(check, ok), (check, slow)])
    return {"ok": ok, "slow": slow, "ok_check": ok_check, "slow_check": slow_check, "recorded": recorded}


def test_workflow_installs_the_current_version_and_ends_with_the_check() -> None:
    steps = run_steps()
    installs = [s for s in steps if "pip install" in s]
    assert len(installs) == 1
    assert f"simsched=={version('simsched')}" in installs[0]
    assert steps[-1].startswith("simsched check ")
    assert any("simsched run" in s and "--seed" in s for s in steps[:-1])


def test_baseline_commands_write_a_sweep_baseline(projects: dict[str, Any]) -> None:
    import json

    baseline = json.loads((projects["ok"] / "ci" / "baseline.json").read_text())
    assert baseline["seeds"] == [1, 2, 3]
    assert baseline["metrics"]["overall.latency_p95_ms"]["n"] == 3
    assert baseline["metrics"]["overall.latency_p95_ms"]["std"] > 0


def test_workflow_check_passes_on_an_unchanged_project(projects: dict[str, Any]) -> None:
    r = projects["ok_check"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: no regression" in r.stdout


def test_workflow_check_fails_on_a_slower_profile(projects: dict[str, Any]) -> None:
    r = projects["slow_check"]
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REGRESSED" in r.stdout
    assert "overall.latency_mean_ms" in r.stdout
    assert "platform.models.detector" in r.stdout  # the note names what changed


def test_pytest_example_passes_then_fails_on_a_slower_profile(projects: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    code = next(b for b in blocks("python") if "assert_no_regression" in b)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    monkeypatch.chdir(projects["ok"])
    tests[0]()
    monkeypatch.chdir(projects["slow"])
    with pytest.raises(AssertionError, match="latency_mean_ms"):
        tests[0]()
