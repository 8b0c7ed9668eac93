"""Summary metrics from the run tables (definitions in docs/metrics.md).

The names, units and directions of these metrics are in
:mod:`simsched.metrics.catalogue`; ``tests/unit/test_catalogue.py`` checks that a
summary holds exactly the catalogued fields.

Pure functions of DataFrames, so they apply equally to a fresh Result and to a run
directory read back from disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsched.metrics.catalogue import PERCENTILES
from simsched.metrics.xr import EnergyModel, uxcost_metrics, xrbench_score

if TYPE_CHECKING:
    from simsched.platform.soc import Platform


def _stats(values: np.ndarray, prefix: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if len(values) == 0:
        out[f"{prefix}_mean_ms"] = None
        for q in PERCENTILES:
            out[f"{prefix}_p{q}_ms"] = None
        out[f"{prefix}_max_ms"] = None
        return out
    out[f"{prefix}_mean_ms"] = float(values.mean())
    # numpy's default (linear interpolation between order statistics), as docs/metrics.md says.
    for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True):
        out[f"{prefix}_p{q}_ms"] = float(v)
    out[f"{prefix}_max_ms"] = float(values.max())
    return out


def job_metrics(jobs: pd.DataFrame, tasks: pd.DataFrame, window_ms: float) -> dict[str, Any]:
    """Latency, deadline and LLM metrics of a set of jobs (already restricted to the window).

    Parameters
    ----------
    jobs, tasks : DataFrame
        Rows of jobs.csv and tasks.csv.
    window_ms : float
        Length of the measurement window, for throughput (ms).
    """
    finished = jobs[jobs["finish_ms"].notna()]
    dropped = int(jobs["dropped"].sum())
    decided = jobs["missed"].notna()
    n_decided = int(decided.sum())
    n_missed = int(jobs.loc[decided, "missed"].astype(bool).sum())
    out: dict[str, Any] = {
        "jobs_arrived": len(jobs),
        "jobs_finished": len(finished),
        "jobs_dropped": dropped,
        "jobs_in_flight": len(jobs) - len(finished) - dropped,
        "throughput_jobs_per_s": len(finished) / window_ms * 1000.0 if window_ms > 0 else None,
    }
    out.update(_stats(finished["latency_ms"].to_numpy(dtype=float), "latency"))
    out["deadline_miss_rate"] = n_missed / n_decided if n_decided else None
    out["drop_rate"] = dropped / n_decided if n_decided else None
    llm = tasks[tasks["first_token_ms"].notna()]
    if len(llm):
        arrival = jobs.set_index("job_id")["arrival_ms"]
        ttft = (llm["first_token_ms"] - llm["job_id"].map(arrival)).to_numpy(dtype=float)
        out.update(_stats(ttft, "ttft"))
        dec = llm[(llm["finish_ms"].notna()) & (llm["output_tokens"] > 1)]
        tpot = ((dec["finish_ms"] - dec["first_token_ms"]) / (dec["output_tokens"] - 1)).to_numpy(dtype=float)
        out["tpot_mean_ms"] = float(tpot.mean()) if len(tpot) else None
        out["tokens_per_s_mean"] = float((1000.0 / tpot).mean()) if len(tpot) and (tpot > 0).all() else None
        out["llm_requests"] = len(llm)
    return out


def summarize(
    jobs: pd.DataFrame,
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    sim_end_ms: float,
    warmup_ms: float,
    capacities: dict[str, int],
    energy_mj: float,
    peak_power_w: float,
    time_over_budget_ms: float,
    energy_over_budget_mj: float,
    budget_w: float | None,
    power_mode: str | None,
    platform: Platform | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary: overall and per-app job metrics, energy, power and utilisation.

    ``platform`` (a built platform or its resolved config) gives the power model
    that attributes energy to tasks; without it the per-app UXCost and the
    XRBench score are None (docs/metrics.md, "UXCost and the XRBench score").
    """
    window = sim_end_ms - warmup_ms
    measured = _where(jobs, (jobs["arrival_ms"] >= warmup_ms).to_numpy())
    # job_metrics reads only the LLM tasks (first token set): select them once, so
    # the per-app selections below scan those few rows rather than every task.
    llm = tasks["first_token_ms"].notna().to_numpy() & tasks["job_id"].isin(measured["job_id"].to_numpy()).to_numpy()
    mllm = tasks[llm]
    summary: dict[str, Any] = {
        "sim_end_ms": sim_end_ms,
        "warmup_ms": warmup_ms,
        "overall": job_metrics(measured, mllm, window),
        "apps": {},
    }
    for app, g in measured.groupby("app", sort=True):
        summary["apps"][str(app)] = job_metrics(g, mllm[mllm["app"] == app], window)
    busy = (segments["end_ms"] - segments["start_ms"]).groupby(segments["processor"]).sum()
    summary["utilization"] = {
        p: float(busy.get(p, 0.0)) / (cap * sim_end_ms) if sim_end_ms > 0 else None for p, cap in capacities.items()
    }
    summary["energy_mj"] = energy_mj
    summary["avg_power_w"] = energy_mj / sim_end_ms if sim_end_ms > 0 else None
    summary["peak_power_w"] = peak_power_w
    summary["budget_w"] = budget_w
    summary["power_mode"] = power_mode
    summary["time_over_budget_ms"] = time_over_budget_ms
    summary["energy_over_budget_mj"] = energy_over_budget_mj
    _add_xr(summary, measured, tasks, segments, energy_mj, sim_end_ms, warmup_ms, power_mode, platform)
    return _clean(summary)


def _add_xr(
    summary: dict[str, Any],
    measured: pd.DataFrame,
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    energy_mj: float,
    sim_end_ms: float,
    warmup_ms: float,
    power_mode: str | None,
    platform: Platform | Mapping[str, Any] | None,
) -> None:
    """UXCost (overall and per app) and the XRBench score (overall and per model)."""
    model = EnergyModel(platform) if platform is not None else None
    # Both metrics need each task's energy. It depends only on the task's own
    # segments, so it is computed once for all tasks and shared (the same values
    # as computing it per metric on the window's rows).
    energy = model.task_energy_mj(tasks, segments) if model is not None and not measured.empty else None
    ux = uxcost_metrics(
        measured, tasks, segments, energy_mj=energy_mj, sim_end_ms=sim_end_ms, warmup_ms=warmup_ms,
        model=model, power_mode=power_mode, task_energy_mj=energy,
    )
    summary["overall"]["uxcost"] = ux["overall"]
    for app, m in summary["apps"].items():
        m["uxcost"] = ux["apps"].get(app)
    summary["xrbench_score"] = (
        xrbench_score(measured, tasks, segments, model, sim_end_ms=sim_end_ms, task_energy_mj=energy)
        if model is not None
        else None
    )


def _where(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows of ``df`` where ``mask`` holds; ``df`` itself (no copy) when all do."""
    return df if mask.all() else df[mask]


def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
