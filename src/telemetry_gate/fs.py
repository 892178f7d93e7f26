"""Small file-system operations with the guarantees the spool and the settings need.

``atomic_write``: a temporary file in the same directory, then ``os.replace``, so a
reader sees the old bytes or the new ones, never half of either (hatch ``utils/fs.py``).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from telemetry_gate.errors import PermissionDenied

DIR_MODE = 0o700
FILE_MODE = 0o600
SYSTEM_DIR_MODE = 0o755  # the system directory: every user reads the policy, only its owner writes


def ensure_dir(path: Path, mode: int = DIR_MODE) -> None:
    """Create ``path`` and its missing parents with exactly ``mode`` (0700), whatever the
    umask (``mkdir -p`` and ``Path.mkdir(parents=True)`` give parents 0777 minus the umask:
    world-writable under ``umask 000``); refuse a symlink in its place."""
    try:
        _make(os.fspath(path), mode)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot create {exc.filename or path}: permission denied") from exc
    except (FileExistsError, NotADirectoryError) as exc:  # a file where a directory should be
        raise PermissionDenied(f"cannot create {path}: a file is in the way") from exc
    if path.is_symlink():
        raise PermissionDenied(f"{path} is a symbolic link; refusing to use it")


def _make(path: str, mode: int) -> None:
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
        _make(parent, mode)
        try:
            os.mkdir(path, mode)
        except FileExistsError:  # made meanwhile by another process
            if not os.path.isdir(path):
                raise
            return
    os.chmod(path, mode)  # the umask may have taken bits away (or, for 0755, not be 022)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` or raise: ``os.write`` may write less than asked (a file-size
    limit, a full disk, a signal), and a short count ignored is a cut-off file."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "no byte written", None)
        view = view[written:]


def atomic_write(path: Path, data: bytes, *, durable: bool = True, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` with ``mode`` (0600; whatever the umask) through a temporary
    sibling and ``os.replace``."""
    ensure_dir(path.parent)
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
