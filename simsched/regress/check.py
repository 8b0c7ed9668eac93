"""Comparing a run (or a sweep of seeds) with a baseline: tolerances, statistical tests, the report.

The decision rules are documented in docs/ci.md. With several seeds on both sides a
change beyond the tolerance counts only when it is statistically clear: on the
paired per-seed differences when the run and the baseline share seeds, by Welch's
test otherwise, or (``test="overlap"``) when the two seed intervals do not overlap.
Intervals come from :mod:`simsched.report.stats`.
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simsched.errors import ConfigError
from simsched.regress.baseline import read_baseline, validate_baseline
from simsched.regress.sample import (
    CONFIG_MATCHES,
    DEFAULT_RATE_ATOL,
    DEFAULT_RTOL,
    LOWER,
    RATE_METRICS,
    UNDER_TEST,
    RunInput,
    Sample,
    Stat,
    _scope,
    direction,
    load_sample,
)
from simsched.report.format import fmt_num
from simsched.report.stats import Interval, paired_interval, welch_from_stats

#: ``auto``: paired on shared seeds, else Welch; ``welch``: always unpaired; ``overlap``: the two seed intervals.
TESTS = ("auto", "welch", "overlap")
#: Confidence level of every interval of the check.
LEVEL = 0.95

# ----------------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerances:
    """How far a metric may move before it counts as a change.

    A metric with baseline mean *b* and run mean *r* has changed when
    ``|r - b| > max(rtol * |b|, atol)``, where ``rtol`` is the metric's relative
    tolerance and ``atol`` is ``rate_atol`` for the rate metrics (miss and drop rates,
    fractions in [0, 1]) and 0 for the others.

    Attributes
    ----------
    rtol : float
        Relative tolerance of every metric without a specific one.
    rate_atol : float
        Absolute tolerance of the rate metrics (0.005 = half a percentage point).
    per_metric : tuple of (pattern, rtol)
        Overrides, in the order given. A pattern that equals the full metric name wins;
        otherwise the last pattern that matches wins, where a pattern (a glob) matches a
        metric's full name (``apps.*.latency_p99_ms``) or its field (``latency_p99_ms``,
        ``ttft_*``).
    """

    rtol: float = DEFAULT_RTOL
    rate_atol: float = DEFAULT_RATE_ATOL
    per_metric: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for what, v in (("--rtol", self.rtol), ("--rate-atol", self.rate_atol), *self.per_metric):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                where = (what, "") if what.startswith("--") else ("--metric-tolerance", what)
                raise ConfigError(*where, f"tolerance must be a finite number >= 0, got {v!r}")

    @classmethod
    def parse(cls, rtol: float, rate_atol: float, specs: Sequence[str]) -> Tolerances:
        """Build from command-line values; ``specs`` are ``NAME=RTOL`` strings."""
        per: list[tuple[str, float]] = []
        for spec in specs:
            name, sep, value = spec.partition("=")
            try:
                v = float(value)
            except ValueError:
                v = float("nan")
            if not sep or not name.strip() or not math.isfinite(v) or v < 0:
                raise ConfigError("--metric-tolerance", "", f"expected NAME=RTOL with RTOL a number >= 0, got '{spec}'")
            per.append((name.strip(), v))
        return cls(rtol=rtol, rate_atol=rate_atol, per_metric=tuple(per))

    @staticmethod
    def _matches(pattern: str, metric: str) -> bool:
        return fnmatch.fnmatchcase(metric, pattern) or fnmatch.fnmatchcase(metric.rsplit(".", 1)[-1], pattern)

    def rtol_for(self, metric: str) -> float:
        """The relative tolerance of ``metric``."""
        for pattern, v in self.per_metric:
            if pattern == metric:
                return v
        for pattern, v in reversed(self.per_metric):
            if self._matches(pattern, metric):
                return v
        return self.rtol

    def atol_for(self, metric: str) -> float:
        """The absolute tolerance of ``metric`` (``rate_atol`` for rates, else 0)."""
        return self.rate_atol if metric.rsplit(".", 1)[-1] in RATE_METRICS else 0.0

    def unused(self, metrics: Sequence[str]) -> list[str]:
        """Patterns that match none of ``metrics`` (most likely typos)."""
        return [p for p, _ in self.per_metric if not any(p == m or self._matches(p, m) for m in metrics)]


# ----------------------------------------------------------------------------- comparison

REGRESSED, IMPROVED, NOISE, OK = "regressed", "improved", "noise", "ok"


@dataclass(frozen=True)
class Row:
    """The comparison of one metric.

    Attributes
    ----------
    metric : str
    better : str
        ``lower`` or ``higher``.
    base, run : Stat
    allowed : float
        The largest change within tolerance (absolute, in the metric's unit).
    status : str
        ``ok`` (within tolerance), ``regressed``, ``improved``, or ``noise`` (beyond the
        tolerance but not statistically clear).
    statistical : bool
        A statistical test applied (enough seeds on both sides).
    interval : Interval or None
        The 95 % interval of the change (run - baseline): ``paired-t`` on shared seeds
        or ``welch-t``; None in tolerance mode and with ``test="overlap"``.
    """

    metric: str
    better: str
    base: Stat
    run: Stat
    allowed: float
    status: str
    statistical: bool
    interval: Interval | None = None

    @property
    def delta(self) -> float | None:
        """The change: the mean paired difference when paired, else run mean minus baseline mean."""
        if self.base.mean is None or self.run.mean is None:
            return None
        if self.interval is not None and self.interval.method == "paired-t" and math.isfinite(self.interval.mean):
            return self.interval.mean
        return self.run.mean - self.base.mean


@dataclass
class Report:
    """The result of :func:`compare`.

    Attributes
    ----------
    rows : list of Row
        One per baseline metric, sorted by name.
    new_metrics : list of str
        Metrics of the run that the baseline does not have (not compared).
    notes : list of str
        Config differences within what may change, differing package versions, seeds.
    baseline_label, run_label : str
        Names of the two sides, for the table's header.
    base_seeds, run_seeds : int
        Number of seeds on each side.
    test : str
        The statistical test asked for (one of :data:`TESTS`).
    shared_seeds : int
        Seeds present on both sides (with per-seed values in the baseline).
    """

    rows: list[Row]
    new_metrics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline_label: str = "<baseline>"
    run_label: str = "<run>"
    base_seeds: int = 1
    run_seeds: int = 1
    test: str = "auto"
    shared_seeds: int = 0

    def _with(self, status: str) -> list[Row]:
        return [r for r in self.rows if r.status == status]

    @property
    def regressed(self) -> list[Row]:
        """Rows that got worse beyond tolerance (and beyond seed noise)."""
        return self._with(REGRESSED)

    @property
    def improved(self) -> list[Row]:
        """Rows that got better beyond tolerance (and beyond seed noise)."""
        return self._with(IMPROVED)

    @property
    def noise(self) -> list[Row]:
        """Rows that moved beyond tolerance but whose 95 % intervals overlap."""
        return self._with(NOISE)

    @property
    def ok(self) -> bool:
        """True when no metric regressed."""
        return not self.regressed

    @property
    def statistical(self) -> bool:
        """True when a statistical test applied (several seeds on both sides)."""
        return any(r.statistical for r in self.rows)

    @property
    def method(self) -> str:
        """``paired-t``, ``welch-t``, ``overlap`` or ``tolerance``: how most rows were decided."""
        if not self.statistical:
            return "tolerance"
        if self.test == "overlap":
            return "overlap"
        methods = [r.interval.method for r in self.rows if r.statistical and r.interval is not None]
        return max(set(methods), key=methods.count) if methods else "welch-t"


def _interval(
    base: Stat, run: Stat, base_values: Sequence[float | None] | None, run_values: Sequence[float | None],
    pairs: list[tuple[int, int]], test: str,
) -> Interval | None:
    """The interval of ``run - baseline`` for one metric, or None when no test applies."""
    if test == "overlap":
        return None
    if test == "auto" and base_values is not None:
        a = [base_values[i] for i, _ in pairs]
        b = [run_values[j] for _, j in pairs]
        both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        if len(both) >= 2:
            return paired_interval([x for x, _ in both], [y for _, y in both], LEVEL)
    if base.n >= 2 and run.n >= 2 and base.mean is not None and run.mean is not None:
        assert base.std is not None and run.std is not None
        return welch_from_stats(base.mean, base.std, base.n, run.mean, run.std, run.n, LEVEL)
    return None


def _compare_one(
    name: str, base: Stat, run: Stat, tol: Tolerances, interval: Interval | None = None, test: str = "auto",
) -> Row:
    better = direction(name)
    statistical = interval is not None if test != "overlap" else (base.n >= 2 and run.n >= 2)
    allowed = max(tol.rtol_for(name) * abs(base.mean or 0.0), tol.atol_for(name))
    row = Row(name, better, base, run, allowed, OK, statistical, interval)
    if base.mean is None and run.mean is None:
        status = OK
    elif base.mean is None or run.mean is None:
        status = REGRESSED  # defined on one side only: the check cannot tell better from worse
    else:
        delta = row.delta
        assert delta is not None
        if abs(delta) <= allowed:
            status = OK
        else:
            if test == "overlap":
                bi, ri = base.interval(), run.interval()
                clear = not (statistical and bi is not None and ri is not None and bi[0] <= ri[1] and ri[0] <= bi[1])
            else:
                clear = interval is None or interval.excludes_zero()
            if not clear:
                status = NOISE
            else:
                worse = delta > 0 if better == LOWER else delta < 0
                status = REGRESSED if worse else IMPROVED
    return Row(name, better, base, run, allowed, status, statistical, interval)


def _config_notes(baseline: Mapping[str, Any], sample: Sample, config_match: str, label: str) -> list[str]:
    if config_match not in CONFIG_MATCHES:
        raise ValueError(f"config_match must be one of {CONFIG_MATCHES}")
    base_parts: dict[str, str] = baseline.get("config_parts") or {}
    if baseline["config_hash"] == sample.config_hash:
        return []
    changed = sorted(k for k in set(base_parts) | set(sample.config_parts) if base_parts.get(k) != sample.config_parts.get(k))
    under_test = [k for k in changed if any(k == p or k.startswith(p + ".") for p in UNDER_TEST)]
    scenario = [k for k in changed if k not in under_test]
    where = ", ".join(changed) or "metadata only (names, descriptions, citations, limits)"
    if config_match == "exact":
        raise ConfigError(
            label, "config_hash",
            f"baseline is from a different config ({baseline['config_hash'][:12]}, the run's is {sample.config_hash[:12]}; "
            f"differs in: {where}); regenerate it with `simsched baseline`, or use --config-match scenario",
        )
    if scenario and config_match == "scenario":
        raise ConfigError(
            label, "config_hash",
            f"baseline is from a different config ({baseline['config_hash'][:12]}, the run's is {sample.config_hash[:12]}): "
            f"it differs in {', '.join(scenario)}, but only {' and '.join(UNDER_TEST)} may change between baseline and run; "
            "regenerate the baseline with `simsched baseline`, or pass --config-match any",
        )
    return [f"config differs from the baseline's in: {where}"]


def compare(
    baseline: Mapping[str, Any],
    sample: Sample,
    tolerances: Tolerances | None = None,
    *,
    config_match: str = "scenario",
    baseline_label: str = "<baseline>",
    test: str = "auto",
) -> Report:
    """Compare a sample with a baseline.

    Parameters
    ----------
    baseline : mapping
        A validated baseline (:func:`read_baseline`, :func:`make_baseline`).
    sample : Sample
        The run or sweep to judge (:func:`load_sample`).
    tolerances : Tolerances, optional
        Defaults: rtol 0.02, rate_atol 0.005.
    config_match : {"scenario", "exact", "any"}
        ``scenario`` (default): the configs may differ only in ``policy`` and
        ``platform.models``; ``exact``: the config hashes must be equal; ``any``: no check.
    baseline_label : str
        Names the baseline in messages.
    test : {"auto", "welch", "overlap"}
        With several seeds on both sides: ``auto`` (default) decides on the paired
        per-seed differences over the shared seeds (when the baseline has per-seed
        values and at least two seeds are shared), else by Welch's test; ``welch``
        always uses Welch's test; ``overlap`` asks for the two 95 % seed intervals not
        to overlap. A change counts when it exceeds the tolerance and the 95 %
        interval of the change excludes zero (or the seed intervals do not overlap).

    Raises
    ------
    ConfigError
        The baseline is from another config (per ``config_match``), the run lacks some of
        the baseline's metrics, or a per-metric tolerance matches no metric.
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}")
    tol = tolerances or Tolerances()
    notes = _config_notes(baseline, sample, config_match, baseline_label)
    base_metrics: Mapping[str, Any] = baseline["metrics"]
    missing = sorted(m for m in base_metrics if m not in sample.values and _scope(m) not in sample.scopes)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ConfigError(sample.label, "", f"lacks {len(missing)} metric(s) of the baseline {baseline_label}: {shown}")
    unused = tol.unused([*base_metrics, *sample.values])
    if unused:
        raise ConfigError("--metric-tolerance", "", f"{', '.join(unused)} matches no metric; names look like "
                          "overall.latency_p95_ms, apps.APP.deadline_miss_rate, energy_mj, or a field such as latency_p99_ms")
    stats = sample.stats()
    base_seeds = list(baseline.get("seeds") or [])
    where = {s: j for j, s in enumerate(sample.seeds)}
    pairs = [(i, where[s]) for i, s in enumerate(base_seeds) if s is not None and s in where]
    rows = []
    for name in sorted(base_metrics):
        m = base_metrics[name]
        base = Stat(m["mean"], m["std"], m["n"])
        run = stats.get(name, Stat(None, None, 0))
        run_values = sample.values.get(name, [None] * len(sample.seeds))
        interval = _interval(base, run, m.get("values"), run_values, pairs, test)
        rows.append(_compare_one(name, base, run, tol, interval, test))
    bv, rv = baseline.get("versions") or {}, sample.versions
    diff = [f"{k} {bv.get(k, '-')} -> {rv.get(k, '-')}" for k in sorted(set(bv) | set(rv)) if bv.get(k) != rv.get(k)]
    if diff:
        notes.append("package versions differ from the baseline's (numbers may shift): " + ", ".join(diff))
    return Report(
        rows=rows,
        new_metrics=sorted(set(sample.values) - set(base_metrics)),
        notes=notes,
        baseline_label=baseline_label,
        run_label=sample.label,
        base_seeds=len(baseline.get("seeds") or [None]),
        run_seeds=len(sample.seeds),
        test=test,
        shared_seeds=len(pairs) if any("values" in m for m in base_metrics.values()) else 0,
    )


