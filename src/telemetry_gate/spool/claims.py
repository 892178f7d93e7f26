"""Claims: a sender's ``sending/<claim>/``, where it holds the records it is sending.

A sender renames records from ``pending/`` into its own ``sending/<claim>/``, so two
senders never hold one record. ``<claim>`` is ``<host>-<pid>-<start>-<random>`` (``<host>``: 8
hex digits of a hash of the host name; ``<start>``: the process's start time from ``/proc``),
so the next run can tell whether the process that made a claim is gone, even after its pid
is reused; the claims of a process that is gone go back to ``pending/`` (``recover``). A claim
made on another host (a home directory shared by a cluster's nodes) cannot be checked and is
returned only when nothing in it has changed for a day.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from telemetry_gate.fs import ensure_dir
from telemetry_gate.spool.store import _RECORD_NAME, Entry, Spool


def release(spool: Spool, claim_dir: Path, base: Path | None = None) -> int:
    """Move every record under ``claim_dir`` back to ``pending/<product>/`` (or ``base``'s,
    where the claim took them from) and remove the claim's directories; returns how many
    records went back."""
    count = 0
    base = base or spool.pending
    try:
        products = [e for e in os.scandir(claim_dir) if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return 0
    for product in products:
        target = base / product.name
        ensure_dir(base)
        ensure_dir(target)
        for entry in spool.scan(product.name, claim_dir):
            try:
                os.rename(entry.path, os.path.join(target, entry.name))
                count += 1
            except FileNotFoundError:
                pass
        _rmdir_quietly(product.path)
    _rmdir_quietly(str(claim_dir))
    return count

def recover(spool: Spool) -> int:
    """Return the claims of senders that are gone to ``pending/``; how many records."""
    count = 0
    try:
        claims = [e for e in os.scandir(spool.sending) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for claim in claims:
        if claim_alive(claim.name, Path(claim.path)) is False:
            count += release(spool, Path(claim.path))
    return count


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

    def __init__(self, spool: Spool, name: str | None = None, source: Path | None = None) -> None:
        self.spool = spool
        self.name = name or claim_name()
        self.dir = spool.sending / self.name
        self.source = source or spool.pending  # where records are taken from and go back to
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
        source = os.path.join(self.source, product)
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
        if self.source != self.spool.pending:
            return self.take(product, sorted(e.name for e in self.spool.scan(product, self.source)))
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
        """Put every record still in the claim back where it came from; remove the claim."""
        return release(self.spool, self.dir, self.source)


def _rmdir_quietly(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass  # not empty (a file that is not a record stays, for a person to look at) or gone


__all__ = ["Claim", "claim_alive", "claim_name", "recover", "release"]
