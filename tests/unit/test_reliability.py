"""Round two of reliability: recursion-free DAG handling, merge keys, names, damaged run directories, full stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from simsched import simulate
from simsched.cli import main
from simsched.config.loader import load_config, parse_yaml
from simsched.config.schema import _find_cycle
from simsched.errors import ConfigError
from simsched.invariants import check_invariants, split_preds
from simsched.workload.apps import template_from_graph

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "experiments" / "minimal.yaml"


def minimal() -> dict[str, Any]:
    return yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))


def chain_sink_first(n: int) -> dict[str, Any]:
    """A chain t0 -> t1 -> ... listed from the sink back to the source (the worst order for recursion)."""
    return {f"t{i}": {"model": "detector", **({"after": [f"t{i - 1}"]} if i else {})} for i in range(n - 1, -1, -1)}


def test_long_chain_listed_sink_first_runs_and_keeps_invariants() -> None:
    cfg = minimal()
    cfg["duration_ms"] = 100
    cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "periodic", "period_ms": 1000}
    cfg["workload"]["apps"]["camera"]["graph"] = chain_sink_first(5000)
    result = simulate(cfg)
    assert check_invariants(result) == []
    first = result.tasks[result.tasks["job_id"] == 0].sort_values("start_ms")
    assert list(first["task"][:3]) == ["t0", "t1", "t2"]


def test_topological_order_is_the_first_ready_in_file_order() -> None:
    # The order a rescan from the top would give: each step the first ready task in file order.
    loaded = load_config(MINIMAL)
    graph_spec = loaded.spec.workload.apps["camera"].graph
    assert graph_spec is not None
    cfg = minimal()
    cfg["workload"]["apps"]["camera"]["graph"] = {
        "c": {"model": "detector", "after": ["a", "b"]},
        "b": {"model": "detector"},
        "d": {"model": "detector", "after": ["b"]},
        "a": {"model": "detector"},
    }
    graph = load_config(cfg).spec.workload.apps["camera"].graph
    assert [t.name for t in template_from_graph(graph)] == ["b", "d", "a", "c"]
    chain = load_config({**cfg, "workload": {"apps": {"camera": {**cfg["workload"]["apps"]["camera"], "graph": chain_sink_first(5000)}}}})
    names = [t.name for t in template_from_graph(chain.spec.workload.apps["camera"].graph)]
    assert names == [f"t{i}" for i in range(5000)]


def test_cycle_search_is_iterative_and_names_the_cycle() -> None:
    n = 20_000
    preds = {f"t{i}": [f"t{(i + 1) % n}"] for i in range(n)}
    cycle = _find_cycle(preds)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == n + 1
    assert _find_cycle({k: [] for k in preds}) is None
    assert _find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]


def test_merge_keys_are_accepted_and_overridable() -> None:
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nboth:\n  <<: [*b, {x: 9, z: 4}]\n"
    data = parse_yaml(text, "t.yaml")
    assert data["other"] == {"x": 1, "y": 3}
    assert data["both"] == {"x": 1, "y": 2, "z": 4}  # the first mapping of a merge list wins
    with pytest.raises(ConfigError, match="duplicate key 'y'"):
        parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 3\n  y: 4\n", "t.yaml")


def test_merge_keys_in_an_experiment() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "    full: {budget_w: 5.0}", "    full: &f {budget_w: 5.0}\n    other:\n      <<: *f\n      budget_w: 4.0"
    )
    cfg = parse_yaml(text, "e.yaml")
    assert load_config(cfg).spec.platform.power_modes["other"].budget_w == 4.0


def test_task_name_with_the_separator_is_not_a_false_violation() -> None:
    cfg = minimal()
    cfg["duration_ms"] = 2000
    cfg["workload"]["apps"]["camera"]["graph"] = {
        "a;b": {"model": "detector"},
        "a": {"model": "detector"},
        "c;": {"model": "detector", "after": ["a;b", "a"]},
    }
    result = simulate(cfg)
    assert check_invariants(result) == []
    assert split_preds("a;b;a", {"a;b", "a", "c;"}) == ["a;b", "a"]
    assert split_preds("x;y", {"z"}) == ["x", "y"]  # unknown names still fail the check


def test_precedence_check_still_catches_a_violation() -> None:
    cfg = minimal()
    cfg["duration_ms"] = 2000
    cfg["workload"]["apps"]["camera"]["graph"] = {"a;b": {"model": "detector"}, "c": {"model": "detector", "after": ["a;b"]}}
    result = simulate(cfg)
    t = result.tasks
    late = (t["task"] == "a;b") & (t["job_id"] == 0)
    t.loc[late, "finish_ms"] = t.loc[late, "finish_ms"] + 1e6
    assert any(line.startswith("precedence") for line in check_invariants(result))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "summary.json").write_text("[]"),
        lambda d: (d / "segments.csv").write_text("a,b\n1,2\n"),
        lambda d: (d / "power.csv").write_text("x\n"),
        lambda d: (d / "jobs.csv").write_text(""),
        lambda d: (d / "jobs.csv").write_text('"'),
        lambda d: (d / "tasks.csv").write_bytes(b"\xff\xfe"),
        lambda d: (d / "segments.csv").write_text("job_id,app,task,processor,start_ms,end_ms,freq_mhz\nx,a,t,p,1,2,3\n"),
        lambda d: (d / "frequency.csv").unlink(),
    ],
    ids=[
        "summary-list",
        "segments-columns",
        "power-columns",
        "jobs-empty",
        "jobs-quote",
        "tasks-binary",
        "segments-text-ids",
        "frequency-missing",
    ],
)
@pytest.mark.parametrize("command", ["plot", "trace"])
def test_damaged_run_directory_is_one_line(command: str, damage: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["run", str(MINIMAL), "--set", "duration_ms=1000", "--out", str(run)]) == 0
    capsys.readouterr()
    damage(run)
    code = main([command, str(run), "-o", str(tmp_path / "figs")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


def test_full_stdout_is_one_line_exit_2(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "simsched.cli", "run", str(MINIMAL), "--set", "duration_ms=500"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].startswith("error: standard output")
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
