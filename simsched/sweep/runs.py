"""One run of a batch, and running many of them on any ``concurrent.futures``-style executor.

A run is described by a picklable :class:`RunSpec` and executed by :func:`run_one`,
which never raises: its errors come back in :class:`RunOutput` (exceptions with
custom constructors do not always survive pickling between processes or machines).
:func:`execute` submits runs to an executor (in process, local worker processes or a
Dask cluster: anything with ``submit`` returning :class:`concurrent.futures.Future`)
and calls back as each finishes, so callers can keep each result as it completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simsched.errors import ConfigError, SimschedError

#: Top-level summary entries that are metrics (after the ``overall`` block).
TOP_LEVEL = ("energy_mj", "avg_power_w", "peak_power_w", "budget_w", "time_over_budget_ms",
             "energy_over_budget_mj", "sim_end_ms", "warmup_ms")


@dataclass(frozen=True)
class RunSpec:
    """One run (picklable, sent to a worker).

    Attributes
    ----------
    index : int
        Position in the batch's order.
    config : str or dict
        An experiment file, or a resolved experiment mapping (self-contained, so a worker
        on another machine needs no file).
    overrides : tuple of str
        ``--set`` overrides.
    seed : int or None
        The root seed (None keeps the config's).
    keep_jobs : bool
        Return the measured jobs table (for latency CDFs).
    keep_tables : bool
        Return every table and the full summary (for figures, traces, run directories).
    """

    index: int
    config: str | dict[str, Any]
    overrides: tuple[str, ...] = ()
    seed: int | None = None
    keep_jobs: bool = False
    keep_tables: bool = False


@dataclass
class RunOutput:
    """What a worker sends back.

    Attributes
    ----------
    index : int
        The run's :attr:`RunSpec.index`.
    summary : dict or None
        The summary without its manifest (None on failure).
    jobs : DataFrame or None
        Measured jobs (``keep_jobs``).
    tables : dict or None
        ``jobs``, ``tasks``, ``segments``, ``power``, ``frequency`` and ``summary`` with
        its manifest (``keep_tables``).
    error : tuple or None
        ``(kind, file, field, message)`` with kind ``"config"`` or ``"run"``.
    """

    index: int
    summary: dict[str, Any] | None = None
    jobs: pd.DataFrame | None = None
    tables: dict[str, Any] | None = None
    error: tuple[str, str, str, str] | None = None

    @property
    def error_text(self) -> str:
        """The error as one line (empty on success)."""
        if self.error is None:
            return ""
        kind, file, fld, message = self.error
        if kind == "config":
            return str(ConfigError(file, fld, message))
        return " ".join(message.split())


def run_one(spec: RunSpec) -> RunOutput:
    """Run one simulation; any error is returned in :attr:`RunOutput.error`, never raised."""
    from simsched.api import simulate
    from simsched.config.loader import load_config

    try:
        loaded = load_config(spec.config, list(spec.overrides), spec.seed)
        result = simulate(loaded)
    except ConfigError as exc:
        return RunOutput(spec.index, error=("config", exc.file, exc.field, exc.message))
    except SimschedError as exc:
        return RunOutput(spec.index, error=("run", "", "", str(exc)))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a policy's own bug must cost one run, not the batch
        return RunOutput(spec.index, error=("run", "", "", f"{type(exc).__name__}: {exc}"))
    summary = {k: v for k, v in result.summary.items() if k != "manifest"}
    out = RunOutput(spec.index, summary=summary)
    if spec.keep_jobs:
        j = result.jobs
        measured = j["arrival_ms"] >= summary.get("warmup_ms", 0.0)
        out.jobs = j.loc[measured, ["job_id", "app", "arrival_ms", "latency_ms", "missed", "dropped"]]
    if spec.keep_tables:
        out.tables = {"jobs": result.jobs, "tasks": result.tasks, "segments": result.segments,
                      "power": result.power, "frequency": result.frequency, "summary": result.summary}
    return out


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """One run's summary as a flat row.

    Parameters
    ----------
    summary : dict
        A run's ``summary.json``.

    Returns
    -------
    dict
        Overall metrics under their own names, then the top-level energy and power
        metrics, ``utilization.<processor>`` and ``apps.<app>.<metric>`` (apps sorted).
    """
    row: dict[str, Any] = {}
    _put(row, "", summary.get("overall") or {})
    for k in TOP_LEVEL:
        if k in summary:
            row[k] = summary[k]
    _put(row, "utilization.", summary.get("utilization") or {})
    for app in sorted(summary.get("apps") or {}):
        _put(row, f"apps.{app}.", summary["apps"][app])
    return row


def _put(row: dict[str, Any], prefix: str, metrics: dict[str, Any]) -> None:
    """Copy scalar metrics into ``row``; a nested mapping becomes dotted columns."""
    for k, v in metrics.items():
        if isinstance(v, dict):
            _put(row, f"{prefix}{k}.", v)
        elif not isinstance(v, (list, tuple)):
            row[f"{prefix}{k}"] = v


def run_id(resolved: Any) -> str:
    """A run's identity: the first 16 hex digits of the SHA-256 of its canonical JSON.

    Parameters
    ----------
    resolved : JSON-like
        The resolved config (it holds the seed), or any canonical description of a run.
    """
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cpu_count() -> int:
    """The cores this process may use (the default number of worker processes)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def make_executor(jobs: int | None = None, scheduler: str | None = None) -> Iterator[Executor | None]:
    """The executor of a batch: None (in process), local worker processes, or a Dask cluster.

    Parameters
    ----------
    jobs : int, optional
        Local worker processes; default the machine's cores; 1 runs in this process.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``); needs the
        ``simsched[dask]`` extra. Takes precedence over ``jobs``.

    Yields
    ------
    Executor or None
        None means "run in this process".
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--scheduler", scheduler, 'Dask is not installed; pip install "simsched[dask]"') from None
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError("--scheduler", scheduler, f"cannot connect to the Dask scheduler ({exc})") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    n = cpu_count() if jobs is None else jobs
    if n <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=n) as pool:
        yield pool


def execute(
    specs: Sequence[RunSpec],
    on_done: Callable[[RunSpec, RunOutput], None],
    executor: Executor | None = None,
    *,
    fn: Callable[[RunSpec], RunOutput] = run_one,
    max_in_flight: int | None = None,
) -> None:
    """Run ``specs``, calling ``on_done(spec, output)`` in this process as each finishes.

    Parameters
    ----------
    specs : sequence of RunSpec
        The runs, submitted in this order.
    on_done : callable
        Called once per run, in completion order (which depends on the executor).
    executor : Executor, optional
        Any object whose ``submit(fn, spec)`` returns a :class:`concurrent.futures.Future`;
        None runs in this process.
    fn : callable, default run_one
        The function run per spec.
    max_in_flight : int, optional
        Runs submitted but not finished at any time (bounds the driver's memory and
        what an interrupt has to cancel); default 4 x the executor's workers, at least 8.
    """
    if executor is None:
        for spec in specs:
            on_done(spec, fn(spec))
        return
    limit = max_in_flight or max(8, 4 * int(getattr(executor, "_max_workers", 0) or 2))
    queue = list(reversed(specs))
    pending: dict[Future[RunOutput], RunSpec] = {}
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                spec = queue.pop()
                pending[executor.submit(fn, spec)] = spec
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f].index):
                spec = pending.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # the worker itself died or could not unpickle
                    out = RunOutput(spec.index, error=("run", "", "", f"worker failed: {type(exc).__name__}: {exc}"))
                on_done(spec, out)
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def write_run_dir(tables: dict[str, Any], out: Path) -> None:
    """Write a run directory from the tables a worker returned (``keep_tables``)."""
    from simsched.result import Result

    Result(summary=tables["summary"], jobs=tables["jobs"], tasks=tables["tasks"], segments=tables["segments"],
           power=tables["power"], frequency=tables["frequency"]).write(out, force=True)
