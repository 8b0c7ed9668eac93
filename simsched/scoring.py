"""Pure scoring formulas shared by the metrics and the policies that optimise them.

Kept below both layers so that a policy can evaluate a metric online (the ``dream``
policy tunes its weights on UXCost) without importing the metrics package; the
definitions are in docs/metrics.md.
"""

from __future__ import annotations

import math

__all__ = ["uxcost"]


def uxcost(energy_mj: float, n_jobs: int, n_missed: int) -> float:
    """UXCost of a set of jobs: energy per job over the share of jobs on time (mJ).

    ``UXCost = (E / N) / (1 - m)`` with ``m = n_missed / N``, which equals
    ``E / (N - n_missed)``: the energy spent per job that met its deadline. It is
    an energy-delay-product analogue: the energy per frame times the number of
    frames the user waits for one useful (on-time) frame.

    Parameters
    ----------
    energy_mj : float
        Energy spent on the jobs (mJ).
    n_jobs : int
        Jobs whose outcome is known (finished, dropped, or overdue).
    n_missed : int
        Those of them that missed their deadline (late, dropped or overdue).

    Returns
    -------
    float
        UXCost (mJ per on-time job); ``inf`` if no job was on time, ``nan`` if
        ``n_jobs`` is 0.
    """
    if n_jobs <= 0:
        return math.nan
    on_time = n_jobs - n_missed
    if on_time <= 0:
        return math.inf
    return energy_mj / on_time
