"""Typed, validated configuration: the single source of truth for keys, defaults and units.

Every numeric field carries its unit in its name (``*_ms``, ``*_mhz``, ``*_mv``,
``*_w``, ``*_kb``). The JSON Schema printed by ``simsched schema`` is generated from
these classes, so the descriptions here are the reference documentation of the
format (docs/config.md explains it with examples).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

# Enormous values are almost always typos (a rate in mHz, a latency in ns); bounding
# them keeps a bad file from turning into a run that never ends.
MAX_MS = 1e9
MAX_W = 1e4

PosMs = Annotated[float, Field(gt=0, le=MAX_MS, allow_inf_nan=False)]
NonNegMs = Annotated[float, Field(ge=0, le=MAX_MS, allow_inf_nan=False)]
NonNegW = Annotated[float, Field(ge=0, le=MAX_W, allow_inf_nan=False)]
PosW = Annotated[float, Field(gt=0, le=MAX_W, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Source = Annotated[
    str | list[str] | None,
    Field(description="Where the numbers of this entry come from (free text citation)."),
]


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not silently become a default)."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


# --------------------------------------------------------------------------- platform


class DomainSpec(Strict):
    """A DVFS domain: processors in it share one frequency."""

    opps: list[tuple[Annotated[float, Field(gt=0, le=1e5)], Annotated[float, Field(gt=0, le=5000)]]] = (
        Field(
            min_length=1,
            description="Operating points as [MHz, mV], strictly ascending in frequency.",
        )
    )
    switch_ms: NonNegMs = Field(0.0, description="Time a frequency change takes to apply (ms).")
    source: Source = None

    @field_validator("opps")
    @classmethod
    def _ascending(cls, opps: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for (f0, v0), (f1, v1) in itertools.pairwise(opps):
            if f1 <= f0:
                raise ValueError(
                    f"OPP frequencies must be strictly ascending; {f1:g} MHz follows {f0:g} MHz"
                )
            if v1 < v0:
                raise ValueError(f"OPP voltages must not decrease; {v1:g} mV follows {v0:g} mV")
        return opps


class ProcessorSpec(Strict):
    """An execution unit in a DVFS domain, with its power model.

    Give exactly one of ``busy_w`` (scaled with V^2 f between OPPs), ``busy_w_table``
    (measured per OPP) or ``dpc_uw_mhz_v2`` (the Linux Energy Model coefficient).
    """

    kind: Literal["cpu", "gpu", "npu", "dla", "dsp"]
    domain: str
    capacity: int = Field(1, ge=1, le=1024, description="Tasks that can run at once, each at full speed.")
    idle_w: NonNegW = Field(0.0, description="Power when powered but not running anything (W).")
    busy_w: PosW | None = Field(
        None,
        description="Power with every slot busy at the highest OPP, activity 1 (W, includes idle_w).",
    )
    busy_w_table: list[PosW] | None = Field(
        None, description="Measured busy power per OPP of the domain (W, includes idle_w)."
    )
    dpc_uw_mhz_v2: Annotated[float, Field(gt=0, le=1e5)] | None = Field(
        None,
        description="Dynamic power coefficient (uW/MHz/V^2, as in Linux device trees); "
        "dynamic power = dpc * V^2 * f * cores.",
    )
    cores: int = Field(1, ge=1, le=1024, description="Cores that the DPC power applies to.")
    source: Source = None

    @model_validator(mode="after")
    def _one_power_model(self) -> ProcessorSpec:
        given = [x is not None for x in (self.busy_w, self.busy_w_table, self.dpc_uw_mhz_v2)]
        if sum(given) != 1:
            raise ValueError("give exactly one of busy_w, busy_w_table, dpc_uw_mhz_v2")
        if self.busy_w is not None and self.busy_w < self.idle_w:
            raise ValueError(f"busy_w ({self.busy_w:g} W) is below idle_w ({self.idle_w:g} W)")
        return self


class PowerModeSpec(Strict):
    """A named power mode (like nvpmodel): frequency caps per domain and a power budget."""

    budget_w: PosW | None = Field(None, description="Power budget (W); none means unlimited.")
    caps_mhz: dict[str, Annotated[float, Field(gt=0, le=1e5)]] = Field(
        default_factory=dict, description="Highest frequency allowed per domain (MHz)."
    )
    offline: list[str] = Field(
        default_factory=list, description="Processors switched off in this mode (e.g. a CPU cluster)."
    )
    source: Source = None


class InterconnectSpec(Strict):
    """Cost of moving data between two different processors."""

    latency_ms: NonNegMs = Field(0.0, description="Fixed cost of every transfer (ms).")
    bandwidth_gb_per_s: Annotated[float, Field(gt=0, le=1e5)] = Field(
        10.0, description="Bandwidth for transfers given in kB (GB/s)."
    )
    source: Source = None


class IntDist(Strict):
    """A distribution of a positive integer (token counts)."""

    type: Literal["constant", "uniform", "lognormal", "choice"] = "constant"
    value: int | None = Field(None, ge=1, le=10_000_000, description="constant: the value.")
    low: int | None = Field(None, ge=1, le=10_000_000, description="uniform: smallest value.")
    high: int | None = Field(None, ge=1, le=10_000_000, description="uniform: largest value.")
    mean: float | None = Field(None, gt=0, le=1e7, description="lognormal: mean.")
    cv: float | None = Field(None, ge=0, le=10, description="lognormal: coefficient of variation.")
    values: list[Annotated[int, Field(ge=1, le=10_000_000)]] | None = None
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"type": "constant", "value": data}
        return data

    @model_validator(mode="after")
    def _complete(self) -> IntDist:
        need = {
            "constant": ("value",),
            "uniform": ("low", "high"),
            "lognormal": ("mean", "cv"),
            "choice": ("values",),
        }[self.type]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.type} distribution needs {', '.join(missing)}")
        if self.type == "uniform" and self.high < self.low:  # type: ignore[operator]
            raise ValueError("uniform: high is below low")
        if self.type == "choice":
            if not self.values:
                raise ValueError("choice: values is empty")
            if self.weights is not None and (
                len(self.weights) != len(self.values) or sum(self.weights) <= 0
            ):
                raise ValueError("choice: weights must match values and sum to more than 0")
        return self

    def mean_value(self) -> float:
        """Expected value (tokens)."""
        if self.type == "constant":
            return float(self.value)  # type: ignore[arg-type]
        if self.type == "uniform":
            return (self.low + self.high) / 2  # type: ignore[operator]
        if self.type == "lognormal":
            return float(self.mean)  # type: ignore[arg-type]
        w = self.weights or [1.0] * len(self.values)  # type: ignore[arg-type]
        return sum(v * x for v, x in zip(self.values, w, strict=True)) / sum(w)  # type: ignore[arg-type]


ProcMap = dict[str, Annotated[float, Field(gt=0, le=MAX_MS, allow_inf_nan=False)]]


class LLMSpec(Strict):
    """An LLM: a prefill phase that grows with prompt tokens, then one decode step per token.

    The prefill produces the first output token; decode produces the rest, one
    segment (preemption point) per token.
    """

    prefill_ms_per_token: ProcMap = Field(
        description="Prefill time per prompt token at the highest OPP, per processor name or kind (ms)."
    )
    prefill_fixed_ms: dict[str, NonNegMs] = Field(
        default_factory=dict, description="Fixed prefill overhead per processor name or kind (ms)."
    )
    decode_ms_per_token: ProcMap = Field(
        description="Time per output token at the highest OPP, per processor name or kind (ms)."
    )
    prompt_tokens: IntDist = Field(default_factory=lambda: IntDist(type="constant", value=128))
    output_tokens: IntDist = Field(default_factory=lambda: IntDist(type="constant", value=64))
    prefill_compute_fraction: Fraction = Field(
        1.0, description="Share of prefill time that scales with 1/f (prefill is compute-bound)."
    )
    decode_compute_fraction: Fraction = Field(
        0.2, description="Share of decode time that scales with 1/f (decode is memory-bound)."
    )
    prefill_chunk_tokens: int = Field(
        128, ge=1, le=1_000_000, description="Prompt tokens per prefill segment (preemption point)."
    )
    decode_activity: Annotated[float, Field(gt=0, le=4)] | None = Field(
        None, description="Power activity factor during decode; defaults to the model's activity."
    )


class Variability(Strict):
    """Run-to-run latency variation: a multiplicative factor with mean 1."""

    type: Literal["constant", "normal", "lognormal", "exponential"] = "constant"
    cv: float = Field(0.0, ge=0, le=10, description="Coefficient of variation (normal, lognormal).")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"type": data}
        return data


CONFIDENCE_LEVELS = ("measured", "derived", "estimate")
# Confidence keys besides processor names / kinds (latency_ms) and "prefill.X" / "decode.X" (llm).
FRACTION_CONFIDENCE_KEYS = ("compute_fraction", "prefill_compute_fraction", "decode_compute_fraction")


class Confidence(Strict):
    """How far a profile number can be trusted; metadata only, never read by a simulation.

    ``measured``: a cited measurement of this model on this processor. ``derived``: a
    cited measurement scaled by a stated rule. ``estimate``: neither. ``range`` gives the
    plausible values as factors on the number (``[0.5, 2.0]``: from half to twice);
    ``derived`` and ``estimate`` need one, ``measured`` may give one (run-to-run or
    setup spread).
    """

    level: Literal["measured", "derived", "estimate"]
    range: tuple[Annotated[float, Field(gt=0, le=1000)], Annotated[float, Field(gt=0, le=1000)]] | None = Field(
        None, description="Plausible values as factors [low, high] on the number; low <= 1 <= high."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"level": data}
        return data

    @model_validator(mode="after")
    def _range(self) -> Confidence:
        if self.range is None:
            if self.level != "measured":
                raise ValueError(f"a '{self.level}' number needs range: [low, high] (factors on the value)")
            return self
        lo, hi = self.range
        if not lo <= 1.0 <= hi:
            raise ValueError(f"range [{lo:g}, {hi:g}] must contain 1 (factors on the stated value)")
        return self


class ModelSpec(Strict):
    """The profile of one model: how long it takes on each processor that can run it."""

    kind: Literal["cnn", "transformer", "llm", "speech", "other"] = Field(
        "other", description="Network family; affinity-aware policies use it."
    )
    latency_ms: ProcMap = Field(
        default_factory=dict,
        description="Latency at the domain's highest OPP per processor name or kind (ms). "
        "A processor without an entry cannot run the model.",
    )
    compute_fraction: Fraction = Field(
        1.0, description="Share of the latency that scales with 1/f; the rest is memory-bound."
    )
    activity: Annotated[float, Field(gt=0, le=4)] = Field(
        1.0, description="Power activity factor: share of the processor's dynamic power drawn."
    )
    segments: int = Field(
        1, ge=1, le=100_000, description="Layer blocks: the preemption and migration granularity."
    )
    variability: Variability = Field(default_factory=Variability)
    default_processor: str | None = Field(
        None,
        description="Where a naive deployment runs it (processor name or kind); "
        "defaults to the first entry of latency_ms.",
    )
    state_kb: NonNegMs = Field(
        0.0, description="Intermediate state moved over the interconnect on migration (kB)."
    )
    migrate_ms: NonNegMs | None = Field(
        None, description="Fixed migration cost (ms); overrides state_kb when given."
    )
    llm: LLMSpec | None = None
    # exclude: kept out of the resolved config (run manifests, config hashes), so that
    # confidence metadata never changes a run's output bytes.
    confidence: dict[str, Confidence] = Field(
        default_factory=dict,
        exclude=True,
        description="Confidence per profile number: keys are the latency_ms keys, 'prefill.KEY' and "
        "'decode.KEY' for an llm block, and compute_fraction / prefill_compute_fraction / "
        "decode_compute_fraction. Metadata: simulations do not read it.",
    )
    source: Source = None

    def confidence_targets(self) -> dict[str, float]:
        """The numbers a confidence entry may refer to, by confidence key.

        Returns
        -------
        dict of str to float
            Key -> value (ms for latencies, ms/token for LLM phases, a fraction otherwise).
        """
        out: dict[str, float] = {}
        if self.llm is None:
            out.update(self.latency_ms)
            out["compute_fraction"] = self.compute_fraction
        else:
            out.update({f"prefill.{k}": v for k, v in self.llm.prefill_ms_per_token.items()})
            out.update({f"decode.{k}": v for k, v in self.llm.decode_ms_per_token.items()})
            out["prefill_compute_fraction"] = self.llm.prefill_compute_fraction
            out["decode_compute_fraction"] = self.llm.decode_compute_fraction
        return out

    @model_validator(mode="after")
    def _has_cost(self) -> ModelSpec:
        if self.llm is None and not self.latency_ms:
            raise ValueError("a model needs latency_ms (or an llm block)")
        if self.llm is not None and self.latency_ms:
            raise ValueError("give latency_ms or llm, not both")
        targets = self.confidence_targets()
        for key in self.confidence:
            if key not in targets:
                raise _FieldError(
                    f"confidence.{key}",
                    f"names no number of this model; known: {', '.join(targets)}",
                )
        return self

    @property
    def cost_keys(self) -> list[str]:
        """Processor names or kinds that have a profile."""
        if self.llm is not None:
            return list(self.llm.prefill_ms_per_token)
        return list(self.latency_ms)


class PlatformSpec(Strict):
    """A system-on-chip: DVFS domains, processors, power modes and model profiles."""

    name: str = Field(min_length=1)
    description: str = ""
    sources: Source = None
    static_w: NonNegW = Field(0.0, description="Power drawn by the SoC regardless of load (W).")
    domains: dict[str, DomainSpec] = Field(min_length=1)
    processors: dict[str, ProcessorSpec] = Field(min_length=1)
    power_modes: dict[str, PowerModeSpec] = Field(default_factory=dict)
    default_power_mode: str | None = None
    interconnect: InterconnectSpec = Field(default_factory=InterconnectSpec)
    models: dict[str, ModelSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> PlatformSpec:
        kinds = {p.kind for p in self.processors.values()}
        if "total" in self.processors:  # power.csv's SoC rows are labelled `total`
            raise _FieldError("processors.total", "the name 'total' is reserved for the SoC total in power.csv; rename "
                              "the processor")
        for pname, p in self.processors.items():
            if p.domain not in self.domains:
                raise _FieldError(f"processors.{pname}.domain", f"unknown domain '{p.domain}'; "
                                  f"known: {', '.join(self.domains)}")
            n_opps = len(self.domains[p.domain].opps)
            if p.busy_w_table is not None and len(p.busy_w_table) != n_opps:
                raise _FieldError(
                    f"processors.{pname}.busy_w_table",
                    f"has {len(p.busy_w_table)} entries; domain '{p.domain}' has {n_opps} OPPs",
                )
            if p.busy_w_table is not None and min(p.busy_w_table) < p.idle_w:
                raise _FieldError(f"processors.{pname}.busy_w_table", "an entry is below idle_w")
        for mname, m in self.power_modes.items():
            for pname in m.offline:
                if pname not in self.processors:
                    raise _FieldError(f"power_modes.{mname}.offline", f"unknown processor '{pname}'")
            if len(m.offline) >= len(self.processors):
                raise _FieldError(f"power_modes.{mname}.offline", "every processor is offline")
            for dname, cap in m.caps_mhz.items():
                if dname not in self.domains:
                    raise _FieldError(f"power_modes.{mname}.caps_mhz.{dname}", "unknown domain")
                lowest = self.domains[dname].opps[0][0]
                if cap < lowest:
                    raise _FieldError(
                        f"power_modes.{mname}.caps_mhz.{dname}",
                        f"cap {cap:g} MHz is below the lowest OPP ({lowest:g} MHz)",
                    )
        if self.default_power_mode is not None and self.default_power_mode not in self.power_modes:
            raise _FieldError("default_power_mode", f"unknown power mode '{self.default_power_mode}'")
        names = set(self.processors) | kinds
        for mname, model in self.models.items():
            keys = [("latency_ms", k) for k in model.latency_ms]
            if model.llm is not None:
                keys += [("llm.prefill_ms_per_token", k) for k in model.llm.prefill_ms_per_token]
                keys += [("llm.decode_ms_per_token", k) for k in model.llm.decode_ms_per_token]
                keys += [("llm.prefill_fixed_ms", k) for k in model.llm.prefill_fixed_ms]
                if set(model.llm.prefill_ms_per_token) != set(model.llm.decode_ms_per_token):
                    raise _FieldError(
                        f"models.{mname}.llm",
                        "prefill_ms_per_token and decode_ms_per_token must name the same processors",
                    )
            for where, key in keys:
                if key not in names:
                    raise _FieldError(
                        f"models.{mname}.{where}.{key}",
                        f"unknown processor or kind; known: {', '.join(sorted(names))}",
                    )
            if model.default_processor is not None:
                key = model.default_processor
                if key not in names:
                    raise _FieldError(f"models.{mname}.default_processor", "unknown processor or kind")
                costs = set(model.cost_keys)
                if not any((pn == key or p.kind == key) and (pn in costs or p.kind in costs)
                           for pn, p in self.processors.items()):
                    raise _FieldError(
                        f"models.{mname}.default_processor",
                        f"'{key}' has no latency entry for this model; give it one or choose another processor",
                    )
        return self


class _FieldError(ValueError):
    """A validation error at a known sub-path (the loader turns it into a ConfigError)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


