"""The figures' content: bars, rows, layers and lines drawn from the tables, not just files."""

from __future__ import annotations

import itertools
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # tests only: the library never selects a backend

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from simsched import simulate
from simsched.report import plots
from simsched.report.stats import summarize_runs
from tests.helpers import minimal


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _ax():
    return Figure().subplots()


def by_gid(ax, prefix: str) -> list:
    """Artists of ``ax`` whose gid starts with ``prefix``."""
    artists = [*ax.collections, *ax.lines, *ax.patches]
    return [a for a in artists if str(getattr(a, "get_gid", lambda: None)() or "").startswith(prefix)]


def legend_texts(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


# ----------------------------------------------------------------------------- synthetic run

SEGMENTS = pd.DataFrame(
    [
        # job, app, task, processor, start, end, freq
        (0, "camera", "detect", "cpu0", 0.0, 10.0, 1000.0),
        (1, "camera", "detect", "cpu0", 10.0, 18.0, 1000.0),
        (2, "chat", "llm", "gpu0", 5.0, 20.0, 800.0),  # frozen, then resumed on cpu0 (migrated)
        (2, "chat", "llm", "cpu0", 30.0, 45.0, 1000.0),
        (3, "camera", "detect", "gpu0", 50.0, 60.0, 800.0),
        (4, "chat", "llm", "gpu0", 100.0, 130.0, 800.0),
    ],
    columns=["job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz"],
)
TASKS = pd.DataFrame(
    [
        # job, app, task, model, processor, finish, freezes, migrations
        (0, "camera", "detect", "det", "cpu0", 10.0, 0, 0),
        (1, "camera", "detect", "det", "cpu0", 18.0, 0, 0),
        (2, "chat", "llm", "lm", "cpu0", 45.0, 1, 1),
        (3, "camera", "detect", "det", "gpu0", 60.0, 0, 0),
        (4, "chat", "llm", "lm", "gpu0", 130.0, 0, 0),
    ],
    columns=["job_id", "app", "task", "model", "processor", "finish_ms", "freezes", "migrations"],
)
JOBS = pd.DataFrame(
    {
        "job_id": [0, 1, 2, 3, 4],
        "app": ["camera", "camera", "chat", "camera", "chat"],
        "deadline_ms": [20.0, 30.0, 40.0, 55.0, np.nan],
        "missed": pd.array([False, False, True, True, None], dtype="boolean"),
    }
)
PROCS = ["cpu0", "gpu0", "npu0"]  # npu0 stays idle: an empty row


def test_gantt_one_collection_per_processor_row_and_one_rectangle_per_segment() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=_ax(), processors=PROCS)
    rows = by_gid(ax, "gantt:")
    assert [c.get_gid() for c in rows] == [f"gantt:{p}" for p in PROCS]
    assert all(isinstance(c, PolyCollection) for c in rows)
    expected = SEGMENTS.groupby("processor").size().reindex(PROCS, fill_value=0).tolist()
    assert [len(c.get_paths()) for c in rows] == expected == [3, 3, 0]
    assert [t.get_text() for t in ax.get_yticklabels()] == PROCS
    # the rectangles span the segments' times, on their processor's row
    cpu = rows[0].get_paths()
    xs = sorted((p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in cpu)
    assert xs == [(0.0, 10.0), (10.0, 18.0), (30.0, 45.0)]
    assert all(abs(p.vertices[:, 1].mean() - 0.0) < 0.5 for p in cpu)


def test_gantt_colours_by_app_and_legend_lists_the_apps() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, ax=_ax(), processors=PROCS)  # no jobs: no miss markers
    texts = legend_texts(ax)
    apps = sorted(SEGMENTS["app"].unique())
    assert texts[: len(apps)] == apps
    assert set(texts[len(apps):]) == {plots.MARKING_LABELS["frozen"], plots.MARKING_LABELS["migrated"]}
    colors = plots.app_colors(apps)
    faces = by_gid(ax, "gantt:cpu0")[0].get_facecolors()
    cpu_apps = SEGMENTS[SEGMENTS["processor"] == "cpu0"]["app"].tolist()
    for face, app in zip(faces, cpu_apps, strict=True):
        assert np.allclose(face, colors[app])
    assert not by_gid(ax, "deadline-miss")


