"""Importers: measurements into a platform's model profiles, and a peer simulator's inputs.

Every reader turns its tool's native output into :class:`Measurement` rows (one per
profile number); :func:`apply_measurements` writes them into a platform's models with
their provenance (the confidence entry and the model's ``source``). docs/import.md
describes each format and its field mapping.

Modules: ``csv_profiles`` (the simsched CSV, also written by ``simsched profile
export``), ``trtexec`` (TensorRT), ``llama_bench`` (llama.cpp), ``ort`` (ONNX Runtime
profiling) and ``ds3`` (DS3 / DASH-Sim SoC and job files).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simsched.config.schema import PlatformSpec
from simsched.errors import ConfigError

PHASES = ("prefill", "decode")


@dataclass
class Measurement:
    """One measured profile number, ready to be written into a platform.

    Attributes
    ----------
    model : str
        Model name on the platform (``models.NAME``).
    key : str
        Processor name or kind for a latency; ``prefill.KEY`` / ``decode.KEY`` for an
        LLM phase cost (the same keys as a model's ``confidence`` mapping).
    value : float
        Latency (ms) or, for an LLM phase, ms per token, at the highest OPP.
    source : str
        Where the number comes from (file, tool, setup).
    compute_fraction : float or None
        Share of the time that scales with 1/f, when the measurement states it.
    confidence : str
        ``measured`` unless the input says otherwise (``derived``, ``estimate``).
    range : tuple of float or None
        Plausible values as factors on the number.
    where : str
        Location in the input (``line 3``), for error messages.
    extra : dict
        Columns the platform schema cannot hold (``power_w``, ``traffic_mb``).
    fraction_confidence : str or None
        Confidence of ``compute_fraction`` (default ``measured`` when it changes).
    fraction_range : tuple of float or None
        Its plausible range as factors.
    explicit_confidence : bool
        The input states the confidence: it is written even when the value is unchanged.
    """

    model: str
    key: str
    value: float
    source: str = ""
    compute_fraction: float | None = None
    confidence: str = "measured"
    range: tuple[float, float] | None = None
    where: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    fraction_confidence: str | None = None
    fraction_range: tuple[float, float] | None = None
    explicit_confidence: bool = False


def load_platform_data(name: str) -> tuple[dict[str, Any], str]:
    """Read a platform's YAML as plain data, by shipped name or file path.

    Returns
    -------
    (dict, str)
        The data and the path it was read from.

    Raises
    ------
    ConfigError
        Unknown name, unreadable or invalid file.
    """
    from simsched.config.loader import read_yaml, validate_part
    from simsched.config.paths import shipped, shipped_names

    path = Path(name)
    if not path.is_file():
        found = shipped("platforms", name)
        if found is None:
            known = ", ".join(shipped_names("platforms")) or "none"
            raise ConfigError(name, "", f"no such file and no shipped platform of that name; shipped: {known}")
        path = found
    data = read_yaml(path)
    validate_part("platforms", data, str(path))  # a broken platform is reported as itself, not as the import's fault
    return data, str(path)


def _sources(model: dict[str, Any]) -> list[str]:
    src = model.get("source")
    if src is None:
        return []
    return [src] if isinstance(src, str) else [str(s) for s in src]


def joined_source(model: dict[str, Any]) -> str:
    """A model's ``source`` as one line (list entries joined by `` | ``)."""
    return " | ".join(_sources(model))


def apply_measurements(
    platform: dict[str, Any], rows: list[Measurement], file: str
) -> tuple[dict[str, Any], list[str]]:
    """Write measurements into a copy of a platform's data.

    An existing number is replaced (its YAML comment does not carry over: the output
    file is written without comments); a processor or phase new to a model is added.
    A model the platform does not have is created (kind ``llm`` for phase costs,
    ``other`` otherwise), with the schema's defaults for everything else. Each changed
    number gets the row's confidence entry and its source is added to the model's
    ``source`` list (unless already there).

    Parameters
    ----------
    platform : dict
        Platform data as read from YAML; not modified.
    rows : list of Measurement
    file : str
        The input file, named in errors.

    Returns
    -------
    (dict, list of str)
        The updated platform data, validated, and notes on what could not be expressed.

    Raises
    ------
    ConfigError
        ``FILE: FIELD: message`` for a row that names an unknown processor, mixes an
        LLM phase into a non-LLM model (or the reverse), or gives conflicting values.
    """
    out = copy.deepcopy(platform)
    models: dict[str, Any] = out.setdefault("models", {}) or {}
    out["models"] = models
    procs = out.get("processors") or {}
    keys = set(procs) | {p.get("kind") for p in procs.values() if isinstance(p, dict)}
    notes: list[str] = []
    seen: dict[tuple[str, str], float] = {}
    fractions: dict[tuple[str, str], float] = {}
    for r in rows:
        where = r.where or r.model
        phase, _, pkey = r.key.rpartition(".")
        if phase and phase not in PHASES:
            raise ConfigError(file, f"{where}.processor", f"'{r.key}': a phase must be prefill or decode")
        if pkey not in keys:
            known = ", ".join(sorted(map(str, keys)))
            raise ConfigError(file, f"{where}.processor",
                              f"unknown processor or kind '{pkey}' on platform '{out.get('name')}'; known: {known}")
        if (r.model, r.key) in seen and seen[(r.model, r.key)] != r.value:
            raise ConfigError(file, f"{where}.latency_ms",
                              f"{r.model} {r.key} given twice with different values ({seen[(r.model, r.key)]:g} and {r.value:g})")
        seen[(r.model, r.key)] = r.value
        model = models.get(r.model)
        if model is None:
            model = {"kind": "llm", "llm": {}} if phase else {"kind": "other", "latency_ms": {}}
            models[r.model] = model
            notes.append(f"{r.model}: new model (kind {model['kind']}; segments, activity and the rest are the schema's defaults)")
        is_llm = model.get("llm") is not None
        if bool(phase) != is_llm:
            want = "prefill.KEY or decode.KEY" if is_llm else "a processor name or kind"
            raise ConfigError(file, f"{where}.processor", f"model '{r.model}' {'is' if is_llm else 'is not'} an LLM: use {want}")
        changed = False
        if phase:
            table = model["llm"].setdefault(f"{phase}_ms_per_token", {})
        else:
            table = model.setdefault("latency_ms", {})
        if table.get(pkey) != r.value:
            table[pkey] = r.value
            changed = True
        frac_key = f"{phase}_compute_fraction" if phase else "compute_fraction"
        if r.compute_fraction is not None:
            # One fraction per model (and phase), not per processor: rows of a model must agree.
            prev = fractions.setdefault((r.model, frac_key), r.compute_fraction)
            if prev != r.compute_fraction:
                raise ConfigError(file, f"{where}.compute_fraction",
                                  f"{r.model} has one {frac_key} for all processors; rows give {prev:g} and {r.compute_fraction:g}")
        holder = model["llm"] if phase else model
        if r.compute_fraction is not None:
            frac_changed = holder.get(frac_key, _default_fraction(frac_key)) != r.compute_fraction
            holder[frac_key] = r.compute_fraction
            if frac_changed or r.fraction_confidence is not None:
                _set_confidence(model, frac_key, r.fraction_confidence or "measured", r.fraction_range)
        conf = model.get("confidence") or {}
        if changed or r.explicit_confidence or r.range is not None or r.key not in conf:
            _set_confidence(model, r.key, r.confidence, r.range)
        if (changed or r.key not in conf) and r.source:
            srcs = _sources(model)
            if r.source != joined_source(model) and r.source not in srcs and f"{r.key}: {r.source}" not in srcs:
                srcs.append(f"{r.key}: {r.source}")
                model["source"] = srcs
        for name, value in sorted(r.extra.items()):
            notes.append(f"{r.model} {r.key}: {name} {value:g} not expressible in the platform schema; recorded in the source")
            srcs = _sources(model)
            line = f"{r.key}: {name} {value:g} (measured, not modelled)"
            if line not in srcs:
                srcs.append(line)
                model["source"] = srcs
    for mname, model in models.items():
        llm = model.get("llm")
        if isinstance(llm, dict):
            pre, dec = set(llm.get("prefill_ms_per_token") or {}), set(llm.get("decode_ms_per_token") or {})
            if pre != dec:
                missing = sorted((pre - dec) | (dec - pre))
                raise ConfigError(file, mname, "an LLM needs both prefill and decode costs per processor; "
                                  f"missing for {', '.join(missing)}")
    from simsched.config.loader import validate_part

    validate_part("platforms", out, file)
    return out, notes


def _default_fraction(key: str) -> float:
    return {"compute_fraction": 1.0, "prefill_compute_fraction": 1.0, "decode_compute_fraction": 0.2}[key]


def _set_confidence(model: dict[str, Any], key: str, level: str, rng: tuple[float, float] | None) -> None:
    conf = model.get("confidence") or {}
    entry: Any = level if rng is None else {"level": level, "range": list(rng)}
    conf[key] = entry
    model["confidence"] = conf


def dump_yaml(data: dict[str, Any], header: str = "") -> str:
    """YAML text of plain data in key order, with ``header`` as leading comment lines."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=None)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return ("\n".join(lines) + "\n" if lines else "") + text


def write_text(path: str | Path, text: str, force: bool = False) -> None:
    """Write a file, refusing to replace an existing one unless ``force``; ConfigError on failure."""
    p = Path(path)
    if p.exists() and not force:
        raise ConfigError(str(path), "", "exists; use --force to replace it or choose another --out")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot write ({exc.strerror or exc})") from None


def platform_spec(data: dict[str, Any], file: str) -> PlatformSpec:
    """Validate platform data (ConfigError naming ``file`` on failure)."""
    from simsched.config.loader import validate_part

    return validate_part("platforms", data, file)  # type: ignore[return-value]
