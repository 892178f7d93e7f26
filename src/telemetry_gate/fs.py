"""Small file-system operations with the guarantees the spool and the settings need.

``atomic_write``: a temporary file in the same directory, then ``os.replace``, so a
reader sees the old bytes or the new ones, never half of either (hatch ``utils/fs.py``).
``read_regular``: a file of ours read whole, only when it is a regular file and not too large
(a FIFO put where a settings file goes must never hang a command). ``ensure_dir``: a directory
of ours, 0700 whatever the umask. ``locked``: an exclusive
``flock`` on a lock file, so that read-modify-write sequences of two processes take turns.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from telemetry_gate.errors import Busy, PermissionDenied

DIR_MODE = 0o700
FILE_MODE = 0o600
SYSTEM_DIR_MODE = 0o755  # the system directory: every user reads the policy, only its owner writes


def ensure_dir(path: Path, mode: int = DIR_MODE, *, follow: bool = False) -> Path:
    """Create ``path`` and its missing parents with exactly ``mode`` (0700), whatever the
    umask (``mkdir -p`` and ``Path.mkdir(parents=True)`` give parents 0777 minus the umask:
    world-writable under ``umask 000``); the one helper for the directories telemetry-gate makes.

    A symbolic link in the place of ``path`` is refused, unless ``follow``: the user's own
    places (the settings and state directories, ``~/.config/environment.d``), which dotfile
    managers often make links into a repository. There a link, and the directory it leads to
    (created if missing), must belong to the user or root, and the directory must not be
    writable by everyone. Returns the directory itself: ``path``, or where its link leads."""
    where = os.fspath(path)
    try:
        if follow and os.path.islink(where):
            where = _followed(where)
        _make(where, mode, follow)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot create {exc.filename or path}: permission denied") from exc
    except (FileExistsError, NotADirectoryError) as exc:  # a file where a directory should be
        raise PermissionDenied(f"cannot create {path}: a file is in the way") from exc
    if not follow and path.is_symlink():
        raise PermissionDenied(f"{path} is a symbolic link; refusing to use it")
    return Path(where)


def check_dir(path: Path, *, follow: bool = True) -> None:
    """Raise what ``ensure_dir(path, follow=follow)`` and a write in it would, creating nothing:
    checked before a command writes its first file, so a directory that cannot be used stops it
    before anything is half done."""
    where = os.fspath(path)
    while not os.path.lexists(where):
        parent = os.path.dirname(where)
        if parent == where:
            return
        where = parent
    if os.path.islink(where):
        if not follow and where == os.fspath(path):
            raise PermissionDenied(f"{path} is a symbolic link; refusing to use it")
        try:
            where = _followed(where)
        except OSError:
            return  # gone meanwhile: ensure_dir says what is wrong, if anything
        if not os.path.lexists(where):
            return check_dir(Path(where), follow=follow)
    if not os.path.isdir(where):
        raise PermissionDenied(f"cannot create {path}: a file is in the way")
    if not os.access(where, os.W_OK | os.X_OK):
        raise PermissionDenied(f"cannot write in {where}: permission denied")


def _followed(link: str) -> str:
    """Where the link ``link`` leads, if it and that directory can be trusted (see ``ensure_dir``)."""
    target = os.path.realpath(link)
    uid = os.geteuid()
    if os.lstat(link).st_uid not in (uid, 0):
        raise PermissionDenied(f"{link} is a symbolic link that another user made; refusing to follow it",
                               "remove it, or replace it with a directory of your own")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target  # a link into a repository not yet populated: made below, 0700
    open_to_all = st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX
    if stat.S_ISDIR(st.st_mode) and (st.st_uid not in (uid, 0) or open_to_all):
        raise PermissionDenied(f"{link} leads to {target}, which another user can change; refusing to follow it",
                               f"make it yours and private: chmod go-w {target}")
    return target


def _make(path: str, mode: int, follow: bool = False) -> None:
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if not parent or parent == path:
            raise
        if follow and os.path.islink(parent):  # a link to a directory not made yet
            parent = _followed(parent)
        _make(parent, mode, follow)
        try:
            os.mkdir(path, mode)
        except FileExistsError:  # made meanwhile by another process
            if not os.path.isdir(path):
                raise
            return
    os.chmod(path, mode)  # the umask may have taken bits away (or, for 0755, not be 022)


@contextmanager
def locked(path: Path, timeout: float | None = None, what: str = "another telemetry command") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600, never through a link) for the
    ``with`` block; the lock goes with the process, however it ends. ``timeout`` (seconds)
    bounds the wait: then ``Busy`` names ``what`` holds it and its process id (the holder writes
    its own into the file); ``None`` waits as long as it takes."""
    import fcntl

    ensure_dir(path.parent, follow=True)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot open the lock file {path}: permission denied") from exc
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            _wait(fd, path, timeout, what)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # and with it the lock


def _wait(fd: int, path: Path, timeout: float, what: str) -> None:
    """``flock`` without blocking, again and again (5 ms, doubling to 100 ms), until ``timeout``."""
    import fcntl

    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f" (process {holder})" if holder.isdigit() else ""
                raise Busy(f"{what}{who} still holds {path} after {timeout:g} s; nothing was changed",
                           "wait for it to finish, then run the command again") from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.1)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` or raise: ``os.write`` may write less than asked (a file-size
    limit, a full disk, a signal), and a short count ignored is a cut-off file."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "no byte written", None)
        view = view[written:]


def atomic_write(path: Path, data: bytes, *, durable: bool = True, mode: int = FILE_MODE,
                 follow: bool = False) -> None:
    """Write ``data`` to ``path`` with ``mode`` (0600; whatever the umask) through a temporary
    sibling and ``os.replace``; ``follow``: its directory may be a link (``ensure_dir``)."""
    ensure_dir(path.parent, follow=follow)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        try:
            if mode != FILE_MODE:
                os.fchmod(fd, mode)
            write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except PermissionError as exc:
        _unlink_quietly(tmp)
        raise PermissionDenied(f"cannot write {path}: permission denied") from exc
    except OSError as exc:
        _unlink_quietly(tmp)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise PermissionDenied(f"cannot write {path}: {exc.strerror}") from exc
        raise


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class NotRegular(OSError):
    """A path that is not a regular file of a sensible size (a FIFO, a device, a huge file)."""


def read_regular(path: str | Path, limit: int = 1 << 20) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes; opened without
    blocking (a FIFO opens at once and is refused by ``fstat``), raising ``FileNotFoundError``,
    ``PermissionError``, ``IsADirectoryError`` or ``NotRegular`` (``strerror`` says why)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(errno.EINVAL, "is not a regular file (a FIFO, socket or device)", str(path))
        data = read_bounded(fd, limit) if st.st_size <= limit else b""
        if st.st_size > limit or len(data) > limit:
            raise NotRegular(errno.EFBIG, f"is larger than {limit} bytes", str(path))
        return data
    finally:
        os.close(fd)


def read_bounded(fd: int, limit: int) -> bytes:
    """At most ``limit + 1`` bytes from ``fd``: more than ``limit`` means the file is too large,
    whatever ``fstat`` said a moment before (a file can grow between the two)."""
    chunks = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
