"""``simsched baseline`` / ``simsched check`` and simsched.regress: metrics, tolerances, statistics, errors.

The commands run in-process through :func:`simsched.cli.main`; the runs are the
documented minimal experiment (10 s, a Poisson camera stream on one core).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from simsched.api import simulate
from simsched.cli import main
from simsched.errors import ConfigError
from simsched.regress import (
    DIRECTIONS,
    HIGHER,
    JOB_METRICS,
    LLM_METRICS,
    LOWER,
    RUN_METRICS,
    Stat,
    Tolerances,
    assert_no_regression,
    baseline_json,
    check,
    direction,
    make_baseline,
    t975,
)
from tests.helpers import MINIMAL, minimal

SLOWER = "platform.models.detector.latency_ms.cpu0=9.0"
FASTER = "platform.models.detector.latency_ms.cpu0=7.0"


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """Call the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def config(latency_ms: float = 8.0, seed: int = 1, duration_ms: float = 10_000) -> dict[str, Any]:
    cfg = minimal()
    cfg["duration_ms"] = duration_ms
    cfg["seed"] = seed
    cfg["platform"]["models"]["detector"]["latency_ms"]["cpu0"] = latency_ms
    return cfg


def write_run(path: Path, **kw: Any) -> Path:
    return simulate(config(**kw)).write(path)


def write_sweep(path: Path, seeds: list[int], **kw: Any) -> Path:
    for s in seeds:
        write_run(path / f"seed{s}", seed=s, **kw)
    return path


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("regress")


@pytest.fixture(scope="module")
def base(tmp: Path) -> dict[str, Path]:
    """The minimal experiment run by the CLI as documented (8 ms, slower 9 ms, faster 7 ms) and its baseline."""
    paths = {}
    for name, extra in (("base", []), ("slow", ["--set", SLOWER]), ("fast", ["--set", FASTER])):
        paths[name] = tmp / name
        code, _, err = run_main(["run", str(MINIMAL), "--set", "duration_ms=10000", *extra, "--out", str(paths[name])])
        assert code == 0, err
    paths["baseline"] = tmp / "baseline.json"
    code, out, err = run_main(["baseline", str(paths["base"]), "-o", str(paths["baseline"])])
    assert code == 0, err
    assert "wrote" in out
    return paths


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


# ----------------------------------------------------------------------------- baseline


def test_baseline_is_canonical_json_with_the_runs_config_hash(base: dict[str, Path]) -> None:
    text = base["baseline"].read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == baseline_json(data)
    summary = json.loads((base["base"] / "summary.json").read_text())
    assert data["config_hash"] == summary["manifest"]["config_hash"]
    assert data["versions"] == summary["manifest"]["versions"]
    assert data["seeds"] == [1]
    fields = [*JOB_METRICS]  # no LLM app in the minimal experiment
    expected = {*RUN_METRICS, *(f"{s}.{f}" for s in ("overall", "apps.camera") for f in fields)}
    assert set(data["metrics"]) == expected
    for name, m in data["metrics"].items():
        assert m["better"] == direction(name)
        assert m["n"] == 1
        assert m["std"] is None
    assert data["metrics"]["overall.latency_p95_ms"]["mean"] == summary["overall"]["latency_p95_ms"]
    assert data["metrics"]["energy_mj"]["mean"] == summary["energy_mj"]


def test_baseline_without_output_prints_the_same_json(base: dict[str, Path]) -> None:
    code, out, err = run_main(["baseline", str(base["base"])])
    assert code == 0, err
    assert out == base["baseline"].read_text(encoding="utf-8")


