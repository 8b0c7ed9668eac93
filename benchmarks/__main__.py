"""``python -m benchmarks``: simsched's speed against a minimal SimPy model, its scaling and memory.

Four parts, all measured on the machine the command runs on:

1. Throughput: the ceiling (a minimal SimPy model of the scenario's jobs, see
   :mod:`benchmarks.ceiling`) and simsched under every registered policy on the
   same jobs, in finished tasks per second of wall time, best of a few repeats
   taken in turn; once with one segment per task and once with realistic
   segment counts.
2. Scaling: time, cost per task and peak memory for 10^4, 10^5 and 10^6 tasks,
   each in a fresh interpreter.
3. Streaming: the largest size again as a streaming run (``simulate_streaming``),
   its time and peak memory.
4. The 60-second XRBench AR-assistant run (``dream``, or a stand-in when it is
   not registered).

It ends with a table of the performance goals and whether each holds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from typing import Any

import simpy

from benchmarks.ceiling import run_ceiling
from benchmarks.measure import XR_CONFIG, run_in_subprocess, timed_run, xr_policy
from benchmarks.scenario import APPS, MODELS, PROCESSORS, Scenario, check_same_jobs, make_scenario

# Policy -> lowest acceptable simsched/ceiling throughput ratio (end to end).
RATIO_GOALS: dict[str, float] = {"fifo": 0.8, "affinity": 0.8, "twill": 0.4, "dream": 0.4}
# Policies that place every task on its model's default (= fastest) processor, as the ceiling does.
SAME_PLACEMENT = ("fifo", "affinity")
FLAT_GOAL = 1.3  # largest over smallest cost per task across sizes
MEMORY_GOAL_MB = 1000.0  # peak RSS of the 10^6-task run (1 GB = 10^9 bytes)
XR_GOAL_S = 5.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=float, default=3e4, help="tasks per throughput run (default 3e4)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per throughput measurement; the best counts (default 3)")
    p.add_argument("--sizes", default="1e4,1e5,1e6", help="comma-separated task counts for the scaling runs")
    p.add_argument("--size-policy", default="fifo", help="policy of the scaling runs (default fifo)")
    p.add_argument("--policies", help="comma-separated policies (default: every registered one)")
    p.add_argument("--quick", action="store_true", help="small and fast: 1e4 tasks, 1 repeat, sizes 1e4,1e5")
    p.add_argument("--no-segments", action="store_true", help="skip the realistic-segment-count runs")
    p.add_argument("--no-sizes", action="store_true", help="skip the scaling runs")
    p.add_argument("--no-xr", action="store_true", help="skip the XRBench run")
    p.add_argument("--json", metavar="PATH", help="also write every measurement to this JSON file")
    return p


def _registered() -> tuple[list[str], str | None]:
    """Policies registered now, and the error if the registry itself fails to load."""
    try:
        from simsched.policies import available_policies

        return available_policies(), None
    except Exception as exc:  # a half-written policy module must not stop the benchmark
        return [], f"{type(exc).__name__}: {exc}"


def _machine() -> str:
    cpus = os.cpu_count() or 0
    with contextlib.suppress(AttributeError, OSError):
        cpus = len(os.sched_getaffinity(0))
    return (
        f"Python {platform.python_version()}, SimPy {simpy.__version__}, {cpus} CPU(s), "
        f"{platform.system()} {platform.machine()}, {platform.processor() or 'unknown CPU'}"
    )


def _fmt_int(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


# ---------------------------------------------------------------- throughput


def bench_throughput(scenarios: dict[str, Scenario], policies: list[str], repeats: int) -> dict[str, Any]:
    """Best-of-``repeats`` runs of the ceiling and of each policy on each scenario variant.

    Repeats go round-robin (ceiling, then every policy and variant, then again),
    so a slow spell of a shared machine hits every candidate alike.
    """
    base = next(iter(scenarios.values()))
    best: dict[str, dict[str, Any]] = {}
    best_cpu: dict[str, float] = {}
    errors: dict[str, str] = {}
    # Warm-up on a tiny instance: lazy imports and first-call costs are not what is measured.
    warm = make_scenario(500)
    run_ceiling(warm)
    for pol in policies:
        try:
            timed_run(warm.config(pol))
        except Exception as exc:
            errors[f"single/{pol}"] = errors[f"segments/{pol}"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
    for rep in range(repeats):
        c = run_ceiling(base)
        if "ceiling" not in best or c["seconds"] < best["ceiling"]["seconds"]:
            best["ceiling"] = c
        best_cpu["ceiling"] = min(best_cpu.get("ceiling", c["cpu_s"]), c["cpu_s"])
        for variant, sc in scenarios.items():
            for pol in policies:
                key = f"{variant}/{pol}"
                if key in errors:
                    continue
                try:
                    timing, result = timed_run(sc.config(pol))
                except Exception as exc:
                    errors[key] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
                    continue
                if rep == 0:
                    timing["check"] = _check(sc, pol, result)
                else:
                    timing["check"] = best[key]["check"]
                if key not in best or timing["total_s"] < best[key]["total_s"]:
                    best[key] = timing
                best_cpu[key] = min(best_cpu.get(key, timing["cpu_s"]), timing["cpu_s"])
    ceiling_tps = best["ceiling"]["tasks"] / best["ceiling"]["seconds"]
    ceiling_cpu_tps = best["ceiling"]["tasks"] / best_cpu["ceiling"]
    rows = []
    for variant in scenarios:
        for pol in policies:
            key = f"{variant}/{pol}"
            if key in errors:
                rows.append({"variant": variant, "policy": pol, "error": errors[key]})
                continue
            t = best[key]
            tps = t["tasks"] / t["total_s"]
            etps = t["tasks"] / t["engine_s"]
            rows.append(
                {
                    "variant": variant,
                    "policy": pol,
                    **t,
                    "tasks_per_s": tps,
                    "ratio": tps / ceiling_tps,
                    "engine_tasks_per_s": etps,
                    "engine_ratio": etps / ceiling_tps,
                    "best_cpu_s": best_cpu[key],
                    "cpu_ratio": t["tasks"] / best_cpu[key] / ceiling_cpu_tps,
                    "events_per_task": t["events"] / max(1, t["tasks_recorded"]),
                }
            )
    return {
        "ceiling": {
            **best["ceiling"],
            "best_cpu_s": best_cpu["ceiling"],
            "tasks_per_s": ceiling_tps,
            "events_per_task": best["ceiling"]["events"] / base.n_tasks,
        },
        "rows": rows,
        "n_tasks": base.n_tasks,
        "repeats": repeats,
    }


def _check(sc: Scenario, policy: str, result: Any) -> str:
    """Whether simsched ran the scenario's jobs: exactly (fifo, affinity) or by arrival times (others)."""
    try:
        if policy in SAME_PLACEMENT:
            check_same_jobs(sc, result.jobs, result.tasks)
            return "same arrivals, processors and durations as the ceiling"
        got = sorted(result.jobs["arrival_ms"].tolist())
        want = sorted(t for times in sc.arrivals.values() for t in times)
        if len(got) != len(want) or max((abs(a - b) for a, b in zip(got, want, strict=True)), default=0.0) > 1e-9:
            return "MISMATCH: arrival times differ"
        return "same arrivals; processors chosen by the policy"
    except AssertionError as exc:
        return f"MISMATCH: {exc}"


