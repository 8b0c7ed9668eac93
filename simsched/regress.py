"""Performance regression checks: baselines of a run's key metrics and comparisons against them.

A *baseline* is a small canonical JSON file with the metrics that matter (per app
and overall: latency mean/p95/p99, deadline-miss and drop rates, throughput, TTFT,
TPOT and tokens/s when the app has LLM requests; energy and peak power of the run),
the config hash they came from, and, for a sweep of seeds, each metric's mean,
standard deviation and number of seeds. :func:`check` compares a run (or a sweep)
with a baseline; ``simsched baseline`` and ``simsched check`` are the command-line
front ends, and :func:`assert_no_regression` the one-line pytest form. The rules
(tolerances, zero baselines, the statistical mode, which config changes are
allowed) are documented in docs/ci.md.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.result import Result, dumps

FORMAT = "simsched-baseline/1"
LOWER, HIGHER = "lower", "higher"

#: Metrics of every scope (``overall`` and each ``apps.<name>``): field -> which direction is better.
JOB_METRICS: dict[str, str] = {
    "latency_mean_ms": LOWER,
    "latency_p95_ms": LOWER,
    "latency_p99_ms": LOWER,
    "deadline_miss_rate": LOWER,
    "drop_rate": LOWER,
    "throughput_jobs_per_s": HIGHER,
}
#: Metrics of scopes with LLM requests (present only when the summary has them).
LLM_METRICS: dict[str, str] = {
    "ttft_mean_ms": LOWER,
    "ttft_p95_ms": LOWER,
    "ttft_p99_ms": LOWER,
    "tpot_mean_ms": LOWER,
    "tokens_per_s_mean": HIGHER,
}
#: Metrics of the whole run (no scope prefix).
RUN_METRICS: dict[str, str] = {"energy_mj": LOWER, "peak_power_w": LOWER}
#: Fractions in [0, 1]: compared with an absolute tolerance as well (a zero baseline has no relative scale).
RATE_METRICS = frozenset({"deadline_miss_rate", "drop_rate"})
DIRECTIONS: dict[str, str] = {**JOB_METRICS, **LLM_METRICS, **RUN_METRICS}

DEFAULT_RTOL = 0.02
DEFAULT_RATE_ATOL = 0.005
CONFIG_MATCHES = ("scenario", "exact", "any")
#: Config parts a regression check is meant to compare across: the scheduler and the model profiles.
UNDER_TEST = ("policy", "platform.models")
#: Config parts that do not change a run's numbers (left out of the comparison).
_METADATA = frozenset({
    "seed", "name", "limits", "platform.name", "workload.name", "workload.platform",
})
_FREE_TEXT = frozenset({"description", "source", "sources"})
_PART_DEPTH = 3

_One = str | os.PathLike | Result | Mapping[str, Any]
RunInput = _One | Sequence[_One]



def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (two-sided 95 % intervals)."""
    from simsched.report.stats import t_quantile

    if df < 1:
        raise ValueError("df must be at least 1")
    return t_quantile(0.975, df)


# ----------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Stat:
    """One metric over the seeds of a sample.

    Attributes
    ----------
    mean : float or None
        Mean over the seeds where the metric is defined (None if it is defined in none).
    std : float or None
        Sample standard deviation (ddof=1); None with fewer than two values.
    n : int
        Number of seeds where the metric is defined.
    """

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat:
        """Aggregate per-seed values (None = undefined in that seed)."""
        xs = [float(v) for v in values if v is not None]
        if not xs:
            return cls(None, None, 0)
        mean = math.fsum(xs) / len(xs)
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
        return cls(mean, std, len(xs))

    def half_width(self) -> float | None:
        """Half-width of the 95 % Student-t confidence interval of the mean (None with n < 2)."""
        if self.n < 2 or self.std is None:
            return None
        return t975(self.n - 1) * self.std / math.sqrt(self.n)

    def interval(self) -> tuple[float, float] | None:
        """The 95 % confidence interval of the mean (None with n < 2)."""
        hw = self.half_width()
        if hw is None or self.mean is None:
            return None
        return self.mean - hw, self.mean + hw


