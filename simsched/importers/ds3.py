"""DS3 (DASH-Sim) inputs -> a simsched platform, workload and experiment.

DS3 describes a SoC in a text file (``SoC.*.txt``: read by DASH_SoC_parser.py) and each
application in a job file (``job_*.txt``: job_parser.py); its ``config_file.ini`` sets the
job mix and the mean inter-arrival time ``scale``. The formats, as the files' own header
comments and the parsers define them:

SoC file, per resource::

    add_new_resource resource_type T resource_name N resource_ID I capacity C \
        num_supported_functionalities F DVFS_mode M        (older files: the values only)
    opp MHZ MV                       (one line per operating point)
    trip_freq F1 F2 F3 / DTPM_trip_freq ...   (thermal throttling)
    power_profile MHZ P1 ... PC      (W with 1..C cores busy at MHZ)
    PG_profile MHZ P1 ... PC         (the same with power gating)
    FUNCTIONALITY TIME_US            (F lines: execution time in microseconds)

then ``comm_band_self B`` and ``comm_band SRC DST B`` (bandwidth between resources; a
transfer of volume V takes V / B microseconds). Job file::

    job_name NAME
    add_new_tasks N
    TASK ID [PRED_ID ...]
    TASK HEAD | TASK TAIL
    TASK earliest_start E deadline D [input_vol X output_vol Y]
    comm_vol SRC_ID DST_ID VOLUME

A task's name is the functionality the SoC file times. docs/import.md gives the mapping
to simsched and lists what is not expressible; :func:`convert` returns those notes.
"""

from __future__ import annotations

import configparser
import itertools
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError
from simsched.importers.csv_profiles import read_text

KINDS = {"CPU": "cpu", "LTL": "cpu", "BIG": "cpu", "GPU": "gpu", "ACC": "dsp"}  # by prefix; ACC: fixed-function signal accelerators
GOVERNORS = {"performance", "powersave", "ondemand"}
POLICIES = {"HEFT": "heft", "HEFT_RT": "heft", "MET": "affinity"}
ZERO_MS = 1e-6  # a zero DS3 execution time becomes 1 ns: the schema needs a positive latency


@dataclass
class Resource:
    """One DS3 resource (a cluster of ``capacity`` identical PEs)."""

    type: str
    name: str
    id: int
    capacity: int
    n_funcs: int
    dvfs: str
    line: int
    opps: list[tuple[float, float]] = field(default_factory=list)
    power: dict[float, list[float]] = field(default_factory=dict)
    funcs: dict[str, float] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    n_read: int = 0


@dataclass
class SoC:
    """A parsed DS3 SoC file."""

    file: str
    resources: list[Resource]
    comm_band: dict[tuple[int, int], float]
    comm_band_self: float | None


@dataclass
class Task:
    """One task of a DS3 job."""

    name: str
    id: int
    preds: list[int]
    line: int
    deadline: float | None = None
    earliest_start: float | None = None


@dataclass
class Job:
    """A parsed DS3 job file."""

    file: str
    name: str
    tasks: list[Task]
    comm_vol: dict[tuple[int, int], float]


def _lines(path: str | Path) -> list[tuple[int, list[str]]]:
    out = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        tok = line.split()
        if tok and not tok[0].startswith("#"):
            out.append((n, tok))
    return out


def _int(tok: str, file: str, where: str) -> int:
    try:
        return int(tok)
    except ValueError:
        raise ConfigError(file, where, f"expected an integer, got '{tok}'") from None


def _float(tok: str, file: str, where: str) -> float:
    try:
        x = float(tok)
    except ValueError:
        raise ConfigError(file, where, f"expected a number, got '{tok}'") from None
    if x != x or x in (float("inf"), float("-inf")) or x < 0:
        raise ConfigError(file, where, f"expected a non-negative number, got '{tok}'")
    return x


