"""SIGTERM and SIGHUP end a command as SIGINT does: cleanly, without leftovers.

``timeout``, a cancelled CI job or ``docker stop`` send SIGTERM; a closed terminal
sends SIGHUP. Python's default for both is to die at once, skipping every
``finally``, so temporary run folders (``.NAME.XXXXXXXX``) would stay behind.
:func:`handling_signals` turns them into a :class:`Terminated` exception (a
:class:`KeyboardInterrupt`, so code that cleans up on Ctrl-C cleans up on these
too); the command line then removes what is left in :data:`simsched.outdir.LIVE`
and exits with ``128 + signal number`` (143 for SIGTERM, 129 for SIGHUP), the
shell's convention. Further signals during that cleanup are ignored, so it
completes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

HANDLED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""The signals turned into :class:`Terminated` (those the platform has)."""


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP.

    Parameters
    ----------
    signum : int
        The signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """``128 + signum``, as a shell reports a process killed by the signal."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGTERM``."""
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


def _default_in_child() -> None:
    """In a forked child (a worker of a process pool), SIGTERM and SIGHUP end it at once again.

    A pool stops its workers with SIGTERM; a worker has no temporary folder of its
    own to remove, and an exception raised there would only print a traceback.
    """
    for s in HANDLED:
        if signal.getsignal(s) is _raise:
            signal.signal(s, signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_default_in_child)


def _raise(signum: int, frame: FrameType | None) -> None:
    for s in HANDLED:  # only the first one interrupts: the cleanup it starts must finish
        signal.signal(s, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def handling_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated`; restored afterwards.

    Only the main thread may install handlers; elsewhere (a command called from a
    worker thread) the block runs with the handlers as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in HANDLED}
    for s in HANDLED:
        if previous[s] is signal.SIG_IGN:  # started under nohup: keep ignoring
            continue
        signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
