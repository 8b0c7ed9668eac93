"""Scheduling callbacks on SimPy's event heap: the one module that relies on SimPy internals.

The engine schedules every state change as a SimPy ``Timeout`` with one
callback. :class:`EventScheduler` builds that Timeout and pushes it onto the
environment's heap itself (the same fields and the same heap entry SimPy makes,
so the same event order), saving the two Python frames of ``Timeout(...)`` on
the engine's most frequent call. :func:`lean_events_supported` checks SimPy's
internals once at import; with another SimPy the scheduler falls back to
``Timeout`` objects (same results, a little slower). The engine also reads the
clock as ``env._now`` (the attribute behind SimPy's ``now`` property, which costs
a property call per read); the same check covers it.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, Timeout

from simsched.errors import LimitError

_new_event = object.__new__
_TIMEOUT_FIELDS = frozenset({"env", "callbacks", "_value", "_delay", "_ok"})


def lean_events_supported() -> bool:
    """Whether the installed SimPy builds a Timeout as :meth:`EventScheduler.after` does.

    Checked on a throw-away environment: the Timeout's fields, its heap entry
    ``(time, NORMAL, id, event)``, the id counter and the clock attribute.
    """
    env = simpy.Environment()
    ev = Timeout(env, 1.5, "x")
    entry = env._queue[0] if len(env._queue) == 1 else ()
    return (
        set(vars(ev)) == _TIMEOUT_FIELDS
        and len(entry) == 4
        and entry[0] == 1.5
        and entry[1] == NORMAL
        and entry[3] is ev
        and hasattr(env, "_eid")
        and getattr(env, "_now", None) == env.now
    )


LEAN_EVENTS = lean_events_supported()
"""The import-time verdict of :func:`lean_events_supported`; the scheduler's fast path is on when True."""


class EventScheduler:
    """Schedules ``fn(event)`` callbacks on ``env`` and counts them against a limit.

    Parameters
    ----------
    env : simpy.Environment
        The run's environment.
    max_events : int
        The run's ``limits.max_events``; scheduling one more raises ``LimitError``.
    lean : bool, optional
        Push onto the heap directly (default: :data:`LEAN_EVENTS`); False builds ``Timeout`` objects.
    """

    __slots__ = ("_eid", "_queue", "after", "env", "max_events", "n_events")

    def __init__(self, env: simpy.Environment, max_events: int, lean: bool | None = None) -> None:
        self.env = env
        self.max_events = max_events
        self.n_events = 0
        lean = LEAN_EVENTS if lean is None else lean
        self._queue = env._queue if lean else None
        self._eid = env._eid if lean else None
        # Chosen once, so the hot path carries no flag test.
        self.after: Callable[[float, Callable[[Any], None], Any], None] = self._push if lean else self._timeout

    def _limit_exceeded(self) -> None:
        raise LimitError(
            f"the run exceeded limits.max_events ({self.max_events}) at t={self.env.now:.3f} ms; "
            "shorten duration_ms or raise the limit"
        )

    def _push(self, delay: float, fn: Callable[[Any], None], value: Any) -> None:
        """Schedule ``fn(event)`` in ``delay`` ms with ``value`` as the event's value.

        What ``Timeout(env, delay, value).callbacks.append(fn)`` does in SimPy 4.1
        (same fields, same heap entry), without its two Python frames.
        """
        n = self.n_events + 1
        self.n_events = n
        if n > self.max_events:
            self._limit_exceeded()
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        env = self.env
        ev = _new_event(Timeout)
        ev.env = env
        ev.callbacks = [fn]
        ev._value = value
        ev._delay = delay
        ev._ok = True
        heappush(self._queue, (env._now + delay, NORMAL, next(self._eid), ev))  # type: ignore[arg-type]

    def _timeout(self, delay: float, fn: Callable[[Any], None], value: Any) -> None:
        """The same as :meth:`_push` through SimPy's public ``Timeout``."""
        n = self.n_events + 1
        self.n_events = n
        if n > self.max_events:
            self._limit_exceeded()
        Timeout(self.env, delay, value).callbacks.append(fn)  # type: ignore[union-attr]