# --------------------------------------------------------------------------- workload


class EdgeSpec(Strict):
    """A dependency edge: data transfer and cascade probability."""

    transfer_ms: NonNegMs = Field(0.0, description="Transfer time when the two tasks run on different processors (ms).")
    transfer_kb: NonNegMs = Field(0.0, description="Data moved over the interconnect when on different processors (kB).")
    prob: Fraction = Field(1.0, description="Probability that the successor is triggered (cascade).")


class TaskSpec(Strict):
    """One model invocation in an app's DAG."""

    model: str
    after: list[str] | dict[str, EdgeSpec | None] = Field(
        default_factory=dict, description="Predecessors: a list of task names, or a mapping to edge attributes."
    )
    prompt_tokens: IntDist | None = Field(None, description="LLM tasks: overrides the model's prompt length.")
    output_tokens: IntDist | None = Field(None, description="LLM tasks: overrides the model's output length.")

    def edges(self) -> dict[str, EdgeSpec]:
        """Predecessors with their edge attributes."""
        if isinstance(self.after, list):
            return {p: EdgeSpec() for p in self.after}
        return {p: (e or EdgeSpec()) for p, e in self.after.items()}


class PeriodicArrival(Strict):
    type: Literal["periodic"]
    period_ms: PosMs
    jitter_ms: NonNegMs = Field(0.0, description="Uniform jitter added to each release, in [0, jitter_ms).")
    offset_ms: NonNegMs = 0.0

    @model_validator(mode="after")
    def _jitter(self) -> PeriodicArrival:
        # Releases must stay in order: a jitter beyond the period would reorder frames.
        if self.jitter_ms > self.period_ms:
            raise ValueError("jitter_ms must not exceed period_ms")
        return self


