"""The on-disk queue, a Maildir (SPEC 3, 7).

Layout under ``<state>/<vendor>/telemetry/spool/``::

    tmp/                      records being written (renamed into pending/ when whole)
    pending/<product>/<id>.json
    sending/<claim>/<product>/<id>.json   claimed by one sender
    sent/<YYYY-MM-DD>.jsonl   audit: one line per uploaded record
    rejected/<product>/<id>.json
    dropped/<product>         one byte per record dropped by the bound (its size is the count)

Directories 0700, files 0600. Reading never creates anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from .ids import timestamp


class Summary(NamedTuple):
    pending: int
    bytes: int
    oldest: float | None  # epoch seconds of the oldest pending record
    dropped: int


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.pending = root / "pending"
        self.sending = root / "sending"
        self.sent = root / "sent"
        self.rejected = root / "rejected"
        self.dropped_dir = root / "dropped"

    def products(self) -> list[str]:
        """Products with a pending directory."""
        try:
            return sorted(e.name for e in os.scandir(self.pending) if e.is_dir(follow_symlinks=False))
        except OSError:
            return []

    def dropped(self, product: str) -> int:
        try:
            return os.stat(self.dropped_dir / product).st_size
        except OSError:
            return 0

    def summary(self, product: str | None = None) -> Summary:
        products = [product] if product else self.products()
        count = size = dropped = 0
        oldest: float | None = None
        for name in products:
            dropped += self.dropped(name)
            try:
                entries = list(os.scandir(self.pending / name))
            except OSError:
                continue
            for entry in entries:
                if not entry.name.endswith(".json") or not entry.is_file(follow_symlinks=False):
                    continue
                count += 1
                try:
                    size += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                created = timestamp(entry.name)
                if created is not None and (oldest is None or created < oldest):
                    oldest = created
        return Summary(count, size, oldest, dropped)
