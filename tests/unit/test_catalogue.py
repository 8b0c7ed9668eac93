"""The metric catalogue is the one list: summaries, regression checks, plots, compare and docs agree with it."""

from __future__ import annotations

import re

import pytest

from simsched import simulate
from simsched.cli import format_summary
from simsched.metrics import catalogue
from simsched.regress import DIRECTIONS, JOB_METRICS, LLM_METRICS, RATE_METRICS, RUN_METRICS
from simsched.report.format import fmt_num
from tests.helpers import ROOT, minimal

#: Top-level summary fields that are not metrics (labels and settings of the run).
NOT_METRICS = {"apps", "overall", "policy", "governor", "platform", "workload", "seed", "manifest", "power_mode"}


@pytest.fixture(scope="module")
def llm_summary() -> dict:
    return simulate(ROOT / "experiments" / "quickstart.yaml", overrides=["duration_ms=3000"]).summary


def test_docs_metrics_table_is_the_catalogue() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- catalogue:start -->\n(.*?)<!-- catalogue:end -->", text, flags=re.S)
    assert block, "docs/metrics.md lacks the catalogue markers"
    assert block.group(1) == catalogue.markdown_table(), (
        "docs/metrics.md's catalogue table is stale: paste `python -m simsched.metrics.catalogue`"
    )
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", block.group(1), flags=re.M)
    assert listed == [m.name for m in catalogue.CATALOGUE]


def test_a_summary_holds_exactly_the_catalogued_metrics(llm_summary: dict) -> None:
    job = set(catalogue.names(scope=catalogue.JOB))
    llm = set(catalogue.names(scope=catalogue.JOB, kind="llm"))
    run = set(catalogue.names(scope=catalogue.RUN))
    assert set(llm_summary) - NOT_METRICS == run
    assert set(llm_summary["overall"]) == job  # the quickstart has LLM requests overall
    for app, m in llm_summary["apps"].items():
        expected = job if m.get("llm_requests") else job - llm
        assert set(m) == expected, app
    plain = simulate(minimal()).summary
    assert set(plain["overall"]) == job - llm


def test_regression_lists_come_from_the_catalogue() -> None:
    regress = {m.name for m in catalogue.CATALOGUE if m.regress}
    assert set(DIRECTIONS) == regress
    assert set(RUN_METRICS) == set(catalogue.names(scope=catalogue.RUN, regress=True))
    assert set(LLM_METRICS) == {m.name for m in catalogue.CATALOGUE if m.regress and m.kind == "llm"}
    assert set(JOB_METRICS) | set(LLM_METRICS) == set(catalogue.names(scope=catalogue.JOB, regress=True))
    assert {"deadline_miss_rate", "drop_rate"} == RATE_METRICS
    for name, better in DIRECTIONS.items():
        assert catalogue.metric(f"apps.x.{name}").better == better


def test_key_metrics_for_compare() -> None:
    keys = catalogue.key_metrics()
    assert [k[0] for k in keys] == [
        "latency_mean_ms", "latency_p95_ms", "latency_p99_ms", "deadline_miss_rate", "drop_rate",
        "energy_mj", "avg_power_w", "time_over_budget_ms", "ttft_mean_ms", "tokens_per_s_mean",
    ]
    from simsched.commands import compare

    # compare's own table must be the catalogue's (until compare reads it directly).
    assert tuple(compare.KEY_METRICS) == keys


def test_plots_rate_metrics_are_the_catalogues() -> None:
    from simsched.report import plots

    assert tuple(plots.RATE_METRICS) == catalogue.rate_metrics()


def test_every_entry_is_well_formed() -> None:
    for m in catalogue.CATALOGUE:
        assert m.scope in (catalogue.JOB, catalogue.RUN)
        assert m.better in (None, catalogue.LOWER, catalogue.HIGHER)
        assert not m.regress or m.better is not None, m.name
        assert m.scale > 0 and m.label and m.unit


@pytest.mark.parametrize(
    ("x", "kw", "text"),
    [
        (0.134801, {}, "0.135"),
        (1720.44, {}, "1720"),
        (1720.44, {"decimals": 2}, "1720.44"),
        (11.9156, {"decimals": 2}, "11.92"),
        (0.00123456, {"decimals": 2}, "0.00123"),
        (0.09996, {}, "0.100"),
        (0.0, {"decimals": 1}, "0.0"),
        (None, {}, "-"),
        (2.66, {"sig": 4, "trim": True, "sign": True}, "+2.66"),
        (-0.5, {"sign": True}, "-0.500"),
        (12345678.9, {"sig": 3}, "12345679"),
    ],
)
def test_fmt_num(x: float | None, kw: dict, text: str) -> None:
    assert fmt_num(x, **kw) == text


def test_cli_summary_keeps_significant_digits_of_small_latencies() -> None:
    cfg = minimal()
    cfg["duration_ms"] = 1000
    cfg["platform"]["models"]["detector"]["latency_ms"]["cpu0"] = 0.134801
    out = format_summary(simulate(cfg).summary)
    row = next(line for line in out.splitlines() if line.startswith("(all)"))
    assert "0.135" in row.split()  # not 0.13
