"""A command-line fuzzer: random arguments, ``--set`` values, file contents and paths.

The contract for every invocation: exit code 0, 1 or 2; no traceback on stderr;
nothing outside the sandbox touched, and inside it nothing but the files the
example made and the ``--out`` it named. Calls ``simsched.cli.main`` in-process for
speed (a few subprocess cases cover the console entry). Under CI the examples are
fixed (tests/conftest.py); ``SIMSCHED_CLI_FUZZ_EXAMPLES=2000`` searches longer.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsched.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINIMAL_TEXT = (ROOT / "experiments" / "minimal.yaml").read_text(encoding="utf-8")
EXAMPLES = int(os.environ.get("SIMSCHED_CLI_FUZZ_EXAMPLES", "30"))
# Appended to every run so that an example stays short whatever it sets before.
BOUNDS = ["--set", "duration_ms=300", "--set", "limits.max_events=200000", "--set", "limits.max_jobs=20000"]

KEYS = [
    "seed",
    "duration_ms",
    "warmup_ms",
    "policy",
    "policy.name",
    "policy.params.x",
    "policy.governor",
    "power_mode",
    "budget_w",
    "platform",
    "workload",
    "platform.static_w",
    "platform.processors.cpu0.capacity",
    "platform.processors.cpu0.idle_w",
    "platform.domains.little.opps",
    "platform.models.detector.latency_ms.cpu0",
    "platform.models.detector.segments",
    "workload.apps.camera.arrival",
    "workload.apps.camera.arrival.rate_hz",
    "workload.apps.camera.deadline_ms",
    "workload.apps.camera.graph",
    "workload.apps.camera.graph.detect.after",
    "workload.apps.camera.late",
    "limits.max_events",
    "name",
    "x.y.z",
    "",
]
policies = st.sampled_from(["fifo", "edf", "heft", "twill", "dream", "affinity", "latency_greedy", "nope"])
scalars = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            ".inf",
            "-.inf",
            ".nan",
            "null",
            "[]",
            "{}",
            "[1, 2]",
            "{type: poisson, rate_hz: 5}",
            "'a;b'",
            '"\\udc80"',
            '"\\0"',
            "[[[[[[1]]]]]]",
            "*a",
            "&a 1",
            "!!python/none",
            "<<: {}",
            "cpu0",
            "~",
        ]
    ),
    policies,
    st.text(max_size=12),
)
set_args = st.lists(st.tuples(st.sampled_from(KEYS), scalars).map(lambda kv: f"{kv[0]}={kv[1]}"), max_size=2)
names = st.one_of(
    st.sampled_from(["out", "a/b/out", "out/", "./out", ".out", "..out", "out.yaml", "link", "-o", "exp.yaml", "ex p"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=20),
)


def _mutated_text(draw: st.DrawFn) -> str:
    """The minimal experiment with a few lines changed, deleted or duplicated, or random text."""
    lines = MINIMAL_TEXT.splitlines()
    # Half the examples keep a valid experiment, so that runs get to write their --out.
    kind = draw(st.sampled_from(["same", "same", "yaml", "lines", "text"]))
    if kind == "same":
        return MINIMAL_TEXT
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "yaml":
        data = yaml.safe_load(MINIMAL_TEXT)
        data["policy"] = draw(policies)
        return yaml.safe_dump(data)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "replace", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "replace":
            lines[i] = draw(st.text(max_size=40))
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        if not lines:
            break
    return "\n".join(lines) + "\n"


@st.composite
def invocations(draw: st.DrawFn) -> tuple[str, list[str], str | None]:
    """(config text, argv with CONFIG/OUT placeholders, the --out name or None)."""
    text = _mutated_text(draw)
    command = draw(st.sampled_from(["run", "run", "run", "validate", "plot", "trace", "list", "schema"]))
    out = draw(st.one_of(st.none(), names))
    if command == "run":
        sets = draw(set_args) if draw(st.booleans()) else []
        argv = ["run", "CONFIG", *[x for s in sets for x in ("--set", s)]]
        if draw(st.booleans()):
            argv += ["--seed", str(draw(st.integers(-5, 2**64)))]
        if out is not None:
            argv += ["--out", out]
        for flag in ("--force", "--stream", "--json", "--check"):
            if flag == "--stream" and out is None and draw(st.integers(0, 5)):
                continue  # mostly streamed runs that can get going (one without --out is an error)
            if draw(st.integers(0, 3)) == 0:
                argv.append(flag)
        return text, [*argv, *BOUNDS], out
    if command == "validate":
        return text, ["validate", "CONFIG", *[x for s in draw(set_args) for x in ("--set", s)]], None
    if command in ("plot", "trace"):
        return text, [command, draw(names), "-o", out or "figs"], out or "figs"
    if command == "list":
        return text, ["list", draw(st.sampled_from(["platforms", "workloads", "policies", "governors", "x"]))], None
    return text, ["schema"], None


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p.relative_to(root))] = "link" if p.is_symlink() else "dir"
    return out


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a bystander file beside every sandbox; the bystanders must never change."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "bystander.txt").write_text("must not change\n", encoding="utf-8")
    (root / ".sandbox.old").mkdir()
    (root / ".sandbox.old" / "keep.txt").write_text("keep\n", encoding="utf-8")
    return root


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(invocations())
def test_cli_contract(arena: Path, monkeypatch: pytest.MonkeyPatch, example: tuple[str, list[str], str | None]) -> None:
    text, argv, out = example
    box = arena / f"sandbox-{uuid.uuid4().hex[:8]}"
    box.mkdir()
    (box / "exp.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    (box / "link").symlink_to("exp.yaml")
    argv = [("exp.yaml" if a == "CONFIG" else a) for a in argv]
    outside = _snapshot(arena / ".sandbox.old"), (arena / "bystander.txt").read_text()
    before = _snapshot(box)
    monkeypatch.chdir(box)
    err, std = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2
            code = exc.code if isinstance(exc.code, int) else 2
    stderr = err.getvalue()
    assert code in (0, 1, 2), (argv, code, stderr)
    assert "Traceback" not in stderr, (argv, stderr)
    if code == 2 and stderr.startswith("error: "):
        assert len(stderr.splitlines()) == 1, (argv, stderr)
    assert (_snapshot(arena / ".sandbox.old"), (arena / "bystander.txt").read_text()) == outside
    after = _snapshot(box)
    allowed = {k for k in after if out is not None and _under(k, out)}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - allowed
    assert not changed, (argv, sorted(changed))
    leftovers = [
        k for k in after if Path(k).name.startswith(".") and "/" not in k.rstrip("/") and k not in before and not (out and _under(k, out))
    ]
    assert not leftovers, (argv, leftovers)


def _under(path: str, out: str) -> bool:
    """Whether ``path`` (relative to the sandbox) is ``out`` or inside it (following the ``link`` symlink)."""
    target = os.path.normpath(out.rstrip("/") or out)
    if target == "link":
        target = "exp.yaml"
    return path == target or path.startswith(target + "/") or target in (".", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "exp.yaml", "--set", "duration_ms=300", "--out", ""],
        ["run", "exp.yaml", "--set", "duration_ms=300", "--out", ".", "--force"],
        ["run", "exp.yaml", "--set", 'seed="\\udc80"', "--set", "duration_ms=300"],
        ["plot", "nowhere"],
        ["run", "/dev/zero"],
        ["--bogus"],
    ],
    ids=["out-empty", "out-dot", "surrogate", "plot-missing", "dev-zero", "bad-option"],
)
def test_console_entry_contract(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(MINIMAL_TEXT, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "simsched.cli", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]
