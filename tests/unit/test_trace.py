"""The Perfetto (Chrome trace-event JSON) export and the plot/trace commands on run directories."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsched import simulate
from simsched.cli import main
from simsched.report import read_run
from simsched.report.trace import assign_lanes, chrome_trace, write_trace
from simsched.result import Result
from tests.helpers import minimal


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def result() -> Result:
    """Two processors (a slow CPU and a GPU with two slots) so the trace has several tracks."""
    cfg = minimal()
    cfg["duration_ms"] = 3000
    cfg["policy"] = "affinity"
    cfg["platform"]["processors"]["gpu0"] = {"kind": "gpu", "domain": "little", "capacity": 2, "idle_w": 0.1, "busy_w": 2.0}
    cfg["platform"]["models"]["detector"]["latency_ms"] = {"gpu0": 30.0}  # overlaps on the GPU's two slots
    cfg["platform"]["models"]["detector"]["variability"] = {"type": "exponential"}
    cfg["platform"]["models"]["tiny"] = {"latency_ms": {"cpu0": 2.0}}
    cfg["workload"]["apps"]["audio"] = {"arrival": {"type": "poisson", "rate_hz": 20}, "graph": {"listen": {"model": "tiny"}}}
    return simulate(cfg)


@pytest.fixture(scope="module")
def run_dir(result: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return result.write(tmp_path_factory.mktemp("trace") / "run")


def events(doc: dict, ph: str, name: str | None = None) -> list[dict]:
    return [e for e in doc["traceEvents"] if e["ph"] == ph and (name is None or e["name"] == name)]


def test_event_counts_match_the_tables(result: Result) -> None:
    doc = chrome_trace(result)
    assert len(events(doc, "X")) == len(result.segments) > 0
    counters = events(doc, "C")
    assert len(counters) == len(result.power) + len(result.frequency)
    assert sum(e["name"].endswith(" power") for e in counters) == len(result.power)
    assert sum(e["name"].endswith(" freq") for e in counters) == len(result.frequency)
    n_total = int((result.power["processor"] == "total").sum())
    assert len(events(doc, "C", "total power")) == n_total > 0


def test_times_are_in_microseconds(result: Result) -> None:
    doc = chrome_trace(result)
    xs = events(doc, "X")
    seg = result.segments.sort_values(["start_ms", "processor", "job_id"], kind="stable")
    for e, (_, s) in zip(xs[:50], seg.head(50).iterrows(), strict=True):
        assert e["ts"] == pytest.approx(s["start_ms"] * 1000, abs=1e-3)
        assert e["dur"] == pytest.approx((s["end_ms"] - s["start_ms"]) * 1000, abs=1e-3)
        assert e["name"] == f"{s['app']}:{s['task']}"
        assert e["args"]["job_id"] == s["job_id"]
        assert e["args"]["model"] == {"camera": "detector", "audio": "tiny"}[s["app"]]
        assert e["args"]["freq_mhz"] == s["freq_mhz"]
        assert e["pid"] == 1
    last = result.power.iloc[-1]
    assert events(doc, "C")[len(result.power) - 1]["ts"] == pytest.approx(last["time_ms"] * 1000, abs=1e-3)
    assert events(doc, "C")[len(result.power) - 1]["args"] == {"W": pytest.approx(last["power_w"])}


def test_metadata_names_the_tracks(result: Result) -> None:
    doc = chrome_trace(result)
    (proc,) = events(doc, "M", "process_name")
    assert proc["args"]["name"].startswith("one-core")
    names = {e["tid"]: e["args"]["name"] for e in events(doc, "M", "thread_name")}
    # cpu0 runs one task at a time; gpu0 has two slots in use: one track per slot
    assert sorted(names.values()) == ["cpu0", "gpu0 #0", "gpu0 #1", "jobs"]
    assert {e["tid"] for e in events(doc, "X")} <= set(names)
    for tid, name in names.items():
        if name == "jobs":
            continue
        on_track = [e for e in events(doc, "X") if e["tid"] == tid]
        assert all(e["args"]["processor"] == name.split(" ")[0] for e in on_track)
        ends = np.array([e["ts"] + e["dur"] for e in on_track])
        starts = np.array([e["ts"] for e in on_track])
        assert np.all(starts[1:] >= ends[:-1] - 1e-3), f"events overlap on track {name}"


def test_trace_is_valid_json(result: Result, tmp_path: Path) -> None:
    path = write_trace(result, tmp_path / "sub" / "trace.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["displayTimeUnit"] == "ms"
    assert doc["otherData"]["policy"] == "affinity"
    assert len(doc["traceEvents"]) == len(chrome_trace(result)["traceEvents"])
    for e in doc["traceEvents"]:
        assert {"name", "ph", "pid"} <= e.keys()
        assert e["ph"] in {"M", "X", "C", "i", "s", "f"}


def test_assign_lanes_reuses_free_lanes() -> None:
    starts = np.array([0.0, 1.0, 2.0, 10.0, 3.0])
    ends = np.array([5.0, 3.0, 4.0, 11.0, 6.0])
    assert assign_lanes(starts, ends).tolist() == [0, 1, 2, 0, 1]


def test_read_run_gives_the_same_trace(result: Result, run_dir: Path) -> None:
    back = read_run(run_dir)
    assert back.jobs["missed"].dtype == "boolean"
    a, b = chrome_trace(result), chrome_trace(back)
    assert [e["name"] for e in a["traceEvents"] if e["ph"] != "M"] == [e["name"] for e in b["traceEvents"] if e["ph"] != "M"]
    ta = [e["ts"] for e in a["traceEvents"] if e["ph"] != "M"]
    tb = [e["ts"] for e in b["traceEvents"] if e["ph"] != "M"]
    assert np.allclose(ta, tb, atol=2e-3)


def test_trace_and_plot_commands(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    code, _stdout, err = run_main(["trace", str(run_dir), "-o", str(out)])
    assert code == 0, err
    assert len(events(json.loads(out.read_text()), "X")) == len(pd.read_csv(run_dir / "segments.csv"))
    fig = tmp_path / "fig"
    code, _stdout, err = run_main(["plot", str(run_dir), "--out", str(fig), "--kind", "gantt", "--from-ms", "100", "--to-ms", "600"])
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["gantt.png"]  # PNG by default
    code, _stdout, err = run_main(["plot", str(run_dir), "--out", str(tmp_path / "svg"), "--kind", "power", "--svg"])
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "svg").iterdir()) == ["power.png", "power.svg"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["trace", "{missing}"], "not a directory"),
        (["plot", "{empty}"], "missing jobs.csv"),
        (["plot", "{run}", "--from-ms", "500", "--to-ms", "100"], "--to-ms"),
        (["plot", "{run}", "--from-ms", "soon"], "expected a time in ms"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], fragment: str, run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    subst = {"{missing}": str(tmp_path / "nope"), "{empty}": str(tmp_path / "empty"), "{run}": str(run_dir)}
    code, _stdout, err = run_main([subst.get(a, a) for a in argv])
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert fragment in err


# ------------------------------------------------- instants, flows, time window

REQUIRED = {
    "M": {"name", "ph", "pid", "tid", "args"},
    "X": {"name", "ph", "ts", "dur", "pid", "tid"},
    "C": {"name", "ph", "ts", "pid", "args"},
    "i": {"name", "ph", "ts", "pid", "tid", "s"},
    "s": {"name", "cat", "ph", "ts", "pid", "tid", "id"},
    "f": {"name", "cat", "ph", "ts", "pid", "tid", "id"},
}


def check_format(doc: dict) -> None:
    """The Chrome trace-event format: an object with traceEvents, required keys per phase."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    for e in doc["traceEvents"]:
        assert e["ph"] in REQUIRED, e
        assert REQUIRED[e["ph"]] <= e.keys(), e
        if "ts" in e:
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
        if e["ph"] == "i":
            assert e["s"] in {"g", "p", "t"}
        if e["ph"] == "f":
            assert e.get("bp") == "e"


