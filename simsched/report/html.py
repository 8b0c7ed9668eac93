"""A self-contained HTML report of a run directory or a comparison directory.

The page needs no network: figures are inline PNG (base64), styles and script are
inline, and the run's timeline is drawn by a small script from the segments embedded
as JSON. It opens offline in any browser.

* A run directory (``simsched run --out``): the summary (overall and per app), the
  figures (Gantt chart with every marking explained, power, frequency), an
  interactive timeline (one row per processor; the mouse wheel zooms, dragging pans,
  a double click resets) and the manifest.
* A comparison directory (``simsched compare --out``): the statistics per policy and
  metric, the figures of the comparison (rates per app, energy against latency, LLM
  metrics) and the per-run metrics.

The timeline's elements carry ids and classes that tests read back from the DOM:
``#timeline`` holds one ``g.tl-row`` per processor (``data-processor``) with one
``rect.tl-seg`` per drawn segment; when the script has run, ``#timeline`` has
``data-ready="1"`` and ``data-segments`` (segments drawn).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from simsched.errors import ConfigError

MAX_TIMELINE_SEGMENTS = 50_000
"""Segments embedded in the timeline at most (the first ones in time); more would make the page slow."""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig: Any, alt: str) -> str:
    text = html.escape(alt)
    return f'<figure><img alt="{text}" src="data:image/png;base64,{_png(fig)}"><figcaption>{text}</figcaption></figure>'


def _table(df: pd.DataFrame, cls: str = "") -> str:
    return df.to_html(index=False, border=0, classes=cls or None, float_format=lambda v: f"{v:.4g}", na_rep="")


def kind_of(path: str | Path) -> str:
    """What a directory holds: ``"run"``, ``"compare"`` or ``"sweep"``.

    Raises
    ------
    ConfigError
        The path is not a directory or holds none of these.
    """
    d = Path(path)
    if not d.is_dir():
        raise ConfigError(str(path), "", "not a directory; expected a run or comparison directory")
    if (d / "summary.json").is_file() and (d / "segments.csv").is_file():
        return "run"
    if (d / "runs.csv").is_file() and (d / "summary.csv").is_file():
        return "compare"
    if (d / "results.csv").is_file():
        return "sweep"
    raise ConfigError(str(path), "", "neither a run directory (summary.json, segments.csv ...), a comparison directory "
                                     "(runs.csv, summary.csv) nor a sweep directory (results.csv)")


def render(path: str | Path) -> str:
    """The HTML page of a run, comparison or sweep directory.

    Parameters
    ----------
    path : str or Path
        A directory written by ``simsched run --out``, ``simsched compare --out`` or
        ``simsched sweep --out``.

    Returns
    -------
    str
        One self-contained HTML document.

    Raises
    ------
    ConfigError
        Not a run, comparison or sweep directory, or one whose tables are damaged.
    """
    kind = kind_of(path)
    if kind == "run":
        title, body = _run_body(Path(path))
    elif kind == "compare":
        title, body = _compare_body(Path(path))
    else:
        title, body = _sweep_body(Path(path))
    return _PAGE.replace("{title}", html.escape(title)).replace("{style}", _STYLE).replace("{body}", body)


def write_report(path: str | Path, out: str | Path) -> Path:
    """Write :func:`render` of ``path`` to the file ``out`` (UTF-8)."""
    out = Path(out)
    page = render(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# ----------------------------------------------------------------------------- run


def _run_body(d: Path) -> tuple[str, str]:
    from matplotlib.figure import Figure

    from simsched.report import plots, read_run
    from simsched.report.trace import processor_order

    run = read_run(d)
    s = run.summary
    procs = processor_order(run)
    end = float(s.get("sim_end_ms") or (run.power["time_ms"].max() if len(run.power) else 0.0))
    title = f"{s.get('platform', '')} | {s.get('workload', '')} | {s.get('policy', '')} | seed {s.get('seed', '')}"
    overall = pd.DataFrame([{"metric": k, "value": v} for k, v in (s.get("overall") or {}).items()])
    energy = pd.DataFrame([{"metric": k, "value": s.get(k)} for k in
                           ("energy_mj", "avg_power_w", "peak_power_w", "budget_w", "power_mode", "time_over_budget_ms",
                            "sim_end_ms", "warmup_ms") if k in s])
    apps = pd.DataFrame([{"app": a, **m} for a, m in (s.get("apps") or {}).items()])
    keep = [c for c in ("app", "jobs_arrived", "jobs_finished", "jobs_dropped", "latency_mean_ms", "latency_p50_ms",
                        "latency_p95_ms", "latency_p99_ms", "deadline_miss_rate", "ttft_mean_ms", "tokens_per_s_mean")
            if c in apps]
    util = pd.DataFrame([{"processor": p, "utilisation": u} for p, u in (s.get("utilization") or {}).items()])

    gantt_fig = Figure(figsize=(12.0, 1.6 + 0.45 * len(procs)), layout="constrained")
    ax = plots.gantt(run.tasks, run.segments, run.jobs, ax=gantt_fig.subplots(), processors=procs, labels=True,
                     markings="all")
    ax.set_title(title)
    power_fig = Figure(figsize=(12.0, 4.0), layout="constrained")
    plots.power_trace(run.power, s.get("budget_w"), ax=power_fig.subplots(), t_end=end, processors=procs)
    freq_fig = Figure(figsize=(12.0, 3.2), layout="constrained")
    plots.frequency_trace(run.frequency, ax=freq_fig.subplots(), t_end=end)

    seg = run.segments.sort_values(["start_ms", "processor"], kind="stable").head(MAX_TIMELINE_SEGMENTS)
    model = run.tasks.drop_duplicates(["job_id", "task"]).set_index(["job_id", "task"])["model"]
    models = model.reindex(pd.MultiIndex.from_frame(seg[["job_id", "task"]])).fillna("").astype(str).tolist()
    app_names = sorted({str(a) for a in run.segments["app"]})
    colors = plots.app_colors(app_names)
    hexes = {a: "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in colors[a][:3])) for a in app_names}
    row_of = {p: i for i, p in enumerate(procs)}
    data = {
        "processors": procs,
        "apps": app_names,
        "colors": [hexes[a] for a in app_names],
        "end_ms": end,
        # one segment: [row, start_ms, end_ms, app index, job_id, task, model]
        "segments": [
            [row_of.get(str(p), 0), round(float(a), 6), round(float(b), 6), app_names.index(str(app)), int(j), str(t), m]
            for p, a, b, app, j, t, m in zip(seg["processor"], seg["start_ms"], seg["end_ms"], seg["app"], seg["job_id"],
                                             seg["task"], models, strict=True)
        ],
        "truncated": len(run.segments) > len(seg),
    }
    legend = "".join(f'<span class="key"><i style="background:{hexes[a]}"></i>{html.escape(a)}</span>' for a in app_names)
    note = (f"<p>The timeline shows the first {len(seg)} of {len(run.segments)} segments.</p>" if data["truncated"] else "")
    body = f"""
