"""``telemetry send ID [ID...]``: send exactly the records a person chose.

An explicit act of the user (Genozip's ``--telemetry`` for one run), so it may override the
user's *own* choices for those records: the user settings and user flag files (SPEC 4 layer
5), the system defaults (layer 6, which the user's settings override anyway) and a product's
opt-in default (layer 7). It never overrides what the user cannot change for themselves or
what says "never": the system flag files, ``DO_NOT_TRACK``, the vendor variables and the
product variables (layers 1-4). If any of those disables upload - or collection, on which
upload depends - for a chosen record's product, nothing is sent at all and no connection is
opened (``Refused``, exit 4, the origin named).

Otherwise the same machinery as ``send``: the chosen files are claimed by rename (only those),
posted in batches, audited, unlinked after a 2xx or moved to ``rejected/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import InvalidFileError, PermissionDenied, UsageError
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.layers import Policy, Say
from telemetry_gate.send import upload
from telemetry_gate.send.sending import (
    DEFAULT_TIMEOUT,
    Report,
    Result,
    Show,
    _deliver,
    _show,
    check_options,
    resolve,
)
from telemetry_gate.spool import inspection, outcomes, records
from telemetry_gate.spool.store import Entry

if TYPE_CHECKING:
    from telemetry_gate.send.upload import Client



class Refused(PermissionDenied):
    """A chosen record's product may not upload, by a layer the user cannot override (exit 4)."""


class Chosen(NamedTuple):
    entry: Entry
    source: Path  # the spool's pending/ or rejected/
    record: dict[str, Any]
    data: bytes


def choose(gate: Gate, ids: Sequence[str], product: str | None = None) -> list[Chosen]:
    """Each id (or unique prefix, as ``inspect`` takes them) to its record; duplicates once."""
    spool = gate.spool
    chosen: list[Chosen] = []
    seen: set[str] = set()
    for prefix in ids:
        entry = inspection.find(spool, prefix, product)
        if entry.id in seen:
            continue
        seen.add(entry.id)
        try:
            record, data = inspection.load(entry)
        except FileNotFoundError as exc:
            raise UsageError(f"record {entry.id} is no longer pending (sent or purged meanwhile)") from exc
        except records.RecordError as exc:
            raise InvalidFileError(Path(entry.file), str(exc).removeprefix(str(entry.file)).lstrip(": "),
                                   hint="'telemetry inspect --quarantine' moves malformed files aside") from exc
        rejected = os.path.dirname(os.path.dirname(entry.file)) == str(spool.rejected)
        chosen.append(Chosen(entry, spool.rejected if rejected else spool.pending, record, data))
    return chosen


def forbidding(policy: Policy, product: str) -> Say | None:
    """What keeps ``product`` from uploading chosen records, if anything: ``Policy.decide`` for
    the user's explicit act, which overrides their own settings and the defaults, never the
    product's own switch, the administrator, ``DO_NOT_TRACK`` or a variable."""
    decision = policy.decide("upload", product, explicit=True)
    if decision.enabled:
        return None
    if decision.layer == "dependency":
        decision = policy.decide("collection", product, explicit=True)
    return next((say for say in decision.chain if say.verdict is False and say.source == decision.origin),
                Say(0, decision.layer, decision.origin, False))


def check_allowed(gate: Gate, chosen: Sequence[Chosen]) -> None:
    """Raise ``Refused`` naming the first product (and origin) that may not upload."""
    for product in sorted({c.entry.product for c in chosen}):
        say = forbidding(gate.policy, product)
        if say is not None:
            count = sum(1 for c in chosen if c.entry.product == product)
            raise Refused(
                f"not sent: upload of {product} is disabled by {say.source} ({say.layer}); "
                f"nothing was sent",
                f"sending chosen records overrides your own settings, never {_who(say)}; "
                f"{count} chosen {product} record{'s' if count != 1 else ''} stay pending")


def _who(say: Say) -> str:
    if say.layer == "system policy":
        return "an administrator's flag files"
    if say.source.startswith("DO_NOT_TRACK"):
        return "DO_NOT_TRACK"
    if say.rank == 0:
        return "the product's own switch (turn it on in the product to send)"
    return "a variable in the environment (unset it to send)"


def targets(gate: Gate, chosen: Sequence[Chosen], endpoint: str | None, fmt: str | None,
            environ: Mapping[str, str]) -> dict[str, Any]:
    """Where each chosen product goes (a product without one: ``NoEndpoint``, exit 2)."""
    return {p: resolve(gate, p, endpoint, fmt, environ) for p in sorted({c.entry.product for c in chosen})}


def run(gate: Gate, chosen: Sequence[Chosen], *, endpoint: str | None = None, fmt: str | None = None,
        timeout: float = DEFAULT_TIMEOUT, dry_run: bool = False, environ: Mapping[str, str] = os.environ,
        http: Client | None = None, retry: upload.Retry = upload.DEFAULT_RETRY,
        show: Show | None = None) -> Report:
    """Send exactly ``chosen`` (already allowed by ``check_allowed`` and confirmed)."""
    check_options(endpoint, fmt)
    check_allowed(gate, chosen)  # again: the policy is read at start, a caller may have skipped it
    where = targets(gate, chosen, endpoint, fmt, environ)
    spool = gate.spool
    deadline = upload.Deadline(timeout)
    results: list[Result] = []
    groups: dict[tuple[str, Path], list[str]] = {}
    for c in chosen:
        groups.setdefault((c.entry.product, c.source), []).append(os.path.basename(c.entry.file))
    clients = upload.Clients(http)
    try:
        for (product, source), names in sorted(groups.items()):
            names.sort()  # oldest first, as send does
            result = Result(product)
            results.append(result)
            target = where[product]
            result.url, result.format = target.shown_url, target.format
            if dry_run:
                _show(spool, product, source, names, target, result, show)
                continue
            _deliver(spool, product, target, result, clients.for_url(target.url), deadline, retry, None, source,
                     names)
            if source == spool.rejected:
                outcomes.tidy_answers(spool, product)
            still = {e.name for e in spool.scan(product, source)}
            result.pending = sum(1 for n in names if n in still) - (result.rejected if source == spool.rejected
                                                                   else 0)
            if result.audit_error:
                break
    finally:
        clients.close()
    if not dry_run:
        outcomes.prune(spool)
    return Report(results, dry_run, 0)
