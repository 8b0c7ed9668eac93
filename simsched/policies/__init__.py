"""Scheduling policies and DVFS governors, found by name through a registry."""

from simsched.policies.base import (
    Governor,
    Policy,
    available_governors,
    available_policies,
    register_governor,
    register_policy,
)

__all__ = [
    "Governor",
    "Policy",
    "available_governors",
    "available_policies",
    "register_governor",
    "register_policy",
]
