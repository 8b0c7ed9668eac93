"""Result tables and XR metrics against straightforward row-by-row reference computations.

``build_result`` builds its tables column by column, and the XR metrics join and
look up with integer codes. Each test here recomputes the same thing the plain
way (Python loops over the engine's records or over table rows) and requires the
same values, dtypes and row order, on runs with the awkward cases: no jobs at
all, LLM tasks, dropped jobs, skipped (cascade) tasks, tasks that never got a
processor and jobs still in flight at the end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simsched.build import build_simulation
from simsched.config.loader import load_config
from simsched.engine.simulation import Simulation
from simsched.metrics.xr import EnergyModel, task_rows, uxcost_metrics, xrbench_score
from simsched.result import CSV_FLOAT, build_result
from simsched.workload.jobs import TaskState
from tests.helpers import minimal

RECORDS = ("jobs", "tasks", "segments", "freqs")  # the in-memory recorder's lists


def _mixed() -> dict[str, Any]:
    """Two processors whose index order (zeta, alpha) is not their name order, two DVFS
    domains under a governor, a camera pipeline that drops late frames and triggers its
    second stage with probability 0.5, and an LLM assistant; the run ends mid-flight."""
    cfg = minimal()
    cfg["duration_ms"] = 900
    cfg["policy"] = {"name": "fifo", "governor": "ondemand"}
    plat = cfg["platform"]
    plat["domains"]["big"] = {"opps": [[800, 700], [1600, 900]], "switch_ms": 0.05}
    plat["processors"] = {
        "zeta": {"kind": "cpu", "domain": "little", "capacity": 1, "idle_w": 0.05, "busy_w": 1.0},
        "alpha": {"kind": "gpu", "domain": "big", "capacity": 2, "idle_w": 0.1, "busy_w": 3.0},
    }
    plat["models"] = {
        "det": {"latency_ms": {"zeta": 9.0, "alpha": 6.0}, "default_processor": "zeta", "activity": 0.8},
        "cls": {"latency_ms": {"alpha": 4.0}, "segments": 3},
        "chat": {
            "kind": "llm", "activity": 1.0, "default_processor": "alpha",
            "llm": {"prefill_ms_per_token": {"alpha": 0.05}, "decode_ms_per_token": {"alpha": 0.5},
                    "prompt_tokens": 64, "output_tokens": 12, "decode_activity": 0.4},
        },
    }
    cfg["workload"]["apps"] = {
        "camera": {
            "arrival": {"type": "poisson", "rate_hz": 110}, "deadline_ms": 25, "late": "drop",
            "graph": {"detect": {"model": "det"}, "classify": {"model": "cls", "after": {"detect": {"prob": 0.5}}}},
        },
        "assistant": {
            "arrival": {"type": "trace", "times_ms": [0.0, 10.0, 300.0, 890.0]}, "deadline_ms": 400,
            "graph": {"ask": {"model": "chat"}},
        },
        # Starts on zeta at t = 0, when the assistant's first request starts on alpha.
        "probe": {"arrival": {"type": "trace", "times_ms": [0.0, 10.0]}, "graph": {"p": {"model": "det"}}},
    }
    return cfg


def _run(cfg: dict[str, Any]) -> tuple[Simulation, dict[str, list], Any]:
    loaded = load_config(cfg)
    sim = build_simulation(loaded).run()
    records = {name: list(getattr(sim.recorder, name)) for name in RECORDS}
    return sim, records, build_result(sim, loaded)


@pytest.fixture(scope="module")
def mixed() -> tuple[Simulation, dict[str, list], Any]:
    return _run(_mixed())


# ------------------------------------------------------------ reference tables


def _ref_jobs(rows: list[tuple], apps: list[str], end_ms: float) -> pd.DataFrame:
    out: dict[str, list] = {c: [] for c in (
        "job_id", "app", "arrival_ms", "finish_ms", "deadline_ms", "latency_ms", "missed", "dropped", "end_ms", "user")}
    for jid, app, arrival, finish, deadline, dropped, end, user in sorted(rows, key=lambda r: r[0]):
        if math.isnan(finish):
            missed = True if dropped or deadline <= end_ms else None
        else:
            missed = finish > deadline
        for c, v in zip(out, (jid, apps[app], arrival, finish, math.nan if math.isinf(deadline) else deadline,
                              finish - arrival, missed, dropped, end, user), strict=True):
            out[c].append(v)
    df = pd.DataFrame(out)
    df["missed"] = pd.array(out["missed"], dtype="boolean")
    return df


def _ref_tasks(rows: list[tuple], apps: list[str], procs: list[str]) -> pd.DataFrame:
    cols = ("job_id", "app", "task", "model", "processor", "state", "ready_ms", "start_ms", "finish_ms",
            "first_token_ms", "prompt_tokens", "output_tokens", "freezes", "migrations", "preds", "work_factor")
    data = []
    for r in sorted(rows, key=lambda r: r[0]):  # stable: a job's tasks keep their order
        r = list(r)
        r[1] = apps[r[1]]
        r[4] = procs[r[4]] if r[4] >= 0 else ""
        r[5] = TaskState(r[5]).name.lower()
        data.append(r)
    return pd.DataFrame({c: [r[i] for r in data] for i, c in enumerate(cols)})


def _ref_segments(rows: list[tuple], apps: list[str], procs: list[str]) -> pd.DataFrame:
    cols = ("job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz", "phase")
    data = sorted(rows, key=lambda r: (r[4], r[3], r[0]))  # start, processor index, job id; stable
    data = [(r[0], apps[r[1]], r[2], procs[r[3]], *r[4:]) for r in data]
    return pd.DataFrame({c: [r[i] for r in data] for i, c in enumerate(cols)})


def _check_tables(sim: Simulation, rec: dict[str, list], result: Any) -> None:
    apps = [a.name for a in sim.apps]
    procs = [p.name for p in sim.platform.processors]
    expected = {
        "jobs": _ref_jobs(rec["jobs"], apps, sim.sim_end_ms),
        "tasks": _ref_tasks(rec["tasks"], apps, procs),
        "segments": _ref_segments(rec["segments"], apps, procs),
        "frequency": pd.DataFrame({
            "time_ms": [r[0] for r in rec["freqs"]],
            "domain": [sim.platform.domains[r[1]].name for r in rec["freqs"]],
            "freq_mhz": [r[2] for r in rec["freqs"]],
        }),
    }
    for name, want in expected.items():
        got = getattr(result, name)
        assert got.dtypes.to_dict() == want.dtypes.to_dict(), name
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)


# ------------------------------------------------------------ tables


def test_tables_match_a_row_by_row_build(mixed) -> None:
    sim, rec, r = mixed
    t, j = r.tasks, r.jobs
    # The run has every awkward case the tables must carry.
    assert t["first_token_ms"].notna().any() and (t["output_tokens"] > 0).any()
    assert j["dropped"].any() and j["missed"].isna().any() and j["finish_ms"].isna().any()
    assert (t["state"] == "skipped").any() and (t["processor"] == "").any()
    assert (r.segments["phase"] >= 1).any() and r.segments["freq_mhz"].nunique() > 1
    assert (t["preds"] == "detect").any()
    _check_tables(sim, rec, r)


def test_segments_sort_by_processor_index_not_name(mixed) -> None:
    _, _, r = mixed
    s = r.segments
    # At t = 0 the probe (job 1) starts on zeta (index 0) and the assistant (job 0) on
    # alpha (index 1): zeta's row comes first, although "alpha" sorts first by name and
    # job 0 before job 1.
    at = s.loc[s["start_ms"] == 0.0, ["processor", "job_id"]]
    assert at.values.tolist() == [["zeta", 1], ["alpha", 0]]


def test_build_result_releases_the_records(mixed) -> None:
    sim, rec, r = mixed
    assert all(len(rec[name]) for name in RECORDS)
    for name in (*RECORDS, "power_t", "power_p", "power_w"):
        assert len(getattr(sim.recorder, name)) == 0, name
    assert len(r.power) > 0 and r.summary["energy_mj"] > 0


def test_a_run_without_jobs_has_empty_typed_tables(mixed) -> None:
    _, rec, r = _run({**minimal(), "duration_ms": 1.0})  # the first arrival is at 7.4 ms
    assert not rec["jobs"] and not rec["tasks"] and not rec["segments"]
    for name in ("jobs", "tasks", "segments"):
        df = getattr(r, name)
        assert df.empty
        # The same columns and dtypes as a run with rows.
        assert df.dtypes.to_dict() == getattr(mixed[2], name).dtypes.to_dict(), name
        assert df.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n") == ",".join(df.columns) + "\n"
    s = r.summary
    assert s["overall"]["jobs_arrived"] == 0 and s["overall"]["uxcost"] is None and s["xrbench_score"] is None
    assert s["apps"] == {} and s["utilization"] == {"cpu0": 0.0}
    assert len(r.frequency) == 1 and len(r.power) == 2


# ------------------------------------------------------------ energy


def _ref_segment_energy(model: EnergyModel, seg: pd.DataFrame, tasks: pd.DataFrame) -> list[float]:
    """Per segment: duration x activity of its phase x dynamic power per slot, one row at a time."""
    by_key = {(row.job_id, row.task): row for row in tasks.itertuples(index=False)}
    plat = model.platform
    procs = {p.name: p for p in plat.processors}
    out = []
    for s in seg.itertuples(index=False):
        m = plat.models[by_key[(s.job_id, s.task)].model]
        act = m.llm.decode_activity if (m.llm is not None and s.phase >= 1) else m.activity
        p = procs[s.processor]
        out.append((s.end_ms - s.start_ms) * act * (p.dyn_w[p.domain.opp_index(s.freq_mhz)] / p.capacity))
    return out


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """The table as a reader without dtype options would give it: strings in object columns."""
    return pd.DataFrame({c: (df[c].astype(object) if df[c].dtype == "str" else df[c]) for c in df.columns})


def test_segment_and_task_energy_match_row_by_row_sums(mixed) -> None:
    sim, _, r = mixed
    model = EnergyModel(sim.platform)
    want = _ref_segment_energy(model, r.segments, r.tasks)
    for seg, tasks in ((r.segments, r.tasks), (_plain(r.segments), _plain(r.tasks))):
        assert model.segment_energy_mj(seg, tasks).tolist() == want
    per_task: dict[tuple, list[float]] = {}
    for s, e in zip(r.segments.itertuples(index=False), want, strict=True):
        per_task.setdefault((s.job_id, s.task), []).append(e)
    # Rows in another order and with a non-default index: values follow the rows.
    tasks = r.tasks.sample(frac=1.0, random_state=3)
    got = model.task_energy_mj(tasks, r.segments)
    assert got.index.equals(tasks.index)
    for (jid, name), e in zip(zip(tasks["job_id"], tasks["task"], strict=True), got, strict=True):
        parts = per_task.get((jid, name), [])
        assert e == pytest.approx(math.fsum(parts), rel=1e-13, abs=0.0), (jid, name)
        if len(parts) <= 1:
            assert e == (parts[0] if parts else 0.0)
    never_ran = (tasks["processor"] == "").to_numpy()
    assert never_ran.any() and (got.to_numpy()[never_ran] == 0.0).all()


def test_task_energy_without_segments_is_zero_and_unknown_tasks_fail(mixed) -> None:
    sim, _, r = mixed
    model = EnergyModel(sim.platform)
    tasks = r.tasks.iloc[5:9]
    e = model.task_energy_mj(tasks, r.segments.iloc[:0])
    assert e.index.equals(tasks.index) and (e == 0.0).all()
    assert model.segment_energy_mj(r.segments.iloc[:0], tasks).shape == (0,)
    with pytest.raises(ValueError, match="has no row in tasks"):
        model.task_energy_mj(r.tasks.iloc[:3], r.segments)
    # Task names the tasks table does not know at all fail the same way.
    bad = r.segments.head(2).assign(task="nonexistent")
    with pytest.raises(ValueError, match="nonexistent"):
        task_rows(r.tasks, bad)


# ------------------------------------------------------------ UXCost and XRBench score


def _ref_uxcost_apps(jobs: pd.DataFrame, tasks: pd.DataFrame, energy: pd.Series, model: EnergyModel,
                     e_window: float, window: float) -> dict[str, float | None]:
    ids = set(jobs["job_id"])
    dyn: dict[str, float] = {}
    for app, jid, e in zip(tasks["app"], tasks["job_id"], energy, strict=True):
        if jid in ids:
            dyn[app] = dyn.get(app, 0.0) + e
    base = model.baseline_w(None) * window
    total = sum(dyn.values()) + base
    out: dict[str, float | None] = {}
    for app in sorted(set(jobs["app"])):
        g = jobs[jobs["app"] == app]
        decided = [m for m in g["missed"] if m is not pd.NA]
        on_time = len(decided) - sum(bool(m) for m in decided)
        share = (dyn.get(app, 0.0) + base * len(g) / len(jobs)) / total
        out[app] = e_window * share / on_time if on_time else None
    return out


def test_uxcost_per_app_matches_a_row_by_row_attribution(mixed) -> None:
    sim, _, r = mixed
    model = EnergyModel(sim.platform)
    s = r.summary
    warm = 200.0
    jobs = r.jobs[r.jobs["arrival_ms"] >= warm]
    kw = {"energy_mj": s["energy_mj"], "sim_end_ms": s["sim_end_ms"], "warmup_ms": warm, "model": model}
    ux = uxcost_metrics(jobs, r.tasks, r.segments, **kw)
    energy = model.task_energy_mj(r.tasks, r.segments)
    # One energy series for all tasks gives exactly what the window's own rows give.
    assert uxcost_metrics(jobs, r.tasks, r.segments, **kw, task_energy_mj=energy) == ux
    assert uxcost_metrics(_plain(jobs), _plain(r.tasks), _plain(r.segments), **kw) == ux
    window = s["sim_end_ms"] - warm
    want = _ref_uxcost_apps(jobs, r.tasks, energy, model, s["energy_mj"] * window / s["sim_end_ms"], window)
    assert set(ux["apps"]) == set(want) == {"assistant", "camera"}
    for app, v in want.items():
        assert ux["apps"][app] == (None if v is None else pytest.approx(v, rel=1e-12)), app


def _ref_xrbench(
    jobs: pd.DataFrame, tasks: pd.DataFrame, energy: pd.Series, sim_end_ms: float, unfinished: str = "unlogged"
) -> dict[str, dict]:
    job = {row.job_id: row for row in jobs.itertuples(index=False)}
    frames: dict[str, list[tuple[float, bool, bool]]] = {}
    for t, e in zip(tasks.itertuples(index=False), energy, strict=True):
        j = job.get(t.job_id)
        if j is None or t.state == "skipped":
            continue
        if t.state == "done":
            rt = 1.0 / (1.0 + math.exp(15.0 * (t.finish_ms - j.deadline_ms))) if t.finish_ms - j.deadline_ms < 40 else 0.0
            frames.setdefault(t.model, []).append((rt * (1500.0 - e) / 1500.0, False, True))
        elif j.dropped:
            frames.setdefault(t.model, []).append((0.0, True, False))
        elif unfinished == "zero" and j.deadline_ms <= sim_end_ms:
            frames.setdefault(t.model, []).append((0.0, False, False))
    out = {}
    for name, f in frames.items():
        n, nd = len(f), sum(d for _, d, _ in f)
        out[name] = {"score": sum(v for v, _, _ in f) / n * (1.0 - nd / n), "frames": n, "dropped_frames": nd}
    return out


def test_xrbench_score_matches_a_frame_by_frame_count(mixed) -> None:
    sim, _, r = mixed
    model = EnergyModel(sim.platform)
    end = r.summary["sim_end_ms"]
    jobs = r.jobs[r.jobs["arrival_ms"] >= 100.0]
    energy = model.task_energy_mj(r.tasks, r.segments)
    # The energy charged per inference: above idle plus the idle power held while running.
    charged = energy + model.task_idle_energy_mj(r.tasks, r.segments)
    for unfinished in ("unlogged", "zero"):
        got = xrbench_score(jobs, r.tasks, r.segments, model, sim_end_ms=end, unfinished=unfinished)
        kw = {"sim_end_ms": end, "unfinished": unfinished}
        assert xrbench_score(jobs, r.tasks, r.segments, model, **kw, task_energy_mj=energy) == got
        assert xrbench_score(_plain(jobs), _plain(r.tasks), _plain(r.segments), model, **kw) == got
        want = _ref_xrbench(jobs, r.tasks, charged, end, unfinished)
        assert got is not None and list(got["models"]) == sorted(want)
        assert any(m["dropped_frames"] for m in want.values())
        for name, m in want.items():
            g = got["models"][name]
            assert (g["frames"], g["dropped_frames"]) == (m["frames"], m["dropped_frames"]), name
            assert g["score"] == pytest.approx(m["score"], rel=1e-12, abs=1e-15), name
        assert got["overall"] == pytest.approx(100.0 * np.mean([m["score"] for m in want.values()]), rel=1e-12)
    # The summary reports the same metrics for its own window (warmup 0).
    assert r.summary["xrbench_score"] == xrbench_score(r.jobs, r.tasks, r.segments, model, sim_end_ms=end)


def test_summary_llm_metrics_per_app(mixed) -> None:
    _, _, r = mixed
    arrival = r.jobs.set_index("job_id")["arrival_ms"]
    llm = r.tasks[r.tasks["first_token_ms"].notna()]
    ttft = [ft - arrival[j] for j, ft in zip(llm["job_id"], llm["first_token_ms"], strict=True)]
    a = r.summary["apps"]["assistant"]
    assert a["llm_requests"] == len(llm) == r.summary["overall"]["llm_requests"]
    assert a["ttft_mean_ms"] == pytest.approx(float(np.mean(ttft)), rel=1e-12)
    assert "llm_requests" not in r.summary["apps"]["camera"]
