"""Runtime platform objects built from a validated :class:`PlatformSpec`.

These hold the static description (OPP tables, power coefficients, model profiles)
in flat tuples indexed by processor number, so the engine's hot path does list
look-ups instead of dict and attribute chains. Dynamic state (current OPP, what
runs where) lives in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simsched.config.schema import PlatformSpec, PowerModeSpec
from simsched.platform.profiles import ModelProfile


@dataclass(eq=False)
class Domain:
    """A DVFS domain.

    Attributes
    ----------
    freqs_mhz, volts_mv : tuple of float
        The OPP table, ascending (MHz, mV).
    switch_ms : float
        Time for a frequency change to take effect (ms).
    """

    name: str
    index: int
    freqs_mhz: tuple[float, ...]
    volts_mv: tuple[float, ...]
    switch_ms: float
    processors: list[Processor] = field(default_factory=list)

    @property
    def f_max_mhz(self) -> float:
        """Highest OPP frequency (MHz): the reference at which latencies are given."""
        return self.freqs_mhz[-1]

    def __post_init__(self) -> None:
        # Exact-value look-up first: policies and the power model call opp_index with
        # frequencies read from this table, on every dispatch.
        self._opp_of = {f: i for i, f in reversed(list(enumerate(self.freqs_mhz)))}

    def opp_index(self, freq_mhz: float) -> int:
        """Index of the OPP with this frequency (within 1e-9 MHz); ValueError if none."""
        i = self._opp_of.get(freq_mhz)
        if i is not None:
            return i
        for i, f in enumerate(self.freqs_mhz):
            if abs(f - freq_mhz) < 1e-9:
                return i
        raise ValueError(f"{freq_mhz:g} MHz is not an OPP of domain '{self.name}'")


@dataclass(eq=False)
class Processor:
    """An execution unit.

    Attributes
    ----------
    dyn_w : tuple of float
        Dynamic power with every slot busy at activity 1, per OPP of the domain (W).
    idle_w : float
        Power when on but idle (W).
    """

    name: str
    index: int
    kind: str
    domain: Domain
    capacity: int
    idle_w: float
    dyn_w: tuple[float, ...]

    def busy_power_w(self, opp: int, activity: float = 1.0, busy_slots: int | None = None) -> float:
        """Power at OPP ``opp`` with ``busy_slots`` tasks of the given activity running (W)."""
        n = self.capacity if busy_slots is None else busy_slots
        return self.idle_w + n * activity * self.dyn_w[opp] / self.capacity

    def __repr__(self) -> str:
        return f"Processor({self.name})"


def _dynamic_power_table(spec_proc, volts_mv: tuple[float, ...], freqs: tuple[float, ...]) -> tuple[float, ...]:
    if spec_proc.busy_w_table is not None:
        return tuple(b - spec_proc.idle_w for b in spec_proc.busy_w_table)
    if spec_proc.dpc_uw_mhz_v2 is not None:
        # Linux Energy Model: P[uW] = DPC * V^2 * f with V in volts and f in MHz.
        return tuple(
            spec_proc.dpc_uw_mhz_v2 * (v / 1000.0) ** 2 * f * spec_proc.cores / 1e6
            for f, v in zip(freqs, volts_mv, strict=True)
        )
    dyn_max = spec_proc.busy_w - spec_proc.idle_w
    ref = volts_mv[-1] ** 2 * freqs[-1]
    return tuple(dyn_max * v * v * f / ref for f, v in zip(freqs, volts_mv, strict=True))


@dataclass(eq=False)
class Platform:
    """A built platform: domains, processors, power modes, interconnect, model profiles."""

    name: str
    static_w: float
    domains: list[Domain]
    processors: list[Processor]
    power_modes: dict[str, PowerModeSpec]
    default_power_mode: str | None
    transfer_latency_ms: float
    transfer_ms_per_kb: float
    models: dict[str, ModelProfile]
    spec: PlatformSpec

    @classmethod
    def from_spec(cls, spec: PlatformSpec) -> Platform:
        """Build the runtime objects from a validated spec."""
        domains: dict[str, Domain] = {}
        for i, (name, d) in enumerate(spec.domains.items()):
            domains[name] = Domain(
                name=name,
                index=i,
                freqs_mhz=tuple(float(f) for f, _ in d.opps),
                volts_mv=tuple(float(v) for _, v in d.opps),
                switch_ms=d.switch_ms,
            )
        procs: list[Processor] = []
        for i, (name, p) in enumerate(spec.processors.items()):
            dom = domains[p.domain]
            proc = Processor(
                name=name,
                index=i,
                kind=p.kind,
                domain=dom,
                capacity=p.capacity,
                idle_w=p.idle_w,
                dyn_w=_dynamic_power_table(p, dom.volts_mv, dom.freqs_mhz),
            )
            dom.processors.append(proc)
            procs.append(proc)
        # 1 GB/s moves 1e3 kB per ms.
        ms_per_kb = 1.0 / (spec.interconnect.bandwidth_gb_per_s * 1e3)
        models = {name: ModelProfile.build(name, m, procs) for name, m in spec.models.items()}
        return cls(
            name=spec.name,
            static_w=spec.static_w,
            domains=list(domains.values()),
            processors=procs,
            power_modes=dict(spec.power_modes),
            default_power_mode=spec.default_power_mode,
            transfer_latency_ms=spec.interconnect.latency_ms,
            transfer_ms_per_kb=ms_per_kb,
            models=models,
            spec=spec,
        )

    def processor(self, name: str) -> Processor:
        """The processor called ``name``."""
        for p in self.processors:
            if p.name == name:
                return p
        raise KeyError(name)

    def domain(self, name: str) -> Domain:
        """The DVFS domain called ``name``."""
        for d in self.domains:
            if d.name == name:
                return d
        raise KeyError(name)

    def transfer_ms(self, kb: float) -> float:
        """Time to move ``kb`` kilobytes between two processors (ms)."""
        if kb <= 0:
            return 0.0
        return self.transfer_latency_ms + kb * self.transfer_ms_per_kb

    def min_power_w(self, offline: frozenset[str] = frozenset()) -> float:
        """Static plus idle power of every online processor: the floor of any budget (W)."""
        return self.static_w + sum(p.idle_w for p in self.processors if p.name not in offline)
