"""What became of records that left ``pending/``: the audit log and the rejected batches (SPEC 7).

``sent/<YYYY-MM-DD>.jsonl`` (UTC date), one JSON line per record a collector accepted::

    {"id", "product", "sent_at", "endpoint", "status", "format", "digest"}

``digest`` is ``sha256:<hex>`` of the bytes that carried the record in the request: the stored
bytes for ``json``, its LogRecord for ``otlp``. Files older than 30 days are pruned by ``send``.

``rejected/<product>/<id>.json`` is a refused record exactly as stored, and
``rejected/<product>/<batch>.answer`` the answer to its batch::

    {"status": 400, "answer": "<first bytes of the body>", "rejected_at", "endpoint", "ids": [...]}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from telemetry_gate.fs import FILE_MODE, atomic_write, ensure_dir, locked, write_all
from telemetry_gate.spool.ids import is_id, new_id
from telemetry_gate.spool.records import rfc3339
from telemetry_gate.spool.store import ANSWER_SUFFIX, Entry, Spool

AUDIT_DAYS = 30
LOCK_NAME = ".lock"  # in sent/: appends and purges of the audit log take turns


def _day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


# -- the audit log -------------------------------------------------------------------------

def audit(spool: Spool, entries: Sequence[Mapping[str, Any]], now: float | None = None) -> None:
    """Append one line per entry to today's file, in one write (O_APPEND: senders interleave
    whole batches, never parts of lines)."""
    if not entries:
        return
    _append(spool, "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in entries), now)


def _audit_lock(spool: Spool) -> AbstractContextManager[None]:
    """Hold ``sent/.lock`` (``flock``): ``purge --sent`` rewrites a day file while a sender may be
    appending to it, and an append to the file being replaced would be lost."""
    ensure_dir(spool.sent)
    return locked(spool.sent / LOCK_NAME)


def _append(spool: Spool, data: str, now: float | None) -> None:
    path = spool.sent / f"{_day(now or time.time())}.jsonl"
    with _audit_lock(spool):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
        try:
            write_all(fd, data.encode("utf-8"))
        finally:
            os.close(fd)


def audit_batch(spool: Spool, ids: Sequence[str], digests: Sequence[str], product: str, endpoint: str,
                status: int, fmt: str, now: float) -> None:
    """``audit`` for one accepted batch: the fields the records share are encoded once (ids are
    ULIDs and digests hex, so they need no escaping); the lines equal ``audit_entry``'s."""
    shared = json.dumps({"product": product, "sent_at": rfc3339(now), "endpoint": endpoint, "status": status,
                         "format": fmt}, ensure_ascii=False, separators=(",", ":"))[1:-1]
    _append(spool, "".join(f'{{"id":"{i}",{shared},"digest":"{d}"}}\n' for i, d in zip(ids, digests, strict=True)),
            now)


def audit_entry(record_id: str, product: str, endpoint: str, status: int, fmt: str, digest: str,
                now: float) -> dict[str, Any]:
    return {"id": record_id, "product": product, "sent_at": rfc3339(now), "endpoint": endpoint,
            "status": status, "format": fmt, "digest": digest}


def audit_files(spool: Spool) -> list[Path]:
    """The audit files, newest first."""
    try:
        names = [n for n in os.listdir(spool.sent) if n.endswith(".jsonl") and len(n) == 16]
    except OSError:
        return []
    return [spool.sent / n for n in sorted(names, reverse=True)]


