"""What telemetry-gate itself wrote into another product's files, so ``enable`` undoes only that.

Another product's switch belongs to that product (SPEC 6b "Whose switch"). ``disable`` records
each change it makes to a file outside telemetry-gate's namespace - the file, the key, the value
before (``None``: absent) and after - and ``enable`` turns a switch back on only where the
journal says the "off" is ours and the file still holds what we wrote. An opt-out the user made
inside the product (PipeRider's ``anonymous_tracking: false`` typed by hand) has no entry and is
kept.

One JSON file per scope: ``<state>/native-journal.json`` for the user, ``<system>/native-journal.json``
for ``--system`` changes. Written atomically (0600; 0644 in the system directory, where every
user may read what the administrator changed). A journal that cannot be read is treated as
empty: nothing is turned back on (ambiguity never turns telemetry on).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from telemetry_gate.fs import atomic_write
from telemetry_gate.policy.paths import Paths

NAME = "native-journal.json"
ABSENT = None  # a key or flag file that did not exist


def path_for(paths: Paths, system: bool) -> Path:
    return (paths.system_dir if system else paths.state_dir) / NAME


def _key(file: Path, key: str) -> str:
    return f"{file}\t{key}"


def load(paths: Paths, system: bool) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path_for(paths, system).read_bytes()[:1 << 20])
    except (OSError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def entry(paths: Paths, system: bool, file: Path, key: str) -> dict[str, Any] | None:
    """What we wrote at ``file`` / ``key`` (``key`` "" for a flag file), or ``None``."""
    return load(paths, system).get(_key(file, key))


def record(paths: Paths, system: bool, file: Path, key: str, before: Any, after: Any) -> None:
    """Remember a change we made; an earlier entry for the same place keeps its ``before``
    (the value the user had before telemetry-gate first touched it)."""
    entries = load(paths, system)
    found = entries.get(_key(file, key))
    first = found["before"] if found is not None and "before" in found else before
    entries[_key(file, key)] = {"file": str(file), "key": key, "before": first, "after": after,
                                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _save(paths, system, entries)


def created(paths: Paths) -> frozenset[str]:
    """Files telemetry-gate created in other products' places (written ahead, or a flag): they are
    no sign that the product is here."""
    return frozenset(e["file"] for system in (False, True) for e in load(paths, system).values()
                     if e.get("before") is ABSENT and isinstance(e.get("file"), str))


def forget(paths: Paths, system: bool, file: Path, key: str) -> None:
    entries = load(paths, system)
    if entries.pop(_key(file, key), None) is not None:
        _save(paths, system, entries)


def _save(paths: Paths, system: bool, entries: dict[str, dict[str, Any]]) -> None:
    from telemetry_gate.fs import SYSTEM_DIR_MODE, ensure_dir

    target = path_for(paths, system)
    ensure_dir(target.parent, SYSTEM_DIR_MODE) if system else ensure_dir(target.parent)
    data = json.dumps({"entries": entries}, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    atomic_write(target, data, mode=0o644 if system else 0o600)