<h1>{html.escape(title)}</h1>
<p class="sub">run directory <code>{html.escape(str(d))}</code></p>
<nav><a href="#summary">summary</a> <a href="#timeline-sec">timeline</a> <a href="#figures">figures</a>
<a href="#manifest">manifest</a></nav>
<section id="summary"><h2>Summary</h2>
<div class="cols"><div><h3>Overall</h3>{_table(overall)}</div><div><h3>Energy and power</h3>{_table(energy)}
<h3>Utilisation</h3>{_table(util)}</div></div>
<h3>Per app</h3>{_table(apps[keep]) if len(apps) else "<p>no apps</p>"}
</section>
<section id="timeline-sec"><h2>Timeline</h2>
<p>One row per processor, one bar per execution segment, coloured by app. Mouse wheel: zoom at the pointer;
drag: pan; double click: whole run. Hover a bar for its job, task and model.</p>
<div class="legend">{legend}</div>{note}
<div id="tl-wrap"><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></div>
<p id="tl-window" class="sub"></p>
</section>
<section id="figures"><h2>Figures</h2>
{_img(gantt_fig, "Gantt chart (the legend explains the markings)")}
{_img(power_fig, "Power per processor, stacked, with the total and the budget")}
{_img(freq_fig, "Frequency of each DVFS domain")}
</section>
<section id="manifest"><h2>Manifest</h2>
<pre>{html.escape(json.dumps(s.get("manifest", {}), indent=2, sort_keys=True))}</pre>
</section>
<script type="application/json" id="tl-data">{_json_for_script(data)}</script>
<script>{_TIMELINE_JS}</script>
"""
    return title, body


def _json_for_script(data: Any) -> str:
    # "</" inside a script element would end it early
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


# ----------------------------------------------------------------------------- comparison


def _compare_body(d: Path) -> tuple[str, str]:
    from matplotlib.figure import Figure

    from simsched.report import plots

    try:
        runs = pd.read_csv(d / "runs.csv")
        summary = pd.read_csv(d / "summary.csv")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(str(d), "", f"cannot read the comparison tables ({exc})") from None
    need = {"policy", "metric", "mean", "ci_low", "ci_high"}
    if not need <= set(summary.columns):
        raise ConfigError(str(d / "summary.csv"), "", f"missing columns {', '.join(sorted(need - set(summary.columns)))}")
    title = f"comparison of {', '.join(dict.fromkeys(summary['policy'].astype(str)))}"
    figs = []
    fig = Figure(figsize=(11.0, 4.0), layout="constrained")
    plots.rates_by_policy(summary, "deadline_miss_rate", ax=fig.subplots())
    figs.append(_img(fig, "Deadline-miss rate per policy, overall and per app (95% CI)"))
    if {"latency_mean_ms", "energy_mj"} <= set(summary["metric"]):
        fig = Figure(figsize=(8.0, 4.5), layout="constrained")
        plots.energy_vs_latency(summary, ax=fig.subplots())
        figs.append(_img(fig, "Energy against mean latency (95% CI)"))
    if "ttft_mean_ms" in set(summary["metric"]):
        fig = Figure(figsize=(9.0, 3.8), layout="constrained")
        plots.llm_by_policy(summary, ax=fig.subplots(1, 2))
        figs.append(_img(fig, "LLM time to first token and decode rate (95% CI)"))
    overall = summary[~summary["metric"].astype(str).str.startswith("apps.")]
    body = f"""
