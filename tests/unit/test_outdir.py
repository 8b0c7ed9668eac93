"""Output safety: run directories are published without losing or touching anything unnamed."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from simsched import outdir
from simsched.cli import main
from simsched.outdir import OutputDir, PublishError, TargetExistsError, check_target

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "experiments" / "minimal.yaml"
SHORT = ["--set", "duration_ms=2000"]


@pytest.fixture(params=["renameat2", "fallback"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with renameat2 (where the system has it) and with the portable fallback."""
    if request.param == "fallback":
        monkeypatch.setattr(outdir, "_renameat2", None)
    elif outdir._renameat2 is None:
        pytest.skip("no renameat2 on this system")
    return request.param


def _write(od: OutputDir, text: str = "new") -> None:
    (od.tmp / "summary.json").write_text(text, encoding="utf-8")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_publish_creates_the_directory(tmp_path: Path, mode: str) -> None:
    with OutputDir(tmp_path / "run") as od:
        _write(od)
        od.publish()
    assert (tmp_path / "run" / "summary.json").read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_a_folder_created_mid_run_is_kept(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "run"
    with OutputDir(target) as od:
        _write(od)
        target.mkdir()  # someone else's results appear while the run goes
        (target / "theirs.txt").write_text("keep me", encoding="utf-8")
        with pytest.raises(TargetExistsError, match="appeared"):
            od.publish()
    assert (target / "theirs.txt").read_text() == "keep me"
    assert not (target / "summary.json").exists()
    assert _leftovers(tmp_path) == []


def test_an_empty_folder_created_mid_run_is_not_replaced(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "run"
    with OutputDir(target) as od:
        _write(od)
        target.mkdir()
        with pytest.raises(TargetExistsError):
            od.publish()
    assert target.is_dir() and list(target.iterdir()) == []


def test_force_replaces_only_what_was_there_when_checked(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old", encoding="utf-8")
    with OutputDir(target, force=True) as od:
        _write(od)
        od.publish()
    assert sorted(p.name for p in target.iterdir()) == ["summary.json"]
    # force with nothing there: a folder that appears meanwhile is still kept
    other = tmp_path / "other"
    with OutputDir(other, force=True) as od:
        _write(od)
        other.mkdir()
        (other / "theirs.txt").write_text("x", encoding="utf-8")
        with pytest.raises(TargetExistsError):
            od.publish()
    assert (other / "theirs.txt").exists()
    assert _leftovers(tmp_path) == []


def test_force_keeps_a_target_swapped_mid_run(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "run"
    target.mkdir()
    with OutputDir(target, force=True) as od:
        _write(od)
        target.rename(tmp_path / "moved")
        target.mkdir()
        (target / "theirs.txt").write_text("x", encoding="utf-8")
        with pytest.raises(TargetExistsError):
            od.publish()
    assert (target / "theirs.txt").exists()


def test_force_never_touches_siblings(tmp_path: Path, mode: str) -> None:
    for name in (".run.old", ".run.abc", "run.bak"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keep.txt").write_text(name, encoding="utf-8")
    (tmp_path / "run").mkdir()
    for _ in range(2):
        code = main(["run", str(MINIMAL), *SHORT, "--out", str(tmp_path / "run"), "--force"])
        assert code == 0
    for name in (".run.old", ".run.abc", "run.bak"):
        assert (tmp_path / name / "keep.txt").read_text() == name
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.abc", ".run.old", "run", "run.bak"]


def test_concurrent_runs_on_one_target(tmp_path: Path, mode: str) -> None:
    """Two writers race for one target: exactly one wins, the other is refused, nothing is mixed."""
    target = tmp_path / "run"
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def writer(tag: str) -> None:
        with OutputDir(target) as od:
            _write(od, tag)
            barrier.wait()
            try:
                od.publish()
                outcome[tag] = "won"
            except TargetExistsError:
                outcome[tag] = "refused"

    for _ in range(20):
        threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcome.values()) == ["refused", "won"]
        winner = next(k for k, v in outcome.items() if v == "won")
        assert (target / "summary.json").read_text() == winner
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
        for p in target.iterdir():
            p.unlink()
        target.rmdir()
        outcome.clear()


def test_concurrent_cli_runs_one_wins_the_other_exits_2(tmp_path: Path) -> None:
    """Two processes, the target checked free by both before either publishes."""
    import subprocess
    import sys

    target = tmp_path / "run"
    cmd = [sys.executable, "-m", "simsched.cli", "run", str(MINIMAL), *SHORT, "--out", str(target)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(c for c, _ in results)
    # Both may see the target free (the race) or the second may already see it: either way, one exit 0, one 2.
    assert codes == [0, 2], results
    loser = next(err for c, err in results if c == 2)
    assert len(loser.splitlines()) == 1 and "Traceback" not in loser
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (target / "summary.json").exists()


def test_symlinked_out_with_force_writes_through(tmp_path: Path, mode: str) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "old.txt").write_text("old", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(real)
    for extra in ([], ["--stream"]):
        assert main(["run", str(MINIMAL), *SHORT, "--out", str(link), "--force", *extra]) == 0
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert (real / "summary.json").exists() and not (real / "old.txt").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_symlinked_out_without_force_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert main(["run", str(MINIMAL), *SHORT, "--out", str(tmp_path / "link")]) == 2
    assert "exists" in capsys.readouterr().err
    assert list((tmp_path / "real").iterdir()) == []


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "made")
    assert main(["run", str(MINIMAL), *SHORT, "--out", str(tmp_path / "link")]) == 0
    assert (tmp_path / "made" / "summary.json").exists()
    assert (tmp_path / "link").is_symlink()


def test_symlink_loop_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert main(["run", str(MINIMAL), *SHORT, "--out", str(loop), "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "symbolic link" in err


@pytest.mark.parametrize(
    "out", ["", " ", ".", "/", "..", "./", "sub/.."], ids=["empty", "blank", "dot", "root", "dotdot", "dot-slash", "sub-dotdot"]
)
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_out_that_is_cwd_or_an_ancestor_is_refused(
    out: str, force: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "a" / "b"
    (work / "sub").mkdir(parents=True)
    (work / "precious.txt").write_text("x", encoding="utf-8")
    monkeypatch.chdir(work)
    code = main(["run", str(MINIMAL), *SHORT, "--out", out, *(["--force"] if force else [])])
    _out, err = capsys.readouterr()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert (work / "precious.txt").exists()
    assert sorted(p.name for p in work.iterdir()) == ["precious.txt", "sub"]


def test_ancestor_of_cwd_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    for target in (tmp_path, tmp_path / "a", Path("../.."), Path(str(tmp_path) + "/a/../a")):
        with pytest.raises(PublishError, match="ancestors"):
            check_target(target, force=True)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_run_directory_respects_the_umask(mask: int, tmp_path: Path) -> None:
    old = os.umask(mask)
    try:
        for name, extra in (("plain", []), ("stream", ["--stream"])):
            assert main(["run", str(MINIMAL), *SHORT, "--out", str(tmp_path / name), *extra]) == 0
            d = tmp_path / name
            assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask
            for f in d.iterdir():
                assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask
    finally:
        os.umask(old)


def test_failed_publish_leaves_no_temporary_folder(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "run"

    def failing_run() -> OutputDir:
        with OutputDir(target) as od:
            _write(od)
            raise RuntimeError(od.tmp)

    with pytest.raises(RuntimeError) as info:
        failing_run()
    od_tmp = info.value.args[0]
    assert not od_tmp.exists()
    assert list(tmp_path.iterdir()) == []
    assert od_tmp not in outdir.LIVE