@dataclass
class Sample:
    """The metrics of one run or of a sweep (same config, several seeds).

    Attributes
    ----------
    label : str
        Where it came from (a path, or ``<result>``), for messages.
    config_hash : str
        The manifest's config hash (the same for every run of the sample).
    config_parts : dict
        Short hashes of the config's parts (see :func:`config_parts`).
    seeds : list of int
    versions : dict
        Package versions recorded in the (first run's) manifest.
    values : dict
        Metric name -> per-seed values.
    scopes : set of str
        ``overall`` and ``apps.<name>`` scopes present in the runs.
    source : dict
        Platform, workload, policy and governor names, for the reader of a baseline.
    """

    label: str
    config_hash: str
    config_parts: dict[str, str]
    seeds: list[int]
    versions: dict[str, str]
    values: dict[str, list[float | None]]
    scopes: set[str]
    source: dict[str, Any]

    def stats(self) -> dict[str, Stat]:
        """Metric name -> :class:`Stat` over the seeds."""
        return {name: Stat.of(v) for name, v in sorted(self.values.items())}


def direction(metric: str) -> str:
    """``lower`` or ``higher``: which way the metric ``metric`` (a full name) is better."""
    return DIRECTIONS[metric.rsplit(".", 1)[-1]]


def _scope(metric: str) -> str | None:
    return metric.rsplit(".", 1)[0] if "." in metric else None


def _number(x: Any, where: str, label: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ConfigError(label, where, f"expected a number or null, got {type(x).__name__}")
    return float(x)


def extract_metrics(summary: Mapping[str, Any], label: str = "<summary>") -> dict[str, float | None]:
    """The regression metrics of one run's summary.

    Parameters
    ----------
    summary : mapping
        A run's ``summary.json`` (or ``Result.summary``).
    label : str
        Names the summary in error messages.

    Returns
    -------
    dict
        ``energy_mj``, ``peak_power_w``, and ``<scope>.<field>`` for the scopes ``overall``
        and ``apps.<app>`` (fields in :data:`JOB_METRICS`, plus :data:`LLM_METRICS` when
        the scope has LLM requests). None marks a metric undefined in this run.
    """
    out: dict[str, float | None] = {}
    for name in RUN_METRICS:
        if name not in summary:
            raise ConfigError(label, name, "missing from the summary (not a simsched run summary?)")
        out[name] = _number(summary[name], name, label)
    apps = summary.get("apps")
    if not isinstance(summary.get("overall"), Mapping) or not isinstance(apps, Mapping):
        raise ConfigError(label, "overall", "missing from the summary (not a simsched run summary?)")
    for scope, m in [("overall", summary["overall"]), *((f"apps.{a}", apps[a]) for a in sorted(apps))]:
        if not isinstance(m, Mapping):
            raise ConfigError(label, scope, "expected a mapping of metrics")
        for name in JOB_METRICS:
            if name not in m:
                raise ConfigError(label, f"{scope}.{name}", "missing from the summary (written by another simsched version?)")
            out[f"{scope}.{name}"] = _number(m[name], f"{scope}.{name}", label)
        for name in LLM_METRICS:
            if m.get("llm_requests") and name in m:
                out[f"{scope}.{name}"] = _number(m[name], f"{scope}.{name}", label)
    return out


def config_parts(resolved: Mapping[str, Any]) -> dict[str, str]:
    """Short hashes of a resolved config's parts, to say *where* two configs differ.

    The config is cut at depth 3 (``platform.models.detector``, ``workload.apps.camera``,
    ``policy.name``, ``duration_ms``); each part maps to the first 12 hex digits of the
    SHA-256 of its canonical JSON. The seed and metadata (the experiment's, platform's
    and workload's names, descriptions and citations at any depth, limits) are left out.
    """
    def strip(node: Any) -> Any:  # free-text citations and descriptions, at any depth
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _FREE_TEXT}
        return [strip(v) for v in node] if isinstance(node, list) else node

    data = strip(json.loads(json.dumps(resolved)))
    out: dict[str, str] = {}

    def walk(node: Any, path: str, depth: int) -> None:
        if path in _METADATA:
            return
        if isinstance(node, dict) and node and depth < _PART_DEPTH:
            for k in node:
                walk(node[k], f"{path}.{k}" if path else str(k), depth + 1)
            return
        out[path] = hashlib.sha256(json.dumps(node, sort_keys=True).encode()).hexdigest()[:12]

    walk(data, "", 0)
    return dict(sorted(out.items()))