class PoissonArrival(Strict):
    type: Literal["poisson"]
    rate_hz: Annotated[float, Field(gt=0, le=1e6)]
    offset_ms: NonNegMs = 0.0


class BurstyArrival(Strict):
    """On/off source: Poisson arrivals at rate_hz during exponentially long on periods."""

    type: Literal["bursty"]
    rate_hz: Annotated[float, Field(gt=0, le=1e6)]
    on_ms: PosMs = Field(description="Mean length of an on period (ms).")
    off_ms: PosMs = Field(description="Mean length of an off period (ms).")
    offset_ms: NonNegMs = 0.0


class ClosedArrival(Strict):
    """Closed loop: each of `population` users submits, waits for the job to end, thinks, repeats."""

    type: Literal["closed"]
    think_ms: NonNegMs = 0.0
    think: Literal["constant", "exponential"] = "exponential"
    population: int = Field(1, ge=1, le=100_000)
    offset_ms: NonNegMs = 0.0


class TraceArrival(Strict):
    """Replay of arrival times, inline or from a CSV file (one time per line, or a time_ms column)."""

    type: Literal["trace"]
    times_ms: list[Annotated[float, Field(ge=0, le=MAX_MS, allow_inf_nan=False)]] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TraceArrival:
        if (self.times_ms is None) == (self.file is None):
            raise ValueError("give exactly one of times_ms and file")
        if self.times_ms is not None:
            _check_sorted(self.times_ms)
        return self