def print_throughput(tp: dict[str, Any], ratio_goals: dict[str, float]) -> None:
    """The throughput table."""
    c = tp["ceiling"]
    print(f"\n## Throughput: {tp['n_tasks']:,} tasks, best of {tp['repeats']}")
    print("tasks/s = finished tasks / wall seconds of the whole run (config, engine, tables, summary);")
    print("ratio = tasks/s over the ceiling's; engine = without config loading and result building;")
    print("cpu = the same ratio from CPU seconds (steadier when other processes compete for the cores).\n")
    head = f"{'model':<34} {'tasks/s':>9} {'ratio':>6} {'goal':>6} {'engine':>6} {'cpu':>6} {'ev/task':>7} {'wall s':>7}"
    print(head)
    print("-" * len(head))
    print(
        f"{'ceiling: SimPy process per task':<34} {_fmt_int(c['tasks_per_s']):>9} {'1.00':>6} {'':>6} "
        f"{'':>6} {'':>6} {_fmt(c['events_per_task']):>7} {_fmt(c['seconds']):>7}"
    )
    for r in tp["rows"]:
        label = f"{r['policy']}" + (" (realistic segments)" if r["variant"] == "segments" else " (1 segment/task)")
        goal = ratio_goals.get(r["policy"])
        g = f">={goal:.1f}" if goal is not None else ""
        if "error" in r:
            print(f"{label:<34} error: {r['error']}")
            continue
        print(
            f"{label:<34} {_fmt_int(r['tasks_per_s']):>9} {_fmt(r['ratio']):>6} {g:>6} {_fmt(r['engine_ratio']):>6} "
            f"{_fmt(r['cpu_ratio']):>6} {_fmt(r['events_per_task']):>7} {_fmt(r['total_s']):>7}"
        )
    checks: dict[str, set[str]] = {}
    for r in tp["rows"]:
        if "check" in r:
            checks.setdefault(r["check"], set()).add(r["policy"])
    print("\nscenario check (simsched's tables against the jobs given to the ceiling):")
    for msg, pols in sorted(checks.items()):
        print(f"  {', '.join(sorted(pols))}: {msg}")


