"""The single entry point that the CLI, sweeps and tests call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simsched.config.loader import LoadedConfig, load_config
from simsched.engine.simulation import Simulation
from simsched.result import Result, build_result


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
    if isinstance(config, LoadedConfig):
        loaded = config
        if overrides or seed is not None:
            raise ValueError("give overrides and seed to load_config, not with a LoadedConfig")
    else:
        loaded = load_config(config, overrides, seed)
    sim = Simulation(loaded.spec).run()
    return build_result(sim, loaded)
