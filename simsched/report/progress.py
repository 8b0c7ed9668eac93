"""A progress bar for long batches of runs: tqdm, drawn only on a terminal.

``disable=None`` lets tqdm decide: the bar appears when its stream is a terminal
and stays silent otherwise, so logs and captured output stay clean. It is meant to
advance once per finished run, never per simulation event; tqdm redraws at most
every ``mininterval`` seconds however often it is updated.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm


class Progress(tqdm):  # type: ignore[type-arg]
    """tqdm with the run-batch defaults and an optional note per update.

    Parameters
    ----------
    total : int
        Number of units (e.g. runs) expected.
    desc : str, default ""
        Label shown before the bar.
    unit : str, default "run"
        Name of one unit.
    enabled : bool, optional
        Force the bar on or off; default (None) shows it only on a terminal.
    min_interval_s : float, default 0.1
        Minimum wall time between two redraws (s).
    stream : file, optional
        Where to draw; default ``sys.stderr``.
    """

    def __init__(
        self,
        total: int,
        desc: str = "",
        unit: str = "run",
        *,
        enabled: bool | None = None,
        min_interval_s: float = 0.1,
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(
            total=int(total), desc=desc, unit=unit, file=stream if stream is not None else sys.stderr,
            disable=None if enabled is None else not enabled, mininterval=min_interval_s,
            leave=False, dynamic_ncols=True,
        )

    def update(self, n: float | None = 1, note: str | None = None) -> Any:
        """Record ``n`` finished units; ``note`` (e.g. the run that just finished) is shown after the bar."""
        if note is not None and not self.disable:
            self.set_postfix_str(note, refresh=False)
        return super().update(n)
