"""Policies are found by name: built in, registered at run time, or installed as entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from simsched import ConfigError, simulate
from simsched.policies.base import available_policies, policy_class
from tests.helpers import one_processor

PLUGIN = textwrap.dedent(
    '''
    from collections import deque
    from simsched import Policy

    class Lifo(Policy):
        """Last in, first out (a policy shipped by another package)."""

        def __init__(self):
            self.stack = []

        def on_ready(self, task, sim):
            self.stack.append(task)
            self.dispatch(sim)

        def on_finish(self, task, sim):
            self.dispatch(sim)

        def dispatch(self, sim):
            while self.stack and sim.has_room(p := sim.default_processor(self.stack[-1])):
                sim.start(self.stack.pop(), p)
    '''
)


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A fake installed distribution that declares a `simsched.policies` entry point."""
    (tmp_path / "lifo_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "lifo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lifo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[simsched.policies]\nlifo = lifo_plugin:Lifo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_builtin_policies_are_registered() -> None:
    assert {"fifo", "affinity"} <= set(available_policies())


def test_entry_point_policy_is_found_and_runs(plugin_dir) -> None:
    assert "lifo" in available_policies()
    assert policy_class("lifo").__name__ == "Lifo"
    cfg = one_processor(8.0, arrival={"type": "periodic", "period_ms": 5}, duration_ms=200, policy="lifo")
    r = simulate(cfg)
    assert r.summary["policy"] == "lifo"
    # LIFO serves the newest job first, so older jobs wait behind newer ones: the
    # completed jobs are not the oldest ones (FIFO would complete 0, 1, 2, ...).
    done = r.tasks[r.tasks["state"] == "done"]
    assert list(done["job_id"]) != list(range(len(done)))


def test_entry_point_policy_from_the_command_line(plugin_dir) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_dir), *sys.path]))
    out = subprocess.run(
        [sys.executable, "-m", "simsched.cli", "list", "policies"], capture_output=True, text=True, env=env, check=True
    )
    assert "lifo" in out.stdout
    assert "Last in, first out" in out.stdout


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown policy 'nope'; known: .*affinity.*fifo"):
        simulate(one_processor(policy="nope", duration_ms=10))
