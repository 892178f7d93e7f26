"""The consent history: one JSON line per ``enable``/``disable``, never purged.

Where it goes:

- every change: the user's ``$XDG_STATE_HOME/<vendor>/telemetry/history.jsonl`` (0600, beside
  the spool; ``purge`` works inside ``spool/`` only, so it never touches it);
- a ``--system`` change also: ``$SYSTEM/<vendor>/telemetry/history.jsonl`` (0644 in the 0755
  system directory, like the flag files), so every user of the machine - and an administrator
  asking "since when has upload been off here, and who turned it off?" - reads one file.

A line (keys are a public interface: added to, never renamed)::

    {"time": "2026-11-25T15:40:00Z", "user": "ana", "uid": 1000, "sudo_user": null,
     "action": "disable", "scope": "system", "facet": "upload", "product": null,
     "before": {"upload": {"enabled": true, "origin": "default"}},
     "after": {"upload": {"enabled": false, "origin": "/etc/tenx/telemetry/disable_upload"}},
     "written": ["created /etc/tenx/telemetry/disable_upload"], "native": [], "environment": [],
     "id": "9f2c..."}

``native``: the products' own switches written (product, kind, where, action, value, covers);
``environment``: what the generated environment files changed (issue 13).

``before``/``after`` are the effective states (with their origins) of the facets the change
named, for the product named (or the vendor as a whole). Lines are appended with ``O_APPEND``
in one ``write``, so concurrent writers never interleave within a line. Read only when asked
(``check --history``), newest first; a malformed line is skipped with a warning.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from telemetry_gate.errors import PermissionDenied
from telemetry_gate.fs import DIR_MODE, SYSTEM_DIR_MODE, ensure_dir, read_regular, write_all

if TYPE_CHECKING:
    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.policy.paths import Paths

NAME = "history.jsonl"


class Switched(Protocol):
    """What a history line records of a switch (``native.switching.SwitchResult``)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def product(self) -> str | None: ...
    @property
    def written(self) -> tuple[str, ...]: ...
    @property
    def native(self) -> Sequence[Any]: ...  # each with as_json()
    @property
    def environment(self) -> tuple[str, ...]: ...

SYSTEM_FILE_MODE = 0o644


def user_file(paths: Paths) -> Path:
    return paths.state_dir / NAME


def system_file(paths: Paths) -> Path:
    return paths.system_dir / NAME


def states(gate: Gate, facets: Sequence[str], product: str | None) -> dict[str, dict[str, Any]]:
    """The effective state and origin of ``facets`` for ``product`` (``None``: the vendor)."""
    out = {}
    for facet in facets:
        decision = gate.policy.decide(facet, product)
        out[facet] = {"enabled": decision.enabled, "origin": decision.origin}
    return out


def _who() -> dict[str, Any]:
    uid = os.getuid()
    try:
        import pwd

        user = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(uid)
    return {"user": user, "uid": uid, "sudo_user": os.environ.get("SUDO_USER") or None}


def entry(result: Switched, facet: str, system: bool, before: Mapping[str, Any],
          after: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    return {
        "time": _rfc3339(time.time() if now is None else now),
        **_who(),
        "action": "enable" if result.enabled else "disable",
        "scope": "system" if system else "user",
        "facet": facet,
        "product": result.product,
        "before": dict(before),
        "after": dict(after),
        "written": list(result.written),
        "native": [change.as_json() for change in result.native],  # the products' own switches written
        "environment": list(result.environment),  # what the generated environment files changed
        "id": os.urandom(8).hex(),
    }


def _rfc3339(epoch: float) -> str:
    """UTC with milliseconds, so lines of one second still sort in the order they were made."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def append(paths: Paths, line: Mapping[str, Any], system: bool) -> list[str]:
    """Append ``line`` to the user's history (and the system's with ``system``); returns the
    problems met (a history that cannot be written never undoes the change itself)."""
    data = (json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    problems = []
    targets = [(system_file(paths), True)] if system else []
    targets.append((user_file(paths), False))
    for path, shared in targets:
        try:
            _append(path, data, shared)
        except (OSError, PermissionDenied) as exc:
            reason = exc.message if isinstance(exc, PermissionDenied) else f"{path}: {exc.strerror}"
            problems.append(f"consent history not written: {reason}")
    return problems


def _append(path: Path, data: bytes, shared: bool) -> None:
    ensure_dir(path.parent, SYSTEM_DIR_MODE if shared else DIR_MODE, follow=True)
    mode = SYSTEM_FILE_MODE if shared else 0o600
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, mode)
    try:
        if shared:
            os.fchmod(fd, SYSTEM_FILE_MODE)  # readable by every user, whatever the umask
        write_all(fd, data)
    finally:
        os.close(fd)


class History(NamedTuple):
    entries: list[dict[str, Any]]  # newest first; each carries "file": where it was read
    warnings: list[str]
    flags: list[dict[str, Any]] = []  # the system flag files present now: path, since, owner


def system_flags(paths: Paths) -> list[dict[str, Any]]:
    """The administrator's flag files as they are now, with their time and owner: the answer
    to "since when, and who" even for a flag made by hand (``sudo touch``), outside the history."""
    from telemetry_gate.policy.paths import FLAG_FILES

    found = []
    for name in FLAG_FILES:
        path = paths.system_flag(name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        try:
            import pwd

            owner = pwd.getpwuid(st.st_uid).pw_name
        except (ImportError, KeyError):
            owner = str(st.st_uid)
        found.append({"path": str(path), "since": _rfc3339(st.st_mtime), "owner": owner, "uid": st.st_uid})
    return found


def read(paths: Paths, facet: str | None = None, product: str | None = None) -> History:
    """Both files, merged newest first; a ``--system`` change (in both files) appears once.

    ``facet``: only changes naming it (or ``all``); ``product``: only changes of that product
    or of every product."""
    seen: set[str] = set()
    entries: list[tuple[str, int, dict[str, Any]]] = []
    warnings: list[str] = []
    for path in (system_file(paths), user_file(paths)):
        try:
            raw = read_regular(path, 64 << 20)  # a FIFO or a huge file there: reported, never a hang
        except FileNotFoundError:
            continue
        except OSError as exc:
            warnings.append(f"{path}: {exc.strerror}")
            continue
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("time"), str):
                    raise ValueError("not a history entry")
            except (ValueError, UnicodeDecodeError):
                warnings.append(f"{path}:{number}: skipped a line that is not a history entry")
                continue
            key = str(item.get("id") or line)
            if key in seen:
                continue
            seen.add(key)
            if facet is not None and item.get("facet") not in (facet, "all"):
                continue
            if product is not None and item.get("product") not in (product, None):
                continue
            entries.append((item["time"], number, {**item, "file": str(path)}))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    return History([e for _, _, e in entries], warnings, system_flags(paths))
