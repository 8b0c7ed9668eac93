"""Publishing run directories safely: nothing is lost, nothing unnamed is touched.

Every run directory (``Result.write``, streaming runs, the CLI's ``--out``) is
written through :class:`OutputDir`:

1. :func:`check_target` refuses targets that can never be a run directory (``''``,
   ``.``, ``/``, the current directory or any of its ancestors, a path through a
   file), and an existing target without ``force``, *before* a possibly long run.
2. The files go into a temporary sibling ``.NAME.XXXXXXXX`` (same file system, so
   the last step is a rename), created with the permissions the umask allows.
3. :meth:`OutputDir.publish` moves it into place with a step that **fails rather
   than replaces** when the target appeared in the meantime:

   * without ``force``: ``renameat2(RENAME_NOREPLACE)`` (Linux); where that is not
     available, ``os.mkdir(target)`` claims the name (it fails if anything exists
     there) and the temporary folder is renamed onto the empty claim (a rename onto
     a non-empty directory fails, so a claim someone wrote into is never replaced);
   * with ``force``: only the directory that was at the target when the run was
     checked is replaced (compared by device and inode). Something else found
     there, including a folder created mid-run where there was none, is kept and
     the publish fails. The swap is ``renameat2(RENAME_EXCHANGE)`` where
     available (the target is never missing), otherwise the old directory is
     renamed to a fresh unique sibling and removed after the new one is in place.
     Fixed names such as ``.NAME.old`` are never used, so no sibling is touched.

A symbolic link at the target is followed: the run directory is written where it
points (the link stays), as ``cp`` would; a link that loops is an error.

When a publish fails, the temporary folder is removed and :class:`PublishError`
(a :class:`~simsched.errors.ConfigError`, exit code 2 on the command line) says
why; the results of the run are not kept, but nothing that was there before is
lost either. Temporary folders still open are listed in :data:`LIVE` so that a
signal handler can remove them (:mod:`simsched.signals`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from simsched.errors import ConfigError

LIVE: set[Path] = set()
"""Temporary run folders not yet published or removed (for cleanup on signals)."""

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_umask_lock = threading.Lock()


class PublishError(ConfigError):
    """The run directory could not be put in place (the target appeared, is not a directory, ...)."""


class TargetExistsError(PublishError, FileExistsError):
    """Something is at the target and may not be replaced (also a :class:`FileExistsError`)."""


def _load_renameat2():
    """glibc's ``renameat2`` (2.28+), or None where there is none (other systems, musl)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)``; False if the system lacks it, OSError if it fails."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):  # kernel or file system without the flag
        return False
    raise OSError(err, os.strerror(err), str(dst))


