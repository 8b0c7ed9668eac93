"""Streaming runs write the same bytes as in-memory runs, hold few records, and write atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

import simsched.streaming as streaming
from simsched.api import simulate, simulate_streaming
from simsched.errors import LimitError
from simsched.result import TABLES

FILES = [f"{n}.csv" for n in TABLES] + ["summary.json"]

CONFIGS = {
    # DAG with transfers, late: drop, several processors, default governor
    "xr-dream": {"platform": "xr-dual-4k", "workload": "xrbench-ar-assistant", "duration_ms": 2000, "policy": {"name": "dream"}},
    # freezes, migrations and DVFS under a budget
    "cai-twill": {
        "platform": "jetson-orin-nx", "workload": "twill-cai", "duration_ms": 4000, "power_mode": "15W",
        "policy": {"name": "twill"},
    },
    # utilisation-driven frequency changes; warm-up window
    "cai-ondemand": {
        "platform": "jetson-orin-nx", "workload": "twill-cai", "duration_ms": 4000, "power_mode": "15W",
        "warmup_ms": 500, "policy": {"name": "fifo", "governor": "ondemand"},
    },
    # LLM prefill and decode phases, closed-loop users
    "phone-edf": {"platform": "tensor-g1", "workload": "phone-assistant", "duration_ms": 4000, "policy": {"name": "edf"}},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("chunk_rows", [1, 13, 100_000])
def test_streamed_run_directory_is_byte_identical(tmp_path: Path, name: str, chunk_rows: int):
    config = CONFIGS[name]
    simulate(config).write(tmp_path / "memory")
    summary = simulate_streaming(config, tmp_path / "stream", chunk_rows=chunk_rows)
    for f in FILES:
        assert (tmp_path / "stream" / f).read_bytes() == (tmp_path / "memory" / f).read_bytes(), f
    assert summary["overall"]["jobs_arrived"] > 0


def test_streaming_keeps_few_records_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pending: list[int] = []
    real = streaming.StreamWriter.flush

    def spy(self, sim, final=False):
        real(self, sim, final)
        pending.append(self.pending)

    monkeypatch.setattr(streaming.StreamWriter, "flush", spy)
    config = {**CONFIGS["cai-ondemand"], "duration_ms": 20000}
    simulate_streaming(config, tmp_path / "run", chunk_rows=50)
    rows = 0
    for name in ("tasks", "segments", "power"):
        with open(tmp_path / "run" / f"{name}.csv") as f:
            rows += sum(1 for _ in f) - 1
    assert len(pending) > 20
    # After each flush only the rows whose place is not yet certain stay (those of
    # jobs and segments still in flight): bounded by the load, not the run length.
    assert max(pending[:-1]) < rows / 20


def test_existing_directory_needs_force_and_a_failed_run_leaves_it(tmp_path: Path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError):
        simulate_streaming(CONFIGS["phone-edf"], out)
    bad = {**CONFIGS["phone-edf"], "limits": {"max_events": 50}}
    with pytest.raises(LimitError):
        simulate_streaming(bad, out, force=True, chunk_rows=5)
    assert (out / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left
    simulate_streaming(CONFIGS["phone-edf"], out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_cli_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from simsched.cli import main

    cfg = tmp_path / "exp.yaml"
    cfg.write_text("platform: tensor-g1\nworkload: phone-assistant\nduration_ms: 2000\npolicy: {name: fifo}\n")
    assert main(["run", str(cfg), "--stream"]) == 2
    err = capsys.readouterr().err
    assert "--stream" in err and "--out" in err and len(err.strip().splitlines()) == 1
    assert main(["run", str(cfg), "--stream", "--out", str(tmp_path / "s"), "--check"]) == 0
    assert "invariants: ok" in capsys.readouterr().err
    assert main(["run", str(cfg), "--out", str(tmp_path / "m")]) == 0
    for f in FILES:
        assert (tmp_path / "s" / f).read_bytes() == (tmp_path / "m" / f).read_bytes(), f