def test_gantt_hatches_frozen_tasks_and_outlines_migrated_ones() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=_ax(), processors=PROCS)
    frozen = by_gid(ax, "gantt-frozen:")
    # job 2's task was frozen: both its segments (gpu0 and cpu0) are hatched
    assert sorted(c.get_gid() for c in frozen) == ["gantt-frozen:cpu0", "gantt-frozen:gpu0"]
    assert all(c.get_hatch() == plots.FROZEN_HATCH and len(c.get_paths()) == 1 for c in frozen)
    cpu = by_gid(ax, "gantt:cpu0")[0]
    widths = cpu.get_linewidths()
    migrated = [j == 2 for j in SEGMENTS[SEGMENTS["processor"] == "cpu0"]["job_id"]]
    assert [w > 1.0 for w in widths] == migrated
    # no white edges: segments that were not migrated have no edge at all
    edges = cpu.get_edgecolors()
    assert all(w == 0.0 for w, m in zip(widths, migrated, strict=True) if not m)
    assert not any(np.allclose(e[:3], 1.0) and e[3] > 0 for e in edges)


def test_gantt_marks_late_tasks_of_missed_jobs() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=_ax(), processors=PROCS)
    (marks,) = by_gid(ax, "deadline-miss")
    # job 2 (deadline 40) finished at 45 on cpu0 (row 0); job 3 (deadline 55) at 60 on gpu0 (row 1)
    assert sorted(zip(marks.get_xdata(), marks.get_ydata(), strict=True)) == [(45.0, 0), (60.0, 1)]
    assert plots.MARKING_LABELS["late"] in legend_texts(ax)


def test_gantt_window_keeps_the_segments_that_overlap_it() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=_ax(), t0=12.0, t1=55.0, processors=PROCS)
    rows = by_gid(ax, "gantt:")
    inside = SEGMENTS[(SEGMENTS["end_ms"] >= 12.0) & (SEGMENTS["start_ms"] <= 55.0)]
    assert sum(len(c.get_paths()) for c in rows) == len(inside) == 4
    for c in rows:  # clipped to the window
        for p in c.get_paths():
            assert p.vertices[:, 0].min() >= 12.0 and p.vertices[:, 0].max() <= 55.0
    assert ax.get_xlim() == (12.0, 55.0)
    (marks,) = by_gid(ax, "deadline-miss")
    assert list(marks.get_xdata()) == [45.0]  # the miss at 60 ms is outside


def test_gantt_splits_a_multi_slot_processor_into_lanes() -> None:
    seg = pd.DataFrame(
        [(0, "a", "t", "gpu", 0.0, 10.0, 1.0), (1, "a", "t", "gpu", 5.0, 15.0, 1.0), (2, "a", "t", "gpu", 12.0, 20.0, 1.0)],
        columns=SEGMENTS.columns,
    )
    tasks = pd.DataFrame({"job_id": [0, 1, 2], "app": "a", "task": "t", "processor": "gpu", "finish_ms": [10.0, 15.0, 20.0],
                          "freezes": 0, "migrations": 0})
    (row,) = by_gid(plots.gantt(tasks, seg, ax=_ax()), "gantt:")
    bottoms = [p.vertices[:, 1].min() for p in row.get_paths()]
    assert bottoms[0] != bottoms[1]  # overlapping: two lanes
    assert bottoms[2] == bottoms[0]  # the first lane is free again at 12 ms
    ax = plots.gantt(tasks, seg, ax=_ax())
    assert plots.MARKING_LABELS["lanes"] in legend_texts(ax)


def test_gantt_legend_of_all_markings_on_request() -> None:
    seg = SEGMENTS[SEGMENTS["job_id"].isin([0, 1])]  # no freeze, migration, lane or miss in this window
    tasks = TASKS[TASKS["job_id"].isin([0, 1])]
    assert legend_texts(plots.gantt(tasks, seg, ax=_ax())) == ["camera"]
    texts = legend_texts(plots.gantt(tasks, seg, ax=_ax(), markings="all"))
    assert texts == ["camera", *plots.MARKING_LABELS.values()]
    with pytest.raises(ValueError, match="markings"):
        plots.gantt(tasks, seg, ax=_ax(), markings="some")


