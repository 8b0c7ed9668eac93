"""``compare``: paired changes against the baseline (checked by hand), Welch when seeds differ,
failed runs kept, governors refused on policies that set frequencies, sequential stopping."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import pandas as pd
import pytest

import simsched.sweep.comparison as cmp
from simsched.cli import main
from simsched.errors import ConfigError
from simsched.report.stats import mean_interval, paired_interval, t_quantile, welch_interval
from simsched.sweep import compare, paired_changes, policy_override
from simsched.sweep.runs import RunOutput, RunSpec, run_one
from tests.helpers import MINIMAL

GPU = [
    "platform.processors.gpu0={kind: gpu, domain: little, capacity: 1, idle_w: 0.1, busy_w: 2.0}",
    "platform.models.detector.latency_ms={cpu0: 8.0, gpu0: 5.0}",
    "duration_ms=1500",
]


def t_cdf(t: float, df: float, steps: int = 20000) -> float:
    """Student's t CDF by Simpson integration of its density: an oracle independent of scipy."""
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    x = abs(t)
    h = x / steps
    f = [c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(steps + 1)]
    area = h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))
    return 0.5 + area if t >= 0 else 0.5 - area


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- the intervals by hand


def test_paired_interval_by_hand() -> None:
    a = [10.0, 12.0, 11.0, 13.0, 9.0]
    b = [10.5, 13.0, 12.5, 15.0, 11.5]  # differences 0.5, 1.0, 1.5, 2.0, 2.5
    iv = paired_interval(a, b)
    # mean 1.5; sd = sqrt(sum((d - 1.5)^2) / 4) = sqrt(2.5 / 4); t(0.975, 4) = 2.776445 (tables)
    sd = math.sqrt(2.5 / 4)
    assert iv.mean == pytest.approx(1.5)
    assert iv.half_width == pytest.approx(2.7764451 * sd / math.sqrt(5), rel=1e-6)
    t = 1.5 / (sd / math.sqrt(5))  # 4.2426
    assert iv.p_value == pytest.approx(2 * (1 - t_cdf(t, 4)), rel=1e-9)  # the in-house t CDF, independent of scipy
    assert iv.p_value == pytest.approx(0.01324, abs=5e-5)
    assert (iv.n, iv.method) == (5, "paired-t")


def test_welch_and_mean_intervals_by_hand() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    iv = welch_interval(a, b)
    va, vb = (1.6666666666666667 / 4), (4.0 / 3)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    assert iv.mean == pytest.approx(1.5)
    assert iv.half_width == pytest.approx(t_quantile(0.975, df) * math.sqrt(va + vb), rel=1e-9)
    assert iv.p_value == pytest.approx(2 * (1 - t_cdf(1.5 / math.sqrt(va + vb), df)), rel=1e-9)
    assert (iv.n, iv.method) == (7, "welch-t")
    m = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert m.mean == 2.5 and m.half_width == pytest.approx(3.182446305 * math.sqrt(1.6666666666666667) / 2)
    assert math.isnan(m.p_value) and m.method == "t"


def test_paired_interval_edge_cases() -> None:
    assert paired_interval([1.0, 2.0], [2.0, 3.0]).half_width == 0.0  # constant difference
    assert paired_interval([1.0, 2.0], [2.0, 3.0]).p_value == 0.0
    assert paired_interval([1.0, None, 3.0], [2.0, 5.0, 4.0]).n == 2  # a missing value drops its pair
    assert math.isnan(paired_interval([1.0], [2.0]).half_width)
    with pytest.raises(ValueError):
        paired_interval([1.0], [1.0, 2.0])


def test_paired_changes_of_a_runs_table_by_hand() -> None:
    runs = pd.DataFrame({"policy": ["a"] * 3 + ["b"] * 3, "seed": [1, 2, 3, 3, 2, 1],  # b listed in another order
                         "x": [10.0, 20.0, 30.0, 33.0, 21.0, 12.0]})
    ch = paired_changes(runs, "a").set_index(["policy", "metric"]).loc[("b", "x")]
    d = [2.0, 1.0, 3.0]  # per seed 1, 2, 3
    sd = math.sqrt(sum((v - 2.0) ** 2 for v in d) / 2)
    assert ch["method"] == "paired-t" and ch["n"] == 3
    assert ch["diff"] == pytest.approx(2.0)
    assert ch["ci_half"] == pytest.approx(4.302652729911275 * sd / math.sqrt(3))
    assert ch["rel_change"] == pytest.approx(2.0 / 20.0)
    assert ch["rel_ci_half"] == pytest.approx(ch["ci_half"] / 20.0)
    unshared = runs.assign(seed=[1, 2, 3, 4, 5, 6])
    assert paired_changes(unshared, "a").iloc[0]["method"] == "welch-t"


