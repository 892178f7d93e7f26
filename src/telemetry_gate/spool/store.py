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

*Claims* (``sending/<claim>/``) are ``claims.py``'s; the audit and the rejection files ``outcomes.py``'s.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from telemetry_gate.errors import RecordError, SpoolUnreadable
from telemetry_gate.fs import DIR_MODE, FILE_MODE, ensure_dir, write_all
from telemetry_gate.policy.paths import is_name
from telemetry_gate.spool.ids import timestamp

DEFAULT_MAX_RECORDS = 10_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_RECORD_BYTES = 64 * 1024  # a record over this is refused when written and never read whole
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


_READ_AT_ONCE = MAX_RECORD_BYTES + 1
_RECORD_NAME = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}\.json").fullmatch  # <ULID>.json: one C call a name
ANSWER_SUFFIX = ".answer"  # rejected/<product>/<batch>.answer: the collector's answer to a refused batch


class Summary(NamedTuple):
    pending: int
    bytes: int
    oldest: float | None  # epoch seconds of the oldest pending record
    dropped: int
    rejected: int = 0  # records a collector refused (rejected/), which ``send --rejected`` sends again
    strays: tuple[str, ...] = ()  # paths in pending/ that are not records: never sent, left for a person
    unreadable: str | None = None  # why the spool could not be read (then nothing above is known)


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

    def products(self, base: Path | None = None) -> list[str]:
        """Products with a pending directory (or one in ``base``: ``rejected/``)."""
        return self._dirs(base or self.pending)

    def dropped(self, product: str) -> int:
        try:
            return os.lstat(self.dropped_dir / product).st_size
        except OSError:
            return 0

    def scan(self, product: str, base: Path | None = None,
             strays: list[str] | None = None) -> Iterator[os.DirEntry[str]]:
        """Record files of one product, unsorted; anything else (a name that is not
        ``<ULID>.json``, a symbolic link, a directory) is passed over, and added to ``strays``."""
        folder = (base or self.pending) / product
        answers = base == self.rejected  # rejected/ keeps the collector's answer beside each batch
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:  # only a missing directory is an empty one
            return
        except OSError as exc:
            raise _unreadable(folder, exc) from exc
        with entries:
            for entry in entries:
                if _RECORD_NAME(entry.name) and entry.is_file(follow_symlinks=False):
                    yield entry
                elif strays is not None and not (answers and entry.name.endswith(ANSWER_SUFFIX)
                                                 and entry.is_file(follow_symlinks=False)):
                    strays.append(entry.path)

    def entries(self, product: str | None = None, base: Path | None = None,
                strays: list[str] | None = None) -> list[Entry]:
        """Every record file, newest first (by name: no file is opened); what is not a record
        is added to ``strays``."""
        root = base or self.pending
        products = [product] if product else self._dirs(root, strays)
        found = [Entry(e.name[:-5], name, e.path) for name in products for e in self.scan(name, root, strays)]
        found.sort(key=lambda e: e.id, reverse=True)
        return found

    def _dirs(self, root: Path, strays: list[str] | None = None) -> list[str]:
        """The product directories in ``root``; a file, a link or a directory whose name is not
        a product name is never a product (never sent), and is added to ``strays``."""
        try:
            found = list(os.scandir(root))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _unreadable(root, exc) from exc
        names = []
        for entry in found:
            if is_name(entry.name) and entry.is_dir(follow_symlinks=False):
                names.append(entry.name)
            elif strays is not None:
                strays.append(entry.path)
        return sorted(names)

    def summary(self, product: str | None = None) -> Summary:
        strays: list[str] = []
        products = [product] if product else self._dirs(self.pending, strays)
        count = size = dropped = 0
        oldest: str | None = None
        for name in products:
            dropped += self.dropped(name)
            for entry in self.scan(name, None, strays):
                count += 1
                try:
                    size += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
                if oldest is None or entry.name < oldest:
                    oldest = entry.name
        refused = sum(1 for name in ([product] if product else self._dirs(self.rejected))
                      for _ in self.scan(name, self.rejected))
        return Summary(count, size, timestamp(oldest) if oldest else None, dropped, refused, tuple(sorted(strays)))

    @staticmethod
    def read(path: Path | str) -> bytes:
        """The bytes of one record file; refuses a symbolic link, and a file over the record
        limit (``RecordError``) without reading it: a 1 GiB sparse file costs one ``fstat``."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            if size > MAX_RECORD_BYTES:

                raise RecordError(f"{path}: {size} bytes, over the {MAX_RECORD_BYTES}-byte record limit")
            data = os.read(fd, _READ_AT_ONCE)  # a record is at most 64 KiB: one read, as a rule
            while len(data) < size and (chunk := os.read(fd, _READ_AT_ONCE - len(data))):
                data += chunk  # a short read (a network file system); at the size fstat gave, done
                # (a second read to see the end of a local file cost ~5% of sending a record)
            if len(data) > MAX_RECORD_BYTES:  # it grew since the fstat

                raise RecordError(f"{path}: over the {MAX_RECORD_BYTES}-byte record limit")
            return data
        finally:
            os.close(fd)

    # -- writing ---------------------------------------------------------------------

    def prepare(self, product: str) -> None:
        """Create the directories a writer needs (once per Recorder)."""
        for path in (self.root, self.tmp, self.pending, self.pending / product):
            ensure_dir(path)

    def write(self, product: str, record_id: str, data: bytes) -> str:
        """Write in ``tmp/``, then publish into ``pending/<product>/``: never half visible, and
        never over another record. ``FileExistsError`` when ``record_id`` is taken (in ``tmp/``
        or ``pending/``): the caller mints a new id and tries again. Returns the record's path
        (as text: a ``Path`` per record cost more than the rest of the Python work of a write)."""
        name = f"{record_id}.json"
        tmp = os.path.join(self.tmp, name)
        fd = os.open(tmp, _WRITE_FLAGS, FILE_MODE)
        try:
            write_all(fd, data)  # all or nothing: a short write never becomes a cut-off record
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        target = os.path.join(self.pending, product, name)
        try:
            try:
                _publish(tmp, target)
            except FileNotFoundError:  # a sender claimed the whole directory a moment ago
                ensure_dir(self.pending / product)
                _publish(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        return target

    def enforce_bound(self, product: str, max_records: int, max_bytes: int, reserve: int = 0,
                      gone: list[str] | None = None) -> tuple[int, int, int, list[tuple[str, int]]]:
        """Drop the oldest records of ``product`` until both bounds hold; count the drops.

        Returns (records kept, bytes kept, records dropped, the ``reserve`` oldest records
        kept as (path, size), oldest first: the next to go, so a writer at the bound can drop
        them one by one without scanning the directory again). The paths it unlinked are added
        to ``gone``."""
        files = sorted(_sized(self.scan(product)), reverse=True)  # newest first
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
        dropped = self.drop(product, doomed, gone)
        return kept, size, dropped, survivors[:-reserve - 1:-1] if reserve else []

    def drop(self, product: str, paths: Iterable[str], gone: list[str] | None = None) -> int:
        """Unlink records for the bound and count them in ``dropped/``; a file already gone
        (a sender claimed it) is not counted. Returns how many were dropped; the paths
        unlinked are added to ``gone``."""
        dropped = 0
        for path in paths:
            try:
                os.unlink(path)
                dropped += 1
                if gone is not None:
                    gone.append(path)
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
            write_all(fd, b"." * count)
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

    def quarantine(self, product: str, path: Path) -> Path:
        """Move a malformed file aside (kept, never deleted) so it stops getting in the way; a
        name already in ``quarantine/`` gets a suffix (``.1``, ``.2``, ...), never replaced."""
        ensure_dir(self.quarantine_dir)  # itself 0700, not only its product directories
        target_dir = self.quarantine_dir / product
        ensure_dir(target_dir)
        for n in range(1000):
            target = target_dir / (path.name if n == 0 else f"{path.name}.{n}")
            try:
                _publish(str(path), target)
            except FileExistsError:
                continue
            return target
        raise FileExistsError(errno.EEXIST, "too many quarantined files of this name", str(target_dir / path.name))


def _unreadable(path: Path, exc: OSError) -> SpoolUnreadable:
    return SpoolUnreadable(f"cannot read {path}: {exc.strerror or type(exc).__name__}",
                           "what it holds is unknown: nothing there is counted, purged or sent until it can be read")


def _sized(entries: Iterable[os.DirEntry[str]]) -> Iterator[tuple[str, int, str]]:
    """(name, size, path) of each entry still there: a writer beside us may drop one meanwhile."""
    for entry in entries:
        try:
            yield entry.name, entry.stat(follow_symlinks=False).st_size, entry.path
        except FileNotFoundError:
            continue


def _publish(source: str, target: str | Path) -> None:
    """Move ``source`` to ``target`` unless ``target`` exists (``FileExistsError``): a hard
    link fails on an existing name where ``rename`` would silently replace it. On a file
    system without hard links, ``rename`` after a look (a narrow window, no worse than before)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "record id taken", str(target)) from exc
        os.rename(source, target)
        return
    os.unlink(source)


__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_RECORDS", "DIR_MODE", "Entry", "Spool", "Summary"]
