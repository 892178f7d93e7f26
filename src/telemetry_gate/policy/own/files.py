"""Another product's file, opened defensively (SPEC 6b, docs/manifests.md).

A product's configuration file lives where other programs, and sometimes other users, can
reach. Before one is read or written:

- the *product's directory* (``root_of``: the first directory of the switch's path below its
  base, ``~/.piperider`` for ``~/.piperider/profile.yml``) is where it must stay: a symbolic link
  leading out of it is refused (the product's directory may itself be a link: where it points is
  then the product's directory; so may a directory below it that belongs to the user or root, as
  a dotfile manager links ``~/.config/tenx/telemetry`` into a repository - never the file itself);
- every directory from there down must not be writable by others (world-writable without the
  sticky bit) or belong to another user (root excepted): someone else could swap the file;
- the file must be a regular file (a FIFO would hang the reader, a device would never end), of
  at most ``MAX_BYTES`` (a 2 GiB sparse file is refused from its size alone), owned by this user
  or root. It is opened with ``O_NONBLOCK`` and ``O_NOFOLLOW`` and checked again with ``fstat``.

A refusal raises ``Unreadable`` with a sentence; the file is then reported (a line in ``check``,
exit 3 for ``enable``/``disable``) and never rewritten.
"""

import os
import stat
from pathlib import Path

from telemetry_gate.fs import read_bounded

MAX_BYTES = 1 << 20  # 1 MiB: a product's settings file is a few hundred bytes


class Unreadable(Exception):
    """A product's file that exists but is refused or cannot be parsed: never rewritten."""


def root_of(template: str, path: Path) -> Path:
    """The product's directory for ``path``, expanded from ``template``: its first directory below
    the base (``~``, ``$XDG_...``, ``$SYSTEM``), or the file's own directory when it has none."""
    parts = [p for p in template.split("/") if p]
    below = len(parts) - (0 if template.startswith("/") else 1)  # the parts after the base
    return path.parents[below - 2] if below >= 2 else path.parent


def check_place(path: Path, root: Path) -> str:
    """``path`` with its links resolved, once every rule of the module holds for it (the file
    may be missing); raises ``Unreadable``."""
    base = _base(path, root)
    target = os.path.realpath(path)
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise Unreadable(f"leads out of {root} through a symbolic link")
    euid = os.geteuid()
    directory = os.path.dirname(target)
    while True:
        try:
            st = os.lstat(directory)
        except FileNotFoundError:
            st = None
        if st is not None:
            if st.st_uid not in (euid, 0):
                raise Unreadable(f"{directory} belongs to another user (uid {st.st_uid})")
            if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
                raise Unreadable(f"{directory} can be written by every user")
        if len(directory) <= len(base) or directory == os.path.dirname(directory):
            break
        directory = os.path.dirname(directory)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    _check_file(st)
    return target


def _base(path: Path, root: Path) -> str:
    """Where the product's directory really is: ``root`` resolved, or where the deepest directory
    link between it and the file leads, when that link belongs to the user or root."""
    base = os.path.realpath(root)
    try:
        below = path.parent.relative_to(root).parts
    except ValueError:
        return base
    current, owners = root, (os.geteuid(), 0)
    for part in below:
        current = current / part
        try:
            st = os.lstat(current)
        except OSError:
            break
        if stat.S_ISLNK(st.st_mode) and st.st_uid in owners:
            base = os.path.realpath(current)
    return base


def _check_file(st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a directory" if stat.S_ISDIR(st.st_mode) \
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise Unreadable(f"is {kind}, not a regular file")
    if st.st_uid not in (os.geteuid(), 0):
        raise Unreadable(f"belongs to another user (uid {st.st_uid})")
    if st.st_size > MAX_BYTES:
        raise Unreadable(f"is larger than {MAX_BYTES // (1 << 20)} MiB ({st.st_size} bytes)")


def read_bytes(path: Path, root: Path) -> tuple[str, bytes, os.stat_result]:
    """The file's real path, bytes and status; ``FileNotFoundError`` when it is missing."""
    target = check_place(path, root)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags)
    try:
        st = os.fstat(fd)
        _check_file(st)  # what was opened, not what was looked at
        data = read_bounded(fd, MAX_BYTES)
        if len(data) > MAX_BYTES:
            raise Unreadable(f"is larger than {MAX_BYTES // (1 << 20)} MiB")
        return target, data, st
    finally:
        os.close(fd)
