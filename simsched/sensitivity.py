"""Sensitivity of a policy comparison to the uncertain numbers of the platform profile.

A profile number marked ``derived`` or ``estimate`` (see the ``confidence`` field of a
model, docs/config.md) has a plausible range, as factors on the stated value. This module
re-runs a comparison of policies with those numbers moved within their ranges and says,
per metric, whether the ranking of the policies holds:

* **one at a time**: each uncertain number at the low and at the high end of its range,
  every other number as stated;
* **Latin hypercube**: ``samples`` scenarios in which every uncertain number takes a
  factor from its range at once; the range is cut into ``samples`` equal strata in log
  space, each number visits every stratum once (in a seeded random order), at a seeded
  random point inside it.

Every scenario runs every policy for every seed through :func:`simsched.api.simulate`
with ``--set``-style overrides, so a scenario is reproducible from its overrides alone.
A ranking is the order of the policies by the seed mean of a metric (lower is better,
except for throughput-like metrics); ties keep the order in which the policies were given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np

from simsched.config.loader import load_config
from simsched.config.schema import FRACTION_CONFIDENCE_KEYS, PlatformSpec
from simsched.errors import ConfigError

DEFAULT_METRICS = ("latency_mean_ms", "deadline_miss_rate", "energy_mj")
_HIGHER_IS_BETTER = ("throughput", "tok_per_s", "score")


@dataclass(frozen=True)
class Entry:
    """One uncertain profile number.

    Attributes
    ----------
    model, key : str
        The model and its confidence key (``gpu``, ``decode.npu``, ``compute_fraction``).
    value : float
        The stated value (ms, ms/token or a fraction).
    level : str
        ``derived`` or ``estimate``.
    low, high : float
        The range as factors on ``value``.
    """

    model: str
    key: str
    value: float
    level: str
    low: float
    high: float

    @property
    def name(self) -> str:
        """``model.key``: how reports name the entry."""
        return f"{self.model}.{self.key}"

    def path(self) -> str:
        """The dotted config path of the number (for ``--set``)."""
        base = f"platform.models.{self.model}"
        if self.key in ("prefill_compute_fraction", "decode_compute_fraction"):
            return f"{base}.llm.{self.key}"
        if self.key == "compute_fraction":
            return f"{base}.compute_fraction"
        if "." in self.key:
            phase, proc = self.key.split(".", 1)
            return f"{base}.llm.{phase}_ms_per_token.{proc}"
        return f"{base}.latency_ms.{self.key}"

    def override(self, factor: float) -> str:
        """A ``KEY=VALUE`` override putting the number at ``factor`` x its value.

        Fractions are clipped to [0, 1] (a factor range is symmetric in log space, a
        fraction is bounded).
        """
        v = self.value * factor
        if self.key in FRACTION_CONFIDENCE_KEYS:
            v = min(1.0, max(0.0, v))
        return f"{self.path()}={v!r}"


def uncertain_entries(
    platform: PlatformSpec, models: set[str] | None = None, only: Sequence[str] | None = None
) -> list[Entry]:
    """The ``derived`` and ``estimate`` numbers of a platform, with their ranges.

    Parameters
    ----------
    platform : PlatformSpec
    models : set of str, optional
        Keep only these models (those a workload uses: the others cannot change a run).
    only : sequence of str, optional
        Glob patterns on ``model.key``; keep the entries matching any.
    """
    out = []
    for mname, model in platform.models.items():
        if models is not None and mname not in models:
            continue
        targets = model.confidence_targets()
        for key, conf in model.confidence.items():
            if conf.level == "measured" or conf.range is None:
                continue
            entry = Entry(mname, key, targets[key], conf.level, conf.range[0], conf.range[1])
            if only and not any(fnmatchcase(entry.name, pat) for pat in only):
                continue
            if entry.low == entry.high == 1.0:
                continue
            out.append(entry)
    return out


def used_models(spec: Any) -> set[str]:
    """Models an experiment's workload can invoke (graph tasks and generator mixes)."""
    out: set[str] = set()
    for app in spec.workload.apps.values():
        if app.graph is not None:
            out |= {t.model for t in app.graph.values()}
        if app.generator is not None:
            out |= {m for m, w in app.generator.models.items() if w > 0}
    return out