# ----------------------------------------------------------------------------- compare


def test_compare_changes_are_the_paired_interval_of_its_runs(tmp_path: Path) -> None:
    comp = compare(str(MINIMAL), ["fifo", "affinity"], [1, 2, 3, 4], overrides=GPU)
    runs = comp.runs
    a = runs[runs["policy"] == "fifo"].set_index("seed")["latency_mean_ms"]
    b = runs[runs["policy"] == "affinity"].set_index("seed")["latency_mean_ms"]
    d = (b - a).to_numpy()
    sd = float(d.std(ddof=1))
    ch = comp.changes.set_index(["policy", "metric"]).loc[("affinity", "latency_mean_ms")]
    assert ch["diff"] == pytest.approx(d.mean())
    assert ch["ci_half"] == pytest.approx(3.182446305284263 * sd / 2.0)  # t(0.975, 3), n = 4
    assert ch["p_value"] == pytest.approx(2 * (1 - t_cdf(abs(d.mean()) / (sd / 2.0), 3)), rel=1e-6)
    assert comp.paired


def test_compare_prints_the_changes_and_writes_changes_csv(tmp_path: Path) -> None:
    code, out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo,affinity", "--seeds", "3",
                               "--out", str(tmp_path / "o"), *[x for s in GPU for x in ("--set", s)]])
    assert code == 0, err
    assert "change vs fifo" in out and "paired-t" in out and "p=" in out
    ch = pd.read_csv(tmp_path / "o" / "changes.csv")
    assert list(ch.columns) == list(cmp.CHANGE_COLUMNS)
    assert set(ch["policy"]) == {"affinity"}


def test_a_failed_run_keeps_the_others_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cmp.execute

    def failing_seed_2(specs, on_done, ex, **kw):
        def fn(spec: RunSpec) -> RunOutput:
            if spec.seed == 2 and "affinity" in "".join(spec.overrides):
                return RunOutput(spec.index, error=("run", "", "", "policy blew up"))
            return run_one(spec)

        return real(specs, on_done, None, fn=fn)

    monkeypatch.setattr(cmp, "execute", failing_seed_2)
    code, out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo,affinity", "--seeds", "3",
                               "--out", str(tmp_path / "o"), *[x for s in GPU for x in ("--set", s)]])
    assert code == 1
    assert "failed: policy affinity, seed 2: policy blew up" in err
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert list(zip(runs["policy"], runs["seed"], strict=True)) == [("fifo", 1), ("fifo", 2), ("fifo", 3), ("affinity", 1), ("affinity", 3)]
    assert "latency mean" in out
    assert "Welch" in out  # the seeds are no longer shared


def test_a_governor_on_a_policy_that_sets_frequencies_is_refused() -> None:
    with pytest.raises(ConfigError, match="sets frequencies itself"):
        policy_override({"name": "fifo"}, "twill+powersave")
    assert policy_override({"name": "fifo"}, "affinity+powersave") == 'policy={"governor": "powersave", "name": "affinity"}'
    code, out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo,twill+powersave", "--seeds", "1"])
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "twill+powersave" in err


def test_until_ci_adds_seeds_until_the_intervals_are_narrow() -> None:
    comp = compare(str(MINIMAL), ["fifo", "affinity"], [1, 2], overrides=GPU, until_ci=0.02, max_seeds=8)
    assert set(comp.seeds_needed) == {"fifo", "affinity"}
    for p, n in comp.seeds_needed.items():
        assert 2 <= n <= 8
        assert len(comp.runs[comp.runs["policy"] == p]) == n
        if n < 8:  # stopped early: every key metric's interval within 2% of its mean
            for m in comp.key_metrics():
                ci = mean_interval(comp.runs.loc[comp.runs["policy"] == p, m].tolist())
                assert ci.half_width <= 0.02 * abs(ci.mean) or ci.half_width == 0
    assert max(comp.seeds_needed.values()) > 2  # two seeds are not enough at 2%


def test_until_ci_on_the_command_line_reports_the_seeds_needed() -> None:
    code, out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo", "--seeds", "2", "--until-ci", "0.05",
                               "--max-seeds", "4", *[x for s in GPU for x in ("--set", s)]])
    assert code == 0, err
    assert "seeds needed for every key metric's CI within 5% of its mean: fifo " in out
    code, _out, err = run_main(["compare", str(MINIMAL), "--policies", "fifo", "--until-ci", "-1"])
    assert code == 2 and "--until-ci" in err