def test_instant_events_follow_the_jobs_table(result: Result) -> None:
    doc = json.loads(json.dumps(chrome_trace(result)))
    check_format(doc)
    jobs, end = result.jobs, result.summary["sim_end_ms"]
    (jobs_tid,) = [e["tid"] for e in events(doc, "M", "thread_name") if e["args"]["name"] == "jobs"]
    arrivals = events(doc, "i", "arrival")
    assert sorted(e["args"]["job_id"] for e in arrivals) == sorted(jobs["job_id"])
    assert all(e["tid"] == jobs_tid for e in arrivals)
    by_id = jobs.set_index("job_id")
    for e in arrivals:
        assert e["ts"] == pytest.approx(by_id.loc[e["args"]["job_id"], "arrival_ms"] * 1000.0, abs=1e-3)
    deadlines = [e for e in events(doc, "i") if e["cat"] == "deadline"]
    due = jobs[jobs["deadline_ms"] <= end]
    assert len(deadlines) == len(due) > 0
    missed = {e["args"]["job_id"] for e in deadlines if e["name"] == "deadline missed"}
    met = {e["args"]["job_id"] for e in deadlines if e["name"] == "deadline met"}
    assert missed == set(due.loc[due["missed"].fillna(False).astype(bool), "job_id"]) and missed
    assert met == set(due.loc[due["missed"].eq(False).fillna(False), "job_id"]) and met


