"""Figures of a run and of a comparison of policies (matplotlib).

Every function is pure: it takes DataFrames (the run's tables, or the tidy tables of
``simsched compare``), draws on the Axes given as ``ax`` (a new figure otherwise)
and returns the Axes (or the Figure for multi-panel figures). Nothing here selects a
matplotlib backend, so the functions work in a notebook as well as in the CLI.

Artists carry a ``gid`` so that their content can be found again (and is tested):
``gantt:<processor>`` for a Gantt row, ``gantt-frozen:<processor>`` for its hatched
overlay, ``deadline-miss`` for the miss markers, ``power:<layer>`` for a power
layer, ``power-total`` and ``budget`` for the total and budget lines,
``freq:<domain>``, ``cdf:<app>:<policy>`` and ``point:<policy>``; bar containers are
labelled (policy or metric).

Times are in ms, power in W, energy in J on the axes (mJ in the tables).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsched.metrics.catalogue import rate_metrics
from simsched.report.trace import assign_lanes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROW_HEIGHT = 0.8
LINESTYLES = ("-", "--", ":", "-.")
FROZEN_HATCH = "////"
RATE_METRICS = rate_metrics()


# ----------------------------------------------------------------------------- helpers


def _axes(ax: Axes | None, figsize: tuple[float, float] = (10.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def app_colors(apps: Iterable[str]) -> dict[str, Any]:
    """A stable colour per app: the same app gets the same colour in every figure.

    Parameters
    ----------
    apps : iterable of str
        App names (order does not matter; colours follow the sorted names).

    Returns
    -------
    dict
        App name -> RGBA tuple (tab10, or tab20 beyond ten apps).
    """
    from matplotlib import colormaps

    names = sorted({str(a) for a in apps})
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {a: cmap(i % cmap.N) for i, a in enumerate(names)}


def policy_colors(policies: Sequence[str]) -> dict[str, Any]:
    """A colour per policy in the given order (Dark2 palette).

    Parameters
    ----------
    policies : sequence of str
        Policy names in display order.

    Returns
    -------
    dict
        Policy name -> RGBA tuple.
    """
    from matplotlib import colormaps

    cmap = colormaps["Dark2"]
    return {p: cmap(i % cmap.N) for i, p in enumerate(dict.fromkeys(policies))}


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> list[Path]:
    """Save a figure in several formats.

    Parameters
    ----------
    fig : Figure
        The figure.
    stem : str or Path
        Output path without extension (``out/gantt`` writes ``out/gantt.png`` and ``out/gantt.svg``).
    formats : sequence of str, default ("png", "svg")
        File extensions.
    dpi : int, default 150
        Resolution of raster formats (dots per inch).

    Returns
    -------
    list of Path
        The files written.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
        paths.append(path)
    return paths


def _step_values(df: pd.DataFrame, key: str, value: str, names: Sequence[str], grid: np.ndarray) -> dict[str, np.ndarray]:
    """Evaluate piecewise-constant series (a row holds until the next row of its key) on a time grid.

    Before a key's first row its value is 0.
    """
    out = {}
    for name in names:
        rows = df[df[key] == name]
        t = rows["time_ms"].to_numpy(dtype=float)
        v = rows[value].to_numpy(dtype=float)
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        idx = np.searchsorted(t, grid, side="right") - 1  # the last row at or before each grid time
        out[name] = np.where(idx >= 0, v[np.clip(idx, 0, None)], 0.0) if len(t) else np.zeros(len(grid))
    return out


def _window_grid(times: np.ndarray, t0: float | None, t1: float | None, t_end: float | None) -> np.ndarray:
    grid = np.unique(times)
    hi = t1 if t1 is not None else (t_end if t_end is not None else (grid[-1] if len(grid) else 0.0))
    lo = t0 if t0 is not None else (grid[0] if len(grid) else 0.0)
    grid = grid[(grid >= lo) & (grid <= hi)]
    return np.unique(np.concatenate([[lo], grid, [hi]]))


# ----------------------------------------------------------------------------- one run


