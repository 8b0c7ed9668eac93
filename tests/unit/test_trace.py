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
    assert sorted(names.values()) == ["cpu0", "gpu0 #0", "gpu0 #1"]
    assert {e["tid"] for e in events(doc, "X")} <= set(names)
    for tid, name in names.items():
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
        assert e["ph"] in {"M", "X", "C"}


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
