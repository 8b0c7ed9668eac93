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


DAG_SHAPES = ("fork-join", "diamond", "random-dag")


def dag_apps(rng: Any, models: list[str], shape: str, n_apps: int = 2) -> dict[str, Any]:
    """Apps whose jobs are DAGs of ``shape``, for decision-identity tests of cached policies.

    ``fork-join``: a source, 2 to 4 parallel branches (some two tasks deep), a sink;
    ``diamond``: a -> (b, c) -> d with transfer costs; ``random-dag``: the random DAG
    generator (3 to 7 tasks, edges with probability 0.5). ``rng`` is a
    :class:`random.Random`; priorities, rates and deadlines are drawn from it.
    """
    apps: dict[str, Any] = {}
    for a in range(n_apps):
        pick = lambda: rng.choice(models)  # noqa: E731
        tr = lambda: {"transfer_ms": rng.choice([0.0, 0.2, 1.5])}  # noqa: E731
        app: dict[str, Any] = {"arrival": {"type": "poisson", "rate_hz": rng.uniform(40, 200)}, "priority": rng.randint(0, 2)}
        if shape == "fork-join":
            k = rng.randint(2, 4)
            graph: dict[str, Any] = {"src": {"model": pick()}}
            ends = []
            for b in range(k):
                graph[f"b{b}"] = {"model": pick(), "after": {"src": tr()}}
                end = f"b{b}"
                if rng.random() < 0.5:
                    graph[f"b{b}x"] = {"model": pick(), "after": {f"b{b}": tr()}}
                    end = f"b{b}x"
                ends.append(end)
            graph["sink"] = {"model": pick(), "after": {e: tr() for e in ends}}
            app["graph"] = graph
        elif shape == "diamond":
            app["graph"] = {
                "a": {"model": pick()},
                "b": {"model": pick(), "after": {"a": tr()}},
                "c": {"model": pick(), "after": {"a": tr()}},
                "d": {"model": pick(), "after": {"b": tr(), "c": tr()}},
            }
        elif shape == "random-dag":
            app["generator"] = {
                "models": {m: rng.choice([1, 2]) for m in models},
                "tasks": [3, 7],
                "edge_prob": 0.5,
                "transfer_ms": rng.choice([0.0, 0.3]),
            }
        else:
            raise ValueError(f"unknown DAG shape {shape!r}")
        if rng.random() < 0.5:
            app.update(deadline_ms=rng.uniform(20, 80), late="drop")
        apps[f"{shape}{a}"] = app
    return apps