def test_drops_freezes_migrations_and_flows() -> None:
    from tests.unit.test_twill import _one_gpu_platform

    # Job 1 starts on the GPU, is frozen and migrates to the DLA (tests/unit/test_twill.py);
    # the urgent app drops its frames; the DAG job gives flows between its tasks.
    plat = _one_gpu_platform()
    cfg = {
        "duration_ms": 100,
        "policy": {"name": "twill", "params": {"tolerance": 0.0}},
        "platform": plat,
        "workload": {
            "apps": {
                "cam": {"arrival": {"type": "trace", "times_ms": [0.0, 0.0]}, "graph": {"c": {"model": "cnn"}}},
                "dag": {
                    "arrival": {"type": "trace", "times_ms": [20.0]},
                    "graph": {"a": {"model": "cnn"}, "b": {"model": "cnn", "after": ["a"]}, "c": {"model": "cnn", "after": ["a"]},
                              "d": {"model": "cnn", "after": ["b", "c"]}},
                },
                "late": {"arrival": {"type": "trace", "times_ms": [40.0, 40.0, 40.0, 40.0]}, "deadline_ms": 0.5,
                         "late": "drop", "graph": {"x": {"model": "cnn"}}},
            }
        },
    }
    r = simulate(cfg)
    doc = chrome_trace(r)
    check_format(doc)
    t = r.tasks
    assert t["freezes"].sum() >= 1 and t["migrations"].sum() >= 1 and r.jobs["dropped"].sum() >= 1
    for cat, col in (("freeze", "freezes"), ("migrate", "migrations")):
        got = [e for e in events(doc, "i") if e["cat"] == cat]
        per_task = {(e["args"]["job_id"], e["args"]["task"]) for e in got}
        assert len(got) == t[col].sum(), cat
        assert per_task == {(int(j), str(k)) for j, k, n in zip(t["job_id"], t["task"], t[col], strict=True) if n}
    for e in [e for e in events(doc, "i") if e["cat"] == "migrate"]:
        assert e["args"]["from"] != e["args"]["to"]
    drops = events(doc, "i", "drop")
    assert sorted(e["args"]["job_id"] for e in drops) == sorted(r.jobs.loc[r.jobs["dropped"], "job_id"])
    # Flows: one start and one finish per DAG edge of a job whose tasks both ran, same id.
    starts, finishes = events(doc, "s"), events(doc, "f")
    assert sorted(e["id"] for e in starts) == sorted(e["id"] for e in finishes)
    assert len({e["id"] for e in starts}) == len(starts) == 4  # a->b, a->c, b->d, c->d
    slices = events(doc, "X")
    fin = {e["id"]: e for e in finishes}
    for s in starts:
        f = fin[s["id"]]
        assert s["name"] == f["name"] and s["ts"] <= f["ts"]
        # Each end lies inside a slice of its task on its track.
        for ev, task in ((s, s["args"]["from"]), (f, f["args"]["to"])):
            assert any(x["tid"] == ev["tid"] and x["args"]["task"] == task and x["args"]["job_id"] == ev["args"]["job_id"]
                       and x["ts"] <= ev["ts"] <= x["ts"] + x["dur"] for x in slices), ev
    edges = {(e["args"]["from"], e["args"]["to"]) for e in starts}
    assert edges == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}


def test_trace_window_keeps_only_its_interval(result: Result, run_dir: Path, tmp_path: Path) -> None:
    full = chrome_trace(result)
    t0, t1 = 1000.0, 1500.0
    doc = chrome_trace(result, window_ms=(t0, t1))
    check_format(doc)
    lo, hi = t0 * 1000.0, t1 * 1000.0
    timed = [e for e in doc["traceEvents"] if e["ph"] != "M"]
    assert timed and all(lo <= e["ts"] <= hi for e in timed)
    assert all(e["ts"] + e["dur"] <= hi + 1e-3 for e in events(doc, "X"))
    assert len(timed) < len([e for e in full["traceEvents"] if e["ph"] != "M"])
    inside = [e for e in events(full, "i", "arrival") if lo <= e["ts"] <= hi]
    assert len(events(doc, "i", "arrival")) == len(inside) > 0
    # Every slice that overlaps the window is kept (clipped).
    overlapping = [e for e in events(full, "X") if e["ts"] <= hi and e["ts"] + e["dur"] >= lo]
    assert len(events(doc, "X")) == len(overlapping)
    # The power in force at the window's start is stamped at its start.
    assert {e["name"] for e in events(doc, "C") if e["ts"] == lo} >= {"total power", "cpu0 power"}
    ids = [e["id"] for e in events(doc, "s")]
    assert sorted(ids) == sorted(e["id"] for e in events(doc, "f"))
    # The command line.
    out = tmp_path / "w.json"
    code, _stdout, err = run_main(["trace", str(run_dir), "-o", str(out), "--trace-window", "1000:1500"])
    assert code == 0, err
    written = json.loads(out.read_text())
    check_format(written)
    assert written["otherData"]["window_ms"] == [1000.0, 1500.0]
    assert all(lo <= e["ts"] <= hi for e in written["traceEvents"] if e["ph"] != "M")
    for bad in ("1500:1000", "soon:", "1000"):
        code, _stdout, err = run_main(["trace", str(run_dir), "-o", str(out), "--trace-window", bad])
        assert code == 2 and len(err.splitlines()) == 1 and "--trace-window" in err, (bad, err)
