"""Helpers shared by the studies' report.py scripts: Markdown tables and generated README blocks."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pandas as pd


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """Replace the body of each generated block; KeyError if a block's markers are missing."""
    for name, body in blocks.items():
        pat = re.compile(rf"(<!-- BEGIN {re.escape(name)}\b[^>]*-->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
        if not pat.search(text):
            raise KeyError(f"README has no generated block '{name}'")
        text = pat.sub(lambda m, b=body: m.group(1) + b.rstrip("\n") + "\n" + m.group(2), text, count=1)
    return text


def num(x: float | None, digits: int = 1, scale: float = 1.0) -> str:
    return "-" if x is None or not math.isfinite(float(x)) else f"{float(x) * scale:,.{digits}f}"


def stat(summary: pd.DataFrame, policy: str, metric: str, field: str = "mean") -> float:
    row = summary[(summary["policy"] == policy) & (summary["metric"] == metric)]
    return float(row[field].iloc[0]) if len(row) else math.nan


def pm(summary: pd.DataFrame, policy: str, metric: str, digits: int = 1, scale: float = 1.0) -> str:
    """``mean ± 95% CI half-width`` of a metric from summary.csv."""
    mean, half = stat(summary, policy, metric), stat(summary, policy, metric, "ci_half")
    if not math.isfinite(mean):
        return "-"
    return num(mean, digits, scale) + ("" if not math.isfinite(half) else f" ± {num(half, digits, scale)}")


def load_results(results: Path, names) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Name -> (runs.csv, summary.csv) for each ``results/<name>/`` folder that exists."""
    out = {}
    for name in names:
        if (results / name / "runs.csv").exists():
            out[name] = (pd.read_csv(results / name / "runs.csv"), pd.read_csv(results / name / "summary.csv"))
    if not out:
        raise FileNotFoundError(f"no results under {results}")
    return out


def policies_of(runs: pd.DataFrame) -> list[str]:
    """The policies of a runs.csv, in the order they were compared."""
    return list(dict.fromkeys(runs["policy"].astype(str)))


def write_readme(study: Path, text: str, written: list) -> int:
    """Write the study's regenerated README and report what was written; returns 0."""
    (study / "README.md").write_text(text, encoding="utf-8")
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(f"updated {study / 'README.md'}", file=sys.stderr)
    return 0
