"""Real-time multi-model metrics: UXCost and the XRBench score (definitions in docs/metrics.md).

* **UXCost** stands in for DREAM's metric (Kim et al., ASPLOS 2023), whose formula
  is not public: the energy per job of a window divided by the share of its jobs
  that met their deadline, i.e. the energy spent per on-time job (mJ, lower is
  better). :func:`uxcost` is shared by the summary and by the ``dream`` policy,
  which evaluates it online over windows.
* **XRBench score** as the XRBench artifact computes it (``HET_scoring-module.hpp``,
  defaults of ``XRBench-MAESTRO.cpp``): a real-time score, an energy score and a
  frame-drop factor per model, over the frames the artifact's runtime logs
  (finished or dropped), each charged its energy as MAESTRO reports it (the
  accelerator's idle power included while the inference runs). The scaling of
  the artifact's plotting script across scenarios is :func:`scenario_score`.
  docs/metrics.md lists where simsched and the artifact still differ.

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

UNFINISHED_MODES = ("unlogged", "zero")
"""How :func:`xrbench_score` treats a frame still in flight at the end of the run:
``"unlogged"`` (the artifact's runtime logs only finished or dropped frames) or
``"zero"`` (a frame past its deadline scores 0 and counts; stricter, simsched's
former default)."""


# ------------------------------------------------------------------ UXCost


from simsched.scoring import uxcost  # noqa: E402  (the formula's home, shared with the dream policy)

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
            segment's model and, for LLMs, the end of the prefill phase). Every
            segment's ``(job_id, task)`` must be a row of ``tasks``.

        Returns
        -------
        ndarray
            One value per row of ``segments`` (mJ), in their order.
        """
        if segments.empty:
            return np.zeros(0)
        return self._segment_energy(segments, tasks, task_rows(tasks, segments))

    def _segment_energy(self, segments: pd.DataFrame, tasks: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """:meth:`segment_energy_mj`, given each segment's row position in ``tasks`` (``rows``)."""
        starts = segments["start_ms"].to_numpy(dtype=float)
        ends = segments["end_ms"].to_numpy(dtype=float)
        if "phase" in segments.columns:
            decoding = segments["phase"].to_numpy() >= 1
        else:
            # Older tables: segments are split at the prefill/decode boundary, so a
            # segment that starts at or after the first token is in the decode phase.
            decoding = starts >= tasks["first_token_ms"].to_numpy(dtype=float)[rows] - _TOL_MS
        # Power per busy slot at each (processor, frequency) pair, computed once per pair.
        proc_codes, procs = pd.factorize(segments["processor"])
        freq_codes, freqs = pd.factorize(segments["freq_mhz"].to_numpy(dtype=float))
        pair_codes, pairs = pd.factorize(proc_codes * len(freqs) + freq_codes)
        pair_w = [self._slot_w(procs[c // len(freqs)], float(freqs[c % len(freqs)])) for c in pairs]
        slot_w = np.array(pair_w, dtype=float)[pair_codes]
        # Activities per model, looked up once per model that ran (not per row).
        model_codes, names = pd.factorize(tasks["model"])
        seg_models = model_codes[rows]
        first_of = np.full(len(names), np.nan)
        decode_of = np.full(len(names), np.nan)
        for c in np.unique(seg_models):
            if c < 0:
                raise ValueError("a segment's task has no model")
            first, decode = self._act[names[c]]
            first_of[c] = first
            decode_of[c] = np.nan if decode is None else decode
        first = first_of[seg_models]
        decode = decode_of[seg_models]
        act = np.where(decoding & ~np.isnan(decode), decode, first)
        return (ends - starts) * act * slot_w

    def segment_idle_energy_mj(self, segments: pd.DataFrame) -> np.ndarray:
        """Idle energy of each segment's processor slot while the segment executes (mJ).

        A segment of length *t* on a processor of idle power ``idle_w`` and
        ``capacity`` slots holds ``t * idle_w / capacity``: the share of the
        processor's idle power that MAESTRO's per-inference energy contains
        (MAESTRO charges an inference the accelerator's whole power while it runs).

        Parameters
        ----------
        segments : DataFrame
            Rows of segments.csv (``processor``, ``start_ms``, ``end_ms``).

        Returns
        -------
        ndarray
            One value per row of ``segments`` (mJ), in their order.
        """
        if segments.empty:
            return np.zeros(0)
        codes, procs = pd.factorize(segments["processor"])
        per_w = np.array([self._proc[p].idle_w / self._proc[p].capacity for p in procs], dtype=float)
        dur = segments["end_ms"].to_numpy(dtype=float) - segments["start_ms"].to_numpy(dtype=float)
        return dur * per_w[codes]

    def task_idle_energy_mj(self, tasks: pd.DataFrame, segments: pd.DataFrame) -> pd.Series:
        """Idle energy held by each task while it executes (mJ), aligned with ``tasks``.

        The sum over each task's segments of :meth:`segment_idle_energy_mj`; 0 for a
        task that never ran. Added to :meth:`task_energy_mj`, it gives the energy
        MAESTRO charges an inference.

        Parameters
        ----------
        tasks, segments : DataFrame
            Rows of tasks.csv and segments.csv of one run; every segment's task
            must be among ``tasks``.
        """
        out = np.zeros(len(tasks))
        if not segments.empty:
            rows = task_rows(tasks, segments)
            per = pd.Series(self.segment_idle_energy_mj(segments)).groupby(rows).sum()
            out[per.index.to_numpy()] = per.to_numpy()
        return pd.Series(out, index=tasks.index)

    def _slot_w(self, proc_name: str, freq_mhz: float) -> float:
        p = self._proc[proc_name]
        return p.dyn_w[p.domain.opp_index(freq_mhz)] / p.capacity

    def task_energy_mj(self, tasks: pd.DataFrame, segments: pd.DataFrame) -> pd.Series:
        """Energy above idle of each task (mJ), aligned with the rows of ``tasks`` (0 if it never ran).

        Parameters
        ----------
        tasks, segments : DataFrame
            Rows of tasks.csv and segments.csv of one run; every segment's task
            must be among ``tasks``.

        Returns
        -------
        Series
            The sum of the energies of each task's segments (mJ), with the index of ``tasks``.
        """
        out = np.zeros(len(tasks))
        if not segments.empty:
            rows = task_rows(tasks, segments)
            e = self._segment_energy(segments, tasks, rows)
            # pandas' grouped sum (compensated, over each group's rows in table order),
            # as the summary has always summed a task's segments.
            per = pd.Series(e).groupby(rows).sum()
            out[per.index.to_numpy()] = per.to_numpy()
        return pd.Series(out, index=tasks.index)


def task_rows(tasks: pd.DataFrame, segments: pd.DataFrame) -> np.ndarray:
    """Row position in ``tasks`` of each segment's task, matched on ``(job_id, task)``.

    Task names become integer codes, so the join is on one int64 key
    (``job_id * names + code``) rather than on pairs of strings.

    Parameters
    ----------
    tasks, segments : DataFrame
        Rows of tasks.csv and segments.csv; a task is identified by its job id
        and its name, which must be unique among ``tasks``.

    Returns
    -------
    ndarray of int
        One position (0-based, into ``tasks``) per row of ``segments``.

    Raises
    ------
    ValueError
        If a segment's task is not in ``tasks``.
    """
    task_codes, names = pd.factorize(tasks["task"])
    seg_codes = pd.Index(names).get_indexer(segments["task"])
    k = max(len(names), 1)
    task_key = tasks["job_id"].to_numpy(dtype=np.int64) * k + task_codes
    seg_key = segments["job_id"].to_numpy(dtype=np.int64) * k + seg_codes
    rows = pd.Index(task_key).get_indexer(seg_key)
    bad = (rows < 0) | (seg_codes < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"segment of task {segments['task'].iloc[i]!r} of job {segments['job_id'].iloc[i]} has no row in tasks"
        )
    return rows


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
    task_energy_mj: pd.Series | None = None,
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
    task_energy_mj : Series, optional
        Energy above idle of each row of ``tasks`` (mJ), as
        ``model.task_energy_mj(tasks, segments)`` gives it; computed when not
        given. A task's energy depends only on its own segments, so one series
        serves every window.

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
    in_window = tasks["job_id"].isin(jobs["job_id"].to_numpy()).to_numpy()
    if task_energy_mj is None:
        in_segs = segments["job_id"].isin(jobs["job_id"].to_numpy()).to_numpy()
        e_task = model.task_energy_mj(_rows(tasks, in_window), _rows(segments, in_segs)).to_numpy()
    else:
        e_task = task_energy_mj.to_numpy(dtype=float)[in_window]
    # Grouped sums in task order, compensated as pandas sums them.
    dyn = pd.Series(e_task).groupby(tasks["app"].to_numpy()[in_window]).sum()
    base = model.baseline_w(power_mode) * window
    n_all = len(jobs)
    # Each app's share of the window's energy: the dynamic energy of its tasks plus
    # the idle and static energy split per arrived job. The shares sum to the
    # window's energy, and with warmup_ms = 0 each is exactly dyn_a + base * n_a / n.
    total = float(dyn.sum()) + base
    app_codes, apps = pd.factorize(jobs["app"], sort=True)  # sorted names, as a sorted groupby gives them
    counts = np.bincount(app_codes, minlength=len(apps))
    decided, missed = _decided_missed(jobs)
    n_decided = np.bincount(app_codes, weights=decided, minlength=len(apps))
    n_missed = np.bincount(app_codes, weights=missed, minlength=len(apps))
    for a, app in enumerate(apps):
        share = (float(dyn.get(app, 0.0)) + base * counts[a] / n_all) / total if total > 0 else 0.0
        out["apps"][str(app)] = _finite(uxcost(float(e_window * share), int(n_decided[a]), int(n_missed[a])))
    return out


def _rows(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows of ``df`` where ``mask`` holds; ``df`` itself when all do (no copy)."""
    return df if mask.all() else df[mask]


def _decided_missed(jobs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per job: whether ``missed`` is known, and whether it is known and true."""
    decided = jobs["missed"].notna().to_numpy()
    missed = decided & jobs["missed"].fillna(False).to_numpy(dtype=bool)
    return decided, missed


def _finite(v: float) -> float | None:
    """``v``, or None when it is not finite (summary.json has no NaN or infinity)."""
    return None if not math.isfinite(v) else v


def _uxcost_of(jobs: pd.DataFrame, energy_mj: float) -> float | None:
    decided, missed = _decided_missed(jobs)
    return _finite(uxcost(float(energy_mj), int(decided.sum()), int(missed.sum())))


def xrbench_score(
    jobs: pd.DataFrame,
    tasks: pd.DataFrame,
    segments: pd.DataFrame,
    model: EnergyModel,
    *,
    sim_end_ms: float,
    k: float = K_RT,
    e_max_mj: float = E_MAX_MJ,
    task_energy_mj: pd.Series | None = None,
    unfinished: str = "unlogged",
    inference_energy_mj: pd.Series | None = None,
    precision: str = "float64",
) -> dict[str, Any] | None:
    """The XRBench score of the jobs given (the measurement window), overall and per model.

    A *frame* is one task row (one inference of one model) whose cascade edge
    fired (state not ``skipped``). Per frame:

    * finished: ``RT * EN`` with ``RT = rt_score(finish - deadline)`` and
      ``EN = en_score(E)``, *E* the inference's energy as MAESTRO charges it: the
      task's energy above idle plus the idle power of its processor slot while it
      executes;
    * dropped (its job was dropped before the task finished): 0, and it counts
      as a dropped frame;
    * still in flight at the end: not logged (``unfinished="unlogged"``, the
      artifact's runtime); with ``unfinished="zero"``, one past its deadline
      scores 0 (not a drop) and one before it is not counted.

    Per model: ``sum(RT * EN) / frames * (1 - dropped / frames)``; overall: 100
    times the mean over the models that logged a frame. ``scenario_score``
    scales it by the share of the scenario's models that logged one, as the
    artifact's plotting script does (:func:`scenario_score`).

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
    task_energy_mj : Series, optional
        Energy above idle of each row of ``tasks`` (mJ), as
        ``model.task_energy_mj(tasks, segments)`` gives it; computed when not
        given. The idle share is added from the segments.
    unfinished : {"unlogged", "zero"}
        Treatment of frames in flight at the end of the run (see above and
        :data:`UNFINISHED_MODES`).
    inference_energy_mj : Series, optional
        The energy charged to each row of ``tasks`` (mJ), replacing the power
        model's (``model``, ``segments`` and ``task_energy_mj`` are then unused
        for energy): for scoring inferences logged elsewhere, such as the
        artifact's own logs.
    precision : {"float64", "float32"}
        Arithmetic of the scores. The artifact computes in single precision
        (``float`` in ``HET_scoring-module.hpp``), frame after frame in log
        order; ``"float32"`` does the same (frames in order of finish), which
        reproduces its printed scores to the last digit. The default, double
        precision, differs from it by a few parts in 10^7.

    Returns
    -------
    dict or None
        ``{"overall": float, "scenario_score": float, "models_logged": int,
        "models_in_scenario": int, "models": {name: {"score", "frames",
        "dropped_frames", "mean_rt", "mean_en"}}}``; None when some job has no
        deadline or no frame is logged.
    """
    if precision not in ("float64", "float32"):
        raise ValueError(f"precision must be 'float64' or 'float32', not {precision!r}")
    if unfinished not in UNFINISHED_MODES:
        raise ValueError(f"unfinished must be one of {UNFINISHED_MODES}, not {unfinished!r}")
    if jobs.empty or jobs["deadline_ms"].isna().any():
        return None
    job_ids = jobs["job_id"].to_numpy()
    in_window = tasks["job_id"].isin(job_ids).to_numpy()
    frame = in_window & (tasks["state"] != "skipped").to_numpy()
    if not frame.any():
        return None
    t = _rows(tasks, frame)
    # Each frame's job, by position in jobs (job ids are unique).
    job_pos = pd.Index(job_ids).get_indexer(t["job_id"])
    deadline = jobs["deadline_ms"].to_numpy(dtype=float)[job_pos]
    job_dropped = jobs["dropped"].to_numpy(dtype=bool)[job_pos]
    finish = t["finish_ms"].to_numpy(dtype=float)
    done = (t["state"] == "done").to_numpy()
    dropped = ~done & job_dropped
    counted = done | dropped
    if unfinished == "zero":
        counted |= ~done & ~job_dropped & (deadline <= sim_end_ms)
    if inference_energy_mj is not None:
        energy = inference_energy_mj.to_numpy(dtype=float)[frame]
    else:
        in_segs = segments["job_id"].isin(job_ids).to_numpy()
        segs = _rows(segments, in_segs)
        if task_energy_mj is None:
            energy = model.task_energy_mj(t, segs).to_numpy()
        else:
            energy = task_energy_mj.to_numpy(dtype=float)[frame]
        # MAESTRO's energy per inference includes the accelerator's idle power
        # while the inference runs; the power model keeps idle power separate.
        energy = energy + model.task_idle_energy_mj(t, segs).to_numpy()
    if precision == "float32":
        rt, en = _scores_f32(finish, deadline, energy, done, k, e_max_mj)
    else:
        rt = np.where(done, rt_score(np.where(done, finish - deadline, 0.0), k), 0.0)
        en = np.where(done, en_score(energy, e_max_mj), 0.0)
    per = rt * en  # 0 for dropped and overdue frames
    order = np.argsort(np.where(done, finish, np.inf), kind="stable")
    models: dict[str, Any] = {}
    model_codes, names = pd.factorize(t["model"])
    for c in sorted(np.unique(model_codes[counted]), key=lambda c: names[c]):
        sel = counted & (model_codes == c)
        n = int(sel.sum())
        nd = int((sel & dropped).sum())
        fin = sel & done
        if precision == "float32":
            # The artifact's loop: a running float sum over the model's log, then
            # (sum / size) * (1 - drop rate), all in float.
            total = np.cumsum(per[order][sel[order]], dtype=np.float32)[-1]
            one = np.float32(1.0)
            score = float(total / np.float32(n) * (one - np.float32(nd) / np.float32(n)))
        else:
            score = float(per[sel].sum()) / n * (1.0 - nd / n)
        models[str(names[c])] = {
            "score": score,
            "frames": n,
            "dropped_frames": nd,
            "mean_rt": float(rt[fin].mean()) if fin.any() else None,
            "mean_en": float(en[fin].mean()) if fin.any() else None,
        }
    if not models:
        return None
    if precision == "float32":
        acc = np.cumsum(np.array([m["score"] for m in models.values()], dtype=np.float32), dtype=np.float32)[-1]
        overall = float(acc / np.float32(len(models)) * np.float32(100.0))
    else:
        overall = 100.0 * float(np.mean([m["score"] for m in models.values()]))
    # The scenario's models: every model of the window's jobs, including those
    # whose cascade edge never fired and those with no logged frame.
    n_scenario = int(tasks.loc[in_window, "model"].nunique())
    return {
        "overall": overall,
        "scenario_score": scenario_score(overall, len(models), n_scenario),
        "models_logged": len(models),
        "models_in_scenario": n_scenario,
        "models": models,
    }


def _scores_f32(
    finish: np.ndarray, deadline: np.ndarray, energy: np.ndarray, done: np.ndarray, k: float, e_max_mj: float
) -> tuple[np.ndarray, np.ndarray]:
    """RT and EN of each frame in single precision, as the artifact's C++ computes them (0 where not done)."""
    f32 = np.float32
    delay = np.where(done, finish, 0.0).astype(f32) - np.where(done, deadline, 0.0).astype(f32)
    with np.errstate(over="ignore"):  # exp overflows to inf for late frames: RT = 0, as in C++
        rt = f32(1.0) / (f32(1.0) + np.exp(f32(k) * delay))
    en = (f32(e_max_mj) - np.asarray(energy).astype(f32)) / f32(e_max_mj)
    return np.where(done, rt, f32(0.0)), np.where(done, en, f32(0.0))


def scenario_score(overall: float, models_logged: int, models_in_scenario: int) -> float:
    """A scenario's XRBench score as the artifact's plotting script counts it.

    ``generate_plots.py`` (XRBench-MLSys2023, ``parse_eval_data_fixed_settings``)
    multiplies a run's overall score by the number of models in its summary
    (those that logged a frame) over the number of models of the usage scenario,
    so a model that never logged a frame counts 0 in the mean over models.

    Parameters
    ----------
    overall : float
        The run's overall score (0-100), the mean over the logged models.
    models_logged : int
        Models that logged at least one frame.
    models_in_scenario : int
        Models of the scenario.

    Returns
    -------
    float
        ``overall * models_logged / models_in_scenario`` (0-100).
    """
    if models_in_scenario <= 0 or not 0 <= models_logged <= models_in_scenario:
        raise ValueError(f"need 0 <= models_logged ({models_logged}) <= models_in_scenario ({models_in_scenario}), > 0")
    return overall * models_logged / models_in_scenario


def gross_average(scenario_scores: Any) -> float:
    """The artifact's "gross average" over usage scenarios: the arithmetic mean of
    their :func:`scenario_score` values (``generate_plots.py``, 0-100)."""
    vals = np.asarray(list(scenario_scores), dtype=float)
    if vals.size == 0:
        raise ValueError("no scenario score to average")
    return float(vals.mean())


def xr_metrics(result: Result, *, unfinished: str = "unlogged") -> dict[str, Any]:
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
        "xrbench_score": xrbench_score(
            w, result.tasks, result.segments, model, sim_end_ms=s["sim_end_ms"], unfinished=unfinished
        ),
    }
