"""A catalogue of bad inputs: each must end in exit code 2 and one helpful line.

Every case builds a broken experiment (usually a small mutation of the documented
minimal example) and runs ``simsched run CONFIG --out DIR``. The contract checked
for each case:

* exit code 2 (bad input), no traceback;
* stderr is exactly one line, ``error: ...``, that names the file the bad value
  came from and, where there is one, the dotted field;
* the line contains a fragment saying what was wrong or what was expected;
* nothing was written: the --out directory does not exist afterwards.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import simsched
from simsched.cli import main
from simsched.config import loader
from simsched.policies.base import Policy

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "experiments" / "minimal.yaml"
DATA = Path(__file__).resolve().parent / "data"

Builder = Callable[[Path], tuple[Path, list[str]]]


def minimal() -> dict[str, Any]:
    """The documented minimal experiment as plain data."""
    return yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))


def set_path(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``cfg[a][b][c] = value`` for ``dotted == "a.b.c"``."""
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[last] = value


def del_path(cfg: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    del node[last]


def write_config(tmp_path: Path, cfg: Any, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def mutate(fn: Callable[..., None], *args: str, **kwargs: Any) -> Builder:
    """A builder: the minimal config changed in place by ``fn(cfg, tmp_path, **kwargs)``."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        cfg = minimal()
        fn(cfg, tmp_path, **kwargs)
        return write_config(tmp_path, cfg), list(args)

    return build


def setting(dotted: str, value: Any, *args: str) -> Builder:
    """A builder: the minimal config with one value replaced."""
    return mutate(lambda cfg, _tmp: set_path(cfg, dotted, value), *args)


def raw(content: str | bytes, name: str = "experiment.yaml") -> Builder:
    """A builder: a file with exactly this content."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path, []

    return build


def fixture(name: str) -> Builder:
    """A builder: a file from tests/cli/data, copied so that the run cannot touch the original."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        path = tmp_path / name
        path.write_bytes((DATA / name).read_bytes())
        return path, []

    return build


# ----------------------------------------------------------------- mutations


def _cycle(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["workload"]["apps"]["camera"]["graph"] = {
        "a": {"model": "detector", "after": ["b"]},
        "b": {"model": "detector", "after": ["a"]},
    }


def _edge_prob(cfg: dict[str, Any], _tmp: Path, prob: float = 1.5) -> None:
    cfg["workload"]["apps"]["camera"]["graph"]["classify"] = {
        "model": "detector",
        "after": {"detect": {"transfer_ms": 0.5, "prob": prob}},
    }


def _typo_top_level(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["duraton_ms"] = cfg.pop("duration_ms")


def _missing_latency(cfg: dict[str, Any], _tmp: Path) -> None:
    del_path(cfg, "platform.models.detector.latency_ms")


def _busy_below_idle(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["platform"]["processors"]["cpu0"].update(idle_w=2.0, busy_w=1.0)


def _no_power_model(cfg: dict[str, Any], _tmp: Path) -> None:
    del_path(cfg, "platform.processors.cpu0.busy_w")


def _trace_file(content: str) -> Callable[[dict[str, Any], Path], None]:
    def fn(cfg: dict[str, Any], tmp: Path) -> None:
        (tmp / "trace.csv").write_text(content, encoding="utf-8")
        cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": "trace.csv"}

    return fn


def _platform_file(cfg: dict[str, Any], tmp: Path) -> None:
    plat = cfg["platform"]
    plat["processors"]["cpu0"]["idle_w"] = -0.05
    write_config(tmp, plat, "board.yaml")
    cfg["platform"] = "board.yaml"


def _both_graph_and_generator(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["workload"]["apps"]["camera"]["generator"] = {"models": {"detector": 1.0}}


def _nested_deep(depth: int) -> str:
    return "seed: 1\nduration_ms: 1000\nx: " + "[" * depth + "]" * depth + "\n"


# ----------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Case:
    """One bad input.

    ``field`` is the dotted path the message must name (None when the problem is
    not at a field); ``source`` is the file name the message must name when it is
    not the experiment file itself (a trace CSV, a platform file, ``--set``).
    """

    id: str
    build: Builder
    fragment: str | tuple[str, ...]
    field: str | None = None
    source: str | None = None

    @property
    def fragments(self) -> tuple[str, ...]:
        return (self.fragment,) if isinstance(self.fragment, str) else self.fragment


APP = "workload.apps.camera"
MODEL = "platform.models.detector"
CPU0 = "platform.processors.cpu0"

CASES = [
    # --- names that resolve to nothing
    Case("unknown-platform-name", setting("platform", "no-such-soc"), "unknown platform 'no-such-soc'", "platform"),
    Case("unknown-workload-name", setting("workload", "no-such-workload"), "unknown workload 'no-such-workload'", "workload"),
    Case("platform-file-missing", setting("platform", "./nowhere/board.yaml"), ("platform file not found", "nowhere/board.yaml"),
         "platform"),
    Case("task-unknown-model", setting(f"{APP}.graph.detect.model", "segmenter"), "unknown model 'segmenter'",
         f"{APP}.graph.detect.model"),
    Case("latency-unknown-processor", setting(f"{MODEL}.latency_ms", {"cpu0": 8.0, "gpu9": 2.0}), ("unknown processor", "cpu0"),
         f"{MODEL}.latency_ms.gpu9"),
    Case("processor-unknown-domain", setting(f"{CPU0}.domain", "big"), ("unknown domain 'big'", "little"), f"{CPU0}.domain"),
    Case("unknown-power-mode", setting("power_mode", "turbo"), ("unknown power mode 'turbo'", "full, half"), "power_mode"),
    Case("unknown-policy", setting("policy", "no-such-policy"), ("unknown policy 'no-such-policy'", "affinity", "fifo"),
         "policy.name"),
    Case("unknown-policy-param", setting("policy", {"name": "fifo", "params": {"foo": 1}}), "unknown parameter",
         "policy.params.foo"),
    Case("unknown-governor", setting("policy", {"name": "fifo", "governor": "warp"}), ("unknown governor 'warp'", "performance"),
         "policy.governor"),
    Case("unknown-arrival-type", setting(f"{APP}.arrival", {"type": "sporadic", "rate_hz": 5}), ("'sporadic'", "'poisson'"),
         f"{APP}.arrival"),
    Case("unknown-processor-kind", setting(f"{CPU0}.kind", "tpu"), ("'cpu'", "'tpu'"), f"{CPU0}.kind"),
    # --- DAG structure
    Case("dag-cycle", mutate(_cycle), ("cycle", "a -> b -> a"), f"{APP}.graph"),
    Case("dag-unknown-dependency", setting(f"{APP}.graph.detect.after", ["ghost"]), "unknown task",
         f"{APP}.graph.detect.after.ghost"),
    Case("dag-self-dependency", setting(f"{APP}.graph.detect.after", ["detect"]), "cannot depend on itself",
         f"{APP}.graph.detect.after.detect"),
    Case("dag-empty-graph", setting(f"{APP}.graph", {}), "graph is empty", APP),
    Case("graph-and-generator", mutate(_both_graph_and_generator), "exactly one of graph and generator", APP),
    Case("edge-prob-above-one", mutate(_edge_prob), ("less than or equal to 1", "1.5"), f"{APP}.graph.classify.after.detect.prob"),
    Case("edge-prob-negative", mutate(_edge_prob, prob=-0.1), "greater than or equal to 0", f"{APP}.graph.classify.after.detect.prob"),
    Case("after-is-a-string", setting(f"{APP}.graph.detect.after", "camera"), ("valid list or a valid dictionary", "'camera'"),
         f"{APP}.graph.detect.after"),
    # --- numbers out of range
    Case("latency-negative", setting(f"{MODEL}.latency_ms.cpu0", -8.0), ("greater than 0", "-8"), f"{MODEL}.latency_ms.cpu0"),
    Case("latency-zero", setting(f"{MODEL}.latency_ms.cpu0", 0), "greater than 0", f"{MODEL}.latency_ms.cpu0"),
    Case("latency-nan", setting(f"{MODEL}.latency_ms.cpu0", float("nan")), "finite", f"{MODEL}.latency_ms.cpu0"),
    Case("latency-missing", mutate(_missing_latency), "needs latency_ms", MODEL),
    Case("deadline-zero", setting(f"{APP}.deadline_ms", 0), "greater than 0", f"{APP}.deadline_ms"),
    Case("deadline-negative", setting(f"{APP}.deadline_ms", -100), "greater than 0", f"{APP}.deadline_ms"),
    Case("rate-negative", setting(f"{APP}.arrival.rate_hz", -60), "greater than 0", f"{APP}.arrival.rate_hz"),
    Case("rate-zero", setting(f"{APP}.arrival.rate_hz", 0), "greater than 0", f"{APP}.arrival.rate_hz"),
    Case("duration-enormous", setting("duration_ms", 1e300), "less than or equal to", "duration_ms"),
    Case("duration-infinite", setting("duration_ms", float("inf")), "finite", "duration_ms"),
    Case("seed-negative", setting("seed", -1), "greater than or equal to 0", "seed"),
    Case("warmup-not-shorter", setting("warmup_ms", 20000), "shorter than duration_ms", "warmup_ms"),
    Case("idle-power-negative", setting(f"{CPU0}.idle_w", -0.05), "greater than or equal to 0", f"{CPU0}.idle_w"),
    Case("capacity-zero", setting(f"{CPU0}.capacity", 0), "greater than or equal to 1", f"{CPU0}.capacity"),
    Case("busy-below-idle", mutate(_busy_below_idle), "below idle_w", CPU0),
    Case("no-power-model", mutate(_no_power_model), "exactly one of busy_w", CPU0),
    Case("jitter-above-period", setting(f"{APP}.arrival", {"type": "periodic", "period_ms": 10, "jitter_ms": 20}),
         "jitter_ms must not exceed period_ms", f"{APP}.arrival"),
    # --- DVFS and power
    Case("opp-out-of-order", setting("platform.domains.little.opps", [[1000, 800], [500, 600]]),
         ("OPP frequencies must be strictly ascending", "500 MHz follows 1000 MHz"),
         "platform.domains.little.opps"),
    Case("opp-duplicate-frequency", setting("platform.domains.little.opps", [[500, 600], [500, 700]]),
         "strictly ascending", "platform.domains.little.opps"),
    Case("opp-voltage-decreasing", setting("platform.domains.little.opps", [[500, 800], [1000, 600]]),
         "OPP voltages must not decrease", "platform.domains.little.opps"),
    Case("opp-table-empty", setting("platform.domains.little.opps", []), "at least 1", "platform.domains.little.opps"),
    Case("budget-below-idle", setting("budget_w", 0.1), "below the platform's static plus idle power", "budget_w"),
    Case("mode-budget-below-idle", setting("platform.power_modes.full.budget_w", 0.1),
         "below the platform's static plus idle power", "platform.power_modes.full.budget_w"),
    Case("mode-cap-below-lowest-opp", setting("platform.power_modes.half.caps_mhz.little", 100),
         "below the lowest OPP", "platform.power_modes.half.caps_mhz.little"),
    Case("mode-everything-offline", setting("platform.power_modes.half.offline", ["cpu0"]), "every processor is offline",
         "platform.power_modes.half.offline"),
    Case("mode-offline-unknown", setting("platform.power_modes.half.offline", ["gpu"]), "unknown processor 'gpu'",
         "platform.power_modes.half.offline"),
    # --- keys and types
    Case("typo-top-level-key", mutate(_typo_top_level), ("unknown field", "did you mean 'duration_ms'"), "duraton_ms"),
    Case("typo-nested-key", setting(f"{CPU0}.idle_W", 0.05), ("unknown field", "did you mean 'idle_w'"), f"{CPU0}.idle_W"),
    Case("typo-arrival-key", setting(f"{APP}.arrival", {"type": "poisson", "rate_hzz": 60}), "did you mean 'rate_hz'",
         f"{APP}.arrival.rate_hzz"),
    Case("unknown-key-no-suggestion", setting("colour", "blue"), ("unknown field", "simsched schema"), "colour"),
    Case("wrong-type", setting("duration_ms", "long"), ("valid number", "'long'"), "duration_ms"),
    Case("wrong-type-mapping", setting("platform.processors", ["cpu0"]), "dictionary", "platform.processors"),
    # --- trace arrivals
    Case("trace-unsorted", setting(f"{APP}.arrival", {"type": "trace", "times_ms": [10, 5, 20]}),
         ("times must be ascending", "5", "10"), f"{APP}.arrival"),
    Case("trace-file-negative", mutate(_trace_file("time_ms\n10\n-5\n20\n")), (">= 0", "-5"), "line 2", "trace.csv"),
    Case("trace-file-unsorted", mutate(_trace_file("10\n30\n20\n")), ("ascending", "20 follows 30"), "line 3", "trace.csv"),
    Case("trace-file-not-a-number", mutate(_trace_file("10\nsoon\n")), "not a number", "line 2", "trace.csv"),
    Case("trace-file-missing", mutate(lambda cfg, _t: set_path(cfg, f"{APP}.arrival", {"type": "trace", "file": "gone.csv"})),
         "cannot read trace file", None, "gone.csv"),
    # --- a platform file that is itself bad: the message names that file and the field inside it
    Case("bad-platform-file", mutate(_platform_file), "greater than or equal to 0", "processors.cpu0.idle_w", "board.yaml"),
    # --- files that are not experiments at all
    Case("python-tag", fixture("python_tag.yaml"), "unsupported YAML tag"),
    Case("alias-bomb", fixture("alias_bomb.yaml"), "aliases"),
    Case("nested-too-deeply", raw(_nested_deep(5_000)), "nested too deeply"),
    Case("nonexistent-file", lambda tmp: (tmp / "missing.yaml", []), "cannot read file"),
    Case("directory", lambda tmp: ((tmp / "configs").mkdir() or tmp / "configs", []), "is a directory"),
    Case("empty-file", raw(""), "empty file"),
    Case("comments-only", raw("# nothing here\n"), "empty file"),
    Case("binary-garbage", raw(bytes(range(256)) * 4), "not a text file"),
    Case("latin1-text", raw("seed: 1\nname: caf\xe9\n".encode("latin-1")), "invalid UTF-8"),
    Case("invalid-yaml", raw("seed: [1, 2\nduration_ms: 5\n"), "invalid YAML"),
    Case("tab-indentation", raw("seed: 1\nplatform:\n\tname: x\n"), "invalid YAML"),
    Case("top-level-list", raw("- seed: 1\n- duration_ms: 5\n"), "expected a mapping at the top level, got list"),
    Case("top-level-scalar", raw("just a sentence\n"), "expected a mapping at the top level, got str"),
    Case("duplicate-key", raw(MINIMAL.read_text(encoding="utf-8") + "seed: 2\n"), "duplicate key 'seed'"),
    # --- command-line overrides
    Case("set-without-equals", setting("seed", 1, "--set", "workload.apps.camera.deadline_ms"), "expected key.path=value",
         None, "--set"),
    Case("set-empty-key-part", setting("seed", 1, "--set", "platform..static_w=1"), "dotted key", None, "--set"),
    Case("set-bad-value", setting("seed", 1, "--set", "platform.static_w=-1"), "greater than or equal to 0",
         "platform.static_w"),
    Case("seed-option-negative", setting("seed", 1, "--seed", "-1"), ("greater than or equal to 0", "-1"), "seed"),
    Case("set-invalid-yaml", setting("seed", 1, "--set", "seed=[1,"), "invalid YAML", None, "--set"),
    Case("set-through-scalar", setting("seed", 1, "--set", "seed.x=1"), "not a mapping", "seed.x", "--set"),
]


# ----------------------------------------------------------------- round two: special files, paths, text, depth


def special(kind: str, where: str = "config") -> Builder:
    """A builder: a FIFO or a device where a file is expected (the config itself, or a file it names)."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        if kind == "fifo":
            target = tmp_path / "pipe"
            os.mkfifo(target)
        else:
            target = Path(kind)
        if where == "config":
            return target, []
        cfg = minimal()
        if where == "trace":
            cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": str(target)}
        else:
            cfg[where] = str(target)
        return write_config(tmp_path, cfg), []

    return build


def path_named(name: str, where: str) -> Builder:
    """A builder: the minimal config naming ``name`` as its platform, workload or trace file."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        cfg = minimal()
        if where == "trace":
            cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": name}
        else:
            cfg[where] = name
        return write_config(tmp_path, cfg), []

    return build


def _self_link(name: str) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        link = tmp_path / name
        link.symlink_to(link)
        return link

    return make


def linked(name: str, where: str) -> Builder:
    """A builder: the config names a symbolic link that points at itself."""

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        link = _self_link(name)(tmp_path)
        if where == "config":
            return link, []
        return path_named(str(link), where)(tmp_path)

    return build


def raw_yaml(text: str) -> Builder:
    """A builder: the minimal experiment's text with a replacement applied (``old=>new``)."""
    old, new = text.split("=>", 1)

    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        base = MINIMAL.read_text(encoding="utf-8")
        assert old in base, old
        path = tmp_path / "experiment.yaml"
        path.write_text(base.replace(old, new, 1), encoding="utf-8")
        return path, []

    return build


def _total_processor(cfg: dict[str, Any], _tmp: Path) -> None:
    procs = cfg["platform"]["processors"]
    procs["total"] = procs.pop("cpu0")
    cfg["platform"]["models"]["detector"]["latency_ms"] = {"total": 8.0}


def _generator(models: dict[str, Any]) -> Callable[[dict[str, Any], Path], None]:
    def fn(cfg: dict[str, Any], _tmp: Path) -> None:
        app = cfg["workload"]["apps"]["camera"]
        del app["graph"]
        app["generator"] = {"models": models}

    return fn


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _deep_params(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["policy"] = {"name": "fifo", "params": {"x": _nested(200)}}


def _deep_platform(cfg: dict[str, Any], _tmp: Path) -> None:
    cfg["platform"]["description"] = _nested(100)


def _long_cycle(cfg: dict[str, Any], _tmp: Path) -> None:
    n = 3000  # deeper than Python's recursion limit: the cycle search must be iterative
    graph = {f"t{i}": {"model": "detector", "after": [f"t{(i + 1) % n}"]} for i in range(n)}
    cfg["workload"]["apps"]["camera"]["graph"] = graph


def _trace_bytes(content: bytes) -> Callable[[dict[str, Any], Path], None]:
    def fn(cfg: dict[str, Any], tmp: Path) -> None:
        (tmp / "trace.csv").write_bytes(content)
        cfg["workload"]["apps"]["camera"]["arrival"] = {"type": "trace", "file": "trace.csv"}

    return fn


def _platform_text(content: str | bytes) -> Callable[[dict[str, Any], Path], None]:
    def fn(cfg: dict[str, Any], tmp: Path) -> None:
        path = tmp / "board.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        cfg["platform"] = "board.yaml"

    return fn


def _workload_dir(cfg: dict[str, Any], tmp: Path) -> None:
    (tmp / "wl.yaml").mkdir()
    cfg["workload"] = "wl.yaml"


def _out(value: str) -> Builder:
    return setting("seed", 1, "--out", value)


LONG_NAME = "n" * 300
CASES += [
    # --- special files: refused before reading, never blocking, never read without limit
    Case("config-fifo", special("fifo"), ("not a regular file", "FIFO"), None, "pipe"),
    Case("config-dev-zero", special("/dev/zero"), ("not a regular file", "device"), None, "/dev/zero"),
    Case("config-dev-null", special("/dev/null"), ("not a regular file", "device"), None, "/dev/null"),
    Case("config-dev-urandom", special("/dev/urandom"), "not a regular file", None, "/dev/urandom"),
    Case("platform-fifo", special("fifo", "platform"), ("not a regular file", "FIFO"), None, "pipe"),
    Case("platform-dev-zero", special("/dev/zero", "platform"), "not a regular file", None, "/dev/zero"),
    Case("workload-fifo", special("fifo", "workload"), ("not a regular file", "FIFO"), None, "pipe"),
    Case("workload-dev-zero", special("/dev/zero", "workload"), "not a regular file", None, "/dev/zero"),
    Case("trace-fifo", special("fifo", "trace"), ("not a regular file", "FIFO"), None, "pipe"),
    Case("trace-dev-zero", special("/dev/zero", "trace"), "not a regular file", None, "/dev/zero"),
    Case("trace-dev-null", special("/dev/null", "trace"), "not a regular file", None, "/dev/null"),
    Case("workload-is-directory", mutate(_workload_dir), "is a directory", None, "wl.yaml"),
    # --- paths that cannot be paths
    Case("config-self-link", linked("loop.yaml", "config"), ("cannot read file", "symbolic links"), None, "loop.yaml"),
    Case("platform-self-link", linked("loop.yaml", "platform"), ("cannot use platform path", "loop"), "platform"),
    Case("workload-self-link", linked("loop.yaml", "workload"), ("cannot use workload path", "loop"), "workload"),
    Case("trace-self-link", linked("loop.csv", "trace"), ("cannot read trace file", "loop"), None, "loop.csv"),
    Case("platform-nul-byte", path_named("a\x00b.yaml", "platform"), ("NUL character", "a\\x00b.yaml")),
    Case("workload-nul-byte", path_named("a\x00b.yaml", "workload"), ("NUL character", "a\\x00b.yaml")),
    Case("trace-nul-byte", path_named("a\x00b.csv", "trace"), ("NUL character", "a\\x00b.csv")),
    Case("config-nul-byte", lambda tmp: (Path(str(tmp / "a") + "\x00b.yaml"), []), ("cannot read file", "NUL"), None,
         "a\\0b.yaml"),
    Case("config-long-name", lambda tmp: (tmp / (LONG_NAME + ".yaml"), []), ("cannot read file", "too long"), None, LONG_NAME),
    Case("platform-long-name", path_named(LONG_NAME + ".yaml", "platform"), "too long", "platform"),
    Case("trace-long-name", path_named(LONG_NAME + ".csv", "trace"), ("cannot read trace file", "too long"), None, LONG_NAME),
    # --- output targets that must never be written or removed
    Case("out-empty", _out(""), "is empty", None, "--out"),
    Case("out-blank", _out("   "), "is empty", None, "--out"),
    Case("out-root", _out("/"), "ancestors", None, "/"),
    Case("out-nul-byte", _out("run\x00x"), "NUL", None, "--out"),
    Case("out-long-name", _out(LONG_NAME), "too long", None, LONG_NAME),
    Case("out-inside-dev-null", _out("/dev/null/run"), "is not a directory", None, "/dev/null/run"),
    Case("out-is-dev-null", setting("seed", 1, "--out", "/dev/null", "--force"), "not a directory", None, "/dev/null"),
    Case("stream-without-out", setting("seed", 1, "--stream", "--out", ""), ("--stream", "give --out DIR")),
    # --- text that cannot be written
    Case("surrogate-app-name", raw_yaml('    camera:=>    "cam\\udc80":'), "lone surrogate"),
    Case("surrogate-task-name", raw_yaml('        detect: {model: detector}=>        "d\\ud800": {model: detector}'),
         "lone surrogate"),
    Case("surrogate-platform-name", raw_yaml("  name: one-core=>  name: \"core\\udfff\""), "lone surrogate"),
    Case("surrogate-in-set", setting("seed", 1, "--set", 'platform.name="x\\udc80"'), "lone surrogate", None, "--set"),
    Case("surrogate-description", raw_yaml("seed: 1=>seed: 1\ndescription: \"\\udc00\""), "lone surrogate"),
    Case("nul-in-yaml-string", raw_yaml("  name: one-core=>  name: \"core\\0\""), "NUL"),
    # --- names that collide
    Case("processor-named-total", mutate(_total_processor), "reserved", "platform.processors.total"),
    Case("duplicate-key-nested", raw_yaml("      deadline_ms: 100=>      deadline_ms: 100\n      deadline_ms: 50"),
         "duplicate key 'deadline_ms'"),
    Case("duplicate-key-beside-merge",
         raw_yaml("    full: {budget_w: 5.0}=>    full: &f {budget_w: 5.0}\n    quarter:\n      <<: *f\n      budget_w: 1.5\n"
                  "      budget_w: 1.2"), "duplicate key 'budget_w'"),
    Case("merge-of-a-scalar", raw_yaml("    full: {budget_w: 5.0}=>    full: {<<: 3, budget_w: 5.0}"), "mappings for merging"),
    # --- random DAG generators
    Case("generator-weight-infinite", mutate(_generator({"detector": float("inf")})), "finite",
         f"{APP}.generator.models.detector"),
    Case("generator-weight-nan", mutate(_generator({"detector": float("nan")})), "finite",
         f"{APP}.generator.models.detector"),
    Case("generator-weight-negative", mutate(_generator({"detector": -1.0})), "greater than or equal to 0",
         f"{APP}.generator.models.detector"),
    Case("generator-weight-huge", mutate(_generator({"detector": 1e300})), "less than or equal to",
         f"{APP}.generator.models.detector"),
    Case("generator-weights-all-zero", mutate(_generator({"detector": 0.0})), "weight above 0", f"{APP}.generator.models"),
    Case("generator-no-models", mutate(_generator({})), "at least 1", f"{APP}.generator.models"),
    Case("generator-unknown-model", mutate(_generator({"ghost": 1.0})), "ghost"),
    Case("generator-tasks-reversed", setting(f"{APP}.graph", None, "--set",
                                             f"{APP}.generator={{models: {{detector: 1}}, tasks: [5, 2]}}"),
         "1 <= low <= high", f"{APP}.generator.tasks"),
    Case("generator-tasks-huge", setting(f"{APP}.graph", None, "--set",
                                         f"{APP}.generator={{models: {{detector: 1}}, tasks: [1, 100000]}}"),
         "1 <= low <= high", f"{APP}.generator.tasks"),
    # --- depth
    Case("deep-policy-params", mutate(_deep_params), "nested too deeply"),
    Case("deep-platform-value", mutate(_deep_platform), "nested too deeply"),
    Case("deep-set-value", setting("seed", 1, "--set", "policy.params.x=" + "[" * 300 + "]" * 300), "nested too deeply",
         None, "--set"),
    Case("deep-set-mapping", setting("seed", 1, "--set", "policy.params.x=" + "{a: " * 100 + "1" + "}" * 100),
         "nested too deeply", None, "--set"),
    Case("long-cycle", mutate(_long_cycle), "cycle", f"{APP}.graph"),
    # --- trace files
    Case("trace-file-latin1", mutate(_trace_bytes("10\n20\ncaf\xe9\n".encode("latin-1"))), "not UTF-8", None, "trace.csv"),
    Case("trace-file-infinite", mutate(_trace_file("10\ninf\n")), "finite", "line 2", "trace.csv"),
    Case("trace-file-nan", mutate(_trace_file("10\nnan\n")), "finite", "line 2", "trace.csv"),
    Case("trace-file-no-column", mutate(_trace_file("when\n10\n")), "no time_ms column", "time_ms", "trace.csv"),
    Case("trace-file-empty-cell", mutate(_trace_file("time_ms,x\n10,1\n,2\n")), "not a number", "line 2", "trace.csv"),
    # --- referenced files that are themselves broken
    Case("platform-file-binary", mutate(_platform_text(bytes(range(256)))), "not a text file", None, "board.yaml"),
    Case("platform-file-list", mutate(_platform_text("- a\n- b\n")), "expected a mapping", None, "board.yaml"),
    Case("platform-file-tag", mutate(_platform_text("name: !!python/name:os.system x\n")), "unsupported YAML tag", None,
         "board.yaml"),
    Case("platform-file-surrogate", mutate(_platform_text('name: "\\udc80"\n')), "lone surrogate", None, "board.yaml"),
    Case("platform-file-deep", mutate(_platform_text("name: x\nd: " + "[" * 100 + "]" * 100 + "\n")), "nested too deeply",
         None, "board.yaml"),
    Case("platform-file-duplicate", mutate(_platform_text("name: x\nname: y\n")), "duplicate key 'name'", None,
         "board.yaml"),
    # --- more numbers out of range
    Case("activity-zero", setting(f"{MODEL}.activity", 0), "greater than 0", f"{MODEL}.activity"),
    Case("segments-zero", setting(f"{MODEL}.segments", 0), "greater than or equal to 1", f"{MODEL}.segments"),
    Case("compute-fraction-above-one", setting(f"{MODEL}.compute_fraction", 1.5), "less than or equal to 1",
         f"{MODEL}.compute_fraction"),
    Case("capacity-huge", setting(f"{CPU0}.capacity", 10**9), "less than or equal to 1024", f"{CPU0}.capacity"),
    Case("opp-frequency-negative", setting("platform.domains.little.opps", [[-500, 600], [1000, 800]]), "greater than 0",
         "platform.domains.little.opps"),
    Case("switch-negative", setting("platform.domains.little.switch_ms", -1), "greater than or equal to 0",
         "platform.domains.little.switch_ms"),
    Case("priority-huge", setting(f"{APP}.priority", 10**6), "less than or equal to 1000", f"{APP}.priority"),
    Case("seed-huge", setting("seed", 2**70), "less than or equal to", "seed"),
    Case("limits-zero", setting("limits", {"max_events": 0}), "greater than or equal to 1", "limits.max_events"),
    Case("limits-unknown-key", setting("limits", {"max_memory": 1}), "unknown field", "limits.max_memory"),
    Case("population-zero", setting(f"{APP}.arrival", {"type": "closed", "population": 0}), "greater than or equal to 1",
         f"{APP}.arrival.population"),
    Case("bursty-missing-on", setting(f"{APP}.arrival", {"type": "bursty", "rate_hz": 5, "off_ms": 10}),
         "required field is missing", f"{APP}.arrival.on_ms"),
]


def _ids(cases: list[Case]) -> list[str]:
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be distinct"
    return ids


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_catalogue_is_large_and_distinct() -> None:
    assert len(set(_ids(CASES))) >= 150


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_bad_input_exits_2_with_one_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, extra = case.build(tmp_path)
    out_dir = tmp_path / "out"
    t0 = time.perf_counter()
    code, out, err = _run(["run", str(path), "--out", str(out_dir), *extra], capsys)
    elapsed = time.perf_counter() - t0

    assert "Traceback" not in err
    assert code == 2, f"exit {code}, stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    line = lines[0]
    assert err == line + "\n"
    assert line.startswith("error: ")
    source = case.source or path.name
    assert source in line, f"{source!r} not named in {line!r}"
    if case.field is not None:
        assert case.field in line, f"field {case.field!r} not named in {line!r}"
    for fragment in case.fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert not out_dir.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir()), "a temporary run directory was left behind"
    assert out == ""
    assert elapsed < 10, f"rejecting a bad input took {elapsed:.1f} s"


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("dag-cycle", "budget-below-idle", "unknown-policy")],
                         ids=lambda c: c.id)
