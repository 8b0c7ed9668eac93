"""The single entry point that the CLI, sweeps and tests call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from simsched.build import build_simulation
from simsched.config.loader import LoadedConfig, load_config
from simsched.result import Result, build_result

if TYPE_CHECKING:
    from simsched.platform.soc import Platform
    from simsched.workload.apps import App


def simulate(
    config: str | Path | dict[str, Any] | LoadedConfig,
    *,
    overrides: list[str] | None = None,
    seed: int | None = None,
) -> Result:
    """Run one simulation.

    Parameters
    ----------
    config : str, Path, dict or LoadedConfig
        An experiment file, an experiment mapping, or an already loaded config.
    overrides : list of str, optional
        ``key.path=value`` overrides (as ``--set`` on the command line).
    seed : int, optional
        Replaces the config's seed.

    Returns
    -------
    Result
        Tables (``jobs``, ``tasks``, ``segments``, ``power``, ``frequency``) and ``summary``.
    """
    loaded = _loaded(config, overrides, seed)
    sim = build_simulation(loaded).run()
    return build_result(sim, loaded)


def simulate_streaming(
    config: str | Path | dict[str, Any] | LoadedConfig,
    out_dir: str | Path,
    *,
    overrides: list[str] | None = None,
    seed: int | None = None,
    force: bool = False,
    chunk_rows: int | None = None,
) -> dict[str, Any]:
    """Run one simulation, writing its tables to ``out_dir`` while it runs.

    For runs too long to keep in memory: the records are flushed to the CSV files
    every ``chunk_rows`` records, so they never hold more than about that many
    rows, and the files are byte-identical to those of ``simulate(config).write(out_dir)``
    (:mod:`simsched.streaming` explains how). The directory is written into a
    temporary folder beside ``out_dir`` and published at the end by
    :class:`simsched.outdir.OutputDir`; an existing ``out_dir`` is replaced only
    with ``force``, and a failed run leaves it as it was.

    Parameters
    ----------
    config, overrides, seed
        As for :func:`simulate`.
    out_dir : str or Path
        The run directory to create.
    force : bool
        Replace an existing ``out_dir``.
    chunk_rows : int, optional
        Records (tasks, segments and power rows) per flush; default
        :data:`simsched.streaming.CHUNK_ROWS`.

    Returns
    -------
    dict
        The summary (also written as ``summary.json``). Read the tables with
        :func:`simsched.report.read_run` or pandas.
    """
    from simsched.outdir import OutputDir
    from simsched.result import dumps, summary_of
    from simsched.streaming import CHUNK_ROWS, StreamWriter

    loaded = _loaded(config, overrides, seed)
    with OutputDir(out_dir, force) as od:
        tmp = od.tmp
        writers: list[StreamWriter] = []

        def make_writer(platform: Platform, apps: list[App]) -> StreamWriter:
            writers.append(StreamWriter(tmp, platform, [a.name for a in apps], chunk_rows or CHUNK_ROWS))
            return writers[0]

        sim = build_simulation(loaded, make_writer).run()
        jobs, tasks, segments = writers[0].close(sim)
        summary = summary_of(sim, loaded, jobs, tasks, segments)
        (tmp / "summary.json").write_text(dumps(summary) + "\n", encoding="utf-8")
        od.publish()
    return summary


def _loaded(config: str | Path | dict[str, Any] | LoadedConfig, overrides: list[str] | None, seed: int | None) -> LoadedConfig:
    """The loaded config of a run: ``config`` itself if already loaded (then without overrides or seed)."""
    if isinstance(config, LoadedConfig):
        if overrides or seed is not None:
            raise ValueError("give overrides and seed to load_config, not with a LoadedConfig")
        return config
    return load_config(config, overrides, seed)
