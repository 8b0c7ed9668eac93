"""The result of a run: tidy tables, the summary, the manifest, and writing a run directory."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform as _pyplatform
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsched.engine.power_table import power_table
from simsched.metrics.summary import summarize
from simsched.workload.jobs import TaskState

if TYPE_CHECKING:
    from simsched.config.loader import LoadedConfig
    from simsched.engine.simulation import Simulation

CSV_FLOAT = "%.6f"  # 1 ns resolution for times in ms; fixed so files compare byte for byte
TABLES = ("jobs", "tasks", "segments", "power", "frequency")
PACKAGES = ("simsched", "simpy", "numpy", "pandas", "pydantic", "pyyaml")


@dataclass
class Result:
    """Everything a run produced.

    Attributes
    ----------
    jobs, tasks, segments, power, frequency : DataFrame
        The tidy tables (columns in docs/metrics.md and DESIGN's output contract).
    summary : dict
        Metrics plus ``manifest`` (resolved config, seed, versions, config hash).
    """

    jobs: pd.DataFrame
    tasks: pd.DataFrame
    segments: pd.DataFrame
    power: pd.DataFrame
    frequency: pd.DataFrame
    summary: dict[str, Any]

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's manifest (also inside ``summary``)."""
        return self.summary["manifest"]

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write the run directory atomically: a temporary folder renamed into place.

        An existing ``out_dir`` is replaced only with ``force``; an interrupted write
        leaves the old directory (or none), never a half-written one.
        """
        out = Path(out_dir)
        if out.exists() and not force:
            raise FileExistsError(f"{out} exists; use --force to replace it")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            for name in TABLES:
                getattr(self, name).to_csv(tmp / f"{name}.csv", index=False, float_format=CSV_FLOAT, lineterminator="\n")
            (tmp / "summary.json").write_text(dumps(self.summary) + "\n", encoding="utf-8")
            if out.exists():
                old = out.with_name(f".{out.name}.old")
                if old.exists():
                    shutil.rmtree(old)
                os.replace(out, old)
                os.replace(tmp, out)
                shutil.rmtree(old)
            else:
                os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed indentation (byte-identical for equal data)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)


def config_hash(resolved: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a resolved config (without the seed)."""
    data = {k: v for k, v in resolved.items() if k != "seed"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and the packages that determine a run's numbers."""
    out = {"python": _pyplatform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def build_result(sim: Simulation, loaded: LoadedConfig) -> Result:
    """Turn a finished simulation's records into tables, summary and manifest."""
    plat = sim.platform
    proc_names = [p.name for p in plat.processors]
    app_names = [a.name for a in sim.apps]
    end = sim.sim_end_ms

    j = pd.DataFrame(
        sim.rec_jobs,
        columns=["job_id", "app", "arrival_ms", "finish_ms", "deadline_ms", "dropped", "end_ms", "user"],
    ).sort_values("job_id", kind="stable", ignore_index=True)
    j["app"] = [app_names[i] for i in j["app"]]
    deadline = j["deadline_ms"].to_numpy(dtype=float)
    finish = j["finish_ms"].to_numpy(dtype=float)
    dropped = j["dropped"].to_numpy(dtype=bool)
    j["latency_ms"] = finish - j["arrival_ms"].to_numpy(dtype=float)
    # missed: finished late, dropped, or still running past its deadline; unknown while
    # in flight before its deadline (see docs/metrics.md).
    missed = np.where(np.isnan(finish), np.where(dropped | (deadline <= end), 1.0, np.nan), finish > deadline)
    j["missed"] = pd.array([None if math.isnan(m) else bool(m) for m in missed], dtype="boolean")
    j["deadline_ms"] = np.where(np.isinf(deadline), np.nan, deadline)
    j = j[["job_id", "app", "arrival_ms", "finish_ms", "deadline_ms", "latency_ms", "missed", "dropped", "end_ms", "user"]]

    t = pd.DataFrame(
        sim.rec_tasks,
        columns=[
            "job_id", "app", "task", "model", "processor", "state", "ready_ms", "start_ms", "finish_ms",
            "first_token_ms", "prompt_tokens", "output_tokens", "freezes", "migrations", "preds", "work_factor",
        ],
    ).sort_values("job_id", kind="stable", ignore_index=True)
    t["app"] = [app_names[i] for i in t["app"]]
    t["processor"] = [proc_names[i] if i >= 0 else "" for i in t["processor"]]
    t["state"] = [TaskState(s).name.lower() for s in t["state"]]

    s = pd.DataFrame(
        sim.rec_segments, columns=["job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz", "phase"]
    )
    s = s.sort_values(["start_ms", "processor", "job_id"], kind="stable", ignore_index=True)
    s["app"] = [app_names[i] for i in s["app"]]
    s["processor"] = [proc_names[i] for i in s["processor"]]

    p = power_table(sim)
    f = pd.DataFrame(sim.rec_freq, columns=["time_ms", "domain", "freq_mhz"])
    f["domain"] = [plat.domains[i].name for i in f["domain"]]

    summary = summarize(
        j, t, s,
        sim_end_ms=end,
        warmup_ms=sim.spec.warmup_ms,
        capacities={pr.name: pr.capacity for pr in plat.processors},
        energy_mj=sim.energy_mj,
        peak_power_w=sim.peak_w,
        time_over_budget_ms=sim.over_budget_ms,
        energy_over_budget_mj=sim.over_budget_mj,
        budget_w=sim.budget_w,
        power_mode=sim.power_mode,
        platform=plat,
    )
    summary["policy"] = sim.policy.name
    summary["governor"] = sim.governor.name if sim.governor is not None else None
    summary["platform"] = plat.name
    summary["workload"] = sim.spec.workload.name
    summary["seed"] = sim.spec.seed
    summary["manifest"] = {
        "config": loaded.resolved,
        "config_hash": config_hash(loaded.resolved),
        "seed": sim.spec.seed,
        "versions": versions(),
        "events": sim._n_events,
        "sources": {k or "experiment": Path(v).name for k, v in sorted(loaded.origins.items())},
    }
    return Result(jobs=j, tasks=t, segments=s, power=p, frequency=f, summary=summary)
