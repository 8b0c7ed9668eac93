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
  value in MHz).

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


def chrome_trace(result_or_tables: Result | Mapping[str, Any]) -> dict[str, Any]:
    """Build a Chrome trace-event document of a run.

    Parameters
    ----------
    result_or_tables : Result or mapping
        A :class:`~simsched.result.Result`, or a mapping with ``segments`` and
        optionally ``tasks``, ``power``, ``frequency`` (DataFrames, times in ms) and
        ``summary`` (dict).

    Returns
    -------
    dict
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``: metadata
        events (``"M"``) first, then one ``"X"`` per segment in start order, then one
        ``"C"`` per power row and per frequency row. ``ts`` and ``dur`` are in us.
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

    for (job, app, task, proc, start, end, freq), lane in zip(
        seg[["job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz"]].itertuples(index=False, name=None),
        lanes,
        strict=True,
    ):
        events.append({
            "name": f"{app}:{task}",
            "cat": str(app),
            "ph": "X",
            "ts": _us(start),
            "dur": round(_us(end) - _us(start), 3),  # from rounded ends, so back-to-back events never overlap
            "pid": PID,
            "tid": tid_of[(str(proc), int(lane))],
            "args": {
                "job_id": int(job),
                "task": str(task),
                "model": models.get((int(job), str(task)), ""),
                "processor": str(proc),
                "freq_mhz": _num(freq),
            },
        })
    if power is not None:
        for t, proc, w in power[["time_ms", "processor", "power_w"]].itertuples(index=False, name=None):
            events.append({"name": f"{proc} power", "ph": "C", "ts": _us(t), "pid": PID, "args": {"W": _num(w)}})
    if frequency is not None:
        for t, dom, f in frequency[["time_ms", "domain", "freq_mhz"]].itertuples(index=False, name=None):
            events.append({"name": f"{dom} freq", "ph": "C", "ts": _us(t), "pid": PID, "args": {"MHz": _num(f)}})

    other = {k: _num(summary[k]) for k in ("platform", "workload", "policy", "governor", "seed", "sim_end_ms") if k in summary}
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}


def write_trace(result: Result | Mapping[str, Any], path: str | Path) -> Path:
    """Write :func:`chrome_trace` of a run as JSON (open it at https://ui.perfetto.dev).

    Parameters
    ----------
    result : Result or mapping
        The run (see :func:`chrome_trace`).
    path : str or Path
        The output file; its folder is created if needed.

    Returns
    -------
    Path
        The file written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = chrome_trace(result)
    with out.open("w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    return out