def check(
    runs: RunInput,
    baseline: str | os.PathLike | Mapping[str, Any],
    *,
    rtol: float = DEFAULT_RTOL,
    rate_atol: float = DEFAULT_RATE_ATOL,
    metric_rtol: Mapping[str, float] | Sequence[tuple[str, float]] | None = None,
    config_match: str = "scenario",
    test: str = "auto",
) -> Report:
    """Load a run or sweep and a baseline, and compare them (what ``simsched check`` does).

    Parameters
    ----------
    runs : path, Result, mapping or sequence of these
        As for :func:`load_sample`.
    baseline : path or mapping
        A baseline file, or baseline data.
    rtol, rate_atol : float
        See :class:`Tolerances`.
    metric_rtol : mapping or sequence of (pattern, rtol), optional
        Per-metric relative tolerances (see :class:`Tolerances`).
    config_match : {"scenario", "exact", "any"}
        See :func:`compare`.
    test : {"auto", "welch", "overlap"}
        See :func:`compare`.
    """
    if isinstance(baseline, Mapping):
        label, data = "<baseline>", validate_baseline(dict(baseline))
    else:
        label, data = str(baseline), read_baseline(baseline)
    per = tuple(metric_rtol.items()) if isinstance(metric_rtol, Mapping) else tuple(metric_rtol or ())
    tol = Tolerances(rtol=rtol, rate_atol=rate_atol, per_metric=per)
    return compare(data, load_sample(runs), tol, config_match=config_match, baseline_label=label, test=test)


