"""The simsched profile CSV: read measurements, export a platform's profile numbers.

Columns (header row required; docs/import.md):

``model, processor, latency_ms`` (required), ``power_w, traffic_mb, compute_fraction,
source, confidence, range_low, range_high, fraction_confidence, fraction_range_low,
fraction_range_high`` (optional). ``processor`` is a processor
name or kind; for an LLM, ``prefill.KEY`` or ``decode.KEY`` with ``latency_ms`` in ms
per token. ``confidence`` defaults to ``measured``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from simsched.config.schema import CONFIDENCE_LEVELS, PlatformSpec
from simsched.errors import ConfigError
from simsched.importers import Measurement, joined_source

REQUIRED = ("model", "processor", "latency_ms")
OPTIONAL = ("power_w", "traffic_mb", "compute_fraction", "source", "confidence", "range_low", "range_high",
            "fraction_confidence", "fraction_range_low", "fraction_range_high")
COLUMNS = REQUIRED + OPTIONAL
MAX_BYTES = 20 * 1024 * 1024


def read_text(path: str | Path) -> str:
    """A text file's content; ConfigError when it cannot be read."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ConfigError(str(path), "", f"file larger than {MAX_BYTES // (1024 * 1024)} MB")
        return p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "not UTF-8 text") from None


def _number(text: str, file: str, field: str, *, low: float = 0.0, inclusive: bool = False, high: float = 1e9) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ConfigError(file, field, f"expected a number, got '{text}'") from None
    if not math.isfinite(x) or x > high or x < low or (x == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ConfigError(file, field, f"{x:g} is out of range (expected {bound} and <= {high:g})")
    return x


def read_csv(path: str | Path) -> list[Measurement]:
    """Parse a profile CSV into measurements.

    Raises
    ------
    ConfigError
        ``FILE: line N.COLUMN: message`` for a missing column or a bad value.
    """
    file = str(path)
    reader = csv.DictReader(io.StringIO(read_text(path)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(file, "header", f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise ConfigError(file, "header", f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    reader.fieldnames = header
    rows: list[Measurement] = []
    for n, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {n}"
        for c in ("model", "processor", "latency_ms"):
            if not row.get(c):
                raise ConfigError(file, f"{where}.{c}", "empty")
        value = _number(row["latency_ms"], file, f"{where}.latency_ms")
        frac = None
        if row.get("compute_fraction"):
            frac = _number(row["compute_fraction"], file, f"{where}.compute_fraction", inclusive=True, high=1.0)
        level, rng = _confidence(row, "", file, where)
        flevel, frng = _confidence(row, "fraction_", file, where)
        if flevel is not None and frac is None:
            raise ConfigError(file, f"{where}.fraction_confidence", "given without compute_fraction")
        extra = {}
        for c in ("power_w", "traffic_mb"):
            if row.get(c):
                extra[c] = _number(row[c], file, f"{where}.{c}", inclusive=True, high=1e6)
        rows.append(Measurement(model=row["model"], key=row["processor"], value=value, source=row.get("source", ""),
                                compute_fraction=frac, confidence=level or "measured", range=rng, where=where, extra=extra,
                                fraction_confidence=flevel, fraction_range=frng, explicit_confidence=level is not None))
    if not rows:
        raise ConfigError(file, "", "no data rows")
    return rows


def _confidence(row: dict[str, str], prefix: str, file: str, where: str) -> tuple[str | None, tuple[float, float] | None]:
    """The confidence level (None when not given) and range of the ``PREFIXconfidence`` columns."""
    col, low, high = f"{prefix}confidence", f"{prefix}range_low", f"{prefix}range_high"
    level = row.get(col) or None
    if level is not None and level not in CONFIDENCE_LEVELS:
        raise ConfigError(file, f"{where}.{col}", f"'{level}' is not one of {', '.join(CONFIDENCE_LEVELS)}")
    if not (row.get(low) or row.get(high)):
        if level not in (None, "measured"):
            raise ConfigError(file, f"{where}.{low}", f"a '{level}' number needs {low} and {high}")
        return level, None
    if not (row.get(low) and row.get(high)):
        raise ConfigError(file, f"{where}.{low}", f"give both {low} and {high}, or neither")
    lo = _number(row[low], file, f"{where}.{low}", high=1000)
    hi = _number(row[high], file, f"{where}.{high}", high=1000)
    if not lo <= 1.0 <= hi:
        raise ConfigError(file, f"{where}.{low}", f"range [{lo:g}, {hi:g}] must contain 1 (factors on the value)")
    return level or "measured", (lo, hi)


def export_rows(spec: PlatformSpec, raw: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Every profile number of a platform as CSV rows (the columns of :data:`COLUMNS`).

    Parameters
    ----------
    spec : PlatformSpec
        The validated platform.
    raw : dict, optional
        Its YAML data, used to tell a compute fraction the file states from the
        schema default (only stated ones are exported).
    """
    rows = []
    for mname, m in spec.models.items():
        rawm = ((raw or {}).get("models") or {}).get(mname) or {}
        src = joined_source(rawm) if rawm else " | ".join([m.source] if isinstance(m.source, str) else (m.source or []))
        if m.llm is None:
            entries = [(k, v, "compute_fraction", m.compute_fraction) for k, v in m.latency_ms.items()]
            stated = {"compute_fraction"} & set(rawm) if raw is not None else {"compute_fraction"}
        else:
            entries = [(f"prefill.{k}", v, "prefill_compute_fraction", m.llm.prefill_compute_fraction)
                       for k, v in m.llm.prefill_ms_per_token.items()]
            entries += [(f"decode.{k}", v, "decode_compute_fraction", m.llm.decode_compute_fraction)
                        for k, v in m.llm.decode_ms_per_token.items()]
            rawllm = rawm.get("llm") or {}
            stated = {k for k in ("prefill_compute_fraction", "decode_compute_fraction") if k in rawllm} if raw is not None \
                else {"prefill_compute_fraction", "decode_compute_fraction"}
        for key, value, fkey, frac in entries:
            conf = m.confidence.get(key)
            fconf = m.confidence.get(fkey) if fkey in stated else None
            rows.append({
                "model": mname, "processor": key, "latency_ms": repr(float(value)),
                "power_w": "", "traffic_mb": "",
                "compute_fraction": repr(float(frac)) if fkey in stated else "",
                "source": src,
                "confidence": conf.level if conf else "",
                "range_low": repr(conf.range[0]) if conf and conf.range else "",
                "range_high": repr(conf.range[1]) if conf and conf.range else "",
                "fraction_confidence": fconf.level if fconf else "",
                "fraction_range_low": repr(fconf.range[0]) if fconf and fconf.range else "",
                "fraction_range_high": repr(fconf.range[1]) if fconf and fconf.range else "",
            })
    return rows


def export_csv(spec: PlatformSpec, raw: dict[str, Any] | None = None) -> str:
    """The CSV text of :func:`export_rows` (``\\n`` line ends, every field quoted only when needed)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(export_rows(spec, raw))
    return buf.getvalue()