def _read_summary(run_dir: Path) -> dict[str, Any]:
    f = run_dir / "summary.json"
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(f), "", f"cannot read ({exc.strerror or exc.__class__.__name__})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(str(f), "", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(str(f), "", "expected a JSON object")
    return data


def _run_dirs(path: Path) -> list[Path]:
    """A run directory itself, or the run directories directly inside a sweep directory."""
    if not path.exists():
        raise ConfigError(str(path), "", "no such run or sweep directory")
    if not path.is_dir():
        raise ConfigError(str(path), "", "not a directory; expected a run directory or a folder of run directories")
    if (path / "summary.json").exists():
        return [path]
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise ConfigError(str(path), "", "neither a run directory (no summary.json) nor a sweep (no run directories inside)")
    for d in subdirs:
        if not (d / "summary.json").exists():
            raise ConfigError(str(d), "", "not a run directory (no summary.json); a sweep folder must hold only run directories")
    return subdirs


def _summaries(runs: RunInput) -> tuple[str, list[tuple[str, Mapping[str, Any]]]]:
    if isinstance(runs, Result):
        return "<result>", [("<result>", runs.summary)]
    if isinstance(runs, Mapping):
        return "<summary>", [("<summary>", runs)]
    if isinstance(runs, (str, os.PathLike)):
        path = Path(runs)
        return str(path), [(str(d), _read_summary(d)) for d in _run_dirs(path)]
    items: list[tuple[str, Mapping[str, Any]]] = []
    for i, r in enumerate(runs):
        label, got = _summaries(r)
        items += [(f"{label}[{i}]" if lab in ("<result>", "<summary>") else lab, s) for lab, s in got]
    if not items:
        raise ConfigError("<runs>", "", "no runs given")
    return f"{len(items)} runs", items


def load_sample(runs: RunInput) -> Sample:
    """Read a run directory, a sweep directory, Results or summaries into a :class:`Sample`.

    Parameters
    ----------
    runs : path, Result, mapping or sequence of these
        A run directory (holds summary.json), a sweep directory (its subfolders are run
        directories of one config with different seeds), a :class:`~simsched.result.Result`,
        a summary mapping, or a list of any of these.

    Raises
    ------
    ConfigError
        Unreadable input, summaries without a manifest, runs of different configs, or a
        seed that appears twice.
    """
    label, items = _summaries(runs)
    first = items[0][1]
    first_hash: str | None = None
    seeds: list[int] = []
    values: dict[str, list[float | None]] = {}
    scopes: set[str] = set()
    for i, (where, summary) in enumerate(items):
        manifest = summary.get("manifest")
        if not isinstance(manifest, Mapping) or not isinstance(manifest.get("config_hash"), str):
            raise ConfigError(where, "manifest.config_hash", "missing; not a simsched run summary")
        if first_hash is None:
            first_hash = manifest["config_hash"]
        elif manifest["config_hash"] != first_hash:
            raise ConfigError(
                where, "manifest.config_hash",
                f"{manifest['config_hash'][:12]} differs from {items[0][0]}'s {first_hash[:12]}: "
                "the runs of a sweep must share one config and differ only in the seed",
            )
        seed = manifest.get("seed", summary.get("seed"))
        if seed in seeds:
            raise ConfigError(where, "seed", f"seed {seed} appears twice; a sweep needs one run per seed")
        seeds.append(seed)
        metrics = extract_metrics(summary, where)
        scopes |= {s for s in map(_scope, metrics) if s is not None}
        for name in sorted(set(values) | set(metrics)):
            values.setdefault(name, [None] * i).append(metrics.get(name))
    assert first_hash is not None
    config = first.get("manifest", {}).get("config")
    return Sample(
        label=label,
        config_hash=first_hash,
        config_parts=config_parts(config) if isinstance(config, Mapping) else {},
        seeds=seeds,
        versions=dict(first.get("manifest", {}).get("versions") or {}),
        values=values,
        scopes=scopes,
        source={k: first.get(k) for k in ("platform", "workload", "policy", "governor", "power_mode")},
    )