def test_gantt_labels_wide_bars_with_their_model() -> None:
    fig = Figure(figsize=(12, 3))
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=fig.subplots(), processors=PROCS, labels=True)
    texts = [t for t in ax.texts if str(t.get_gid()).startswith("gantt-label:")]
    # a label per bar wide enough for its name; every bar of this run is (the window is 130 ms)
    assert len(texts) == len(SEGMENTS)
    by_row = {(t.get_gid(), t.get_text()) for t in texts}
    merged = SEGMENTS.merge(TASKS[["job_id", "task", "model"]], on=["job_id", "task"])
    assert by_row == {(f"gantt-label:{p}", m) for p, m in zip(merged["processor"], merged["model"], strict=True)}
    for t in texts:  # centred on a bar of its row
        x, _y = t.get_position()
        row = merged[merged["processor"] == t.get_gid().split(":", 1)[1]]
        assert any(np.isclose(x, (a + b) / 2) for a, b in zip(row["start_ms"], row["end_ms"], strict=True))
    # a narrow window leaves no room for names on short bars; none is written there
    narrow = SEGMENTS.assign(end_ms=SEGMENTS["start_ms"] + 0.01)
    narrow.loc[narrow.index[-1], "end_ms"] = 130.0
    ax = plots.gantt(TASKS, narrow, ax=Figure().subplots(), processors=PROCS, labels=True)
    assert len([t for t in ax.texts if str(t.get_gid()).startswith("gantt-label:")]) == 1
    assert not [t for t in plots.gantt(TASKS, SEGMENTS, ax=_ax()).texts if str(t.get_gid()).startswith("gantt-label")]


# ----------------------------------------------------------------------------- power and frequency

POWER = pd.DataFrame(
    [
        (0.0, "cpu0", 0.1), (0.0, "gpu0", 0.2), (0.0, "total", 0.8),
        (10.0, "cpu0", 1.1), (10.0, "total", 1.8),
        (25.0, "gpu0", 2.2), (25.0, "total", 3.8),
        (40.0, "cpu0", 0.1), (40.0, "total", 2.8),
    ],
    columns=["time_ms", "processor", "power_w"],
)


def _inside(collections, x: float, y: float) -> bool:
    return any(p.contains_point((x, y)) for c in collections for p in c.get_paths())


def test_power_trace_stacks_processors_and_static_up_to_the_total() -> None:
    ax = plots.power_trace(POWER, budget_w=3.0, ax=_ax(), t_end=60.0)
    layers = by_gid(ax, "power:")
    assert [c.get_gid() for c in layers] == ["power:static", "power:cpu0", "power:gpu0"]
    totals = POWER[POWER["processor"] == "total"]
    times = [*totals["time_ms"], 60.0]
    for (t0, t1), total in zip(itertools.pairwise(times), totals["power_w"], strict=True):
        mid = (t0 + t1) / 2
        assert _inside(layers, mid, total - 0.01), f"stack below the total at {mid} ms"
        assert not _inside(layers, mid, total + 0.01), f"stack above the total at {mid} ms"
        assert not _inside(layers[:1], mid, 0.5 + 0.01) and _inside(layers[:1], mid, 0.5 - 0.01)  # static = 0.5 W
    (line,) = by_gid(ax, "power-total")
    # the total line at each sample time equals the table's total
    x, y = line.get_xdata(), line.get_ydata()
    for t, w in zip(totals["time_ms"], totals["power_w"], strict=True):
        assert y[list(x).index(t)] == pytest.approx(w)
    assert x[-1] == 60.0  # held until the end of the run
    (budget,) = by_gid(ax, "budget")
    assert list(budget.get_ydata()) == [3.0, 3.0]
    assert "budget 3 W" in legend_texts(ax)


def test_power_trace_without_budget_draws_no_budget_line() -> None:
    ax = plots.power_trace(POWER, ax=_ax())
    assert not by_gid(ax, "budget")
    assert ax.get_xlim() == (0.0, 40.0)


def test_frequency_trace_one_step_line_per_domain() -> None:
    freq = pd.DataFrame([(0.0, "big", 2000.0), (0.0, "gpu", 900.0), (30.0, "big", 1000.0)], columns=["time_ms", "domain", "freq_mhz"])
    ax = plots.frequency_trace(freq, ax=_ax(), t_end=50.0)
    lines = by_gid(ax, "freq:")
    assert [ln.get_gid() for ln in lines] == ["freq:big", "freq:gpu"]
    assert list(lines[0].get_xdata()) == [0.0, 30.0, 50.0]
    assert list(lines[0].get_ydata()) == [2000.0, 1000.0, 1000.0]
    assert lines[0].get_drawstyle() == "steps-post"
    assert legend_texts(ax) == ["big", "gpu"]