def parse_soc(path: str | Path) -> SoC:
    """Parse a DS3 SoC file.

    Raises
    ------
    ConfigError
        ``FILE: line N: message`` on a line DS3 would not accept either.
    """
    file = str(path)
    resources: list[Resource] = []
    band: dict[tuple[int, int], float] = {}
    band_self = None
    cur: Resource | None = None
    for n, tok in _lines(path):
        where = f"line {n}"
        if cur is not None and cur.n_read < cur.n_funcs and tok[0] not in ("add_new_resource", "comm_band", "comm_band_self"):
            key = tok[0]
            if key == "opp":
                if len(tok) < 3:
                    raise ConfigError(file, where, "opp needs a frequency (MHz) and a voltage (mV)")
                cur.opps.append((_float(tok[1], file, f"{where}.frequency"), _float(tok[2], file, f"{where}.voltage")))
            elif key in ("power_profile", "PG_profile"):
                if len(tok) < 3:
                    raise ConfigError(file, where, f"{key} needs a frequency and at least one power value")
                values = [_float(t, file, f"{where}.power") for t in tok[2:]]
                if key == "power_profile":
                    cur.power[_float(tok[1], file, f"{where}.frequency")] = values
                elif "PG_profile" not in cur.extra:
                    cur.extra.append("PG_profile")
            elif key in ("trip_freq", "DTPM_trip_freq"):
                if key not in cur.extra:
                    cur.extra.append(key)
            else:
                if len(tok) < 2:
                    raise ConfigError(file, where, f"functionality '{key}' needs an execution time (us)")
                t = _float(tok[1], file, f"{where}.{key}")
                if key in cur.funcs:
                    cur.extra.append(f"duplicate:{key}")
                else:
                    cur.funcs[key] = t
                if len(tok) > 2:
                    cur.extra.append(f"extra-values:{key}")
                cur.n_read += 1
            continue
        if tok[0] == "add_new_resource":
            if len(tok) > 1 and tok[1].lower().endswith("_type"):
                # Keyword form: the values sit at every second position, which is how they are
                # read (DS3's own files misspell a keyword now and then, e.g. 'resoruce_type').
                vals = tok[2::2]
                if len(vals) < 5:
                    raise ConfigError(file, where, "add_new_resource needs resource_type, resource_name, resource_ID, "
                                      "capacity and num_supported_functionalities")
                vals = [*vals[:5], vals[5] if len(vals) > 5 else "none"]
            else:
                if len(tok) < 6:
                    raise ConfigError(file, where, "add_new_resource needs type, name, ID, capacity, functionalities, DVFS mode")
                vals = [*tok[1:6], tok[6] if len(tok) > 6 else "none"]
            cap = max(1, _int(vals[3], file, f"{where}.capacity"))
            cur = Resource(type=vals[0], name=vals[1], id=_int(vals[2], file, f"{where}.resource_ID"), capacity=cap,
                           n_funcs=_int(vals[4], file, f"{where}.num_supported_functionalities"), dvfs=vals[5], line=n)
            resources.append(cur)
        elif tok[0] == "comm_band_self" and len(tok) >= 2:
            band_self = _float(tok[1], file, f"{where}.comm_band_self")
        elif tok[0] == "comm_band" and len(tok) >= 4:
            band[(_int(tok[1], file, f"{where}.source"), _int(tok[2], file, f"{where}.destination"))] = _float(
                tok[3], file, f"{where}.bandwidth")
        else:
            raise ConfigError(file, where, f"cannot read '{' '.join(tok)}' (expected add_new_resource, comm_band or a "
                              "line of the current resource)")
    if not resources:
        raise ConfigError(file, "", "no add_new_resource: not a DS3 SoC file")
    for r in resources:
        if r.n_read < r.n_funcs:
            raise ConfigError(file, f"line {r.line}", f"resource {r.name} declares {r.n_funcs} functionalities but lists {r.n_read}")
    return SoC(file, resources, band, band_self)


