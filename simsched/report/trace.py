"""Export a run as a Chrome trace-event JSON file, viewable in Perfetto (https://ui.perfetto.dev).

Layout of the trace:

* one process (``pid`` 1) for the SoC, named after the platform;
* one thread track per processor (``tid``), named by a ``thread_name`` metadata event.
  A processor with several slots whose segments overlap gets one track per slot in
  use (``gpu #0``, ``gpu #1``): trace viewers expect the events of a track to nest;
* one complete event (``"ph": "X"``) per row of ``segments``, named ``app:task``,
  with ``args`` job_id, task, model, processor and freq_mhz;
* one counter event (``"ph": "C"``) per row of ``power`` (``"<processor> power"``,
  value in W, ``total power`` for the SoC) and of ``frequency`` (``"<domain> freq"``,
  value in MHz);
* a ``jobs`` track of instant events (``"ph": "i"``, thread scope) from jobs.csv:
  ``arrival`` at each job's arrival, ``deadline met`` / ``deadline missed`` /
  ``deadline`` (outcome unknown) at each absolute deadline within the run, and
  ``drop`` when a job was dropped (its ``end_ms``);
* instant events on the processor tracks, derived from segments.csv (a task's
  consecutive segments): ``freeze`` at the end of a segment after which the task
  stopped (its next segment starts later or elsewhere, or it is still frozen at
  the end), ``migrate`` at the start of a segment on another processor than the
  task's previous one;
* flow events (``"ph": "s"`` / ``"f"``, one ``id`` per DAG edge, category ``dag``)
  from a predecessor's last segment to its successor's first one, along the edges
  in tasks.csv's ``preds``; the finish binds to the enclosing slice (``"bp": "e"``).

A time window (``window_ms``, ``simsched trace --trace-window FROM_MS:TO_MS``) keeps
the slices that overlap it (clipped to it), the instant events and flows inside it,
and the counter values in force in it (the value at its start as a counter event at
its start).

Times in the tables are in ms; trace timestamps and durations are in microseconds
(1 ms = 1000 us), rounded to 1 ns.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsched.result import Result

PID = 1
US_PER_MS = 1000.0


def assign_lanes(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Assign intervals to the fewest lanes so that intervals of one lane do not overlap.

    Parameters
    ----------
    starts, ends : ndarray
        Interval bounds (ms), any order.

    Returns
    -------
    ndarray of int
        The lane of each interval (0-based). Greedy in start order, reusing the
        lowest-numbered free lane, so the result is deterministic.
    """
    starts = np.asarray(starts, dtype=float)
    ends = np.asarray(ends, dtype=float)
    lanes = np.zeros(len(starts), dtype=int)
    busy: list[tuple[float, int]] = []  # (end, lane)
    free: list[int] = []
    n_lanes = 0
    for i in np.lexsort((ends, starts)):
        s = starts[i]
        while busy and busy[0][0] <= s + 1e-9:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane = n_lanes
            n_lanes += 1
        lanes[i] = lane
        heapq.heappush(busy, (float(ends[i]), lane))
    return lanes


def processor_order(result: Result | Mapping[str, Any]) -> list[str]:
    """The processors of a run in platform order (falling back to the tables).

    Parameters
    ----------
    result : Result or mapping
        A Result, or a mapping with the tables and optionally ``summary``.

    Returns
    -------
    list of str
        Processor names: from the summary's utilisation (every processor of the
        platform, idle ones included), then any others found in the tables.
    """
    tables = _tables(result)
    names: list[str] = []
    summary = tables.get("summary") or {}
    names += list((summary.get("utilization") or {}).keys())
    power = tables.get("power")
    if power is not None and len(power):
        names += [str(p) for p in pd.unique(power["processor"]) if p != "total"]
    segments = tables.get("segments")
    if segments is not None and len(segments):
        names += [str(p) for p in pd.unique(segments["processor"])]
    return list(dict.fromkeys(names))


