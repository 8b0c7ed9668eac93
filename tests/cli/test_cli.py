"""The command-line contract: ``simsched run | list | validate | schema``.

Most tests call :func:`simsched.cli.main` in-process (fast); one runs the installed
``simsched`` console script in a subprocess.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from simsched.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "experiments" / "minimal.yaml"

RUN_FILES = {"jobs.csv", "tasks.csv", "segments.csv", "power.csv", "frequency.csv", "summary.json"}
REQUIRED_COLUMNS = {
    "jobs.csv": {"job_id", "app", "arrival_ms", "finish_ms", "deadline_ms", "latency_ms", "missed", "dropped"},
    "tasks.csv": {"job_id", "task", "model", "processor", "ready_ms", "start_ms", "finish_ms"},
    "segments.csv": {"job_id", "task", "processor", "start_ms", "end_ms", "freq_mhz"},
    "power.csv": {"time_ms", "processor", "power_w"},
}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """Call the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the minimal experiment, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("minimal") / "run"
    code, _out, err = run_main(["run", str(MINIMAL), "--out", str(out)])
    assert code == 0, err
    return out


# ----------------------------------------------------------------- run: the run directory


def test_run_writes_exactly_the_run_files(run_dir: Path) -> None:
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES


@pytest.mark.parametrize("name", sorted(REQUIRED_COLUMNS))
def test_csv_headers(run_dir: Path, name: str) -> None:
    columns = header(run_dir / name)
    missing = REQUIRED_COLUMNS[name] - set(columns)
    assert not missing, f"{name} lacks {sorted(missing)}; has {columns}"
    assert len(columns) == len(set(columns)), f"{name} repeats a column: {columns}"


def test_frequency_csv_has_a_header(run_dir: Path) -> None:
    assert {"time_ms", "freq_mhz"} <= set(header(run_dir / "frequency.csv"))


def test_jobs_table_is_consistent(run_dir: Path) -> None:
    jobs = read_csv(run_dir / "jobs.csv")
    assert len(jobs) > 100  # 60 Hz for 20 s
    assert {j["app"] for j in jobs} == {"camera"}
    finished = [j for j in jobs if j["finish_ms"]]
    assert finished
    for j in finished[:50]:
        latency = float(j["finish_ms"]) - float(j["arrival_ms"])
        assert float(j["latency_ms"]) == pytest.approx(latency, abs=1e-5)
        assert float(j["deadline_ms"]) == pytest.approx(float(j["arrival_ms"]) + 100, abs=1e-5)


def test_tasks_run_on_the_profiled_processor(run_dir: Path) -> None:
    tasks = read_csv(run_dir / "tasks.csv")
    assert tasks
    assert {t["model"] for t in tasks} == {"detector"}
    assert {t["processor"] for t in tasks} == {"cpu0"}
    durations = {round(float(t["finish_ms"]) - float(t["start_ms"]), 6) for t in tasks if t["finish_ms"]}
    assert durations == {8.0}  # constant variability, highest OPP


def test_power_table_has_processors_and_total(run_dir: Path) -> None:
    rows = read_csv(run_dir / "power.csv")
    processors = {r["processor"] for r in rows}
    assert {"cpu0", "total"} <= processors
    totals = [float(r["power_w"]) for r in rows if r["processor"] == "total"]
    assert min(totals) >= 0.5 - 1e-9  # the platform's static power
    assert max(totals) <= 0.5 + 1.0 + 1e-9  # static + busy_w at the highest OPP


