"""A progress bar for long batches of runs, shown only to a person at a terminal.

The bar (tqdm) appears when standard error is a terminal and the ``CI`` environment
variable is not set; otherwise every call is a no-op, so logs and captured output
stay clean. It is meant to advance once per finished run (or per chunk of work),
never per simulation event; :meth:`Progress.update` also redraws at most every
``min_interval_s`` of wall time, however often it is called.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any, TextIO


def progress_enabled(stream: TextIO | None = None) -> bool:
    """Whether a progress bar should be shown.

    Parameters
    ----------
    stream : file, optional
        The stream the bar would be drawn on; default ``sys.stderr``.

    Returns
    -------
    bool
        True if ``stream`` is a terminal and the environment variable ``CI`` is not set.
    """
    stream = sys.stderr if stream is None else stream
    if "CI" in os.environ:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """A rate-limited progress bar, silent when not on a terminal.

    Parameters
    ----------
    total : int
        Number of units (e.g. runs) expected.
    desc : str, default ""
        Label shown before the bar.
    unit : str, default "run"
        Name of one unit.
    enabled : bool, optional
        Force the bar on or off; default :func:`progress_enabled`.
    min_interval_s : float, default 0.1
        Minimum wall time between two redraws (s).
    stream : file, optional
        Where to draw; default ``sys.stderr``.

    Examples
    --------
    >>> with Progress(total=6, desc="compare") as bar:  # doctest: +SKIP
    ...     for run in runs:
    ...         simulate(run)
    ...         bar.update(1, note="fifo seed 3")
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
        self.total = int(total)
        self.count = 0
        self.enabled = progress_enabled(stream) if enabled is None else bool(enabled)
        self.min_interval_s = float(min_interval_s)
        self._pending = 0
        self._note: str | None = None
        self._last = -float("inf")
        self._bar: Any = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, desc=desc, unit=unit, file=stream if stream is not None else sys.stderr,
                mininterval=self.min_interval_s, leave=False, dynamic_ncols=True,
            )

    def update(self, n: int = 1, note: str | None = None) -> None:
        """Record ``n`` finished units; redraw if ``min_interval_s`` has passed or all are done.

        Parameters
        ----------
        n : int, default 1
            Units finished since the last call.
        note : str, optional
            Short text shown after the bar (e.g. the run that just finished).
        """
        self.count += n
        if self._bar is None:
            return
        self._pending += n
        if note is not None:
            self._note = note
        now = time.monotonic()
        if now - self._last >= self.min_interval_s or self.count >= self.total:
            self._flush(now)

    def _flush(self, now: float) -> None:
        if self._bar is None:
            return
        if self._note is not None:
            self._bar.set_postfix_str(self._note, refresh=False)
        if self._pending:
            self._bar.update(self._pending)
        self._pending = 0
        self._last = now

    def close(self) -> None:
        """Draw the final state and remove the bar."""
        if self._bar is not None:
            self._flush(time.monotonic())
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
