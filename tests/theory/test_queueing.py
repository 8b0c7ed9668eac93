"""Closed-form checks against queueing theory on a one-processor platform.

With Poisson arrivals at rate lambda and service time S (mean 1/mu) on one
processor served FIFO, the mean time in system is

* M/D/1 (constant S):    W = 1/mu + rho / (2 mu (1 - rho))
* M/M/1 (exponential S): W = 1 / (mu - lambda)

We run several seeds with a warm-up and require the simulated mean to be within
a tolerance chosen from the estimator's spread (about 3 standard errors across
the seeds), so a wrong engine fails while an honest one passes reliably.
"""

from __future__ import annotations

import numpy as np
import pytest

from simsched import simulate
from tests.helpers import one_processor

SERVICE_MS = 10.0
RATE_HZ = 50.0  # lambda = 0.05 / ms, rho = 0.5
SEEDS = range(1, 7)


def _mean_latency(variability: str, seed: int) -> float:
    cfg = one_processor(
        SERVICE_MS,
        variability=variability,
        arrival={"type": "poisson", "rate_hz": RATE_HZ},
        duration_ms=200_000,
        seed=seed,
    )
    cfg["warmup_ms"] = 5_000
    return simulate(cfg).summary["overall"]["latency_mean_ms"]


@pytest.mark.parametrize(
    ("variability", "expected_ms"),
    [
        ("constant", SERVICE_MS + 0.5 / (2 * 0.1 * 0.5)),  # M/D/1: 10 + 5 = 15 ms
        ("exponential", 1 / (0.1 - 0.05)),  # M/M/1: 20 ms
    ],
)
def test_mean_latency_matches_theory(variability: str, expected_ms: float) -> None:
    means = np.array([_mean_latency(variability, s) for s in SEEDS])
    sem = means.std(ddof=1) / np.sqrt(len(means))
    # 3 standard errors, but never tighter than 1% (numerical noise floor).
    tol = max(3 * sem, 0.01 * expected_ms)
    assert abs(means.mean() - expected_ms) < tol, (means.mean(), expected_ms, tol)
    # The tolerance itself must be meaningful: under 6% of the expected value.
    assert tol < 0.06 * expected_ms


def test_utilisation_equals_offered_load() -> None:
    cfg = one_processor(SERVICE_MS, arrival={"type": "poisson", "rate_hz": RATE_HZ}, duration_ms=200_000, seed=3)
    s = simulate(cfg).summary
    assert s["utilization"]["cpu0"] == pytest.approx(0.5, abs=0.02)


def test_closed_loop_throughput() -> None:
    """One user, constant think time Z and service S: one job every S + Z exactly."""
    cfg = one_processor(
        SERVICE_MS,
        arrival={"type": "closed", "think_ms": 15.0, "think": "constant", "population": 1},
        duration_ms=10_000,
    )
    r = simulate(cfg)
    assert len(r.jobs) == 400  # arrivals at 0, 25, ..., 9975 ms
    assert np.allclose(np.diff(r.jobs["arrival_ms"]), 25.0)