def test_summary_json(run_dir: Path) -> None:
    s = summary(run_dir)
    for key in ("energy_mj", "avg_power_w", "peak_power_w", "time_over_budget_ms", "overall", "apps", "manifest"):
        assert key in s, f"summary.json lacks {key}"
    assert set(s["apps"]) == {"camera"}
    assert s["energy_mj"] > 0
    assert 0 < s["avg_power_w"] <= s["peak_power_w"]
    # energy (mJ) = average power (W) x simulated time (ms)
    assert s["energy_mj"] == pytest.approx(s["avg_power_w"] * s["sim_end_ms"], rel=1e-6)
    assert s["time_over_budget_ms"] == 0  # peak 1.5 W, budget 5 W
    manifest = s["manifest"]
    for key in ("config", "seed", "versions", "config_hash"):
        assert key in manifest, f"manifest lacks {key}"
    assert manifest["seed"] == 1
    assert len(manifest["config_hash"]) == 64
    int(manifest["config_hash"], 16)
    assert "simsched" in manifest["versions"]
    assert manifest["config"]["platform"]["name"] == "one-core"
    assert manifest["config"]["duration_ms"] == 20000


def test_same_seed_gives_identical_files(run_dir: Path, tmp_path: Path) -> None:
    code, _out, err = run_main(["run", str(MINIMAL), "--out", str(tmp_path / "again")])
    assert code == 0, err
    assert digest(tmp_path / "again") == digest(run_dir)


def test_run_without_out_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["run", str(MINIMAL)])
    assert code == 0, err
    assert list(tmp_path.iterdir()) == []
    assert "camera" in out


# ----------------------------------------------------------------- run: an existing --out


