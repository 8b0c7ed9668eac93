"""Many runs: sweeps over any config keys and seeds, and policy comparisons.

* :func:`sweep` runs a sweep file (a base experiment, a grid and zip of dotted config
  keys, seeds) into ``results.csv``, appending each finished run durably so that a
  re-run resumes; :mod:`simsched.sweep.grid` holds the file's model and its expansion.
* :func:`compare` runs one experiment under several policies on shared seeds and
  reports per-policy intervals and paired changes against a baseline.
* :mod:`simsched.sweep.runs`: one run (:func:`~simsched.sweep.runs.run_one`), run ids,
  executors (in process, local processes, Dask) and :func:`~simsched.sweep.runs.execute`.

Both take any ``concurrent.futures``-style executor; results never depend on it.

The package itself is callable: ``simsched.sweep(...)`` is :func:`sweep`, while
``simsched.sweep.runs`` and the other modules stay importable under their names.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from simsched.sweep.comparison import Comparison, compare, paired_changes, policy_override, validate_configs, write_outputs
from simsched.sweep.core import SweepResult, sweep
from simsched.sweep.grid import SweepFile, load_sweep, points
from simsched.sweep.runs import RunOutput, RunSpec, execute, flatten, make_executor, run_id, run_one

__all__ = [
    "Comparison",
    "RunOutput",
    "RunSpec",
    "SweepFile",
    "SweepResult",
    "compare",
    "execute",
    "flatten",
    "load_sweep",
    "make_executor",
    "paired_changes",
    "points",
    "policy_override",
    "run_id",
    "run_one",
    "sweep",
    "validate_configs",
    "write_outputs",
]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`sweep` (so ``simsched.sweep(...)`` runs a sweep)."""

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