def _tables(result: Result | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(result, Result):
        return {
            "jobs": result.jobs, "tasks": result.tasks, "segments": result.segments,
            "power": result.power, "frequency": result.frequency, "summary": result.summary,
        }
    return dict(result)


def _us(ms: float) -> float:
    return round(float(ms) * US_PER_MS, 3)


def _num(x: Any) -> Any:
    """A JSON-safe scalar (NaN becomes None, numpy scalars plain Python)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def parse_window(text: str) -> tuple[float, float]:
    """Parse ``FROM_MS:TO_MS`` (either side may be empty: the run's start or end).

    Returns
    -------
    tuple of float
        ``(from_ms, to_ms)``, ``-inf`` / ``inf`` for an empty side.

    Raises
    ------
    ValueError
        If the text is not two times in ms separated by ``:``, a time is negative,
        or the window is empty.
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"expected FROM_MS:TO_MS, got '{text}'")
    try:
        t0 = float(parts[0]) if parts[0].strip() else -math.inf
        t1 = float(parts[1]) if parts[1].strip() else math.inf
    except ValueError:
        raise ValueError(f"expected FROM_MS:TO_MS with times in ms, got '{text}'") from None
    if math.isnan(t0) or math.isnan(t1) or t0 < 0 or t1 < 0:
        raise ValueError(f"times must be non-negative ms, got '{text}'")
    if t1 <= t0:
        raise ValueError(f"TO_MS must be greater than FROM_MS, got '{text}'")
    return t0, t1


def chrome_trace(
    result_or_tables: Result | Mapping[str, Any], window_ms: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Build a Chrome trace-event document of a run.

    Parameters
    ----------
    result_or_tables : Result or mapping
        A :class:`~simsched.result.Result`, or a mapping with ``segments`` and
        optionally ``jobs``, ``tasks``, ``power``, ``frequency`` (DataFrames, times
        in ms) and ``summary`` (dict).
    window_ms : (float, float), optional
        Keep only what happens in ``[from, to]`` (ms; see the module docstring).

    Returns
    -------
    dict
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``: metadata
        events (``"M"``) first, then one ``"X"`` per segment in start order, then one
        ``"C"`` per power row and per frequency row, then the instant events
        (``"i"``) and the flow events (``"s"``, ``"f"``). ``ts`` and ``dur`` are in us.
    """
    tables = _tables(result_or_tables)
    segments: pd.DataFrame = tables["segments"]
    tasks: pd.DataFrame | None = tables.get("tasks")
    power: pd.DataFrame | None = tables.get("power")
    frequency: pd.DataFrame | None = tables.get("frequency")
    summary: dict[str, Any] = tables.get("summary") or {}

    label = str(summary.get("platform") or "SoC")
    if summary.get("policy"):
        label += f" | policy {summary['policy']}"
    if summary.get("seed") is not None:
        label += f" | seed {summary['seed']}"
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "args": {"name": label}},
        {"name": "process_sort_index", "ph": "M", "pid": PID, "tid": 0, "args": {"sort_index": 0}},
    ]

    models: dict[tuple[int, str], str] = {}
    if tasks is not None and len(tasks):
        models = {(int(j), str(t)): str(m) for j, t, m in zip(tasks["job_id"], tasks["task"], tasks["model"], strict=True)}

    jobs: pd.DataFrame | None = tables.get("jobs")
    t0, t1 = window_ms if window_ms is not None else (-math.inf, math.inf)
    seg = segments.sort_values(["start_ms", "processor", "job_id"], kind="stable")
    tid_of: dict[tuple[str, int], int] = {}
    lanes = np.zeros(len(seg), dtype=int)
    if len(seg):
        for _proc, idx in seg.groupby("processor", sort=False).indices.items():
            lanes[idx] = assign_lanes(seg["start_ms"].to_numpy()[idx], seg["end_ms"].to_numpy()[idx])
    tid = 0
    for proc in processor_order(tables):
        rows = seg["processor"].to_numpy() == proc
        n = int(lanes[rows].max()) + 1 if rows.any() else 1
        for lane in range(n):
            tid += 1
            tid_of[(proc, lane)] = tid
            name = proc if n == 1 else f"{proc} #{lane}"
            events.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": name}})
            events.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid, "args": {"sort_index": tid}})

    jobs_tid = tid + 1
    if jobs is not None:
        events.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": jobs_tid, "args": {"name": "jobs"}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": jobs_tid, "args": {"sort_index": jobs_tid}})

    seg_tid = [tid_of[(str(p), int(lane))] for p, lane in zip(seg["processor"], lanes, strict=True)]
    for (job, app, task, proc, start, end, freq), stid in zip(
        seg[["job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz"]].itertuples(index=False, name=None),
        seg_tid,
        strict=True,
    ):
        if end < t0 or start > t1:
            continue
        start, end = max(start, t0), min(end, t1)
        events.append({
            "name": f"{app}:{task}",
            "cat": str(app),
            "ph": "X",
            "ts": _us(start),
            "dur": round(_us(end) - _us(start), 3),  # from rounded ends, so back-to-back events never overlap
            "pid": PID,
            "tid": stid,
            "args": {
                "job_id": int(job),
                "task": str(task),
                "model": models.get((int(job), str(task)), ""),
                "processor": str(proc),
                "freq_mhz": _num(freq),
            },
        })
    if power is not None:
        for t, proc, w in _counter_rows(power, "processor", "power_w", t0, t1):
            events.append({"name": f"{proc} power", "ph": "C", "ts": _us(t), "pid": PID, "args": {"W": _num(w)}})
    if frequency is not None:
        for t, dom, f in _counter_rows(frequency, "domain", "freq_mhz", t0, t1):
            events.append({"name": f"{dom} freq", "ph": "C", "ts": _us(t), "pid": PID, "args": {"MHz": _num(f)}})
    end_ms = summary.get("sim_end_ms")
    if jobs is not None:
        events += _job_instants(jobs, jobs_tid, t0, min(t1, end_ms if end_ms is not None else math.inf))
    events += _task_instants(seg, seg_tid, tasks, t0, t1)
    if tasks is not None and "preds" in tasks.columns:
        events += _flows(seg, seg_tid, tasks, t0, t1)

    other = {k: _num(summary[k]) for k in ("platform", "workload", "policy", "governor", "seed", "sim_end_ms") if k in summary}
    if window_ms is not None:
        other["window_ms"] = [_num(t0) if math.isfinite(t0) else None, _num(t1) if math.isfinite(t1) else None]
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}


def _counter_rows(table: pd.DataFrame, key: str, value: str, t0: float, t1: float) -> list[tuple[float, Any, Any]]:
    """Rows ``(time_ms, key, value)`` of a counter table in ``[t0, t1]``, plus, per key,
    the value in force at ``t0`` (its last row before ``t0``) re-stamped at ``t0``."""
    rows = list(table[["time_ms", key, value]].itertuples(index=False, name=None))
    if not math.isfinite(t0) and not math.isfinite(t1):
        return rows
    before: dict[Any, tuple[float, Any, Any]] = {}
    inside = []
    for t, k, v in rows:
        if t < t0:
            before[k] = (t0, k, v)  # the table is in time order: the last row wins
        elif t <= t1:
            inside.append((t, k, v))
    starts = {k for t, k, _ in inside if t == t0}
    return [r for k, r in before.items() if k not in starts] + inside


def _instant(name: str, cat: str, t_ms: float, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "cat": cat, "ph": "i", "s": "t", "ts": _us(t_ms), "pid": PID, "tid": tid, "args": args}


def _job_instants(jobs: pd.DataFrame, tid: int, t0: float, t1: float) -> list[dict[str, Any]]:
    """Arrival, deadline and drop instants of jobs.csv within ``[t0, t1]`` (ms)."""
    out: list[dict[str, Any]] = []
    for jid, app, arrival, deadline, missed, dropped, end in jobs[
        ["job_id", "app", "arrival_ms", "deadline_ms", "missed", "dropped", "end_ms"]
    ].itertuples(index=False, name=None):
        base = {"job_id": int(jid), "app": str(app)}
        if t0 <= arrival <= t1:
            out.append(_instant("arrival", "arrival", arrival, tid, base))
        if deadline == deadline and t0 <= deadline <= t1:  # NaN: no deadline
            known = missed is not None and missed is not pd.NA and missed == missed
            name = ("deadline missed" if bool(missed) else "deadline met") if known else "deadline"
            out.append(_instant(name, "deadline", deadline, tid, {**base, "missed": bool(missed) if known else None}))
        if bool(dropped) and end == end and t0 <= end <= t1:
            out.append(_instant("drop", "drop", end, tid, base))
    return out


def _task_order(seg: pd.DataFrame) -> np.ndarray:
    """Positions of ``seg`` grouped by task, each task's segments in time order."""
    return np.lexsort((seg["start_ms"].to_numpy(), seg["task"].to_numpy().astype(str), seg["job_id"].to_numpy()))


def _task_instants(
    seg: pd.DataFrame, seg_tid: list[int], tasks: pd.DataFrame | None, t0: float, t1: float
) -> list[dict[str, Any]]:
    """Freeze and migrate instants derived from each task's consecutive segments."""
    out: list[dict[str, Any]] = []
    if seg.empty:
        return out
    frozen_at_end = set()
    if tasks is not None and len(tasks):
        fz = tasks[tasks["state"] == "frozen"]
        frozen_at_end = {(int(j), str(t)) for j, t in zip(fz["job_id"], fz["task"], strict=True)}
    order = _task_order(seg)
    job = seg["job_id"].to_numpy()[order]
    task = seg["task"].to_numpy().astype(str)[order]
    proc = seg["processor"].to_numpy().astype(str)[order]
    start = seg["start_ms"].to_numpy(dtype=float)[order]
    end = seg["end_ms"].to_numpy(dtype=float)[order]
    tids = np.asarray(seg_tid, dtype=int)[order]
    for i in range(len(order)):
        key = (int(job[i]), str(task[i]))
        nxt = i + 1 < len(order) and job[i + 1] == job[i] and task[i + 1] == task[i]
        args = {"job_id": key[0], "task": key[1], "processor": str(proc[i])}
        # A task stops between two of its segments only when frozen (frequency and
        # phase changes split segments back to back on one processor).
        stopped = (start[i + 1] > end[i] + 1e-9 or proc[i + 1] != proc[i]) if nxt else key in frozen_at_end
        if stopped and t0 <= end[i] <= t1:
            out.append(_instant("freeze", "freeze", end[i], int(tids[i]), args))
        if nxt and proc[i + 1] != proc[i] and t0 <= start[i + 1] <= t1:
            margs = {"job_id": key[0], "task": key[1], "from": str(proc[i]), "to": str(proc[i + 1])}
            out.append(_instant("migrate", "migrate", start[i + 1], int(tids[i + 1]), margs))
    return out


def _flows(seg: pd.DataFrame, seg_tid: list[int], tasks: pd.DataFrame, t0: float, t1: float) -> list[dict[str, Any]]:
    """Flow events along the DAG edges of each job, predecessor's last segment to successor's first."""
    first: dict[tuple[int, str], tuple[float, int]] = {}
    last: dict[tuple[int, str], tuple[float, int]] = {}
    for j, t, st, tid in zip(seg["job_id"], seg["task"], seg["start_ms"], seg_tid, strict=True):
        key = (int(j), str(t))
        if key not in first or st < first[key][0]:
            first[key] = (float(st), tid)
        if key not in last or st >= last[key][0]:
            last[key] = (float(st), tid)
    out: list[dict[str, Any]] = []
    flow_id = 0
    for j, t, preds in zip(tasks["job_id"], tasks["task"], tasks["preds"], strict=True):
        if not isinstance(preds, str) or not preds:
            continue
        dst = first.get((int(j), str(t)))
        if dst is None:
            continue
        for p in preds.split(";"):
            src = last.get((int(j), p))
            # Both ends must be in the window; the start binds to the predecessor's
            # last slice (stamped at its start, inside it), the finish to the
            # successor's first slice ("bp": "e": the enclosing slice).
            if src is None or not (t0 <= src[0] <= t1 and t0 <= dst[0] <= t1):
                continue
            flow_id += 1
            common = {"name": f"{p} -> {t}", "cat": "dag", "id": flow_id, "pid": PID}
            args = {"job_id": int(j), "from": p, "to": str(t)}
            out.append({**common, "ph": "s", "ts": _us(src[0]), "tid": src[1], "args": args})
            out.append({**common, "ph": "f", "bp": "e", "ts": _us(dst[0]), "tid": dst[1], "args": args})
    return out


def write_trace(
    result: Result | Mapping[str, Any], path: str | Path, window_ms: tuple[float, float] | None = None
) -> Path:
    """Write :func:`chrome_trace` of a run as JSON (open it at https://ui.perfetto.dev).

    Parameters
    ----------
    result : Result or mapping
        The run (see :func:`chrome_trace`).
    path : str or Path
        The output file; its folder is created if needed.
    window_ms : (float, float), optional
        Time window (ms), as in :func:`chrome_trace`.

    Returns
    -------
    Path
        The file written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = chrome_trace(result, window_ms)
    with out.open("w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    return out
