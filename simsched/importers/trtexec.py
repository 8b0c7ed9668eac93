"""TensorRT ``trtexec`` JSON exports: ``--exportTimes`` (per-inference timing trace) and
``--exportProfile`` (per-layer profile).

Field names are those that trtexec writes and that TensorRT's own readers of these files
use (NVIDIA/TensorRT samples/trtexec/tracer.py and profiler.py):

* ``--exportTimes=FILE``: a JSON array with one object per inference, holding times in
  ms: ``startInMs, endInMs, startComputeMs, endComputeMs, startOutMs, endOutMs`` and the
  intervals ``inMs, computeMs, outMs, latencyMs, endToEndMs`` (older releases name the
  copies ``h2dMs`` / ``d2hMs``). The profile latency is the **median of ``computeMs``**
  (the GPU/DLA compute time; ``--metric latencyMs`` adds the host-device copies, which a
  shared-memory SoC does not pay).
* ``--exportProfile=FILE``: a JSON array whose first element is ``{"count": N}`` (the
  number of profiled inferences) followed by one object per layer with ``name``,
  ``timeMs`` (total over the N runs), ``averageMs``, ``percentage`` (newer releases add
  ``medianMs``). The profile latency is the **sum of ``averageMs``** over the layers.
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

TIME_METRICS = ("computeMs", "latencyMs", "endToEndMs")


def _load(path: str | Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), "", f"not JSON ({exc.msg} at line {exc.lineno})") from None


def _ms(x: Any, file: str, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
        raise ConfigError(file, field, f"expected a non-negative number of ms, got {x!r}")
    return float(x)


def latency_ms(path: str | Path, metric: str = "computeMs") -> tuple[float, str]:
    """The latency a trtexec export gives, and a description of how it was taken.

    Parameters
    ----------
    path : str or Path
        An ``--exportTimes`` or ``--exportProfile`` JSON file (told apart by content).
    metric : str
        For ``--exportTimes``: which interval to take the median of.

    Returns
    -------
    (float, str)
        Latency (ms) and a provenance note.
    """
    file = str(path)
    data = _load(path)
    if not isinstance(data, list) or not data or not all(isinstance(x, dict) for x in data):
        raise ConfigError(file, "", "expected a JSON array of objects (trtexec --exportTimes or --exportProfile)")
    if "count" in data[0] and all("averageMs" in x for x in data[1:]) and len(data) > 1:
        total = sum(_ms(x["averageMs"], file, f"[{i}].averageMs") for i, x in enumerate(data[1:], start=1))
        if total <= 0:
            raise ConfigError(file, "averageMs", "the layers' average times sum to 0")
        return total, f"trtexec --exportProfile: sum of averageMs over {len(data) - 1} layers, {data[0]['count']} runs"
    if metric not in TIME_METRICS:
        raise ConfigError(file, "metric", f"'{metric}' is not one of {', '.join(TIME_METRICS)}")
    if metric not in data[0]:
        raise ConfigError(file, f"[0].{metric}", "missing: not a trtexec --exportTimes or --exportProfile file")
    times = [_ms(x.get(metric), file, f"[{i}].{metric}") for i, x in enumerate(data)]
    value = statistics.median(times)
    if value <= 0:
        raise ConfigError(file, metric, "the median is 0")
    return value, f"trtexec --exportTimes: median {metric} of {len(times)} inferences"


def read(path: str | Path, model: str, processor: str, metric: str = "computeMs") -> list[Measurement]:
    """One measurement of ``model`` on ``processor`` from a trtexec export."""
    value, how = latency_ms(path, metric)
    return [Measurement(model=model, key=processor, value=value, source=f"{how} ({Path(path).name})", where=model)]
