"""Loading experiment files: YAML (safe_load only), name resolution, ``--set`` overrides, validation.

Every failure becomes a :class:`ConfigError` naming the file the bad value came
from and the dotted field inside it, so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from simsched.config.files import read_regular
from simsched.config.paths import shipped, shipped_names
from simsched.config.schema import ExperimentSpec, PlatformSpec, WorkloadSpec, _FieldError
from simsched.errors import ConfigError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000  # after alias expansion: stops "billion laughs" documents
MAX_DEPTH = 64  # nesting levels; the deepest documented structure needs about 8


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
    # Merge keys (`<<: *base`, docs/config.md): the merged pairs may be overridden by
    # the mapping's own keys, as YAML specifies; only a key written twice in the
    # mapping itself is a duplicate.
    own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - own  # flatten_mapping puts the merged pairs first
    out: dict = {}
    own_keys: set = set()
    for i, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key is not a plain value", key_node.start_mark) from None
        if i >= merged:
            if key in own_keys:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            own_keys.add(key)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    """Read one YAML file safely; ConfigError on any problem."""
    name = str(path)
    data = read_regular(path, MAX_FILE_BYTES, name)  # regular files only, never more than the limit
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, "", "not a text file (invalid UTF-8)") from None
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
    """Count nodes as a consumer would see them (aliases expanded), up to MAX_NODES, and their depth.

    Depth is bounded too (MAX_DEPTH): deeper documents pass the YAML parser but
    overflow recursive consumers further on (pydantic's JSON serialisation stops at
    a few hundred levels). Strings are checked to be valid Unicode.
    """
    n = 0
    stack = [(data, 0)]
    while stack:
        x, depth = stack.pop()
        n += 1
        if n > MAX_NODES:
            raise ConfigError(name, "", f"the document expands to more than {MAX_NODES} values (aliases?)")
        if isinstance(x, str):
            _check_text(x, name)
        elif isinstance(x, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ConfigError(name, "", f"the document is nested too deeply (more than {MAX_DEPTH} levels)")
            items = [*x.values(), *x.keys()] if isinstance(x, dict) else x
            stack.extend((v, depth + 1) for v in items)


def _check_text(text: str, name: str) -> None:
    """Refuse strings that cannot be written as UTF-8 (lone surrogates from ``"\\udc80"`` escapes) or hold NUL."""
    if "\x00" in text:  # a C string ends there: file names, CSV readers and terminals cut it
        raise ConfigError(name, "", f"the text {text[:40]!r} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        raise ConfigError(name, "", f"the text {shown[:40]!r} holds a lone surrogate, which is not valid Unicode") from None


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
        try:
            path = (base_dir / value).resolve() if not Path(value).is_absolute() else Path(value)
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a loop of links
            why = "the path contains a NUL byte" if isinstance(exc, ValueError) else str(exc)
            raise ConfigError(origins.get("", "<config>"), section, f"cannot use {kind[:-1]} path ({why})") from None
    else:
        path = shipped(kind, value)
        if path is None:
            raise ConfigError(
                origins.get("", "<config>"), section,
                f"unknown {kind[:-1]} '{value}'; shipped: {', '.join(shipped_names(kind)) or 'none'}",
            )
    try:
        found = path.exists()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long, a loop of links
        why = "the path contains a NUL byte" if isinstance(exc, ValueError) else exc.strerror or str(exc)
        raise ConfigError(origins.get("", "<config>"), section, f"cannot use {kind[:-1]} path ({why})") from None
    if not found and path.is_symlink():
        raise ConfigError(origins.get("", "<config>"), section,
                          f"cannot use {kind[:-1]} path (a symbolic link that loops or points nowhere: {path})")
    if not found:  # name the field that points at it, not just the missing path
        raise ConfigError(origins.get("", "<config>"), section, f"{kind[:-1]} file not found: {path}")
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
            arrival["file"] = _trace_path(arrival["file"], base_dir)


def _trace_path(file: str, base_dir: Path) -> str:
    """``file`` made absolute against ``base_dir``; ConfigError for a path that cannot be one."""
    try:
        f = Path(file)
        return str(f if f.is_absolute() else (base_dir / f).resolve())
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a loop of links
        why = "the path contains a NUL byte" if "\x00" in file else str(exc)
        raise ConfigError(file.replace("\x00", "\\0"), "", f"cannot read trace file ({why})") from None


def _inline_trace_files(data: dict) -> None:
    """Replace trace ``file`` references by their times.

    The resolved config (and so the manifest and its hash) then records what was
    replayed rather than where the file happened to be, so two checkouts in
    different folders produce identical run files. A relative path given through
    ``--set`` resolves against the current directory.
    """
    from simsched.config.trace import read_trace

    workload = data.get("workload")
    apps = workload.get("apps") if isinstance(workload, dict) else None
    if not isinstance(apps, dict):
        return
    for app in apps.values():
        arrival = app.get("arrival") if isinstance(app, dict) else None
        if isinstance(arrival, dict) and arrival.get("type") == "trace" and isinstance(arrival.get("file"), str):
            if arrival.get("times_ms") is not None:
                continue  # both given: let validation report it
            arrival["times_ms"] = read_trace(_trace_path(arrival.pop("file"), Path.cwd()))


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
        _check_size(source, "<inline>")
        data = copy.deepcopy(source)
        base_dir = Path.cwd()
        path = "<inline>"
    else:
        path = str(source)
        data = read_yaml(source)
        base_dir = Path(source).resolve().parent
    origins[""] = path
    if not isinstance(data, dict):
        got = type(data).__name__ if data is not None else "an empty file"
        raise ConfigError(path, "", f"expected a mapping at the top level, got {got}")
    overrides = list(overrides or [])
    # `--set platform=NAME` / `--set workload=PATH` replace a whole section: apply them
    # before names are resolved, so the new name is looked up like one in the file.
    early = [o for o in overrides if o.split("=", 1)[0].strip() in ("platform", "workload")]
    apply_overrides(data, early)
    overrides = [o for o in overrides if o not in early]
    for section, kind in (("platform", "platforms"), ("workload", "workloads")):
        if section in data:
            data[section] = _resolve(data[section], kind, base_dir, origins, section)
    if isinstance(data.get("workload"), dict) and origins.get("workload") is None:
        _absolute_trace_files(data["workload"], base_dir)
    if isinstance(data.get("policy"), str) and any(o.strip().startswith("policy.") for o in overrides or []):
        data["policy"] = {"name": data["policy"]}  # so --set policy.params.x=... has a mapping to go into
    apply_overrides(data, overrides or [])
    if seed is not None:
        data["seed"] = seed
    _inline_trace_files(data)
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
        raise _to_config_error(exc, {"": path}, model) from None


def _to_config_error(exc: ValidationError, origins: dict[str, str], model: Any = ExperimentSpec) -> ConfigError:
    errors = exc.errors(include_url=False)
    err = _pick(errors)
    raw_loc = tuple(err["loc"])
    loc = [str(x) for x in raw_loc if not _is_union_tag(x)]
    # Discriminated unions put the tag in the path (arrival.poisson.rate_hz): drop it.
    if "arrival" in loc:
        i = loc.index("arrival")
        if i + 1 < len(loc) and loc[i + 1] in ("periodic", "poisson", "bursty", "closed", "trace"):
            del loc[i + 1]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, _FieldError):
        loc += original.path.split(".")
        message = original.message
    elif _rank(err) == 1:
        # Every branch of a union rejected the input's type: say what would be accepted.
        branches = [e["msg"].removeprefix("Input should be ") for e in errors if e["loc"][:-1] == raw_loc[:-1] and _rank(e) == 1]
        message = f"input should be {' or '.join(dict.fromkeys(branches))}, got {_shown(err.get('input'))}"
    else:
        message = _message(err, errors, model)
    file = origins.get("", "<config>")
    if loc and loc[0] in ("platform", "workload") and loc[0] in origins:
        file = origins[loc[0]]
        loc = loc[1:]
    return ConfigError(file, ".".join(loc), message)


# Union members appear in error paths as their type (``after.list[str]``, ``source.str``).
_UNION_TAG = re.compile(r"(str|int|float|bool|(list|dict|tuple|set|nullable)\[.*\])")


def _is_union_tag(x: Any) -> bool:
    return isinstance(x, str) and _UNION_TAG.fullmatch(x) is not None


def _rank(err: dict[str, Any]) -> int:
    if err["type"] == "missing":
        return 2  # often the consequence of a misspelt key reported as unknown
    if err["type"].endswith("_type") and err["loc"] and _is_union_tag(err["loc"][-1]):
        return 1  # a union branch that does not fit the input's shape
    return 0


def _pick(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The error worth reporting: a concrete problem before a missing key or a non-matching union branch."""
    return min(errors, key=_rank)


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _fields_at(model: Any, loc: tuple) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (empty when not a model)."""
    t = model
    for part in (*(x for x in loc if not _is_union_tag(x)), None):
        while get_origin(t) is Annotated:
            t = get_args(t)[0]
        if get_origin(t) in (Union, UnionType):
            members = [a for a in get_args(t) if a is not type(None)]
            models = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
            # A discriminated union names its member in the path (arrival.poisson): follow it.
            tagged = [m for m in models if "type" in m.model_fields and part in get_args(m.model_fields["type"].annotation)]
            if tagged:
                t = tagged[0]
                continue
            dicts = [a for a in members if get_origin(a) is dict]
            t = (models if part is None or any(part in m.model_fields for m in models) else dicts or models or members)[0]
        if part is None:
            break
        if isinstance(t, type) and issubclass(t, BaseModel) and part in t.model_fields:
            t = t.model_fields[part].annotation
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        elif get_origin(t) in (list, tuple) and isinstance(part, int):
            t = get_args(t)[0]
        else:
            return []
    return list(t.model_fields) if isinstance(t, type) and issubclass(t, BaseModel) else []


def _message(err: dict[str, Any], errors: list[dict[str, Any]], model: Any = None) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "extra_forbidden":
        # Most unknown keys are misspelt known ones: suggest the closest.
        known = _fields_at(model, err["loc"][:-1]) if model is not None else []
        known += [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == err["loc"][:-1]]
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1, cutoff=0.6)
        if close:
            return f"unknown field; did you mean '{close[0]}'?"
        return "unknown field (check the spelling; `simsched schema` lists every field)"
    if msg and not msg[:2].isupper():  # "Input should be ..." reads on after "field:"; keep acronyms (OPP)
        msg = msg[0].lower() + msg[1:]
    value = err.get("input")
    if err["type"] in ("model_type", "model_attributes_type", "dict_type") or isinstance(value, (dict, list)):
        return msg
    return f"{msg}, got {_shown(value)}"
