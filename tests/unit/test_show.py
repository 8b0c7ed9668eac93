"""``simsched show``: platforms with OPP ranges, caps and profile confidence; workloads; policies."""

from __future__ import annotations

import json

import pytest
import yaml

from simsched.cli import main
from simsched.commands.show import load_part, platform_info
from simsched.config.loader import read_yaml
from simsched.config.paths import shipped, shipped_names


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_platform_json_lists_every_number_with_its_confidence(capsys) -> None:
    code, out, _ = _run(capsys, "show", "platform", "ryzen-ai", "--json")
    assert code == 0
    info = json.loads(out)
    raw = read_yaml(shipped("platforms", "ryzen-ai"))
    # Domains: OPP ranges straight from the file.
    for d in info["domains"]:
        opps = raw["domains"][d["name"]]["opps"]
        assert d["mhz"] == [opps[0][0], opps[-1][0]]
        assert d["opps"] == len(opps)
    # Power modes: every cap the file sets, the default marked.
    for m in info["power_modes"]:
        assert m["caps_mhz"] == raw["power_modes"][m["name"]].get("caps_mhz", {})
        assert m["default"] == (m["name"] == raw["default_power_mode"])
    models = {m["name"]: {e["key"]: e for e in m["entries"]} for m in info["models"]}
    assert models["yolov8n"]["npu"] == {"key": "npu", "value": 3.1, "unit": "ms", "confidence": "estimate",
                                        "range": [0.5, 2.0]}
    assert models["yolov8n"]["igpu"]["confidence"] == "measured"
    assert models["llama_3_2_1b"]["decode.cpu"]["unit"] == "ms/token"
    assert models["llama_3_2_1b"]["decode.cpu"]["value"] == raw["models"]["llama_3_2_1b"]["llm"]["decode_ms_per_token"]["cpu"]
    # Every latency of the file appears, none invented.
    for name, m in raw["models"].items():
        keys = set(m.get("latency_ms", {}))
        if "llm" in m:
            keys = {f"{ph}.{k}" for ph in ("prefill", "decode") for k in m["llm"][f"{ph}_ms_per_token"]}
        shown = {k for k, e in models[name].items() if e["unit"] != "fraction"}
        assert shown == keys


@pytest.mark.parametrize("name", shipped_names("platforms"))
def test_every_shipped_entry_shows_a_confidence(name: str) -> None:
    info = platform_info(load_part("platforms", name))  # type: ignore[arg-type]
    assert all(e["confidence"] for m in info["models"] for e in m["entries"])


def test_platform_text(capsys) -> None:
    code, out, _ = _run(capsys, "show", "platform", "jetson-orin-nx")
    assert code == 0
    lines = out.splitlines()
    assert any(line.split()[:3] == ["15W", "(default)", "15"] and "cpu_a 1651.2" in line for line in lines)
    assert any(line.split()[:3] == ["cpu_a", "18", "729.6-1984"] for line in lines)
    assert any(line.split()[:4] == ["cpu", "520", "ms", "estimate"] and line.endswith("[0.7, 2.6]") for line in lines)
    assert any(line.split()[:4] == ["gpu", "9.915", "ms", "measured"] for line in lines)


def test_a_file_and_a_missing_confidence(tmp_path, capsys) -> None:
    plat = {
        "name": "tiny",
        "domains": {"d": {"opps": [[500, 700], [1000, 900]], "switch_ms": 0.2}},
        "processors": {"cpu": {"kind": "cpu", "domain": "d", "busy_w": 2.0}},
        "power_modes": {"low": {"budget_w": 3, "caps_mhz": {"d": 500}, "offline": []}},
        "models": {"m": {"latency_ms": {"cpu": 4.0}}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(plat))
    code, out, _ = _run(capsys, "show", "platform", str(path))
    assert code == 0
    assert "low         3         d 500       -" in out
    assert "4 ms  (no confidence)" in out
    assert "d       2     500-1000  700-900  0.2" in out


def test_unknown_name_is_a_usage_error(capsys) -> None:
    code, _, err = _run(capsys, "show", "workload", "no-such-workload")
    assert code == 2
    assert err.startswith("error: no-such-workload: no such file and no shipped workload")


def test_workload_arrivals_and_graph(tmp_path, capsys) -> None:
    wl = {
        "name": "w",
        "apps": {
            "cam": {"arrival": {"type": "periodic", "period_ms": 33.3, "jitter_ms": 1}, "deadline_ms": 33.3,
                    "priority": 2, "late": "drop",
                    "graph": {"a": {"model": "x"}, "b": {"model": "y", "after": {"a": {"transfer_kb": 4}}}}},
            "chat": {"arrival": {"type": "closed", "think_ms": 500, "population": 2},
                     "graph": {"c": {"model": "z", "prompt_tokens": 64}}},
            "burst": {"arrival": {"type": "bursty", "rate_hz": 10, "on_ms": 100, "off_ms": 400},
                      "generator": {"models": {"x": 1, "y": 3}, "tasks": [1, 3]}},
            "replay": {"arrival": {"type": "trace", "times_ms": [0, 5, 9]}, "graph": {"d": {"model": "x"}}},
        },
    }
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(wl, sort_keys=False))
    code, out, _ = _run(capsys, "show", "workload", str(path))
    assert code == 0
    assert "cam: periodic every 33.3 ms (jitter 1 ms); deadline 33.3 ms, priority 2, late jobs drop" in out
    assert "  b: y after a (transfer_kb 4)" in out
    assert "chat: closed loop: 2 user(s), exponential think time 500 ms; no deadline" in out
    assert "  c: z, mean 64 prompt tokens" in out
    assert "burst: bursty: Poisson 10 Hz in on periods of 100 ms, off 400 ms (means)" in out
    assert "random DAGs of 1-3 tasks" in out and "model mix: x 1, y 3" in out
    assert "replay: trace (3 arrivals)" in out
    code, out, _ = _run(capsys, "show", "workload", str(path), "--json")
    apps = {a["name"]: a for a in json.loads(out)["apps"]}
    assert apps["cam"]["graph"][1]["after"] == {"a": {"transfer_ms": 0.0, "transfer_kb": 4.0, "prob": 1.0}}
    assert apps["chat"]["arrival"]["type"] == "closed"


def test_shipped_workload_by_name(capsys) -> None:
    code, out, _ = _run(capsys, "show", "workload", "twill-cai", "--json")
    assert code == 0
    info = json.loads(out)
    raw = read_yaml(shipped("workloads", "twill-cai"))
    assert [a["name"] for a in info["apps"]] == list(raw["apps"])
    assert info["platform"] == "jetson-orin-nx"


def test_policy(capsys) -> None:
    code, out, _ = _run(capsys, "show", "policy", "twill", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["controls_frequency"] is True
    assert {p["name"]: p["default"] for p in info["params"]}["window"] == 32
    code, out, _ = _run(capsys, "show", "policy", "fifo")
    assert code == 0
    assert out.startswith("policy fifo (")
    assert "frequencies from the governor" in out
    code, _, err = _run(capsys, "show", "policy", "no-such-policy")
    assert code == 2 and "no-such-policy" in err