# ----------------------------------------------------------------------------- baselines


def make_baseline(runs: RunInput) -> dict[str, Any]:
    """The baseline of a run or a sweep, as plain data (see docs/ci.md for the format).

    Parameters
    ----------
    runs : path, Result, mapping or sequence of these
        As for :func:`load_sample`.

    Returns
    -------
    dict
        ``format``, ``config_hash``, ``config_parts``, ``seeds``, ``source``, ``versions``
        and ``metrics``: name -> ``{"better", "mean", "std", "n"}``.
    """
    sample = load_sample(runs)
    return {
        "format": FORMAT,
        "config_hash": sample.config_hash,
        "config_parts": sample.config_parts,
        "seeds": sample.seeds,
        "source": sample.source,
        "versions": sample.versions,
        "metrics": {
            name: {"better": direction(name), "mean": s.mean, "std": s.std, "n": s.n}
            for name, s in sample.stats().items()
        },
    }


def baseline_json(baseline: Mapping[str, Any]) -> str:
    """Canonical JSON text of a baseline (sorted keys, fixed indentation, final newline)."""
    return dumps(baseline) + "\n"


def write_baseline(baseline: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a baseline atomically (a temporary file renamed into place)."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(baseline_json(baseline))
        os.replace(tmp, out)
    except OSError as exc:
        raise ConfigError(str(out), "", f"cannot write the baseline ({exc.strerror or exc})") from None
    return out


def read_baseline(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a baseline file; ConfigError (one line) if it is unusable."""
    p = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(p, "", f"cannot read the baseline ({exc.strerror or exc.__class__.__name__})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(p, "", f"not valid JSON ({exc}); expected a file written by `simsched baseline`") from None
    return validate_baseline(data, p)


def validate_baseline(data: Any, label: str = "<baseline>") -> dict[str, Any]:
    """Check a baseline's structure; returns it unchanged or raises ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(label, "", "expected a JSON object written by `simsched baseline`")
    if data.get("format") != FORMAT:
        raise ConfigError(label, "format", f"expected '{FORMAT}', got {data.get('format')!r}; write it with `simsched baseline`")
    if not isinstance(data.get("config_hash"), str):
        raise ConfigError(label, "config_hash", "missing")
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise ConfigError(label, "metrics", "missing or empty")
    for name, m in metrics.items():
        if name.rsplit(".", 1)[-1] not in DIRECTIONS:
            raise ConfigError(label, f"metrics.{name}", f"unknown metric; known fields: {', '.join(DIRECTIONS)}")
        if not isinstance(m, dict) or not {"mean", "std", "n"} <= set(m):
            raise ConfigError(label, f"metrics.{name}", "expected {mean, std, n}")
        _number(m["mean"], f"metrics.{name}.mean", label)
        _number(m["std"], f"metrics.{name}.std", label)
        if not isinstance(m["n"], int) or isinstance(m["n"], bool) or m["n"] < 0:
            raise ConfigError(label, f"metrics.{name}.n", "expected a count of seeds")
    if not isinstance(data.get("config_parts", {}), dict):
        raise ConfigError(label, "config_parts", "expected a mapping")
    return data


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
        tolerance but the 95 % intervals overlap).
    statistical : bool
        Both sides had at least two seeds, so the interval test applied.
    """

    metric: str
    better: str
    base: Stat
    run: Stat
    allowed: float
    status: str
    statistical: bool

    @property
    def delta(self) -> float | None:
        """Run mean minus baseline mean (None when either is undefined)."""
        if self.base.mean is None or self.run.mean is None:
            return None
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
    """

    rows: list[Row]
    new_metrics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline_label: str = "<baseline>"
    run_label: str = "<run>"
    base_seeds: int = 1
    run_seeds: int = 1

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
        """True when the interval test applied (several seeds on both sides)."""
        return any(r.statistical for r in self.rows)


def _compare_one(name: str, base: Stat, run: Stat, tol: Tolerances) -> Row:
    better = direction(name)
    statistical = base.n >= 2 and run.n >= 2
    allowed = max(tol.rtol_for(name) * abs(base.mean or 0.0), tol.atol_for(name))
    if base.mean is None and run.mean is None:
        status = OK
    elif base.mean is None or run.mean is None:
        status = REGRESSED  # defined on one side only: the check cannot tell better from worse
    else:
        delta = run.mean - base.mean
        if abs(delta) <= allowed:
            status = OK
        else:
            bi, ri = base.interval(), run.interval()
            if statistical and bi is not None and ri is not None and bi[0] <= ri[1] and ri[0] <= bi[1]:
                status = NOISE
            else:
                worse = delta > 0 if better == LOWER else delta < 0
                status = REGRESSED if worse else IMPROVED
    return Row(name, better, base, run, allowed, status, statistical)


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

    Raises
    ------
    ConfigError
        The baseline is from another config (per ``config_match``), the run lacks some of
        the baseline's metrics, or a per-metric tolerance matches no metric.
    """
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
    rows = []
    for name in sorted(base_metrics):
        m = base_metrics[name]
        base = Stat(m["mean"], m["std"], m["n"])
        rows.append(_compare_one(name, base, stats.get(name, Stat(None, None, 0)), tol))
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
    )


def check(
    runs: RunInput,
    baseline: str | os.PathLike | Mapping[str, Any],
    *,
    rtol: float = DEFAULT_RTOL,
    rate_atol: float = DEFAULT_RATE_ATOL,
    metric_rtol: Mapping[str, float] | Sequence[tuple[str, float]] | None = None,
    config_match: str = "scenario",
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
    """
    if isinstance(baseline, Mapping):
        label, data = "<baseline>", validate_baseline(dict(baseline))
    else:
        label, data = str(baseline), read_baseline(baseline)
    per = tuple(metric_rtol.items()) if isinstance(metric_rtol, Mapping) else tuple(metric_rtol or ())
    tol = Tolerances(rtol=rtol, rate_atol=rate_atol, per_metric=per)
    return compare(data, load_sample(runs), tol, config_match=config_match, baseline_label=label)


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
        ``rate_atol``, ``metric_rtol``, ``config_match`` as for :func:`check`.

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


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def _cell(s: Stat, statistical: bool) -> str:
    hw = s.half_width() if statistical else None
    return _fmt(s.mean) + (f" ±{hw:.3g}" if hw is not None else "")


def _change(r: Row) -> str:
    d = r.delta
    if d is None:
        return "now undefined" if r.run.mean is None else "was undefined"
    rel = f" ({d / abs(r.base.mean) * 100:+.3g}%)" if r.base.mean else ""
    return f"{d:+.4g}{rel}"


def _allowed(r: Row) -> str:
    rel = f" ({r.allowed / abs(r.base.mean) * 100:.3g}%)" if r.base.mean else " (absolute)"
    return f"±{r.allowed:.4g}{rel}"


def _table(rows: list[Row]) -> list[str]:
    head = ("metric", "better", "baseline", "run", "change", "tolerance")
    cells = [(r.metric, r.better, _cell(r.base, r.statistical), _cell(r.run, r.statistical), _change(r), _allowed(r)) for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [head, *cells]]


def format_report(report: Report) -> str:
    """The readable table ``simsched check`` prints: what regressed, what improved, by how much."""
    mode = (
        "statistical mode: a change counts when it exceeds the tolerance and the 95% Student-t intervals "
        "over seeds do not overlap (± = interval half-width)"
        if report.statistical
        else "tolerance mode (fewer than two seeds on one side)"
    )
    lines = [
        f"baseline {report.baseline_label} ({report.base_seeds} seed{'s' * (report.base_seeds != 1)}) vs "
        f"{report.run_label} ({report.run_seeds} seed{'s' * (report.run_seeds != 1)}); {mode}",
    ]
    lines += [f"note: {n}" for n in report.notes]
    for title, rows in (("REGRESSED", report.regressed), ("IMPROVED", report.improved)):
        if rows:
            lines += ["", f"{title} ({len(rows)})", *_table(rows)]
    if report.noise:
        lines += ["", f"within seed noise ({len(report.noise)}: beyond the tolerance, but the intervals overlap)", *_table(report.noise)]
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
