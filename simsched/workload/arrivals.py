"""Arrival processes: when an app's jobs arrive.

Open processes (periodic, Poisson, bursty, trace) are iterators of absolute arrival
times; the closed-loop process is driven by the engine, which asks for a think time
whenever a user's job ends.
"""

from __future__ import annotations

import csv
import math

import numpy as np

from simsched.config.schema import (
    BurstyArrival,
    ClosedArrival,
    PeriodicArrival,
    PoissonArrival,
    TraceArrival,
)
from simsched.engine.rng import Batched
from simsched.errors import ConfigError

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


MAX_TRACE_BYTES = 64 * 1024 * 1024
"""Largest trace CSV read (bytes): about 4 million arrival times."""


def read_trace(path: str) -> list[float]:
    """Arrival times from a CSV file: one number per line, or a column named ``time_ms``.

    Raises
    ------
    ConfigError
        When the file is unreadable, a value is not a number, negative, or out of order.
    """
    from simsched.config.files import read_regular

    data = read_regular(path, MAX_TRACE_BYTES, what="trace file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "", "cannot read trace file (not UTF-8 text)") from None
    rows = list(csv.reader(text.splitlines()))
    col = 0
    if rows and rows[0] and not _is_number(rows[0][0].strip()):
        header = [h.strip() for h in rows[0]]
        if "time_ms" not in header:
            raise ConfigError(path, "time_ms", "no time_ms column and the first row is not a number")
        col = header.index("time_ms")
        rows = rows[1:]
    times: list[float] = []
    for line, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        try:
            t = float(row[col])
        except (ValueError, IndexError):
            raise ConfigError(path, f"line {line}", f"not a number: {row!r}") from None
        if not math.isfinite(t) or t < 0:
            raise ConfigError(path, f"line {line}", f"arrival times must be finite and >= 0, got {t:g}")
        if times and t < times[-1]:
            raise ConfigError(path, f"line {line}", f"arrival times must be ascending; {t:g} follows {times[-1]:g}")
        times.append(t)
    return times


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


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
