"""The tutorial notebooks are stored clean, check what they claim, and end with exercises.

That they run top to bottom is checked by nbmake (``docs/tutorials`` is a test path).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import ROOT

TUTORIALS = ROOT / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def test_the_five_tutorials_are_there_and_linked_from_the_readme_and_the_index() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["01-", "02-", "03-", "04-", "05-"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert f"({nb.name})" in index, nb.name
        assert f"docs/tutorials/{nb.name}" in readme, nb.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs_asserts_and_ends_with_exercises(path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") == [] and c.get("execution_count") is None for c in code), "strip the outputs"
    asserts = sum("".join(c["source"]).count("assert ") for c in code)
    assert asserts >= 3, "key outputs are asserted"
    last = nb["cells"][-1]
    assert last["cell_type"] == "markdown" and "## Exercises" in "".join(last["source"])