def gantt(
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    jobs: pd.DataFrame | None = None,
    ax: Axes | None = None,
    t0: float | None = None,
    t1: float | None = None,
    *,
    processors: Sequence[str] | None = None,
) -> Axes:
    """Gantt chart: one row per processor, one bar per execution segment, coloured by app.

    Parameters
    ----------
    tasks : DataFrame
        ``tasks.csv`` (job_id, task, processor, finish_ms, freezes, migrations).
    segments : DataFrame
        ``segments.csv`` (job_id, app, task, processor, start_ms, end_ms).
    jobs : DataFrame, optional
        ``jobs.csv``; with it, a red ``x`` marks the finish of every task of a missed
        job that finished after the job's deadline.
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    t0, t1 : float, optional
        Time window (ms); segments overlapping it are drawn, clipped to it.
    processors : sequence of str, optional
        Rows from top to bottom (idle processors included); default the processors of
        ``segments`` and ``tasks`` in sorted order.

    Returns
    -------
    Axes
        One ``broken_barh`` collection per processor row (``gid`` ``gantt:<processor>``)
        holding one rectangle per segment in the window. Segments of tasks that were
        frozen and resumed (``freezes`` > 0) get a hatched overlay; segments of migrated
        tasks (``migrations`` > 0) a black outline. A processor running several tasks
        at once (capacity > 1) splits its row into lanes. The legend lists the apps,
        then the markings present.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if processors is None:
        names = list(segments["processor"].astype(str)) + [p for p in tasks["processor"].astype(str) if p]
        processors = sorted(set(names))
    processors = list(processors)
    ax = _axes(ax, (12.0, 1.2 + 0.45 * max(len(processors), 1)))
    # colours from every app of the run, so an app keeps its colour whatever the window shows
    colors = app_colors([*segments["app"].astype(str), *(tasks["app"].astype(str) if "app" in tasks else [])])
    row_of = {p: i for i, p in enumerate(processors)}

    seg = segments
    lo = -math.inf if t0 is None else float(t0)
    hi = math.inf if t1 is None else float(t1)
    if t0 is not None or t1 is not None:
        seg = seg[(seg["end_ms"] >= lo) & (seg["start_ms"] <= hi)]
    key = ["job_id", "task"]
    flags = tasks.reindex(columns=[*key, "freezes", "migrations"]).drop_duplicates(key)
    seg = seg.merge(flags, on=key, how="left", validate="many_to_one")
    seg["freezes"] = seg["freezes"].fillna(0)
    seg["migrations"] = seg["migrations"].fillna(0)

    any_frozen = any_migrated = False
    for proc in processors:
        rows = seg[seg["processor"].astype(str) == proc]
        y = row_of[proc]
        start = np.clip(rows["start_ms"].to_numpy(dtype=float), lo, hi)
        end = np.clip(rows["end_ms"].to_numpy(dtype=float), lo, hi)
        lane = assign_lanes(start, end) if len(rows) else np.zeros(0, dtype=int)
        n_lanes = int(lane.max()) + 1 if len(lane) else 1
        h = ROW_HEIGHT / n_lanes
        bottom = y - ROW_HEIGHT / 2
        migrated = rows["migrations"].to_numpy() > 0
        frozen = rows["freezes"].to_numpy() > 0
        any_frozen |= bool(frozen.any())
        any_migrated |= bool(migrated.any())
        xr = list(zip(start, end - start, strict=True))
        # broken_barh takes one yrange; lanes differ per rectangle, so set the paths' y afterwards.
        coll = ax.broken_barh(
            xr, (bottom, h),
            facecolors=[colors[str(a)] for a in rows["app"]] or "none",
            edgecolors=["black" if m else "white" for m in migrated] or "none",
            linewidths=[1.2 if m else 0.3 for m in migrated] or 0.0,  # a thin white edge separates back-to-back segments
            gid=f"gantt:{proc}",
        )
        if n_lanes > 1:
            _set_lanes(coll, xr, bottom, h, lane)
        if frozen.any():
            fx = [r for r, f in zip(xr, frozen, strict=True) if f]
            over = ax.broken_barh(fx, (bottom, h), facecolors="none", edgecolors="0.15", linewidths=0.0,
                                  hatch=FROZEN_HATCH, gid=f"gantt-frozen:{proc}")
            if n_lanes > 1:
                _set_lanes(over, fx, bottom, h, lane[frozen])

    if jobs is not None and len(jobs):
        jm = jobs[["job_id", "deadline_ms", "missed"]]
        late = tasks.merge(jm, on="job_id", how="inner")
        late = late[
            late["missed"].fillna(False).astype(bool)
            & late["finish_ms"].notna()
            & (late["finish_ms"] > late["deadline_ms"])
            & late["processor"].astype(str).isin(row_of)
            & (late["finish_ms"] >= lo) & (late["finish_ms"] <= hi)
        ]
        if len(late):
            ax.plot(late["finish_ms"].to_numpy(dtype=float), [row_of[str(p)] for p in late["processor"]],
                    linestyle="none", marker="x", color="red", markersize=6, markeredgewidth=1.5, gid="deadline-miss")
            miss_handle = Line2D([], [], linestyle="none", marker="x", color="red", label="finished after deadline")
        else:
            miss_handle = None
    else:
        miss_handle = None

    ax.set_yticks(range(len(processors)), processors)
    ax.set_ylim(len(processors) - 0.5, -0.5)  # first processor on top
    if t0 is not None or t1 is not None:
        ax.set_xlim(lo if t0 is not None else None, hi if t1 is not None else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("processor")
    ax.grid(axis="x", alpha=0.3)
    shown = sorted({str(a) for a in seg["app"]}) if len(seg) else []
    handles: list[Any] = [Patch(facecolor=colors[a], label=a) for a in shown]
    if any_frozen:
        handles.append(Patch(facecolor="white", edgecolor="0.15", hatch=FROZEN_HATCH, label="frozen & resumed"))
    if any_migrated:
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=1.2, label="migrated"))
    if miss_handle is not None:
        handles.append(miss_handle)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def _set_lanes(coll: Any, xr: Sequence[tuple[float, float]], bottom: float, h: float, lane: np.ndarray) -> None:
    verts = []
    for (x, w), k in zip(xr, lane, strict=True):
        y0 = bottom + k * h
        verts.append([(x, y0), (x + w, y0), (x + w, y0 + h), (x, y0 + h), (x, y0)])
    coll.set_verts(verts)


def power_trace(
    power: pd.DataFrame,
    budget_w: float | None = None,
    ax: Axes | None = None,
    *,
    t_end: float | None = None,
    t0: float | None = None,
    t1: float | None = None,
    processors: Sequence[str] | None = None,
) -> Axes:
    """Stacked power per processor, plus static power, with the total and the budget.

    Parameters
    ----------
    power : DataFrame
        ``power.csv``: time_ms, processor (``total`` for the SoC), power_w. A row's
        value holds until that processor's next row.
    budget_w : float, optional
        Power budget (W), drawn as a dashed horizontal line.
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    t_end : float, optional
        End of the run (ms): the last values are held until then.
    t0, t1 : float, optional
        Time window (ms).
    processors : sequence of str, optional
        Stacking order from the bottom (after static); default order of first appearance.

    Returns
    -------
    Axes
        Step areas (``fill_between``, ``gid`` ``power:static`` then ``power:<processor>``),
        the total as a black step line (``power-total``) and the budget (``budget``).
        Static power is the total minus the processors' sum.
    """
    ax = _axes(ax)
    if processors is None:
        processors = [str(p) for p in pd.unique(power["processor"]) if p != "total"]
    processors = list(processors)
    grid = _window_grid(power["time_ms"].to_numpy(dtype=float), t0, t1, t_end)
    values = _step_values(power, "processor", "power_w", [*processors, "total"], grid)
    procs_sum = np.sum([values[p] for p in processors], axis=0) if processors else np.zeros(len(grid))
    has_total = bool((power["processor"] == "total").any())
    total = values["total"] if has_total else procs_sum
    static = np.clip(total - procs_sum, 0.0, None)
    layers = ([("static", static)] if has_total else []) + [(p, values[p]) for p in processors]

    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    base = np.zeros(len(grid))
    for i, (name, v) in enumerate(layers):
        color = "0.75" if name == "static" else cmap((i - (1 if has_total else 0)) % 10)
        ax.fill_between(grid, base, base + v, step="post", color=color, alpha=0.85, linewidth=0.0,
                        label=name, gid=f"power:{name}")
        base = base + v
    ax.step(grid, total, where="post", color="black", linewidth=0.8, label="total", gid="power-total")
    if budget_w is not None:
        ax.axhline(float(budget_w), linestyle="--", color="red", linewidth=1.2, label=f"budget {float(budget_w):g} W", gid="budget")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0.0)
    if len(grid):
        ax.set_xlim(grid[0], grid[-1])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def frequency_trace(frequency: pd.DataFrame, ax: Axes | None = None, *, t_end: float | None = None) -> Axes:
    """Frequency of each DVFS domain over time.

    Parameters
    ----------
    frequency : DataFrame
        ``frequency.csv``: time_ms, domain, freq_mhz (a row holds until the domain's next row).
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    t_end : float, optional
        End of the run (ms): the last frequency is held until then.

    Returns
    -------
    Axes
        One step line per domain (``gid`` ``freq:<domain>``), in MHz.
    """
    ax = _axes(ax)
    for dom in pd.unique(frequency["domain"]):
        rows = frequency[frequency["domain"] == dom].sort_values("time_ms", kind="stable")
        t = rows["time_ms"].to_numpy(dtype=float)
        f = rows["freq_mhz"].to_numpy(dtype=float)
        if t_end is not None and len(t) and t_end > t[-1]:
            t, f = np.append(t, t_end), np.append(f, f[-1])
        ax.step(t, f, where="post", label=str(dom), gid=f"freq:{dom}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (MHz)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


# ----------------------------------------------------------------------------- comparisons


def latency_cdf(runs: pd.DataFrame, ax: Axes | None = None, *, by_app: bool = True, logx: bool | None = None) -> Axes:
    """Empirical CDF of job latency per (app, policy), pooled over seeds.

    Parameters
    ----------
    runs : DataFrame
        Jobs of several runs with a ``policy`` column (and ``app``, ``latency_ms``);
        unfinished jobs (no latency) are left out.
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    by_app : bool, default True
        One line per (app, policy), coloured by app with a line style per policy;
        False draws one line per policy.
    logx : bool, optional
        Logarithmic latency axis; default when latencies span more than two decades.

    Returns
    -------
    Axes
        One step line per group (``gid`` ``cdf:<app>:<policy>``, or ``cdf:<policy>``).
    """
    ax = _axes(ax, (8.0, 5.0))
    done = runs[runs["latency_ms"].notna()]
    policies = list(dict.fromkeys(runs["policy"].astype(str)))
    styles = {p: LINESTYLES[i % len(LINESTYLES)] for i, p in enumerate(policies)}
    if by_app:
        colors = app_colors(runs["app"].astype(str))
        groups = [((a, p), g) for (a, p), g in done.groupby([done["app"].astype(str), done["policy"].astype(str)], sort=False)]
        groups.sort(key=lambda kv: (kv[0][0], policies.index(kv[0][1])))
    else:
        pcol = policy_colors(policies)
        groups = [((None, p), done[done["policy"].astype(str) == p]) for p in policies]
    for (app, pol), g in groups:
        x = np.sort(g["latency_ms"].to_numpy(dtype=float))
        if not len(x):
            continue
        y = np.arange(1, len(x) + 1) / len(x)
        x = np.concatenate([[x[0]], x])
        y = np.concatenate([[0.0], y])
        if app is None:
            ax.step(x, y, where="post", color=pcol[pol], label=pol, gid=f"cdf:{pol}")
        else:
            ax.step(x, y, where="post", color=colors[app], linestyle=styles[pol], label=f"{app} / {pol}", gid=f"cdf:{app}:{pol}")
    lat = done["latency_ms"].to_numpy(dtype=float)
    lat = lat[lat > 0]
    if logx is None:
        logx = bool(len(lat)) and lat.max() / lat.min() > 100
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("job latency (ms)")
    ax.set_ylabel("fraction of finished jobs")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small", ncols=2 if len(groups) > 8 else 1)
    return ax


def _split(metric: str) -> tuple[str | None, str]:
    """``apps.<app>.<name>`` -> (app, name); other metrics -> (None, metric)."""
    if metric.startswith("apps."):
        app, name = metric[5:].rsplit(".", 1)
        return app, name
    return None, metric


def _err(rows: pd.DataFrame, scale: float = 1.0, lower: float | None = 0.0, upper: float | None = None) -> np.ndarray:
    """Asymmetric error bars (2 x n) from mean, ci_low, ci_high; 0 where undefined.

    The interval is clipped to [lower, upper] (unscaled) for display: a t-interval of a
    few seeds can reach below 0, or above 1 for a rate, which the quantity cannot.
    """
    mean = rows["mean"].to_numpy(dtype=float)
    ci_low = np.clip(rows["ci_low"].to_numpy(dtype=float), lower, upper)
    ci_high = np.clip(rows["ci_high"].to_numpy(dtype=float), lower, upper)
    return np.nan_to_num(np.vstack([mean - ci_low, ci_high - mean]) * scale, nan=0.0).clip(0.0)


def rates_by_policy(table: pd.DataFrame, metric: str = "deadline_miss_rate", ax: Axes | None = None) -> Axes:
    """Grouped bars of a metric per policy, overall and per app, with 95% CI error bars.

    Parameters
    ----------
    table : DataFrame
        The summary of ``simsched compare`` (:func:`simsched.report.stats.summarize_runs`):
        policy, metric, mean, ci_low, ci_high. Per-app metrics are named
        ``apps.<app>.<metric>``.
    metric : str, default "deadline_miss_rate"
        The metric; rates (``*_rate``) are shown in percent.
    ax : Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    Axes
        One bar container per policy (labelled with the policy) with one bar per group:
        "all" (the overall value) then each app in sorted order. Error bars show the
        interval cut to [0, 100] % for rates (the table keeps the t-interval).
    """
    rows = table[[_split(m)[1] == metric for m in table["metric"]]].copy()
    rows["app"] = [_split(m)[0] or "" for m in rows["metric"]]  # "" for the overall value
    policies = list(dict.fromkeys(table["policy"].astype(str)))
    apps = sorted({a for a in rows["app"] if a})
    groups = [*([""] if (rows["app"] == "").any() else []), *apps]
    ax = _axes(ax, (max(6.0, 1.2 + 0.9 * len(groups) * max(1, len(policies)) * 0.5), 4.0))
    scale = 100.0 if metric.endswith("_rate") else 1.0
    colors = policy_colors(policies)
    bounds = (0.0, 1.0) if metric.endswith("_rate") else (None, None)
    width = 0.8 / max(1, len(policies))
    x = np.arange(len(groups))
    for i, pol in enumerate(policies):
        sel = rows[rows["policy"].astype(str) == pol].set_index("app").reindex(groups)
        mean = sel["mean"].to_numpy(dtype=float) * scale
        ax.bar(x - 0.4 + width * (i + 0.5), np.nan_to_num(mean), width, yerr=_err(sel, scale, *bounds), capsize=3,
               color=colors[pol], label=pol)
    ax.set_xticks(x, [g or "all" for g in groups], rotation=30 if len(groups) > 3 else 0, ha="right" if len(groups) > 3 else "center")
    ax.set_ylabel(metric.replace("_", " ") + (" (%)" if scale == 100.0 else ""))
    if metric.endswith("_rate"):  # all-zero rates still show an axis
        top = float(np.nanmax(np.clip(rows[["mean", "ci_high"]].to_numpy(dtype=float), None, 1.0) * scale, initial=0.0))
        ax.set_ylim(0.0, top * 1.1 if top > 0 else 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="policy", fontsize="small", loc="best")
    return ax


def llm_by_policy(table: pd.DataFrame, ax: Sequence[Axes] | None = None) -> Figure:
    """Mean TTFT and decode tokens/s per policy, with 95% CI error bars.

    Parameters
    ----------
    table : DataFrame
        The summary of ``simsched compare`` (policy, metric, mean, ci_low, ci_high), with
        the overall ``ttft_mean_ms`` and ``tokens_per_s_mean``.
    ax : pair of Axes, optional
        Where to draw (TTFT, tokens/s); a new figure with two panels otherwise.

    Returns
    -------
    Figure
        Two panels, one bar per policy each, error bars cut at 0 (a bar container labelled with the metric);
        a panel says "no LLM requests" when the metric is missing.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8), layout="constrained")
    else:
        axes = list(ax)
        fig = axes[0].figure
    policies = list(dict.fromkeys(table["policy"].astype(str)))
    colors = policy_colors(policies)
    for a, metric, label in ((axes[0], "ttft_mean_ms", "mean TTFT (ms)"), (axes[1], "tokens_per_s_mean", "decode rate (tokens/s)")):
        rows = table[table["metric"] == metric].set_index("policy").reindex(policies)
        if rows["mean"].notna().sum() == 0:
            a.text(0.5, 0.5, "no LLM requests", ha="center", va="center", transform=a.transAxes)
        else:
            a.bar(range(len(policies)), np.nan_to_num(rows["mean"].to_numpy(dtype=float)), 0.6, yerr=_err(rows), capsize=4,
                  color=[colors[p] for p in policies], label=metric)
        a.set_xticks(range(len(policies)), policies)
        a.set_ylabel(label)
        a.grid(axis="y", alpha=0.3)
    return fig