<h1>{html.escape(title)}</h1>
<p class="sub">comparison directory <code>{html.escape(str(d))}</code></p>
<nav><a href="#figures">figures</a> <a href="#summary">statistics</a> <a href="#runs">runs</a></nav>
<section id="figures"><h2>Figures</h2>{"".join(figs)}</section>
<section id="summary"><h2>Statistics across seeds (overall metrics)</h2>{_table(overall)}</section>
<section id="runs"><h2>Every run</h2>{_table(runs)}</section>
"""
    return title, body


def _sweep_body(d: Path) -> tuple[str, str]:
    from simsched.report import plots
    from simsched.report.stats import mean_interval

    res = plots.read_sweep_results(d)
    keys = list(res.columns[: list(res.columns).index("seed")])
    figs = [_img(fig, f"Metrics against {name[len('sweep_'):]}, a line per combination of the other keys (95% CI across seeds)")
            for name, fig in plots.sweep_figures(res)]
    ok = res[res["error"].fillna("").astype(str) == ""] if "error" in res.columns else res
    metrics = [m for m in plots.SWEEP_METRICS if m in ok.columns]
    rows = []
    for combo, g in ok.groupby(keys, sort=False, dropna=False) if keys else [((), ok)]:
        combo = combo if isinstance(combo, tuple) else (combo,)
        row: dict[str, object] = dict(zip(keys, combo, strict=True))
        row["seeds"] = len(g)
        for m in metrics:
            iv = mean_interval(pd.to_numeric(g[m], errors="coerce"))
            row[m] = f"{iv.mean:.4g} \u00b1 {iv.half_width:.2g}" if iv.n > 1 else f"{iv.mean:.4g}"
        rows.append(row)
    failed = res[res["error"].fillna("").astype(str) != ""] if "error" in res.columns else res.iloc[0:0]
    title = f"sweep over {', '.join(keys) or 'seeds'}"
    body = f"""
<h1>{html.escape(title)}</h1>
<p class="sub">sweep directory <code>{html.escape(str(d))}</code>: {len(res)} runs, {len(failed)} failed</p>
<nav><a href="#figures">figures</a> <a href="#configs">configurations</a> <a href="#runs">runs</a></nav>
<section id="figures"><h2>Figures</h2>{"".join(figs)}</section>
<section id="configs"><h2>Mean and 95% interval across seeds, per configuration</h2>{_table(pd.DataFrame(rows))}</section>
<section id="runs"><h2>Every run</h2>{_table(res)}</section>
"""
    return title, body


# ----------------------------------------------------------------------------- page

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}h3{font-size:1em}
.sub{color:#666}nav a{margin-right:1em}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f6f6;padding:.8em;overflow:auto;max-height:30em;font-size:.85em}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}th,td{padding:.15em .6em;text-align:right;border-bottom:1px solid #eee}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}.cols{display:flex;gap:2em;flex-wrap:wrap}
figure{margin:1em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.9em}
.legend .key{margin-right:1em;font-size:.9em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
#tl-wrap{border:1px solid #ccc;user-select:none;cursor:grab}#timeline{display:block;width:100%}
#timeline text{font-size:11px;fill:#222}#timeline .tl-grid{stroke:#e4e4e4}#timeline .tl-axis text{fill:#555}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title><style>{style}</style></head>
<body>{body}</body></html>
"""

