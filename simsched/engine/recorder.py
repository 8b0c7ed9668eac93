"""Where the engine's records go: the ``Recorder`` interface and the in-memory recorder.

The engine emits one tuple per job, task, segment and frequency change, and one
row per change of a processor's power (see ``*_RECORD`` in :mod:`simsched.result`
for the fields). It calls the recorder's methods directly, once per record, so an
implementation should make them cheap: :class:`MemoryRecorder` binds ``list.append``
itself, which costs no Python frame. :class:`simsched.streaming.StreamWriter` is
the other implementation: it extends the in-memory one and writes the rows whose
place is final to disk at job ends.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation
    from simsched.workload.jobs import Job


class Recorder(Protocol):
    """The sink of a run's records.

    ``job``, ``task``, ``segment`` and ``frequency`` take one record tuple;
    ``power`` one processor row, called at most a few times per processor and
    instant (the last value of an instant counts). ``job_ended`` is called after
    each job's rows were recorded (a safe point to flush).
    """

    def job(self, row: tuple[Any, ...], /) -> None: ...
    def task(self, row: tuple[Any, ...], /) -> None: ...
    def segment(self, row: tuple[Any, ...], /) -> None: ...
    def frequency(self, row: tuple[float, int, float], /) -> None: ...
    def power(self, time_ms: float, proc: int, power_w: float, /) -> None: ...
    def job_ended(self, sim: Simulation, /) -> None: ...


class MemoryRecorder:
    """Keeps every record in memory until the tables are built.

    Power rows are the most numerous, so they live in typed arrays (8 bytes a
    value instead of a list slot plus a float object): ``power_t`` (ms),
    ``power_p`` (processor index) and ``power_w`` (W); processor rows only, the
    SoC total's rows are derived when the table is built (:mod:`simsched.tables.power`).

    Parameters
    ----------
    n_processors : int
        Processors of the platform (for merging power rows of one instant).
    """

    def __init__(self, n_processors: int) -> None:
        self.jobs: list[tuple[Any, ...]] = []
        self.tasks: list[tuple[Any, ...]] = []
        self.segments: list[tuple[Any, ...]] = []
        self.freqs: list[tuple[float, int, float]] = []
        self.power_t = array("d")
        self.power_p = array("i")
        self.power_w = array("d")
        self._last_row = [-1] * n_processors
        self._bind()

    def _bind(self) -> None:
        # The record methods are the lists' own append: no Python frame per record.
        self.job = self.jobs.append
        self.task = self.tasks.append
        self.segment = self.segments.append
        self.frequency = self.freqs.append

    def power(self, time_ms: float, proc: int, power_w: float) -> None:
        """Record processor ``proc``'s new power; a second row at the same instant replaces the first."""
        pt = self.power_t
        last = self._last_row[proc]
        if last >= 0 and pt[last] == time_ms:
            self.power_w[last] = power_w
            return
        self._last_row[proc] = len(pt)
        pt.append(time_ms)
        self.power_p.append(proc)
        self.power_w.append(power_w)

    def job_ended(self, sim: Simulation) -> None:
        """Nothing to do: every record stays until the tables are built."""

    @property
    def pending(self) -> int:
        """Records (tasks, segments and power rows) held now."""
        return len(self.tasks) + len(self.segments) + len(self.power_t)

    def forget_power_rows(self, k: int) -> None:
        """Drop the first ``k`` power rows (written elsewhere; all are before the current instant)."""
        del self.power_t[:k], self.power_p[:k], self.power_w[:k]
        # Keep each processor's latest-row index (used to merge rows of one instant) pointing right.
        self._last_row = [i - k if i >= k else -1 for i in self._last_row]

    def release(self, *names: str) -> None:
        """Replace the named record containers by empty ones (their table exists; free the rows).

        Replaced, not cleared in place, so a caller still holding the old object keeps its rows.
        """
        for name in names:
            setattr(self, name, getattr(self, name)[:0])
        if "power_t" in names:
            self._last_row = [-1] * len(self._last_row)
        self._bind()


def record_job(recorder: Recorder, job: Job) -> None:
    """Send a job's record and its tasks' records (fields: ``JOB_RECORD``, ``TASK_RECORD`` in :mod:`simsched.result`)."""
    recorder.job((job.id, job.app.index, job.arrival_ms, job.finish_ms, job.deadline_ms, job.dropped, job.end_ms, job.user))
    jid = job.id
    app = job.app.index
    append = recorder.task
    for t in job.tasks:
        append(
            (
                jid,
                app,
                t.name,
                t.model.name,
                t.proc.index if t.proc is not None else -1,
                int(t.state),
                t.ready_ms,
                t.start_ms,
                t.finish_ms,
                t.first_token_ms,
                t.prompt_tokens,
                t.output_tokens,
                t.freezes,
                t.migrations,
                t.pred_names,
                t.factor,
            )
        )
