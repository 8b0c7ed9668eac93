"""The result of a run: tidy tables, the summary, the manifest, and writing a run directory."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform as _pyplatform
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsched.engine.recorder import MemoryRecorder
from simsched.metrics.summary import summarize
from simsched.tables.power import power_table
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
        """Write the run directory atomically: a temporary folder published into place.

        An existing ``out_dir`` is replaced only with ``force``; an interrupted write
        leaves the old directory (or none), never a half-written one; a directory
        that appears at ``out_dir`` during the write is kept and
        :class:`simsched.outdir.PublishError` raised (:mod:`simsched.outdir`).
        """
        from simsched.outdir import OutputDir

        with OutputDir(out_dir, force) as od:
            for name in TABLES:
                getattr(self, name).to_csv(od.tmp / f"{name}.csv", index=False, float_format=CSV_FLOAT, lineterminator="\n")
            (od.tmp / "summary.json").write_text(dumps(self.summary) + "\n", encoding="utf-8")
            return od.publish()


def temp_dir_for(out: Path) -> Path:
    """A new, empty temporary directory beside ``out`` (same file system, so it can be renamed into place).

    Kept for callers that manage the folder themselves; new code uses
    :class:`simsched.outdir.OutputDir`, which also publishes safely.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    from simsched.outdir import umask

    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def replace_dir(tmp: Path, out: Path) -> None:
    """Rename the finished directory ``tmp`` to ``out``, replacing only a directory already there.

    Kept for callers that manage the folder themselves; it goes through
    :class:`simsched.outdir.OutputDir`'s publish step, so it never replaces
    something that is not a directory and never touches a sibling of ``out``.
    """
    from simsched.outdir import LIVE, OutputDir

    od = OutputDir.__new__(OutputDir)
    od.label, od.force, od.path, od.tmp, od.published = str(out), True, Path(out), Path(tmp), False
    od._was = (out.stat().st_dev, out.stat().st_ino) if out.is_dir() else None
    LIVE.add(od.tmp)
    od.publish()


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed indentation (byte-identical for equal data)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)