# ----------------------------------------------------------------------------- comparisons


def _jobs_runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for policy in ("fifo", "affinity"):
        for seed in (1, 2):
            for app, n in (("camera", 30), ("chat", 10)):
                lat = rng.exponential(10.0, n)
                lat[0] = np.nan  # one unfinished job per group
                rows += [(policy, seed, app, v) for v in lat]
    return pd.DataFrame(rows, columns=["policy", "seed", "app", "latency_ms"])


def _facets(fig) -> dict[str, object]:
    return {str(ax.get_gid())[6:]: ax for ax in fig.axes if str(ax.get_gid()).startswith("facet:")}


def _no_overlap(texts) -> bool:
    boxes = [t.get_window_extent() for t in texts if t.get_visible() and t.get_text()]
    return not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_latency_cdf_one_panel_per_app_with_one_ecdf_per_policy() -> None:
    runs = _jobs_runs()
    ax = _ax()
    fig = plots.latency_cdf(runs, ax=ax)
    assert ax not in fig.axes  # its area was split into the facets
    facets = _facets(fig)
    assert list(facets) == ["camera", "chat"]
    for app, panel in facets.items():
        assert panel.get_title() == app
        lines = by_gid(panel, "cdf:")
        assert [ln.get_gid() for ln in lines] == [f"cdf:{app}:fifo", f"cdf:{app}:affinity"]
        for ln in lines:
            pol = ln.get_gid().split(":")[2]
            finished = runs[(runs["app"] == app) & (runs["policy"] == pol)]["latency_ms"].dropna()
            y = ln.get_ydata()
            assert len(y) == len(finished) + 1 and y[0] == 0.0 and y[-1] == pytest.approx(1.0)
            assert np.all(np.diff(y) >= 0)
            assert sorted(ln.get_xdata()[1:]) == sorted(finished)
    # one legend of the policies for all panels
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert len(legends) == 1 and [t.get_text() for t in legends[0].get_texts()] == ["fifo", "affinity"]
    ax = plots.latency_cdf(runs, ax=_ax(), by_app=False)
    assert [ln.get_gid() for ln in by_gid(ax, "cdf:")] == ["cdf:fifo", "cdf:affinity"]


def test_latency_cdf_many_policies_stay_distinguishable_and_legend_is_off_the_data() -> None:
    rng = np.random.default_rng(1)  # latencies over three decades: a log axis
    pols = [f"policy-{i}" for i in range(20)]
    runs = pd.DataFrame([(p, 1, a, v) for p in pols for a in ("camera", "chat", "voice") for v in rng.lognormal(1.0, 1.5, 8)],
                        columns=["policy", "seed", "app", "latency_ms"])
    fig = plots.latency_cdf(runs)
    assert len(_facets(fig)) == 3
    assert [a.get_ylabel() != "" for a in fig.axes] == [True, False, True]  # 2 columns: the first of each row
    looks = {(tuple(ln.get_color()), ln.get_linestyle()) for ln in by_gid(_facets(fig)["camera"], "cdf:")}
    assert len(looks) == 20
    fig.draw_without_rendering()
    (legend,) = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    box = legend.get_window_extent()
    assert not any(box.overlaps(a.get_window_extent()) for a in fig.axes)
    for a in fig.axes:  # on a log axis too, no tick labels overprint
        assert _no_overlap([t for t in a.get_xticklabels(which="both") if t.get_visible()])


def _summary() -> pd.DataFrame:
    runs = pd.DataFrame(
        {
            "policy": ["fifo"] * 3 + ["affinity"] * 3,
            "seed": [1, 2, 3] * 2,
            "deadline_miss_rate": [0.10, 0.20, 0.15, 0.05, 0.04, 0.06],
            "latency_mean_ms": [12.0, 13.0, 11.0, 6.0, 6.5, 5.5],
            "energy_mj": [20000.0, 21000.0, 22000.0, 25000.0, 24000.0, 26000.0],
            "ttft_mean_ms": [100.0, 110.0, 120.0, 80.0, 85.0, 90.0],
            "tokens_per_s_mean": [50.0, 52.0, 54.0, 60.0, 61.0, 62.0],
            "apps.camera.deadline_miss_rate": [0.2, 0.3, 0.25, 0.1, 0.05, 0.0],
            "apps.chat.deadline_miss_rate": [0.0, 0.1, 0.05, 0.0, 0.0, 0.0],
        }
    )
    return summarize_runs(runs)