def test_existing_out_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, _o, err = run_main(["run", str(MINIMAL), "--out", str(out)])
    assert code == 0, err
    before = digest(out)

    code, stdout, err = run_main(["run", str(MINIMAL), "--out", str(out), "--seed", "7"])
    assert code == 2
    assert stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert str(out) in lines[0]
    assert "--force" in lines[0]
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary directory left behind

    (out / "stale.txt").write_text("left over\n", encoding="utf-8")
    code, _o, err = run_main(["run", str(MINIMAL), "--out", str(out), "--seed", "7", "--force"])
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RUN_FILES  # replaced, not merged
    assert summary(out)["manifest"]["seed"] == 7
    assert digest(out)["jobs.csv"] != before["jobs.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ----------------------------------------------------------------- run: --seed and --set


def test_seed_option(run_dir: Path, tmp_path: Path) -> None:
    code, _o, err = run_main(["run", str(MINIMAL), "--out", str(tmp_path / "s"), "--seed", "12345"])
    assert code == 0, err
    s, base = summary(tmp_path / "s"), summary(run_dir)
    assert s["seed"] == 12345
    assert s["manifest"]["seed"] == 12345
    assert base["manifest"]["seed"] == 1
    # the seed changes the arrivals, not the experiment
    assert s["manifest"]["config_hash"] == base["manifest"]["config_hash"]
    assert (tmp_path / "s" / "jobs.csv").read_bytes() != (run_dir / "jobs.csv").read_bytes()


def test_set_rate_reduces_the_jobs(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "slow"
    code, _o, err = run_main(["run", str(MINIMAL), "--out", str(out), "--set", "workload.apps.camera.arrival.rate_hz=10"])
    assert code == 0, err
    slow, base = summary(out), summary(run_dir)
    assert slow["manifest"]["config"]["workload"]["apps"]["camera"]["arrival"]["rate_hz"] == 10
    assert slow["manifest"]["config_hash"] != base["manifest"]["config_hash"]
    n_slow, n_base = slow["overall"]["jobs_arrived"], base["overall"]["jobs_arrived"]
    assert 100 < n_slow < n_base / 3, (n_slow, n_base)  # about 200 against about 1200
    assert len(read_csv(out / "jobs.csv")) == n_slow


def test_set_variability(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    code, _o, err = run_main(
        ["run", str(MINIMAL), "--out", str(out), "--set", "platform.models.detector.variability.type=exponential"]
    )
    assert code == 0, err
    model = summary(out)["manifest"]["config"]["platform"]["models"]["detector"]
    assert model["variability"]["type"] == "exponential"
    durations = {round(float(t["finish_ms"]) - float(t["start_ms"]), 6) for t in read_csv(out / "tasks.csv") if t["finish_ms"]}
    assert len(durations) > 10  # no longer the constant 8 ms


def test_several_sets_apply_in_order(tmp_path: Path) -> None:
    out = tmp_path / "sets"
    code, _o, err = run_main(["run", str(MINIMAL), "--out", str(out), "--set", "duration_ms=1000", "--set", "duration_ms=2000"])
    assert code == 0, err
    assert summary(out)["manifest"]["config"]["duration_ms"] == 2000


# ----------------------------------------------------------------- run: what it prints


def test_run_json(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "j"
    code, stdout, err = run_main(["run", str(MINIMAL), "--json", "--out", str(out)])
    assert code == 0, err
    printed = json.loads(stdout)
    assert printed == summary(out)
    assert printed["manifest"]["config_hash"] == summary(run_dir)["manifest"]["config_hash"]


def test_run_table(tmp_path: Path) -> None:
    out = tmp_path / "t"
    code, stdout, err = run_main(["run", str(MINIMAL), "--out", str(out)])
    assert code == 0, err
    assert "camera" in stdout
    assert "(all)" in stdout
    assert "p95" in stdout
    assert "one-core" in stdout
    assert str(out) in stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(stdout)
    assert "error" not in err


# ----------------------------------------------------------------- list, validate, schema


def listed(what: str) -> list[str]:
    code, out, err = run_main(["list", what])
    assert code == 0, err
    assert err == ""
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("what", ["platforms", "workloads"])
def test_list_shipped(what: str) -> None:
    names = listed(what)
    assert len(names) == len(set(names))


def test_list_policies() -> None:
    names = listed("policies")
    assert {"fifo", "affinity"} <= set(names)


def test_list_governors() -> None:
    assert "performance" in listed("governors")


def test_list_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["list", "colours"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_validate_minimal() -> None:
    code, out, err = run_main(["validate", str(MINIMAL)])
    assert code == 0, err
    assert out.startswith("ok: ")
    assert "one-core" in out
    assert "fifo" in out


def test_validate_applies_set() -> None:
    code, out, err = run_main(["validate", str(MINIMAL), "--set", "seed=99"])
    assert code == 0, err
    assert "seed 99" in out


def test_validate_platform_and_workload_files(tmp_path: Path) -> None:
    cfg = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    (tmp_path / "board.yaml").write_text(yaml.safe_dump(cfg["platform"]), encoding="utf-8")
    (tmp_path / "apps.yaml").write_text(yaml.safe_dump(cfg["workload"]), encoding="utf-8")
    code, out, err = run_main(["validate", str(tmp_path / "board.yaml")])
    assert code == 0, err
    assert out.startswith("ok: platform one-core")
    code, out, err = run_main(["validate", str(tmp_path / "apps.yaml")])
    assert code == 0, err
    assert out.startswith("ok: workload")
    assert "1 apps" in out


def test_schema() -> None:
    code, out, err = run_main(["schema"])
    assert code == 0, err
    schema = json.loads(out)
    assert {"platform", "workload", "policy"} <= set(schema["properties"])
    assert "duration_ms" in schema["required"]


def test_no_command_prints_help() -> None:
    code, out, _err = run_main([])
    assert code == 2
    assert "usage:" in out


# ----------------------------------------------------------------- the installed console script


def test_console_script_runs_the_minimal_example() -> None:
    exe = shutil.which("simsched") or shutil.which("simsched", path=str(Path(sys.executable).parent))
    assert exe, "the simsched console script is not installed"
    proc = subprocess.run(
        [exe, "run", "experiments/minimal.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "camera" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_event_limit_stops_a_run_with_a_clear_message(tmp_path, capsys) -> None:
    from simsched.cli import main

    out = tmp_path / "out"
    code = main(["run", str(MINIMAL), "--set", "limits.max_events=500", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert "limits.max_events (500)" in err[0]
    assert not out.exists()
