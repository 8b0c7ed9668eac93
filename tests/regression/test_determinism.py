"""Determinism: the same config and seed give byte-identical run files.

The same experiments run in separate processes (``simsched run ... --out``), under
different ``PYTHONHASHSEED`` values, from another working directory with the config
at another absolute path, and in this process; every file must be identical byte
for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from simsched.api import simulate
from simsched.result import PACKAGES, TABLES
from tests.helpers import ROOT, minimal

RUN_FILES = [f"{t}.csv" for t in TABLES] + ["summary.json"]
# name -> (experiment file written to a scratch folder, --set overrides); the quickstart
# exercises DVFS, LLM tasks and seven apps, the XRBench scenario cascades with probabilities.
CONFIGS: dict[str, tuple[dict, list[str]]] = {
    "quickstart": (yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text()), ["duration_ms=3000"]),
    "xrbench": ({"platform": "xr-dual-4k", "workload": "xrbench-vr-gaming", "duration_ms": 700, "seed": 5}, []),
}
# (config, process label) -> (PYTHONHASHSEED, run from another directory with a copy of the config).
# The quickstart runs in three processes (two alike, one with another hash seed and
# directory), the XRBench scenario in one, compared with an in-process run; each
# process costs about a second of start-up, so the list is kept short.
PROCESSES: dict[tuple[str, str], tuple[str, bool]] = {
    ("quickstart", "a"): ("1", False),
    ("quickstart", "b"): ("1", False),
    ("quickstart", "c"): ("2", True),
    ("xrbench", "c"): ("3", True),
}


def simsched_command() -> list[str]:
    """The installed console script (next to this interpreter if there is one)."""
    script = Path(sys.executable).with_name("simsched")
    if script.exists():
        return [str(script)]
    found = shutil.which("simsched")
    return [found] if found else [sys.executable, "-m", "simsched.cli"]


def first_difference(a: Path, b: Path) -> str:
    la, lb = a.read_bytes().splitlines(), b.read_bytes().splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"{a.name} line {i + 1}: {x[:120]!r} != {y[:120]!r}"
    return f"{a.name}: {len(la)} lines vs {len(lb)}"


def assert_same_files(a: Path, b: Path) -> None:
    assert sorted(p.name for p in a.iterdir()) == sorted(RUN_FILES)
    assert sorted(p.name for p in b.iterdir()) == sorted(RUN_FILES)
    diffs = [first_difference(a / f, b / f) for f in RUN_FILES if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not diffs, f"{a} and {b} differ:\n" + "\n".join(diffs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every (config, process) run directory; the processes run in parallel."""
    tmp = tmp_path_factory.mktemp("determinism")
    procs = []
    out: dict[tuple[str, str], Path] = {}
    for (cname, label), (hashseed, elsewhere) in PROCESSES.items():
        data, overrides = CONFIGS[cname]
        folder = tmp / ("elsewhere/deeper" if elsewhere else "here") / cname
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "experiment.yaml"
        config.write_text(yaml.safe_dump(data))
        run_dir = tmp / "runs" / f"{cname}-{label}"
        cmd = [*simsched_command(), "run", str(config), "--out", str(run_dir)]
        cmd += [a for o in overrides for a in ("--set", o)]
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        procs.append((cmd, subprocess.Popen(cmd, cwd=folder if elsewhere else ROOT, env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        out[(cname, label)] = run_dir
    for cmd, p in procs:
        _stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, f"{cmd} failed: {stderr}"
    for cname, (data, overrides) in CONFIGS.items():  # and one in this process, from the same file name
        folder = tmp / "inproc" / cname
        folder.mkdir(parents=True)
        (folder / "experiment.yaml").write_text(yaml.safe_dump(data))
        out[(cname, "inproc")] = simulate(folder / "experiment.yaml", overrides=overrides).write(tmp / "runs" / f"{cname}-inproc")
    return out


def test_two_processes_write_identical_files(runs: dict[tuple[str, str], Path]) -> None:
    assert_same_files(runs[("quickstart", "a")], runs[("quickstart", "b")])


def test_other_hash_seed_and_directory_write_identical_files(runs: dict[tuple[str, str], Path]) -> None:
    assert_same_files(runs[("quickstart", "a")], runs[("quickstart", "c")])


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_in_process_run_writes_the_same_files_as_a_process(runs: dict[tuple[str, str], Path], config: str) -> None:
    assert_same_files(runs[(config, "c")], runs[(config, "inproc")])


def test_repeated_runs_in_one_process_are_identical(tmp_path: Path) -> None:
    cfg = minimal()
    cfg["duration_ms"] = 5000
    a = simulate(cfg).write(tmp_path / "a")
    b = simulate(cfg).write(tmp_path / "b")
    assert_same_files(a, b)


def test_manifest_records_the_versions_the_numbers_depend_on() -> None:
    cfg = minimal()
    cfg["duration_ms"] = 100
    versions = simulate(cfg).manifest["versions"]
    assert {"python", *PACKAGES} <= set(versions)
    assert versions["simsched"] == version("simsched")
    assert versions["numpy"] == version("numpy")
    assert versions["pandas"] == version("pandas")


def _trace_experiment(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "times.csv").write_text("10\n20\n30\n")
    cfg = minimal()
    cfg["duration_ms"] = 100
    cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": "times.csv"}
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_trace_file_runs_are_identical_from_another_checkout_path(tmp_path: Path) -> None:
    # A trace file named by a relative path must not leave its absolute path in summary.json.
    a = simulate(_trace_experiment(tmp_path / "one")).write(tmp_path / "run-a")
    b = simulate(_trace_experiment(tmp_path / "two" / "deeper")).write(tmp_path / "run-b")
    assert_same_files(a, b)