def test_rates_by_policy_one_panel_overall_then_per_app_with_ci() -> None:
    table = _summary()
    fig = plots.rates_by_policy(table, "deadline_miss_rate", ax=_ax())
    facets = _facets(fig)
    assert list(facets) == ["all", "camera", "chat"]
    fifo = table.set_index(["policy", "metric"]).loc["fifo"]
    assert fifo.loc["apps.chat.deadline_miss_rate", "ci_low"] < 0  # so the cut is exercised
    for group, metric in (("all", "deadline_miss_rate"), ("camera", "apps.camera.deadline_miss_rate"),
                          ("chat", "apps.chat.deadline_miss_rate")):
        panel = facets[group]
        assert panel.get_title() == group
        bars = [c for c in panel.containers if isinstance(c, BarContainer)]
        assert [c.get_label() for c in bars] == ["fifo", "affinity"]
        assert [len(c.patches) for c in bars] == [1, 1]
        assert bars[0].patches[0].get_height() == pytest.approx(fifo.loc[metric, "mean"] * 100)
        # the error bar spans the CI, cut at 0 (a rate), in %
        (segments,) = bars[0].errorbar.lines[2]
        (seg,) = segments.get_segments()
        want = (max(fifo.loc[metric, "ci_low"], 0.0) * 100, fifo.loc[metric, "ci_high"] * 100)
        assert np.allclose(sorted(seg[:, 1]), want)
        assert [t.get_text() for t in panel.get_xticklabels()] == ["fifo", "affinity"]


