"""Streaming runs: the tables go to disk while the run goes, for runs too long to hold in memory.

In a streaming run the engine's record lists are flushed every ``chunk_rows``
records: the rows whose place in the final, sorted table is already certain are
turned into table rows (by the same builders as :func:`simsched.result.build_result`)
and appended to the run directory's CSV files; the others stay for a later flush.
The files are therefore byte-identical to those of an in-memory run
(tests/unit/test_streaming.py checks it), and the run directory is written into a
temporary folder that is renamed into place at the end, as ``Result.write`` does.

Which rows are final (the *watermarks*):

* jobs.csv and tasks.csv are sorted by job id. A job's rows are recorded when it
  ends, and every job still to be recorded is in flight or has not arrived, so
  its id is at least the smallest id in flight (or the next id). Rows below that
  are final.
* segments.csv is sorted by (start, processor, job id). A segment still to be
  recorded starts no earlier than now, or than the start of the open row of a
  task executing now. Rows that start before the earliest of those are final;
  rows with the same start are never split between flushes, so the stable order
  is kept.
* power.csv is in time order; a processor's row of the current instant may still
  change, so rows before now are final. The SoC total's rows are derived per
  piece, carrying each processor's latest power across pieces.
* frequency.csv is append-only: every row is final.

The summary needs the jobs and some columns of tasks and segments (see
:data:`TASK_COLUMNS`); those are kept in memory as typed columns and the summary
is computed from them by the same functions, so it is identical too. They are
what still grows with the run's length; docs/performance.md has the measurements.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from simsched.engine.power_table import power_rows
from simsched.engine.simulation import RUNNING
from simsched.result import (
    CSV_FLOAT,
    frequency_table,
    jobs_table,
    labels,
    segments_table,
    tasks_table,
)

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation

CHUNK_ROWS = 65536
"""Records (tasks, segments and power rows together) that trigger a flush."""

TASK_COLUMNS = ("job_id", "app", "task", "model", "state", "finish_ms", "first_token_ms", "output_tokens")
"""Columns of tasks.csv that the summary reads (the rest is only written to disk)."""
SEGMENT_COLUMNS = ("job_id", "task", "processor", "start_ms", "end_ms", "freq_mhz", "phase")
"""Columns of segments.csv that the summary reads."""


class StreamWriter:
    """Writes a running simulation's final rows to CSV files and keeps what the summary needs.

    Parameters
    ----------
    sim : Simulation
        The simulation, before ``run()``; the writer attaches itself to it.
    directory : Path
        An existing, empty directory that receives jobs.csv, tasks.csv, ...
    chunk_rows : int
        Records (tasks, segments and power rows together) that trigger a flush.
    """

    def __init__(self, sim: Simulation, directory: Path, chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.directory = Path(directory)
        self.chunk_rows = chunk_rows
        plat = sim.platform
        self._apps = labels(a.name for a in sim.apps)
        self._procs = labels(p.name for p in plat.processors)
        self._domains = labels(d.name for d in plat.domains)
        self._written: set[str] = set()
        self._power_before: list[float] | None = None
        self.jobs: list[pd.DataFrame] = []
        self.tasks: list[pd.DataFrame] = []
        self.segments: list[pd.DataFrame] = []
        self.flushes = 0
        sim._stream = self

    # ------------------------------------------------------------ flushing

    def flush(self, sim: Simulation, final: bool = False) -> None:
        """Write the rows that are final now (all of them if ``final``), keep the others on ``sim``."""
        self.flushes += 1
        now = sim.env._now
        if final:
            w_job, w_seg, w_pow = math.inf, math.inf, math.inf
        else:
            w_job = min(sim._live) if sim._live else sim._next_job
            w_seg = now
            for slots in sim._slots:
                for t in slots:
                    if t.state is RUNNING and t.row_t0 < w_seg:
                        w_seg = t.row_t0
            w_pow = now

        jobs, sim.rec_jobs = _split(sim.rec_jobs, 0, w_job)
        tasks, sim.rec_tasks = _split(sim.rec_tasks, 0, w_job)
        if jobs or final:
            j = jobs_table(jobs, self._apps, sim.duration_ms)
            self._append("jobs", j)
            self.jobs.append(j)
        if tasks or final:
            t = tasks_table(tasks, self._apps, self._procs)
            self._append("tasks", t)
            self.tasks.append(t[list(TASK_COLUMNS)])
        segs, sim.rec_segments = _split(sim.rec_segments, 4, w_seg)
        if segs or final:
            s = segments_table(segs, self._apps, self._procs)
            self._append("segments", s)
            self.segments.append(s[list(SEGMENT_COLUMNS)])

        k = len(sim.rec_power_t) if final else bisect.bisect_left(sim.rec_power_t, w_pow)
        if k or final:
            table, self._power_before = power_rows(
                sim.rec_power_t[:k], sim.rec_power_p[:k], sim.rec_power_w[:k], sim.platform, self._power_before
            )
            self._append("power", table)
            sim._forget_power_rows(k)
        if sim.rec_freq or final:
            self._append("frequency", frequency_table(sim.rec_freq, self._domains))
            sim.rec_freq = []

    def _append(self, name: str, table: pd.DataFrame) -> None:
        first = name not in self._written
        if table.empty and not first:
            return
        table.to_csv(
            self.directory / f"{name}.csv", mode="w" if first else "a", header=first, index=False,
            float_format=CSV_FLOAT, lineterminator="\n",
        )
        self._written.add(name)

    # ------------------------------------------------------------ the end

    def close(self, sim: Simulation) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Flush everything left; return the jobs table and the summary's columns of tasks and segments."""
        self.flush(sim, final=True)  # writes every table, with a header at least
        j = pd.concat(self.jobs, ignore_index=True)
        t = pd.concat(self.tasks, ignore_index=True)
        s = pd.concat(self.segments, ignore_index=True)
        self.jobs, self.tasks, self.segments = [], [], []
        return j, t, s


def _split(rows: list[tuple], key: int, below: float) -> tuple[list[tuple], list[tuple]]:
    """Rows whose field ``key`` is below ``below``, and the others (both in record order)."""
    if below == math.inf:
        return rows, []
    done = [r for r in rows if r[key] < below]
    if len(done) == len(rows):
        return rows, []
    return done, [r for r in rows if r[key] >= below]


def stream_run(
    sim: Simulation, directory: Path, chunk_rows: int = CHUNK_ROWS
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run ``sim`` writing its tables into ``directory``; return (jobs, tasks, segments) for the summary."""
    writer = StreamWriter(sim, directory, chunk_rows)
    sim.run()
    return writer.close(sim)
