"""Safe writing: checked output paths, atomic replacement, file locks, spreadsheet-safe CSV cells.

Every file carbon_bayes writes goes through :func:`atomic_write`: the path is checked first
(:func:`check_output_path`: not a directory, device, pipe or symlink, not under a file, in a
writable directory), the content goes to a temporary file next to it, which gets the old
file's permissions, is fsynced and moved over the target in one step; the directory is then
fsynced too. A failed or interrupted write leaves the old file and no temporary file.

:func:`file_lock` serialises writers of one file (a second ``update`` of the same posterior
waits, or fails with a message after ``timeout`` seconds), and :func:`escape_formulas`
makes text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) inert.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from carbon_bayes.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: Cells starting with one of these are run as formulas by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def check_output_path(path: str | Path, field: str = "--output") -> Path:
    """Return ``path`` if a file can be written there; else raise InputError with one line saying why.

    Refused: a directory, a device, a pipe or a socket, a symlink (never followed silently:
    name its target), a path under a regular file, a directory that cannot be written.
    """
    p = Path(path).expanduser()
    if p.is_symlink():
        raise InputError(field, str(path), f"is a symbolic link (to {os.readlink(p)!r}); carbon_bayes does not "
                         "write through links: give the target path itself")
    if p.exists():
        mode = p.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(field, str(path), "is a directory; give a file name in it, e.g. "
                             f"{str(p / 'estimates.csv')!r}")
        if not stat.S_ISREG(mode):
            raise InputError(field, str(path), "is a device, pipe or socket, not a regular file; give a file path")
    parent = p.parent
    for anc in [parent, *parent.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(field, str(path), f"{str(anc)!r} is a file, so nothing can be written under it; "
                                 "give a path in a directory")
            if anc == parent and not os.access(anc, os.W_OK | os.X_OK):
                raise InputError(field, str(path), f"the directory {str(anc)!r} is not writable; give a path you "
                                 "can write to")
            break
    return p


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[str], object], field: str = "--output") -> Path:
    """Call ``write(tmp_path)`` then move the temporary file over ``path`` in one step.

    The path is checked first (:func:`check_output_path`); an existing file keeps its
    permissions, a new one gets the umask's. The file and its directory are fsynced.
    """
    path = check_output_path(path, field)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise InputError(field, str(path), f"cannot write here ({e.strerror}); give another path") from None
    os.close(fd)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_text(path: str | Path, text: str, field: str = "--output") -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`): the old file stays whole until the new one is."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text), field)


@contextlib.contextmanager
def file_lock(path: str | Path, timeout: float = 600.0, field: str = "out") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a ``.lock`` file next to it) while the block runs.

    A second writer waits up to ``timeout`` seconds, then raises InputError naming the file.
    The lock is an OS lock (``fcntl.flock``): it is released when the process ends, even if killed.
    The lock file is removed when the block ends (one a killed process left is removed by the
    next writer); a writer that locked a file another just removed locks the new one instead.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking (Windows users get the atomic replace only)
        yield
        return
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    lock = p.with_name(f".{p.name}.lock")
    deadline = time.monotonic() + timeout
    while True:
        fh = open(lock, "a+")  # noqa: SIM115  (held for the block)
        try:
            _acquire(fcntl, fh, deadline)
        except BlockingIOError:
            fh.close()
            raise InputError(field, str(p), f"another carbon_bayes process is writing this file (lock {lock.name} "
                             f"held for {timeout:g} s); wait for it to finish, or write to another file") from None
        if _same_file(fh, lock):
            break
        fh.close()  # the holder before us removed the file we locked: lock the one now at the path
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        fh.close()


def _acquire(fcntl, fh, deadline: float) -> None:
    """Take the lock of an open file, retrying until ``deadline`` (then BlockingIOError)."""
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _same_file(fh, path: Path) -> bool:
    """Whether the open ``fh`` is still the file at ``path`` (not one removed since it was opened)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return os.path.samestat(os.fstat(fh.fileno()), st)


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted write of ``path`` left behind; call it holding :func:`file_lock`."""
    p = Path(path).expanduser()
    gone = []
    if p.parent.is_dir():
        for tmp in p.parent.glob(f".{p.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                gone.append(tmp)
    return gone


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with text cells a spreadsheet would run as a formula prefixed by ``'``.

    Numbers (also negative ones written as text) are left as they are.
    """
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER_RE.match(v)
                      else v for v in out[c]]
    return out
