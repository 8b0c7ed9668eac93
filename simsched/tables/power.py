"""The power table (power.csv) from a run's power records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from simsched.engine.recorder import MemoryRecorder
    from simsched.platform.soc import Platform


def power_table(recorder: MemoryRecorder, platform: Platform) -> pd.DataFrame:
    """power.csv: one row per change of a processor's power, and the SoC total at each change.

    The engine records processor rows only (time, processor index, power), at most
    one per processor and instant. The ``total`` rows are derived here: one per
    instant with any processor row, placed right after the last processor row of
    that instant (so summing rows in file order gives right subtotals), with the static power plus every processor's latest power. The
    additions are the engine's own (``static_w + sum(powers)`` in processor order),
    so each total equals, bit for bit, the ``power_w`` the engine integrated.

    Returns
    -------
    DataFrame
        Columns ``time_ms`` (ms), ``processor`` (a processor name or ``total``) and
        ``power_w`` (W).
    """
    table, _ = power_rows(recorder.power_t, recorder.power_p, recorder.power_w, platform)
    return table


def power_rows(
    time_ms: Sequence[float],
    proc: Sequence[int],
    power_w: Sequence[float],
    platform: Platform,
    before_w: Sequence[float] | None = None,
) -> tuple[pd.DataFrame, list[float]]:
    """power.csv rows of a run of processor records, with the total's rows derived.

    Parameters
    ----------
    time_ms, proc, power_w : sequences of equal length
        Processor records in engine order: time (ms, non-decreasing), processor
        index, power (W). A streamed run passes them in consecutive pieces that
        never split an instant.
    platform : Platform
        Gives the processor names and the static power (W).
    before_w : sequence of float, optional
        Each processor's power before the first record (W); 0 for all by default,
        as at the start of a run.

    Returns
    -------
    (DataFrame, list of float)
        The rows, and each processor's power after the last record (the
        ``before_w`` of the next piece).
    """
    procs = platform.processors
    t = np.asarray(time_ms, dtype=float)
    p = np.asarray(proc, dtype=np.int64)
    w = np.asarray(power_w, dtype=float)
    n = len(t)
    start = [0.0] * len(procs) if before_w is None else list(before_w)
    new = np.ones(n, dtype=bool)  # first row of an instant
    new[1:] = t[1:] != t[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], n) - 1  # last row of each instant
    # Each processor's power at the end of every instant: its latest row so far
    # (forward fill by the running maximum of its row indices), else its power before.
    rows = np.arange(n)
    acc = np.zeros(len(first))
    after = []
    for j in range(len(procs)):
        seen = np.maximum.accumulate(np.where(p == j, rows, -1))[last] if n else np.zeros(0, dtype=np.int64)
        vj = np.where(seen >= 0, w[np.maximum(seen, 0)] if n else 0.0, start[j])
        # Left to right, as the engine's sum(): 0 + v0 is v0 exactly, then + v1, ...
        acc = acc + vj
        after.append(float(vj[-1]) if len(vj) else start[j])
    total = platform.static_w + acc
    # Interleave: a processor row moves down by the totals of the earlier instants;
    # an instant's total follows its last processor row.
    pos = rows + (np.cumsum(new) - 1)
    tot_pos = last + np.arange(len(first)) + 1
    m = n + len(first)
    out_t = np.empty(m)
    out_w = np.empty(m)
    out_p = np.empty(m, dtype=np.int64)
    out_t[pos], out_w[pos], out_p[pos] = t, w, p
    out_t[tot_pos], out_w[tot_pos], out_p[tot_pos] = t[first], total, len(procs)
    labels = np.empty(len(procs) + 1, dtype=object)
    labels[:] = [*(pr.name for pr in procs), "total"]
    return pd.DataFrame({"time_ms": out_t, "processor": labels[out_p], "power_w": out_w}), after