def test_validate_rejects_the_same_inputs(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _extra = case.build(tmp_path)
    code, out, err = _run(["validate", str(path)], capsys)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert path.name in err
    assert all(f in err for f in case.fragments)


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_existing_out_dir_is_untouched_by_a_bad_config(
    force: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "previous-run"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("results of an earlier run\n", encoding="utf-8")
    before = _digest(out_dir)
    cfg = minimal()
    set_path(cfg, f"{MODEL}.latency_ms.cpu0", -1)
    path = write_config(tmp_path, cfg)

    code, _out, err = _run(["run", str(path), "--out", str(out_dir), *(["--force"] if force else [])], capsys)

    assert code == 2
    assert f"{MODEL}.latency_ms.cpu0" in err
    assert _digest(out_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.yaml", "previous-run"]


def test_out_inside_a_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("not a directory\n", encoding="utf-8")
    code, out, err = _run(["run", str(MINIMAL), "--out", str(blocker / "run1")], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {blocker / 'run1'}: ")
    assert f"{blocker} is not a directory" in err
    assert blocker.read_text(encoding="utf-8") == "not a directory\n"


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 64)
    code, _out, err = _run(["run", str(MINIMAL), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.startswith("error: ")
    assert "minimal.yaml" in err
    assert "the limit is 64" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv_prefix", [["--debug", "run"], ["run", "--debug"]], ids=["global", "run-option"])
def test_debug_shows_the_traceback(argv_prefix: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = minimal()
    _cycle(cfg, tmp_path)
    path = write_config(tmp_path, cfg)
    code, _out, err = _run([*argv_prefix, str(path)], capsys)
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert "ConfigError" in err
    assert err.splitlines()[-1].startswith("error: ")
    assert "cycle" in err.splitlines()[-1]


# ----------------------------------------------------------------- a policy that asks for the impossible

BAD_POLICY = "test-bad-placement"


@simsched.register_policy(BAD_POLICY)
class BadPlacement(Policy):
    """Starts every task on a processor that cannot run its model."""

    def on_ready(self, task, sim):
        able = sim.candidates(task)
        wrong = [p for p in sim.processors if p not in able]
        sim.start(task, wrong[0])


def two_core_config() -> dict[str, Any]:
    """The minimal experiment with a second core that has no profile for the detector."""
    cfg = minimal()
    cfg["platform"]["processors"]["cpu1"] = copy.deepcopy(cfg["platform"]["processors"]["cpu0"])
    cfg["policy"] = BAD_POLICY
    cfg["duration_ms"] = 1000
    assert list(cfg["platform"]["models"]["detector"]["latency_ms"]) == ["cpu0"]
    return cfg


def test_impossible_placement_raises_policy_error() -> None:
    with pytest.raises(simsched.PolicyError) as info:
        simsched.simulate(two_core_config())
    message = str(info.value)
    assert BAD_POLICY in message
    assert "detect" in message
    assert "cpu1" in message
    assert "no profile" in message


def test_impossible_placement_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, two_core_config())
    code, out, err = _run(["run", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert BAD_POLICY in lines[0]
    assert "cpu1" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="file permissions do not apply to root")
def test_unreadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, minimal())
    path.chmod(0)
    try:
        code, out, err = _run(["run", str(path), "--out", str(tmp_path / "out")], capsys)
    finally:
        path.chmod(0o644)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: cannot read file")
    assert not (tmp_path / "out").exists()
