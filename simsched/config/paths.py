"""Where the shipped platform and workload files are, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent


def data_dir(kind: str) -> Path | None:
    """The folder of shipped ``platforms`` or ``workloads``.

    A wheel installs them as package data (``simsched/data/<kind>``); a source
    checkout or editable install reads the top-level folders directly.
    """
    for candidate in (_PKG / "data" / kind, _PKG.parent / kind):
        if candidate.is_dir():
            return candidate
    return None


def shipped_names(kind: str) -> list[str]:
    """Names of the shipped files of ``kind`` (file stems), sorted."""
    d = data_dir(kind)
    if d is None:
        return []
    return sorted(p.stem for p in d.glob("*.yaml"))


def shipped(kind: str, name: str) -> Path | None:
    """Path of the shipped file ``name`` of ``kind``, or None."""
    d = data_dir(kind)
    if d is None:
        return None
    p = d / f"{name}.yaml"
    return p if p.is_file() else None
