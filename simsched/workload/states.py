"""Task states: the one definition every layer reads.

:class:`TaskState` names the life cycle of a task (``tasks.csv`` prints its
lower-cased names). The module constants are its members bound to plain module
names: reading ``TaskState.READY`` goes through the enum class on every access,
which is slow on CPython 3.11, while a module global is one dictionary look-up.
Hot paths import the constants and compare with ``is``; each constant is the enum
member itself (an ``int``), so ``task.state is READY`` holds whichever of the two
spellings set the state.
"""

from __future__ import annotations

from enum import IntEnum


class TaskState(IntEnum):
    """Life cycle of a task."""

    PENDING = 0  # predecessors not finished
    READY = 1  # may be started
    WAITING = 2  # holds a processor slot, input data still in flight
    RUNNING = 3  # executing
    FROZEN = 4  # stopped at a segment boundary, keeps its progress
    DONE = 5
    CANCELLED = 6  # its job was dropped before it ran
    SKIPPED = 7  # a cascade edge into it did not fire


PENDING = TaskState.PENDING
READY = TaskState.READY
WAITING = TaskState.WAITING
RUNNING = TaskState.RUNNING
FROZEN = TaskState.FROZEN
DONE = TaskState.DONE
CANCELLED = TaskState.CANCELLED
SKIPPED = TaskState.SKIPPED

QUEUED = frozenset({READY, FROZEN})
"""States of a task a policy may start or resume."""
HOLDING = frozenset({RUNNING, WAITING})
"""States of a task that holds a processor slot."""
GONE = frozenset({DONE, SKIPPED, CANCELLED})
"""States of a task that will never run again."""

__all__ = [
    "CANCELLED",
    "DONE",
    "FROZEN",
    "GONE",
    "HOLDING",
    "PENDING",
    "QUEUED",
    "READY",
    "RUNNING",
    "SKIPPED",
    "WAITING",
    "TaskState",
]
