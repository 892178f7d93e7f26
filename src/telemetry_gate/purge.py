"""``telemetry purge``: choose pending records by product and age, then delete them.

Only ``pending/`` is touched: records a sender has claimed (``sending/``) are left alone.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import UsageError
from .inspection import select
from .spool import Entry, Spool


class Plan(NamedTuple):
    entries: list[Entry]

    def bytes(self) -> int:
        """Stats every chosen file: asked only for a dry run or a confirmation prompt."""
        return sum(e.size() for e in self.entries)


class Done(NamedTuple):
    records: int
    bytes: int
    dry_run: bool


def plan(spool: Spool, product: str | None, older_than: float | None, everything: bool) -> Plan:
    if not (everything or product or older_than is not None):
        raise UsageError("say what to purge: --all, --product P or --older-than AGE",
                         "add --dry-run to see what would go")
    entries = select(spool, product, None)
    if older_than is not None:
        import time

        cutoff = time.time() - older_than
        entries = [e for e in entries if e.created < cutoff]
    return Plan(entries)


def run(spool: Spool, chosen: Plan, dry_run: bool) -> Done:
    if dry_run:
        return Done(len(chosen.entries), chosen.bytes(), True)
    count, size = spool.delete(chosen.entries)
    return Done(count, size, False)
