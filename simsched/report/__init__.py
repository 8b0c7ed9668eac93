"""Reporting: figures, Perfetto traces and statistics across seeds.

* :mod:`simsched.report.plots`: matplotlib figures of a run (Gantt chart, power and
  frequency traces) and of a comparison (latency CDF, rates, LLM metrics,
  energy versus latency). Imported on demand, as it imports matplotlib.
* :mod:`simsched.report.trace`: :func:`chrome_trace` / :func:`write_trace`, the
  Chrome trace-event JSON format that https://ui.perfetto.dev opens.
* :mod:`simsched.report.stats`: confidence intervals across seeds: of a mean, and of
  a difference (paired on shared seeds, or Welch), on scipy.stats.
* :mod:`simsched.report.format`: :func:`~simsched.report.format.fmt_num`, numbers
  printed with significant digits that follow their magnitude.
* :mod:`simsched.report.progress`: a tqdm progress bar shown only on a terminal.

:func:`read_run` loads a run directory written by ``simsched run --out`` back into
a :class:`~simsched.result.Result`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from simsched.errors import ConfigError
from simsched.report.stats import mean_ci, summarize_runs
from simsched.report.trace import chrome_trace, write_trace
from simsched.result import TABLES, Result

__all__ = ["chrome_trace", "mean_ci", "read_run", "summarize_runs", "write_trace"]

_REQUIRED = {
    "jobs": ("job_id", "app", "arrival_ms", "finish_ms", "deadline_ms", "latency_ms", "missed", "dropped"),
    "tasks": ("job_id", "app", "task", "model", "processor", "state", "ready_ms", "start_ms", "finish_ms"),
    "segments": ("job_id", "app", "task", "processor", "start_ms", "end_ms", "freq_mhz"),
    "power": ("time_ms", "processor", "power_w"),
    "frequency": ("time_ms", "domain", "freq_mhz"),
}
"""Columns every reader of a run directory may rely on (a damaged file lacking one is refused)."""

_STR_COLUMNS = {"app": str, "task": str, "model": str, "processor": str, "domain": str, "state": str, "preds": str}


def read_run(run_dir: str | Path) -> Result:
    """Read a run directory (``jobs.csv`` ... ``frequency.csv`` and ``summary.json``).

    Parameters
    ----------
    run_dir : str or Path
        A directory written by ``simsched run --out`` or :meth:`Result.write`.

    Returns
    -------
    Result
        The tables with the dtypes of a fresh run (``missed`` nullable boolean, names
        as strings, empty processor as ``""``) and the summary.

    Raises
    ------
    ConfigError
        The directory or one of its files is missing or unreadable.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise ConfigError(str(run_dir), "", "not a directory; expected a run directory written by `simsched run --out`")
    missing = [f"{n}.csv" for n in TABLES if not (d / f"{n}.csv").is_file()]
    missing += [] if (d / "summary.json").is_file() else ["summary.json"]
    if missing:
        raise ConfigError(str(run_dir), "", f"not a run directory: missing {', '.join(missing)}")
    tables = {}
    for name in TABLES:
        path = d / f"{name}.csv"
        try:
            head = pd.read_csv(path, nrows=0).columns
            dtypes = {c: t for c, t in _STR_COLUMNS.items() if c in head}
            df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in head if c not in dtypes})
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            message = " ".join(str(exc).split())[:200]
            raise ConfigError(str(path), "", f"cannot read the table ({message})") from None
        _check_table(df, name, path)
        tables[name] = df
    jobs = tables["jobs"]
    if "missed" in jobs:
        jobs["missed"] = pd.array(
            [None if pd.isna(v) else str(v).strip().lower() in ("true", "1") for v in jobs["missed"]], dtype="boolean"
        )
    if "dropped" in jobs:
        jobs["dropped"] = jobs["dropped"].astype(str).str.lower().isin(["true", "1"])
    try:
        summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(str(d / "summary.json"), "", f"cannot read the summary ({exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("manifest", {}), dict):
        raise ConfigError(str(d / "summary.json"), "", "not a run summary (expected a JSON object with a manifest)")
    return Result(summary=summary, **tables)


def _check_table(df: pd.DataFrame, name: str, path: Path) -> None:
    """Refuse a damaged table: a required column missing, or a time/number column that is not numeric."""
    missing = [c for c in _REQUIRED[name] if c not in df.columns]
    if missing:
        raise ConfigError(str(path), "", f"damaged table: missing column(s) {', '.join(missing)}")
    for c in df.columns:
        if (c.endswith(("_ms", "_mhz", "_w")) or c == "job_id") and not pd.api.types.is_numeric_dtype(df[c]):
            raise ConfigError(str(path), c, "damaged table: the column holds values that are not numbers")
