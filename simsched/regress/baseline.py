"""Baseline files: the data model (validated on load), making, reading and writing them.

A baseline holds, per metric, the mean, the sample standard deviation and the
number of seeds, and (since the per-seed comparison of ``check``) each seed's
value, in the order of ``seeds``. Files without per-seed values (written before)
stay valid; ``check`` then falls back to Welch's test from mean, sd and n.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simsched.errors import ConfigError
from simsched.regress.sample import DIRECTIONS, FORMAT, RATE_METRICS, RunInput, direction, load_sample
from simsched.result import dumps

#: Relative slack of the consistency checks (mean of the values, sd bound): float rounding only.
_REL = 1e-9


class MetricEntry(BaseModel):
    """One metric of a baseline.

    Attributes
    ----------
    better : {"lower", "higher"}, optional
        For the reader; ``check`` uses the catalogue's direction.
    mean : float or None
        Mean over the seeds where the metric is defined (None if in none).
    std : float or None
        Sample standard deviation (ddof=1), None with fewer than two values.
    n : int
        Seeds where the metric is defined.
    values : list of (float or None), optional
        Each seed's value in the order of the baseline's ``seeds`` (None: undefined there).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    better: Literal["lower", "higher"] | None = None
    mean: float | None
    std: float | None
    n: int = Field(ge=0)
    values: list[float | None] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MetricEntry:
        # Every compared metric is non-negative (latencies, rates, throughputs, energy,
        # power), so a sample of n values with mean m has a standard deviation of at
        # most m sqrt(n) (all mass in one value): anything larger cannot come from runs.
        if self.mean is not None and self.mean < 0:
            raise ValueError(f"mean {self.mean} is negative; every compared metric is >= 0")
        if self.std is not None:
            if self.std < 0:
                raise ValueError(f"std {self.std} is negative")
            if self.n < 2:
                raise ValueError(f"std must be null with fewer than two seeds (n = {self.n})")
            bound = (self.mean or 0.0) * math.sqrt(self.n)
            if self.std > bound * (1 + _REL) + 1e-300:
                raise ValueError(
                    f"std {self.std} exceeds what {self.n} non-negative values with mean {self.mean} "
                    f"can have ({bound:.6g})"
                )
        if (self.mean is None) != (self.n == 0):
            raise ValueError("mean must be null exactly when n is 0")
        if self.values is not None:
            xs = [v for v in self.values if v is not None]
            if len(xs) != self.n:
                raise ValueError(f"values: {len(xs)} defined values but n = {self.n}")
            if any(v < 0 for v in xs):
                raise ValueError("values: negative value; every compared metric is >= 0")
            if xs and self.mean is not None and not math.isclose(math.fsum(xs) / len(xs), self.mean, rel_tol=_REL, abs_tol=1e-12):
                raise ValueError(f"values: their mean {math.fsum(xs) / len(xs)!r} differs from mean {self.mean!r}")
        return self


