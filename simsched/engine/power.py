"""Power accounting: each processor's power, the SoC total, its integral, busy time.

Power is piecewise constant. Whenever something on a processor changes (a task
starts, finishes, freezes, enters a new phase, or its domain's frequency
changes) the engine calls :meth:`PowerMeter.update`, which integrates the total
exactly up to that instant, recomputes the processor's power and sends a row to
the recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from simsched.workload.states import RUNNING

if TYPE_CHECKING:
    from simsched.platform.soc import Domain, Platform, Processor
    from simsched.workload.jobs import Task



class PowerMeter:
    """Per-processor power, the integrated energy and the time over budget of one run.

    Parameters
    ----------
    platform : Platform
        Gives each processor's idle and dynamic power per OPP and the static power.
    online : list of bool
        Per processor, whether it is switched on (read, never changed).
    slots : list of list of Task
        Per processor, the tasks holding a slot (the engine's live lists).
    opp : list of int
        Per domain, the current OPP index (the engine's live list).
    budget_w : float or None
        The power budget (W), for the time and energy over it.
    record : callable
        ``record(time_ms, processor_index, power_w)``: the recorder's ``power``.
    """

    def __init__(
        self,
        platform: Platform,
        online: list[bool],
        slots: list[list[Task]],
        opp: list[int],
        budget_w: float | None,
        record: Callable[[float, int, float], None],
    ) -> None:
        n = len(platform.processors)
        self.platform = platform
        self.static_w = platform.static_w
        self.budget_w = budget_w
        self._online = online
        self._slots = slots
        self._opp = opp
        self._proc_dom = [p.domain.index for p in platform.processors]
        self._record = record
        self._pw = [0.0] * n
        self._busy_acc = [0.0] * n
        self._busy_n = [0] * n
        self._busy_t = [0.0] * n
        self._started = False  # the first update of a processor writes a row even if unchanged
        self._last_t = 0.0
        self.total_w = platform.static_w
        """Total SoC power now (W)."""
        self.energy_mj = 0.0
        """Energy integrated up to the latest change (mJ; W x ms = mJ)."""
        self.peak_w = 0.0
        """Highest total power so far (W)."""
        self.over_budget_ms = 0.0
        """Time with the total above the budget (ms)."""
        self.over_budget_mj = 0.0
        """Energy above the budget (mJ)."""

    def update(self, proc: Processor, now: float) -> None:
        """Recompute ``proc``'s power at ``now`` (ms) after a change on it."""
        i = proc.index
        n = 0
        act = 0.0
        for t in self._slots[i]:
            if t.state is RUNNING:
                n += 1
                act += t.act
        # Executing slot-time, integrated at every change (for utilisation-driven governors).
        busy_n = self._busy_n
        if busy_n[i]:
            self._busy_acc[i] += busy_n[i] * (now - self._busy_t[i])
        self._busy_t[i] = now
        busy_n[i] = n
        if not self._online[i]:
            w = 0.0
        else:
            w = proc.idle_w + act * proc.dyn_w[self._opp[self._proc_dom[i]]] / proc.capacity
        if w == self._pw[i] and self._started:
            return
        self._started = True
        if now > self._last_t:
            self.advance(now)
        self._pw[i] = w
        # Recomputed, not accumulated, so rounding cannot drift over millions of
        # changes; the power table derives the total's rows with the same additions.
        self.total_w = self.static_w + sum(self._pw)
        self._record(now, i, w)

    def advance(self, now: float) -> None:
        """Integrate the total power up to ``now`` (ms)."""
        dt = now - self._last_t
        if dt <= 0:
            return
        w = self.total_w
        self.energy_mj += w * dt
        if w > self.peak_w:
            self.peak_w = w
        b = self.budget_w
        if b is not None and w > b + 1e-9:
            self.over_budget_ms += dt
            self.over_budget_mj += (w - b) * dt
        self._last_t = now

    def busy_ms(self, proc: Processor, now: float) -> float:
        """Slot-time ``proc`` has spent executing up to ``now`` (ms; capacity c counts c-fold)."""
        i = proc.index
        return self._busy_acc[i] + self._busy_n[i] * (now - self._busy_t[i])

    def predict_w(
        self,
        freqs_mhz: dict[Domain, float] | None,
        add: Sequence[tuple[Task, Processor]],
        remove: Sequence[Task],
    ) -> float:
        """Predicted SoC power (W); see :meth:`simsched.engine.simulation.Simulation.predict_power_w`."""
        plat = self.platform
        acts = [0.0] * len(plat.processors)
        gone = {id(t) for t in remove}
        for i, slots in enumerate(self._slots):
            for t in slots:
                if id(t) not in gone:
                    acts[i] += t.model.peak_activity
        for t, p in add:
            acts[p.index] += t.model.peak_activity
        total = plat.static_w
        for p in plat.processors:
            if not self._online[p.index]:
                continue
            d = p.domain
            f = freqs_mhz.get(d) if freqs_mhz else None
            k = self._opp[d.index] if f is None else d.opp_index(f)
            total += p.idle_w + acts[p.index] * p.dyn_w[k] / p.capacity
        return total
