"""``simsched compare``: tidy runs, statistics across seeds, determinism, bad input; stats and progress helpers."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import pandas as pd
import pytest

from simsched.cli import main
from simsched.commands.compare import KEY_METRICS, format_table, parse_seeds
from simsched.errors import ConfigError
from simsched.report.progress import Progress
from simsched.report.stats import mean_ci, relative_change, summarize_runs, t_quantile
from simsched.sweep import compare, flatten, policy_override
from tests.helpers import MINIMAL

# A second, faster processor: fifo keeps the detector on cpu0, affinity moves it to gpu0.
GPU = [
    "--set", "platform.processors.gpu0={kind: gpu, domain: little, capacity: 1, idle_w: 0.1, busy_w: 2.0}",
    "--set", "platform.models.detector.latency_ms={cpu0: 8.0, gpu0: 5.0}",
]
SETS = [GPU[1], GPU[3]]
POLICIES = ["fifo", "affinity"]
SEEDS = [1, 2, 3]


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, str]]:
    """The same comparison with one and with two worker processes."""
    res = {}
    for jobs in (1, 2):
        out = tmp_path_factory.mktemp(f"cmp{jobs}") / "out"
        code, stdout, err = run_main(["compare", str(MINIMAL), "--policies", "fifo,affinity", "--seeds", "3",
                                      "--out", str(out), "--jobs", str(jobs), *GPU])
        assert code == 0, err
        res[jobs] = (out, stdout)
    return res


# ----------------------------------------------------------------------------- the command


def test_runs_csv_one_row_per_policy_and_seed(outputs) -> None:
    runs = pd.read_csv(outputs[1][0] / "runs.csv")
    assert len(runs) == len(POLICIES) * len(SEEDS)
    assert list(zip(runs["policy"], runs["seed"], strict=True)) == [(p, s) for p in POLICIES for s in SEEDS]
    for col in ("latency_mean_ms", "deadline_miss_rate", "energy_mj", "avg_power_w", "utilization.cpu0",
                "utilization.gpu0", "apps.camera.latency_p95_ms"):
        assert col in runs, col
    # fifo runs on cpu0 only, affinity on gpu0 only
    assert (runs.loc[runs["policy"] == "fifo", "utilization.gpu0"] == 0).all()
    assert (runs.loc[runs["policy"] == "affinity", "utilization.cpu0"] == 0).all()
    # different seeds give different runs
    assert runs.loc[runs["policy"] == "fifo", "jobs_arrived"].nunique() == 3


def test_results_do_not_depend_on_the_number_of_workers(outputs) -> None:
    (one, out1), (two, out2) = outputs[1], outputs[2]
    assert (one / "runs.csv").read_bytes() == (two / "runs.csv").read_bytes()
    assert (one / "summary.csv").read_bytes() == (two / "summary.csv").read_bytes()
    assert out1 == out2


def test_summary_csv_mean_and_ci_across_seeds(outputs) -> None:
    out = outputs[1][0]
    runs = pd.read_csv(out / "runs.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["policy", "metric", "n", "mean", "std", "ci_low", "ci_high", "ci_half", "rel_change"]
    n_metrics = len(runs.columns) - 2
    assert len(summary) == len(POLICIES) * n_metrics
    row = summary[(summary["policy"] == "affinity") & (summary["metric"] == "latency_mean_ms")].iloc[0]
    x = runs.loc[runs["policy"] == "affinity", "latency_mean_ms"]
    half = 4.302652729911275 * x.std(ddof=1) / math.sqrt(3)  # t(0.975, 2 df)
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(x.mean())
    assert row["ci_half"] == pytest.approx(half)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((x.mean() - half, x.mean() + half))


def test_relative_change_is_zero_for_the_baseline(outputs) -> None:
    summary = pd.read_csv(outputs[1][0] / "summary.csv")
    base = summary[(summary["policy"] == "fifo") & summary["mean"].notna()]
    assert (base["rel_change"] == 0).all()
    other = summary[summary["policy"] == "affinity"].set_index("metric")
    fifo = base.set_index("metric")
    m = "latency_mean_ms"
    assert other.loc[m, "rel_change"] == pytest.approx((other.loc[m, "mean"] - fifo.loc[m, "mean"]) / fifo.loc[m, "mean"])
    assert other.loc[m, "rel_change"] < -0.2  # the faster processor


def test_printed_table_has_a_row_per_key_metric_and_a_column_per_policy(outputs) -> None:
    stdout = outputs[1][1]
    lines = stdout.splitlines()
    header = lines[0].split()
    assert header == ["metric", "fifo", "(baseline)", "affinity"]
    body = lines[2: lines.index("")]
    labels = {label for _m, label, _s, _d in KEY_METRICS}
    assert [ln for ln in body if not any(ln.startswith(lb) for lb in labels)] == []
    assert any(ln.startswith("latency p99 (ms)") for ln in body)
    assert not any(ln.startswith("TTFT") for ln in body)  # no LLM app in the minimal experiment
    for ln in body:
        assert ln.count("±") == 2  # mean ± half-width for both policies
        assert ln.rstrip().endswith("%)")  # the change of affinity against fifo
    assert "95% CI" in stdout and "seeds 1..3" in stdout


def test_comparison_table_shape_and_ci_columns() -> None:
    comp = compare(str(MINIMAL), POLICIES, SEEDS, overrides=SETS, baseline="affinity")
    table = comp.table()
    metrics = comp.key_metrics()
    assert "ttft_mean_ms" not in metrics and "latency_p95_ms" in metrics
    assert table.shape == (len(POLICIES), len(metrics) * 5)
    assert list(table.index) == POLICIES
    assert set(table.columns.get_level_values("field")) == {"mean", "ci_low", "ci_high", "ci_half", "rel_change"}
    for m in metrics:
        assert table.loc["affinity", (m, "rel_change")] == 0.0  # --baseline affinity
        lo, mean, hi = (table.loc["fifo", (m, f)] for f in ("ci_low", "mean", "ci_high"))
        assert lo <= mean <= hi
    assert "affinity (baseline)" in format_table(comp).splitlines()[0]


def test_seed_list(tmp_path: Path) -> None:
    code, _out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo", "--seed-list", "3,5,9",
                                "--out", str(tmp_path / "o"), "--set", "duration_ms=2000"])
    assert code == 0, err
    assert pd.read_csv(tmp_path / "o" / "runs.csv")["seed"].tolist() == [3, 5, 9]


def test_plots_and_traces(tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, _out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo,affinity", "--seeds", "1", "--out", str(out),
                                "--plots", "--trace", *GPU, "--set", "duration_ms=2000"])
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    for stem in ("latency_cdf", "miss_drop_rates", "energy_vs_latency", "gantt_fifo", "gantt_affinity", "power_fifo", "power_affinity"):
        assert f"{stem}.png" in names and f"{stem}.svg" not in names, stem
    assert "llm.png" not in names  # no LLM requests
    code, _out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo", "--seeds", "1", "--out", str(tmp_path / "s"),
                                "--plots", "--svg", *GPU, "--set", "duration_ms=500"])
    assert code == 0, err
    assert (tmp_path / "s" / "latency_cdf.svg").exists()
    assert {"trace_fifo.json", "trace_affinity.json", "runs.csv", "summary.csv"} <= names


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policies", "fifo,nosuchpolicy"], "unknown policy 'nosuchpolicy'"),
        (["--policies", "fifo", "--seeds", "0"], "at least 1 seed"),
        (["--policies", "fifo", "--seeds", "three"], "expected a number of seeds"),
        (["--policies", "fifo", "--seed-list", "1,x"], "comma-separated integers"),
        (["--policies", "fifo", "--seed-list", "1,1"], "listed twice"),
        (["--policies", "fifo", "--seeds", "2", "--seed-list", "1"], "not both"),
        (["--policies", "fifo,fifo"], "listed twice"),
        (["--policies", "fifo", "--baseline", "affinity"], "not one of the compared policies"),
        (["--policies", "fifo", "--plots"], "--out"),
        (["--policies", "fifo", "--jobs", "0"], "at least 1 worker"),
        (["--policies", "fifo", "--set", "duration_ms=-1"], "duration_ms"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], fragment: str, tmp_path: Path) -> None:
    code, stdout, err = run_main(["compare", str(MINIMAL), *args])
    assert code == 2, err
    assert stdout == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert fragment in err


def test_existing_out_needs_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    code, _out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo", "--seeds", "1", "--out", str(tmp_path)])
    assert code == 2 and "--force" in err


# ----------------------------------------------------------------------------- helpers


def test_policy_override_keeps_the_governor_and_drops_foreign_params() -> None:
    assert policy_override({"name": "fifo", "params": {"a": 1}, "governor": None}, "fifo") is None
    assert policy_override({"name": "x", "params": {"a": 1}, "governor": "powersave"}, "fifo") == \
        'policy={"governor": "powersave", "name": "fifo"}'
    assert policy_override({"name": "x", "params": {}, "governor": None}, "fifo") == 'policy={"name": "fifo"}'


def test_flatten_names_the_columns() -> None:
    row = flatten({"overall": {"latency_mean_ms": 1.0}, "energy_mj": 5.0, "utilization": {"cpu": 0.5},
                   "apps": {"b": {"drop_rate": 0.1}, "a": {"drop_rate": 0.2}}, "manifest": {}})
    assert row == {"latency_mean_ms": 1.0, "energy_mj": 5.0, "utilization.cpu": 0.5, "apps.a.drop_rate": 0.2, "apps.b.drop_rate": 0.1}


def test_parse_seeds() -> None:
    assert parse_seeds("4", None) == [1, 2, 3, 4]
    assert parse_seeds(None, "3,5,9") == [3, 5, 9]
    assert len(parse_seeds(None, None)) >= 2
    with pytest.raises(ConfigError):
        parse_seeds("-1", None)


@pytest.mark.parametrize(
    ("df", "expected"),  # two-sided 95% critical values from standard tables
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (9, 2.262), (19, 2.093), (29, 2.045), (120, 1.980), (math.inf, 1.960)],
)
def test_t_quantile_matches_the_table(df: float, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_symmetry_and_other_levels() -> None:
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.025, 7) == pytest.approx(-t_quantile(0.975, 7))
    assert t_quantile(0.995, 10) == pytest.approx(3.169, abs=5e-4)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_mean_ci() -> None:
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert ci.mean == 2.5 and ci.n == 4
    assert ci.half == pytest.approx(3.182446305284263 * 1.2909944487358056 / 2)
    assert (ci.low, ci.high) == pytest.approx((2.5 - ci.half, 2.5 + ci.half))
    one = mean_ci([5.0, None, float("nan")])
    assert one.mean == 5.0 and one.n == 1 and math.isnan(one.half)
    assert math.isnan(mean_ci([]).mean)
    assert mean_ci([2.0, 2.0, 2.0]).half == 0.0


def test_relative_change_and_summary_baseline() -> None:
    assert relative_change(1.5, 1.0) == pytest.approx(0.5)
    assert relative_change(0.0, 0.0) == 0.0
    assert math.isnan(relative_change(1.0, 0.0))
    runs = pd.DataFrame({"policy": ["a", "a", "b", "b"], "seed": [1, 2, 1, 2], "x": [1.0, 3.0, 4.0, 4.0], "y": [None] * 4})
    s = summarize_runs(runs, baseline="b").set_index(["policy", "metric"])
    assert s.loc[("b", "x"), "rel_change"] == 0.0
    assert s.loc[("a", "x"), "rel_change"] == pytest.approx(-0.5)
    assert s.loc[("a", "y"), "n"] == 0 and math.isnan(s.loc[("a", "y"), "rel_change"])


def test_progress_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    with Progress(total=3, stream=io.StringIO()) as bar:  # not a terminal: silent no-op
        bar.update(1, note="fifo seed 1")
        assert bar.disable
    stream = Tty()
    with Progress(total=3, desc="compare", stream=stream) as bar:
        bar.update(1, note="fifo seed 1")
        assert not bar.disable and bar.n == 1
    assert "compare" in stream.getvalue()


def test_progress_redraws_at_most_every_interval() -> None:
    stream = io.StringIO()
    bar = Progress(total=10_000, desc="runs", enabled=True, min_interval_s=60.0, stream=stream)
    for _ in range(9_999):
        bar.update(1, note="fifo seed 1")
    assert bar.n == 9_999
    assert stream.getvalue().count("runs") <= 2  # drawn once at the start, not per update
    bar.update(1)
    assert bar.n == 10_000
    bar.close()
    assert "runs" in stream.getvalue()