def _many_policies_summary(n_policies: int, n_apps: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for i in range(n_policies):
        for seed in (1, 2, 3):
            row = {"policy": f"a-rather-long-policy-name-{i}", "seed": seed, "deadline_miss_rate": rng.random() * 0.2,
                   "drop_rate": rng.random() * 0.1, "latency_mean_ms": 50 + 3 * i + rng.random(),
                   "energy_mj": 20000.0 + 10 * i + 100 * rng.random(), "ttft_mean_ms": 100 + rng.random() * 10,
                   "tokens_per_s_mean": 50 + rng.random()}
            for a in range(n_apps):
                row[f"apps.app{a}.deadline_miss_rate"] = rng.random() * 0.3
            rows.append(row)
    return summarize_runs(pd.DataFrame(rows))


@pytest.mark.parametrize("n_policies", [3, 25])
def test_comparison_tick_labels_never_overlap(n_policies: int) -> None:
    table = _many_policies_summary(n_policies, 4)
    # laid out as `simsched compare --plots` lays them out
    fig = Figure(figsize=(11.0, 4.0), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    plots.rates_by_policy(table, "deadline_miss_rate", ax=a1)
    plots.rates_by_policy(table, "drop_rate", ax=a2)
    fig.draw_without_rendering()
    assert sum(str(a.get_gid()).startswith("facet:") for a in fig.axes) == 5 + 1  # miss: all + 4 apps; drop: all
    for ax in fig.axes:
        assert _no_overlap(ax.get_xticklabels()), ax.get_gid()
    llm = Figure(figsize=(9.0, 3.8), layout="constrained")
    plots.llm_by_policy(table, ax=llm.subplots(1, 2))
    llm.draw_without_rendering()
    for ax in llm.axes:
        labels = ax.get_xticklabels()
        assert _no_overlap(labels)
        if n_policies == 3:  # few policies keep their names
            assert [t.get_text() for t in labels] == [f"a-rather-long-policy-name-{i}" for i in range(3)]
    if n_policies == 25:  # too many to name under the bars: numbered, with the key in the legend, once per figure
        texts = legend_texts(llm.axes[-1])
        assert "1 = a-rather-long-policy-name-0" in texts and "25 = a-rather-long-policy-name-24" in texts
        keys = [a for a in fig.axes if any(t.startswith("1 = ") for t in legend_texts(a))]
        assert len(keys) == 1


def test_fit_ticklabels_steps_from_horizontal_to_rotated_to_numbered() -> None:
    for n, width, expected in ((3, 6.0, "horizontal"), (8, 4.0, "rotated90"), (60, 4.0, "thinned")):
        ax = Figure(figsize=(width, 3.0), layout="constrained").subplots()
        ax.bar(range(n), np.ones(n))
        labels = [f"policy-{i}" for i in range(n)]
        assert plots.fit_ticklabels(ax, labels) == expected
        if expected == "thinned":  # numbers under the bars, every name in the key
            assert legend_texts(ax) == [f"{i + 1} = policy-{i}" for i in range(n)]
            assert all(t.get_text().isdigit() for t in ax.get_xticklabels())
        ax.figure.draw_without_rendering()
        assert _no_overlap(ax.get_xticklabels())


def test_llm_by_policy_two_panels_with_a_bar_per_policy() -> None:
    fig = plots.llm_by_policy(_summary())
    assert len(fig.axes) == 2
    for ax, metric in zip(fig.axes, ("ttft_mean_ms", "tokens_per_s_mean"), strict=True):
        (bars,) = [c for c in ax.containers if isinstance(c, BarContainer) and c.get_label() == metric]
        assert len(bars.patches) == 2
        means = _summary().set_index(["policy", "metric"])["mean"]
        assert [p.get_height() for p in bars.patches] == pytest.approx([means[("fifo", metric)], means[("affinity", metric)]])
    no_llm = _summary()
    no_llm = no_llm[~no_llm["metric"].isin(["ttft_mean_ms", "tokens_per_s_mean"])]
    fig = plots.llm_by_policy(no_llm)
    assert all(any(t.get_text() == "no LLM requests" for t in ax.texts) for ax in fig.axes)


def test_energy_vs_latency_one_point_per_policy() -> None:
    table = _summary()
    ax = plots.energy_vs_latency(table, ax=_ax())
    means = table.set_index(["policy", "metric"])["mean"]
    points = {ln.get_gid(): (ln.get_xdata()[0], ln.get_ydata()[0]) for ln in ax.lines if str(ln.get_gid()).startswith("point:")}
    assert points.keys() == {"point:fifo", "point:affinity"}
    for p in ("fifo", "affinity"):
        assert points[f"point:{p}"] == pytest.approx((means[(p, "latency_mean_ms")], means[(p, "energy_mj")] / 1000))
    assert ax.get_ylabel() == "energy (J)"
    assert legend_texts(ax) == ["fifo", "affinity"]


def test_energy_vs_latency_point_labels_never_overprint() -> None:
    table = _many_policies_summary(30, 0)  # 30 points close together
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = plots.energy_vs_latency(table, ax=fig.subplots())
    fig.draw_without_rendering()
    labels = [t for t in ax.texts if str(t.get_gid()).startswith("label:")]
    assert 0 < len(labels) < 30  # some kept, the crowded ones dropped (the legend names them all)
    assert _no_overlap(labels)
    assert len(legend_texts(ax)) == 30
    looks = {(ln.get_color() if isinstance(ln.get_color(), str) else tuple(ln.get_color()), ln.get_marker())
             for ln in ax.lines if str(ln.get_gid()).startswith("point:")}
    assert len(looks) == 30


# ----------------------------------------------------------------------------- a real run


def test_figures_of_a_simulated_run(tmp_path) -> None:
    cfg = minimal()
    cfg["duration_ms"] = 2000
    r = simulate(cfg)
    ax = plots.gantt(r.tasks, r.segments, r.jobs, ax=_ax())
    (row,) = by_gid(ax, "gantt:")
    assert len(row.get_paths()) == len(r.segments) > 0
    assert legend_texts(ax) == ["camera"]
    ax = plots.power_trace(r.power, r.summary["budget_w"], ax=_ax(), t_end=r.summary["sim_end_ms"])
    assert [c.get_gid() for c in by_gid(ax, "power:")] == ["power:static", "power:cpu0"]
    written = plots.save_figure(ax.figure, tmp_path / "power", ("png", "svg"))
    assert [p.name for p in written] == ["power.png", "power.svg"]
    assert [p.name for p in plots.save_figure(ax.figure, tmp_path / "png")] == ["png.png"]  # PNG only by default
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in written[1].read_bytes()[:500]


def test_functions_create_a_figure_when_no_axes_is_given() -> None:
    ax = plots.power_trace(POWER)
    assert ax.figure is not None and by_gid(ax, "power-total")


def test_importing_the_library_selects_no_backend() -> None:
    code = "import sys, simsched.report.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
