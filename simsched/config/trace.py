"""Reading arrival-time traces (CSV) while a config is loaded."""

from __future__ import annotations

import csv
import math

from simsched.errors import ConfigError

MAX_TRACE_BYTES = 64 * 1024 * 1024
"""Largest trace CSV read (bytes): about 4 million arrival times."""


def read_trace(path: str) -> list[float]:
    """Arrival times from a CSV file: one number per line, or a column named ``time_ms``.

    Raises
    ------
    ConfigError
        When the file is unreadable, a value is not a number, negative, or out of order.
    """
    from simsched.config.files import read_regular

    data = read_regular(path, MAX_TRACE_BYTES, what="trace file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "", "cannot read trace file (not UTF-8 text)") from None
    rows = list(csv.reader(text.splitlines()))
    col = 0
    if rows and rows[0] and not _is_number(rows[0][0].strip()):
        header = [h.strip() for h in rows[0]]
        if "time_ms" not in header:
            raise ConfigError(path, "time_ms", "no time_ms column and the first row is not a number")
        col = header.index("time_ms")
        rows = rows[1:]
    times: list[float] = []
    for line, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        try:
            t = float(row[col])
        except (ValueError, IndexError):
            raise ConfigError(path, f"line {line}", f"not a number: {row!r}") from None
        if not math.isfinite(t) or t < 0:
            raise ConfigError(path, f"line {line}", f"arrival times must be finite and >= 0, got {t:g}")
        if times and t < times[-1]:
            raise ConfigError(path, f"line {line}", f"arrival times must be ascending; {t:g} follows {times[-1]:g}")
        times.append(t)
    return times


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