def parse_job(path: str | Path) -> Job:
    """Parse a DS3 job file (one application's task graph)."""
    file = str(path)
    name = Path(path).stem
    tasks: list[Task] = []
    by_name: dict[str, Task] = {}
    vol: dict[tuple[int, int], float] = {}
    expected = None
    for n, tok in _lines(path):
        where = f"line {n}"
        if tok[0] == "job_name":
            if len(tok) < 2:
                raise ConfigError(file, where, "job_name needs a name")
            name = tok[1]
        elif tok[0] == "add_new_tasks":
            expected = _int(tok[1] if len(tok) > 1 else "", file, f"{where}.add_new_tasks")
        elif tok[0] == "comm_vol":
            if len(tok) < 4:
                raise ConfigError(file, where, "comm_vol needs source ID, destination ID and volume")
            vol[(_int(tok[1], file, f"{where}.source"), _int(tok[2], file, f"{where}.destination"))] = _float(
                tok[3], file, f"{where}.volume")
        elif expected is None:
            raise ConfigError(file, where, f"cannot read '{' '.join(tok)}' before add_new_tasks")
        elif len(tok) >= 2 and tok[1] in ("HEAD", "TAIL"):
            continue  # DS3 marks the graph's ends; the DAG itself says as much
        elif len(tok) >= 2 and tok[1] == "earliest_start":
            t = by_name.get(tok[0])
            if t is None:
                raise ConfigError(file, where, f"timing for unknown task '{tok[0]}'")
            kv = dict(zip(tok[1::2], tok[2::2], strict=False))
            if "deadline" in kv:
                t.deadline = _float(kv["deadline"], file, f"{where}.deadline")
            t.earliest_start = _float(kv.get("earliest_start", "0"), file, f"{where}.earliest_start")
        else:
            if len(tok) < 2:
                raise ConfigError(file, where, f"task '{tok[0]}' needs an ID")
            t = Task(tok[0], _int(tok[1], file, f"{where}.task_id"), [_int(p, file, f"{where}.predecessors") for p in tok[2:]], n)
            tasks.append(t)
            by_name.setdefault(t.name, t)
    if not tasks:
        raise ConfigError(file, "", "no tasks: not a DS3 job file")
    if expected is not None and expected != len(tasks):
        raise ConfigError(file, "add_new_tasks", f"declares {expected} tasks but defines {len(tasks)}")
    ids = {t.id for t in tasks}
    if len(ids) != len(tasks):
        raise ConfigError(file, "task_id", "two tasks share an ID")
    for t in tasks:
        for p in t.preds:
            if p not in ids:
                raise ConfigError(file, f"line {t.line}.predecessors", f"task {t.name}: unknown predecessor ID {p}")
    for (s, d) in vol:
        if s not in ids or d not in ids:
            raise ConfigError(file, "comm_vol", f"comm_vol {s} {d}: unknown task ID")
    return Job(file, name, tasks, vol)


