"""Arrival processes: when an app's jobs arrive.

Open processes (periodic, Poisson, bursty, trace) are iterators of absolute arrival
times; the closed-loop process is driven by the engine, which asks for a think time
whenever a user's job ends.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simsched.config.schema import (
    BurstyArrival,
    ClosedArrival,
    PeriodicArrival,
    PoissonArrival,
    TraceArrival,
)
from simsched.config.trace import read_trace
from simsched.rng import Batched

INF = math.inf


class OpenArrivals:
    """Base of open arrival processes: ``next_ms()`` gives the next absolute arrival time."""

    def next_ms(self) -> float:
        """The next arrival time (ms), or ``inf`` when the process has ended."""
        raise NotImplementedError


class Periodic(OpenArrivals):
    """Release k at offset + k * period, plus a uniform jitter in [0, jitter)."""

    def __init__(self, spec: PeriodicArrival, rng: np.random.Generator) -> None:
        self.period = spec.period_ms
        self.offset = spec.offset_ms
        self.k = 0
        self.jitter = spec.jitter_ms
        self._u = Batched(rng, lambda r, n: r.random(n)) if spec.jitter_ms > 0 else None

    def next_ms(self) -> float:
        # Multiply rather than accumulate: summing periods drifts in floating point.
        t = self.offset + self.k * self.period
        self.k += 1
        if self._u is not None:
            t += self.jitter * self._u()
        return t


class Poisson(OpenArrivals):
    """Exponential inter-arrival times with mean 1000 / rate_hz ms."""

    def __init__(self, spec: PoissonArrival, rng: np.random.Generator) -> None:
        mean = 1000.0 / spec.rate_hz
        self._gap = Batched(rng, lambda r, n: r.exponential(mean, n))
        self.t = spec.offset_ms

    def next_ms(self) -> float:
        self.t += self._gap()
        return self.t


class Bursty(OpenArrivals):
    """On/off source: exponential on and off periods, Poisson arrivals while on.

    The process starts at the beginning of an on period. Arrivals that would fall
    in an off period are moved past it, which is exact for a Poisson process
    (memorylessness).
    """

    def __init__(self, spec: BurstyArrival, rng: np.random.Generator) -> None:
        mean_gap = 1000.0 / spec.rate_hz
        self._gap = Batched(rng, lambda r, n: r.exponential(mean_gap, n))
        self._on = Batched(rng, lambda r, n: r.exponential(spec.on_ms, n))
        self._off = Batched(rng, lambda r, n: r.exponential(spec.off_ms, n))
        self.t = spec.offset_ms
        self.on_end = self.t + self._on()

    def next_ms(self) -> float:
        gap = self._gap()
        while self.t + gap > self.on_end:
            gap -= self.on_end - self.t
            self.t = self.on_end + self._off()
            self.on_end = self.t + self._on()
        self.t += gap
        return self.t


class Trace(OpenArrivals):
    """Replay of recorded arrival times (ms)."""

    def __init__(self, times_ms: list[float]) -> None:
        self.times = times_ms
        self.i = 0

    def next_ms(self) -> float:
        if self.i >= len(self.times):
            return INF
        t = self.times[self.i]
        self.i += 1
        return t


def scaled_arrival(spec: Any, factor: float) -> Any:
    """The arrival spec with its rate multiplied by ``factor`` (``workload.load_scale``).

    Periodic: period and jitter divided by ``factor``; Poisson and bursty: ``rate_hz``
    times ``factor`` (on and off periods unchanged); trace: every time divided by
    ``factor``; closed loop: think time divided by ``factor``. Offsets stay. A factor
    of 1 returns ``spec`` itself, so the default draws exactly what it always did.
    """
    if factor == 1.0:
        return spec
    if isinstance(spec, PeriodicArrival):
        return spec.model_copy(update={"period_ms": spec.period_ms / factor, "jitter_ms": spec.jitter_ms / factor})
    if isinstance(spec, (PoissonArrival, BurstyArrival)):
        return spec.model_copy(update={"rate_hz": spec.rate_hz * factor})
    if isinstance(spec, TraceArrival) and spec.times_ms is not None:
        return spec.model_copy(update={"times_ms": [t / factor for t in spec.times_ms]})
    if isinstance(spec, ClosedArrival):
        return spec.model_copy(update={"think_ms": spec.think_ms / factor})
    return spec


def open_arrivals(spec: object, rng: np.random.Generator) -> OpenArrivals | None:
    """The arrival iterator of an open process; None for a closed loop."""
    if isinstance(spec, PeriodicArrival):
        return Periodic(spec, rng)
    if isinstance(spec, PoissonArrival):
        return Poisson(spec, rng)
    if isinstance(spec, BurstyArrival):
        return Bursty(spec, rng)
    if isinstance(spec, TraceArrival):
        return Trace(spec.times_ms if spec.times_ms is not None else read_trace(spec.file))  # type: ignore[arg-type]
    if isinstance(spec, ClosedArrival):
        return None
    raise TypeError(f"unknown arrival spec {spec!r}")
