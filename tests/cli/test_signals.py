"""SIGTERM and SIGHUP clean up like SIGINT: no temporary run folder is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "experiments" / "minimal.yaml"
# Long enough that the signal arrives mid-run (a few hundred thousand jobs).
LONG = ["--set", "duration_ms=100000000", "--set", "workload.apps.camera.arrival.rate_hz=200"]


def _start(tmp_path: Path, stream: bool) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "simsched.cli", "run", str(MINIMAL), *LONG, "--out", str(out)]
    if stream:
        cmd += ["--stream"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    return proc, out


def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_temp(tmp_path: Path, proc: subprocess.Popen[str], stream: bool) -> None:
    """Wait until the run is under way (a streaming run: its temporary folder holds a CSV)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]
        if not stream and _cpu_s(proc.pid) >= 3.0:
            # An in-memory run has no folder until the end: signal it while simulating.
            # CPU time, not wall time, tells that the imports are over on a loaded machine.
            return
        if temps and any(temps[0].glob("*.csv")):
            return
        time.sleep(0.1)
    pytest.fail("the run did not start writing")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "memory"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_signal_removes_the_temporary_folder(signum: int, stream: bool, tmp_path: Path) -> None:
    proc, out = _start(tmp_path, stream)
    try:
        _wait_for_temp(tmp_path, proc, stream)
        proc.send_signal(signum)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert "Traceback" not in err
    assert code == (130 if signum == signal.SIGINT else 128 + signum), err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [], "a temporary folder was left behind"


def test_existing_directory_survives_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("old", encoding="utf-8")
    cmd = [sys.executable, "-m", "simsched.cli", "run", str(MINIMAL), *LONG, "--out", str(out), "--force", "--stream"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_temp(tmp_path, proc, True)
        proc.terminate()
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (out / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_forked_children_get_the_default_handlers() -> None:
    """Pool workers forked while the command line runs die on SIGTERM at once, as before."""
    import os

    from simsched.signals import _raise, handling_signals

    with handling_signals():
        assert signal.getsignal(signal.SIGTERM) is _raise
        pid = os.fork()
        if pid == 0:  # the child reports through its exit status
            os._exit(0 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 3)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert signal.getsignal(signal.SIGTERM) is not _raise