def lhs_factors(entries: Sequence[Entry], samples: int, seed: int) -> list[dict[str, float]]:
    """Latin-hypercube factors: ``samples`` dicts of entry name -> factor (log-uniform strata)."""
    rng = np.random.default_rng(seed)
    cols = []
    for e in entries:
        strata = rng.permutation(samples)
        u = (strata + rng.random(samples)) / samples
        lo, hi = math.log(e.low), math.log(e.high)
        cols.append(np.exp(lo + u * (hi - lo)))
    return [{e.name: float(cols[j][i]) for j, e in enumerate(entries)} for i in range(samples)]


def metric_value(summary: dict[str, Any], metric: str) -> float:
    """A metric of a run summary: an ``overall`` metric or a top-level number."""
    overall = summary.get("overall", {})
    if metric in overall:
        value = overall[metric]
    elif metric in summary and isinstance(summary[metric], (int, float)):
        value = summary[metric]
    else:
        known = sorted(k for k, v in overall.items() if isinstance(v, (int, float)))
        raise ConfigError("--metrics", metric, f"not a summary metric; known: {', '.join(known)}")
    return float("nan") if value is None else float(value)


def _better(a: float, b: float, metric: str, rtol: float) -> bool:
    """True if value ``a`` is strictly better than ``b`` beyond the relative tolerance."""
    if math.isnan(a) or math.isnan(b):
        return not math.isnan(a) and math.isnan(b)
    diff = (a - b) if higher_is_better(metric) else (b - a)
    return diff > rtol * max(abs(a), abs(b))


def higher_is_better(metric: str) -> bool:
    """True for throughput-like metrics (ranked descending)."""
    return any(tag in metric for tag in _HIGHER_IS_BETTER)


def ranking(values: dict[str, float], metric: str) -> list[str]:
    """Policies from best to worst by ``values`` (NaN last; ties keep the given order)."""
    sign = -1.0 if higher_is_better(metric) else 1.0
    order = list(values)
    return sorted(order, key=lambda p: (math.isnan(values[p]), sign * values[p] if not math.isnan(values[p]) else 0.0,
                                        order.index(p)))


@dataclass
class Scenario:
    """One set of moved numbers and the seed-mean metrics of every policy under it."""

    name: str
    kind: str  # "nominal", "low", "high" or "lhs"
    factors: dict[str, float]
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> policy -> mean


