"""Runs of the XR study: the seven XRBench scenarios on ``xr-dual-4k`` under each policy and seed.

Usage: ``python experiments/xr/run_xr.py [STUDY_DIR]`` (default: this folder); normally
called by ``run.sh``. Writes ``STUDY_DIR/results/<duration>ms/<scenario>/runs.csv`` and
``summary.csv`` in the format of ``simsched compare`` (its own ``flatten`` and
``summarize_runs``), with extra columns that ``simsched compare`` does not write:

* ``xrbench_score`` and ``xrbench.<model>.{score,frames,dropped_frames}`` (the summary's
  XRBench score, docs/metrics.md), and ``xrbench_scenario_score`` (that score scaled by
  the share of the scenario's models that logged a frame, as the XRBench artifact's
  plotting script counts it);
* ``on_time_jobs`` and ``window_energy_mj``, so that UXCost can be pooled over seeds as
  ``sum(window energy) / sum(on-time jobs)``.

Environment (reduced runs): ``STUDY_SEEDS`` (default 5), ``STUDY_DURATIONS_MS``
(comma-separated, default ``700,10000``), ``STUDY_JOBS`` (worker processes, default 2).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
SCENARIOS = ("vr-gaming", "ar-gaming", "ar-assistant", "outdoor-a", "outdoor-b", "social-a", "social-b")
POLICIES = ("latency-greedy", "edf", "dream")  # the first is the baseline of summary.csv's rel_change
DURATIONS_MS = (700, 10000)


def run_one(spec: tuple[str, str, int, int]) -> dict[str, Any]:
    """One (config, policy, seed, duration) run as a row of runs.csv."""
    from simsched import simulate
    from simsched.sweep import flatten

    config, policy, seed, duration = spec
    r = simulate(config, overrides=[f"policy={policy}", f"duration_ms={duration}"], seed=seed)
    s = r.summary
    row: dict[str, Any] = {"policy": policy, "seed": seed, **flatten(s)}
    xs = s.get("xrbench_score") or {}
    row["xrbench_score"] = xs.get("overall")
    row["xrbench_scenario_score"] = xs.get("scenario_score")
    for model, v in sorted((xs.get("models") or {}).items()):
        for k in ("score", "frames", "dropped_frames"):
            row[f"xrbench.{model}.{k}"] = v.get(k)
    warmup, end = float(s["warmup_ms"]), float(s["sim_end_ms"])
    jobs = r.jobs
    row["on_time_jobs"] = int(jobs.loc[jobs["arrival_ms"] >= warmup, "missed"].eq(False).sum())
    row["window_energy_mj"] = float(s["energy_mj"]) * (end - warmup) / end
    return row


def main(argv: list[str]) -> int:
    from simsched.report.stats import summarize_runs

    study = Path(argv[0]).resolve() if argv else HERE
    seeds = list(range(1, int(os.environ.get("STUDY_SEEDS", "5")) + 1))
    durations = [int(x) for x in os.environ.get("STUDY_DURATIONS_MS", ",".join(map(str, DURATIONS_MS))).split(",") if x.strip()]
    jobs = int(os.environ.get("STUDY_JOBS", "2"))
    specs = [(str(HERE / "configs" / f"{sc}.yaml"), p, s, d) for d in durations for sc in SCENARIOS for p in POLICIES for s in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(run_one, specs, chunksize=4))
    else:
        rows = [run_one(s) for s in specs]
    for d in durations:
        for sc in SCENARIOS:
            sel = [r for spec, r in zip(specs, rows, strict=True) if spec[3] == d and spec[0].endswith(f"/{sc}.yaml")]
            runs = pd.DataFrame(sel)
            out = study / "results" / f"{d}ms" / sc
            out.mkdir(parents=True, exist_ok=True)
            runs.to_csv(out / "runs.csv", index=False, lineterminator="\n")
            summarize_runs(runs, baseline=POLICIES[0]).to_csv(out / "summary.csv", index=False, lineterminator="\n")
        print(f"wrote {study / 'results' / f'{d}ms'} ({len(SCENARIOS)} scenarios x {len(POLICIES)} policies x {len(seeds)} seeds)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
