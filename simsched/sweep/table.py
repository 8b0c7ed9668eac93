"""``results.csv`` of a sweep: durable appends while the sweep runs, a deterministic final file.

Each finished run's rows are appended and flushed to disk (``fsync``) at once, so a
killed sweep keeps every finished run and a re-run skips them. When every run is
done the file is rewritten, atomically, in the sweep's order (configurations as the
sweep file lists them, then seeds), so its bytes do not depend on the backend, the
number of workers or the order in which runs finished.

Cells hold Python's shortest round-trip text of each number (``repr``), so a float
read back and written again keeps its exact value and bytes.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simsched.errors import ConfigError

#: The metric columns of results.csv: every overall summary metric, then the top-level ones.
#: A metric a run does not define (TTFT without LLM requests) is an empty cell.
METRICS: tuple[str, ...] = (
    "jobs_arrived", "jobs_finished", "jobs_dropped", "jobs_in_flight", "throughput_jobs_per_s",
    "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms",
    "deadline_miss_rate", "drop_rate",
    "ttft_mean_ms", "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms", "ttft_max_ms", "tpot_mean_ms",
    "tokens_per_s_mean", "llm_requests", "uxcost",
    "energy_mj", "avg_power_w", "peak_power_w", "budget_w", "time_over_budget_ms", "energy_over_budget_mj",
    "xrbench_score", "sim_end_ms", "warmup_ms",
)
RUN_COLUMNS = ("seed", "run_id", "error")


def cell(value: Any) -> str:
    """A value as CSV text: empty for None/NaN, ``repr`` for floats, JSON for collections."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def metric_cells(summary: dict[str, Any] | None, metrics: Iterable[str] = METRICS) -> dict[str, str]:
    """The cells of ``metrics`` for one run (all empty for a failed run)."""
    if summary is None:
        return dict.fromkeys(metrics, "")
    overall = summary.get("overall") or {}
    return {m: cell(overall[m] if m in overall else summary.get(m)) for m in metrics}


class ResultsFile:
    """An append-only ``results.csv`` with a fixed header.

    Parameters
    ----------
    path : Path
        The file.
    header : list of str
        The columns (varied keys, ``seed``, ``run_id``, ``error``, :data:`METRICS`).
    force : bool
        Start afresh instead of resuming from the rows already in the file.
    """

    def __init__(self, path: Path, header: list[str], *, force: bool = False) -> None:
        self.path = path
        self.header = header
        # One writer per results.csv: a second sweep into the same folder would append
        # duplicate rows and race on the final rewrite.
        self._lock = open(path.with_name(f".{path.name}.lock"), "a")  # noqa: SIM115 - held for the sweep's life
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise ConfigError(str(path), "", "another sweep is writing this file; wait for it or choose another --out") from None
        self.rows: list[dict[str, str]] = []  # rows found in the file, in its order
        try:
            if path.exists() and not force:
                self.rows = self._read()
            else:
                self._rewrite([])
        except BaseException:
            self._lock.close()
            raise
        self._fh = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115 - held open for appends
        self._writer = csv.DictWriter(self._fh, fieldnames=header, lineterminator="\n")

    def _read(self) -> list[dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(self.path), "", f"cannot read the results of an earlier run ({exc})") from None
        if not text:
            self._rewrite([])
            return []
        if not text.endswith("\n"):  # a kill mid-line: the partial row is not a finished run
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames != self.header:
            raise ConfigError(str(self.path), "",
                              "written by a different sweep (other columns); use --force to rerun or choose another --out")
        rows = [r for r in reader if r.get("run_id")]
        self._rewrite(rows)  # drops a partial last line before appending
        return rows

    def _rewrite(self, rows: Iterable[dict[str, str]]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def done_ids(self) -> set[str]:
        """Run ids already in the file."""
        return {r["run_id"] for r in self.rows}

    def append(self, rows: list[dict[str, str]]) -> None:
        """Append rows and make them durable before returning."""
        self._writer.writerows(rows)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.rows.extend(rows)

    def finish(self, ordered: list[dict[str, str]]) -> None:
        """Replace the file by ``ordered`` (atomically), close it and release the lock."""
        self.close()
        self._rewrite(ordered)
        self.release()

    def close(self) -> None:
        """Close the append handle (the lock is kept until :meth:`release`)."""
        if not self._fh.closed:
            self._fh.close()

    def release(self) -> None:
        """Let another sweep write the file."""
        self.close()
        if not self._lock.closed:
            self._lock.close()