@dataclass
class SensitivityResult:
    """Everything a sensitivity study produced; :meth:`verdicts` interprets it."""

    policies: list[str]
    seeds: list[int]
    metrics: list[str]
    entries: list[Entry]
    scenarios: list[Scenario]

    @property
    def nominal(self) -> Scenario:
        """The scenario with every number as stated."""
        return self.scenarios[0]

    def verdicts(self, rtol: float = 1e-9) -> list[dict[str, Any]]:
        """Per metric: the nominal ranking, whether it holds, and the scenarios that change it.

        Two policies whose means differ by at most ``rtol`` (relative) are tied; a tie
        that opens either way is not a change of ranking, only a strict order that
        reverses is.

        Returns
        -------
        list of dict
            ``metric``, ``ranking`` (nominal, best first), ``holds`` (no scenario
            reverses a nominal order), ``winner_holds`` (no scenario puts a policy
            strictly ahead of the nominal winner), ``flips``: one dict per scenario that
            reverses an order, with ``scenario``, ``kind``, ``entries`` (the entries
            moved, ``name: factor``), ``ranking``, ``winner``, ``swapped`` (the pairs,
            nominal order, that reversed) and ``margin``: the relative lead, in that
            scenario, of its winner over the nominal winner (0 when the winner holds).
        """
        out = []
        for metric in self.metrics:
            nom = self.nominal.values[metric]
            nominal = ranking(nom, metric)
            flips = []
            for sc in self.scenarios[1:]:
                vals = sc.values[metric]
                swapped = [(a, b) for i, a in enumerate(nominal) for b in nominal[i + 1:]
                           if _better(nom[a], nom[b], metric, rtol) and _better(vals[b], vals[a], metric, rtol)]
                if not swapped:
                    continue
                r = ranking(vals, metric)
                old, new = nominal[0], r[0]
                lost = any(a == old for a, _ in swapped)
                margin = 0.0
                if lost:
                    margin = abs(vals[old] - vals[new]) / abs(vals[old]) if vals[old] else math.inf
                flips.append({"scenario": sc.name, "kind": sc.kind, "entries": dict(sc.factors), "ranking": r,
                              "winner": new if lost else old, "margin": margin, "swapped": swapped})
            out.append({"metric": metric, "ranking": nominal, "holds": not flips,
                        "winner_holds": all(f["winner"] == nominal[0] for f in flips), "flips": flips})
        return out

    def entry_flips(self, rtol: float = 1e-9) -> dict[str, dict[str, list[str]]]:
        """One-at-a-time: metric -> entry name -> the ends of its range (``low``/``high``) that flip the ranking."""
        out: dict[str, dict[str, list[str]]] = {}
        for v in self.verdicts(rtol):
            per: dict[str, list[str]] = {}
            for f in v["flips"]:
                if f["kind"] in ("low", "high"):
                    (name,) = f["entries"]
                    per.setdefault(name, []).append(f["kind"])
            out[v["metric"]] = per
        return out


