"""``simsched plot RUN_DIR`` and ``simsched trace RUN_DIR``: figures and a Perfetto trace of a run directory.

A run directory is what ``simsched run CONFIG --out DIR`` writes (the CSV tables and
``summary.json``). ``plot`` writes PNG figures (Gantt chart, power trace, frequency
trace; SVG too with ``--svg``), of the whole run or of the window ``--from-ms T0
--to-ms T1``; ``trace`` writes a Chrome trace-event JSON file to open at
https://ui.perfetto.dev.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError

KINDS = ("gantt", "power", "frequency")


def _time(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(option, "", f"expected a time in ms, got '{text}'") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(option, "", f"expected a non-negative time in ms, got '{text}'")
    return value


def make_plots(
    run_dir: str | Path,
    out: str | Path,
    kinds: tuple[str, ...] = KINDS,
    t0: float | None = None,
    t1: float | None = None,
    *,
    formats: tuple[str, ...] = ("png",),
    labels: bool = False,
) -> list[Path]:
    """Write figures of a run directory (PNG by default).

    Parameters
    ----------
    run_dir : str or Path
        A run directory.
    out : str or Path
        Output folder (created); files ``gantt``, ``power``, ``frequency`` + one extension per format.
    kinds : tuple of str, default all
        Which figures.
    t0, t1 : float, optional
        Time window of the figures (ms); default the whole run.
    formats : tuple of str, default ("png",)
        File formats (``("png", "svg")`` adds SVG, which is large for long runs).
    labels : bool, default False
        Write model names on the Gantt chart's bars wide enough to hold them.

    Returns
    -------
    list of Path
        The files written.
    """
    from matplotlib.figure import Figure

    from simsched.report import plots, read_run
    from simsched.report.trace import processor_order

    run = read_run(run_dir)
    s = run.summary
    end = float(s.get("sim_end_ms") or (run.power["time_ms"].max() if len(run.power) else 0.0))
    procs = processor_order(run)
    title = f"{s.get('platform', '')} | {s.get('workload', '')} | {s.get('policy', '')} | seed {s.get('seed', '')}"
    window = "" if t0 is None and t1 is None else f" ({t0 if t0 is not None else 0:g}-{t1 if t1 is not None else end:g} ms)"
    out = Path(out)
    written: list[Path] = []
    if "gantt" in kinds:
        fig = Figure(figsize=(12.0, 1.4 + 0.45 * len(procs)), layout="constrained")
        ax = plots.gantt(run.tasks, run.segments, run.jobs, ax=fig.subplots(), t0=t0, t1=t1, processors=procs,
                          labels=labels)
        ax.set_title(title + window)
        written += plots.save_figure(fig, out / "gantt", formats)
    if "power" in kinds:
        fig = Figure(figsize=(12.0, 4.0), layout="constrained")
        ax = plots.power_trace(run.power, s.get("budget_w"), ax=fig.subplots(), t_end=end, t0=t0, t1=t1, processors=procs)
        ax.set_title(title + window)
        written += plots.save_figure(fig, out / "power", formats)
    if "frequency" in kinds:
        fig = Figure(figsize=(12.0, 3.5), layout="constrained")
        ax = plots.frequency_trace(run.frequency, ax=fig.subplots(), t_end=end)
        if t0 is not None or t1 is not None:
            ax.set_xlim(t0, t1)
        ax.set_title(title + window)
        written += plots.save_figure(fig, out / "frequency", formats)
    return written


def sweep_plots(sweep_dir: str | Path, out: str | Path) -> list[Path]:
    """Figures of a sweep directory: each metric against each numeric swept key, a line per
    combination of the other keys (policy first), with 95% confidence bands across seeds."""
    from simsched.report import plots

    written: list[Path] = []
    for name, fig in plots.sweep_figures(plots.read_sweep_results(sweep_dir)):
        written += plots.save_figure(fig, Path(out) / name)
    return written


def cmd_plot(args: argparse.Namespace) -> int:
    """Handler of ``simsched plot``; returns the exit code."""
    if (Path(args.run_dir) / "results.csv").is_file() and not (Path(args.run_dir) / "summary.json").exists():
        out = Path(args.out) if args.out else Path(args.run_dir) / "plots"
        try:
            written = sweep_plots(args.run_dir, out)
        except OSError as exc:
            raise ConfigError(str(out), "", f"cannot write the figures ({exc.strerror or exc})") from None
        for p in written:
            print(p)
        return 0
    t0 = _time(args.from_ms, "--from-ms")
    t1 = _time(args.to_ms, "--to-ms")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ConfigError("--to-ms", "", f"must be after --from-ms ({t1:g} <= {t0:g})")
    kinds = KINDS if args.kind == "all" else (args.kind,)
    out = Path(args.out) if args.out else Path(args.run_dir) / "plots"
    if out.exists() and not out.is_dir():
        raise ConfigError(str(out), "", "exists and is not a directory; choose another --out")
    from simsched.report import read_run

    read_run(args.run_dir)  # a clear error for a bad run directory before matplotlib loads
    try:
        written = make_plots(args.run_dir, out, kinds, t0, t1, formats=("png", "svg") if args.svg else ("png",),
                             labels=args.labels)
    except OSError as exc:
        raise ConfigError(str(out), "", f"cannot write the figures ({exc.strerror or exc})") from None
    for p in written:
        print(p)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    """Handler of ``simsched trace``; returns the exit code."""
    from simsched.report import read_run
    from simsched.report.trace import parse_window, write_trace

    window = None
    if getattr(args, "trace_window", None) is not None:
        try:
            window = parse_window(args.trace_window)
        except ValueError as exc:
            raise ConfigError("--trace-window", "", str(exc)) from None
    run = read_run(args.run_dir)
    out = Path(args.output) if args.output else Path(args.run_dir) / "trace.json"
    if out.is_dir():
        raise ConfigError(str(out), "", "is a directory; give a file name such as trace.json")
    try:
        write_trace(run, out, window)
    except OSError as exc:
        raise ConfigError(str(out), "", f"cannot write the trace ({exc.strerror or exc})") from None
    print(out)
    print("open it at https://ui.perfetto.dev (Open trace file)", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``simsched plot`` and ``simsched trace`` to the command line."""
    p = subparsers.add_parser(
        "plot", help="figures (PNG) of a run directory (Gantt chart, power, frequency) or a sweep directory",
        description="Draw figures of a run directory written by `simsched run --out`: a Gantt chart (one row per "
                    "processor, bars coloured by app; hatched = frozen and resumed, black outline = migrated, a row "
                    "split in lanes = tasks at once on a multi-slot processor, red x = finished after its deadline), "
                    "the power trace and the frequency trace. --from-ms/--to-ms zoom into a time window. "
                    "On a sweep directory (results.csv): each metric against each numeric swept key, a line per policy, 95%% CI bands.")
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="a run directory (jobs.csv ... summary.json), or a sweep directory (results.csv)")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default RUN_DIR/plots)")
    p.add_argument("--kind", choices=[*KINDS, "all"], default="all", help="which figure (default all)")
    p.add_argument("--from-ms", metavar="T", help="start of the time window in ms of simulated time (default 0)")
    p.add_argument("--to-ms", metavar="T", help="end of the time window in ms (default the end of the run)")
    p.add_argument("--svg", action="store_true", help="write SVG files as well as PNG")
    p.add_argument("--labels", action="store_true", help="write model names on the Gantt chart's bars")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=cmd_plot)

    t = subparsers.add_parser("trace", help="Perfetto trace (Chrome JSON) of a run directory",
                              description="Write a run directory as a Chrome trace-event JSON file for https://ui.perfetto.dev.")
    t.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (jobs.csv ... summary.json)")
    t.add_argument("--output", "-o", metavar="FILE", help="output file (default RUN_DIR/trace.json)")
    t.add_argument("--trace-window", metavar="FROM_MS:TO_MS",
                   help="keep only what happens in this time window (ms; either side may be empty)")
    t.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    t.set_defaults(func=cmd_trace)