def energy_vs_latency(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Mean energy against mean job latency per policy, with 95% CI error bars on both.

    Parameters
    ----------
    table : DataFrame
        The summary of ``simsched compare`` with the overall ``latency_mean_ms`` and
        ``energy_mj``.
    ax : Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    Axes
        One point with error bars (cut at 0) per policy (``gid`` ``point:<policy>``); energy in J.
    """
    ax = _axes(ax, (6.0, 4.5))
    policies = list(dict.fromkeys(table["policy"].astype(str)))
    colors = policy_colors(policies)
    lat = table[table["metric"] == "latency_mean_ms"].set_index("policy").reindex(policies)
    en = table[table["metric"] == "energy_mj"].set_index("policy").reindex(policies)
    for p in policies:
        x, y = float(lat.loc[p, "mean"]), float(en.loc[p, "mean"]) / 1000.0
        drawn = ax.errorbar([x], [y], xerr=_err(lat.loc[[p]]), yerr=_err(en.loc[[p]], 1e-3), fmt="o", capsize=4,
                            color=colors[p], label=p)
        drawn.lines[0].set_gid(f"point:{p}")
        if math.isfinite(x) and math.isfinite(y):
            ax.annotate(p, (x, y), textcoords="offset points", xytext=(6, 6), fontsize="small")
    ax.set_xlabel("mean job latency (ms)")
    ax.set_ylabel("energy (J)")
    ax.grid(alpha=0.3)
    ax.legend(title="policy", fontsize="small", loc="best")
    return ax


def sweep_lines(
    results: pd.DataFrame,
    metric: str,
    x: str,
    *,
    by: Sequence[str] = ("policy",),
    ax: Axes | None = None,
    level: float = 0.95,
    scale: float = 1.0,
) -> Axes:
    """A metric against a swept parameter, one line per group, with confidence bands.

    Parameters
    ----------
    results : DataFrame
        ``results.csv`` of ``simsched sweep``: one row per (configuration, seed), with
        the swept keys, ``seed``, ``error`` and the metrics.
    metric : str
        The metric column (y axis; multiplied by ``scale``).
    x : str
        The swept key on the x axis (numeric).
    by : sequence of str, default ("policy",)
        Columns whose combinations get one line each (those present in ``results``).
    ax : Axes, optional
        Where to draw.
    level : float, default 0.95
        Confidence level of the bands (Student-t across seeds).
    scale : float, default 1.0
        Display factor of the metric.

    Returns
    -------
    Axes
        Lines carry the gid ``sweep:<group>`` and bands ``sweep-band:<group>``.
    """
    from simsched.report.stats import mean_interval

    ax = _axes(ax)
    ok = results[results["error"].fillna("").astype(str) == ""] if "error" in results else results
    keys = [k for k in by if k in ok.columns and k != x]
    groups = list(dict.fromkeys(map(tuple, ok[keys].astype(str).to_numpy()))) if keys else [()]
    colors = policy_colors(["/".join(g) or metric for g in groups])
    for g in groups:
        label = "/".join(g) or metric
        rows = ok
        for k, v in zip(keys, g, strict=True):
            rows = rows[rows[k].astype(str) == v]
        xs = sorted(pd.to_numeric(rows[x], errors="coerce").dropna().unique())
        means, lo, hi = [], [], []
        for xv in xs:
            iv = mean_interval(pd.to_numeric(rows.loc[pd.to_numeric(rows[x], errors="coerce") == xv, metric], errors="coerce"), level)
            half = iv.half_width if math.isfinite(iv.half_width) else 0.0
            means.append(iv.mean * scale)
            lo.append((iv.mean - half) * scale)
            hi.append((iv.mean + half) * scale)
        ax.plot(xs, means, marker="o", color=colors[label], label=label, gid=f"sweep:{label}")
        band = ax.fill_between(xs, lo, hi, color=colors[label], alpha=0.2, linewidth=0)
        band.set_gid(f"sweep-band:{label}")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    if len(groups) > 1 or keys:
        ax.legend(fontsize="small")
    ax.set_title(f"{metric}: mean ± {level * 100:g}% CI", fontsize="medium")
    return ax
