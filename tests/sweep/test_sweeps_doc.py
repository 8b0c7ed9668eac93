"""docs/sweeps.md: its worked example is the shipped sweep file, and running it prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from simsched.cli import main
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "sweeps.md").read_text()


def block(marker: str) -> str:
    m = re.search(rf"<!-- {marker} -->\n```\w+\n(.*?)```", DOC, re.S)
    assert m, marker
    return m.group(1)


def test_the_doc_shows_the_shipped_sweep_file() -> None:
    assert block("sweep-file") == (ROOT / "experiments" / "load-sweep.yaml").read_text()


def test_the_worked_example_runs_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "experiments").mkdir()
    for name in ("load-sweep.yaml", "minimal.yaml"):
        (tmp_path / "experiments" / name).write_text((ROOT / "experiments" / name).read_text())
    monkeypatch.chdir(tmp_path)
    command, expected = block("sweep-command").splitlines()
    argv = command.removeprefix("$ simsched ").split()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "--jobs", str(min(2, os.cpu_count() or 1))])
    assert code == 0, err.getvalue()
    assert out.getvalue().strip() == expected
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block("sweep-python"), "docs/sweeps.md", "exec"), {})
    got = [ln.rstrip() for ln in printed.getvalue().splitlines()]
    assert got == block("sweep-output").splitlines()
