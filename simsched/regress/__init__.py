"""Performance regression checks: baselines of a run's key metrics and comparisons against them.

A *baseline* is a small canonical JSON file with the metrics that matter (per app
and overall: latency mean/p95/p99, deadline-miss and drop rates, throughput, TTFT,
TPOT and tokens/s when the app has LLM requests; energy and peak power of the run),
the config hash they came from, and, for a sweep of seeds, each metric's mean,
standard deviation, number of seeds and per-seed values. :func:`check` compares a
run (or a sweep) with a baseline; ``simsched baseline`` and ``simsched check`` are
the command-line front ends, and :func:`assert_no_regression` the one-line pytest
form. The rules (tolerances, zero baselines, the statistical tests, which config
changes are allowed) are documented in docs/ci.md.

Modules: :mod:`~simsched.regress.sample` (which metrics, reading runs),
:mod:`~simsched.regress.baseline` (the validated file format, reading and writing),
:mod:`~simsched.regress.check` (tolerances, tests, the report).
"""

from __future__ import annotations

from simsched.regress.baseline import (
    BaselineFile,
    MetricEntry,
    baseline_json,
    make_baseline,
    read_baseline,
    validate_baseline,
    write_baseline,
)
from simsched.regress.check import (
    IMPROVED,
    NOISE,
    OK,
    REGRESSED,
    TESTS,
    Report,
    Row,
    Tolerances,
    assert_no_regression,
    check,
    compare,
    format_report,
)
from simsched.regress.sample import (
    CONFIG_MATCHES,
    DEFAULT_RATE_ATOL,
    DEFAULT_RTOL,
    DIRECTIONS,
    FORMAT,
    HIGHER,
    JOB_METRICS,
    LLM_METRICS,
    LOWER,
    RATE_METRICS,
    RUN_METRICS,
    UNDER_TEST,
    Sample,
    Stat,
    config_parts,
    direction,
    extract_metrics,
    load_sample,
    t975,
)

__all__ = [
    "CONFIG_MATCHES", "DEFAULT_RATE_ATOL", "DEFAULT_RTOL", "DIRECTIONS", "FORMAT", "HIGHER", "IMPROVED",
    "JOB_METRICS", "LLM_METRICS", "LOWER", "NOISE", "OK", "RATE_METRICS", "REGRESSED", "RUN_METRICS", "TESTS",
    "UNDER_TEST", "BaselineFile", "MetricEntry", "Report", "Row", "Sample", "Stat", "Tolerances",
    "assert_no_regression", "baseline_json", "check", "compare", "config_parts", "direction", "extract_metrics",
    "format_report", "load_sample", "make_baseline", "read_baseline", "t975", "validate_baseline", "write_baseline",
]
