"""``sweep()``: run a sweep file's grid x seeds, keeping every finished run in ``results.csv``."""

from __future__ import annotations

import csv
import io
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simsched.errors import ConfigError
from simsched.sweep.grid import Point, SweepFile, load_sweep, parse_sweep, points
from simsched.sweep.runs import RunOutput, RunSpec, execute, make_executor, run_id, write_run_dir
from simsched.sweep.table import METRICS, RUN_COLUMNS, ResultsFile, cell, metric_cells


@dataclass
class SweepResult:
    """What :func:`sweep` did.

    Attributes
    ----------
    results : DataFrame
        One row per (configuration, seed) in the sweep's order: the varied keys,
        ``seed``, ``run_id``, ``error`` (empty on success) and the metrics
        (:data:`simsched.sweep.table.METRICS`); the content of ``results.csv``.
    keys : list of str
        The varied keys.
    ran : int
        Runs executed now.
    skipped : int
        Runs found finished in an earlier ``results.csv``.
    failed : list of str
        ``run_id: error`` of every failed row.
    out : Path or None
        The output directory.
    """

    results: pd.DataFrame
    keys: list[str]
    ran: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    out: Path | None = None


@dataclass
class _Run:
    point: Point
    seed: int
    rid: str
    spec: RunSpec | None = None
    error: str = ""


