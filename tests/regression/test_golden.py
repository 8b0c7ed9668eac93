"""Golden baselines: the shipped experiments in reduced form reproduce their committed metrics.

A failure here means scheduling behaviour changed. If the change is intended,
regenerate with ``python -m tests.regression.regen NAME`` and commit the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simsched.regress import baseline_json, compare, load_sample, read_baseline
from tests.regression import regen
from tests.regression.goldens import BASELINES, GOLDENS, TOLERANCES


def _golden_problems(name: str, extra_overrides: tuple[str, ...] = ()) -> list[str]:
    """What differs between the golden ``name`` (run now) and its committed baseline."""
    golden = GOLDENS[name]
    baseline = read_baseline(golden.baseline_path)
    if extra_overrides:
        from simsched.api import simulate
        from tests.regression.goldens import ROOT

        source = ROOT / golden.experiment if isinstance(golden.experiment, str) else golden.experiment
        result = simulate(source, overrides=[*golden.overrides, *extra_overrides])
    else:
        result = golden.run()
    sample = load_sample(result)
    report = compare(baseline, sample, TOLERANCES, config_match="any", baseline_label=str(golden.baseline_path.name))
    problems = []
    if report.regressed or report.improved or report.new_metrics:
        from simsched.regress import format_report

        problems.append(format_report(report))
    if sample.config_hash != baseline["config_hash"]:
        problems.append(f"config hash {sample.config_hash[:12]} != baseline's {baseline['config_hash'][:12]} ({'; '.join(report.notes)})")
    return problems


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden(name: str) -> None:
    assert GOLDENS[name].baseline_path.exists(), f"no baseline for {name}: run python -m tests.regression.regen {name}"
    problems = _golden_problems(name)
    assert not problems, "\n".join(problems) + f"\n\nIf the change is intended: python -m tests.regression.regen {name}"


def test_every_golden_has_a_baseline_and_every_baseline_a_golden() -> None:
    assert {p.stem for p in BASELINES.glob("*.json")} == set(GOLDENS)


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_baselines_are_canonical_json(name: str) -> None:
    text = GOLDENS[name].baseline_path.read_text(encoding="utf-8")
    assert text == baseline_json(json.loads(text)), "not canonical: regenerate with python -m tests.regression.regen"


def test_tight_tolerance_catches_a_small_behaviour_change() -> None:
    # A 0.1 % slower GPU profile of one model: far inside a CI tolerance of 2 %, but a
    # change of behaviour the golden check must show.
    problems = _golden_problems("quickstart-3s-fifo", ("platform.models.resnet152.latency_ms.gpu=3.2132",))
    assert problems
    assert "resnet152" in "\n".join(problems)  # the config note names the changed part


def test_regen_writes_canonical_files_and_is_idempotent(tmp_path: Path) -> None:
    name = "xrbench-vr-gaming-fifo"
    assert regen.main([name, "--dir", str(tmp_path)]) == 0
    written = (tmp_path / f"{name}.json").read_text(encoding="utf-8")
    assert written == baseline_json(json.loads(written))
    committed = json.loads(GOLDENS[name].baseline_path.read_text(encoding="utf-8"))
    assert json.loads(written)["config_hash"] == committed["config_hash"]
    assert json.loads(written)["metrics"].keys() == committed["metrics"].keys()
    assert regen.regenerate([name], tmp_path) == {name: "unchanged"}
    assert (tmp_path / f"{name}.json").read_text(encoding="utf-8") == written


def test_regen_check_reports_out_of_date_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "xrbench-vr-gaming-fifo"
    regen.main([name, "--dir", str(tmp_path)])
    data = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    data["metrics"]["overall.latency_mean_ms"]["mean"] *= 1.5
    stale = baseline_json(data)
    (tmp_path / f"{name}.json").write_text(stale, encoding="utf-8")
    assert regen.main([name, "--check", "--dir", str(tmp_path)]) == 1
    assert (tmp_path / f"{name}.json").read_text(encoding="utf-8") == stale  # --check writes nothing
    assert "updated" in capsys.readouterr().out
