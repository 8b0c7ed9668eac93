"""simsched: a discrete-event simulator of scheduling policies on heterogeneous SoCs."""

from simsched import sweep
from simsched.api import simulate, simulate_streaming
from simsched.config.loader import LoadedConfig, load_config
from simsched.engine.simulation import Simulation
from simsched.errors import ConfigError, PolicyError, SimschedError
from simsched.invariants import check_invariants
from simsched.policies.base import Governor, Policy, register_governor, register_policy
from simsched.result import Result
from simsched.sweep import Comparison, SweepResult, compare

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "ConfigError",
    "Governor",
    "LoadedConfig",
    "Policy",
    "PolicyError",
    "Result",
    "SimschedError",
    "Simulation",
    "SweepResult",
    "check_invariants",
    "compare",
    "load_config",
    "register_governor",
    "register_policy",
    "simulate",
    "simulate_streaming",
    "sweep",
]