def test_sweep_baseline_stores_mean_std_and_number_of_seeds(tmp: Path) -> None:
    sweep = write_sweep(tmp / "sweep3", [1, 2, 3], duration_ms=5000)
    code, _, err = run_main(["baseline", str(sweep), "-o", str(tmp / "sweep3.json")])
    assert code == 0, err
    data = json.loads((tmp / "sweep3.json").read_text())
    assert data["seeds"] == [1, 2, 3]
    values = [json.loads((sweep / f"seed{s}" / "summary.json").read_text())["overall"]["latency_p99_ms"] for s in (1, 2, 3)]
    m = data["metrics"]["overall.latency_p99_ms"]
    assert m["n"] == 3
    assert m["mean"] == pytest.approx(statistics.mean(values), rel=1e-12)
    assert m["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert m["std"] > 0


# ----------------------------------------------------------------------------- check: exit codes


def test_check_of_the_same_run_passes(base: dict[str, Path]) -> None:
    code, out, err = run_main(["check", str(base["base"]), "--baseline", str(base["baseline"])])
    assert code == 0, out + err
    assert "OK: no regression" in out
    assert "REGRESSED" not in out


def test_slower_profile_fails_and_names_the_metric(base: dict[str, Path]) -> None:
    code, out, _ = run_main(["check", str(base["slow"]), "--baseline", str(base["baseline"])])
    assert code == 1, out
    regressed = out.split("REGRESSED", 1)[1].split("\n\n", 1)[0]
    for name in ("overall.latency_mean_ms", "overall.latency_p99_ms", "apps.camera.latency_p95_ms", "energy_mj"):
        assert name in regressed
    assert "note: config differs from the baseline's in: platform.models.detector" in out
    assert "FAIL:" in out
    row = next(line for line in regressed.splitlines() if line.startswith("overall.latency_mean_ms"))
    assert "lower" in row and "+" in row and "%" in row  # direction and by how much


def test_faster_profile_passes_and_reports_the_improvement(base: dict[str, Path]) -> None:
    code, out, _ = run_main(["check", str(base["fast"]), "--baseline", str(base["baseline"])])
    assert code == 0, out
    improved = out.split("IMPROVED", 1)[1]
    assert "overall.latency_mean_ms" in improved
    assert "REGRESSED" not in out
    assert "improved" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("change", "part"),
    [({"duration_ms": 5000}, "duration_ms"), ({"rate_hz": 50}, "workload.apps.camera")],
)
def test_baseline_of_another_config_is_unusable(tmp: Path, base: dict[str, Path], change: dict, part: str) -> None:
    cfg = config(duration_ms=change.get("duration_ms", 10_000))
    if "rate_hz" in change:
        cfg["workload"]["apps"]["camera"]["arrival"]["rate_hz"] = change["rate_hz"]
    run = simulate(cfg).write(tmp / f"other-{part}")
    code, out, err = run_main(["check", str(run), "--baseline", str(base["baseline"])])
    assert code == 2, out
    line = one_line_error(err)
    assert "baseline is from a different config" in line
    assert part in line


def test_config_match_exact_and_any(base: dict[str, Path]) -> None:
    code, _, err = run_main(["check", str(base["slow"]), "--baseline", str(base["baseline"]), "--config-match", "exact"])
    assert code == 2
    assert "platform.models.detector" in one_line_error(err)
    code, _, err = run_main(["check", str(base["base"]), "--baseline", str(base["baseline"]), "--config-match", "exact"])
    assert code == 0, err