# ---------------------------------------------------------------- scaling


def bench_sizes(sizes: list[int], policy: str, repeats: int) -> list[dict[str, Any]]:
    """Runs per size, each in a fresh interpreter: the fastest of ``repeats`` up to 2e5 tasks, one above."""
    out = []
    for n in sizes:
        runs = [run_in_subprocess("benchmarks.worker", ["size", str(n), policy]) for _ in range(repeats if n <= 200_000 else 1)]
        ok = [r for r in runs if "error" not in r]
        r = min(ok, key=lambda x: x["total_s"]) if ok else runs[0]
        r["requested"] = n
        r["runs"] = len(runs)
        if "error" not in r:
            r["us_per_task"] = r["total_s"] / max(1, r["tasks"]) * 1e6
            r["engine_us_per_task"] = r["engine_s"] / max(1, r["tasks"]) * 1e6
            r["bytes_per_task"] = (r["peak_rss_mb"] - r["rss_base_mb"]) * 1e6 / max(1, r["tasks"])
            r["records_bytes_per_task"] = (r["rss_after_engine_mb"] - r["rss_base_mb"]) * 1e6 / max(1, r["tasks"])
        out.append(r)
    return out


def bench_stream(n: int, policy: str) -> dict[str, Any]:
    """One streaming run of ``n`` tasks in a fresh interpreter."""
    r = run_in_subprocess("benchmarks.worker", ["stream", str(n), policy])
    r["requested"] = n
    if "error" not in r:
        r["us_per_task"] = r["total_s"] / max(1, r["n_tasks"]) * 1e6
    return r


def print_stream(r: dict[str, Any], in_memory: dict[str, Any] | None) -> None:
    """The streaming line, next to the in-memory run of the same size."""
    print(f"\n## Streaming: {r['requested']:,} tasks written to disk while the run goes (simulate_streaming)\n")
    if "error" in r:
        print(f"error: {r['error']}")
        return
    line = (
        f"total {r['total_s']:.2f} s ({r['us_per_task']:.1f} us/task, CSV writing included), "
        f"peak RSS {r['peak_rss_mb']:.0f} MB, files {r['files_mb']:.0f} MB"
    )
    if in_memory is not None and "error" not in in_memory:
        line += f"; in memory: {in_memory['total_s']:.2f} s without writing, peak {in_memory['peak_rss_mb']:.0f} MB"
    print(line)


