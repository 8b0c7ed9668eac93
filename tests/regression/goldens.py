"""The golden scenarios: shipped experiments in reduced form, one baseline file each.

Every scenario runs under every policy in :data:`POLICIES`; the golden named
``<scenario>-<policy>`` is checked against ``baselines/<scenario>-<policy>.json`` by
``test_golden.py``. To add a policy or a scenario, extend the tables below and run
``python -m tests.regression.regen`` (docs/ci.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simsched.regress import Tolerances
from simsched.result import Result

ROOT = Path(__file__).resolve().parents[2]
BASELINES = Path(__file__).resolve().parent / "baselines"

#: Scenario name -> (experiment: a path relative to the repository or an inline mapping, ``--set`` overrides).
SCENARIOS: dict[str, tuple[str | dict[str, Any], tuple[str, ...]]] = {
    "quickstart-3s": ("experiments/quickstart.yaml", ("duration_ms=3000",)),
    "xrbench-vr-gaming": ({"platform": "xr-dual-4k", "workload": "xrbench-vr-gaming", "duration_ms": 700}, ()),
}
#: Policies every scenario runs under.
POLICIES: tuple[str, ...] = ("fifo", "affinity", "edf", "latency-greedy", "heft", "dream", "twill")
#: Tight: a deterministic run reproduces its baseline to the last digits; any change of behaviour fails.
TOLERANCES = Tolerances(rtol=1e-6, rate_atol=0.0)


@dataclass(frozen=True)
class Golden:
    """One golden run: an experiment, overrides, and the policy it runs under.

    Attributes
    ----------
    name : str
        ``<scenario>-<policy>``; also the baseline's file name.
    experiment : str or dict
        Path relative to the repository root, or an inline experiment mapping.
    overrides : tuple of str
        ``--set`` overrides, the policy last.
    """

    name: str
    experiment: str | dict[str, Any]
    overrides: tuple[str, ...] = field(default=())

    @property
    def baseline_path(self) -> Path:
        """Where the golden's baseline is committed."""
        return BASELINES / f"{self.name}.json"

    def run(self) -> Result:
        """Simulate the golden in-process."""
        from simsched.api import simulate

        source = ROOT / self.experiment if isinstance(self.experiment, str) else self.experiment
        return simulate(source, overrides=list(self.overrides))


GOLDENS: dict[str, Golden] = {
    f"{scenario}-{policy}": Golden(f"{scenario}-{policy}", experiment, (*overrides, f"policy={policy}"))
    for scenario, (experiment, overrides) in SCENARIOS.items()
    for policy in POLICIES
}