def _baseline_with(base: dict[str, Path], path: Path, edit: Any) -> Path:
    data = json.loads(base["baseline"].read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing baseline", "cannot read the baseline"),
        ("baseline not JSON", "not valid JSON"),
        ("baseline of another format", "format"),
        ("baseline without metrics", "metrics: missing or empty"),
        ("baseline metric the run lacks", "lacks 1 metric(s) of the baseline"),
        ("missing run directory", "no such run or sweep directory"),
        ("empty directory", "neither a run directory"),
        ("summary not JSON", "not valid JSON"),
        ("bad tolerance spec", "expected NAME=RTOL"),
        ("tolerance matching nothing", "matches no metric"),
        ("negative rtol", "--rtol"),
    ],
)
def test_unusable_input_exits_2_with_one_line(tmp: Path, base: dict[str, Path], case: str, needle: str) -> None:
    folder = tmp / "unusable" / case.replace(" ", "-")
    folder.mkdir(parents=True)
    run, baseline, extra = base["base"], base["baseline"], []
    if case == "missing baseline":
        baseline = folder / "nope.json"
    elif case == "baseline not JSON":
        baseline = folder / "b.json"
        baseline.write_text("{")
    elif case == "baseline of another format":
        baseline = _baseline_with(base, folder / "b.json", lambda d: d.update(format="other/9"))
    elif case == "baseline without metrics":
        baseline = _baseline_with(base, folder / "b.json", lambda d: d.update(metrics={}))
    elif case == "baseline metric the run lacks":
        baseline = _baseline_with(
            base, folder / "b.json",
            lambda d: d["metrics"].update({"apps.ghost.latency_mean_ms": {"better": "lower", "mean": 1.0, "std": None, "n": 1}}),
        )
    elif case == "missing run directory":
        run = folder / "nope"
    elif case == "empty directory":
        run = folder
    elif case == "summary not JSON":
        run = folder / "run"
        run.mkdir()
        (run / "summary.json").write_text("not json")
    elif case == "bad tolerance spec":
        extra = ["--metric-tolerance", "latency_p99_ms"]
    elif case == "tolerance matching nothing":
        extra = ["--metric-tolerance", "latency_p98_ms=0.1"]
    elif case == "negative rtol":
        extra = ["--rtol", "-0.1"]
    code, out, err = run_main(["check", str(run), "--baseline", str(baseline), *extra])
    assert code == 2, out + err
    assert needle in one_line_error(err)


def test_sweep_of_different_configs_or_repeated_seeds_is_unusable(tmp: Path) -> None:
    mixed = tmp / "mixed"
    write_run(mixed / "a", seed=1, duration_ms=2000)
    write_run(mixed / "b", seed=2, duration_ms=3000)
    code, _, err = run_main(["baseline", str(mixed)])
    assert code == 2
    assert "must share one config" in one_line_error(err)
    dup = tmp / "dup"
    write_run(dup / "a", seed=1, duration_ms=2000)
    write_run(dup / "b", seed=1, duration_ms=2000)
    code, _, err = run_main(["baseline", str(dup)])
    assert code == 2
    assert "seed 1 appears twice" in one_line_error(err)
    (tmp / "stray" / "notes").mkdir(parents=True)
    write_run(tmp / "stray" / "seed1", duration_ms=2000)
    code, _, err = run_main(["baseline", str(tmp / "stray")])
    assert code == 2
    assert "notes: not a run directory" in one_line_error(err)


# ----------------------------------------------------------------------------- tolerances and directions


def test_per_metric_tolerances(base: dict[str, Path]) -> None:
    args = ["check", str(base["slow"]), "--baseline", str(base["baseline"])]
    loose = ["--metric-tolerance", "latency_*=0.5", "--metric-tolerance", "energy_mj=0.1"]
    code, out, _ = run_main([*args, *loose])
    assert code == 0, out
    code, out, _ = run_main([*args, *loose, "--metric-tolerance", "overall.latency_p99_ms=0.01"])
    assert code == 1
    regressed = out.split("REGRESSED", 1)[1]
    assert "overall.latency_p99_ms" in regressed
    assert "apps.camera.latency_p99_ms" not in regressed


def test_tolerance_precedence() -> None:
    tol = Tolerances(0.02, 0.005, (("overall.latency_p99_ms", 0.3), ("latency_*", 0.1), ("apps.*", 0.2)))
    assert tol.rtol_for("overall.latency_p99_ms") == 0.3  # full name beats patterns, wherever it is
    assert tol.rtol_for("apps.camera.latency_p99_ms") == 0.2  # the last matching pattern
    assert tol.rtol_for("overall.latency_mean_ms") == 0.1  # a field glob
    assert tol.rtol_for("energy_mj") == 0.02
    assert tol.atol_for("overall.deadline_miss_rate") == 0.005
    assert tol.atol_for("overall.latency_mean_ms") == 0.0