def umask() -> int:
    """The process's current umask.

    Read from /proc/self/status where there is one (Linux); elsewhere by setting and
    restoring it, under a lock (a file another thread creates in that instant could
    get the wrong permissions, hence /proc first).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def resolve_target(out: str | Path, name: str | None = None) -> Path:
    """``out`` with a symbolic link at its last component followed (a loop is a :class:`PublishError`)."""
    label = name if name is not None else str(out)
    p = Path(out)
    if not p.is_symlink():
        return p
    try:
        return Path(os.path.realpath(p, strict=True))
    except FileNotFoundError:
        return Path(os.path.realpath(p))  # a dangling link: create its target
    except OSError as exc:
        raise PublishError(label, "", f"cannot follow the symbolic link ({exc.strerror or exc})") from None


def check_target(out: str | Path, force: bool = False, name: str | None = None) -> Path:
    """Refuse a run-directory target that cannot or must not be written; return it resolved.

    Parameters
    ----------
    out : str or Path
        The ``--out`` the user named.
    force : bool
        Whether an existing run directory may be replaced.
    name : str, optional
        How to name the target in messages (default ``out`` itself).

    Raises
    ------
    PublishError
        For ``''``, ``.``, ``/``, the current directory or an ancestor of it, an
        existing target without ``force``, an existing non-directory, a path through
        a file, a symbolic link loop, a NUL byte or an over-long name.
    """
    label = name if name is not None else str(out)
    raw = os.fspath(out)
    if not raw.strip():
        raise PublishError("--out", "", "is empty; name the run directory to create")
    if "\x00" in raw:
        raise PublishError("--out", "", "contains a NUL byte")
    try:
        p = resolve_target(out, label)
        absolute = Path(os.path.abspath(p))
        cwd = Path(os.path.abspath(os.getcwd()))
        if absolute == cwd or absolute in cwd.parents or absolute == Path(absolute.anchor) or p.name in ("", ".", ".."):
            raise PublishError(label, "", "is the current directory or one of its ancestors; name a new run directory")
        if len(os.fsencode(p.name)) > 255 - 16:  # room for the temporary sibling's prefix and suffix
            raise PublishError(label, "", f"the name is too long ({len(os.fsencode(p.name))} bytes)")
        exists = os.path.lexists(p)
        if exists and not p.is_dir():
            raise PublishError(label, "", "exists and is not a directory; choose another --out")
        if exists and not force:
            raise TargetExistsError(label, "", "output directory exists; use --force to replace it or choose another --out")
        blocker = next((q for q in p.parents if q.exists() and not q.is_dir()), None)
    except PublishError:  # before OSError: TargetExistsError is a FileExistsError too
        raise
    except OSError as exc:  # ELOOP, ENAMETOOLONG, EACCES from stat
        raise PublishError(label, "", f"cannot use this path ({exc.strerror or exc})") from None
    if blocker is not None:
        raise PublishError(label, "", f"cannot create the run directory: {blocker} is not a directory")
    return p


class OutputDir:
    """A run directory being written: a temporary sibling until :meth:`publish`.

    Use as a context manager; leaving it by an exception (or without publishing)
    removes the temporary folder::

        with OutputDir(out, force) as od:
            write files into od.tmp
            od.publish()

    Parameters
    ----------
    out : str or Path
        The run directory to create (checked by :func:`check_target`).
    force : bool
        Replace the directory that is at ``out`` now (and only that one).
    """

    def __init__(self, out: str | Path, force: bool = False) -> None:
        self.label = str(out)
        self.force = force
        self.path = check_target(out, force)
        self._was = _identity(self.path) if force else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        LIVE.add(self.tmp)
        os.chmod(self.tmp, 0o777 & ~umask())  # mkdtemp makes it private; a run directory is not
        self.published = False

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if not self.published:
            self.discard()

    def discard(self) -> None:
        """Remove the temporary folder (idempotent)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        LIVE.discard(self.tmp)

    def publish(self) -> Path:
        """Move the finished folder into place; :class:`PublishError` if the target changed meanwhile."""
        try:
            if self.force and self._was is not None:
                self._replace()
            else:
                self._create()
        except PublishError:  # before OSError: TargetExistsError is a FileExistsError too
            self.discard()
            raise
        except OSError as exc:
            self.discard()
            raise PublishError(self.label, "", f"cannot write the run directory ({exc.strerror or exc})") from None
        self.published = True
        LIVE.discard(self.tmp)
        return self.path

    def _appeared(self) -> PublishError:
        return TargetExistsError(self.label, "", "appeared while the run went; it was kept and this run's results were not written")

    def _create(self) -> None:
        """Put tmp at a path that did not exist when checked; fail if anything is there now."""
        try:
            if _rename2(self.tmp, self.path, _RENAME_NOREPLACE):
                return
        except FileExistsError:
            raise self._appeared() from None
        try:
            os.mkdir(self.path)  # the claim: fails if anything is there
        except FileExistsError:
            raise self._appeared() from None
        try:
            os.rename(self.tmp, self.path)  # onto our empty claim; fails if someone wrote into it
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise self._appeared() from None
            with contextlib.suppress(OSError):
                os.rmdir(self.path)
            raise

    def _replace(self) -> None:
        """Swap tmp with the directory that was at the target when checked, then remove the old one."""
        if _identity(self.path) != self._was:
            raise TargetExistsError(
                self.label,
                "",
                "was replaced by something else while the run went; it was kept and this run's results were not written",
            )
        try:
            if _rename2(self.tmp, self.path, _RENAME_EXCHANGE):
                shutil.rmtree(self.tmp)  # now the old directory
                return
        except FileNotFoundError:
            raise self._appeared() from None
        # Not in LIVE: after the first rename it holds the previous results, which a
        # signal must not remove.
        aside = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old.", dir=self.path.parent))
        try:
            os.rename(self.path, aside)  # onto the fresh, empty, uniquely named folder
        except OSError:
            os.rmdir(aside)
            raise
        try:
            self._create()
        except BaseException:
            try:
                os.rename(aside, self.path)  # put the previous directory back
            except OSError:
                raise PublishError(self.label, "", f"appeared while the run went; the previous directory is kept at {aside}") from None
            raise
        shutil.rmtree(aside)


def cleanup_live() -> None:
    """Remove every temporary run folder still open (called on a fatal signal)."""
    for tmp in list(LIVE):
        shutil.rmtree(tmp, ignore_errors=True)
        LIVE.discard(tmp)
