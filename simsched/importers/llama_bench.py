"""llama.cpp ``llama-bench`` results: ``-o json`` (also ``-o jsonl``) and ``-o csv``.

Field names from llama.cpp's examples/llama-bench/README.md ("Output formats") and
llama-bench.cpp: each test is one record with, among others, ``model_type``,
``model_filename``, ``n_prompt``, ``n_gen``, ``avg_ns``, ``stddev_ns``, ``avg_ts`` and
``stddev_ts`` (tokens per second). A prompt-processing test (``pp N``) has ``n_prompt``
> 0 and ``n_gen`` = 0; a text-generation test (``tg N``) has ``n_prompt`` = 0 and
``n_gen`` > 0. Mapping:

* prefill ms/token = 1000 / ``avg_ts`` of the pp test;
* decode ms/token = 1000 / ``avg_ts`` of the tg test.

Combined tests (``-pg``: both > 0) mix the phases and are skipped. When several pp (or
tg) tests are present (several prompt lengths, thread counts), the one with the largest
``n_prompt`` (``n_gen``) is used, and the first of equals.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.importers import Measurement
from simsched.importers.csv_profiles import read_text


def records(path: str | Path) -> list[dict[str, Any]]:
    """The test records of a llama-bench JSON, JSONL or CSV file."""
    file = str(path)
    text = read_text(path).strip()
    if not text:
        raise ConfigError(file, "", "empty file")
    if text[0] in "[{":
        try:
            data = json.loads(text) if text[0] == "[" else [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ConfigError(file, "", f"not JSON ({exc.msg} at line {exc.lineno})") from None
    else:
        data = list(csv.DictReader(io.StringIO(text)))
    if not isinstance(data, list) or not data or not all(isinstance(x, dict) for x in data):
        raise ConfigError(file, "", "expected llama-bench output: a JSON array (-o json), JSON lines (-o jsonl) or CSV (-o csv)")
    for i, rec in enumerate(data):
        for key in ("n_prompt", "n_gen", "avg_ts"):
            if key not in rec:
                raise ConfigError(file, f"[{i}].{key}", "missing: not llama-bench output")
    return data


def _num(rec: dict[str, Any], key: str, file: str, i: int) -> float:
    try:
        x = float(rec[key])
    except (TypeError, ValueError):
        raise ConfigError(file, f"[{i}].{key}", f"expected a number, got {rec[key]!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ConfigError(file, f"[{i}].{key}", f"expected a non-negative number, got {x:g}")
    return x


def rates(path: str | Path) -> dict[str, tuple[float, str]]:
    """Per phase (``prefill``, ``decode``) the ms/token and a provenance note."""
    file = str(path)
    best: dict[str, tuple[float, int, dict[str, Any]]] = {}
    for i, rec in enumerate(records(path)):
        n_p, n_g = _num(rec, "n_prompt", file, i), _num(rec, "n_gen", file, i)
        if n_p > 0 and n_g > 0:
            continue
        phase, n = ("prefill", n_p) if n_p > 0 else ("decode", n_g)
        if n <= 0:
            continue
        ts = _num(rec, "avg_ts", file, i)
        if ts <= 0:
            raise ConfigError(file, f"[{i}].avg_ts", "must be > 0 tokens/s")
        if phase not in best or n > best[phase][0]:
            best[phase] = (n, i, rec)
    if not best:
        raise ConfigError(file, "", "no prompt-processing (pp) or text-generation (tg) test found")
    out = {}
    for phase, (n, i, rec) in best.items():
        ts = _num(rec, "avg_ts", file, i)
        test = f"{'pp' if phase == 'prefill' else 'tg'} {n:g}"
        what = rec.get("model_type") or rec.get("model_filename") or "model"
        out[phase] = (1000.0 / ts, f"llama-bench {test}: {ts:g} tok/s ({what}, {rec.get('n_threads', '?')} threads)")
    return out


def read(path: str | Path, model: str, processor: str) -> list[Measurement]:
    """Prefill and decode ms/token of ``model`` on ``processor`` from a llama-bench file.

    Raises
    ------
    ConfigError
        When the file lacks the pp or the tg test (an LLM profile needs both per processor
        unless the platform already has the other).
    """
    name = Path(path).name
    return [Measurement(model=model, key=f"{phase}.{processor}", value=ms, source=f"{how} ({name})", where=model)
            for phase, (ms, how) in sorted(rates(path).items(), key=lambda kv: kv[0] != "prefill")]