def print_sizes(rows: list[dict[str, Any]], policy: str) -> None:
    """The scaling table."""
    print(f"\n## Scaling: {policy}, each run in a fresh interpreter (fastest of {rows[0].get('runs', 1)} up to 2e5 tasks, one run above)")
    print("peak = peak RSS of the process; after engine = RSS when the run ends, before the tables are built;")
    print("B/task = (peak - RSS after imports) / tasks.\n")
    head = (
        f"{'tasks':>10} {'total s':>8} {'engine s':>8} {'build s':>8} {'us/task':>8} {'eng us/task':>11} "
        f"{'after engine MB':>15} {'peak MB':>8} {'B/task':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['requested']:>10,} error: {r['error']}")
            continue
        print(
            f"{r['tasks']:>10,} {_fmt(r['total_s']):>8} {_fmt(r['engine_s']):>8} {_fmt(r['build_s']):>8} "
            f"{_fmt(r['us_per_task'], '.1f'):>8} {_fmt(r['engine_us_per_task'], '.1f'):>11} "
            f"{_fmt(r['rss_after_engine_mb'], '.0f'):>15} {_fmt(r['peak_rss_mb'], '.0f'):>8} {_fmt(r['bytes_per_task'], '.0f'):>7}"
        )


# ---------------------------------------------------------------- XRBench


def bench_xr(policy: str, repeats: int) -> dict[str, Any]:
    """The 60-second AR-assistant run: warm (best of ``repeats`` in this process) and cold (fresh interpreter)."""
    out: dict[str, Any] = {"policy": policy, "config": {**XR_CONFIG, "policy": policy}}
    try:
        warm = min((timed_run({**XR_CONFIG, "policy": policy})[0] for _ in range(max(1, repeats))), key=lambda t: t["total_s"])
        out["warm"] = warm
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        return out
    out["cold"] = run_in_subprocess("benchmarks.worker", ["xr", policy])
    return out


def print_xr(xr: dict[str, Any], stand_in: bool) -> None:
    """The XRBench line."""
    note = " (stand-in: dream is not registered)" if stand_in else ""
    print(f"\n## XRBench AR assistant, 60 s simulated, policy {xr['policy']}{note}\n")
    if "error" in xr:
        print(f"error: {xr['error']}")
        return
    w, c = xr["warm"], xr["cold"]
    print(f"warm (best of runs in one process): {w['total_s']:.2f} s for {w['tasks']:,} finished tasks, {w['events']:,} events")
    if "error" in c:
        print(f"cold: error: {c['error']}")
    else:
        print(f"cold (fresh interpreter, imports included): {c['process_s']:.2f} s, peak RSS {c['peak_rss_mb']:.0f} MB")


# ---------------------------------------------------------------- goals


def evaluate(
    tp: dict[str, Any] | None,
    sizes: list[dict[str, Any]] | None,
    xr: dict[str, Any] | None,
    registered: list[str],
    largest: int,
) -> list[dict[str, Any]]:
    """Each goal with its target, the measured value and a verdict."""
    goals: list[dict[str, Any]] = []
    if tp is not None:
        by = {r["policy"]: r for r in tp["rows"] if r["variant"] == "single"}
        for pol, target in RATIO_GOALS.items():
            g = {"goal": f"{pol}: tasks/s over the ceiling's", "target": f">= {target:.2f}"}
            if pol not in registered:
                g.update(measured="-", verdict="not registered (skipped)")
            elif pol not in by:
                g.update(measured="-", verdict="not run (not in --policies)")
            elif "error" in by[pol]:
                g.update(measured="-", verdict=f"error: {by[pol]['error']}")
            else:
                v = by[pol]["ratio"]
                g.update(measured=f"{v:.2f} (cpu {by[pol]['cpu_ratio']:.2f}, engine {by[pol]['engine_ratio']:.2f})", value=v)
                g["verdict"] = "holds" if v >= target else f"FAILS (short by {target - v:.2f}, {target / v:.2f}x too slow)"
            goals.append(g)
    if sizes:
        ok = [r for r in sizes if "error" not in r]
        if len(ok) >= 2:
            costs = [r["us_per_task"] for r in ok]
            flat = max(costs) / min(costs)
            grow = costs[-1] / costs[0]
            goals.append(
                {
                    "goal": f"cost per task flat from {ok[0]['tasks']:,} to {ok[-1]['tasks']:,} tasks",
                    "target": f"max/min <= {FLAT_GOAL}",
                    "measured": f"max/min {flat:.2f}; largest/smallest {grow:.2f}",
                    "value": flat,
                    "verdict": "holds" if flat <= FLAT_GOAL else f"FAILS ({flat / FLAT_GOAL:.2f}x over)",
                }
            )
        big = [r for r in ok if r["requested"] >= largest]
        if big:
            r = big[-1]
            v = r["peak_rss_mb"]
            goals.append(
                {
                    "goal": f"peak memory of the {r['tasks']:,}-task run",
                    "target": f"<= {MEMORY_GOAL_MB:.0f} MB",
                    "measured": f"{v:.0f} MB",
                    "value": v,
                    "verdict": "holds" if v <= MEMORY_GOAL_MB else f"FAILS (over by {v - MEMORY_GOAL_MB:.0f} MB)",
                }
            )
    if xr is not None and "error" not in xr:
        cold = xr["cold"].get("process_s")
        warm = xr["warm"]["total_s"]
        v = cold if cold is not None else warm
        goals.append(
            {
                "goal": f"60 s XRBench AR assistant ({xr['policy']})",
                "target": f"< {XR_GOAL_S:.0f} s",
                "measured": f"{v:.2f} s cold, {warm:.2f} s warm",
                "value": v,
                "verdict": "holds" if v < XR_GOAL_S else f"FAILS ({v / XR_GOAL_S:.2f}x over)",
            }
        )
    return goals