def read_ds3_config(path: str | Path) -> dict[str, Any]:
    """The settings of a DS3 ``config_file.ini`` that the conversion uses.

    Returns
    -------
    dict
        Any of ``scale`` (us), ``simulation_mode``, ``scale_values`` (us, expanded),
        ``job_probabilities``, ``simulation_length`` (us), ``warmup_period`` (us),
        ``random_seed``, ``standard_deviation``, ``scheduler``.
    """
    file = str(path)
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    try:
        cp.read_string(read_text(path), source=file)
    except configparser.Error as exc:
        raise ConfigError(file, "", f"not a DS3 config file ({exc.__class__.__name__})") from None
    out: dict[str, Any] = {}
    for section in [*cp.sections(), "DEFAULT"]:
        sec = cp[section]
        for key in ("scale", "simulation_length", "warmup_period", "standard_deviation"):
            if key in sec and key not in out:
                out[key] = _float(sec[key], file, f"{section}.{key}")
        if "random_seed" in sec and "random_seed" not in out:
            out["random_seed"] = _int(sec["random_seed"], file, f"{section}.random_seed")
        if "simulation_mode" in sec and "simulation_mode" not in out:
            out["simulation_mode"] = sec["simulation_mode"].strip().lower()
        if "scale_values" in sec and "scale_values" not in out:
            out["scale_values"] = _scale_values(sec["scale_values"], file, f"{section}.scale_values")
        if "scheduler" in sec and "scheduler" not in out:
            out["scheduler"] = sec["scheduler"].strip()
        if "job_probabilities" in sec and "job_probabilities" not in out:
            try:
                probs = json.loads(sec["job_probabilities"])
            except json.JSONDecodeError:
                raise ConfigError(file, f"{section}.job_probabilities", "expected a list like [0.5,0.5]") from None
            out["job_probabilities"] = [_float(str(p), file, f"{section}.job_probabilities") for p in probs]
    return out


def _scale_values(text: str, file: str, where: str) -> list[float]:
    """DS3's ``scale_values``: ``START-STOP-STEP`` as Python's range(), or a list like ``[100, 200]``."""
    text = text.strip()
    if text.startswith("["):
        try:
            vals = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(file, where, "expected START-STOP-STEP or a list") from None
        return [_float(str(v), file, where) for v in vals]
    parts = text.split("-")
    if len(parts) != 3:
        raise ConfigError(file, where, "expected START-STOP-STEP or a list")
    start, stop, step = (_int(p.strip(), file, where) for p in parts)
    if step <= 0:
        raise ConfigError(file, where, "STEP must be > 0")
    return [float(v) for v in range(start, stop, step)]