def run_sensitivity(
    config: str | Path | dict[str, Any],
    policies: Sequence[str],
    *,
    seeds: Sequence[int] = (1,),
    samples: int = 0,
    lhs_seed: int = 1,
    one_at_a_time: bool = True,
    metrics: Sequence[str] = DEFAULT_METRICS,
    overrides: Sequence[str] = (),
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SensitivityResult:
    """Re-run a comparison of ``policies`` with the uncertain profile numbers moved.

    Parameters
    ----------
    config : str, Path or dict
        An experiment (its policy is replaced by each of ``policies``).
    policies : sequence of str
        At least two policy names.
    seeds : sequence of int
        Seeds of every (scenario, policy); metrics are seed means.
    samples : int
        Latin-hypercube scenarios (0: none).
    lhs_seed : int
        Seed of the Latin-hypercube draw (not of the simulations).
    one_at_a_time : bool
        Also run each uncertain number at each end of its range alone.
    metrics : sequence of str
        Summary metrics to rank by (``overall`` metrics or top-level numbers).
    overrides : sequence of str
        ``--set`` overrides applied to every run before the moved numbers.
    only : sequence of str, optional
        Glob patterns on ``model.key`` restricting the uncertain entries.
    progress : callable, optional
        Called with a line of text before each scenario.

    Returns
    -------
    SensitivityResult
    """
    policies = list(policies)
    if len(policies) < 2:
        raise ConfigError("--policies", "", "give at least two policies to rank")
    if samples < 0:
        raise ConfigError("--samples", "", "must not be negative")
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("--seeds", "", "give at least one seed")
    base = load_config(config, list(overrides))
    entries = uncertain_entries(base.spec.platform, used_models(base.spec), only)
    # Overrides must reach the resolved platform: pass the loaded mapping (names resolved).
    resolved = base.resolved
    scenarios = [Scenario("nominal", "nominal", {})]
    if one_at_a_time:
        for e in entries:
            for kind, factor in (("low", e.low), ("high", e.high)):
                if factor != 1.0:
                    scenarios.append(Scenario(f"{e.name}@{kind}", kind, {e.name: factor}))
    for i, factors in enumerate(lhs_factors(entries, samples, lhs_seed) if samples else []):
        scenarios.append(Scenario(f"lhs{i + 1}", "lhs", factors))
    by_name = {e.name: e for e in entries}
    from simsched.api import simulate

    for n, sc in enumerate(scenarios):
        if progress:
            progress(f"[{n + 1}/{len(scenarios)}] {sc.name}")
        moved = [by_name[name].override(f) for name, f in sc.factors.items()]
        sums: dict[str, dict[str, float]] = {m: {} for m in metrics}
        for pol in policies:
            vals: dict[str, list[float]] = {m: [] for m in metrics}
            for seed in seeds:
                summary = simulate(resolved, overrides=[f"policy={pol}", *moved], seed=seed).summary
                for m in metrics:
                    vals[m].append(metric_value(summary, m))
            for m in metrics:
                sums[m][pol] = float(np.mean(vals[m]))
        sc.values = sums
    return SensitivityResult(policies, seeds, list(metrics), entries, scenarios)


def format_report(result: SensitivityResult, top: int = 10, rtol: float = 1e-9) -> str:
    """Text report: per metric, the nominal ranking, whether it holds, what flips it.

    ``rtol``: relative difference of two means below which they count as tied (see
    :meth:`SensitivityResult.verdicts`); a flip within run-to-run noise is not a finding.
    """
    n_oat = sum(s.kind in ("low", "high") for s in result.scenarios)
    n_lhs = sum(s.kind == "lhs" for s in result.scenarios)
    lines = [
        f"policies {', '.join(result.policies)} | seeds {', '.join(map(str, result.seeds))} | "
        f"{len(result.entries)} uncertain entries (derived or estimate) | "
        f"{n_oat} one-at-a-time and {n_lhs} Latin-hypercube scenarios",
        "",
    ]
    for v in result.verdicts(rtol):
        nominal = result.nominal.values[v["metric"]]
        shown = ", ".join(f"{p} {nominal[p]:.4g}" for p in v["ranking"])
        state = "holds" if v["holds"] else ("winner holds, order below changes" if v["winner_holds"] else "WINNER CHANGES")
        lines.append(f"{v['metric']}: {shown}  ->  {state}")
        oat = [f for f in v["flips"] if f["kind"] != "lhs"]
        lhs = [f for f in v["flips"] if f["kind"] == "lhs"]
        if n_lhs:
            lines.append(f"  Latin hypercube: ranking changed in {len(lhs)} of {n_lhs} samples"
                         + (f", winner in {sum(f['winner'] != v['ranking'][0] for f in lhs)}" if lhs else ""))
        ranked = sorted(oat, key=lambda f: (f["winner"] == v["ranking"][0], -len(f["swapped"])))
        for f in ranked[:top]:
            (name, factor), = f["entries"].items()
            what = (f"winner {f['winner']} by {f['margin']:.1%}" if f["winner"] != v["ranking"][0]
                    else "swaps " + ", ".join(f"{a}/{b}" for a, b in f["swapped"]))
            lines.append(f"  {name} x {factor:g} ({f['kind']} end): {what}")
        if len(ranked) > top:
            lines.append(f"  ... {len(ranked) - top} more one-at-a-time flips (--json lists all)")
    return "\n".join(lines)


def to_json(result: SensitivityResult, rtol: float = 1e-9) -> dict[str, Any]:
    """JSON-ready form: entries, scenarios with their values, and the verdicts."""
    return {
        "policies": result.policies,
        "seeds": result.seeds,
        "metrics": result.metrics,
        "entries": [{"name": e.name, "value": e.value, "level": e.level, "range": [e.low, e.high]}
                    for e in result.entries],
        "scenarios": [{"name": s.name, "kind": s.kind, "factors": s.factors, "values": s.values}
                      for s in result.scenarios],
        "verdicts": [{**v, "flips": [{**f, "margin": None if math.isinf(f["margin"]) else f["margin"],
                                      "swapped": [list(p) for p in f["swapped"]]} for f in v["flips"]]}
                     for v in result.verdicts(rtol)],
    }