def prune(spool: Spool, now: float | None = None, days: int = AUDIT_DAYS) -> int:
    """Delete audit files older than ``days``; how many."""
    cutoff = _day((now or time.time()) - days * 86400)
    removed = 0
    for path in audit_files(spool):
        if path.name[:10] < cutoff:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def read_audit(spool: Spool, product: str | None = None, since: float | None = None,
               limit: int | None = None, warnings: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Audit entries newest first, filtered by product and age (``since``: seconds)."""
    cutoff = rfc3339(time.time() - since) if since is not None else None
    count = 0
    for path in audit_files(spool):
        if cutoff is not None and path.name[:10] < cutoff[:10]:
            return
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue
        for number in range(len(lines), 0, -1):
            line = lines[number - 1]
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                sent_at = entry["sent_at"]
            except (ValueError, KeyError, TypeError):
                if warnings is not None:
                    warnings.append(f"skipped {path}:{number}: not an audit entry")
                continue
            if product is not None and entry.get("product") != product:
                continue
            if cutoff is not None and sent_at < cutoff:
                continue
            if limit is not None and count >= limit:
                return
            count += 1
            yield entry


def purge_audit(spool: Spool, product: str | None, older_than: float | None,
                dry_run: bool) -> tuple[int, int]:
    """Delete audit entries (all, of one product, or older than ``older_than`` seconds);
    returns (entries, bytes). A file left with no entry is removed."""
    if dry_run or not audit_files(spool):
        return _purge_audit(spool, product, older_than, dry_run)
    with _audit_lock(spool):  # no sender appends while a day file is rewritten
        return _purge_audit(spool, product, older_than, dry_run)


def _purge_audit(spool: Spool, product: str | None, older_than: float | None,
                 dry_run: bool) -> tuple[int, int]:
    cutoff = rfc3339(time.time() - older_than) if older_than is not None else None
    count = size = 0
    for path in audit_files(spool):
        try:
            lines = path.read_bytes().splitlines(keepends=True)
        except OSError:
            continue
        keep = []
        for line in lines:
            try:
                entry = json.loads(line)
                doomed = (product is None or entry.get("product") == product) and (
                    cutoff is None or str(entry.get("sent_at", "")) < cutoff)
            except ValueError:
                doomed = product is None and cutoff is None
            if doomed:
                count += 1
                size += len(line)
            else:
                keep.append(line)
        if dry_run or len(keep) == len(lines):
            continue
        if keep:
            atomic_write(path, b"".join(keep), durable=False)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return count, size


# -- rejected batches ----------------------------------------------------------------------

def reject(spool: Spool, product: str, entries: Sequence[Entry], status: int, answer: str,
           endpoint: str, now: float | None = None) -> list[Entry]:
    """Move a refused batch's claimed files into ``rejected/<product>/`` beside its answer."""
    folder = spool.rejected / product
    ensure_dir(spool.rejected)
    ensure_dir(folder)
    moved = []
    for entry in entries:
        target = folder / entry.path.name
        try:
            os.rename(entry.path, target)
        except FileNotFoundError:
            continue
        moved.append(Entry(entry.id, product, str(target)))
    info = {"status": status, "answer": answer, "rejected_at": rfc3339(now or time.time()),
            "endpoint": endpoint, "ids": [e.id for e in moved]}
    atomic_write(folder / f"{new_id()}{ANSWER_SUFFIX}",
                 json.dumps(info, ensure_ascii=False).encode("utf-8"), durable=False)
    return moved


def answers(spool: Spool, product: str) -> dict[str, dict[str, Any]]:
    """For each rejected record id of ``product``, the answer to its batch."""
    found: dict[str, dict[str, Any]] = {}
    folder = spool.rejected / product
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(ANSWER_SUFFIX))
    except OSError:
        return found
    for name in names:
        try:
            info = json.loads((folder / name).read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict):
            for record_id in info.get("ids", []):
                found[str(record_id)] = info
    return found


def tidy_answers(spool: Spool, product: str) -> None:
    """Remove the answer files whose records are all gone (purged)."""
    folder = spool.rejected / product
    try:
        names = [n for n in os.listdir(folder) if n.endswith(ANSWER_SUFFIX)]
    except OSError:
        return
    for name in names:
        try:
            info = json.loads((folder / name).read_bytes())
            ids = info.get("ids", []) if isinstance(info, dict) else []
        except (OSError, ValueError):
            continue
        if not any(os.path.lexists(folder / f"{i}.json") for i in ids if isinstance(i, str) and is_id(i)):
            try:
                os.unlink(folder / name)
            except FileNotFoundError:
                pass