class BaselineFile(BaseModel):
    """A baseline file (``format: simsched-baseline/1``); see docs/ci.md."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    format: Literal["simsched-baseline/1"]
    config_hash: str
    config_parts: dict[str, str] = Field(default_factory=dict)
    seeds: list[int | None] = Field(default_factory=list)
    source: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, MetricEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> BaselineFile:
        for name, m in self.metrics.items():
            field = name.rsplit(".", 1)[-1]
            scope = name.rsplit(".", 1)[0] if "." in name else None
            if field not in DIRECTIONS:
                raise _MetricError(name, f"unknown metric; known fields: {', '.join(DIRECTIONS)}")
            run_level = field in ("energy_mj", "peak_power_w")
            if run_level != (scope is None) or (scope not in (None, "overall") and not (scope or "").startswith("apps.")):
                raise _MetricError(name, "unknown scope; expected overall.FIELD, apps.APP.FIELD, energy_mj or peak_power_w")
            if field in RATE_METRICS and m.mean is not None and m.mean > 1 + _REL:
                raise _MetricError(f"{name}.mean", f"{m.mean} is not a rate in [0, 1]")
            if m.values is not None and len(m.values) != len(self.seeds):
                raise _MetricError(f"{name}.values", f"{len(m.values)} values for {len(self.seeds)} seeds")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds: a seed appears twice")
        return self


class _MetricError(ValueError):
    """A problem of one metric entry (carries its name for the error's field)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    ctx_err = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_err, _MetricError):
        return f"metrics.{ctx_err.name}", ctx_err.message
    field = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "finite_number":
        msg = f"{err.get('input')!r} is not a finite number"
    return field, msg


def validate_baseline(data: Any, label: str = "<baseline>") -> dict[str, Any]:
    """Check a baseline's structure and values; returns it unchanged or raises ConfigError.

    Raises
    ------
    ConfigError
        One line, ``LABEL: FIELD: message``: not an object, a wrong format, NaN or
        infinite numbers, negative or impossible spreads, unknown metric names,
        per-seed values that disagree with the mean or the seeds.
    """
    if not isinstance(data, dict):
        raise ConfigError(label, "", "expected a JSON object written by `simsched baseline`")
    if data.get("format") != FORMAT:
        raise ConfigError(label, "format", f"expected '{FORMAT}', got {data.get('format')!r}; write it with `simsched baseline`")
    if not isinstance(data.get("config_hash"), str):
        raise ConfigError(label, "config_hash", "missing")
    if not isinstance(data.get("metrics"), dict) or not data["metrics"]:
        raise ConfigError(label, "metrics", "missing or empty")
    try:
        BaselineFile.model_validate(data)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise ConfigError(label, field, msg) from None
    return data


def make_baseline(runs: RunInput) -> dict[str, Any]:
    """The baseline of a run or a sweep, as plain data (see docs/ci.md for the format).

    Parameters
    ----------
    runs : path, Result, mapping or sequence of these
        As for :func:`~simsched.regress.load_sample`.

    Returns
    -------
    dict
        ``format``, ``config_hash``, ``config_parts``, ``seeds``, ``source``, ``versions``
        and ``metrics``: name -> ``{"better", "mean", "std", "n", "values"}`` (``values``:
        each seed's value in the order of ``seeds``).
    """
    sample = load_sample(runs)
    data = {
        "format": FORMAT,
        "config_hash": sample.config_hash,
        "config_parts": sample.config_parts,
        "seeds": sample.seeds,
        "source": sample.source,
        "versions": sample.versions,
        "metrics": {
            name: {"better": direction(name), "mean": s.mean, "std": s.std, "n": s.n, "values": sample.values[name]}
            for name, s in sample.stats().items()
        },
    }
    return validate_baseline(data, sample.label)


def baseline_json(baseline: Mapping[str, Any]) -> str:
    """Canonical JSON text of a baseline (sorted keys, fixed indentation, final newline)."""
    return dumps(baseline) + "\n"


def write_baseline(baseline: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a baseline atomically, through a symlink, never over a non-regular file.

    The text goes to a temporary file in the target's directory and is renamed over
    the target (``os.replace``), so a reader sees the old or the new file, never a
    part. A symlink at ``path`` is followed: its target is replaced and the link
    kept. A directory, device, FIFO or socket at the (resolved) path is an error.

    Returns
    -------
    Path
        The file written (the symlink's target when ``path`` is a link).

    Raises
    ------
    ConfigError
        The target is not a regular file, or it cannot be written.
    """
    out = Path(path)
    try:
        target = Path(os.path.realpath(out)) if out.is_symlink() else out
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise ConfigError(str(out), "", "exists and is not a regular file; choose another output file")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            # mkstemp creates the file 0600; give it the mode a plain write would (the
            # existing file's, or 0666 less the umask).
            if st is not None:
                mode = stat.S_IMODE(st.st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.fchmod(fd, mode)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(baseline_json(baseline))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(str(out), "", f"cannot write the baseline ({exc.strerror or exc})") from None
    return target


def read_baseline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a baseline file; ConfigError (one line) if it is unusable."""
    p = str(path)
    if Path(path).exists() and not Path(path).is_file():
        # A FIFO would block and a device never ends: only regular files are read.
        raise ConfigError(p, "", "not a regular file; expected a file written by `simsched baseline`")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, "", f"cannot read the baseline ({exc.strerror or exc.__class__.__name__})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(p, "", f"not valid JSON ({exc}); expected a file written by `simsched baseline`") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(p, "", f"not valid JSON ({exc}); expected a file written by `simsched baseline`") from None
    return validate_baseline(data, p)