def _check_sorted(times: list[float]) -> None:
    for i, (a, b) in enumerate(itertools.pairwise(times)):
        if b < a:
            raise ValueError(f"trace times must be ascending; entry {i + 1} ({b:g}) follows {a:g}")


Arrival = Annotated[
    PeriodicArrival | PoissonArrival | BurstyArrival | ClosedArrival | TraceArrival,
    Field(discriminator="type"),
]


class GeneratorSpec(Strict):
    """Random cAI DAGs: every job of the app gets its own graph drawn from a model mix."""

    models: dict[str, Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]] = Field(
        min_length=1, description="Model name -> relative weight in the mix."
    )
    tasks: tuple[int, int] = Field((1, 4), description="Inclusive range of the number of tasks.")
    edge_prob: Fraction = Field(0.5, description="Probability of an edge between two tasks in topological order.")
    transfer_ms: NonNegMs = 0.0

    @field_validator("models")
    @classmethod
    def _some_weight(cls, v: dict[str, float]) -> dict[str, float]:
        if not sum(v.values()) > 0:
            raise ValueError("at least one model needs a weight above 0")
        return v

    @field_validator("tasks")
    @classmethod
    def _range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 1000:
            raise ValueError("tasks must be [low, high] with 1 <= low <= high <= 1000")
        return v


