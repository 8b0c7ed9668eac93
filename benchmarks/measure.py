"""Timing and memory measurements of simsched runs.

A simsched run is timed in the phases that :func:`simsched.simulate` goes
through: loading and validating the config, building and running the
:class:`~simsched.engine.simulation.Simulation` (the engine), and turning the
records into tables and the summary (``build_result``). Wall times come from
``time.perf_counter`` around whole phases, never from inside the engine.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simsched.build import build_simulation
from simsched.config.loader import load_config
from simsched.result import Result, build_result

ROOT = Path(__file__).resolve().parent.parent

# The 60-second XRBench AR-assistant run of the performance goals.
XR_CONFIG: dict[str, Any] = {"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 60000}
XR_POLICY_PREFERENCE = ("dream", "latency-greedy", "fifo")


def timed_run(config: dict[str, Any]) -> tuple[dict[str, Any], Result]:
    """Run ``config`` as :func:`simsched.simulate` does, timing each phase.

    Returns
    -------
    (dict, Result)
        Wall seconds per phase (``load_s``, ``engine_s``, ``build_s``, ``total_s``),
        the CPU seconds of the whole run (``cpu_s``, less sensitive to other load), the
        number of tasks that finished (``tasks``), of tasks recorded
        (``tasks_recorded``) and of engine events (``events``); and the result.
    """
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    loaded = load_config(config)
    t1 = time.perf_counter()
    sim = build_simulation(loaded).run()
    t2 = time.perf_counter()
    result = build_result(sim, loaded)
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    done = int((result.tasks["state"] == "done").sum())
    timing = {
        "load_s": t1 - t0,
        "engine_s": t2 - t1,
        "build_s": t3 - t2,
        "total_s": t3 - t0,
        "cpu_s": cpu,
        "tasks": done,
        "tasks_recorded": len(result.tasks),
        "events": int(result.summary["manifest"]["events"]),
    }
    return timing, result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB, 10^6 bytes)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e6 if sys.platform != "darwin" else kib / 1e6


def current_rss_mb() -> float | None:
    """Resident set size of this process now (MB), or None where /proc is missing."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def run_in_subprocess(module: str, args: list[str], timeout_s: float = 600.0) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh interpreter and parse the JSON it prints last."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {tail[0]}", "process_s": wall}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def xr_policy(available: list[str]) -> str:
    """The policy for the XRBench goal: dream if registered, else the first stand-in present."""
    return next(p for p in XR_POLICY_PREFERENCE if p in available or p == "fifo")
