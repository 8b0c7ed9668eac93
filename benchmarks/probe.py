"""Single measurements behind docs/performance.md: profiles, collector statistics, runs to count.

``python -m benchmarks.probe load N POLICY``
    Imports and loads the benchmark scenario's config, nothing else: the baseline
    to subtract from ``engine`` and ``all`` under an instruction counter.
``python -m benchmarks.probe engine N POLICY``
    Also builds and runs the ``Simulation`` (no tables).
``python -m benchmarks.probe all N POLICY``
    Also builds the result (tables and summary), as ``simulate`` does.
``python -m benchmarks.probe cprofile N POLICY``
    The whole run under ``cProfile``: the 25 functions with the most own time.
``python -m benchmarks.probe gc N POLICY``
    The engine run with the cyclic garbage collector's collections, full
    collections and CPU seconds (``gc.callbacks``).

Instruction counts in docs/performance.md come from, for example::

    valgrind --tool=cachegrind --cache-sim=no python -m benchmarks.probe engine 1e4 fifo
    valgrind --tool=cachegrind --cache-sim=no python -m benchmarks.probe load 1e4 fifo

(the difference of the two ``I refs`` lines is the engine's instructions; run
valgrind on the Python executable itself, not on a shell shim).
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import sys
import time

MODES = ("load", "engine", "all", "cprofile", "gc")


def main(argv: list[str]) -> int:
    """Run one probe; print what it measured."""
    if len(argv) != 3 or argv[0] not in MODES:
        print(__doc__, file=sys.stderr)
        return 2
    mode, n, policy = argv[0], int(float(argv[1])), argv[2]

    from benchmarks.scenario import make_scenario
    from simsched.build import build_simulation
    from simsched.config.loader import load_config
    from simsched.result import build_result

    loaded = load_config(make_scenario(n).config(policy))
    if mode == "load":
        return 0
    if mode == "gc":
        stats = {"collections": 0, "full": 0, "gc_cpu_s": 0.0}
        t0 = [0.0]

        def on_gc(phase: str, info: dict) -> None:
            if phase == "start":
                t0[0] = time.process_time()
            else:
                stats["collections"] += 1
                stats["full"] += info["generation"] == 2
                stats["gc_cpu_s"] += time.process_time() - t0[0]

        gc.callbacks.append(on_gc)
        c0 = time.process_time()
        build_simulation(loaded).run()
        print({"engine_cpu_s": round(time.process_time() - c0, 2), **stats, "gc_cpu_s": round(stats["gc_cpu_s"], 2)})
        return 0
    profiler = cProfile.Profile() if mode == "cprofile" else None
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    sim = build_simulation(loaded).run()
    if mode != "engine":
        build_result(sim, loaded)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(f"{mode}: {time.perf_counter() - t0:.3f} s wall", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
