"""ONNX Runtime profiling JSON (``SessionOptions.enable_profiling``, ``onnxruntime_perf_test -p``).

The file is a Chrome-trace-style JSON array of complete events, written by
onnxruntime/core/common/profiler.cc (``Profiler::EndProfiling``): each event has ``cat``
(``Session`` or ``Node``), ``pid``, ``tid``, ``dur`` and ``ts`` (microseconds), ``ph``
(``"X"``), ``name`` and ``args`` (for nodes: ``op_name``, ``provider`` ...). Each
``InferenceSession::Run`` records one ``Session`` event named ``model_run``; the node
kernels record ``Node`` events named ``<node>_kernel_time``.

Mapping: one run's time is the ``dur`` of its ``model_run`` event; when a profile has no
``model_run`` events (a trimmed file), the ``_kernel_time`` durations are summed per run,
a run being delimited by the ``SequentialExecutor::Execute`` events. The latency is the
**median over runs** (robust to the first, warm-up run), converted to ms.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.importers import Measurement
from simsched.importers.csv_profiles import read_text


def _events(path: str | Path) -> list[dict[str, Any]]:
    file = str(path)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(file, "", f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("traceEvents"), list):
        data = data["traceEvents"]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ConfigError(file, "", "expected a JSON array of trace events (ONNX Runtime profiling output)")
    return data


def _dur(e: dict[str, Any], file: str, i: int) -> float:
    d = e.get("dur")
    if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
        raise ConfigError(file, f"[{i}].dur", f"expected a non-negative number of microseconds, got {d!r}")
    return float(d)


def run_times_ms(path: str | Path) -> tuple[list[float], str]:
    """Per-run times (ms) of a profile and how they were taken."""
    file = str(path)
    events = _events(path)
    runs = [_dur(e, file, i) / 1000.0 for i, e in enumerate(events) if e.get("name") == "model_run"]
    if runs:
        return runs, "model_run events"
    execs = sorted((float(e.get("ts", 0)), _dur(e, file, i)) for i, e in enumerate(events)
                   if e.get("name") == "SequentialExecutor::Execute")
    kernels = [(float(e.get("ts", 0)), _dur(e, file, i)) for i, e in enumerate(events)
               if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time")]
    if not kernels:
        raise ConfigError(file, "", "no model_run or Node *_kernel_time events: not an ONNX Runtime profile")
    if not execs:
        return [sum(d for _, d in kernels) / 1000.0], "sum of Node kernel times (one run)"
    sums = [0.0] * len(execs)
    for ts, d in kernels:
        k = next((j for j, (t0, dur) in enumerate(execs) if t0 <= ts <= t0 + dur), None)
        if k is not None:
            sums[k] += d
    return [s / 1000.0 for s in sums if s > 0], "sum of Node kernel times per SequentialExecutor::Execute"


def latency_ms(path: str | Path) -> tuple[float, str]:
    """Median run time (ms) of a profile and a provenance note."""
    runs, how = run_times_ms(path)
    if not runs:
        raise ConfigError(str(path), "", "no complete run in the profile")
    value = statistics.median(runs)
    if value <= 0:
        raise ConfigError(str(path), "dur", "the median run time is 0")
    return value, f"ONNX Runtime profile: median of {len(runs)} runs ({how})"


def read(path: str | Path, model: str, processor: str) -> list[Measurement]:
    """One measurement of ``model`` on ``processor`` from an ONNX Runtime profile."""
    value, how = latency_ms(path)
    return [Measurement(model=model, key=processor, value=value, source=f"{how} ({Path(path).name})", where=model)]
