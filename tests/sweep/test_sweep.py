"""``simsched sweep``: grid expansion, results.csv, identical results on every backend, resume, failures."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simsched.api import simulate
from simsched.cli import main
from simsched.sweep import load_sweep, points, run_id, sweep
from simsched.sweep.table import METRICS
from tests.helpers import MINIMAL, ROOT


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def write_sweep(tmp: Path, **fields: object) -> Path:
    data = {"base": str(MINIMAL), "grid": {"policy": ["fifo", "edf"], "workload.load_scale": [1.0, 2.0]},
            "seeds": 2, "set": ["duration_ms=800"], **fields}
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ----------------------------------------------------------------------------- the file


def test_grid_zip_and_seeds_expand_in_order(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"policy": ["fifo", "edf"], "duration_ms": [500, 600]},
                       zip={"warmup_ms": [0, 10], "seed": [1, 2]}, seeds=[7, 3], set=[])
    spec, base = load_sweep(path)
    pts = points(spec)
    assert base == str(MINIMAL)
    assert [p.values for p in pts[:3]] == [
        {"policy": "fifo", "duration_ms": 500, "warmup_ms": 0, "seed": 1},
        {"policy": "fifo", "duration_ms": 500, "warmup_ms": 10, "seed": 2},
        {"policy": "fifo", "duration_ms": 600, "warmup_ms": 0, "seed": 1},
    ]
    assert len(pts) == 2 * 2 * 2
    assert spec.seed_list() == [7, 3]
    assert pts[0].overrides == ('policy="fifo"', "duration_ms=500", "warmup_ms=0", "seed=1")
    assert spec.keys() == ["policy", "duration_ms", "warmup_ms", "seed"]


def test_relative_base_resolves_against_the_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "exp.yaml").write_text(MINIMAL.read_text())
    path = write_sweep(tmp_path, base="sub/exp.yaml")
    _spec, base = load_sweep(path)
    assert base == str(tmp_path / "sub" / "exp.yaml")


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"seeds": 0}, "seeds"),
        ({"seeds": [1, 1]}, "listed twice"),
        ({"grid": {"policy": []}}, "no values"),
        ({"zip": {"duration_ms": [500, 600], "warmup_ms": [0]}}, "equal lengths"),
        ({"grid": {"bad key!": [1]}}, "dotted config key"),
        ({"grids": {}}, "unknown field"),
        ({"base": "nosuch.yaml"}, "not found"),
    ],
)
def test_unusable_sweep_file_exits_2_with_one_line(tmp_path: Path, fields: dict, fragment: str) -> None:
    path = write_sweep(tmp_path, **fields)
    code, _stdout, err = run_main(["sweep", str(path), "--out", str(tmp_path / "o")])
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: ")
    assert fragment in err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- results


def test_results_csv_columns_and_values(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    code, _out, err = run_main(["sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert code == 0, err
    res = pd.read_csv(tmp_path / "o" / "results.csv", keep_default_na=False, dtype={"run_id": str, "error": str})
    assert list(res.columns) == ["policy", "workload.load_scale", "seed", "run_id", "error", *METRICS]
    assert list(zip(res["policy"], res["workload.load_scale"], res["seed"], strict=True)) == [
        (p, s, k) for p in ("fifo", "edf") for s in (1.0, 2.0) for k in (1, 2)]
    assert (res["error"] == "").all() and res["run_id"].is_unique
    # each row is the summary of that config and seed run on its own
    one = simulate(MINIMAL, overrides=["duration_ms=800", 'policy="edf"', "workload.load_scale=2.0"], seed=2).summary
    row = res[(res["policy"] == "edf") & (res["workload.load_scale"] == 2.0) & (res["seed"] == 2)].iloc[0]
    assert float(row["latency_mean_ms"]) == one["overall"]["latency_mean_ms"]
    assert float(row["energy_mj"]) == one["energy_mj"]
    assert int(row["jobs_arrived"]) == one["overall"]["jobs_arrived"]


def test_metric_columns_cover_every_overall_metric() -> None:
    """A new overall metric must get a results.csv column (this fails until it does)."""
    for cfg in (MINIMAL, ROOT / "experiments" / "quickstart.yaml"):
        s = simulate(cfg, overrides=["duration_ms=400"]).summary
        assert set(s["overall"]) <= set(METRICS), set(s["overall"]) - set(METRICS)


def test_run_id_is_a_hash_of_the_resolved_config_and_seed() -> None:
    from simsched.config.loader import load_config

    a = load_config(MINIMAL, [], 1).resolved
    assert run_id(a) == run_id(load_config(MINIMAL, [], 1).resolved)
    assert run_id(a) != run_id(load_config(MINIMAL, [], 2).resolved)
    assert run_id(a) != run_id(load_config(MINIMAL, ["duration_ms=999"], 1).resolved)
    assert len(run_id(a)) == 16


def test_failing_run_is_an_error_row_and_exit_1(tmp_path: Path) -> None:
    # max_events=50 stops the run with a limit error; the other configuration runs on.
    path = write_sweep(tmp_path, grid={"limits.max_events": [50, 50_000_000]}, seeds=1)
    code, _out, err = run_main(["sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert code == 1
    res = pd.read_csv(tmp_path / "o" / "results.csv", keep_default_na=False, dtype={"error": str})
    assert "event" in res.loc[0, "error"] and res.loc[0, "latency_mean_ms"] == ""
    assert res.loc[1, "error"] == "" and float(res.loc[1, "latency_mean_ms"]) > 0
    assert "1 failed" in err and "failed: " in err


def test_bad_combination_is_an_error_row(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"warmup_ms": [0, 5000]}, seeds=1)  # warm-up beyond the duration
    res = sweep(path, tmp_path / "o", jobs=1)
    assert len(res.failed) == 1 and "warmup_ms" in res.results.loc[1, "error"]


def test_same_results_with_one_and_two_worker_processes(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    for jobs in ("1", "2"):
        code, _o, err = run_main(["sweep", str(path), "--out", str(tmp_path / f"j{jobs}"), "--jobs", jobs])
        assert code == 0, err
    assert (tmp_path / "j1" / "results.csv").read_bytes() == (tmp_path / "j2" / "results.csv").read_bytes()


def test_rerun_skips_finished_runs_and_force_reruns(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    first = sweep(path, tmp_path / "o", jobs=1)
    before = (tmp_path / "o" / "results.csv").read_bytes()
    again = sweep(path, tmp_path / "o", jobs=1)
    assert (first.ran, again.ran, again.skipped) == (8, 0, 8)
    assert (tmp_path / "o" / "results.csv").read_bytes() == before
    forced = sweep(path, tmp_path / "o", jobs=1, force=True)
    assert forced.ran == 8 and (tmp_path / "o" / "results.csv").read_bytes() == before


def test_keep_runs_writes_run_directories(tmp_path: Path) -> None:
    from simsched.report import read_run

    path = write_sweep(tmp_path, grid={"policy": ["fifo"]}, seeds=1)
    res = sweep(path, tmp_path / "o", jobs=1, keep_runs=True)
    rid = res.results.loc[0, "run_id"]
    run = read_run(tmp_path / "o" / "runs" / rid)
    assert run.summary["overall"]["latency_mean_ms"] == float(res.results.loc[0, "latency_mean_ms"])


def test_a_sweep_killed_midway_resumes_without_redoing_finished_runs(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"policy": ["fifo", "edf", "affinity"], "duration_ms": [4000, 4001]}, seeds=2, set=[])
    out = tmp_path / "o"
    results = out / "results.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "simsched.cli", "sweep", str(path), "--out", str(out), "--jobs", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 1 + 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    kept = list(csv.DictReader(io.StringIO(results.read_text())))
    assert 3 <= len(kept) < 12, "the sweep was not killed midway"
    kept_ids = {r["run_id"] for r in kept if r["run_id"]}
    res = sweep(path, out, jobs=1)
    assert res.skipped == len(kept_ids) and res.ran == 12 - len(kept_ids)
    final = list(csv.DictReader(io.StringIO(results.read_text())))
    assert len(final) == 12 and {r["run_id"] for r in final} >= kept_ids
    fresh = sweep(path, tmp_path / "fresh", jobs=1)
    assert fresh.ran == 12
    assert results.read_bytes() == (tmp_path / "fresh" / "results.csv").read_bytes()


# ----------------------------------------------------------------------------- Dask


def test_same_results_on_a_dask_cluster_of_two_workers(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path = write_sweep(tmp_path)
    sweep(path, tmp_path / "local", jobs=1)
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), "the Dask scheduler did not start"
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1",
                  "--host", "127.0.0.1", "--no-dashboard"]
        procs.append(subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        code, _o, err = run_main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--scheduler", address])
        assert code == 0, err
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    assert (tmp_path / "dask" / "results.csv").read_bytes() == (tmp_path / "local" / "results.csv").read_bytes()


# ----------------------------------------------------------------------------- load scale


def test_load_scale_multiplies_arrival_rates_and_defaults_to_the_same_bytes() -> None:
    base = simulate(MINIMAL, overrides=["duration_ms=2000"])
    same = simulate(MINIMAL, overrides=["duration_ms=2000", "workload.load_scale=1.0"])
    assert json.dumps(base.summary, sort_keys=True) == json.dumps(same.summary, sort_keys=True)
    assert "load_scale" not in base.summary["manifest"]["config"]["workload"]
    periodic = {"type": "periodic", "period_ms": 20.0}
    cfg = ["duration_ms=2000", f"workload.apps.camera.arrival={json.dumps(periodic)}"]
    one = simulate(MINIMAL, overrides=cfg).summary["overall"]["jobs_arrived"]
    four = simulate(MINIMAL, overrides=[*cfg, "workload.load_scale=4"]).summary
    assert one == 100 and four["overall"]["jobs_arrived"] == 400  # releases at 0, 5, 10, ... ms
    assert four["manifest"]["config"]["workload"]["load_scale"] == 4.0


# ----------------------------------------------------------------------------- figures


def test_sweep_lines_draw_the_mean_and_interval_per_policy() -> None:
    from matplotlib.figure import Figure

    from simsched.report.plots import sweep_lines

    res = pd.DataFrame({"policy": ["a"] * 4 + ["b"] * 4, "load": [1, 1, 2, 2] * 2, "seed": [1, 2] * 4,
                        "error": [""] * 7 + ["boom"], "m": [1.0, 3.0, 5.0, 7.0, 2.0, 2.0, 4.0, 99.0]})
    ax = sweep_lines(res, "m", "load", ax=Figure().subplots())
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert list(lines["sweep:a"].get_ydata()) == [2.0, 6.0]
    assert list(lines["sweep:b"].get_ydata()) == [2.0, 4.0]  # the failed row is left out
    band = next(c for c in ax.collections if c.get_gid() == "sweep-band:a")
    ys = band.get_paths()[0].vertices[:, 1]
    half = 12.706204736174707 * math.sqrt(2.0) / math.sqrt(2)  # t(0.975, 1) x sd / sqrt(n)
    assert min(ys) == pytest.approx(2.0 - half) and max(ys) == pytest.approx(6.0 + half)


def test_plot_on_a_sweep_directory(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    sweep(path, tmp_path / "o", jobs=1)
    code, _out, err = run_main(["plot", str(tmp_path / "o")])
    assert code == 0, err
    assert {p.name for p in (tmp_path / "o" / "plots").iterdir()} == {"sweep_workload_load_scale.png"}


def test_a_second_sweep_into_the_same_folder_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    from simsched.sweep.table import ResultsFile

    path = write_sweep(tmp_path, grid={"policy": ["fifo"]}, seeds=1)
    (tmp_path / "o").mkdir()
    held = ResultsFile(tmp_path / "o" / "results.csv", ["policy", "seed", "run_id", "error", *METRICS])
    try:
        code, _out, err = run_main(["sweep", str(path), "--out", str(tmp_path / "o")])
        assert code == 2 and "another sweep is writing" in err and len(err.splitlines()) == 1
    finally:
        held.release()
    code, _out, err = run_main(["sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert code == 0, err
