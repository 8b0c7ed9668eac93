"""``simsched show platform|workload NAME|FILE`` and ``simsched show policy NAME``.

Prints what a platform, workload or policy contains, as text or (``--json``) as one
JSON document: a platform's processors, DVFS domains with their OPP ranges, power modes
with every cap they set, and models with their cost per processor and the confidence
of each number; a workload's apps with their arrival processes and graphs; a policy's
description and parameters.
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path
from typing import Any

from simsched.config.schema import AppSpec, ModelSpec, PlatformSpec, WorkloadSpec
from simsched.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``show`` subcommand."""
    p = sub.add_parser("show", help="describe a platform, workload or policy (profiles with their confidence)")
    p.add_argument("what", choices=["platform", "workload", "policy"])
    p.add_argument("name", help="a shipped name or a YAML file (policy: a registered name)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    if args.what == "policy":
        info = policy_info(args.name)
        text = format_policy(info)
    elif args.what == "platform":
        info = platform_info(load_part("platforms", args.name))  # type: ignore[arg-type]
        text = format_platform(info)
    else:
        info = workload_info(load_part("workloads", args.name))  # type: ignore[arg-type]
        text = format_workload(info)
    print(json.dumps(info, indent=2, sort_keys=False) if args.json else text)
    return 0


def load_part(kind: str, name: str) -> PlatformSpec | WorkloadSpec:
    """Load a shipped platform/workload by name, or a YAML file by path.

    Parameters
    ----------
    kind : {"platforms", "workloads"}
    name : str
        A shipped name (``simsched list KIND``) or a file path.

    Raises
    ------
    ConfigError
        Unknown name, unreadable file or invalid content.
    """
    from simsched.config.loader import read_yaml, validate_part
    from simsched.config.paths import shipped, shipped_names

    path = Path(name)
    if not path.is_file():
        found = shipped(kind, name)
        if found is None:
            known = ", ".join(shipped_names(kind)) or "none"
            raise ConfigError(name, "", f"no such file and no shipped {kind[:-1]} of that name; shipped: {known}")
        path = found
    return validate_part(kind, read_yaml(path), str(path))


# ----------------------------------------------------------------------------- platform


def _confidence(model: ModelSpec, key: str) -> dict[str, Any]:
    conf = model.confidence.get(key)
    if conf is None:
        return {"confidence": None, "range": None}
    return {"confidence": conf.level, "range": list(conf.range) if conf.range else None}


def model_entries(model: ModelSpec) -> list[dict[str, Any]]:
    """Every profile number of a model with its unit and confidence.

    Returns
    -------
    list of dict
        ``key`` (as in the model's ``confidence`` mapping), ``value``, ``unit``
        (``ms``, ``ms/token`` or ``fraction``), ``confidence`` (level or None) and
        ``range`` (``[low, high]`` factors or None).
    """
    out = []
    explicit = set(model.model_fields_set) | (set(model.llm.model_fields_set) if model.llm else set())
    for key, value in model.confidence_targets().items():
        if key.endswith("compute_fraction"):
            if key not in explicit and key not in model.confidence:
                continue  # the schema default, not a number the file states
            unit = "fraction"
        else:
            unit = "ms/token" if model.llm is not None else "ms"
        out.append({"key": key, "value": value, "unit": unit, **_confidence(model, key)})
    return out


def platform_info(spec: PlatformSpec) -> dict[str, Any]:
    """A JSON-ready description of a platform (see the module docstring)."""
    procs = []
    for name, p in spec.processors.items():
        power: dict[str, Any]
        if p.busy_w is not None:
            power = {"busy_w": p.busy_w}
        elif p.busy_w_table is not None:
            power = {"busy_w_table": p.busy_w_table}
        else:
            power = {"dpc_uw_mhz_v2": p.dpc_uw_mhz_v2, "cores": p.cores}
        procs.append({"name": name, "kind": p.kind, "domain": p.domain, "capacity": p.capacity,
                      "idle_w": p.idle_w, **power})
    domains = []
    for name, d in spec.domains.items():
        f = [o[0] for o in d.opps]
        v = [o[1] for o in d.opps]
        domains.append({"name": name, "opps": len(d.opps), "mhz": [min(f), max(f)], "mv": [min(v), max(v)],
                        "switch_ms": d.switch_ms, "opp_list": [list(o) for o in d.opps]})
    modes = [{"name": name, "default": name == spec.default_power_mode, "budget_w": m.budget_w,
              "caps_mhz": dict(m.caps_mhz), "offline": list(m.offline)}
             for name, m in spec.power_modes.items()]
    models = []
    for name, m in spec.models.items():
        extra: dict[str, Any] = {}
        if m.llm is not None:
            extra = {"prompt_tokens": m.llm.prompt_tokens.mean_value(), "output_tokens": m.llm.output_tokens.mean_value(),
                     "prefill_chunk_tokens": m.llm.prefill_chunk_tokens}
        models.append({"name": name, "kind": m.kind, "segments": m.segments,
                       "default_processor": m.default_processor, **extra, "entries": model_entries(m)})
    return {
        "name": spec.name,
        "description": " ".join(spec.description.split()),
        "static_w": spec.static_w,
        "processors": procs,
        "domains": domains,
        "power_modes": modes,
        "interconnect": {"latency_ms": spec.interconnect.latency_ms,
                         "bandwidth_gb_per_s": spec.interconnect.bandwidth_gb_per_s},
        "models": models,
    }


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _table(rows: list[list[str]], indent: str = "") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _conf_text(entry: dict[str, Any]) -> str:
    if entry["confidence"] is None:
        return "(no confidence)"
    rng = entry["range"]
    return entry["confidence"] + (f" [{rng[0]:g}, {rng[1]:g}]" if rng else "")


def format_platform(info: dict[str, Any]) -> str:
    """Text form of :func:`platform_info`."""
    lines = [f"platform {info['name']}: {info['description']}".rstrip(": "), f"static power {info['static_w']:g} W", ""]
    rows = [["processor", "kind", "domain", "slots", "idle W", "busy W"]]
    for p in info["processors"]:
        busy = (_g(p["busy_w"]) if "busy_w" in p else
                "table " + "/".join(f"{x:g}" for x in p["busy_w_table"]) if "busy_w_table" in p else
                f"dpc {p['dpc_uw_mhz_v2']:g} x {p['cores']} cores")
        rows.append([p["name"], p["kind"], p["domain"], str(p["capacity"]), _g(p["idle_w"]), busy])
    lines += [*_table(rows), ""]
    rows = [["domain", "OPPs", "MHz", "mV", "switch ms"]]
    for d in info["domains"]:
        rows.append([d["name"], str(d["opps"]), f"{d['mhz'][0]:g}-{d['mhz'][1]:g}",
                     f"{d['mv'][0]:g}-{d['mv'][1]:g}", _g(d["switch_ms"])])
    lines += [*_table(rows), ""]
    if info["power_modes"]:
        rows = [["power mode", "budget W", "caps (MHz)", "offline"]]
        for m in info["power_modes"]:
            caps = ", ".join(f"{k} {v:g}" for k, v in m["caps_mhz"].items()) or "none"
            name = m["name"] + (" (default)" if m["default"] else "")
            rows.append([name, _g(m["budget_w"]), caps, ", ".join(m["offline"]) or "-"])
        lines += [*_table(rows), ""]
    ic = info["interconnect"]
    lines += [f"interconnect: {ic['latency_ms']:g} ms + data at {ic['bandwidth_gb_per_s']:g} GB/s", ""]
    lines.append("models (cost at the domain's highest OPP; confidence with its range as factors on the value)")
    for m in info["models"]:
        if "prompt_tokens" in m:  # an LLM: segments follow from the token counts
            head = (f"{m['name']} ({m['kind']}, mean {m['prompt_tokens']:g} prompt / {m['output_tokens']:g} "
                    f"output tokens, {m['prefill_chunk_tokens']} prompt tokens per prefill segment")
        else:
            head = f"{m['name']} ({m['kind']}, {m['segments']} segments"
        lines.append(head + ")")
        rows = [[e["key"], f"{e['value']:g} {e['unit']}", _conf_text(e)] for e in m["entries"]]
        lines += _table(rows, indent="  ")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- workload


def _arrival(app: AppSpec) -> dict[str, Any]:
    return app.arrival.model_dump(exclude_none=True)


def _arrival_text(a: dict[str, Any]) -> str:
    kind = a["type"]
    if kind == "periodic":
        text = f"periodic every {a['period_ms']:g} ms"
        if a.get("jitter_ms"):
            text += f" (jitter {a['jitter_ms']:g} ms)"
    elif kind == "poisson":
        text = f"Poisson {a['rate_hz']:g} Hz"
    elif kind == "bursty":
        text = f"bursty: Poisson {a['rate_hz']:g} Hz in on periods of {a['on_ms']:g} ms, off {a['off_ms']:g} ms (means)"
    elif kind == "closed":
        text = f"closed loop: {a['population']} user(s), {a['think']} think time {a['think_ms']:g} ms"
    else:
        n = len(a["times_ms"]) if a.get("times_ms") is not None else None
        text = f"trace ({n} arrivals)" if n is not None else f"trace from {a.get('file')}"
    if a.get("offset_ms"):
        text += f", from {a['offset_ms']:g} ms"
    return text


def workload_info(spec: WorkloadSpec) -> dict[str, Any]:
    """A JSON-ready description of a workload: apps with arrival, deadline and graph."""
    apps = []
    for name, app in spec.apps.items():
        entry: dict[str, Any] = {"name": name, "arrival": _arrival(app), "deadline_ms": app.deadline_ms,
                                 "priority": app.priority, "late": app.late}
        if app.graph is not None:
            entry["graph"] = [
                {"task": t, "model": ts.model,
                 "after": {p: e.model_dump() for p, e in ts.edges().items()},
                 **({"prompt_tokens": ts.prompt_tokens.mean_value()} if ts.prompt_tokens else {}),
                 **({"output_tokens": ts.output_tokens.mean_value()} if ts.output_tokens else {})}
                for t, ts in app.graph.items()
            ]
        else:
            g = app.generator
            assert g is not None
            entry["generator"] = {"models": dict(g.models), "tasks": list(g.tasks), "edge_prob": g.edge_prob,
                                  "transfer_ms": g.transfer_ms}
        apps.append(entry)
    return {"name": spec.name, "description": " ".join(spec.description.split()),
            "platform": spec.platform, "apps": apps}


def format_workload(info: dict[str, Any]) -> str:
    """Text form of :func:`workload_info`."""
    head = f"workload {info['name']}" + (f" (for {info['platform']})" if info["platform"] else "")
    lines = [head + (f": {info['description']}" if info["description"] else ""), ""]
    for app in info["apps"]:
        deadline = "no deadline" if app["deadline_ms"] is None else f"deadline {app['deadline_ms']:g} ms"
        lines.append(f"{app['name']}: {_arrival_text(app['arrival'])}; {deadline}, priority {app['priority']}, "
                     f"late jobs {app['late']}")
        if "graph" in app:
            for t in app["graph"]:
                text = f"  {t['task']}: {t['model']}"
                if t["after"]:
                    deps = []
                    for pred, e in t["after"].items():
                        attrs = [f"{k} {v:g}" for k, v in e.items() if (k != "prob" and v) or (k == "prob" and v != 1)]
                        deps.append(pred + (f" ({', '.join(attrs)})" if attrs else ""))
                    text += " after " + ", ".join(deps)
                for k in ("prompt_tokens", "output_tokens"):
                    if k in t:
                        text += f", mean {t[k]:g} {k.replace('_', ' ')}"
                lines.append(text)
        else:
            g = app["generator"]
            mix = ", ".join(f"{m} {w:g}" for m, w in g["models"].items())
            lines.append(f"  random DAGs of {g['tasks'][0]}-{g['tasks'][1]} tasks, edge probability "
                         f"{g['edge_prob']:g}, transfer {g['transfer_ms']:g} ms; model mix: {mix}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- policy


def policy_info(name: str) -> dict[str, Any]:
    """A JSON-ready description of a registered policy: docstring, parameters, defaults."""
    from simsched.policies.base import policy_class

    cls = policy_class(name)
    params = []
    for pname, p in inspect.signature(cls).parameters.items():
        if p.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        params.append({"name": pname, "default": default if isinstance(default, (int, float, str, bool, type(None)))
                       else repr(default)})
    doc = inspect.cleandoc(cls.__doc__ or "")
    return {"name": name, "class": f"{cls.__module__}.{cls.__qualname__}",
            "controls_frequency": bool(getattr(cls, "controls_frequency", False)),
            "summary": doc.splitlines()[0] if doc else "", "doc": doc, "params": params}


def format_policy(info: dict[str, Any]) -> str:
    """Text form of :func:`policy_info`."""
    freq = "sets frequencies itself" if info["controls_frequency"] else "frequencies from the governor (policy.governor)"
    lines = [f"policy {info['name']} ({info['class']}): {freq}", ""]
    if info["params"]:
        lines.append("parameters (policy.params) and defaults: "
                     + ", ".join(f"{p['name']}={p['default']!r}" for p in info["params"]))
    else:
        lines.append("parameters: none")
    lines += ["", info["doc"]] if info["doc"] else []
    return "\n".join(lines)
