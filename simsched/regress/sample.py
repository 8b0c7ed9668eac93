"""Samples of runs for the regression checks: which metrics, per-seed values, config parts.

The metrics compared (and their directions) come from the metric catalogue
(:mod:`simsched.metrics.catalogue`, the entries with ``regress=True``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.metrics import catalogue
from simsched.report.stats import t_quantile
from simsched.result import Result

FORMAT = "simsched-baseline/1"
LOWER, HIGHER = catalogue.LOWER, catalogue.HIGHER

#: Metrics of every scope (``overall`` and each ``apps.<name>``): field -> which direction is better.
JOB_METRICS: dict[str, str] = catalogue.directions(
    tuple(n for n in catalogue.names(scope=catalogue.JOB, regress=True) if catalogue.BY_NAME[n].kind != "llm")
)
#: Metrics of scopes with LLM requests (present only when the summary has them).
LLM_METRICS: dict[str, str] = catalogue.directions(catalogue.names(scope=catalogue.JOB, kind="llm", regress=True))
#: Metrics of the whole run (no scope prefix).
RUN_METRICS: dict[str, str] = catalogue.directions(catalogue.names(scope=catalogue.RUN, regress=True))
#: Fractions in [0, 1]: compared with an absolute tolerance as well (a zero baseline has no relative scale).
RATE_METRICS = frozenset(catalogue.rate_metrics())
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
    if not math.isfinite(x):
        # A summary stores undefined metrics as null; NaN or infinity means a damaged file,
        # and must never read as an improvement.
        raise ConfigError(label, where, f"{x} is not a finite number (a damaged summary?)")
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
