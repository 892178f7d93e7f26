"""Whether the directories we read and write can be trusted: no other user can change them.

A user who can write to ``~/.config/tenx`` (or to any directory above it) can rename
``telemetry/`` away and plant a ``settings.toml`` of their own (``upload = true`` and their
endpoint): the owner's next ``send`` would post to them. So, before anything is read or
written, every existing component of each place (as written and as resolved, up to ``/``)
must be:

- *user places* (settings, spool and state, cache, user manifests): owned by the user or by
  root, and not writable by group or others - unless it is a sticky directory such as
  ``/tmp``, where nobody else can rename or remove what the user made, or its group has no
  member but its owner (and root): the user-private group that umask 002 gives every file on
  Fedora and RHEL, where 0775 is as safe as 0755;
- *the system directory* (read by every user, owned by whichever account administers it):
  not writable by others (world-writable without the sticky bit).

A group's members are those its ``/etc/group`` entry lists and every account whose primary
group it is (``grp`` and ``pwd``: what the system's name service says). When they cannot all be
known - the group or a listed name is unknown, or the account list does not show the owner
itself (a directory service that does not enumerate its users) - the group counts as shared.

The settings files and the manifests in ``products.d`` obey the rule of their directory. A
refusal is ``UnsafePermissions`` (exit 4), naming the directory and the ``chmod`` that fixes it;
the library collects nothing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from telemetry_gate.errors import UnsafePermissions
from telemetry_gate.policy.paths import Paths, display

Members = Callable[[int], "frozenset[int] | None"]
"""A group id -> the user ids of all its members, ``None`` when they cannot all be known."""


def group_members(gid: int, *, group: Callable[[int], Sequence[str]] | None = None,
                  users: Callable[[], Iterable[tuple[str, int, int]]] | None = None) -> frozenset[int] | None:
    """Who belongs to group ``gid``: the names its entry lists and every account whose primary
    group it is; ``None`` when that cannot be known for sure. ``group`` (a gid -> its member
    names, ``KeyError`` if unknown) and ``users`` (every account as name, uid, primary gid)
    default to the system's ``grp`` and ``pwd``."""
    try:
        import grp
        import pwd
    except ImportError:  # no such database on this system: nothing can be known
        return None
    group = group or (lambda g: grp.getgrgid(g).gr_mem)
    users = users or (lambda: [(u.pw_name, u.pw_uid, u.pw_gid) for u in pwd.getpwall()])
    try:
        accounts = list(users())
        names = set(group(gid))
    except (KeyError, OSError):
        return None
    uids = {name: uid for name, uid, _ in accounts}
    if names - set(uids) or os.geteuid() not in uids.values():
        return None  # a listed name no account has, or a list that is not every account (a directory
        # service that does not enumerate its users): who else belongs is unknown
    return frozenset([uids[name] for name in names] + [uid for _, uid, primary in accounts if primary == gid])


def check(paths: Paths, members: Members | None = None) -> None:
    """Raise ``UnsafePermissions`` for the first place of ``paths`` another user could change.
    ``members`` answers who belongs to a group (default ``group_members``)."""
    seen: dict[tuple[str, bool], str | None] = {}
    uid = os.geteuid()
    groups = _Groups(members or group_members)
    places = [(paths.config_dir, False), (paths.state_dir, False), (paths.cache_dir, False),
              (paths.manifest_dirs[1], False), (paths.user_settings, False),
              (paths.manifest_dirs[0], True), (paths.system_settings, True)]
    for place, shared in places:
        for path in _chain(os.fspath(place)):
            key = (path, shared)
            if key not in seen:
                seen[key] = _problem(path, shared, uid, groups)
            if seen[key] is not None:
                raise _refusal(path, str(seen[key]), shared)
    for folder, shared in ((paths.manifest_dirs[1], False), (paths.manifest_dirs[0], True)):
        for path in _manifests(os.fspath(folder)):  # a manifest names an endpoint too
            problem = _problem(path, shared, uid, groups)
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


class _Groups:
    """``members`` asked once per group during one check."""

    def __init__(self, members: Members) -> None:
        self._members = members
        self._known: dict[int, frozenset[int] | None] = {}

    def private_to(self, gid: int, owner: int) -> bool:
        """The group has no member but ``owner`` (and root, who can change anything anyway)."""
        if gid not in self._known:
            self._known[gid] = self._members(gid)
        found = self._known[gid]
        return found is not None and found <= {owner, 0}

    def unknown(self, gid: int) -> bool:
        return self._known.get(gid) is None


def _problem(path: str, shared: bool, uid: int, groups: _Groups) -> str | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None  # missing (made later, 0700) or unreadable (then nothing is read from it)
    if stat.S_ISLNK(st.st_mode):
        return None  # a link's own mode means nothing: its directory and its target are checked
    mode = stat.S_IMODE(st.st_mode)
    sticky = stat.S_ISDIR(st.st_mode) and mode & stat.S_ISVTX
    if mode & (0o002 if shared else 0o022) and not sticky:
        if mode & 0o002:
            return f"it can be changed by everyone (mode {mode:04o})"
        if not groups.private_to(st.st_gid, st.st_uid):
            whose = "whose members cannot all be listed" if groups.unknown(st.st_gid) else "which has other members"
            return f"it can be changed by its group {_group(st.st_gid)}, {whose} (mode {mode:04o})"
    if not shared and st.st_uid not in (uid, 0):
        return f"it belongs to {_user(st.st_uid)}, not to you"
    return None


def _user(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name}"
    except (ImportError, KeyError):
        return f"user id {uid}"


def _group(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _refusal(path: str, problem: str, shared: bool) -> UnsafePermissions:
    shown = display(Path(path))
    if "belongs to" in problem:
        hint = "another user controls it: remove it, or make it yours (chown) if you trust what is in it"
    else:
        what = "every user's telemetry policy" if shared else "your telemetry settings and records"
        hint = f"another user could change {what}; fix it with: chmod go-w {shown}"
    return UnsafePermissions(f"refusing to trust {shown}: {problem}", hint)

