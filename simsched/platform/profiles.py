"""Model profiles: how much work a model invocation is on each processor.

A task's work is split into *phases* (one for a DNN; prefill then decode for an
LLM). Each phase has, per processor, its duration at the domain's highest OPP, a
compute-bound fraction beta, a power activity factor and a number of segments
(preemption points). At frequency f a phase of reference duration W takes

    W * (beta * f_max / f + 1 - beta)

because only the compute-bound share speeds up with the core clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simsched.config.schema import IntDist, ModelSpec

if TYPE_CHECKING:
    from simsched.platform.soc import Processor


def _per_processor(mapping: dict[str, float], procs: list[Processor], default: float | None) -> list[float | None]:
    """Expand a {processor name or kind: value} mapping into a list indexed by processor.

    A processor name wins over its kind, so a platform can give a kind-wide value and
    override one processor.
    """
    out: list[float | None] = []
    for p in procs:
        if p.name in mapping:
            out.append(float(mapping[p.name]))
        elif p.kind in mapping:
            out.append(float(mapping[p.kind]))
        else:
            out.append(default)
    return out


@dataclass(eq=False)
class LLMProfile:
    """Per-processor prefill and decode costs of an LLM (ms at the highest OPP)."""

    prefill_ms_per_token: list[float | None]
    prefill_fixed_ms: list[float]
    decode_ms_per_token: list[float | None]
    prompt_tokens: IntDist
    output_tokens: IntDist
    prefill_beta: float
    decode_beta: float
    chunk_tokens: int
    decode_activity: float


@dataclass(eq=False)
class ModelProfile:
    """The profile of one model on one platform.

    Attributes
    ----------
    base_ms : list of float or None
        Latency at the highest OPP per processor index (ms); None where the model cannot run.
    beta : float
        Compute-bound fraction of a non-LLM model's latency.
    """

    name: str
    kind: str
    base_ms: list[float | None]
    beta: float
    activity: float
    segments: int
    variability_type: str
    variability_cv: float
    default_processor: Processor
    state_kb: float
    migrate_ms: float | None
    llm: LLMProfile | None

    @classmethod
    def build(cls, name: str, spec: ModelSpec, procs: list[Processor]) -> ModelProfile:
        """Build from a validated spec against the platform's processors."""
        llm = None
        if spec.llm is not None:
            s = spec.llm
            llm = LLMProfile(
                prefill_ms_per_token=_per_processor(s.prefill_ms_per_token, procs, None),
                prefill_fixed_ms=[v or 0.0 for v in _per_processor(s.prefill_fixed_ms, procs, 0.0)],
                decode_ms_per_token=_per_processor(s.decode_ms_per_token, procs, None),
                prompt_tokens=s.prompt_tokens,
                output_tokens=s.output_tokens,
                prefill_beta=s.prefill_compute_fraction,
                decode_beta=s.decode_compute_fraction,
                chunk_tokens=s.prefill_chunk_tokens,
                decode_activity=s.decode_activity if s.decode_activity is not None else spec.activity,
            )
            # A processor runs the LLM if it has a prefill cost (validation keeps the two maps equal).
            base = [None if v is None else 0.0 for v in llm.prefill_ms_per_token]
        else:
            base = _per_processor(spec.latency_ms, procs, None)
        default_key = spec.default_processor or spec.cost_keys[0]
        # Validation guarantees a processor of that name, or of that kind, with a cost.
        default = next(
            p for p in procs if (p.name == default_key or p.kind == default_key) and base[p.index] is not None
        )
        return cls(
            name=name,
            kind=spec.kind,
            base_ms=base,
            beta=spec.compute_fraction,
            activity=spec.activity,
            segments=spec.segments,
            variability_type=spec.variability.type,
            variability_cv=spec.variability.cv,
            default_processor=default,
            state_kb=spec.state_kb,
            migrate_ms=spec.migrate_ms,
            llm=llm,
        )

    @property
    def peak_activity(self) -> float:
        """Highest power activity factor over the model's phases (for worst-case power predictions)."""
        return self.activity if self.llm is None else max(self.activity, self.llm.decode_activity)

    def can_run(self, proc: Processor) -> bool:
        """Whether ``proc`` has a profile for this model."""
        return self.base_ms[proc.index] is not None

    def phases(self, proc_index: int, factor: float, prompt: int, output: int) -> list[tuple[float, float, float, int]]:
        """Phases of one invocation on a processor.

        Returns
        -------
        list of (work_ms, beta, activity, segments)
            ``work_ms`` is the phase's duration at the highest OPP (ms), already
            multiplied by the invocation's variability ``factor``.
        """
        if self.llm is None:
            return [(self.base_ms[proc_index] * factor, self.beta, self.activity, self.segments)]  # type: ignore[operator]
        llm = self.llm
        pre = (llm.prefill_fixed_ms[proc_index] + prompt * llm.prefill_ms_per_token[proc_index]) * factor  # type: ignore[operator]
        out = [(pre, llm.prefill_beta, self.activity, max(1, math.ceil(prompt / llm.chunk_tokens)))]
        if output > 1:
            dec = (output - 1) * llm.decode_ms_per_token[proc_index] * factor  # type: ignore[operator]
            out.append((dec, llm.decode_beta, llm.decode_activity, output - 1))
        return out

    def n_phases(self, output: int) -> int:
        """Number of phases of an invocation producing ``output`` tokens (1 for non-LLMs)."""
        return 1 if self.llm is None or output <= 1 else 2
