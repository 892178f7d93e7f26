"""Which of a product's own saved events telemetry-gate has released: its own state, never the
product's files (those are never moved, changed or deleted by a release).

``<state>/released.json`` (beside the spool, 0600), rewritten whole and durably (a temporary
sibling, fsync, rename) after each accepted upload, under ``<state>/released.lock`` (``flock``),
which a release holds from its first look at the state to its last write::

    {"schema": 1, "released": [{"file", "sha256", "sent_at", "endpoint", "status"}, ...]}

An event is sent when an entry has its path and the sha256 of its bytes, or its file name and
that digest: the product writes the same bytes under the same name into a pipestance's
``extras/telemetry/``, and ``os.CreateTemp``'s random digits make a name unique. A crash between
the collector's answer and the write sends that one event again on the next release: at most
one duplicate (SPEC 7). An entry whose file is gone is dropped ``KEEP_DAYS`` after it was sent.
A file that is not this shape is reported (exit 3) and never overwritten.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from telemetry_gate.errors import InvalidFileError
from telemetry_gate.fs import FILE_MODE, atomic_write, ensure_dir

NAME = "released.json"
LOCK = "released.lock"
KEEP_DAYS = 60  # the product deletes its events after 30 days; an entry outlives its file a while
_KEYS = ("file", "sha256", "sent_at", "endpoint", "status")


class Released:
    """The released events, indexed by path and by file name."""

    def __init__(self, path: Path, entries: list[dict[str, Any]]) -> None:
        self.path = path
        self._index(entries)

    def _index(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self._by_path = {e["file"]: e for e in entries}
        self._by_name: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            self._by_name.setdefault(os.path.basename(entry["file"]), []).append(entry)

    def knows(self, file: str) -> bool:
        """Whether an entry could be ``file``'s: only then need its bytes be read."""
        return file in self._by_path or os.path.basename(file) in self._by_name

    def find(self, file: str, digest: str) -> dict[str, Any] | None:
        """The entry of ``file`` with bytes of ``digest`` (sha256 hex), if it was released."""
        entry = self._by_path.get(file)
        if entry is not None and entry["sha256"] == digest:
            return entry
        return next((e for e in self._by_name.get(os.path.basename(file), ()) if e["sha256"] == digest), None)

    def add(self, file: str, digest: str, sent_at: str, endpoint: str, status: int, now: float) -> None:
        entry = {"file": file, "sha256": digest, "sent_at": sent_at, "endpoint": endpoint, "status": status}
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - KEEP_DAYS * 86400))
        kept = [e for e in self.entries if e["file"] != file and (e["sent_at"] >= cutoff or os.path.lexists(e["file"]))]
        atomic_write(self.path, json.dumps({"schema": 1, "released": [*kept, entry]}, ensure_ascii=False,
                                           indent=1).encode("utf-8"), durable=True)
        self._index([*kept, entry])  # after the write: what is on disk is what this says


def path_of(state_dir: Path) -> Path:
    return state_dir / NAME


def load(state_dir: Path) -> Released:
    """The state as it is now (no lock: ``check`` and ``inspect`` only read it)."""
    path = path_of(state_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Released(path, [])
    except OSError as exc:
        raise InvalidFileError(path, f"cannot read: {exc.strerror}",
                               hint="it says which saved events were released; nothing is released "
                                    "until it can be read") from exc
    try:
        with os.fdopen(fd, "rb") as file:
            raw = file.read(64 << 20)
    except OSError as exc:
        raise InvalidFileError(path, f"cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
        entries = data["released"] if isinstance(data, dict) and data.get("schema") == 1 else None
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and all(isinstance(e.get(k), int if k == "status" else str) for k in _KEYS)
                for e in entries):
            raise ValueError("not the shape telemetry-gate writes")
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise InvalidFileError(path, f"not telemetry-gate's record of released events ({exc})",
                               hint="it was not written by this version; move it aside to start afresh "
                                    "(events it lists would then be released again)") from exc
    return Released(path, entries)


@contextmanager
def locked(state_dir: Path) -> Iterator[Released]:
    """The state, read under ``released.lock``, held until the block ends: two releases take
    turns, so one never sends what the other is sending."""
    import fcntl

    ensure_dir(state_dir)
    fd = os.open(state_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                 FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield load(state_dir)
    finally:
        os.close(fd)
