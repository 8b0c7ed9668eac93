"""The metric catalogue: every summary metric simsched reports, described once.

Each :class:`Metric` says what a field of ``summary.json`` is: its unit, which way
is better, its kind, a display label and scale, whether ``simsched check``
compares it and whether ``simsched compare`` prints it. The summary code
(:mod:`simsched.metrics.summary`) computes the values; the regression checks, the
CLI summary table, the plots, ``compare`` and docs/metrics.md read their lists
from here. Adding a metric is one entry below plus its computation.

Regenerate the catalogue table of docs/metrics.md with
``python -m simsched.metrics.catalogue`` (``tests/unit/test_catalogue.py`` checks
that the page and this module agree).
"""

from __future__ import annotations

from dataclasses import dataclass

LOWER, HIGHER = "lower", "higher"
#: Scopes: ``job`` metrics exist for ``overall`` and every ``apps.<app>``; ``run`` metrics once per run.
JOB, RUN = "job", "run"
#: Percentiles of the latency and TTFT distributions (numpy's linear interpolation).
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Metric:
    """One summary metric.

    Attributes
    ----------
    name : str
        Field name in ``summary.json`` (``overall.<name>``, ``apps.<app>.<name>`` for
        ``scope == "job"``; top level for ``scope == "run"``).
    unit : str
        Unit of the stored value (``ms``, ``mJ``, ``W``, ``1`` for a fraction, ...).
    better : {"lower", "higher"} or None
        Which direction is better; None for descriptive values (counts, settings).
    kind : str
        ``latency``, ``rate`` (a fraction in [0, 1]), ``count``, ``throughput``,
        ``llm`` (present only in scopes with LLM requests), ``energy``, ``power``,
        ``time``, ``xr`` (UXCost, XRBench score) or ``utilization``.
    scope : {"job", "run"}
        Per scope (overall and per app) or once per run.
    label : str
        Human-readable label with the display unit.
    scale : float
        Factor from the stored unit to the display unit (100 for %, 1e-3 for mJ -> J).
    regress : bool
        Compared by ``simsched check`` (and recorded in baselines).
    key : int
        Position in ``simsched compare``'s table of key metrics (0 = not shown).
    digits : int
        Decimals ``compare`` prints (kept for its fixed-width table).
    """

    name: str
    unit: str
    better: str | None
    kind: str
    scope: str
    label: str
    scale: float = 1.0
    regress: bool = False
    key: int = 0
    digits: int = 2


def _dist(prefix: str, what: str, kind: str, regress: tuple[str, ...], keys: dict[str, int]) -> list[Metric]:
    stats = ("mean", *(f"p{q}" for q in PERCENTILES), "max")
    return [
        Metric(
            f"{prefix}_{s}_ms", "ms", LOWER, kind, JOB, f"{what} {s} (ms)",
            regress=s in regress, key=keys.get(s, 0),
        )
        for s in stats
    ]


CATALOGUE: tuple[Metric, ...] = (
    Metric("jobs_arrived", "jobs", None, "count", JOB, "jobs arrived"),
    Metric("jobs_finished", "jobs", None, "count", JOB, "jobs finished"),
    Metric("jobs_dropped", "jobs", None, "count", JOB, "jobs dropped"),
    Metric("jobs_in_flight", "jobs", None, "count", JOB, "jobs in flight at the end"),
    Metric("throughput_jobs_per_s", "jobs/s", HIGHER, "throughput", JOB, "throughput (jobs/s)", regress=True),
    *_dist("latency", "latency", "latency", ("mean", "p95", "p99"), {"mean": 1, "p95": 2, "p99": 3}),
    Metric("deadline_miss_rate", "1", LOWER, "rate", JOB, "deadline miss (%)", 100.0, regress=True, key=4),
    Metric("drop_rate", "1", LOWER, "rate", JOB, "drop (%)", 100.0, regress=True, key=5),
    *_dist("ttft", "TTFT", "llm", ("mean", "p95", "p99"), {"mean": 9}),
    Metric("tpot_mean_ms", "ms", LOWER, "llm", JOB, "TPOT mean (ms)", regress=True),
    Metric("tokens_per_s_mean", "tokens/s", HIGHER, "llm", JOB, "decode tokens/s", regress=True, key=10, digits=1),
    Metric("llm_requests", "requests", None, "llm", JOB, "LLM requests"),
    Metric("uxcost", "mJ", LOWER, "xr", JOB, "UXCost (mJ per on-time job)"),
    Metric("sim_end_ms", "ms", None, "time", RUN, "simulated time (ms)"),
    Metric("warmup_ms", "ms", None, "time", RUN, "warm-up (ms)"),
    Metric("utilization", "1", None, "utilization", RUN, "utilisation (%)", 100.0),
    Metric("energy_mj", "mJ", LOWER, "energy", RUN, "energy (J)", 1e-3, regress=True, key=6, digits=3),
    Metric("avg_power_w", "W", LOWER, "power", RUN, "avg power (W)", key=7, digits=3),
    Metric("peak_power_w", "W", LOWER, "power", RUN, "peak power (W)", regress=True),
    Metric("budget_w", "W", None, "power", RUN, "power budget (W)"),
    Metric("time_over_budget_ms", "ms", LOWER, "time", RUN, "time over budget (ms)", key=8, digits=1),
    Metric("energy_over_budget_mj", "mJ", LOWER, "energy", RUN, "energy over budget (mJ)"),
    Metric("xrbench_score", "1", HIGHER, "xr", RUN, "XRBench score"),
)

#: Name -> metric.
BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}
assert len(BY_NAME) == len(CATALOGUE), "duplicate metric name in the catalogue"


def metric(name: str) -> Metric:
    """The catalogue entry of ``name``: a field (``latency_p95_ms``) or a full name (``apps.cam.latency_p95_ms``).

    Raises
    ------
    KeyError
        Not a catalogued metric.
    """
    return BY_NAME[name.rsplit(".", 1)[-1]]


def names(*, scope: str | None = None, kind: str | None = None, regress: bool | None = None) -> tuple[str, ...]:
    """Metric names in catalogue order, filtered by scope, kind and whether ``check`` compares them."""
    return tuple(
        m.name for m in CATALOGUE
        if (scope is None or m.scope == scope)
        and (kind is None or m.kind == kind)
        and (regress is None or m.regress == regress)
    )


def directions(names_: tuple[str, ...]) -> dict[str, str]:
    """Name -> ``lower``/``higher`` for ``names_`` (each must have a direction)."""
    out = {}
    for n in names_:
        better = BY_NAME[n].better
        assert better is not None, f"{n} has no direction"
        out[n] = better
    return out


def key_metrics() -> tuple[tuple[str, str, float, int], ...]:
    """``compare``'s key metrics in display order: ``(name, label, scale, digits)``."""
    keyed = sorted((m for m in CATALOGUE if m.key), key=lambda m: m.key)
    return tuple((m.name, m.label, m.scale, m.digits) for m in keyed)


def rate_metrics() -> tuple[str, ...]:
    """The fractions in [0, 1] (miss and drop rates): plotted in %, compared with an absolute tolerance too."""
    return names(kind="rate")


def markdown_table() -> str:
    """The catalogue as the Markdown table of docs/metrics.md (between its ``catalogue`` markers)."""
    lines = [
        "| metric | scope | unit | better | kind | `check` | label |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in CATALOGUE:
        scope = "overall, apps.*" if m.scope == JOB else "run"
        lines.append(
            f"| `{m.name}` | {scope} | {m.unit} | {m.better or '-'} | {m.kind} | "
            f"{'yes' if m.regress else '-'} | {m.label} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table(), end="")
