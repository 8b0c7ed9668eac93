"""DVFS requests: ``set_freq`` and the pending switches of each domain.

A request takes effect after the domain's ``switch_ms``; a newer request
supersedes a pending one (the older switch event finds its version stale).
Applying an OPP re-times the tasks executing in the domain, which is the
engine's job (``_apply_opp`` in :class:`~simsched.engine.simulation.Simulation`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from simsched.engine.state import EngineState
from simsched.errors import PolicyError

if TYPE_CHECKING:
    from simsched.engine.interface import Governor, Policy
    from simsched.platform.soc import Domain


class FrequencyControl(EngineState):
    """The frequency half of the engine's actions; :class:`~simsched.engine.simulation.Simulation` completes it."""

    policy: Policy
    governor: Governor | None
    _started: bool
    _after: Callable[[float, Callable[[Any], None], Any], None]

    def _apply_opp(self, domain: Domain, k: int) -> None:
        raise NotImplementedError

    def set_freq(self, domain: Domain, freq_mhz: float) -> None:
        """Set ``domain`` to the OPP of ``freq_mhz``; it takes effect after the domain's switch latency."""
        try:
            k = domain.opp_index(freq_mhz)
        except ValueError as exc:
            raise PolicyError(f"'{self._actor()}': {exc}") from None
        if k > self.max_opp[domain.index]:
            raise PolicyError(
                f"'{self._actor()}' set domain {domain.name} to {freq_mhz:g} MHz, above the power mode's "
                f"cap of {domain.freqs_mhz[self.max_opp[domain.index]]:g} MHz"
            )
        di = domain.index
        self._freq_version[di] += 1
        # Before the first event (policy and governor bind) frequencies are the boot
        # configuration and apply at once; afterwards a switch takes switch_ms.
        if not self._started or domain.switch_ms <= 0 or (k == self.opp[di] and self._pending_opp[di] is None):
            self._pending_opp[di] = None
            self._apply_opp(domain, k)
        else:
            self._pending_opp[di] = k
            self._after(domain.switch_ms, self._on_freq_switch, (domain, k, self._freq_version[di]))

    def _on_freq_switch(self, ev: Timeout) -> None:
        domain, k, ver = ev._value
        if ver == self._freq_version[domain.index]:
            self._pending_opp[domain.index] = None
            self._apply_opp(domain, k)

    def _actor(self) -> str:
        return self.policy.name if self.governor is None else f"{self.policy.name}+{self.governor.name}"

