"""Invariants every run must satisfy, checked from its tables.

``check_invariants(result)`` returns a list of violations (empty when the run is
sound); ``simsched run --check`` and the property tests call it. Each check reads
only the result tables and the resolved config in the manifest, so it also works
on a run directory read back from disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simsched.result import Result

TOL_MS = 1e-6
TOL_MJ = 1e-6


def check_invariants(result: Result, budget_honouring: bool = False) -> list[str]:
    """Check a run's invariants.

    Parameters
    ----------
    result : Result
        A finished run.
    budget_honouring : bool
        Also require that total power never exceeded the budget (for policies and
        governors that promise it).

    Returns
    -------
    list of str
        One human-readable line per violated invariant (at most a few per kind).
    """
    cfg = result.manifest["config"]
    out: list[str] = []
    out += _capacity(result.segments, cfg)
    out += _precedence(result.tasks)
    out += _segments_inside_tasks(result.tasks, result.segments)
    out += _work_conserved(result.tasks, result.segments, cfg)
    out += _jobs(result)
    out += _energy(result)
    out += _frequencies(result.frequency, result.segments, cfg, result.summary.get("power_mode"))
    if budget_honouring and result.summary.get("budget_w") is not None and result.summary["time_over_budget_ms"] > 0:
        out.append(f"power exceeded the {result.summary['budget_w']:g} W budget for {result.summary['time_over_budget_ms']:g} ms")
    return out


def _capacity(seg: pd.DataFrame, cfg: dict) -> list[str]:
    out = []
    for proc, g in seg.groupby("processor", sort=True):
        cap = cfg["platform"]["processors"][proc]["capacity"]
        # Sweep: +1 at each start, -1 at each end; ends sort before starts at the same instant.
        times = np.concatenate([g["start_ms"].to_numpy(), g["end_ms"].to_numpy()])
        deltas = np.concatenate([np.ones(len(g)), -np.ones(len(g))])
        order = np.lexsort((deltas, times))
        peak = int(np.cumsum(deltas[order]).max()) if len(g) else 0
        if peak > cap:
            out.append(f"capacity: processor {proc} ran {peak} segments at once (capacity {cap})")
    return out


def _precedence(tasks: pd.DataFrame) -> list[str]:
    """No task starts before all its predecessors finished (transfer is checked by the engine tests)."""
    started = tasks[tasks["start_ms"].notna()]
    if "preds" not in tasks.columns or started.empty:
        return []
    finish = {(j, t): f for j, t, f in zip(tasks["job_id"], tasks["task"], tasks["finish_ms"], strict=True)}
    names: dict[Any, set[str]] = {}
    for j, t in finish:
        names.setdefault(j, set()).add(t)
    bad = []
    for j, t, s, preds in zip(started["job_id"], started["task"], started["start_ms"], started["preds"], strict=True):
        if not isinstance(preds, str) or not preds:
            continue
        for p in split_preds(preds, names.get(j, set())):
            f = finish.get((j, p), np.nan)
            if not f <= s + TOL_MS:  # NaN (never finished) fails too
                bad.append(f"precedence: task {j}:{t} started at {s:g} ms before predecessor {p} finished ({f:g})")
    return bad[:5]


def split_preds(preds: str, names: set[str]) -> list[str]:
    """The predecessor names of a ``preds`` cell (names joined by ``;``).

    A task name may itself contain ``;``, so the cell is cut at the separators that
    split it into names of the job's tasks (``names``); if no such cut exists, at
    every separator (a name that is not a task then fails the check, as it should).
    """
    parts = preds.split(";")
    if len(parts) == 1 or all(p in names for p in parts):
        return parts
    # cut[i]: a way to split parts[:i] into task names (the shortest names first).
    cut: list[list[str] | None] = [[]] + [None] * len(parts)
    for i in range(len(parts)):
        if cut[i] is None:
            continue
        for k in range(i + 1, len(parts) + 1):
            name = ";".join(parts[i:k])
            if cut[k] is None and name in names:
                cut[k] = [*cut[i], name]  # type: ignore[misc]
    return cut[-1] if cut[-1] is not None else parts


def _segments_inside_tasks(tasks: pd.DataFrame, seg: pd.DataFrame) -> list[str]:
    if seg.empty:
        return []
    span = tasks.set_index(["job_id", "task"])[["start_ms", "finish_ms"]]
    g = seg.groupby(["job_id", "task"]).agg(first=("start_ms", "min"), last=("end_ms", "max"))
    joined = g.join(span, how="left")
    out = []
    early = joined[joined["first"] < joined["start_ms"] - TOL_MS]
    if len(early):
        out.append(f"segments: {len(early)} tasks have a segment before their start_ms")
    done = joined[joined["finish_ms"].notna()]
    late = done[(done["last"] - done["finish_ms"]).abs() > TOL_MS]
    if len(late):
        out.append(f"segments: {len(late)} finished tasks whose last segment does not end at finish_ms")
    neg = seg[seg["end_ms"] < seg["start_ms"]]
    if len(neg):
        out.append(f"segments: {len(neg)} segments end before they start")
    return out


def _jobs(result: Result) -> list[str]:
    j = result.jobs
    out = []
    finished = j["finish_ms"].notna()
    if (finished & j["dropped"]).any():
        out.append("jobs: a job is both finished and dropped")
    if (j.loc[finished, "finish_ms"] < j.loc[finished, "arrival_ms"] - TOL_MS).any():
        out.append("jobs: a job finished before it arrived")
    end = result.summary["sim_end_ms"]
    if (j["arrival_ms"] >= end).any():
        out.append("jobs: a job arrived at or after the end of the run")
    t = result.tasks
    for jid in j.loc[finished, "job_id"].head(2000):
        states = set(t.loc[t["job_id"] == jid, "state"])
        if not states <= {"done", "skipped"}:
            out.append(f"jobs: job {jid} finished with tasks in states {sorted(states)}")
            break
    return out


def _energy(result: Result) -> list[str]:
    p = result.power
    end = result.summary["sim_end_ms"]
    tot = p[p["processor"] == "total"]
    t = np.append(tot["time_ms"].to_numpy(), end)
    integral = float(np.sum(np.diff(t) * tot["power_w"].to_numpy()))
    e = result.summary["energy_mj"]
    # Relative 1e-6: a run read back from disk has times and powers rounded to 6
    # decimals in power.csv (a relative error of about 1e-9 per row, which adds up
    # over a run); an accounting bug shows as a far larger error.
    if abs(integral - e) > max(TOL_MJ, 1e-6 * abs(e)):
        return [f"energy: summary says {e:.9g} mJ, the power trace integrates to {integral:.9g} mJ"]
    return []


def _frequencies(freq: pd.DataFrame, seg: pd.DataFrame, cfg: dict, mode: str | None) -> list[str]:
    plat = cfg["platform"]
    caps = plat["power_modes"].get(mode, {}).get("caps_mhz", {}) if mode else {}
    out = []
    for dom, g in freq.groupby("domain"):
        opps = {f for f, _ in plat["domains"][dom]["opps"]}
        bad = set(g["freq_mhz"]) - opps
        if bad:
            out.append(f"frequency: domain {dom} ran at {sorted(bad)} MHz, not in its OPP table")
        if dom in caps and (g["freq_mhz"] > caps[dom] + 1e-9).any():
            out.append(f"frequency: domain {dom} exceeded the power mode's cap of {caps[dom]:g} MHz")
    dom_of = {p: v["domain"] for p, v in plat["processors"].items()}
    for proc, g in seg.groupby("processor"):
        opps = {f for f, _ in plat["domains"][dom_of[proc]]["opps"]}
        if set(g["freq_mhz"]) - opps:
            out.append(f"frequency: processor {proc} has segments at frequencies outside its OPP table")
    return out


def _phase_work_ms(cfg: dict, model: str, proc: str, prompt: int, output: int) -> list[tuple[float, float]]:
    """(work at the highest OPP, compute fraction) per phase, recomputed from the config alone."""
    plat = cfg["platform"]
    kind = plat["processors"][proc]["kind"]
    m = plat["models"][model]

    def pick(mapping: dict) -> float:
        return mapping.get(proc, mapping.get(kind, 0.0))

    if m.get("llm") is None:
        return [(pick(m["latency_ms"]), m["compute_fraction"])]
    llm = m["llm"]
    phases = [(pick(llm["prefill_fixed_ms"]) + prompt * pick(llm["prefill_ms_per_token"]), llm["prefill_compute_fraction"])]
    if output > 1:
        phases.append(((output - 1) * pick(llm["decode_ms_per_token"]), llm["decode_compute_fraction"]))
    return phases


def _work_conserved(tasks: pd.DataFrame, seg: pd.DataFrame, cfg: dict) -> list[str]:
    """Every finished task executed exactly its work: per phase, sum of (time / phase time at that OPP) = 1.

    This catches work lost or done twice across freezes, resumes, migrations and
    frequency changes, independently of how the engine tracks progress.
    """
    if seg.empty or "phase" not in seg.columns:
        return []
    plat = cfg["platform"]
    fmax = {d: v["opps"][-1][0] for d, v in plat["domains"].items()}
    dom = {p: v["domain"] for p, v in plat["processors"].items()}
    done = tasks[tasks["state"] == "done"].set_index(["job_id", "task"])
    share: dict = {}
    for j, t, proc, s0, s1, f, ph in zip(
        seg["job_id"], seg["task"], seg["processor"], seg["start_ms"], seg["end_ms"], seg["freq_mhz"], seg["phase"],
        strict=True,
    ):
        if (j, t) not in done.index:
            continue
        row = done.loc[(j, t)]
        work, beta = _phase_work_ms(cfg, row["model"], proc, int(row["prompt_tokens"]), int(row["output_tokens"]))[ph]
        total = work * row["work_factor"] * (beta * fmax[dom[proc]] / f + 1.0 - beta)
        share[(j, t, ph)] = share.get((j, t, ph), 0.0) + ((s1 - s0) / total if total > 0 else 1.0)
    bad = [(k, v) for k, v in share.items() if abs(v - 1.0) > 1e-6]
    # Phases that never ran at all (zero work) need no segment; others must all be present.
    expected = 0
    for _key, row in done.iterrows():
        phases = _phase_work_ms(cfg, row["model"], row["processor"], int(row["prompt_tokens"]), int(row["output_tokens"]))
        expected += sum(1 for w, _ in phases if w > 0)
    out = [f"work: task {j}:{t} phase {ph} executed {v:.6f} of its work" for (j, t, ph), v in bad[:5]]
    if not bad and len(share) < expected:
        out.append(f"work: {expected - len(share)} phases of finished tasks have no segment")
    return out
