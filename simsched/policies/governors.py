"""DVFS governors for policies that do not set frequencies themselves."""

from __future__ import annotations

from simsched.policies.base import Governor, register_governor


@register_governor("performance")
class Performance(Governor):
    """Every domain at the highest OPP the power mode allows (the engine's starting point)."""


@register_governor("powersave")
class Powersave(Governor):
    """Every domain at its lowest OPP."""

    def bind(self, sim):
        for d in sim.domains:
            sim.set_freq(d, sim.allowed_freqs(d)[0])
