"""The worked example of docs/policies/custom.md runs and behaves as described."""

from __future__ import annotations

import re

from simsched import check_invariants, simulate
from tests.helpers import ROOT


def test_custom_policy_example_runs(capsys) -> None:
    text = (ROOT / "docs" / "policies" / "custom.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "custom.md", "exec"), namespace)
    printed = float(capsys.readouterr().out.strip())
    assert printed > 0
    cfg = {"duration_ms": 5000, "platform": "jetson-orin-nx", "workload": "twill-cai"}
    sjf = simulate({**cfg, "policy": "sjf"})
    assert check_invariants(sjf) == []
    # It uses more than one kind of processor, unlike fifo on this platform.
    assert sjf.tasks["processor"].nunique() > simulate({**cfg, "policy": "fifo"}).tasks["processor"].nunique()
