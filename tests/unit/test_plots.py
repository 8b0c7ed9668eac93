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
    assert set(texts[len(apps):]) == {"frozen & resumed", "migrated"}
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


def test_gantt_marks_late_tasks_of_missed_jobs() -> None:
    ax = plots.gantt(TASKS, SEGMENTS, JOBS, ax=_ax(), processors=PROCS)
    (marks,) = by_gid(ax, "deadline-miss")
    # job 2 (deadline 40) finished at 45 on cpu0 (row 0); job 3 (deadline 55) at 60 on gpu0 (row 1)
    assert sorted(zip(marks.get_xdata(), marks.get_ydata(), strict=True)) == [(45.0, 0), (60.0, 1)]
    assert "finished after deadline" in legend_texts(ax)


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


def test_latency_cdf_one_ecdf_per_app_and_policy() -> None:
    runs = _jobs_runs()
    ax = plots.latency_cdf(runs, ax=_ax())
    lines = by_gid(ax, "cdf:")
    assert sorted(ln.get_gid() for ln in lines) == sorted(f"cdf:{a}:{p}" for a in ("camera", "chat") for p in ("fifo", "affinity"))
    for ln in lines:
        _, app, pol = ln.get_gid().split(":")
        finished = runs[(runs["app"] == app) & (runs["policy"] == pol)]["latency_ms"].dropna()
        y = ln.get_ydata()
        assert len(y) == len(finished) + 1 and y[0] == 0.0 and y[-1] == pytest.approx(1.0)
        assert np.all(np.diff(y) >= 0)
        assert sorted(ln.get_xdata()[1:]) == sorted(finished)
    ax = plots.latency_cdf(runs, ax=_ax(), by_app=False)
    assert [ln.get_gid() for ln in by_gid(ax, "cdf:")] == ["cdf:fifo", "cdf:affinity"]


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


def test_rates_by_policy_grouped_bars_with_ci() -> None:
    table = _summary()
    ax = plots.rates_by_policy(table, "deadline_miss_rate", ax=_ax())
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == ["fifo", "affinity"]
    assert [len(c.patches) for c in bars] == [3, 3]  # all, camera, chat
    assert [t.get_text() for t in ax.get_xticklabels()] == ["all", "camera", "chat"]
    fifo = table.set_index(["policy", "metric"]).loc["fifo"]
    heights = [p.get_height() for p in bars[0].patches]
    expected = [fifo.loc[m, "mean"] * 100 for m in ("deadline_miss_rate", "apps.camera.deadline_miss_rate", "apps.chat.deadline_miss_rate")]
    assert heights == pytest.approx(expected)
    # error bars span the CI, cut at 0 (a rate): one vertical segment per bar from ci_low to ci_high (in %)
    (segments,) = bars[0].errorbar.lines[2]
    ys = sorted(tuple(sorted(s[:, 1])) for s in segments.get_segments())
    assert fifo.loc["apps.chat.deadline_miss_rate", "ci_low"] < 0  # so the cut is exercised
    want = sorted((max(fifo.loc[m, "ci_low"], 0.0) * 100, fifo.loc[m, "ci_high"] * 100)
                  for m in ("deadline_miss_rate", "apps.camera.deadline_miss_rate", "apps.chat.deadline_miss_rate"))
    assert np.allclose(ys, want)


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
    written = plots.save_figure(ax.figure, tmp_path / "power")
    assert [p.name for p in written] == ["power.png", "power.svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in written[1].read_bytes()[:500]


def test_functions_create_a_figure_when_no_axes_is_given() -> None:
    ax = plots.power_trace(POWER)
    assert ax.figure is not None and by_gid(ax, "power-total")


def test_importing_the_library_selects_no_backend() -> None:
    code = "import sys, simsched.report.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