class AppSpec(Strict):
    """A cAI pipeline: a DAG of model invocations with an arrival process and a deadline."""

    arrival: Arrival
    deadline_ms: PosMs | None = Field(None, description="Relative deadline (ms); none means no deadline.")
    priority: int = Field(0, ge=-1000, le=1000, description="Higher is more important.")
    late: Literal["run", "drop"] = Field(
        "run", description="When the deadline passes: keep running the job, or drop its unstarted tasks."
    )
    graph: dict[str, TaskSpec] | None = None
    generator: GeneratorSpec | None = None
    source: Source = None
    _load_scale: float = PrivateAttr(1.0)  # the workload's load_scale, set by WorkloadSpec

    @model_validator(mode="after")
    def _graph_or_generator(self) -> AppSpec:
        if (self.graph is None) == (self.generator is None):
            raise ValueError("give exactly one of graph and generator")
        if self.graph is not None:
            if not self.graph:
                raise ValueError("graph is empty")
            for tname, t in self.graph.items():
                for pred in t.edges():
                    if pred not in self.graph:
                        raise _FieldError(f"graph.{tname}.after.{pred}", "unknown task")
                    if pred == tname:
                        raise _FieldError(f"graph.{tname}.after.{pred}", "a task cannot depend on itself")
            cycle = _find_cycle({n: list(t.edges()) for n, t in self.graph.items()})
            if cycle:
                raise _FieldError("graph", "the DAG has a cycle: " + " -> ".join(cycle))
        return self


