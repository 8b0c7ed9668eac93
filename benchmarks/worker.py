"""One measurement in a fresh interpreter, so that runs do not share heap or caches.

``python -m benchmarks.worker size N POLICY``
    Runs the benchmark scenario with about N tasks (after a 500-task warm-up) and prints, as one JSON line,
    the phase times, the resident memory after the imports, after the engine
    run (the records are then complete but no table exists yet) and its peak.
``python -m benchmarks.worker stream N POLICY``
    The same scenario as a streaming run (tables written to a temporary
    directory while the run goes): total time and peak resident memory.
``python -m benchmarks.worker xr POLICY``
    Runs the 60-second XRBench AR-assistant experiment once, cold: the time
    includes importing simsched and its dependencies.
"""

from __future__ import annotations

import json
import sys
import time

T_START = time.perf_counter()


def _size(n_tasks: int, policy: str) -> dict:
    from benchmarks.measure import current_rss_mb, peak_rss_mb
    from benchmarks.scenario import make_scenario
    from simsched.build import build_simulation
    from simsched.config.loader import load_config
    from simsched.result import build_result

    base = current_rss_mb()
    # A warm-up run of 500 tasks first, as the throughput runs have: one-time costs
    # (first calls into pandas, package metadata, lazy imports; about 50-90 ms) are
    # not a cost per task and would otherwise be charged to the smallest size only.
    warm = make_scenario(500)
    build_result(build_simulation(load_config(warm.config(policy))).run(), load_config(warm.config(policy)))
    scenario = make_scenario(n_tasks)
    config = scenario.config(policy)
    t0 = time.perf_counter()
    loaded = load_config(config)
    t1 = time.perf_counter()
    sim = build_simulation(loaded).run()
    t2 = time.perf_counter()
    after_engine = current_rss_mb()
    records = {
        "jobs": len(sim.recorder.jobs),
        "tasks": len(sim.recorder.tasks),
        "segments": len(sim.recorder.segments),
        "power": len(sim.recorder.power_t),
    }
    result = build_result(sim, loaded)
    t3 = time.perf_counter()
    return {
        "n_tasks": scenario.n_tasks,
        "tasks": int((result.tasks["state"] == "done").sum()),
        "events": int(result.summary["manifest"]["events"]),
        "load_s": t1 - t0,
        "engine_s": t2 - t1,
        "build_s": t3 - t2,
        "total_s": t3 - t0,
        "rss_base_mb": base,
        "rss_after_engine_mb": after_engine,
        "peak_rss_mb": peak_rss_mb(),
        "records": records,
    }


def _stream(n_tasks: int, policy: str) -> dict:
    """A streaming run (``simulate_streaming``) of ``n_tasks`` tasks into a temporary directory."""
    import tempfile
    from pathlib import Path

    from benchmarks.measure import current_rss_mb, peak_rss_mb
    from benchmarks.scenario import make_scenario
    from simsched.api import simulate_streaming

    base = current_rss_mb()
    scenario = make_scenario(n_tasks)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = simulate_streaming(scenario.config(policy), Path(tmp) / "run")
        t1 = time.perf_counter()
        size = sum(f.stat().st_size for f in (Path(tmp) / "run").iterdir())
    return {
        "n_tasks": scenario.n_tasks,
        "jobs": summary["overall"]["jobs_arrived"],
        "total_s": t1 - t0,
        "rss_base_mb": base,
        "peak_rss_mb": peak_rss_mb(),
        "files_mb": size / 1e6,
    }


def _xr(policy: str) -> dict:
    from benchmarks.measure import XR_CONFIG, peak_rss_mb
    from simsched import simulate

    t0 = time.perf_counter()
    result = simulate({**XR_CONFIG, "policy": policy})
    t1 = time.perf_counter()
    return {
        "policy": policy,
        "simulate_s": t1 - t0,
        "cold_s": t1 - T_START,
        "tasks": int((result.tasks["state"] == "done").sum()),
        "events": int(result.summary["manifest"]["events"]),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    """Dispatch on the first argument and print the measurement as JSON."""
    if len(argv) == 3 and argv[0] == "size":
        out = _size(int(float(argv[1])), argv[2])
    elif len(argv) == 3 and argv[0] == "stream":
        out = _stream(int(float(argv[1])), argv[2])
    elif len(argv) == 2 and argv[0] == "xr":
        out = _xr(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