def sweep(
    sweep_file: str | Path | dict[str, Any],
    out: str | Path | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    force: bool = False,
    keep_runs: bool = False,
    progress: bool | None = None,
) -> SweepResult:
    """Run every configuration of a sweep under every seed.

    Parameters
    ----------
    sweep_file : str, Path or dict
        A sweep YAML file (docs/sweeps.md), or its content as a mapping (a relative
        ``base`` path then resolves against the current directory).
    out : str or Path, optional
        Output directory: ``results.csv`` (appended durably as runs finish, rewritten
        in the sweep's order at the end) and, with ``keep_runs``, ``runs/<run_id>/``.
        None keeps the results in memory only.
    jobs : int, optional
        Local worker processes; default the machine's cores; 1 runs in this process.
    scheduler : str, optional
        A Dask distributed scheduler's address (needs ``simsched[dask]``).
    executor : Executor, optional
        Any ``concurrent.futures``-style executor; overrides ``jobs`` and ``scheduler``.
    force : bool, default False
        Rerun every run, replacing ``results.csv``; otherwise runs already in it are skipped.
    keep_runs : bool, default False
        Write each run's tables to ``out/runs/<run_id>/`` (sent back from the workers).
    progress : bool, optional
        Progress bar with done and failed counts; default only on a terminal.

    Returns
    -------
    SweepResult
        The results table, identical whatever the executor, worker count or completion order.

    Raises
    ------
    ConfigError
        An unusable sweep file, or an ``out`` that cannot be used.
    """
    from simsched.config.loader import load_config
    from simsched.report.progress import Progress

    if isinstance(sweep_file, dict):
        spec: SweepFile = parse_sweep(sweep_file)
        base: str | dict[str, Any] = spec.base
        if isinstance(base, str) and not Path(base).is_file():
            raise ConfigError("<sweep>", "base", f"experiment file not found: {base}")
    else:
        spec, base = load_sweep(sweep_file)
    if keep_runs and out is None:
        raise ConfigError("--keep-runs", "", "writes run directories: give an output directory")
    keys = spec.keys()
    # A varied key that is also a metric (budget_w, warmup_ms) keeps its one column: the key's.
    metrics = [m for m in METRICS if m not in keys]
    header = [*keys, *RUN_COLUMNS, *metrics]

    plan: list[_Run] = []
    for point in points(spec):
        for seed in spec.seed_list():
            try:
                loaded = load_config(base, list(point.overrides), seed)
            except ConfigError as exc:  # a bad combination: a row with its error, not a stop
                rid = run_id({"base": base, "overrides": list(point.overrides), "seed": seed})
                plan.append(_Run(point, seed, rid, error=str(exc)))
                continue
            rid = run_id(loaded.resolved)
            plan.append(_Run(point, seed, rid, RunSpec(len(plan), loaded.resolved, keep_tables=keep_runs)))

    def row(r: _Run, error: str, summary: dict[str, Any] | None) -> dict[str, str]:
        return {**{k: cell(r.point.values[k]) for k in keys}, "seed": str(r.seed), "run_id": r.rid,
                "error": " ".join(error.split()), **metric_cells(summary, metrics)}

    table: ResultsFile | None = None
    outdir = Path(out) if out is not None else None
    if outdir is not None:
        if outdir.exists() and not outdir.is_dir():
            raise ConfigError(str(outdir), "", "exists and is not a directory; choose another --out")
        try:
            outdir.mkdir(parents=True, exist_ok=True)
            table = ResultsFile(outdir / "results.csv", header, force=force)
        except OSError as exc:
            raise ConfigError(str(outdir), "", f"cannot write the results ({exc.strerror or exc})") from None
    done_ids = table.done_ids() if table is not None else set()
    by_rid: dict[str, list[_Run]] = {}
    for r in plan:
        by_rid.setdefault(r.rid, []).append(r)
    new_rows: dict[str, list[dict[str, str]]] = {}
    todo: list[RunSpec] = []
    for rid, runs in by_rid.items():
        if rid in done_ids:
            continue
        first = runs[0]
        if first.spec is None:
            new_rows[rid] = [row(r, r.error, None) for r in runs]
            if table is not None:
                table.append(new_rows[rid])
        else:
            todo.append(first.spec)
    spec_rid = {s.index: plan[s.index].rid for s in todo}
    counts = {"done": 0, "failed": 0}

    try:
        with Progress(total=len(todo), desc="sweep", enabled=progress) as bar:

            def on_done(s: RunSpec, o: RunOutput) -> None:
                rid = spec_rid[s.index]
                rows = [row(r, o.error_text, o.summary) for r in by_rid[rid]]
                if keep_runs and o.tables is not None and outdir is not None:
                    write_run_dir(o.tables, outdir / "runs" / rid)
                new_rows[rid] = rows
                if table is not None:
                    table.append(rows)
                counts["failed" if o.error else "done"] += 1
                bar.update(1, note=f"done {counts['done']}, failed {counts['failed']}")

            if executor is not None:
                execute(todo, on_done, executor)
            else:
                with make_executor(1 if len(todo) <= 1 else jobs, scheduler) as ex:
                    execute(todo, on_done, ex)
    except BaseException:
        if table is not None:
            table.release()
        raise

    old = {r["run_id"]: r for r in (table.rows if table is not None else [])}
    ordered: list[dict[str, str]] = []
    for r in plan:
        if r.rid in new_rows:
            got = next(x for x in new_rows[r.rid] if x["seed"] == str(r.seed) and _same_point(x, r, keys))
        else:
            got = {**old[r.rid], **{k: cell(r.point.values[k]) for k in keys}, "seed": str(r.seed)}
        ordered.append(got)
    planned = {r.rid for r in plan}
    ordered += [x for x in (table.rows if table is not None else []) if x["run_id"] not in planned]  # nothing finished is dropped
    if table is not None:
        table.finish(ordered)
    frame = _frame(ordered, header)
    failed = [f"{x['run_id']}: {x['error']}" for x in ordered if x["error"]]
    return SweepResult(frame, keys, ran=len(todo), skipped=len(plan) - sum(len(by_rid[k]) for k in new_rows), failed=failed, out=outdir)


def _same_point(row: dict[str, str], r: _Run, keys: list[str]) -> bool:
    return all(row[k] == cell(r.point.values[k]) for k in keys)


def _frame(rows: list[dict[str, str]], header: list[str]) -> pd.DataFrame:
    """The results as a DataFrame with the types pandas reads from results.csv."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    buf.seek(0)
    return pd.read_csv(buf, keep_default_na=False, na_values={c: [""] for c in header if c != "error"},
                       dtype={"run_id": str, "error": str})
