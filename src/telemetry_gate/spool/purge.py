"""``telemetry purge``: choose pending records by product and age, then delete them; or,
with ``--rejected`` / ``--sent``, the rejected records or the audit log instead.

Records a sender has claimed (``sending/``) are left alone.
"""

from __future__ import annotations

from typing import NamedTuple

from telemetry_gate.errors import UsageError
from telemetry_gate.spool.inspection import select
from telemetry_gate.spool.store import Entry, Spool


class Plan(NamedTuple):
    entries: list[Entry]

    def bytes(self) -> int:
        """Stats every chosen file: asked only for a dry run or a confirmation prompt."""
        return sum(e.size() for e in self.entries)


class Done(NamedTuple):
    records: int
    bytes: int
    dry_run: bool
    kind: str = "pending"  # or "rejected", "sent" (audit entries)


def plan(spool: Spool, product: str | None, older_than: float | None, everything: bool,
         rejected: bool = False) -> Plan:
    if not (everything or product or older_than is not None or rejected):
        raise UsageError("say what to purge: --all, --product P or --older-than AGE",
                         "add --dry-run to see what would go")
    entries = select(spool, product, None, spool.rejected if rejected else None)
    if older_than is not None:
        import time

        cutoff = time.time() - older_than
        entries = [e for e in entries if e.created < cutoff]
    return Plan(entries)


def run(spool: Spool, chosen: Plan, dry_run: bool, rejected: bool = False) -> Done:
    kind = "rejected" if rejected else "pending"
    if dry_run:
        return Done(len(chosen.entries), chosen.bytes(), True, kind)
    count, size = spool.delete(chosen.entries)
    if rejected:
        from telemetry_gate.spool.outcomes import tidy_answers

        for product in {e.product for e in chosen.entries}:
            tidy_answers(spool, product)
    return Done(count, size, False, kind)


def sent(spool: Spool, product: str | None, older_than: float | None, dry_run: bool) -> Done:
    """The audit log: every entry, or those of one product, or older than ``older_than``."""
    from telemetry_gate.spool.outcomes import purge_audit

    count, size = purge_audit(spool, product, older_than, dry_run)
    return Done(count, size, dry_run, "sent")
