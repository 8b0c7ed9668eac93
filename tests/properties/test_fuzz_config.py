"""Fuzzing the loader: almost-valid configs are either accepted (and the run keeps its
invariants) or rejected with a ConfigError; nothing else escapes."""

from __future__ import annotations

import copy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsched import ConfigError, check_invariants, load_config, simulate
from simsched.errors import LimitError
from tests.properties.strategies import experiments

EXAMPLES = int(os.environ.get("SIMSCHED_FUZZ_EXAMPLES", "150"))

NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every (path) to a value inside nested dicts and lists."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@st.composite
def almost_valid(draw):
    cfg = draw(experiments())
    cfg["duration_ms"] = min(cfg["duration_ms"], 150.0)
    mutated = copy.deepcopy(cfg)
    paths = list(_paths(mutated))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = mutated
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(NASTY)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    if isinstance(mutated, dict):
        # A mutation may make the run long (duration_ms up to 1e9): the event limit stops it.
        mutated["limits"] = {"max_events": 100_000}
    return mutated


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(almost_valid())
def test_almost_valid_configs_are_accepted_soundly_or_rejected_clearly(cfg) -> None:
    try:
        loaded = load_config(cfg)
        r = simulate(loaded)
    except (ConfigError, LimitError) as exc:
        assert str(exc).count("\n") == 0  # one line  # noqa: PT017
        return
    assert check_invariants(r) == []
