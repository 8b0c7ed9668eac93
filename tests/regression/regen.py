"""Regenerate the golden baselines: ``python -m tests.regression.regen [NAME ...] [--check]``.

Writes ``tests/regression/baselines/NAME.json`` (canonical JSON, sorted keys) for
every golden in ``goldens.py`` (or the names given). A file whose content differs
only in the recorded package versions is left alone, so regenerating on another
machine does not churn the diffs. ``--check`` writes nothing and exits 1 if any
file would change (or is stale: on disk without a golden).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simsched.regress import baseline_json, make_baseline
from tests.regression.goldens import BASELINES, GOLDENS


def _same_but_versions(old: str, new: str) -> bool:
    try:
        a, b = json.loads(old), json.loads(new)
    except json.JSONDecodeError:
        return False
    a.pop("versions", None)
    b.pop("versions", None)
    return a == b


def regenerate(names: list[str], out_dir: Path = BASELINES, check: bool = False) -> dict[str, str]:
    """Regenerate the baselines of ``names`` (all goldens if empty).

    Parameters
    ----------
    names : list of str
        Golden names; empty for all.
    out_dir : Path
        Folder of the baseline files.
    check : bool
        Only report; write nothing.

    Returns
    -------
    dict
        Name -> ``new``, ``updated``, ``unchanged`` or ``stale`` (a file without a golden).
    """
    unknown = sorted(set(names) - set(GOLDENS))
    if unknown:
        raise SystemExit(f"error: unknown golden(s) {', '.join(unknown)}; known: {', '.join(sorted(GOLDENS))}")
    status: dict[str, str] = {}
    for name in names or sorted(GOLDENS):
        text = baseline_json(make_baseline(GOLDENS[name].run()))
        path = out_dir / f"{name}.json"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old is not None and (old == text or _same_but_versions(old, text)):
            status[name] = "unchanged"
            continue
        status[name] = "new" if old is None else "updated"
        if not check:
            out_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    if not names:
        for path in sorted(out_dir.glob("*.json")):
            if path.stem not in GOLDENS:
                status[path.stem] = "stale"
    return status


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m tests.regression.regen", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"goldens to regenerate (default: all): {', '.join(sorted(GOLDENS))}")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any baseline would change")
    p.add_argument("--dir", type=Path, default=BASELINES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    status = regenerate(args.names, args.dir, check=args.check)
    for name, s in status.items():
        hint = " (no golden in goldens.py: delete the file)" if s == "stale" else ""
        print(f"{s:9s} {args.dir / (name + '.json')}{hint}")
    changed = [n for n, s in status.items() if s != "unchanged"]
    if args.check and changed:
        print(f"{len(changed)} golden baseline(s) out of date: python -m tests.regression.regen", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