def _ident(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "x"
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _busy_table(r: Resource, opps: list[tuple[float, float]]) -> list[float] | None:
    """All-cores-busy power (W) per OPP: the profile at that MHz, else the nearest profile scaled by V^2 f."""
    if not r.power:
        return None
    volt = dict(opps)
    full = {f: p[min(r.capacity, len(p)) - 1] for f, p in r.power.items()}
    table = []
    for f, v in opps:
        if f in full:
            table.append(full[f])
            continue
        f0 = min(full, key=lambda x: (abs(x - f), x))
        v0 = volt.get(f0, v)
        table.append(full[f0] * (v / v0) ** 2 * (f / f0))
    return [max(w, 1e-6) for w in table]


def convert(
    soc_file: str | Path,
    job_files: list[str | Path],
    *,
    scale_us: float | None = None,
    probabilities: list[float] | None = None,
    config_file: str | Path | None = None,
    duration_ms: float | None = None,
    name: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """Convert DS3 inputs into simsched platform, workload and experiment data.

    Parameters
    ----------
    soc_file : path
        The DS3 SoC file.
    job_files : list of path
        One DS3 job file per application.
    scale_us : float, optional
        DS3 ``scale``: mean job inter-arrival time (us; exponential). Overrides the config file's.
    probabilities : list of float, optional
        DS3 ``job_probabilities``, one per job file. Default: the config file's, else equal.
    config_file : path, optional
        A DS3 ``config_file.ini`` to read ``scale`` (``scale_values[0]`` in performance mode), ``job_probabilities``,
        ``simulation_length``, ``warmup_period``, ``random_seed``, ``standard_deviation``
        and ``scheduler`` from.
    duration_ms : float, optional
        Simulated time (ms); default the config's ``simulation_length``, else 1000 ms.
    name : str, optional
        Platform name (default: the SoC file's name).

    Returns
    -------
    (platform, workload, experiment, notes)
        Plain data for three YAML files (the experiment names ``platform.yaml`` and
        ``workload.yaml`` beside it) and the list of what could not be expressed.
    """
    soc = parse_soc(soc_file)
    jobs = [parse_job(j) for j in job_files]
    cfg = read_ds3_config(config_file) if config_file else {}
    notes: list[str] = []
    soc_name = Path(soc_file).name
    scale = scale_us
    if scale is None and cfg.get("simulation_mode") == "performance" and cfg.get("scale_values"):
        # DS3's performance mode sweeps scale_values; the validation-mode 'scale' is not used then.
        scale = cfg["scale_values"][0]
        if len(cfg["scale_values"]) > 1:
            notes.append(f"scale_values is a sweep of {len(cfg['scale_values'])} values; the first ({scale:g} us) is used: "
                         "import once per value with --scale")
    if scale is None:
        scale = cfg.get("scale")
    if scale is None:
        raise ConfigError(str(soc_file), "--scale", "give DS3's mean job inter-arrival time 'scale' (us) with --scale or --config")
    if scale <= 0:
        raise ConfigError("--scale", "", f"must be > 0 us, got {scale:g}")
    probs = probabilities if probabilities is not None else cfg.get("job_probabilities")
    if probs is None:
        probs = [1.0 / len(jobs)] * len(jobs)
        notes.append("job_probabilities not given: every application is equally likely")
    if len(probs) != len(jobs):
        raise ConfigError("--probabilities", "", f"{len(probs)} probabilities for {len(jobs)} job files")
    if sum(probs) <= 0:
        raise ConfigError("--probabilities", "", "must not all be 0")

    # ---------------------------------------------------------------- platform
    taken: set[str] = set()
    domains: dict[str, Any] = {}
    processors: dict[str, Any] = {}
    pe_name: dict[int, str] = {}
    governors = set()
    for r in soc.resources:
        if r.type.upper() == "MEM":
            notes.append(f"resource {r.name} (MEM): DS3's shared memory is not a processor here; data moves as edge transfer times")
            continue
        pname = _ident(r.name, taken)
        pe_name[r.id] = pname
        kind = next((k for prefix, k in KINDS.items() if r.type.upper().startswith(prefix)), None)
        if kind is None:
            kind = "dsp"
            notes.append(f"resource {r.name}: type {r.type} has no simsched kind; imported as dsp")
        opps = sorted(r.opps)
        merged: list[tuple[float, float]] = []
        for f, v in opps:
            if merged and merged[-1][0] == f:
                continue
            merged.append((f, max(v, merged[-1][1]) if merged else v))
        if len(merged) != len(opps) or any(b[1] < a[1] for a, b in itertools.pairwise(opps)):
            notes.append(f"resource {r.name}: OPPs with a repeated frequency or a falling voltage were merged")
        if not merged:
            merged = [(1000.0, 1000.0)]
            notes.append(f"resource {r.name}: no opp lines; one nominal OPP (1000 MHz, 1000 mV) stands in (no DVFS)")
        domains[pname] = {"opps": [list(o) for o in merged], "switch_ms": 0.0,
                          "source": f"DS3 SoC file {soc_name}, resource {r.name} (ID {r.id}) opp lines"}
        proc: dict[str, Any] = {"kind": kind, "domain": pname, "capacity": r.capacity, "idle_w": 0.0}
        table = _busy_table(r, merged)
        if table is None:
            proc["busy_w"] = 0.001
            notes.append(f"resource {r.name}: no power_profile; busy power 1 mW stands in")
        else:
            proc["busy_w_table"] = [round(w, 9) for w in table]
            missing = [f for f, _ in merged if f not in r.power]
            if missing:
                notes.append(f"resource {r.name}: no power_profile at {', '.join(f'{f:g}' for f in missing)} MHz; "
                             "scaled from the nearest profiled frequency by V^2 f")
            if any(len(p) > 1 for p in r.power.values()):
                notes.append(f"resource {r.name}: DS3 gives power per number of busy cores; simsched scales the "
                             f"all-cores value ({r.capacity} busy) linearly with the busy slots")
        proc["source"] = f"DS3 SoC file {soc_name}, resource {r.name}: capacity, power_profile (all cores busy)"
        processors[pname] = proc
        for x in r.extra:
            if x.startswith("duplicate:"):
                fname = x.split(":", 1)[1]
                notes.append(f"resource {r.name}: functionality {fname} listed twice; the first time is used (as DS3's look-up)")
            elif x.startswith("extra-values:"):
                notes.append(f"resource {r.name}: functionality {x.split(':', 1)[1]} has more than one time; the first is used")
            else:
                notes.append(f"resource {r.name}: {x} (thermal throttling / power gating) not expressible")
        if r.dvfs.lower() in GOVERNORS:
            governors.add(r.dvfs.lower())
        else:
            governors.add(f"unsupported:{r.dvfs}")
    if not processors:
        raise ConfigError(soc.file, "", "no processing resource (only MEM)")
    notes.append("static and temperature-dependent leakage power (DS3's C1, C2, Igate model) not expressible; idle_w = 0")

    # ------------------------------------------------------------------ models
    used: dict[str, None] = {}
    for j in jobs:
        for t in j.tasks:
            used.setdefault(t.name, None)
    models: dict[str, Any] = {}
    for fname in used:
        lat: dict[str, float] = {}
        for r in soc.resources:
            if r.id in pe_name and fname in r.funcs:
                us = r.funcs[fname]
                lat[pe_name[r.id]] = us / 1000.0 if us > 0 else ZERO_MS
        if not lat:
            job = next(j for j in jobs if any(t.name == fname for t in j.tasks))
            raise ConfigError(job.file, fname, f"no resource of {soc_name} lists this functionality")
        if any(v == ZERO_MS for v in lat.values()):
            notes.append(f"model {fname}: DS3 time 0 becomes {ZERO_MS:g} ms (a latency must be positive)")
        models[fname] = {
            "kind": "other",
            "latency_ms": lat,
            "compute_fraction": 1.0,
            "confidence": dict.fromkeys(lat, "measured"),
            "source": f"DS3 SoC file {soc_name}: execution time (us) per resource",
        }
    unused = sorted({f for r in soc.resources if r.id in pe_name for f in r.funcs} - set(used))
    if unused:
        notes.append(f"{len(unused)} functionalities of the SoC file are used by no job file and were left out")
    notes.append("execution times are DS3's times at each resource's maximum frequency (DTPM_power_models.py, "
                 "get_execution_time_max_frequency); at lower OPPs simsched scales them fully with 1/f (compute_fraction 1)")
    plat_name = name or Path(soc_file).stem.replace("SoC.", "ds3-").replace("DASH.", "")
    bands = sorted(b for (s, d), b in soc.comm_band.items() if s != d and s in pe_name and d in pe_name and b > 0)
    band = statistics.median(bands) if bands else 1.0
    if not bands:
        notes.append("no comm_band between processing resources: bandwidth 1 (DS3's default) per us")
    elif len(set(bands)) > 1:
        notes.append(f"comm_band differs between resource pairs ({min(bands):g} to {max(bands):g}); one interconnect "
                     f"with the median {band:g} is used")
    if soc.comm_band_self is not None or any(s == d for s, d in soc.comm_band):
        notes.append("transfers between tasks on the same resource (comm_band_self, comm_band I I) are free in simsched")
    platform = {
        "name": plat_name,
        "description": f"Imported from the DS3 (DASH-Sim) SoC file {soc_name} by `simsched import ds3`.",
        "sources": [f"DS3 SoC file {soc_name} (format: DS3's DASH_SoC_parser.py)"],
        "static_w": 0.0,
        "domains": domains,
        "processors": processors,
        "interconnect": {"latency_ms": 0.0, "bandwidth_gb_per_s": 10.0,
                         "source": "unused: DS3 transfers are imported as per-edge transfer_ms"},
        "models": models,
    }

    # ---------------------------------------------------------------- workload
    total = sum(probs)
    apps: dict[str, Any] = {}
    app_names: set[str] = set()
    sd = cfg.get("standard_deviation", 0.0)
    for j, p in zip(jobs, probs, strict=True):
        aname = _ident(j.name, app_names)
        tnames: set[str] = set()
        key = {t.id: _ident(t.name, tnames) for t in j.tasks}
        graph: dict[str, Any] = {}
        for t in j.tasks:
            after = {}
            for pid in t.preds:
                v = j.comm_vol.get((pid, t.id), 0.0)
                after[key[pid]] = {"transfer_ms": round(v / band / 1000.0, 12)} if v > 0 else None
            graph[key[t.id]] = {"model": t.name, **({"after": after} if after else {})}
        for (s, d) in j.comm_vol:
            if s not in next(t for t in j.tasks if t.id == d).preds:
                notes.append(f"job {j.name}: comm_vol {s} {d} is not an edge of the graph; ignored")
        if any(t.deadline is not None for t in j.tasks):
            notes.append(f"job {j.name}: per-task deadlines and earliest start times not expressible (an app has one "
                         "relative deadline); no deadline set")
        if p <= 0:
            notes.append(f"job {j.name}: probability 0; the app is left out")
            continue
        apps[aname] = {
            "arrival": {"type": "poisson", "rate_hz": round(p / total * 1e6 / scale, 9)},
            "graph": graph,
            "source": f"DS3 job file {Path(j.file).name}; arrivals: DS3 scale {scale:g} us x probability {p / total:g}",
        }
    if sd:
        notes.append(f"standard_deviation {sd:g}: execution-time variation applies to every model as normal cv {sd:g}")
        for m in models.values():
            m["variability"] = {"type": "normal", "cv": sd}
    notes.append("DS3 draws one exponential inter-arrival (mean scale) and then picks the application by probability; "
                 "here each application is a Poisson process with rate probability / scale, the same process")
    workload = {
        "name": f"{plat_name}-jobs",
        "description": f"Imported from DS3 job files {', '.join(Path(j).name for j in job_files)} by `simsched import ds3`.",
        "sources": [f"DS3 job file {Path(j).name}" for j in job_files],
        "apps": apps,
    }

    # -------------------------------------------------------------- experiment
    sched = cfg.get("scheduler")
    policy = POLICIES.get((sched or "HEFT").upper(), "heft")
    if sched and sched.upper() not in POLICIES:
        notes.append(f"DS3 scheduler {sched} has no simsched counterpart; heft is used")
    elif sched:
        notes.append(f"DS3 scheduler {sched} -> simsched {policy}")
    pol: dict[str, Any] = {"name": policy}
    if len(governors) == 1 and not next(iter(governors)).startswith("unsupported:"):
        pol["governor"] = next(iter(governors))
    else:
        modes = sorted(g.split(":", 1)[-1] for g in governors)
        notes.append(f"DVFS modes {', '.join(modes)}: simsched has one governor per run; the default (performance) is used")
    if duration_ms is None:
        duration_ms = cfg["simulation_length"] / 1000.0 if cfg.get("simulation_length") else 1000.0
    experiment: dict[str, Any] = {
        "name": f"{plat_name}-import",
        "description": f"DS3 inputs {soc_name} + {', '.join(Path(j).name for j in job_files)} converted by `simsched import ds3`.",
        "seed": int(cfg.get("random_seed", 1)),
        "duration_ms": duration_ms,
        "policy": pol,
        "platform": "platform.yaml",
        "workload": "workload.yaml",
    }
    warm = cfg.get("warmup_period", 0.0) / 1000.0
    if 0 < warm < duration_ms:
        experiment["warmup_ms"] = warm
    notes.append("DS3's max_jobs_in_parallel, inject_fixed_num_jobs / max_jobs and job_list snippets not expressible")
    return platform, workload, experiment, notes
