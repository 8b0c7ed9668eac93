"""Small config builders shared by the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "experiments" / "minimal.yaml"


def minimal() -> dict[str, Any]:
    """The documented minimal experiment as a mutable dict."""
    return yaml.safe_load(MINIMAL.read_text())


def one_processor(
    latency_ms: float = 8.0,
    *,
    variability: str = "constant",
    compute_fraction: float = 1.0,
    arrival: dict | None = None,
    duration_ms: float = 20_000.0,
    seed: int = 1,
    capacity: int = 1,
    policy: str | dict = "fifo",
    deadline_ms: float | None = None,
    late: str = "run",
) -> dict[str, Any]:
    """One processor with one model and one single-task app."""
    cfg = minimal()
    cfg["seed"] = seed
    cfg["duration_ms"] = duration_ms
    cfg["policy"] = policy
    cfg["platform"]["processors"]["cpu0"]["capacity"] = capacity
    model = cfg["platform"]["models"]["detector"]
    model["latency_ms"] = {"cpu0": latency_ms}
    model["compute_fraction"] = compute_fraction
    model["variability"] = {"type": variability}
    app = cfg["workload"]["apps"]["camera"]
    if arrival is not None:
        app["arrival"] = arrival
    if deadline_ms is None:
        app.pop("deadline_ms", None)
    else:
        app["deadline_ms"] = deadline_ms
    app["late"] = late
    return cfg


def with_models(cfg: dict[str, Any], models: dict[str, dict]) -> dict[str, Any]:
    """Replace the platform's models."""
    cfg = copy.deepcopy(cfg)
    cfg["platform"]["models"] = models
    return cfg
