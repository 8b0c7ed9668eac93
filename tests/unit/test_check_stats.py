"""``check``'s statistics and baseline safety: paired and Welch intervals, corrupt baselines, output files.

The intervals are checked against hand computations (t quantiles from tables);
the check against five shared seeds of the minimal experiment with a 5 % slower
detector; corrupt baselines against the one-line error contract.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import stat
from pathlib import Path

import pytest

from simsched.cli import main
from simsched.errors import ConfigError
from simsched.regress import baseline_json, check, make_baseline, read_baseline, write_baseline
from simsched.report.stats import (
    detectable_effect,
    mean_interval,
    paired_interval,
    welch_from_stats,
    welch_interval,
)
from tests.helpers import MINIMAL, ROOT

SEEDS = (1, 2, 3, 4, 5)
SLOWER_5PCT = "platform.models.detector.latency_ms.cpu0=8.4"  # 8 ms -> 8.4 ms


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- intervals by hand


def test_paired_interval_by_hand() -> None:
    a = [10.0, 12.0, 11.0, 13.0]
    b = [11.0, 13.5, 11.5, 14.0]
    # d = 1, 1.5, 0.5, 1; mean 1; s_d^2 = (0 + .25 + .25 + 0) / 3 = 1/6; t(0.975, 3) = 3.182446
    iv = paired_interval(a, b)
    assert iv.method == "paired-t" and iv.n == 4
    assert iv.mean == pytest.approx(1.0)
    se = math.sqrt(1 / 6) / 2
    assert iv.half_width == pytest.approx(3.182446 * se, rel=1e-6)
    # t = 1 / se on 3 df; Student's t with 3 df has a closed-form CDF:
    # F(t) = 1/2 + (x / (1 + x^2) + atan(x)) / pi with x = t / sqrt(3).
    x = (1.0 / se) / math.sqrt(3.0)
    p = 2.0 * (1.0 - (0.5 + (x / (1 + x * x) + math.atan(x)) / math.pi))
    assert iv.p_value == pytest.approx(p, rel=1e-9)
    assert iv.excludes_zero()


def test_paired_interval_skips_missing_pairs_and_handles_no_spread() -> None:
    iv = paired_interval([1.0, None, 3.0, 4.0], [2.0, 5.0, float("nan"), 5.0])  # type: ignore[list-item]
    assert iv.n == 2 and iv.mean == 1.0 and iv.half_width == 0.0 and iv.p_value == 0.0
    same = paired_interval([1.0, 2.0], [1.0, 2.0])
    assert same.mean == 0.0 and same.p_value == 1.0 and not same.excludes_zero()
    assert math.isnan(paired_interval([1.0], [2.0]).half_width)
    with pytest.raises(ValueError):
        paired_interval([1.0, 2.0], [1.0])


def test_welch_interval_by_hand() -> None:
    a = [1.0, 2.0, 3.0]  # mean 2, var 1
    b = [2.0, 4.0, 6.0, 8.0]  # mean 5, var 20/3
    iv = welch_interval(a, b)
    va, vb = 1 / 3, (20 / 3) / 4
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)  # Welch-Satterthwaite: 4 / (1/18 + 25/27) = 216/53
    assert df == pytest.approx(216 / 53)
    assert iv.method == "welch-t" and iv.n == 7
    assert iv.mean == pytest.approx(3.0)
    # t(0.975, df) lies between the table values for 5 and 4 degrees of freedom ...
    assert 2.570582 < iv.half_width / se < 2.776445
    # ... and agrees with scipy's own Welch test and its interval.
    from scipy import stats

    ref = stats.ttest_ind(b, a, equal_var=False)
    assert iv.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = ref.confidence_interval(0.95)
    assert (iv.low, iv.high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
    assert welch_from_stats(2.0, 1.0, 3, 5.0, math.sqrt(20 / 3), 4) == iv


def test_mean_interval_by_hand() -> None:
    iv = mean_interval([1.0, 2.0, 3.0, 4.0])
    # s = 1.290994, t(0.975, 3) = 3.182446
    assert iv.mean == 2.5 and iv.n == 4 and iv.method == "t" and math.isnan(iv.p_value)
    assert iv.half_width == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-6)
    assert mean_interval([1.0, 3.0], level=0.99).half_width == pytest.approx(63.656741 * math.sqrt(2) / math.sqrt(2), rel=1e-6)


def test_detectable_effect_matches_a_simulation_of_the_test() -> None:
    # Power of the paired t-test at the detectable effect, estimated by simulation, is 0.8.
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(7)
    n, effect = 5, detectable_effect(5)
    d = rng.normal(effect, 1.0, size=(40_000, n))
    p = stats.ttest_1samp(d, 0.0, axis=1).pvalue
    assert (p < 0.05).mean() == pytest.approx(0.8, abs=0.01)
    assert detectable_effect(10) < detectable_effect(5) < detectable_effect(3)


def test_docs_ci_states_the_detectable_effects() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| ([\d.]+) \| ([\d.]+) \|$", text, flags=re.M)
    assert [int(n) for n, *_ in rows] == [3, 5, 10], "docs/ci.md: the detectable-effect table lists 3, 5 and 10 seeds"
    for n, paired, welch in rows:
        assert float(paired) == pytest.approx(detectable_effect(int(n)), abs=0.005), n
        assert float(welch) == pytest.approx(detectable_effect(int(n), paired=False), abs=0.005), n


# ----------------------------------------------------------------------------- check on shared seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("paired")
    out = {}
    for name, extra in (("base", []), ("same", []), ("slow", ["--set", SLOWER_5PCT])):
        for s in SEEDS:
            code, _, err = run_main(["run", str(MINIMAL), "--seed", str(s), "--set", "duration_ms=10000", *extra,
                                     "--out", str(tmp / name / f"seed{s}")])
            assert code == 0, err
        out[name] = tmp / name
    out["baseline"] = tmp / "baseline.json"
    code, _, err = run_main(["baseline", str(out["base"]), "-o", str(out["baseline"])])
    assert code == 0, err
    return out


def test_check_flags_a_consistent_5pct_regression_on_shared_seeds(seeds: dict[str, Path]) -> None:
    report = check(seeds["slow"], seeds["baseline"])
    row = next(r for r in report.rows if r.metric == "overall.latency_mean_ms")
    assert row.interval is not None and row.interval.method == "paired-t" and row.interval.n == 5
    assert row.status == "regressed"
    assert row.interval.low > 0  # every seed got slower: the paired interval is clear of zero
    code, out, _ = run_main(["check", str(seeds["slow"]), "--baseline", str(seeds["baseline"])])
    assert code == 1
    assert "paired on 5 shared seeds" in out
    assert "overall.latency_mean_ms" in out.split("REGRESSED", 1)[1]


def test_check_passes_an_unchanged_run_on_shared_seeds(seeds: dict[str, Path]) -> None:
    code, out, _ = run_main(["check", str(seeds["same"]), "--baseline", str(seeds["baseline"])])
    assert code == 0, out
    assert "OK: no regression" in out


def test_old_baseline_without_per_seed_values_falls_back_to_welch(seeds: dict[str, Path], tmp_path: Path) -> None:
    data = json.loads(seeds["baseline"].read_text(encoding="utf-8"))
    for m in data["metrics"].values():
        del m["values"]
    old = tmp_path / "old.json"
    old.write_text(baseline_json(data), encoding="utf-8")
    report = check(seeds["slow"], old)
    row = next(r for r in report.rows if r.metric == "overall.latency_mean_ms")
    assert row.interval is not None and row.interval.method == "welch-t"
    assert report.method == "welch-t"


def test_overlap_rule_stays_available(seeds: dict[str, Path]) -> None:
    report = check(seeds["slow"], seeds["baseline"], test="overlap")
    assert report.method == "overlap"
    assert all(r.interval is None for r in report.rows)


# ----------------------------------------------------------------------------- corrupt baselines


def _corrupt(src: Path, dst: Path, text_edit) -> Path:  # type: ignore[no-untyped-def]
    dst.write_text(text_edit(src.read_text(encoding="utf-8")), encoding="utf-8")
    return dst


def _set(field: str, value: str):  # type: ignore[no-untyped-def]
    """Replace ``"field": <number>`` of overall.latency_mean_ms with ``value`` (raw JSON text)."""
    def edit(text: str) -> str:
        data = json.loads(text)
        data["metrics"]["overall.latency_mean_ms"][field] = "@@"
        data["metrics"]["overall.latency_mean_ms"].pop("values", None)
        return json.dumps(data).replace('"@@"', value)
    return edit


@pytest.mark.parametrize(
    ("case", "edit", "needle"),
    [
        ("NaN mean", _set("mean", "NaN"), "metrics.overall.latency_mean_ms.mean"),
        ("infinite mean", _set("mean", "Infinity"), "metrics.overall.latency_mean_ms.mean"),
        ("negative std", _set("std", "-1.0"), "negative"),
        ("absurd std", _set("std", "1e300"), "exceeds"),
        ("infinite std", _set("std", "Infinity"), "metrics.overall.latency_mean_ms.std"),
        ("unknown metric", lambda t: t.replace("overall.latency_mean_ms", "overall.latency_mean_s"), "unknown metric"),
    ],
)
def test_corrupt_baseline_is_rejected_with_one_line(seeds: dict[str, Path], tmp_path: Path, case: str, edit, needle: str) -> None:  # type: ignore[no-untyped-def]
    bad = _corrupt(seeds["baseline"], tmp_path / "bad.json", edit)
    code, out, err = run_main(["check", str(seeds["same"]), "--baseline", str(bad)])
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: "), err
    assert needle in lines[0]


def test_corrupt_baseline_cannot_pass_a_large_regression(tmp_path: Path) -> None:
    # One seed, detector 8 -> 16 ms: mean latency far more than doubles. A baseline
    # whose mean is NaN or whose spread is absurd must not turn that into "OK".
    base, slow = tmp_path / "base", tmp_path / "slow"
    for d, extra in ((base, []), (slow, ["--set", "platform.models.detector.latency_ms.cpu0=16"])):
        code, _, err = run_main(["run", str(MINIMAL), "--set", "duration_ms=5000", *extra, "--out", str(d)])
        assert code == 0, err
    good = make_baseline(base)
    report = check(slow, good)
    row = next(r for r in report.rows if r.metric == "overall.latency_mean_ms")
    assert row.status == "regressed" and row.delta / row.base.mean > 1.0  # type: ignore[operator]
    for field, value in (("mean", float("nan")), ("std", float("inf")), ("std", 1e12), ("std", -5.0)):
        bad = json.loads(json.dumps(good))
        bad["metrics"]["overall.latency_mean_ms"][field] = value
        with pytest.raises(ConfigError):
            check(slow, bad)


def test_nan_in_a_runs_metrics_is_an_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = run_main(["run", str(MINIMAL), "--set", "duration_ms=2000", "--out", str(run)])
    assert code == 0, err
    baseline = make_baseline(run)
    text = (run / "summary.json").read_text(encoding="utf-8")
    summary = json.loads(text)
    summary["overall"]["latency_mean_ms"] = "@@"
    (run / "summary.json").write_text(json.dumps(summary).replace('"@@"', "NaN"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"overall\.latency_mean_ms: nan is not a finite number"):
        check(run, baseline)


# ----------------------------------------------------------------------------- baseline -o


def test_baseline_output_writes_through_a_symlink(seeds: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "real" / "baseline.json"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, _, err = run_main(["baseline", str(seeds["base"]), "-o", str(link)])
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)  # the link is kept
    assert read_baseline(target) == read_baseline(link)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the target's mode is kept
    assert sorted(p.name for p in target.parent.iterdir()) == ["baseline.json"]  # no temporary left behind


def test_baseline_output_refuses_non_regular_files(seeds: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "dir.json"
    folder.mkdir()
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    link_to_dev = tmp_path / "null.json"
    link_to_dev.symlink_to("/dev/null")
    for path in (folder, fifo, link_to_dev, Path("/dev/null")):
        code, _, err = run_main(["baseline", str(seeds["base"]), "-o", str(path)])
        assert code == 2, (path, err)
        assert "not a regular file" in err and len(err.strip().splitlines()) == 1
    assert folder.is_dir() and not any(folder.iterdir())
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.json", "fifo.json", "null.json"]


def test_write_baseline_is_atomic_replace(seeds: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    data = read_baseline(seeds["baseline"])
    assert write_baseline(data, out) == out
    inode = out.stat().st_ino
    write_baseline(data, out)
    assert out.stat().st_ino != inode  # a new file renamed into place, not rewritten in place
    assert out.read_text(encoding="utf-8") == baseline_json(data)


def test_check_help_has_no_doubled_percent() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "%%" not in out.getvalue()
    assert "--test" in out.getvalue()
