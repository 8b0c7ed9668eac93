"""The README's examples run, and its printed output is what the command prints."""

from __future__ import annotations

import contextlib
import io
import re

from simsched import simulate
from simsched.cli import format_summary, main
from tests.helpers import ROOT, minimal

README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_quickstart_output_matches_the_readme(monkeypatch) -> None:
    marker = README.index("quickstart-output")
    block = re.search(r"```\n(.*?)```", README[marker:], flags=re.S).group(1)
    # The command itself, as the README shows it (stdout only: the wall time goes to stderr).
    monkeypatch.chdir(ROOT)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "experiments/quickstart.yaml"])
    assert code == 0, err.getvalue()
    assert block == out.getvalue(), (
        "README quickstart output is stale: paste the output of `simsched run experiments/quickstart.yaml`"
    )
    assert out.getvalue() == format_summary(simulate(ROOT / "experiments" / "quickstart.yaml").summary) + "\n"


def test_custom_policy_example_runs_and_matches_fifo() -> None:
    code = next(b for b in _blocks("python") if "register_policy" in b)
    assert len(code.strip().splitlines()) <= 25
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    cfg = minimal()
    cfg["duration_ms"] = 2000
    ours = simulate({**cfg, "policy": "my-fifo"})
    builtin = simulate({**cfg, "policy": "fifo"})
    assert ours.jobs.equals(builtin.jobs)


def test_python_usage_example_runs() -> None:
    code = next(b for b in _blocks("python") if "simsched.simulate(" in b)
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