def assert_no_regression(
    runs: RunInput,
    baseline: str | os.PathLike | Mapping[str, Any],
    rtol: float = DEFAULT_RTOL,
    **kwargs: Any,
) -> Report:
    """Fail a test when a run or sweep regressed against a baseline.

    Parameters
    ----------
    runs : path, Result, mapping or sequence of these
        A run directory, a sweep directory, ``simulate(...)`` results (one per seed), ...
    baseline : path or mapping
        The committed baseline file.
    rtol : float
        Relative tolerance (default 0.02).
    **kwargs
        ``rate_atol``, ``metric_rtol``, ``config_match``, ``test`` as for :func:`check`.

    Returns
    -------
    Report
        When nothing regressed (improvements are allowed).

    Raises
    ------
    AssertionError
        With the report's table when a metric regressed.
    ConfigError
        On unusable input (another config, missing metrics, unreadable files).
    """
    report = check(runs, baseline, rtol=rtol, **kwargs)
    if not report.ok:
        raise AssertionError("\n" + format_report(report))
    return report


# ----------------------------------------------------------------------------- report


def _cell(s: Stat, statistical: bool) -> str:
    hw = s.half_width() if statistical else None
    return fmt_num(s.mean, 6, trim=True) + (f" ±{fmt_num(hw, 3, trim=True)}" if hw is not None else "")