def config_hash(resolved: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a resolved config (without the seed)."""
    data = {k: v for k, v in resolved.items() if k != "seed"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and the packages that determine a run's numbers (a new dict each call)."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    # Read once per process: package metadata look-ups cost about 8 ms, a sweep of
    # short runs would pay them every run, and installed versions do not change.
    out = [("python", _pyplatform.python_version())]
    for pkg in PACKAGES:
        try:
            out.append((pkg, version(pkg)))
        except PackageNotFoundError:
            out.append((pkg, "not installed"))
    return tuple(out)


def build_result(sim: Simulation, loaded: LoadedConfig) -> Result:
    """Turn a finished in-memory simulation's records into tables, summary and manifest.

    Each table is built column by column from its record list (known dtypes, one
    pass per column, numpy sorts and label look-ups), and the record list is then
    emptied on the recorder, so that at most one table exists twice in memory, as
    rows and as columns. ``sim`` keeps its scalars (energy, events, ...) but no
    records afterwards.
    """
    plat = sim.platform
    rec = sim.recorder
    if not isinstance(rec, MemoryRecorder):
        raise TypeError("build_result needs a run recorded in memory")
    app_labels = labels(a.name for a in sim.apps)
    proc_labels = labels(p.name for p in plat.processors)

    j = jobs_table(rec.jobs, app_labels, sim.sim_end_ms)
    rec.release("jobs")
    t = tasks_table(rec.tasks, app_labels, proc_labels)
    rec.release("tasks")
    s = segments_table(rec.segments, app_labels, proc_labels)
    rec.release("segments")
    p = power_table(rec, plat)
    rec.release("power_t", "power_p", "power_w")
    f = frequency_table(rec.freqs, labels(d.name for d in plat.domains))
    rec.release("freqs")

    summary = summary_of(sim, loaded, j, t, s)
    return Result(jobs=j, tasks=t, segments=s, power=p, frequency=f, summary=summary)


def summary_of(
    sim: Simulation, loaded: LoadedConfig, jobs: pd.DataFrame, tasks: pd.DataFrame, segments: pd.DataFrame
) -> dict[str, Any]:
    """The summary of a finished run (metrics, run identity and manifest) from its tables.

    Parameters
    ----------
    sim : Simulation
        The finished simulation (its scalars: energy, peak power, events, ...; not its records).
    loaded : LoadedConfig
        The config it ran, for the manifest.
    jobs, tasks, segments : DataFrame
        The run's jobs, tasks and segments tables (or at least the columns the summary reads).

    Returns
    -------
    dict
        ``Result.summary``.
    """
    plat = sim.platform
    summary = summarize(
        jobs, tasks, segments,
        sim_end_ms=sim.sim_end_ms,
        warmup_ms=loaded.spec.warmup_ms,
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
    summary["workload"] = loaded.spec.workload.name
    summary["seed"] = loaded.spec.seed
    summary["manifest"] = {
        "config": loaded.resolved,
        "config_hash": config_hash(loaded.resolved),
        "seed": loaded.spec.seed,
        "versions": versions(),
        "events": sim.n_events,
        "sources": {k or "experiment": Path(v).name for k, v in sorted(loaded.origins.items())},
    }
    return summary


# ------------------------------------------------------------ table building
#
# The engine records one tuple per job, task, segment and frequency change. A
# DataFrame built from a list of tuples goes through a 2-D object array and type
# inference per column, which cost more than half of building the result. Here
# every column is read once from the records with its known dtype, the sorts are
# numpy sorts on the raw numeric keys and index columns become names by indexing
# an array of labels.

JOB_RECORD = (
    ("job_id", np.int64), ("app", np.int64), ("arrival_ms", float), ("finish_ms", float),
    ("deadline_ms", float), ("dropped", bool), ("end_ms", float), ("user", np.int64),
)
"""Fields of the engine's job record (``MemoryRecorder.jobs``) and their dtypes; ``app`` is an index."""
TASK_RECORD = (
    ("job_id", np.int64), ("app", np.int64), ("task", object), ("model", object), ("processor", np.int64),
    ("state", np.int64), ("ready_ms", float), ("start_ms", float), ("finish_ms", float), ("first_token_ms", float),
    ("prompt_tokens", np.int64), ("output_tokens", np.int64), ("freezes", np.int64), ("migrations", np.int64),
    ("preds", object), ("work_factor", float),
)
"""Fields of the engine's task record (``MemoryRecorder.tasks``); ``app``, ``processor`` (-1: none) and
``state`` (a :class:`TaskState` value) are indices."""
SEGMENT_RECORD = (
    ("job_id", np.int64), ("app", np.int64), ("task", object), ("processor", np.int64),
    ("start_ms", float), ("end_ms", float), ("freq_mhz", float), ("phase", np.int64),
)
"""Fields of the engine's segment record (``MemoryRecorder.segments``); ``app`` and ``processor`` are indices."""
FREQ_RECORD = (("time_ms", float), ("domain", np.int64), ("freq_mhz", float))
"""Fields of the engine's frequency record (``MemoryRecorder.freqs``); ``domain`` is an index."""

_STATE_LABELS = np.empty(max(TaskState) + 1, dtype=object)
_STATE_LABELS[[int(s) for s in TaskState]] = [s.name.lower() for s in TaskState]


def labels(names: Any) -> np.ndarray:
    """Names as an object array, to be indexed by an integer column (``labels[codes]``)."""
    out = list(names)
    arr = np.empty(len(out), dtype=object)  # not np.array(out): that makes a fixed-width str array
    arr[:] = out
    return arr


def _columns(rows: list[tuple], fields: tuple[tuple[str, Any], ...]) -> dict[str, np.ndarray]:
    """One array per record field, in field order.

    Parameters
    ----------
    rows : list of tuple
        Records, each with one value per field.
    fields : tuple of (name, dtype)
        Field names and the dtypes their columns get.

    Returns
    -------
    dict
        Field name -> 1-D array of ``len(rows)`` values.
    """
    n = len(rows)
    # One pass per field without transposing the records first: no second set of
    # tuples as large as the records themselves.
    return {
        name: np.fromiter(map(itemgetter(k), rows), dtype=dtype, count=n) for k, (name, dtype) in enumerate(fields)
    }


def _take(cols: dict[str, np.ndarray], order: np.ndarray) -> None:
    """Reorder every column in place of the dict (rows in ``order``)."""
    for name, col in cols.items():
        cols[name] = col[order]


def jobs_table(rows: list[tuple], app_labels: np.ndarray, end_ms: float) -> pd.DataFrame:
    """jobs.csv from the job records, sorted by job id.

    Parameters
    ----------
    rows : list of tuple
        ``MemoryRecorder.jobs`` (fields in :data:`JOB_RECORD`).
    app_labels : ndarray of str
        App names by app index.
    end_ms : float
        End of the run (ms), which decides ``missed`` for jobs still in flight.
    """
    c = _columns(rows, JOB_RECORD)
    _take(c, np.argsort(c["job_id"], kind="stable"))
    arrival, finish, deadline, dropped = c["arrival_ms"], c["finish_ms"], c["deadline_ms"], c["dropped"]
    unfinished = np.isnan(finish)
    # missed: finished late, dropped, or still running past its deadline; unknown while
    # in flight before its deadline (see docs/metrics.md).
    unknown = unfinished & ~(dropped | (deadline <= end_ms))
    missed = pd.arrays.BooleanArray((unfinished | (finish > deadline)) & ~unknown, unknown)
    return _frame(
        {
            "job_id": c["job_id"],
            "app": app_labels[c["app"]],
            "arrival_ms": arrival,
            "finish_ms": finish,
            "deadline_ms": np.where(np.isinf(deadline), np.nan, deadline),
            "latency_ms": finish - arrival,
            "missed": missed,
            "dropped": dropped,
            "end_ms": c["end_ms"],
            "user": c["user"],
        }
    )


def tasks_table(rows: list[tuple], app_labels: np.ndarray, proc_labels: np.ndarray) -> pd.DataFrame:
    """tasks.csv from the task records, stably sorted by job id (a job's tasks keep their order).

    Parameters
    ----------
    rows : list of tuple
        ``MemoryRecorder.tasks`` (fields in :data:`TASK_RECORD`).
    app_labels, proc_labels : ndarray of str
        App and processor names by index.
    """
    c = _columns(rows, TASK_RECORD)
    _take(c, np.argsort(c["job_id"], kind="stable"))
    c["app"] = app_labels[c["app"]]
    # Processor index -1 (the task never got one) indexes the appended "".
    c["processor"] = np.append(proc_labels, "")[c["processor"]]
    c["state"] = _STATE_LABELS[c["state"]]
    return _frame(c)


def segments_table(rows: list[tuple], app_labels: np.ndarray, proc_labels: np.ndarray) -> pd.DataFrame:
    """segments.csv from the segment records, stably sorted by start, processor index, job id.

    Parameters
    ----------
    rows : list of tuple
        ``MemoryRecorder.segments`` (fields in :data:`SEGMENT_RECORD`).
    app_labels, proc_labels : ndarray of str
        App and processor names by index.
    """
    c = _columns(rows, SEGMENT_RECORD)
    # lexsort is stable; its last key is the primary one. The processor key is the
    # index (not the name), as the rows were always sorted before naming processors.
    _take(c, np.lexsort((c["job_id"], c["processor"], c["start_ms"])))
    c["app"] = app_labels[c["app"]]
    c["processor"] = proc_labels[c["processor"]]
    return _frame(c)


def frequency_table(rows: list[tuple], domain_labels: np.ndarray) -> pd.DataFrame:
    """frequency.csv from the frequency records, in record order.

    Parameters
    ----------
    rows : list of tuple
        ``MemoryRecorder.freqs`` (fields in :data:`FREQ_RECORD`).
    domain_labels : ndarray of str
        DVFS domain names by index.
    """
    c = _columns(rows, FREQ_RECORD)
    c["domain"] = domain_labels[c["domain"]]
    return _frame(c)


def _frame(cols: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame of the columns, without copying them; object columns hold names (str dtype).

    pandas infers the str dtype from the names themselves, so an empty table gets
    it explicitly: the same dtypes whether or not the run recorded rows.
    """
    df = pd.DataFrame(cols, copy=False)
    if df.empty:
        df = df.astype({name: "str" for name, col in cols.items() if col.dtype == object})
    return df