# The timeline: an SVG built from the embedded JSON. Zooming re-computes the bars'
# x and width from the view window (t0, t1) instead of scaling the SVG, so bars keep
# their height and labels their size at any zoom.
_TIMELINE_JS = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("tl-data").textContent);
  var svg = document.getElementById("timeline");
  var LEFT = 90, ROW = 26, TOP = 22, n = data.processors.length;
  var height = TOP + ROW * Math.max(n, 1) + 6;
  svg.setAttribute("height", height);
  var t0 = 0, t1 = Math.max(data.end_ms, 1e-9);
  var width = function () { return Math.max(svg.clientWidth || svg.parentNode.clientWidth || 800, LEFT + 50); };
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  var axis = el("g", {"class": "tl-axis"}, svg);
  var rows = [];
  for (var i = 0; i < n; i++) {
    var g = el("g", {"class": "tl-row", "data-processor": data.processors[i]}, svg);
    var label = el("text", {x: 4, y: TOP + ROW * i + ROW / 2 + 4}, g);
    label.textContent = data.processors[i];
    rows.push(g);
  }
  var rects = data.segments.map(function (s) {
    var r = el("rect", {"class": "tl-seg", y: TOP + ROW * s[0] + 3, height: ROW - 6, fill: data.colors[s[3]]}, rows[s[0]]);
    var tip = el("title", {}, r);
    tip.textContent = data.apps[s[3]] + " job " + s[4] + " " + s[5] + (s[6] ? " (" + s[6] + ")" : "") +
      ": " + s[1].toFixed(3) + "-" + s[2].toFixed(3) + " ms on " + data.processors[s[0]];
    return r;
  });
  function ticks(a, b) {
    var span = b - a, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= 10) { step *= m; return true; } return false; });
    var out = [];
    for (var t = Math.ceil(a / step) * step; t <= b; t += step) { out.push(t); }
    return out;
  }
  function draw() {
    var w = width(), scale = (w - LEFT - 40) / (t1 - t0);
    var x = function (t) { return LEFT + (t - t0) * scale; };
    while (axis.firstChild) { axis.removeChild(axis.firstChild); }
    ticks(t0, t1).forEach(function (t) {
      el("line", {"class": "tl-grid", x1: x(t), x2: x(t), y1: TOP - 4, y2: height}, axis);
      var lab = el("text", {x: x(t), y: TOP - 8, "text-anchor": "middle"}, axis);
      lab.textContent = +t.toPrecision(6) + " ms";
    });
    data.segments.forEach(function (s, k) {
      var a = Math.max(s[1], t0), b = Math.min(s[2], t1), r = rects[k];
      if (b < a) { r.setAttribute("display", "none"); return; }
      r.removeAttribute("display");
      r.setAttribute("x", x(a));
      r.setAttribute("width", Math.max((b - a) * scale, 0.5));
    });
    document.getElementById("tl-window").textContent =
      "window " + t0.toFixed(3) + "-" + t1.toFixed(3) + " ms of " + data.end_ms.toFixed(3) + " ms";
  }
  function timeAt(evt) {
    var box = svg.getBoundingClientRect(), w = width();
    return t0 + (evt.clientX - box.left - LEFT) / (w - LEFT - 40) * (t1 - t0);
  }
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var at = Math.min(Math.max(timeAt(evt), t0), t1), f = evt.deltaY < 0 ? 0.8 : 1.25;
    var a = at - (at - t0) * f, b = at + (t1 - at) * f;
    t0 = Math.max(0, a); t1 = Math.min(data.end_ms, b);
    if (t1 - t0 < 1e-6) { t1 = t0 + 1e-6; }
    draw();
  }, {passive: false});
  var dragFrom = null;
  svg.addEventListener("mousedown", function (evt) { dragFrom = {x: evt.clientX, t0: t0, t1: t1}; });
  window.addEventListener("mouseup", function () { dragFrom = null; });
  window.addEventListener("mousemove", function (evt) {
    if (!dragFrom) { return; }
    var span = dragFrom.t1 - dragFrom.t0, dt = -(evt.clientX - dragFrom.x) / (width() - LEFT - 40) * span;
    dt = Math.min(Math.max(dt, -dragFrom.t0), data.end_ms - dragFrom.t1);
    t0 = dragFrom.t0 + dt; t1 = dragFrom.t1 + dt; draw();
  });
  svg.addEventListener("dblclick", function () { t0 = 0; t1 = Math.max(data.end_ms, 1e-9); draw(); });
  window.addEventListener("resize", draw);
  draw();
  svg.setAttribute("data-segments", String(rects.length));
  svg.setAttribute("data-ready", "1");
})();
"""