def _change(r: Row) -> str:
    d = r.delta
    if d is None:
        return "now undefined" if r.run.mean is None else "was undefined"
    assert r.base.mean is not None
    rel = f" ({fmt_num(d / abs(r.base.mean) * 100, 3, trim=True, sign=True)}%)" if r.base.mean else ""
    iv = r.interval
    ci = ""
    if iv is not None and math.isfinite(iv.half_width):
        ci = f" ±{fmt_num(iv.half_width, 3, trim=True)} p={fmt_num(iv.p_value, 2, trim=True)}"
    return f"{fmt_num(d, 4, trim=True, sign=True)}{rel}{ci}"


def _allowed(r: Row) -> str:
    rel = f" ({fmt_num(r.allowed / abs(r.base.mean) * 100, 3, trim=True)}%)" if r.base.mean else " (absolute)"
    return f"±{fmt_num(r.allowed, 4, trim=True)}{rel}"


def _table(rows: list[Row]) -> list[str]:
    head = ("metric", "better", "baseline", "run", "change", "tolerance")
    cells = [(r.metric, r.better, _cell(r.base, r.statistical), _cell(r.run, r.statistical), _change(r), _allowed(r)) for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [head, *cells]]


_MODES = {
    "paired-t": "statistical mode, paired on {shared} shared seeds: a change counts when it exceeds the tolerance "
    "and its 95% paired-t interval excludes zero (change ± = that interval's half-width)",
    "welch-t": "statistical mode, no shared seeds: a change counts when it exceeds the tolerance and its 95% "
    "Welch interval excludes zero (change ± = that interval's half-width)",
    "overlap": "statistical mode (overlap test): a change counts when it exceeds the tolerance and the 95% "
    "Student-t intervals over seeds do not overlap",
    "tolerance": "tolerance mode (fewer than two seeds on one side)",
}
_NOISE = {
    "overlap": "beyond the tolerance, but the intervals overlap",
}


