"""Sensitivity of a policy ranking to the uncertain profile numbers (simsched.sensitivity)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from simsched import simulate
from simsched.cli import main
from simsched.config.loader import read_yaml
from simsched.config.paths import shipped
from simsched.config.schema import PlatformSpec
from simsched.sensitivity import Entry, lhs_factors, ranking, run_sensitivity, uncertain_entries


def toy(npu_range: list[float] | None = None) -> dict:
    """Two apps release one task each every 10 ms, together.

    fifo runs both on the NPU (the model's default processor): 2 ms and 4 ms, mean 3 ms.
    latency-greedy sends the second to the idle CPU: 2 ms and 10 ms, mean 6 ms. fifo
    wins, unless the NPU is more than 2.5x slower than stated (at 4x, 8 ms: fifo's queue
    grows without bound, latency-greedy stays at 9 ms). The CPU's +-10 % cannot flip it.
    """
    return {
        "duration_ms": 1000,
        "policy": "fifo",
        "platform": {
            "name": "toy",
            "domains": {"c": {"opps": [[1000, 800]]}, "n": {"opps": [[1000, 800]]}},
            "processors": {"cpu": {"kind": "cpu", "domain": "c", "busy_w": 2.0},
                           "npu": {"kind": "npu", "domain": "n", "busy_w": 1.0}},
            "models": {"m": {
                "latency_ms": {"cpu": 10.0, "npu": 2.0},
                "default_processor": "npu",
                "confidence": {"cpu": {"level": "estimate", "range": [0.9, 1.1]},
                               "npu": {"level": "estimate", "range": npu_range or [0.5, 4.0]}},
            }},
        },
        "workload": {"apps": {
            name: {"arrival": {"type": "periodic", "period_ms": 10.0}, "graph": {"t": {"model": "m"}}}
            for name in ("a", "b")
        }},
    }


def test_flags_the_entry_that_decides_the_winner() -> None:
    res = run_sensitivity(toy(), ["fifo", "latency-greedy"], metrics=["latency_mean_ms"])
    nominal = res.nominal.values["latency_mean_ms"]
    assert nominal["fifo"] == pytest.approx(3.0)
    assert nominal["latency-greedy"] == pytest.approx(6.0, abs=0.05)
    (verdict,) = res.verdicts()
    assert verdict["ranking"] == ["fifo", "latency-greedy"]
    assert not verdict["holds"] and not verdict["winner_holds"]
    assert res.entry_flips() == {"latency_mean_ms": {"m.npu": ["high"]}}
    (flip,) = verdict["flips"]
    assert flip["entries"] == {"m.npu": 4.0}
    assert flip["winner"] == "latency-greedy"
    vals = res.scenarios[[s.name for s in res.scenarios].index("m.npu@high")].values["latency_mean_ms"]
    assert flip["margin"] == pytest.approx((vals["fifo"] - vals["latency-greedy"]) / vals["fifo"])
    assert vals["latency-greedy"] == pytest.approx(9.0, abs=0.05)


def test_a_tolerance_turns_small_reversals_into_ties() -> None:
    res = run_sensitivity(toy(), ["fifo", "latency-greedy"], metrics=["latency_mean_ms"])
    (flip,) = res.verdicts()[0]["flips"]
    # Reversals smaller than rtol are ties; the 4x NPU reversal is far larger than 10 %.
    assert res.verdicts(rtol=0.1)[0]["flips"][0]["scenario"] == flip["scenario"] == "m.npu@high"
    assert res.verdicts(rtol=0.99)[0]["holds"]


def test_a_range_that_cannot_flip_it_holds() -> None:
    res = run_sensitivity(toy([0.5, 2.0]), ["fifo", "latency-greedy"], samples=3,
                          metrics=["latency_mean_ms", "energy_mj"])
    assert all(v["holds"] for v in res.verdicts())
    assert [s.kind for s in res.scenarios] == ["nominal", "low", "high", "low", "high", "lhs", "lhs", "lhs"]


def test_only_restricts_the_entries() -> None:
    res = run_sensitivity(toy(), ["fifo", "latency-greedy"], only=["m.cpu"], metrics=["latency_mean_ms"])
    assert [e.name for e in res.entries] == ["m.cpu"]
    assert res.verdicts()[0]["holds"]


def test_nominal_is_the_plain_run_and_the_study_is_deterministic() -> None:
    cfg = toy()
    res = run_sensitivity(cfg, ["fifo", "edf"], seeds=[1, 2], samples=2, metrics=["latency_mean_ms"])
    for pol in ("fifo", "edf"):
        plain = [simulate(cfg, overrides=[f"policy={pol}"], seed=s).summary["overall"]["latency_mean_ms"]
                 for s in (1, 2)]
        assert res.nominal.values["latency_mean_ms"][pol] == pytest.approx(float(np.mean(plain)), rel=0, abs=0)
    again = run_sensitivity(cfg, ["fifo", "edf"], seeds=[1, 2], samples=2, metrics=["latency_mean_ms"])
    assert [(s.name, s.factors, s.values) for s in res.scenarios] == [(s.name, s.factors, s.values)
                                                                       for s in again.scenarios]


def test_latin_hypercube_visits_every_stratum_once() -> None:
    entries = [Entry("m", "gpu", 1.0, "estimate", 0.5, 2.0), Entry("m", "cpu", 3.0, "derived", 0.8, 1.25)]
    k = 7
    samples = lhs_factors(entries, k, seed=5)
    assert samples == lhs_factors(entries, k, seed=5)
    assert samples != lhs_factors(entries, k, seed=6)
    for e in entries:
        u = [(math.log(s[e.name]) - math.log(e.low)) / (math.log(e.high) - math.log(e.low)) for s in samples]
        assert sorted(int(x * k) for x in u) == list(range(k))


def test_overrides_reach_every_kind_of_number() -> None:
    assert Entry("m", "gpu", 2.0, "estimate", 0.5, 2.0).override(2.0) == "platform.models.m.latency_ms.gpu=4.0"
    assert (Entry("l", "decode.npu", 10.0, "derived", 0.5, 1.0).override(0.5)
            == "platform.models.l.llm.decode_ms_per_token.npu=5.0")
    assert (Entry("l", "prefill_compute_fraction", 0.98, "estimate", 0.8, 1.05).override(1.05)
            == "platform.models.l.llm.prefill_compute_fraction=1.0")  # clipped to a fraction
    key, value = Entry("m", "compute_fraction", 0.45, "estimate", 0.7, 1.5).override(0.7).split("=")
    assert key == "platform.models.m.compute_fraction" and float(value) == pytest.approx(0.315)


def test_uncertain_entries_of_a_shipped_platform() -> None:
    spec = PlatformSpec.model_validate(read_yaml(shipped("platforms", "jetson-orin-nx")))
    names = {e.name for e in uncertain_entries(spec)}
    assert "bert_large.cpu" in names and "resnet50.compute_fraction" in names
    assert "bert_large.gpu" not in names and "resnet50.gpu" not in names  # measured
    assert {e.name for e in uncertain_entries(spec, models={"bert_large"})} == {
        "bert_large.cpu", "bert_large.compute_fraction"}


def test_ranking_puts_throughput_high_first_and_keeps_ties_in_order() -> None:
    assert ranking({"a": 2.0, "b": 1.0, "c": 1.0}, "latency_mean_ms") == ["b", "c", "a"]
    assert ranking({"a": 2.0, "b": 1.0}, "throughput_jobs_per_s") == ["a", "b"]


def test_cli(tmp_path, capsys) -> None:
    import yaml

    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy()))
    assert main(["sensitivity", str(path), "--policies", "fifo,latency-greedy", "-q",
                 "--metrics", "latency_mean_ms"]) == 0
    out = capsys.readouterr().out
    assert "latency_mean_ms: fifo 3, latency-greedy" in out and "WINNER CHANGES" in out
    assert "m.npu x 4 (high end): winner latency-greedy by" in out
    assert main(["sensitivity", str(path), "--policies", "fifo,latency-greedy", "-q", "--json",
                 "--metrics", "latency_mean_ms", "--no-oat", "--samples", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["kind"] for s in data["scenarios"]] == ["nominal", "lhs", "lhs"]
    assert main(["sensitivity", str(path), "--policies", "fifo"]) == 2
    assert "at least two policies" in capsys.readouterr().err
