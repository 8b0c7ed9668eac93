"""``simsched report``: a self-contained HTML page, checked as text and in headless Chromium."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsched import simulate
from simsched.cli import main
from simsched.report import plots
from simsched.report.stats import summarize_runs
from tests.helpers import ROOT


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One second of the quickstart (five processors, several apps), written to a run directory."""
    d = tmp_path_factory.mktemp("run") / "qs"
    simulate(ROOT / "experiments" / "quickstart.yaml", overrides=["duration_ms=1000"]).write(d)
    return d


@pytest.fixture(scope="module")
def report(run_dir: Path) -> Path:
    out = run_dir.parent / "report.html"
    code, stdout, err = run_main(["report", str(run_dir), "-o", str(out)])
    assert code == 0, err
    assert stdout.strip() == str(out)
    return out


def _timeline_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="tl-data">(.*?)</script>', page, flags=re.S)
    assert m
    return json.loads(m.group(1))


def test_run_report_is_self_contained_with_tables_figures_manifest_and_timeline(run_dir: Path, report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    # nothing fetched from the network: no external src/href, and a policy forbidding it
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3  # Gantt, power, frequency
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["manifest"]["config_hash"] in page
    for app in summary["apps"]:
        assert f"<td>{app}</td>" in page
    data = _timeline_data(page)
    segments = pd.read_csv(run_dir / "segments.csv")
    assert data["processors"] == list(summary["utilization"])
    assert len(data["segments"]) == len(segments)
    assert sorted(s[1] for s in data["segments"]) == pytest.approx(sorted(segments["start_ms"]))
    assert data["end_ms"] == summary["sim_end_ms"]


def test_compare_report_has_facets_statistics_and_runs(tmp_path: Path) -> None:
    rows = []
    for policy in ("fifo", "affinity"):
        for seed in (1, 2):
            s = simulate(ROOT / "experiments" / "quickstart.yaml", overrides=["duration_ms=1000", f"policy={policy}"], seed=seed).summary
            rows.append({"policy": policy, "seed": seed, **s["overall"], "energy_mj": s["energy_mj"],
                         **{f"apps.{a}.deadline_miss_rate": m["deadline_miss_rate"] for a, m in s["apps"].items()}})
    runs = pd.DataFrame(rows)
    d = tmp_path / "cmp"
    d.mkdir()
    runs.to_csv(d / "runs.csv", index=False)
    summarize_runs(runs).to_csv(d / "summary.csv", index=False)
    out = tmp_path / "cmp.html"
    code, _, err = run_main(["report", str(d), "-o", str(out)])
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # rates, energy-latency, LLM
    assert "comparison of fifo, affinity" in page
    assert page.count("<tr>") >= len(runs) + 1
    assert 'id="tl-data"' not in page  # no single run to draw


def test_report_rejects_what_it_cannot_show(tmp_path: Path) -> None:
    code, _, err = run_main(["report", str(tmp_path / "missing")])
    assert code == 2 and "not a directory" in err
    (tmp_path / "sweep.json").write_text("{}")
    code, _, err = run_main(["report", str(tmp_path)])
    assert code == 2 and "sweep" in err
    assert len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- in a real browser


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1280,1600", *args,
            page.resolve().as_uri(),
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_report_opens_in_headless_chromium(run_dir: Path, report: Path, tmp_path: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    processors = list(summary["utilization"])
    n_segments = len(pd.read_csv(run_dir / "segments.csv"))

    dom = _browser(report, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the script ran to its end and built one row per processor, one bar per segment
    assert re.search(r'<svg id="timeline"[^>]*data-ready="1"', dom.stdout)
    assert re.search(rf'data-segments="{n_segments}"', dom.stdout)
    rows = re.findall(r'<g class="tl-row" data-processor="([^"]+)"', dom.stdout)
    assert rows == processors
    assert dom.stdout.count('class="tl-seg"') == n_segments
    # no console message: no script error, no blocked request
    assert not [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln], dom.stderr[-2000:]

    shot = tmp_path / "shot.png"
    res = _browser(report, f"--screenshot={shot}")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    import matplotlib.image

    img = matplotlib.image.imread(shot)[..., :3]
    assert img.std() > 0.05  # not a blank page
    # the timeline's colours are on screen: every app with a bar long enough to see has pixels of its colour
    colors = plots.app_colors(sorted({str(a) for a in pd.read_csv(run_dir / "segments.csv")["app"]}))
    seg = pd.read_csv(run_dir / "segments.csv")
    longest = seg.assign(d=seg["end_ms"] - seg["start_ms"]).groupby("app")["d"].sum()
    visible = [a for a, d in longest.items() if d > 0.02 * summary["sim_end_ms"]]
    assert visible
    for app in visible:
        rgb = np.array(colors[app][:3])
        close = np.abs(img - rgb).max(axis=2) < 0.02
        assert close.sum() > 50, f"no pixels of {app}'s colour in the screenshot"


def test_report_of_a_sweep_directory(tmp_path: Path) -> None:
    import simsched

    spec = {"base": str(ROOT / "experiments" / "minimal.yaml"), "grid": {"policy": ["fifo", "edf"], "workload.load_scale": [0.5, 1.0]},
            "seeds": 2, "set": ["duration_ms=500"]}
    simsched.sweep(spec, tmp_path / "sw", jobs=1, progress=False)
    out = tmp_path / "sweep.html"
    code, _, err = run_main(["report", str(tmp_path / "sw"), "-o", str(out)])
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 1  # one numeric swept key: load_scale
    assert "sweep over policy, workload.load_scale" in page
    configs = page.split('id="configs"')[1].split("</section>")[0]
    assert configs.count("<tr>") == 4  # 2 policies x 2 loads (the header row is styled)
    assert "8 runs, 0 failed" in page