def format_report(report: Report) -> str:
    """The readable table ``simsched check`` prints: what regressed, what improved, by how much."""
    method = report.method
    mode = _MODES[method].format(shared=report.shared_seeds)
    if report.statistical:
        mode += "; baseline/run ± = half-width of each mean's 95% interval"
    lines = [
        f"baseline {report.baseline_label} ({report.base_seeds} seed{'s' * (report.base_seeds != 1)}) vs "
        f"{report.run_label} ({report.run_seeds} seed{'s' * (report.run_seeds != 1)}); {mode}",
    ]
    lines += [f"note: {n}" for n in report.notes]
    for title, rows in (("REGRESSED", report.regressed), ("IMPROVED", report.improved)):
        if rows:
            lines += ["", f"{title} ({len(rows)})", *_table(rows)]
    if report.noise:
        why = _NOISE.get(method, "beyond the tolerance, but the interval of the change includes zero")
        lines += ["", f"within seed noise ({len(report.noise)}: {why})", *_table(report.noise)]
    if report.new_metrics:
        lines += ["", "not in the baseline (not compared): " + ", ".join(report.new_metrics)]
    n_ok = sum(r.status == OK for r in report.rows)
    tail = f"{n_ok} of {len(report.rows)} metrics within tolerance"
    if report.improved:
        tail += f", {len(report.improved)} improved"
    if report.noise:
        tail += f", {len(report.noise)} within seed noise"
    lines += ["", f"FAIL: {len(report.regressed)} metric(s) regressed; {tail}" if report.regressed else f"OK: no regression; {tail}"]
    return "\n".join(lines)
