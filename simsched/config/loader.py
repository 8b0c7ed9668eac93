"""Loading experiment files: YAML (safe_load only), name resolution, ``--set`` overrides, validation.

Every failure becomes a :class:`ConfigError` naming the file the bad value came
from and the dotted field inside it, so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simsched.config.paths import shipped, shipped_names
from simsched.config.schema import ExperimentSpec, PlatformSpec, WorkloadSpec, _FieldError
from simsched.errors import ConfigError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000  # after alias expansion: stops "billion laughs" documents


@dataclass
class LoadedConfig:
    """A validated experiment and where its parts came from.

    Attributes
    ----------
    spec : ExperimentSpec
        The validated experiment.
    resolved : dict
        The experiment as plain data, names replaced by the files' contents (the manifest records it).
    origins : dict
        Top-level section -> the file it was read from.
    """

    spec: ExperimentSpec
    resolved: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    path: str = "<inline>"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite hides typos)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key is not a plain value", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    """Read one YAML file safely; ConfigError on any problem."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ConfigError(name, "", f"cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    if p.is_dir():
        raise ConfigError(name, "", "is a directory, expected a YAML file")
    if size > MAX_FILE_BYTES:
        raise ConfigError(name, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, "", "not a text file (invalid UTF-8)") from None
    except OSError as exc:
        raise ConfigError(name, "", f"cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text with the safe loader; ConfigError naming ``name`` on failure."""
    if "\x00" in text:
        raise ConfigError(name, "", "not a text file (contains NUL bytes)")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        problem = exc.problem or str(exc)
        if "could not determine a constructor" in problem:
            problem = "unsupported YAML tag " + problem.split("tag", 1)[-1].strip() + " (only plain YAML is accepted)"
        raise ConfigError(name, where, problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(name, where, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(name, "", "the document is nested too deeply") from None
    _check_size(data, name)
    return data


def _check_size(data: Any, name: str) -> None:
    """Count nodes as a consumer would see them (aliases expanded), up to MAX_NODES."""
    n = 0
    stack = [data]
    while stack:
        x = stack.pop()
        n += 1
        if n > MAX_NODES:
            raise ConfigError(name, "", f"the document expands to more than {MAX_NODES} values (aliases?)")
        if isinstance(x, dict):
            stack.extend(x.values())
            stack.extend(x.keys())
        elif isinstance(x, list):
            stack.extend(x)


def apply_overrides(data: dict, overrides: list[str]) -> None:
    """Apply ``key.path=value`` overrides in place; values are parsed as YAML scalars or flow collections."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError("--set", item, "expected key.path=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not key or any(not p for p in parts):
            raise ConfigError("--set", key, "expected a dotted key such as platform.static_w")
        value = parse_yaml(raw, f"--set {key}")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict):
                raise ConfigError("--set", key, f"'{'.'.join(parts[:i])}' is not a mapping")
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError("--set", key, f"'{'.'.join(parts[:-1])}' is not a mapping")
        node[parts[-1]] = value


def _resolve(value: Any, kind: str, base_dir: Path, origins: dict[str, str], section: str) -> Any:
    """Replace a platform/workload name or path by the file's content."""
    if not isinstance(value, str):
        return value
    if value.endswith((".yaml", ".yml")) or "/" in value or "\\" in value:
        path = (base_dir / value).resolve() if not Path(value).is_absolute() else Path(value)
    else:
        path = shipped(kind, value)
        if path is None:
            raise ConfigError(
                origins.get("", "<config>"), section,
                f"unknown {kind[:-1]} '{value}'; shipped: {', '.join(shipped_names(kind)) or 'none'}",
            )
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", f"expected a mapping at the top level, got {type(data).__name__}")
    origins[section] = str(path)
    if kind == "workloads":
        _absolute_trace_files(data, path.parent)
    return data


def _absolute_trace_files(workload: dict, base_dir: Path) -> None:
    """Trace files resolve against the folder of the file that names them."""
    apps = workload.get("apps")
    if not isinstance(apps, dict):
        return
    for app in apps.values():
        arrival = app.get("arrival") if isinstance(app, dict) else None
        if isinstance(arrival, dict) and isinstance(arrival.get("file"), str):
            f = Path(arrival["file"])
            if not f.is_absolute():
                arrival["file"] = str((base_dir / f).resolve())


def load_config(
    source: str | Path | dict[str, Any],
    overrides: list[str] | None = None,
    seed: int | None = None,
) -> LoadedConfig:
    """Load, resolve, override and validate an experiment.

    Parameters
    ----------
    source : str, Path or dict
        An experiment YAML file, or the experiment as a mapping (paths in it resolve
        against the current directory).
    overrides : list of str, optional
        ``key.path=value`` strings applied after names are resolved, so they can
        reach into a shipped platform (``platform.models.x.latency_ms.gpu=3``).
    seed : int, optional
        Replaces the file's seed.
    """
    origins: dict[str, str] = {}
    if isinstance(source, dict):
        data = copy.deepcopy(source)
        base_dir = Path.cwd()
        path = "<inline>"
    else:
        path = str(source)
        data = read_yaml(source)
        base_dir = Path(source).resolve().parent
    origins[""] = path
    if not isinstance(data, dict):
        raise ConfigError(path, "", f"expected a mapping at the top level, got {type(data).__name__ if data is not None else 'an empty file'}")
    for section, kind in (("platform", "platforms"), ("workload", "workloads")):
        if section in data:
            data[section] = _resolve(data[section], kind, base_dir, origins, section)
    if isinstance(data.get("workload"), dict) and origins.get("workload") is None:
        _absolute_trace_files(data["workload"], base_dir)
    apply_overrides(data, overrides or [])
    if seed is not None:
        data["seed"] = seed
    spec = validate(data, origins)
    return LoadedConfig(spec=spec, resolved=json.loads(spec.model_dump_json()), origins=origins, path=path)


def validate(data: dict[str, Any], origins: dict[str, str]) -> ExperimentSpec:
    """Validate resolved experiment data; ConfigError naming the file and field on failure."""
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise _to_config_error(exc, origins) from None


def validate_part(kind: str, data: Any, path: str) -> PlatformSpec | WorkloadSpec:
    """Validate a stand-alone platform or workload file."""
    model = PlatformSpec if kind == "platforms" else WorkloadSpec
    if not isinstance(data, dict):
        raise ConfigError(path, "", "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _to_config_error(exc, {"": path}) from None


def _to_config_error(exc: ValidationError, origins: dict[str, str]) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    loc = [str(x) for x in err["loc"]]
    # Discriminated unions put the tag in the path (arrival.poisson.rate_hz): drop it.
    if "arrival" in loc:
        i = loc.index("arrival")
        if i + 1 < len(loc) and loc[i + 1] in ("periodic", "poisson", "bursty", "closed", "trace"):
            del loc[i + 1]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, _FieldError):
        loc += original.path.split(".")
        message = original.message
    else:
        message = _message(err)
    file = origins.get("", "<config>")
    if loc and loc[0] in ("platform", "workload") and loc[0] in origins:
        file = origins[loc[0]]
        loc = loc[1:]
    return ConfigError(file, ".".join(loc), message)


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `simsched schema` lists every field)"
    value = err.get("input")
    if err["type"] in ("model_type", "model_attributes_type", "dict_type") or isinstance(value, (dict, list)):
        return msg
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{msg[0].lower() + msg[1:]}, got {shown}"