def _find_cycle(preds: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle of a predecessor map, or None.

    A depth-first search with an explicit stack: the depth of a DAG is the input's
    size (a chain of thousands of tasks), so recursion would overflow the C stack
    or hit Python's recursion limit.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in preds:
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        todo = [iter(preds[root])]
        while todo:
            for p in todo[-1]:
                if state.get(p) == 1:
                    return [*path[path.index(p):], p]
                if p not in state:
                    state[p] = 1
                    path.append(p)
                    todo.append(iter(preds[p]))
                    break
            else:
                state[path.pop()] = 2
                todo.pop()
    return None


class WorkloadSpec(Strict):
    """A set of apps that share the platform."""

    name: str = Field("workload", min_length=1)
    description: str = ""
    platform: str | None = Field(None, description="The shipped platform this workload is written for.")
    sources: Source = None
    apps: dict[str, AppSpec] = Field(min_length=1)
    load_scale: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = Field(
        1.0,
        description="Factor on every app's arrival rate (periodic: period / factor; Poisson and bursty: "
        "rate_hz x factor; trace: times / factor; closed loop: think time / factor), so load is one sweep axis.",
    )

    @model_validator(mode="after")
    def _scale_apps(self) -> WorkloadSpec:
        # The engine builds apps from their AppSpec alone: hand each the factor.
        for app in self.apps.values():
            app._load_scale = self.load_scale
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # The default is left out of the resolved config, so configs that do not use
        # the factor keep their manifest and config hash.
        data = handler(self)
        if isinstance(data, dict) and data.get("load_scale") == 1.0:
            del data["load_scale"]
        return data


# --------------------------------------------------------------------------- experiment


class PolicySpec(Strict):
    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The policy's parameters, validated against its parameter model (the top-level `policies` "
        "key of `simsched schema`; `simsched list policies --verbose`).",
    )
    governor: str | None = Field(None, description="DVFS governor for policies that do not set frequencies.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        return data


class LimitsSpec(Strict):
    """Guards that stop a run before it exhausts the machine."""

    max_events: int = Field(50_000_000, ge=1, description="SimPy events after which the run stops with an error.")
    max_jobs: int = Field(5_000_000, ge=1, description="Job arrivals after which the run stops with an error.")


class ExperimentSpec(Strict):
    """One simulation: platform, power mode, workload, policy, duration and seed."""

    name: str | None = None
    description: str = ""
    seed: int = Field(1, ge=0, le=2**63 - 1)
    duration_ms: PosMs
    warmup_ms: NonNegMs = Field(0.0, description="Jobs arriving earlier are excluded from the metrics.")
    policy: PolicySpec = Field(default_factory=lambda: PolicySpec(name="fifo"))
    power_mode: str | None = Field(None, description="A key of platform.power_modes.")
    budget_w: PosW | None = Field(None, description="Power budget (W); overrides the power mode's.")
    platform: PlatformSpec = Field(
        description="A shipped platform name, a path to a YAML file, or an inline mapping."
    )
    workload: WorkloadSpec = Field(
        description="A shipped workload name, a path to a YAML file, or an inline mapping."
    )
    limits: LimitsSpec = Field(default_factory=LimitsSpec)

    @model_validator(mode="after")
    def _cross(self) -> ExperimentSpec:
        plat = self.platform
        if self.power_mode is not None and self.power_mode not in plat.power_modes:
            raise _FieldError(
                "power_mode",
                f"unknown power mode '{self.power_mode}'; known: {', '.join(plat.power_modes) or 'none'}",
            )
        if self.warmup_ms >= self.duration_ms:
            raise _FieldError("warmup_ms", "must be shorter than duration_ms")
        for aname, app in self.workload.apps.items():
            tasks = app.graph or {}
            for tname, t in tasks.items():
                if t.model not in plat.models:
                    raise _FieldError(
                        f"workload.apps.{aname}.graph.{tname}.model",
                        f"unknown model '{t.model}' on platform '{plat.name}'",
                    )
            if app.generator is not None:
                for m in app.generator.models:
                    if m not in plat.models:
                        raise _FieldError(
                            f"workload.apps.{aname}.generator.models.{m}",
                            f"unknown model on platform '{plat.name}'",
                        )
        return self


def json_schema(params: Mapping[str, Mapping[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """JSON Schema of an experiment file, where platform and workload may also be names.

    Parameters
    ----------
    params : mapping, optional
        ``{"policies": {name: schema}, "governors": {name: schema}}``: the schemas of
        the policies' and governors' parameters (``policy.params``). The output holds
        them under the top-level keys ``policies`` and ``governors``; ``policy.params``
        must match the one of the policy named by ``policy.name``. Default: none
        (the config layer knows no policies; :func:`simsched.build.experiment_schema`
        passes every registered one).
    """
    schema = ExperimentSpec.model_json_schema()
    for key, ref in (("platform", "PlatformSpec"), ("workload", "WorkloadSpec")):
        prop = schema["properties"][key]
        desc = prop.pop("description", "")
        schema["properties"][key] = {
            "anyOf": [{"type": "string"}, {"$ref": f"#/$defs/{ref}"}],
            "description": desc,
        }
    if params is None:
        params = {}
    schema["policies"] = {name: dict(s) for name, s in sorted(params.get("policies", {}).items())}
    schema["governors"] = {name: dict(s) for name, s in sorted(params.get("governors", {}).items())}
    return schema
