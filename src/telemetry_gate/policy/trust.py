"""Whether the directories we read and write can be trusted: no other user can change them.

A user who can write to ``~/.config/tenx`` (or to any directory above it) can rename
``telemetry/`` away and plant a ``settings.toml`` of their own (``upload = true`` and their
endpoint): the owner's next ``send`` would post to them. So, before anything is read or
written, every existing component of each place (as written and as resolved, up to ``/``)
must be:

- *user places* (settings, spool and state, cache, user manifests): owned by the user or by
  root, and not writable by group or others - unless it is a sticky directory such as
  ``/tmp``, where nobody else can rename or remove what the user made;
- *the system directory* (read by every user, owned by whichever account administers it):
  not writable by others (world-writable without the sticky bit).

The settings files and the manifests in ``products.d`` obey the rule of their directory. A
refusal is ``UnsafePermissions`` (exit 4), naming the directory and the ``chmod`` that fixes it;
the library collects nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from telemetry_gate.errors import UnsafePermissions
from telemetry_gate.policy.paths import Paths, display


def check(paths: Paths) -> None:
    """Raise ``UnsafePermissions`` for the first place of ``paths`` another user could change."""
    seen: dict[tuple[str, bool], str | None] = {}
    uid = os.geteuid()
    places = [(paths.config_dir, False), (paths.state_dir, False), (paths.cache_dir, False),
              (paths.manifest_dirs[1], False), (paths.user_settings, False),
              (paths.manifest_dirs[0], True), (paths.system_settings, True)]
    for place, shared in places:
        for path in _chain(os.fspath(place)):
            key = (path, shared)
            if key not in seen:
                seen[key] = _problem(path, shared, uid)
            if seen[key] is not None:
                raise _refusal(path, str(seen[key]), shared)
    for folder, shared in ((paths.manifest_dirs[1], False), (paths.manifest_dirs[0], True)):
        for path in _manifests(os.fspath(folder)):  # a manifest names an endpoint too
            problem = _problem(path, shared, uid)
            if problem is not None:
                raise _refusal(path, problem, shared)


def _manifests(folder: str) -> list[str]:
    try:
        return [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".toml")]
    except OSError:
        return []


def _chain(path: str) -> dict[str, None]:
    """``path`` and each directory above it, as written and as resolved (symlinks followed)."""
    found: dict[str, None] = {}
    for start in (os.path.abspath(path), os.path.realpath(path)):
        current = start
        while True:
            found[current] = None
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return found


def _problem(path: str, shared: bool, uid: int) -> str | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None  # missing (made later, 0700) or unreadable (then nothing is read from it)
    if stat.S_ISLNK(st.st_mode):
        return None  # a link's own mode means nothing: its directory and its target are checked
    mode = stat.S_IMODE(st.st_mode)
    sticky = stat.S_ISDIR(st.st_mode) and mode & stat.S_ISVTX
    if mode & (0o002 if shared else 0o022) and not sticky:
        who = "everyone" if mode & 0o002 else "its group"
        return f"it can be changed by {who} (mode {mode:04o})"
    if not shared and st.st_uid not in (uid, 0):
        return f"it belongs to {_user(st.st_uid)}, not to you"
    return None


def _user(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name}"
    except (ImportError, KeyError):
        return f"user id {uid}"


def _refusal(path: str, problem: str, shared: bool) -> UnsafePermissions:
    shown = display(Path(path))
    if "belongs to" in problem:
        hint = "another user controls it: remove it, or make it yours (chown) if you trust what is in it"
    else:
        what = "every user's telemetry policy" if shared else "your telemetry settings and records"
        hint = f"another user could change {what}; fix it with: chmod go-w {shown}"
    return UnsafePermissions(f"refusing to trust {shown}: {problem}", hint)

