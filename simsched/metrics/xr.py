"""Real-time multi-model metrics: UXCost and the XRBench score (definitions in docs/metrics.md).

* **UXCost** stands in for DREAM's metric (Kim et al., ASPLOS 2023), whose formula
  is not public: the energy per job of a window divided by the share of its jobs
  that met their deadline, i.e. the energy spent per on-time job (mJ, lower is
  better). :func:`uxcost` is shared by the summary and by the ``dream`` policy,
  which evaluates it online over windows.
* **XRBench score** exactly as the XRBench artifact computes it
  (``HET_scoring-module.hpp``, defaults of ``XRBench-MAESTRO.cpp``): a real-time
  score, an energy score and a frame-drop factor per model.

Both need the energy of individual tasks, which the run's tables do not hold: it
comes from the platform's power model (:class:`EnergyModel`), built from a
:class:`~simsched.platform.soc.Platform` or from the resolved platform config in a
run's manifest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simsched.platform.soc import Platform
    from simsched.result import Result

K_RT = 15.0
"""Steepness of XRBench's real-time score (1/ms), the artifact's default."""
E_MAX_MJ = 1500.0
"""XRBench's energy budget per inference (mJ), the artifact's default."""

_TOL_MS = 1e-9


# ------------------------------------------------------------------ UXCost


def uxcost(energy_mj: float, n_jobs: int, n_missed: int) -> float:
    """UXCost of a set of jobs: energy per job over the share of jobs on time (mJ).

    ``UXCost = (E / N) / (1 - m)`` with ``m = n_missed / N``, which equals
    ``E / (N - n_missed)``: the energy spent per job that met its deadline. It is
    an energy-delay-product analogue: the energy per frame times the number of
    frames the user waits for one useful (on-time) frame.

    Parameters
    ----------
    energy_mj : float
        Energy spent on the jobs (mJ).
    n_jobs : int
        Jobs whose outcome is known (finished, dropped, or overdue).
    n_missed : int
        Those of them that missed their deadline (late, dropped or overdue).

    Returns
    -------
    float
        UXCost (mJ per on-time job); ``inf`` if no job was on time, ``nan`` if
        ``n_jobs`` is 0.
    """
    if n_jobs <= 0:
        return math.nan
    on_time = n_jobs - n_missed
    if on_time <= 0:
        return math.inf
    return energy_mj / on_time


# ------------------------------------------------------------ XRBench pieces


def rt_score(delay_ms: Any, k: float = K_RT) -> Any:
    """XRBench real-time score ``1 / (1 + exp(k * delay))``.

    Parameters
    ----------
    delay_ms : float or array
        Completion time minus deadline (ms); negative when the deadline was met.
    k : float
        Steepness (1/ms).

    Returns
    -------
    float or ndarray
        In (0, 1]; 0.5 at the deadline.

    Notes
    -----
    Computed as ``exp(-logaddexp(0, k * delay))``: ``exp(k * delay)`` overflows
    for delays beyond about 47 ms at k = 15, while this form returns the correct
    limits (0 for very late, 1 for very early frames) without warnings.
    """
    x = np.multiply(k, delay_ms, dtype=float)
    out = np.exp(-np.logaddexp(0.0, x))
    return float(out) if np.ndim(out) == 0 else out


def en_score(energy_mj: Any, e_max_mj: float = E_MAX_MJ) -> Any:
    """XRBench energy score ``(E_max - E) / E_max`` (not clipped, as in the artifact).

    Parameters
    ----------
    energy_mj : float or array
        Energy of one inference (mJ).
    e_max_mj : float
        Energy budget per inference (mJ).
    """
    out = (e_max_mj - np.asarray(energy_mj, dtype=float)) / e_max_mj
    return float(out) if np.ndim(out) == 0 else out


# ------------------------------------------------------------ energy model


class EnergyModel:
    """Per-task energy from the platform's power model.

    A processor at OPP *k* running tasks of activities *u_i* draws
    ``idle_w + sum(u_i) * dyn_w[k] / capacity`` (docs/metrics.md), so the power a
    task adds is exactly ``u * dyn_w[k] / capacity`` while it executes: a segment
    of length *t* costs ``t * u * dyn_w[k] / capacity`` mJ above idle. Idle and
    static power are not attributed to tasks; :meth:`baseline_w` gives them.

    Parameters
    ----------
    platform : Platform or mapping
        A built platform, or a platform config (the ``platform`` entry of a run's
        resolved config, as in the manifest).
    """

    def __init__(self, platform: Platform | Mapping[str, Any]) -> None:
        from simsched.platform.soc import Platform

        if not isinstance(platform, Platform):
            from simsched.config.schema import PlatformSpec

            platform = Platform.from_spec(PlatformSpec.model_validate(dict(platform)))
        self.platform = platform
        self._proc = {p.name: p for p in platform.processors}
        # (activity of the first phase, activity of the decode phase or None)
        self._act = {
            name: (m.activity, m.llm.decode_activity if m.llm is not None else None)
            for name, m in platform.models.items()
        }

    def baseline_w(self, power_mode: str | None = None) -> float:
        """Static plus idle power of the processors online in ``power_mode`` (W)."""
        plat = self.platform
        mode = plat.power_modes.get(power_mode) if power_mode else None
        offline = frozenset(mode.offline) if mode is not None else frozenset()
        return plat.min_power_w(offline)

    def segment_energy_mj(self, segments: pd.DataFrame, tasks: pd.DataFrame) -> np.ndarray:
        """Energy above idle of each row of segments.csv (mJ).

        Parameters
        ----------
        segments, tasks : DataFrame
            Rows of segments.csv and tasks.csv of one run (tasks give each
            segment's model and, for LLMs, the end of the prefill phase).
        """
        if segments.empty:
            return np.zeros(0)
        key = tasks.set_index(["job_id", "task"])[["model", "first_token_ms"]]
        info = key.reindex(pd.MultiIndex.from_arrays([segments["job_id"], segments["task"]]))
        models = info["model"].to_numpy()
        starts = segments["start_ms"].to_numpy(dtype=float)
        ends = segments["end_ms"].to_numpy(dtype=float)
        if "phase" in segments.columns:
            decoding = segments["phase"].to_numpy() >= 1
        else:
            # Older tables: segments are split at the prefill/decode boundary, so a
            # segment that starts at or after the first token is in the decode phase.
            decoding = starts >= info["first_token_ms"].to_numpy(dtype=float) - _TOL_MS
        # Power per busy slot at each (processor, frequency) pair, computed once per pair.
        codes, pairs = pd.MultiIndex.from_arrays([segments["processor"], segments["freq_mhz"]]).factorize()
        slot_w = np.array([self._slot_w(p, float(f)) for p, f in pairs])[codes]
        first = np.array([self._act[m][0] for m in models], dtype=float)
        decode = np.array([np.nan if self._act[m][1] is None else self._act[m][1] for m in models], dtype=float)
        act = np.where(decoding & ~np.isnan(decode), decode, first)
        return (ends - starts) * act * slot_w

    def _slot_w(self, proc_name: str, freq_mhz: float) -> float:
        p = self._proc[proc_name]
        return p.dyn_w[p.domain.opp_index(freq_mhz)] / p.capacity

    def task_energy_mj(self, tasks: pd.DataFrame, segments: pd.DataFrame) -> pd.Series:
        """Energy above idle of each task (mJ), aligned with the rows of ``tasks`` (0 if it never ran)."""
        e = pd.Series(self.segment_energy_mj(segments, tasks), index=segments.index, dtype=float)
        per = e.groupby([segments["job_id"], segments["task"]]).sum()
        idx = pd.MultiIndex.from_arrays([tasks["job_id"], tasks["task"]])
        return pd.Series(per.reindex(idx).fillna(0.0).to_numpy(), index=tasks.index)


# ---------------------------------------------------------- summary parts


def uxcost_metrics(
    jobs: pd.DataFrame,
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    energy_mj: float,
    sim_end_ms: float,
    warmup_ms: float,
    model: EnergyModel | None = None,
    power_mode: str | None = None,
) -> dict[str, Any]:
    """UXCost of the measurement window, overall and per app.

    Parameters
    ----------
    jobs, tasks, segments : DataFrame
        jobs.csv restricted to the window (``arrival_ms >= warmup_ms``), and the
        run's tasks.csv and segments.csv.
    energy_mj : float
        Energy of the whole run (mJ).
    sim_end_ms, warmup_ms : float
        End of the run and start of the window (ms).
    model : EnergyModel, optional
        Needed for the per-app values (attribution of energy to apps).
    power_mode : str, optional
        The run's power mode (which processors draw idle power).

    Returns
    -------
    dict
        ``overall`` (float or None) and ``apps`` (app -> float or None; empty
        without ``model``).
    """
    window = sim_end_ms - warmup_ms
    # The window's energy: the run's average power times the window (exact when
    # warmup_ms is 0; the summary's inputs hold no per-instant energy).
    e_window = energy_mj * window / sim_end_ms if sim_end_ms > 0 else 0.0
    out: dict[str, Any] = {"overall": _uxcost_of(jobs, e_window), "apps": {}}
    if model is None or jobs.empty:
        return out
    ids = set(jobs["job_id"])
    mt = tasks[tasks["job_id"].isin(ids)]
    ms = segments[segments["job_id"].isin(ids)]
    e_task = model.task_energy_mj(mt, ms)
    dyn = e_task.groupby(mt["app"]).sum()
    base = model.baseline_w(power_mode) * window
    n_all = len(jobs)
    counts = jobs.groupby("app").size()
    # Each app's share of the window's energy: the dynamic energy of its tasks plus
    # the idle and static energy split per arrived job. The shares sum to the
    # window's energy, and with warmup_ms = 0 each is exactly dyn_a + base * n_a / n.
    total = float(dyn.sum()) + base
    for app, g in jobs.groupby("app", sort=True):
        share = (float(dyn.get(app, 0.0)) + base * counts[app] / n_all) / total if total > 0 else 0.0
        out["apps"][str(app)] = _uxcost_of(g, e_window * share)
    return out


def _uxcost_of(jobs: pd.DataFrame, energy_mj: float) -> float | None:
    decided = jobs["missed"].notna()
    n = int(decided.sum())
    missed = int(jobs.loc[decided, "missed"].astype(bool).sum())
    v = uxcost(float(energy_mj), n, missed)
    return None if not math.isfinite(v) else v


def xrbench_score(
    jobs: pd.DataFrame,
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    model: EnergyModel,
    *,
    sim_end_ms: float,
    k: float = K_RT,
    e_max_mj: float = E_MAX_MJ,
) -> dict[str, Any] | None:
    """The XRBench score of the jobs given (the measurement window), overall and per model.

    A *frame* is one task row (one inference of one model) whose cascade edge
    fired (state not ``skipped``). Per frame:

    * finished: ``RT * EN`` with ``RT = rt_score(finish - deadline)`` and
      ``EN = en_score(energy of the task)``;
    * dropped (its job was dropped before the task finished): 0, and it counts
      as a dropped frame;
    * still in flight at the end with its deadline passed: 0 (not a drop);
      in flight before its deadline: not counted (outcome unknown).

    Per model: ``sum(RT * EN) / frames * (1 - dropped / frames)``; overall: 100
    times the mean over models.

    Parameters
    ----------
    jobs, tasks, segments : DataFrame
        jobs.csv (restricted to the window), the run's tasks.csv and segments.csv.
    model : EnergyModel
        Gives each task's energy.
    sim_end_ms : float
        End of the run (ms).
    k : float
        RT steepness (1/ms).
    e_max_mj : float
        Energy budget per inference (mJ).

    Returns
    -------
    dict or None
        ``{"overall": float, "models": {name: {"score", "frames", "dropped_frames",
        "mean_rt", "mean_en"}}}``; None when some job has no deadline or there is
        no frame.
    """
    if jobs.empty or jobs["deadline_ms"].isna().any():
        return None
    jt = jobs.set_index("job_id")
    t = tasks[tasks["job_id"].isin(jt.index) & (tasks["state"] != "skipped")]
    if t.empty:
        return None
    deadline = t["job_id"].map(jt["deadline_ms"]).to_numpy(dtype=float)
    job_dropped = t["job_id"].map(jt["dropped"]).to_numpy(dtype=bool)
    finish = t["finish_ms"].to_numpy(dtype=float)
    done = (t["state"] == "done").to_numpy()
    dropped = ~done & job_dropped
    overdue = ~done & ~job_dropped & (deadline <= sim_end_ms)
    counted = done | dropped | overdue
    energy = model.task_energy_mj(t, segments[segments["job_id"].isin(jt.index)]).to_numpy()
    rt = np.where(done, rt_score(np.where(done, finish - deadline, 0.0), k), 0.0)
    en = np.where(done, en_score(energy, e_max_mj), 0.0)
    per = rt * en  # 0 for dropped and overdue frames
    models: dict[str, Any] = {}
    names = t["model"].to_numpy()
    for name in sorted(set(names[counted])):
        sel = counted & (names == name)
        n = int(sel.sum())
        nd = int((sel & dropped).sum())
        fin = sel & done
        models[str(name)] = {
            "score": float(per[sel].sum()) / n * (1.0 - nd / n),
            "frames": n,
            "dropped_frames": nd,
            "mean_rt": float(rt[fin].mean()) if fin.any() else None,
            "mean_en": float(en[fin].mean()) if fin.any() else None,
        }
    if not models:
        return None
    overall = 100.0 * float(np.mean([m["score"] for m in models.values()]))
    return {"overall": overall, "models": models}


def xr_metrics(result: Result) -> dict[str, Any]:
    """UXCost and XRBench score of a finished run, from its tables and manifest.

    The same values :func:`simsched.metrics.summary.summarize` reports when it is
    given the platform; this form works on any Result, including a run directory
    read back from disk.

    Returns
    -------
    dict
        ``uxcost`` (as :func:`uxcost_metrics`) and ``xrbench_score`` (as
        :func:`xrbench_score`).
    """
    s = result.summary
    model = EnergyModel(result.manifest["config"]["platform"])
    warm = s["warmup_ms"]
    w = result.jobs[result.jobs["arrival_ms"] >= warm]
    return {
        "uxcost": uxcost_metrics(
            w, result.tasks, result.segments, energy_mj=s["energy_mj"], sim_end_ms=s["sim_end_ms"],
            warmup_ms=warm, model=model, power_mode=s.get("power_mode"),
        ),
        "xrbench_score": xrbench_score(w, result.tasks, result.segments, model, sim_end_ms=s["sim_end_ms"]),
    }
