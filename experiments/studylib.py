"""Helpers shared by the studies' report.py scripts: Markdown tables and generated README blocks."""

from __future__ import annotations

import math
import re

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