def test_every_metric_has_a_direction() -> None:
    assert set(DIRECTIONS) == {*JOB_METRICS, *LLM_METRICS, *RUN_METRICS}
    higher = {name for name, d in DIRECTIONS.items() if d == HIGHER}
    assert higher == {"throughput_jobs_per_s", "tokens_per_s_mean"}
    assert all(DIRECTIONS[m] == LOWER for m in ("latency_p99_ms", "deadline_miss_rate", "drop_rate", "energy_mj", "ttft_p95_ms"))


@pytest.fixture(scope="module")
def summary(base: dict[str, Path]) -> dict[str, Any]:
    return json.loads((base["base"] / "summary.json").read_text())


def _edited(summary: dict[str, Any], **overall: Any) -> dict[str, Any]:
    s = copy.deepcopy(summary)
    s["overall"].update(overall)
    return s


def _status(summary: dict[str, Any], edited: dict[str, Any], metric: str, **kw: Any) -> str:
    report = check(edited, make_baseline(summary), **kw)
    return next(r.status for r in report.rows if r.metric == metric)


def test_zero_rate_baseline_uses_the_absolute_tolerance(summary: dict[str, Any]) -> None:
    assert summary["overall"]["deadline_miss_rate"] == 0.0
    m = "overall.deadline_miss_rate"
    assert _status(summary, _edited(summary, deadline_miss_rate=0.004), m) == "ok"
    assert _status(summary, _edited(summary, deadline_miss_rate=0.006), m) == "regressed"
    assert _status(summary, _edited(summary, deadline_miss_rate=0.004), m, rate_atol=0.0) == "regressed"
    assert _status(summary, _edited(summary, deadline_miss_rate=0.004), m, rtol=0.5, rate_atol=0.0) == "regressed"


def test_higher_is_better_metrics(summary: dict[str, Any]) -> None:
    m, tp = "overall.throughput_jobs_per_s", summary["overall"]["throughput_jobs_per_s"]
    assert _status(summary, _edited(summary, throughput_jobs_per_s=tp * 0.9), m) == "regressed"
    assert _status(summary, _edited(summary, throughput_jobs_per_s=tp * 1.1), m) == "improved"
    assert _status(summary, _edited(summary, throughput_jobs_per_s=tp * 0.99), m) == "ok"
    lat = summary["overall"]["latency_mean_ms"]
    assert _status(summary, _edited(summary, latency_mean_ms=lat * 0.9), "overall.latency_mean_ms") == "improved"


def test_undefined_metric_on_one_side_is_a_regression(summary: dict[str, Any]) -> None:
    report = check(_edited(summary, latency_p99_ms=None), make_baseline(summary))
    assert not report.ok
    assert [r.metric for r in report.regressed] == ["overall.latency_p99_ms"]


def test_new_metrics_are_listed_but_not_compared(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    s["apps"]["radar"] = copy.deepcopy(s["apps"]["camera"])
    report = check(s, make_baseline(summary))
    assert report.ok
    assert "apps.radar.latency_mean_ms" in report.new_metrics


# ----------------------------------------------------------------------------- statistical mode


def test_t_quantiles() -> None:
    assert t975(1) == pytest.approx(12.706205, abs=1e-6)
    assert t975(2) == pytest.approx(4.302653, abs=1e-6)
    assert t975(10) == pytest.approx(2.228139, abs=1e-6)
    assert t975(10**9) == pytest.approx(1.959964, abs=1e-6)
    for df in [*range(1, 41), 60, 100, 1000]:
        # P(0 < T < t975) = 0.475, by Simpson's rule on Student's density.
        c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
        t, n = t975(df), 2000
        h = t / n
        f = [c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(n + 1)]
        area = h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))
        assert area == pytest.approx(0.475, abs=2e-7), df


