"""The sweep file: its pydantic model, loading with one-line errors, and expansion into runs.

.. code-block:: yaml

    base: ../minimal.yaml          # a path relative to this file, or an inline experiment mapping
    grid:                          # cartesian product over dotted config keys
      policy: [fifo, edf]
      workload.load_scale: [0.5, 1.0]
    zip: {}                        # axes varied together (equal lengths)
    seeds: 3                       # a count (seeds 1..N) or a list
    set: []                        # optional --set overrides applied to every run

Points are ordered as the grid lists them (the first key varies slowest), each grid
point crossed with every zip row; every point runs every seed.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simsched.errors import ConfigError

_KEY = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"


class SweepFile(BaseModel):
    """A sweep: a base experiment, the axes to vary and the seeds."""

    model_config = ConfigDict(extra="forbid")

    base: str | dict[str, Any] = Field(description="Experiment file (relative to the sweep file) or an inline experiment.")
    grid: dict[Annotated[str, Field(pattern=_KEY)], list[Any]] = Field(
        default_factory=dict, description="Dotted config key -> values; the runs are the cartesian product."
    )
    zip: dict[Annotated[str, Field(pattern=_KEY)], list[Any]] = Field(
        default_factory=dict, description="Dotted config key -> values, varied together (equal lengths)."
    )
    seeds: Annotated[int, Field(ge=1, le=1_000_000)] | list[Annotated[int, Field(ge=0, le=2**63 - 1)]] = Field(
        3, description="Number of seeds (1..N) or the list of seeds."
    )
    set: list[str] = Field(default_factory=list, description="key.path=value overrides applied to every run.")

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for k, values in v.items():
            if not values:
                raise ValueError(f"'{k}' has no values")
            seen = [json.dumps(x, sort_keys=True, default=str) for x in values]
            if len(set(seen)) != len(seen):
                raise ValueError(f"'{k}' lists a value twice")
        return v

    @model_validator(mode="after")
    def _axes(self) -> SweepFile:
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError("zip axes must have equal lengths, got " + ", ".join(f"{k}: {len(v)}" for k, v in self.zip.items()))
        both = set(self.grid) & set(self.zip)
        if both:
            raise ValueError(f"a key is both in grid and zip: {', '.join(sorted(both))}")
        if isinstance(self.seeds, list):
            if not self.seeds:
                raise ValueError("seeds: give at least one seed")
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds: a seed is listed twice")
        return self

    def seed_list(self) -> list[int]:
        """The seeds: 1..N for a count, else the list as given."""
        return list(range(1, self.seeds + 1)) if isinstance(self.seeds, int) else list(self.seeds)

    def keys(self) -> list[str]:
        """The varied keys: grid keys, then zip keys (the first columns of results.csv)."""
        return [*self.grid, *self.zip]


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep (before seeds).

    Attributes
    ----------
    index : int
        Position in the sweep's order.
    values : dict
        Varied key -> value.
    overrides : tuple of str
        The ``--set`` overrides that produce it (the file's ``set`` first).
    """

    index: int
    values: dict[str, Any]
    overrides: tuple[str, ...]


def load_sweep(path: str | Path) -> tuple[SweepFile, str | dict[str, Any]]:
    """Read and validate a sweep file.

    Returns
    -------
    (SweepFile, base)
        The model and the base experiment: an absolute path, or the inline mapping.

    Raises
    ------
    ConfigError
        ``FILE: FIELD: message`` for an unreadable or invalid file.
    """
    from simsched.config.loader import read_yaml

    name = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(name, "", "expected a mapping with base, grid, zip and seeds")
    spec = parse_sweep(data, name)
    base: str | dict[str, Any] = spec.base
    if isinstance(base, str):
        p = Path(base)
        p = p if p.is_absolute() else Path(path).resolve().parent / p
        if not p.is_file():
            raise ConfigError(name, "base", f"experiment file not found: {p}")
        base = str(p)
    return spec, base


def parse_sweep(data: dict[str, Any], name: str = "<sweep>") -> SweepFile:
    """Validate sweep data; ConfigError naming ``name`` and the field."""
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith(("list[", "int", "constrained")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; expected base, grid, zip, seeds or set"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "string_pattern_mismatch":
            msg = "expected a dotted config key such as workload.load_scale"
        return _raise(name, loc, msg[:1].lower() + msg[1:])


def _raise(name: str, loc: str, msg: str) -> Any:
    raise ConfigError(name, loc, msg)


def points(spec: SweepFile) -> list[Point]:
    """The sweep's configurations in order: the grid's product (first key slowest) x the zip rows."""
    grid_rows = [dict(zip(spec.grid, combo, strict=True)) for combo in itertools.product(*spec.grid.values())]
    n_zip = len(next(iter(spec.zip.values()))) if spec.zip else 1
    zip_rows = [{k: v[i] for k, v in spec.zip.items()} for i in range(n_zip)] if spec.zip else [{}]
    out = []
    for g in grid_rows:
        for z in zip_rows:
            values = {**g, **z}
            overrides = tuple(spec.set) + tuple(override(k, v) for k, v in values.items())
            out.append(Point(len(out), values, overrides))
    return out


def override(key: str, value: Any) -> str:
    """``key=value`` with the value written as YAML flow (JSON), so strings stay strings."""
    return f"{key}={json.dumps(value, sort_keys=True)}"
