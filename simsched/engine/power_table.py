"""The power table (power.csv) from the engine's power records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation


def power_table(sim: Simulation) -> pd.DataFrame:
    """power.csv: one row per change of a processor's power, and the SoC total at each change.

    Columns ``time_ms`` (ms), ``processor`` (a processor name or ``total``) and ``power_w`` (W).
    """
    names = [*(p.name for p in sim.platform.processors), "total"]
    return pd.DataFrame({"time_ms": sim.rec_power_t, "processor": [names[i] for i in sim.rec_power_p], "power_w": sim.rec_power_w})
