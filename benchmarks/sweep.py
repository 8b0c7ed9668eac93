"""``python -m benchmarks.sweep``: what a sweep costs on top of its runs, and its speed-up with workers.

Three measurements of the same runs (the minimal experiment under a grid of load
factors x seeds), on the machine the command runs on:

1. a plain loop: ``simulate(load_config(...))`` per run, nothing written;
2. ``simsched.sweep`` with one worker (in process): its overhead per run against the
   loop (config resolution and hashing, results.csv appends with fsync, the final rewrite);
3. ``simsched.sweep`` with 2, 4 ... worker processes up to the cores available: wall
   time and speed-up against one worker.

Wall times are the best of ``--repeats``. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from simsched.sweep.runs import cpu_count

ROOT = Path(__file__).resolve().parents[1]


def _sweep_file(runs: int, duration_ms: float) -> dict:
    seeds = max(1, runs // 4)
    return {"base": str(ROOT / "experiments" / "minimal.yaml"), "grid": {"workload.load_scale": [0.5, 1.0, 1.5, 2.0]},
            "seeds": seeds, "set": [f"duration_ms={duration_ms:g}"]}


def _plain_loop(spec: dict) -> float:
    from simsched.api import simulate
    from simsched.config.loader import load_config
    from simsched.sweep import points
    from simsched.sweep.grid import parse_sweep

    sf = parse_sweep(spec)
    t0 = time.perf_counter()
    for p in points(sf):
        for s in sf.seed_list():
            simulate(load_config(spec["base"], list(p.overrides), s))
    return time.perf_counter() - t0


def _sweep(spec: dict, jobs: int) -> float:
    from simsched.sweep import sweep

    tmp = Path(tempfile.mkdtemp(prefix="simsched-bench-"))
    try:
        t0 = time.perf_counter()
        sweep(spec, tmp / "out", jobs=jobs, progress=False)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; returns 0."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=40, help="runs per measurement (a multiple of 4; default 40)")
    p.add_argument("--duration-ms", type=float, default=2000.0, help="simulated time per run (default 2000 ms)")
    p.add_argument("--repeats", type=int, default=2, help="repeats; the best counts (default 2)")
    args = p.parse_args(argv)
    spec = _sweep_file(args.runs, args.duration_ms)
    n = 4 * spec["seeds"]
    cores = cpu_count()
    best = lambda f: min(f() for _ in range(max(1, args.repeats)))  # noqa: E731
    loop = best(lambda: _plain_loop(spec))
    one = best(lambda: _sweep(spec, 1))
    print(f"{n} runs of the minimal experiment, {args.duration_ms:g} ms simulated each; {cores} core(s) available")
    print(f"plain loop          {loop:8.2f} s  {1000 * loop / n:8.1f} ms/run")
    print(f"sweep, 1 worker     {one:8.2f} s  {1000 * one / n:8.1f} ms/run  overhead {1000 * (one - loop) / n:+.1f} ms/run")
    jobs = 2
    while jobs <= max(2, cores):
        t = best(lambda j=jobs: _sweep(spec, j))
        print(f"sweep, {jobs} workers    {t:8.2f} s  {1000 * t / n:8.1f} ms/run  speed-up x{one / t:.2f} against 1 worker")
        jobs *= 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
