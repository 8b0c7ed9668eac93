"""Exceptions that carry enough context for a one-line user-facing message."""

from __future__ import annotations

#: Process exit codes of every command: success; a failed check (regression,
#: invariant violation, a run that failed); unusable input (one line on stderr).
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
#: Interrupted by the user (128 + SIGINT).
EXIT_INTERRUPTED = 130


class SimschedError(Exception):
    """Base class of every error simsched raises on purpose."""


class ConfigError(SimschedError):
    """A configuration file (or an inline mapping) is unusable.

    Parameters
    ----------
    file : str
        The file the bad value came from (``<inline>`` or ``--set`` when not a file).
    field : str
        Dotted path of the offending field inside that file (may be empty).
    message : str
        What was wrong and what was expected.
    """

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # Keeps the error intact across process boundaries (sweeps run in worker processes).
        return (type(self), (self.file, self.field, self.message))


class PolicyError(SimschedError):
    """A policy asked the engine for something impossible."""


class LimitError(SimschedError):
    """A run hit a configured resource limit (events, jobs)."""