def test_confidence_interval() -> None:
    s = Stat.of([1.0, 2.0, None, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.half_width() == pytest.approx(4.302653 / math.sqrt(3))
    assert Stat.of([5.0]).interval() is None
    assert Stat.of([None]) == Stat(None, None, 0)


@pytest.fixture(scope="module")
def sweeps(tmp: Path) -> dict[str, Path]:
    """Baseline seeds 1-4 at 8 ms; runs with seeds 5-8 at 8.1 ms (small change) and 10 ms (large)."""
    out = {
        "base": write_sweep(tmp / "s-base", [1, 2, 3, 4]),
        "small": write_sweep(tmp / "s-small", [5, 6, 7, 8], latency_ms=8.1),
        "large": write_sweep(tmp / "s-large", [5, 6, 7, 8], latency_ms=10.0),
    }
    code, _, err = run_main(["baseline", str(out["base"]), "-o", str(tmp / "s-base.json")])
    assert code == 0, err
    out["baseline"] = tmp / "s-base.json"
    return out


def test_change_within_seed_noise_is_not_flagged(sweeps: dict[str, Path]) -> None:
    code, out, _ = run_main(["check", str(sweeps["small"]), "--baseline", str(sweeps["baseline"]), "--rtol", "0.001"])
    assert code == 0, out
    assert "statistical mode" in out
    noise = out.split("within seed noise", 1)[1]
    assert "overall.latency_mean_ms" in noise  # beyond the tolerance: only the intervals saved it
    # The same data judged on one seed per side (tolerance mode) is flagged, one way or the other.
    report = check(sweeps["small"] / "seed5", make_baseline(sweeps["base"] / "seed1"), rtol=0.001)
    assert not report.statistical
    assert "overall.latency_mean_ms" in [r.metric for r in report.regressed + report.improved]


def test_large_change_is_flagged_in_statistical_mode(sweeps: dict[str, Path]) -> None:
    code, out, _ = run_main(["check", str(sweeps["large"]), "--baseline", str(sweeps["baseline"])])
    assert code == 1, out
    assert "statistical mode" in out
    regressed = out.split("REGRESSED", 1)[1].split("\n\n", 1)[0]
    assert "overall.latency_mean_ms" in regressed
    assert "±" in regressed  # the interval half-widths are shown


# ----------------------------------------------------------------------------- library helpers


def test_assert_no_regression(tmp: Path, base: dict[str, Path]) -> None:
    assert assert_no_regression(simulate(config()), base["baseline"]).ok
    assert assert_no_regression(base["fast"], base["baseline"], rtol=0.02).improved
    with pytest.raises(AssertionError, match=r"overall\.latency_mean_ms"):
        assert_no_regression(simulate(config(latency_ms=9.0)), base["baseline"])
    with pytest.raises(ConfigError, match="different config"):
        assert_no_regression(simulate(config(duration_ms=4000)), base["baseline"])


def test_trace_file_experiment_checked_from_another_location(tmp: Path) -> None:
    dirs = []
    for where in ("here", "elsewhere/deeper"):
        folder = tmp / "trace" / where
        folder.mkdir(parents=True)
        (folder / "times.csv").write_text("10\n20\n30\n")
        cfg = config(duration_ms=100)
        cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": "times.csv"}
        (folder / "experiment.yaml").write_text(yaml.safe_dump(cfg))
        dirs.append(simulate(folder / "experiment.yaml").write(folder / "run"))
    baseline = make_baseline(dirs[0])
    report = check(dirs[1], baseline, config_match="exact")
    assert report.ok
    assert not report.regressed and not report.improved and not report.notes


def test_names_and_citations_are_not_config_changes(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    cfg = s["manifest"]["config"]
    cfg["name"] = "renamed"
    cfg["platform"]["processors"]["cpu0"]["source"] = "a new citation"
    s["manifest"]["config_hash"] = "0" * 64
    report = check(s, make_baseline(summary))
    assert report.ok
    assert report.notes == ["config differs from the baseline's in: metadata only (names, descriptions, citations, limits)"]
    cfg["platform"]["processors"]["cpu0"]["idle_w"] = 0.06
    with pytest.raises(ConfigError, match=r"platform\.processors\.cpu0"):
        check(s, make_baseline(summary))
