"""Reading input files: regular files only, with a size limit that does not trust ``st_size``.

A device (``/dev/zero``) reports a size of 0 and never ends; a FIFO blocks the
opener until a writer appears, and then the reader until the writer closes. So
an input is opened with ``O_NONBLOCK`` (opening a FIFO then returns at once),
refused unless ``fstat`` on the open descriptor says it is a regular file (the
check is on what was opened, not on a path that could be swapped between a check
and the open), and read for at most ``limit + 1`` bytes, whatever its size claims.
Nothing in reading an input can block: regular files do not.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from simsched.errors import ConfigError


def read_regular(path: str | Path, limit: int, name: str | None = None, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Parameters
    ----------
    path : str or Path
        The file to read.
    limit : int
        The largest accepted size (bytes).
    name : str, optional
        How to name the file in messages (default ``path``).
    what : str
        What the file is, for messages (``file``, ``trace file``).

    Raises
    ------
    ConfigError
        If the path cannot be opened (missing, a loop of links, a NUL byte, too
        long), is a directory, a FIFO, a device or a socket, or holds more than
        ``limit`` bytes.
    """
    label = str(path) if name is None else name
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:  # a NUL byte in the path
        raise ConfigError(label.replace("\x00", "\\0"), "", f"cannot read {what} (the path contains a NUL byte)") from None
    except OSError as exc:
        if exc.errno is not None and os.path.isdir(path):
            raise ConfigError(label, "", f"is a directory, expected a {'YAML file' if what == 'file' else what}") from None
        raise ConfigError(label, "", f"cannot read {what} ({exc.strerror or exc.__class__.__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(label, "", f"is a directory, expected a {'YAML file' if what == 'file' else what}")
        if not stat.S_ISREG(mode):
            raise ConfigError(label, "", f"is not a regular file ({_kind(mode)}); give a {what} on disk")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ConfigError(label, "", f"file is larger than allowed; the limit is {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(label, "", f"cannot read {what} ({exc.strerror or exc.__class__.__name__})") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"
