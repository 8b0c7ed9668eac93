"""The power table (power.csv) from the engine's power records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simsched.engine.simulation import Simulation


def power_table(sim: Simulation) -> pd.DataFrame:
    """power.csv: one row per change of a processor's power, and the SoC total at each change.

    The engine records processor rows only (time, processor index, power), at most
    one per processor and instant. The ``total`` rows are derived here: one per
    instant with any processor row, placed right after the first processor row of
    that instant, with the static power plus every processor's latest power. The
    additions are the engine's own (``static_w + sum(powers)`` in processor order),
    so each total equals, bit for bit, the ``power_w`` the engine integrated.

    Returns
    -------
    DataFrame
        Columns ``time_ms`` (ms), ``processor`` (a processor name or ``total``) and
        ``power_w`` (W).
    """
    procs = sim.platform.processors
    t = np.array(sim.rec_power_t, dtype=float)
    p = np.array(sim.rec_power_p, dtype=np.int64)
    w = np.array(sim.rec_power_w, dtype=float)
    n = len(t)
    new = np.ones(n, dtype=bool)  # first row of an instant
    new[1:] = t[1:] != t[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], n) - 1  # last row of each instant
    # Each processor's power at the end of every instant: its latest row so far
    # (forward fill by the running maximum of its row indices), 0 before its first.
    acc = None
    rows = np.arange(n)
    for j in range(len(procs)):
        seen = np.maximum.accumulate(np.where(p == j, rows, -1))[last] if n else np.zeros(0, dtype=np.int64)
        vj = np.where(seen >= 0, w[np.maximum(seen, 0)], 0.0)
        acc = vj if acc is None else acc + vj  # left to right, as Python's sum()
    total = sim.platform.static_w + (acc if acc is not None else np.zeros(len(first)))
    # Interleave: a processor row moves down by the totals inserted before it.
    inst = np.cumsum(new) - 1
    pos = rows + inst + (~new)
    tot_pos = first + np.arange(len(first)) + 1
    m = n + len(first)
    out_t = np.empty(m)
    out_w = np.empty(m)
    out_p = np.empty(m, dtype=np.int64)
    out_t[pos], out_w[pos], out_p[pos] = t, w, p
    out_t[tot_pos], out_w[tot_pos], out_p[tot_pos] = t[first], total, len(procs)
    labels = np.array([*(pr.name for pr in procs), "total"], dtype=object)
    return pd.DataFrame({"time_ms": out_t, "processor": labels[out_p], "power_w": out_w})
