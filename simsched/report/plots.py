"""Figures of a run and of a comparison of policies (matplotlib).

Every function is pure: it takes DataFrames (the run's tables, or the tidy tables of
``simsched compare``), draws on the Axes given as ``ax`` (a new figure otherwise)
and returns the Axes (or the Figure for multi-panel figures). Nothing here selects a
matplotlib backend, so the functions work in a notebook as well as in the CLI.

Artists carry a ``gid`` so that their content can be found again (and is tested):
``gantt:<processor>`` for a Gantt row, ``gantt-frozen:<processor>`` for its hatched
overlay, ``deadline-miss`` for the miss markers, ``power:<layer>`` for a power
layer, ``power-total`` and ``budget`` for the total and budget lines,
``freq:<domain>``, ``cdf:<app>:<policy>`` and ``point:<policy>``, ``gantt-label:<processor>``
for the model names written on bars; bar containers are labelled (policy or metric).
Comparison figures facet by app (one small panel per app, titled with the app); their
panels carry ``facet:<app>`` as gid (``facet:all`` for the overall value).

Tick labels are fitted after layout (:func:`fit_ticklabels`): horizontal, else rotated,
else numbered with a key in the legend, so they never overlap.

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
PNG_ONLY = ("png",)
"""Formats of the CLI's figures by default; SVG is written on request (``--svg``)."""
LINESTYLES = ("-", "--", ":", "-.")
FROZEN_HATCH = "////"
MARKING_LABELS = {
    "frozen": "hatched: frozen & resumed",
    "migrated": "outlined: migrated",
    "lanes": "split row: tasks at once (capacity > 1)",
    "late": "x: finished after deadline",
}
"""Legend text of each Gantt marking."""
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


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = ("png",), dpi: int = 150) -> list[Path]:
    """Save a figure in several formats.

    Parameters
    ----------
    fig : Figure
        The figure.
    stem : str or Path
        Output path without extension (``out/gantt`` writes ``out/gantt.png``, and ``out/gantt.svg`` with ``formats=("png", "svg")``).
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
    labels: bool = False,
    markings: str = "present",
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
    labels : bool, default False
        Write the model's name (``tasks.model``) on every bar wide enough to hold it
        (text artists with ``gid`` ``gantt-label:<processor>``).
    markings : {"present", "all"}, default "present"
        Which markings the legend explains: those that occur in the window, or all four
        (a key for readers new to the chart).

    Returns
    -------
    Axes
        One ``broken_barh`` collection per processor row (``gid`` ``gantt:<processor>``)
        holding one rectangle per segment in the window, without edges (so dense rows
        keep their colour). Segments of tasks that were frozen and resumed
        (``freezes`` > 0) get a hatched overlay; segments of migrated tasks
        (``migrations`` > 0) a black outline. A processor running several tasks at once
        (capacity > 1) splits its row into lanes, one per concurrent task. A red ``x``
        marks a late task. The legend lists the apps, then the markings
        (:data:`MARKING_LABELS`).
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
    if markings not in ("present", "all"):
        raise ValueError(f"markings must be 'present' or 'all', got {markings!r}")
    key = ["job_id", "task"]
    flags = tasks.reindex(columns=[*key, "freezes", "migrations", "model"]).drop_duplicates(key)
    seg = seg.merge(flags, on=key, how="left", validate="many_to_one")
    seg["freezes"] = seg["freezes"].fillna(0)
    seg["migrations"] = seg["migrations"].fillna(0)

    any_frozen = any_migrated = any_lanes = False
    span = (min(hi, float(seg["end_ms"].max())) - max(lo, float(seg["start_ms"].min()))) if len(seg) else 0.0
    for proc in processors:
        rows = seg[seg["processor"].astype(str) == proc]
        y = row_of[proc]
        start = np.clip(rows["start_ms"].to_numpy(dtype=float), lo, hi)
        end = np.clip(rows["end_ms"].to_numpy(dtype=float), lo, hi)
        lane = assign_lanes(start, end) if len(rows) else np.zeros(0, dtype=int)
        n_lanes = int(lane.max()) + 1 if len(lane) else 1
        h = ROW_HEIGHT / n_lanes
        any_lanes |= n_lanes > 1
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
            # no edge but on migrated segments: white edges wash out rows of many short segments
            edgecolors=["black" if m else "none" for m in migrated] or "none",
            linewidths=[1.2 if m else 0.0 for m in migrated] or 0.0,
            gid=f"gantt:{proc}",
        )
        if n_lanes > 1:
            _set_lanes(coll, xr, bottom, h, lane)
        if labels and len(rows) and span > 0:
            faces = [colors[str(a)] for a in rows["app"]]
            _label_bars(ax, rows["model"].astype(str).tolist(), faces, start, end, bottom + (lane + 0.5) * h, span, h, proc)
        if frozen.any():
            fx = [r for r, f in zip(xr, frozen, strict=True) if f]
            over = ax.broken_barh(fx, (bottom, h), facecolors="none", edgecolors="0.15", linewidths=0.0,
                                  hatch=FROZEN_HATCH, gid=f"gantt-frozen:{proc}")
            if n_lanes > 1:
                _set_lanes(over, fx, bottom, h, lane[frozen])

    if jobs is not None and len(jobs) and "deadline_ms" in jobs:
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
            miss_handle = Line2D([], [], linestyle="none", marker="x", color="red", label=MARKING_LABELS["late"])
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
    every = markings == "all"
    if any_frozen or every:
        handles.append(Patch(facecolor="white", edgecolor="0.15", hatch=FROZEN_HATCH, label=MARKING_LABELS["frozen"]))
    if any_migrated or every:
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=1.2, label=MARKING_LABELS["migrated"]))
    if any_lanes or every:
        handles.append(Patch(facecolor="0.6", edgecolor="white", hatch="--", label=MARKING_LABELS["lanes"]))
    if miss_handle is not None or every:
        handles.append(miss_handle or Line2D([], [], linestyle="none", marker="x", color="red", label=MARKING_LABELS["late"]))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def _label_bars(ax: Axes, names: list[str], faces: list[Any], start: np.ndarray, end: np.ndarray, y: np.ndarray,
                span: float, h: float, proc: str) -> None:
    """Write each model name centred on its bar when the bar is wide enough for it.

    The width needed is estimated from the characters (about 1/110 of the window per
    character at the default size on a 12-inch chart), so no renderer is needed; the
    text is clipped to the axes in any case.
    """
    per_char = span / 110.0
    size = max(5.0, min(8.0, 40.0 * h))
    for name, face, x0, x1, yy in zip(names, faces, start, end, y, strict=True):
        if name and name != "nan" and (x1 - x0) >= per_char * (len(name) + 1):
            # dark text on light bars, white on dark ones (relative luminance, ITU-R BT.709 weights)
            lum = 0.2126 * face[0] + 0.7152 * face[1] + 0.0722 * face[2]
            ax.text((x0 + x1) / 2, yy, name, ha="center", va="center", fontsize=size, color="black" if lum > 0.5 else "white",
                    clip_on=True, gid=f"gantt-label:{proc}")


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


def policy_styles(policies: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A distinct look per policy: colour, line style and marker, stable in the given order.

    Eight colours (Dark2) cycle first, then the line style and marker change, so up to
    32 policies stay distinguishable in line and scatter plots.

    Parameters
    ----------
    policies : sequence of str
        Policy names in display order.

    Returns
    -------
    dict
        Policy name -> ``{"color", "linestyle", "marker"}`` (matplotlib keyword arguments).
    """
    from matplotlib import colormaps

    cmap = colormaps["Dark2"]
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    out = {}
    for i, p in enumerate(dict.fromkeys(policies)):
        out[p] = {"color": cmap(i % cmap.N), "linestyle": LINESTYLES[(i // cmap.N) % len(LINESTYLES)],
                  "marker": markers[(i // cmap.N + i) % len(markers)]}
    return out


def facet_axes(n: int, ax: Axes | None = None, *, figsize: tuple[float, float] | None = None,
               ncols: int | None = None, sharey: bool = True) -> tuple[Figure, list[Axes]]:
    """A grid of ``n`` small panels, in the place of ``ax`` or in a new figure.

    Parameters
    ----------
    n : int
        Number of panels (at least 1).
    ax : Axes, optional
        A panel of an existing figure to split (it is removed and its area reused), so a
        caller that lays out one Axes per figure gets small multiples in its place.
    figsize : (float, float), optional
        Size of a new figure (inches); default grows with the grid.
    ncols : int, optional
        Columns; default up to 4, as square as possible.
    sharey : bool, default True
        Share the y axis along each row (same scale for every app).

    Returns
    -------
    (Figure, list of Axes)
        The figure and the ``n`` panels in reading order; unused grid cells are not created.
    """
    n = max(1, int(n))
    ncols = ncols or min(n, 4, max(1, math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize or (2.0 + 3.2 * ncols, 0.8 + 2.8 * nrows), layout="constrained")
        grid = fig.add_gridspec(nrows, ncols)
    else:
        fig = ax.figure
        spec = ax.get_subplotspec()
        ax.remove()
        grid = spec.subgridspec(nrows, ncols)
    axes: list[Axes] = []
    for i in range(n):
        r = i // ncols
        share = axes[r * ncols] if sharey and i % ncols else None
        axes.append(fig.add_subplot(grid[r, i % ncols], sharey=share))
    return fig, axes


def fit_ticklabels(axes: Axes | Sequence[Axes], labels: Sequence[str], *, key_ax: Axes | None = None) -> str:
    """Set the x tick labels of panels so that none overlaps: horizontal, else rotated, else numbered.

    The labels' sizes are measured (``get_window_extent``) against the spacing of the
    ticks once the figure's layout is done, and the first fitting form is taken:
    horizontal; rotated 90 degrees; numbers 1..n with a key ``n = label`` added to the
    legend of ``key_ax`` (unless the figure shows that key already); every k-th number. A margin of 15 % allows for the layout
    moving a little when later panels are added.

    Parameters
    ----------
    axes : Axes or sequence of Axes
        Panels whose ticks are at x = 0..n-1 (the same labels on each).
    labels : sequence of str
        The full labels.
    key_ax : Axes, optional
        Where the key of numbered labels goes (default the last panel).

    Returns
    -------
    str
        What was done: ``"horizontal"``, ``"rotated90"``, ``"numbered"`` or ``"thinned"``.
    """
    panels = [axes] if hasattr(axes, "get_xticklabels") else list(axes)
    labels = [str(x) for x in labels]
    n = len(labels)
    ticks = list(range(n))
    fig = panels[0].figure
    for a in panels:
        a.set_xticks(ticks, labels, rotation=0, ha="center")
        a.set_xlim(-0.6, n - 0.4)
    if n <= 1:
        return "horizontal"
    fig.draw_without_rendering()
    renderer = fig._get_renderer()

    def spacing() -> float:
        # pixels between neighbouring ticks in the narrowest panel
        return min(a.get_window_extent(renderer).width / (n + 0.2) for a in panels)

    def size(texts: Sequence[str]) -> tuple[float, float]:
        probe = panels[0].get_xticklabels()[0]
        widths, heights = [], []
        for t in texts:
            probe.set_text(t)
            box = probe.get_window_extent(renderer)
            widths.append(box.width)
            heights.append(box.height)
        probe.set_text(labels[0])
        return max(widths), max(heights)

    margin = 1.15
    width, height = size(labels)
    gap = spacing()
    if width * margin + 2 < gap:
        return "horizontal"
    if height * margin + 2 < gap:
        for a in panels:
            a.set_xticks(ticks, labels, rotation=90, ha="center")
        return "rotated90"
    numbers = [str(i + 1) for i in ticks]
    key = [f"{i + 1} = {lab}" for i, lab in enumerate(labels)]
    shown = any(a.get_legend() is not None and [t.get_text() for t in a.get_legend().get_texts()][-n:] == key
                for a in fig.axes)
    if not shown:  # one key per figure: panels of a second metric in the same figure share it
        _add_key(key_ax or panels[-1], labels)
    for a in panels:
        a.set_xticks(ticks, numbers, rotation=0, ha="center")
    fig.draw_without_rendering()  # the key takes room beside the panels
    width, _ = size(numbers)
    gap = spacing()
    if width * margin + 2 < gap:
        return "numbered"
    step = max(2, math.ceil((width * margin + 2) / gap))
    for a in panels:
        a.set_xticks(ticks[::step], numbers[::step], rotation=0, ha="center")
    return "thinned"


def _add_key(ax: Axes, labels: Sequence[str]) -> None:
    """Append "n = label" entries (no marker) to the legend of ``ax``, outside on the right."""
    from matplotlib.lines import Line2D

    old = ax.get_legend()
    handles = list(old.legend_handles) if old is not None else []
    texts = [t.get_text() for t in old.get_texts()] if old is not None else []
    handles += [Line2D([], [], linestyle="none") for _ in labels]
    texts += [f"{i + 1} = {lab}" for i, lab in enumerate(labels)]
    ax.legend(handles, texts, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="xx-small", frameon=False,
              handlelength=0, handletextpad=0, labelspacing=0.2, ncols=math.ceil(len(labels) / 25))


def latency_cdf(runs: pd.DataFrame, ax: Axes | None = None, *, by_app: bool = True, logx: bool | None = None) -> Axes | Figure:
    """Empirical CDF of job latency per policy, pooled over seeds; one small panel per app.

    Parameters
    ----------
    runs : DataFrame
        Jobs of several runs with a ``policy`` column (and ``app``, ``latency_ms``);
        unfinished jobs (no latency) are left out.
    ax : Axes, optional
        Where to draw (with ``by_app`` its area is split into one panel per app); a new
        figure otherwise.
    by_app : bool, default True
        Small multiples: one panel per app (``gid`` ``facet:<app>``, titled with the
        app, sharing the latency axis), one line per policy in each. False draws one
        panel with one line per policy over all apps.
    logx : bool, optional
        Logarithmic latency axis; default when latencies span more than two decades.

    Returns
    -------
    Figure or Axes
        With ``by_app``, the Figure (one step line per (app, policy), ``gid``
        ``cdf:<app>:<policy>``, and one legend of the policies outside the panels);
        otherwise the Axes (lines ``cdf:<policy>``).
    """
    done = runs[runs["latency_ms"].notna()]
    policies = list(dict.fromkeys(runs["policy"].astype(str)))
    style = policy_styles(policies)
    lat = done["latency_ms"].to_numpy(dtype=float)
    lat = lat[lat > 0]
    if logx is None:
        logx = bool(len(lat)) and lat.max() / lat.min() > 100

    def draw(a: Axes, rows: pd.DataFrame, gid: str) -> None:
        for pol in policies:
            x = np.sort(rows.loc[rows["policy"].astype(str) == pol, "latency_ms"].to_numpy(dtype=float))
            if not len(x):
                continue
            y = np.concatenate([[0.0], np.arange(1, len(x) + 1) / len(x)])
            x = np.concatenate([[x[0]], x])
            a.step(x, y, where="post", color=style[pol]["color"], linestyle=style[pol]["linestyle"], label=pol,
                   gid=f"{gid}{pol}")
        if not len(rows):
            a.text(0.5, 0.5, "no finished jobs", ha="center", va="center", transform=a.transAxes, fontsize="small")
        if logx:
            from matplotlib.ticker import NullFormatter

            a.set_xscale("log")
            a.xaxis.set_minor_formatter(NullFormatter())  # minor labels (2x10^1 ...) would overprint the decades
        a.set_ylim(0.0, 1.02)
        a.grid(alpha=0.3)

    if not by_app:
        ax = _axes(ax, (8.0, 5.0))
        draw(ax, done, "cdf:")
        ax.set_xlabel("job latency (ms)")
        ax.set_ylabel("fraction of finished jobs")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="x-small", frameon=False,
                  ncols=1 if len(policies) <= 16 else 2)
        return ax
    apps = sorted(set(runs["app"].astype(str)))
    fig, axes = facet_axes(len(apps), ax, sharey=True)
    for a, app in zip(axes, apps, strict=True):
        draw(a, done[done["app"].astype(str) == app], f"cdf:{app}:")
        a.set_title(app, fontsize="small")
        a.set_gid(f"facet:{app}")
        a.tick_params(labelsize="x-small")
        a.set_xlabel("latency (ms)", fontsize="small")
    for a in axes:
        if a.get_subplotspec().colspan.start == 0:  # first column only: the rows share their y axis
            a.set_ylabel("fraction of finished jobs", fontsize="small")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=style[p]["color"], linestyle=style[p]["linestyle"], label=p) for p in policies]
    # one legend for all panels, beside the last one (constrained layout makes room for it)
    axes[-1].legend(handles=handles, title="policy", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="x-small",
                    frameon=False, ncols=1 if len(policies) <= 16 else 2)
    return fig


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


def rates_by_policy(table: pd.DataFrame, metric: str = "deadline_miss_rate", ax: Axes | None = None) -> Figure:
    """Bars of a metric per policy with 95% CI error bars: one small panel overall, then one per app.

    Parameters
    ----------
    table : DataFrame
        The summary of ``simsched compare`` (:func:`simsched.report.stats.summarize_runs`):
        policy, metric, mean, ci_low, ci_high. Per-app metrics are named
        ``apps.<app>.<metric>``.
    metric : str, default "deadline_miss_rate"
        The metric; rates (``*_rate``) are shown in percent.
    ax : Axes, optional
        Where to draw (its area is split into the panels); a new figure otherwise.

    Returns
    -------
    Figure
        One panel per group (``gid`` ``facet:all`` then ``facet:<app>`` in sorted order,
        titled, sharing the y axis), each with one bar container per policy (labelled
        with the policy, one bar). Error bars show the interval cut to [0, 100] % for
        rates (the table keeps the t-interval). Tick labels are fitted so none overlaps
        (:func:`fit_ticklabels`).
    """
    rows = table[[_split(m)[1] == metric for m in table["metric"]]].copy()
    rows["app"] = [_split(m)[0] or "" for m in rows["metric"]]  # "" for the overall value
    policies = list(dict.fromkeys(table["policy"].astype(str)))
    apps = sorted({a for a in rows["app"] if a})
    groups = [*([""] if (rows["app"] == "").any() else []), *apps] or [""]
    fig, axes = facet_axes(len(groups), ax, sharey=True)
    scale = 100.0 if metric.endswith("_rate") else 1.0
    colors = policy_colors(policies)
    bounds = (0.0, 1.0) if metric.endswith("_rate") else (None, None)
    x = np.arange(len(policies))
    top = float(np.nanmax(np.clip(rows[["mean", "ci_high"]].to_numpy(dtype=float), None, 1.0) * scale, initial=0.0)) if len(rows) else 0.0
    ylabel = metric.replace("_", " ") + (" (%)" if scale == 100.0 else "")
    for a, group in zip(axes, groups, strict=True):
        sel = rows[rows["app"] == group].set_index("policy").reindex(policies)
        for i, pol in enumerate(policies):
            one = sel.loc[[pol]]
            a.bar([x[i]], np.nan_to_num(one["mean"].to_numpy(dtype=float) * scale), 0.7, yerr=_err(one, scale, *bounds),
                  capsize=2, color=colors[pol], label=pol)
        a.set_title(group or "all", fontsize="small")
        a.set_gid(f"facet:{group or 'all'}")
        a.tick_params(labelsize="x-small")
        a.grid(axis="y", alpha=0.3)
        if metric.endswith("_rate"):  # all-zero rates still show an axis
            a.set_ylim(0.0, top * 1.1 if top > 0 else 1.0)
    axes[0].set_ylabel(ylabel, fontsize="small")
    fit_ticklabels(axes, policies, key_ax=axes[-1])
    return fig


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
        a panel says "no LLM requests" when the metric is missing. Tick labels are fitted
        so none overlaps (:func:`fit_ticklabels`).
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
        a.set_ylabel(label)
        a.grid(axis="y", alpha=0.3)
    fit_ticklabels(axes, policies, key_ax=axes[-1])
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
        One point with error bars (cut at 0) per policy (``gid`` ``point:<policy>``),
        each with its own colour and marker (:func:`policy_styles`); energy in J. The
        legend beside the axes names every policy; a point is also labelled in place
        (text ``gid`` ``label:<policy>``) only where the label overlaps no other label.
    """
    ax = _axes(ax, (6.0, 4.5))
    policies = list(dict.fromkeys(table["policy"].astype(str)))
    style = policy_styles(policies)
    lat = table[table["metric"] == "latency_mean_ms"].set_index("policy").reindex(policies)
    en = table[table["metric"] == "energy_mj"].set_index("policy").reindex(policies)
    notes = []
    for p in policies:
        x, y = float(lat.loc[p, "mean"]), float(en.loc[p, "mean"]) / 1000.0
        drawn = ax.errorbar([x], [y], xerr=_err(lat.loc[[p]]), yerr=_err(en.loc[[p]], 1e-3), fmt=style[p]["marker"],
                            capsize=3, color=style[p]["color"], label=p)
        drawn.lines[0].set_gid(f"point:{p}")
        if math.isfinite(x) and math.isfinite(y):
            notes.append(ax.annotate(p, (x, y), textcoords="offset points", xytext=(6, 6), fontsize="x-small",
                                     gid=f"label:{p}"))
    ax.set_xlabel("mean job latency (ms)")
    ax.set_ylabel("energy (J)")
    ax.grid(alpha=0.3)
    ax.legend(title="policy", fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
              ncols=1 if len(policies) <= 16 else 2)
    _declutter(ax, notes)
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


def _declutter(ax: Axes, notes: list[Any]) -> None:
    """Keep each point label at the first of a few offsets where it overlaps no kept label; drop it otherwise.

    The legend names every policy, so a dropped label loses nothing.
    """
    if not notes:
        return
    fig = ax.figure
    fig.draw_without_rendering()
    kept: list[Any] = []
    for note in notes:
        for offset in ((6, 6), (6, -12), (-6, 6), (-6, -12)):
            note.xyann = offset
            note.set_ha("left" if offset[0] > 0 else "right")
            box = note.get_window_extent()
            if not any(box.padded(1.0).overlaps(k.padded(1.0)) for k in kept):
                kept.append(box)
                break
        else:
            note.remove()


#: The metrics a sweep's figures show, when present in ``results.csv``.
SWEEP_METRICS = ("latency_mean_ms", "latency_p95_ms", "deadline_miss_rate", "energy_mj", "avg_power_w")


def read_sweep_results(sweep_dir: str | Path) -> pd.DataFrame:
    """``results.csv`` of a sweep directory, with the checks the figures need.

    Raises
    ------
    ConfigError
        The file is unreadable or not a sweep's results (one-line message).
    """
    from simsched.errors import ConfigError

    path = Path(sweep_dir) / "results.csv"
    try:
        res = pd.read_csv(path, keep_default_na=False, na_values={"": [""]}, dtype={"error": str, "run_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(str(path), "", f"cannot read the sweep results ({exc})") from None
    if "seed" not in res.columns:
        raise ConfigError(str(path), "", "not a sweep's results.csv (no seed column)")
    keys = list(res.columns[: list(res.columns).index("seed")])
    if not any(pd.api.types.is_numeric_dtype(res[k]) for k in keys):
        raise ConfigError(str(path), "", "no numeric swept key to draw on an x axis")
    return res


def sweep_figures(res: pd.DataFrame) -> list[tuple[str, Figure]]:
    """One figure per numeric swept key: each metric of :data:`SWEEP_METRICS` against it.

    Parameters
    ----------
    res : DataFrame
        A sweep's ``results.csv`` (:func:`read_sweep_results`): the swept keys come
        before the ``seed`` column.

    Returns
    -------
    list of (str, Figure)
        A file stem (``sweep_<key>``) and the figure, a line per combination of the
        other keys, with 95% bands across seeds (:func:`sweep_lines`).
    """
    from matplotlib.figure import Figure

    keys = list(res.columns[: list(res.columns).index("seed")])
    numeric = [k for k in keys if pd.api.types.is_numeric_dtype(res[k])]
    metrics = [m for m in SWEEP_METRICS if m in res.columns and pd.to_numeric(res[m], errors="coerce").notna().any()]
    out = []
    for x in numeric:
        others = [k for k in keys if k != x]
        fig = Figure(figsize=(4.2 * max(len(metrics), 1), 3.8), layout="constrained")
        axes = fig.subplots(1, max(len(metrics), 1), squeeze=False)[0]
        for ax, m in zip(axes, metrics, strict=False):
            sweep_lines(res, m, x, by=others, ax=ax)
        out.append((f"sweep_{''.join(c if c.isalnum() else '_' for c in x)}", fig))
    return out
