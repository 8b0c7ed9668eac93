"""DVFS governors for policies that do not set frequencies themselves.

A governor only sets frequencies; it cannot delay a task's start. That shapes what
a budget-keeping governor can promise: see :class:`Budget`.
"""

from __future__ import annotations

import math

from pydantic import Field

from simsched.errors import ConfigError
from simsched.policies.base import Governor, NoParams, PolicyParams, register_governor


@register_governor("performance")
class Performance(Governor):
    """Every domain at the highest OPP the power mode allows (the engine's starting point)."""

    Params = NoParams


@register_governor("powersave")
class Powersave(Governor):
    """Every domain at its lowest OPP."""

    Params = NoParams

    def bind(self, sim):
        for d in sim.domains:
            sim.set_freq(d, sim.allowed_freqs(d)[0])


def worst_case_load(sim) -> list[float]:
    """Per processor: every slot busy with the most power-hungry model it can run (sum of activities)."""
    load = []
    for p in sim.processors:
        acts = [m.peak_activity for m in sim.platform.models.values() if m.base_ms[p.index] is not None]
        load.append(max(acts, default=0.0) * p.capacity)
    return load


def task_load(sim, add=(), remove=()) -> list[float]:
    """Per processor: the summed highest activity of the tasks holding its slots, with changes."""
    gone = {id(t) for t in remove}
    load = [0.0] * len(sim.processors)
    for p in sim.processors:
        for t in sim.running(p):
            if id(t) not in gone:
                load[p.index] += t.model.peak_activity
    for t, p in add:
        load[p.index] += t.model.peak_activity
    return load


def fit_to_budget(sim, budget_w: float, load: list[float]) -> dict | None:
    """Highest allowed OPPs whose predicted power stays within ``budget_w``, or None if none do.

    Power is separable by domain: static plus idle of the online processors, plus per
    domain the sum over its processors of load x dyn_w[k] / capacity. Greedy: start
    every domain at its highest allowed OPP and step down, each time the domain whose
    step saves the most power per unit of relative slow-down, until the budget holds.
    A domain whose processors carry no load is never lowered (nothing to save).
    """
    base = sim.platform.min_power_w(sim.offline)
    tables, ks, freqs = {}, {}, {}
    for d in sim.domains:
        allowed = sim.allowed_freqs(d)
        freqs[d] = allowed
        tables[d] = [
            sum(load[p.index] * p.dyn_w[k] / p.capacity for p in d.processors if sim.online(p))
            for k in range(len(allowed))
        ]
        ks[d] = len(allowed) - 1
    total = base + sum(tables[d][ks[d]] for d in sim.domains)
    while total > budget_w + 1e-9:
        best, best_gain = None, 0.0
        for d in sim.domains:
            k = ks[d]
            if k == 0:
                continue
            saved = tables[d][k] - tables[d][k - 1]
            slow = freqs[d][k] / freqs[d][k - 1] - 1.0
            gain = saved / slow if slow > 0 else math.inf
            if saved > 1e-12 and gain > best_gain:
                best, best_gain = d, gain
        if best is None:
            return None
        total -= tables[best][ks[best]] - tables[best][ks[best] - 1]
        ks[best] -= 1
    return {d: freqs[d][ks[d]] for d in sim.domains}


@register_governor("budget")
class Budget(Governor):
    """Highest OPPs that keep the worst-case predicted power within the budget.

    The prediction assumes every online processor is fully busy with the most
    power-hungry model it can run, so the budget holds whatever the mapping policy
    does. A governor cannot delay task starts, so this static worst case is the only
    choice that never exceeds the budget; it is conservative when the SoC is
    partly idle (the `twill` policy, which controls starts, does better). A budget
    that even the lowest OPPs cannot meet under full load is a configuration error.
    """

    Params = NoParams

    def bind(self, sim):
        budget = sim.budget_w
        if budget is None:
            return  # no budget: behave like performance
        load = worst_case_load(sim)
        freqs = fit_to_budget(sim, budget, load)
        if freqs is None:
            lowest = sim.platform.min_power_w(sim.offline) + sum(
                load[p.index] * p.dyn_w[0] / p.capacity for p in sim.processors if sim.online(p)
            )
            raise ConfigError(
                "<config>", "budget_w",
                f"the budget governor cannot keep {budget:g} W: every processor busy at its lowest OPP "
                f"draws {lowest:.3g} W",
            )
        for d, f in freqs.items():
            if f != sim.freq_mhz(d):
                sim.set_freq(d, f)


@register_governor("ondemand")
class Ondemand(Governor):
    """Utilisation-driven, like Linux's ondemand: sample each domain every ``period_ms``.

    Above ``up_threshold`` utilisation a domain jumps to its highest allowed OPP;
    below, it takes the lowest OPP at or above f_max x utilisation / up_threshold.
    """

    class Params(PolicyParams):
        """Parameters of the ``ondemand`` governor."""

        period_ms: float = Field(20.0, gt=0, description="Sampling period of the domains' utilisation (ms).")
        up_threshold: float = Field(
            0.8, gt=0, le=1,
            description="Utilisation (busy share of the domain's slots, in (0, 1]) from which the domain jumps "
            "to its highest allowed OPP.",
        )

    def __init__(self, period_ms: float = 20.0, up_threshold: float = 0.8) -> None:
        if period_ms <= 0 or not 0 < up_threshold <= 1:
            raise ValueError("period_ms must be > 0 and up_threshold in (0, 1]")
        self.period_ms = period_ms
        self.up = up_threshold
        self._last: dict = {}

    def bind(self, sim):
        self._last = dict.fromkeys(sim.processors, 0.0)
        sim.call_at(self.period_ms, None, owner=self)

    def on_timer(self, payload, sim):
        for d in sim.domains:
            slots = sum(p.capacity for p in d.processors if sim.online(p))
            if not slots:
                continue
            busy = 0.0
            for p in d.processors:
                b = sim.busy_ms(p)
                busy += b - self._last[p]
                self._last[p] = b
            util = busy / (slots * self.period_ms)
            allowed = sim.allowed_freqs(d)
            if util >= self.up:
                target = allowed[-1]
            else:
                want = allowed[-1] * util / self.up
                target = next((f for f in allowed if f >= want), allowed[-1])
            if target != sim.pending_freq_mhz(d):
                sim.set_freq(d, target)
        sim.call_at(sim.now + self.period_ms, None, owner=self)
