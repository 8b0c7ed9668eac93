"""Streaming runs: the tables go to disk while the run goes, for runs too long to hold in memory.

In a streaming run the recorder is a :class:`StreamWriter`, which holds records
as the in-memory recorder does and flushes them at a job end every ``chunk_rows``
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
from typing import TYPE_CHECKING, Any

import pandas as pd

from simsched.engine.recorder import MemoryRecorder
from simsched.result import (
    CSV_FLOAT,
    frequency_table,
    jobs_table,
    labels,
    segments_table,
    tasks_table,
)
from simsched.tables.power import power_rows

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.platform.soc import Platform

CHUNK_ROWS = 65536
"""Records (tasks, segments and power rows together) that trigger a flush."""

TASK_COLUMNS = ("job_id", "app", "task", "model", "state", "finish_ms", "first_token_ms", "output_tokens")
"""Columns of tasks.csv that the summary reads (the rest is only written to disk)."""
SEGMENT_COLUMNS = ("job_id", "task", "processor", "start_ms", "end_ms", "freq_mhz", "phase")
"""Columns of segments.csv that the summary reads."""


class StreamWriter(MemoryRecorder):
    """A recorder that writes a running simulation's final rows to CSV files and keeps what the summary needs.

    It holds records as :class:`~simsched.engine.recorder.MemoryRecorder` does and,
    at a job end when ``chunk_rows`` records are held, writes those whose place is
    final. Pass it to :func:`simsched.build.build_simulation` as the recorder.

    Parameters
    ----------
    directory : Path
        An existing, empty directory that receives jobs.csv, tasks.csv, ...
    platform : Platform
        The run's platform (processor and domain names, static power).
    app_names : list of str
        The apps' names in config order.
    chunk_rows : int
        Records (tasks, segments and power rows together) that trigger a flush.
    """

    def __init__(self, directory: Path, platform: Platform, app_names: list[str], chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        super().__init__(len(platform.processors))
        self.directory = Path(directory)
        self.chunk_rows = chunk_rows
        self._platform = platform
        self._apps = labels(app_names)
        self._procs = labels(p.name for p in platform.processors)
        self._domains = labels(d.name for d in platform.domains)
        self._written: set[str] = set()
        self._power_before: list[float] | None = None
        self.jobs_out: list[pd.DataFrame] = []
        self.tasks_out: list[pd.DataFrame] = []
        self.segments_out: list[pd.DataFrame] = []
        self.flushes = 0

    def job_ended(self, sim: Simulation) -> None:
        """Flush when ``chunk_rows`` records are held (a job end is a safe point: its rows are complete)."""
        if len(self.tasks) + len(self.segments) + len(self.power_t) >= self.chunk_rows:
            self.flush(sim)

    # ------------------------------------------------------------ flushing

    def flush(self, sim: Simulation, final: bool = False) -> None:
        """Write the rows that are final now (all of them if ``final``), keep the others."""
        self.flushes += 1
        if final:
            w_job, w_seg, w_pow = math.inf, math.inf, math.inf
        else:
            w_job = sim.first_unrecorded_job()
            w_seg = sim.earliest_open_row_ms()
            w_pow = sim.now

        jobs = _take(self.jobs, 0, w_job)
        tasks = _take(self.tasks, 0, w_job)
        if jobs or final:
            j = jobs_table(jobs, self._apps, sim.duration_ms)
            self._append("jobs", j)
            self.jobs_out.append(j)
        if tasks or final:
            t = tasks_table(tasks, self._apps, self._procs)
            self._append("tasks", t)
            self.tasks_out.append(t[list(TASK_COLUMNS)])
        segs = _take(self.segments, 4, w_seg)
        if segs or final:
            s = segments_table(segs, self._apps, self._procs)
            self._append("segments", s)
            self.segments_out.append(s[list(SEGMENT_COLUMNS)])

        k = len(self.power_t) if final else bisect.bisect_left(self.power_t, w_pow)
        if k or final:
            table, self._power_before = power_rows(
                self.power_t[:k], self.power_p[:k], self.power_w[:k], self._platform, self._power_before
            )
            self._append("power", table)
            self.forget_power_rows(k)
        if self.freqs or final:
            self._append("frequency", frequency_table(_take(self.freqs, 0, math.inf), self._domains))

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
        j = pd.concat(self.jobs_out, ignore_index=True)
        t = pd.concat(self.tasks_out, ignore_index=True)
        s = pd.concat(self.segments_out, ignore_index=True)
        self.jobs_out, self.tasks_out, self.segments_out = [], [], []
        return j, t, s


def _take(rows: list[Any], key: int, below: float) -> list[Any]:
    """Remove from ``rows`` (in place) and return those whose field ``key`` is below ``below``, in record order.

    In place, because the engine appends through the list's bound ``append``.
    """
    if below == math.inf:
        done = rows[:]
        rows.clear()
        return done
    done = [r for r in rows if r[key] < below]
    if len(done) == len(rows):
        rows.clear()
    elif done:
        rows[:] = [r for r in rows if r[key] >= below]
    return done
