"""The on-disk queue, a Maildir (SPEC 3, 7).

Layout under ``<state>/<vendor>/telemetry/spool/``::

    tmp/                      records being written (renamed into pending/ when whole)
    pending/<product>/<id>.json
    sending/<claim>/<product>/<id>.json   claimed by one sender
    sent/<YYYY-MM-DD>.jsonl   audit: one line per uploaded record (UTC date; kept 30 days)
    rejected/<product>/<id>.json          refused by the collector, kept as stored
    rejected/<product>/<batch>.answer     the collector's answer to one refused batch
    quarantine/<product>/<name>           malformed files moved aside, never deleted
    dropped/<product>         one byte per record dropped by the bound (its size is the count)

Directories 0700, files 0600, symbolic links refused. Names are ULIDs, so sorting names
sorts by time and listing never opens a file. Reading never creates anything.

*Claim*: a sender renames records from ``pending/`` into its own ``sending/<claim>/``, so two
senders never hold one record. ``<claim>`` is ``<host>-<pid>-<start>-<random>`` (``<host>``: 8
hex digits of a hash of the host name; ``<start>``: the process's start time from ``/proc``),
so the next run can tell whether the process that made a claim is gone, even after its pid
is reused; the claims of a process that is gone go back to ``pending/`` (``recover``). A claim
made on another host (a home directory shared by a cluster's nodes) cannot be checked and is
returned only when nothing in it has changed for a day. The audit and the rejection files are
in ``outcomes.py``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from .fs import DIR_MODE, FILE_MODE, ensure_dir
from .ids import timestamp

DEFAULT_MAX_RECORDS = 10_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


_READ_AT_ONCE = (64 << 10) + 1
_RECORD_NAME = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}\.json").fullmatch  # <ULID>.json: one C call a name


class Summary(NamedTuple):
    pending: int
    bytes: int
    oldest: float | None  # epoch seconds of the oldest pending record
    dropped: int


class Entry(NamedTuple):
    """A pending (or rejected) record file, known from its name alone."""

    id: str
    product: str
    file: str  # its path as text: a Path for each of 100k entries would cost ~0.3 s

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def created(self) -> float:
        return timestamp(self.id) or 0.0

    def size(self) -> int:
        try:
            return os.lstat(self.file).st_size
        except OSError:
            return 0


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.pending = root / "pending"
        self.sending = root / "sending"
        self.sent = root / "sent"
        self.rejected = root / "rejected"
        self.quarantine_dir = root / "quarantine"
        self.dropped_dir = root / "dropped"

    # -- reading ---------------------------------------------------------------------

    def products(self) -> list[str]:
        """Products with a pending directory."""
        try:
            return sorted(e.name for e in os.scandir(self.pending) if e.is_dir(follow_symlinks=False))
        except OSError:
            return []

    def dropped(self, product: str) -> int:
        try:
            return os.lstat(self.dropped_dir / product).st_size
        except OSError:
            return 0

    def scan(self, product: str, base: Path | None = None) -> Iterator[os.DirEntry[str]]:
        """Record files of one product, unsorted; symbolic links and strays are passed over."""
        try:
            with os.scandir((base or self.pending) / product) as entries:
                for entry in entries:
                    if _RECORD_NAME(entry.name) and entry.is_file(follow_symlinks=False):
                        yield entry
        except OSError:
            return

    def entries(self, product: str | None = None, base: Path | None = None) -> list[Entry]:
        """Every record file, newest first (by name: no file is opened)."""
        root = base or self.pending
        products = [product] if product else self._dirs(root)
        found = [Entry(e.name[:-5], name, e.path) for name in products for e in self.scan(name, root)]
        found.sort(key=lambda e: e.id, reverse=True)
        return found

    def _dirs(self, root: Path) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
        except OSError:
            return []

    def summary(self, product: str | None = None) -> Summary:
        products = [product] if product else self.products()
        count = size = dropped = 0
        oldest: str | None = None
        for name in products:
            dropped += self.dropped(name)
            for entry in self.scan(name):
                count += 1
                try:
                    size += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
                if oldest is None or entry.name < oldest:
                    oldest = entry.name
        return Summary(count, size, timestamp(oldest) if oldest else None, dropped)

    @staticmethod
    def read(path: Path | str) -> bytes:
        """The bytes of one record file; refuses a symbolic link."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        try:
            data = os.read(fd, _READ_AT_ONCE)  # a record is at most 64 KiB: one read, as a rule
            if len(data) < _READ_AT_ONCE:
                return data
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    # -- writing ---------------------------------------------------------------------

    def prepare(self, product: str) -> None:
        """Create the directories a writer needs (once per Recorder)."""
        for path in (self.root, self.tmp, self.pending, self.pending / product):
            ensure_dir(path)

    def write(self, product: str, record_id: str, data: bytes) -> Path:
        """Write in ``tmp/``, then rename into ``pending/<product>/``: never half visible."""
        name = f"{record_id}.json"
        tmp = os.path.join(self.tmp, name)
        fd = os.open(tmp, _WRITE_FLAGS, FILE_MODE)
        try:
            os.write(fd, data)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        target = self.pending / product / name
        try:
            try:
                os.rename(tmp, target)
            except FileNotFoundError:  # a sender claimed the whole directory a moment ago
                ensure_dir(target.parent)
                os.rename(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        return target

    def enforce_bound(self, product: str, max_records: int, max_bytes: int,
                      reserve: int = 0) -> tuple[int, int, int, list[tuple[str, int]]]:
        """Drop the oldest records of ``product`` until both bounds hold; count the drops.

        Returns (records kept, bytes kept, records dropped, the ``reserve`` oldest records
        kept as (path, size), oldest first: the next to go, so a writer at the bound can drop
        them one by one without scanning the directory again)."""
        files = sorted(((e.name, e.stat(follow_symlinks=False).st_size, e.path)
                        for e in self.scan(product)), reverse=True)  # newest first
        kept = size = 0
        doomed: list[str] = []
        survivors: list[tuple[str, int]] = []
        for _name, length, path in files:
            if kept + 1 > max_records or size + length > max_bytes:
                doomed.append(path)
            else:
                kept += 1
                size += length
                survivors.append((path, length))
        dropped = self.drop(product, doomed)
        return kept, size, dropped, survivors[:-reserve - 1:-1] if reserve else []

    def drop(self, product: str, paths: Iterable[str]) -> int:
        """Unlink records for the bound and count them in ``dropped/``; a file already gone
        (a sender claimed it) is not counted. Returns how many were dropped."""
        dropped = 0
        for path in paths:
            try:
                os.unlink(path)
                dropped += 1
            except FileNotFoundError:
                pass
        if dropped:
            self._count_drops(product, dropped)
        return dropped

    def _count_drops(self, product: str, count: int) -> None:
        ensure_dir(self.dropped_dir)
        fd = os.open(self.dropped_dir / product, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW,
                     FILE_MODE)
        try:
            os.write(fd, b"." * count)
        finally:
            os.close(fd)

    # -- deleting --------------------------------------------------------------------

    def delete(self, entries: list[Entry]) -> tuple[int, int]:
        """Unlink ``entries``; returns (records, bytes) actually removed. A file already gone
        (claimed by a sender meanwhile) is not counted."""
        count = size = 0
        for entry in entries:
            try:
                length = os.lstat(entry.file).st_size
                os.unlink(entry.file)
            except FileNotFoundError:
                continue
            count += 1
            size += length
        return count, size

    def remove(self, entries: Iterable[Entry]) -> None:
        """Unlink claimed files after the collector accepted them (already gone: fine)."""
        for entry in entries:
            try:
                os.unlink(entry.file)
            except FileNotFoundError:
                pass

    # -- claims ----------------------------------------------------------------------

    def release(self, claim_dir: Path) -> int:
        """Move every record under ``claim_dir`` back to ``pending/<product>/`` and remove the
        claim's directories; returns how many records went back."""
        count = 0
        try:
            products = [e for e in os.scandir(claim_dir) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return 0
        for product in products:
            target = self.pending / product.name
            ensure_dir(self.pending)
            ensure_dir(target)
            for entry in self.scan(product.name, claim_dir):
                try:
                    os.rename(entry.path, os.path.join(target, entry.name))
                    count += 1
                except FileNotFoundError:
                    pass
            _rmdir_quietly(product.path)
        _rmdir_quietly(str(claim_dir))
        return count

    def recover(self) -> int:
        """Return the claims of senders that are gone to ``pending/``; how many records."""
        count = 0
        try:
            claims = [e for e in os.scandir(self.sending) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return 0
        for claim in claims:
            if claim_alive(claim.name, Path(claim.path)) is False:
                count += self.release(Path(claim.path))
        return count

    def quarantine(self, product: str, path: Path) -> Path:
        """Move a malformed file aside (kept, never deleted) so it stops getting in the way."""
        target_dir = self.quarantine_dir / product
        ensure_dir(target_dir)
        target = target_dir / path.name
        os.rename(path, target)
        return target


def _rmdir_quietly(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass  # not empty (a file that is not a record stays, for a person to look at) or gone


# -- claims ----------------------------------------------------------------------------

FOREIGN_CLAIM_AGE = 86400.0  # a claim from another host is returned after a day untouched


def _host_tag() -> str:
    import hashlib

    try:
        host = os.uname().nodename
    except (AttributeError, OSError):
        host = ""
    return hashlib.sha256(host.encode("utf-8", "replace")).hexdigest()[:8]


def _process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22);
    ``""`` where there is no ``/proc``, ``None`` when the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else ""
    except OSError:
        return ""
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return None
    return fields[19].decode("ascii")


def claim_name() -> str:
    pid = os.getpid()
    return f"{_host_tag()}-{pid}-{_process_start(pid) or 0}-{os.urandom(4).hex()}"


def claim_alive(name: str, path: Path) -> bool | None:
    """Whether the process that made claim ``name`` may still be sending; ``None`` for a name
    that is not a claim of ours (it is left alone)."""
    parts = name.split("-")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    host, pid, start = parts[0], int(parts[1]), parts[2]
    if host != _host_tag():
        return time.time() - _newest_mtime(path) < FOREIGN_CLAIM_AGE
    now = _process_start(pid)
    if now is None:
        return False
    if now == "":  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now == start


def _newest_mtime(path: Path) -> float:
    newest = 0.0
    for root, dirs, _files in os.walk(path):
        try:
            newest = max(newest, os.lstat(root).st_mtime)
        except OSError:
            pass
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return newest


class Claim:
    """One sender's ``sending/<claim>/``: records renamed in here are this process's to send."""

    def __init__(self, spool: Spool, name: str | None = None) -> None:
        self.spool = spool
        self.name = name or claim_name()
        self.dir = spool.sending / self.name
        self._made: set[str] = set()

    def _product_dir(self, product: str) -> str:
        target = os.path.join(self.dir, product)
        if product not in self._made:
            ensure_dir(self.spool.sending)
            ensure_dir(self.dir)
            ensure_dir(Path(target))
            self._made.add(product)
        return target

    def take(self, product: str, names: Iterable[str]) -> list[Entry]:
        """Rename the pending files ``names`` (``<id>.json``) into the claim; a file another
        sender (or ``purge``) took first is passed over."""
        source = os.path.join(self.spool.pending, product)
        target = self._product_dir(product)
        taken = []
        for name in names:
            path = os.path.join(target, name)
            try:
                os.rename(os.path.join(source, name), path)
            except FileNotFoundError:
                continue
            taken.append(Entry(name[:-5], product, path))
        return taken

    def take_all(self, product: str) -> list[Entry]:
        """Claim every pending record of ``product`` with one rename of its directory (an
        empty one takes its place at once; a writer that finds none makes it again), oldest
        first. Files that are not records go back. Falls back to one rename per file when
        the directory cannot be moved."""
        source = os.path.join(self.spool.pending, product)
        if os.path.islink(source):
            return []
        target = os.path.join(self.dir, product)
        if product not in self._made:
            ensure_dir(self.spool.sending)
            ensure_dir(self.dir)
            try:
                os.rename(source, target)
            except FileNotFoundError:
                return []
            except OSError:
                pass  # the claim already holds this product: take file by file below
            else:
                self._made.add(product)
                ensure_dir(Path(source))
                with os.scandir(target) as found:
                    strays = [e.name for e in found if not (_RECORD_NAME(e.name) and e.is_file(follow_symlinks=False))]
                for name in strays:
                    try:
                        os.rename(os.path.join(target, name), os.path.join(source, name))
                    except OSError:
                        pass
                entries = [Entry(e.name[:-5], product, e.path) for e in self.spool.scan(product, self.dir)]
                entries.sort()
                return entries
        return self.take(product, sorted(e.name for e in self.spool.scan(product)))

    def release(self) -> int:
        """Put every record still in the claim back into ``pending/``; remove the claim."""
        return self.spool.release(self.dir)


__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_RECORDS", "DIR_MODE", "Claim", "Entry", "Spool", "Summary"]