def print_goals(goals: list[dict[str, Any]]) -> None:
    """The goals table."""
    print("\n## Goals\n")
    head = f"{'goal':<46} {'target':<14} {'measured':<34} verdict"
    print(head)
    print("-" * len(head))
    for g in goals:
        print(f"{g['goal']:<46} {g['target']:<14} {g['measured']:<34} {g['verdict']}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.quick:
        args.tasks, args.repeats, args.sizes = 1e4, 1, "1e4,1e5"
    t_start = time.perf_counter()
    registered, registry_error = _registered()
    policies = [p.strip() for p in args.policies.split(",")] if args.policies else registered
    sizes = sorted(int(float(s)) for s in args.sizes.split(",") if s.strip())

    print("# simsched benchmark")
    print(f"machine: {_machine()}")
    print("Wall-clock numbers vary between runs (by 20 % or more on a busy machine); ratios taken in one run are steadier.")
    if registry_error:
        print(f"policy registry failed to load ({registry_error}); only the ceiling runs")
        policies = []
    missing = [p for p in RATIO_GOALS if p not in registered]
    print(f"policies: {', '.join(policies) or 'none'}" + (f"; not registered (skipped): {', '.join(missing)}" if missing else ""))
    procs = ", ".join(f"{n} x{p['capacity']}" for n, p in PROCESSORS.items())
    dags = ", ".join(f"{a}: {len(d)} tasks every {g:g} ms (mean)" for a, (g, d) in APPS.items())
    segs = sorted({n for _l, _d, n in MODELS.values()})
    print(f"scenario: processors {procs}; apps {dags}; constant latencies; realistic segments {segs[0]}-{segs[-1]} per model")

    n = int(args.tasks)
    variants = {"single": make_scenario(n)}
    if not args.no_segments:
        variants["segments"] = make_scenario(n, segments=True)
    tp = bench_throughput(variants, policies, args.repeats)
    print_throughput(tp, RATIO_GOALS)

    size_rows = None
    stream_row = None
    if not args.no_sizes and sizes:
        size_rows = bench_sizes(sizes, args.size_policy, args.repeats)
        print_sizes(size_rows, args.size_policy)
        stream_row = bench_stream(sizes[-1], args.size_policy)
        print_stream(stream_row, next((r for r in size_rows if r["requested"] == sizes[-1]), None))

    xr = None
    stand_in = False
    if not args.no_xr:
        pol = xr_policy(registered)
        stand_in = pol != "dream"
        xr = bench_xr(pol, args.repeats)
        print_xr(xr, stand_in)

    goals = evaluate(tp, size_rows, xr, registered, largest=max(sizes) if sizes else 0)
    print_goals(goals)
    elapsed = time.perf_counter() - t_start
    print(f"\nbenchmark wall time: {elapsed:.0f} s")
    if args.json:
        data = {
            "machine": _machine(),
            "throughput": tp,
            "sizes": size_rows,
            "stream": stream_row,
            "xr": xr,
            "goals": goals,
            "elapsed_s": elapsed,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
