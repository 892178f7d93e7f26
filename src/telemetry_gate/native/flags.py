"""Writing a flag-file switch: an empty file whose existence means off.

- ``create_flag``: an empty file (0600; 0644 system-wide), never through a link;
- ``remove_flag``: only an empty regular file this user (or root) owns; anything else at a flag
  path - a file with content, a directory, a link - is reported (``InvalidFileError``), never
  removed. telemetry-gate's own flag files, which Cell Ranger shares, are the exception
  (``shared``): any entry there goes, as ``cellranger telemetry enable`` removes it.

Both refuse a path whose directories lead out of the product's directory through a link or
pass a directory others can write (``policy/own/files.py``).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from telemetry_gate.errors import InvalidFileError, PermissionDenied
from telemetry_gate.native.edit import NEW_DIR_MODE, NEW_FILE_MODE, SYSTEM_DIR_MODE, SYSTEM_FILE_MODE, denied, make_dirs
from telemetry_gate.policy.own import files


def create_flag(path: Path, system: bool, root: Path | None = None, shared: bool = False) -> None:
    """``root``: the product's directory (``files.root_of``); the flag's own directory by default.
    ``shared``: telemetry-gate's own directory, checked as such (``policy/trust.py``, ``fs.ensure_dir``:
    a link of the user's to a directory nobody else can write is followed)."""
    if not shared:
        _check(path, root)
    make_dirs(path.parent, SYSTEM_DIR_MODE if system else NEW_DIR_MODE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                     SYSTEM_FILE_MODE if system else NEW_FILE_MODE)
        if system:
            os.fchmod(fd, SYSTEM_FILE_MODE)  # whatever the umask
        os.close(fd)
    except FileExistsError:
        return
    except OSError as exc:
        raise denied("create", path, exc) from exc


def remove_flag(path: Path, shared: bool = False, root: Path | None = None) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise denied("remove", path, exc) from exc
    if shared:
        _remove_entry(path, st)
        return
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symbolic link, not a flag file"
    elif stat.S_ISDIR(st.st_mode):
        problem = "is a directory, not a flag file"
    elif not stat.S_ISREG(st.st_mode):
        problem = "is not a regular file"
    elif st.st_size:
        problem = f"holds {st.st_size} bytes; a flag file is empty"
    elif st.st_uid not in (os.geteuid(), 0):
        problem = "belongs to another user"
    if problem:
        raise InvalidFileError(path, f"{problem}; telemetry-gate removes only an empty flag file, so it is "
                               "left as it is", hint="remove it yourself if the product should run with it on")
    _check(path, root)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise denied("remove", path, exc) from exc


def _check(path: Path, root: Path | None) -> None:
    try:
        files.check_place(path, root if root is not None else path.parent)
    except files.Unreadable as exc:
        raise InvalidFileError(path, f"{exc}; left as it is") from exc


def _remove_entry(path: Path, st: os.stat_result) -> None:
    try:
        if stat.S_ISDIR(st.st_mode):
            os.rmdir(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise PermissionDenied(f"cannot remove {path}: it is a directory with files in it",
                                   "remove it yourself if nothing in it is needed") from exc
        raise denied("remove", path, exc) from exc
