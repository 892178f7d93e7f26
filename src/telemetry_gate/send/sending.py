"""``telemetry send``: which products may upload, where to, and the claim-post-settle loop.

For each product with pending records: the upload facet decides (a disabled product is
reported with the layer that forbids it, and nothing connects); the endpoint and format are
resolved (first match: the options, ``TELEMETRY_ENDPOINT``, the settings files, the
manifest; the format defaults to ``otlp``); then records are claimed by rename, read,
batched and posted. A 2xx settles a batch (audit lines, then unlink); a refusal moves it to
``rejected/``; anything else stops that product and its claim goes back to ``pending/``.
Every claim is returned in a ``finally``; a sender killed outright leaves a claim that the
next run returns (``Spool.recover``). One deadline bounds the whole run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import (
    AuditFailed,
    ConfigError,
    InvalidFileError,
    NoEndpoint,
    TelemetryError,
    UploadIncomplete,
    UsageError,
)
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.paths import display
from telemetry_gate.send import payloads, upload
from telemetry_gate.send.overlap import Ahead, Unlinker
from telemetry_gate.spool import outcomes, records
from telemetry_gate.spool.claims import Claim, recover
from telemetry_gate.spool.store import Entry, Spool
from telemetry_gate.vocabulary import FORMATS

if TYPE_CHECKING:
    from telemetry_gate.send.upload import Client

ENDPOINT_VARIABLE = "TELEMETRY_ENDPOINT"
DEFAULT_FORMAT = "otlp"
DEFAULT_TIMEOUT = 60.0

Progress = Callable[[str, int, int], None]  # product, records settled, records to send
Show = Callable[[str, str, bytes, int], None]  # product, url, body, records (--dry-run)


class Target(NamedTuple):
    endpoint: str
    format: str
    endpoint_from: str
    format_from: str

    @property
    def url(self) -> str:
        return upload.url_for(self.endpoint, self.format)

    @property
    def shown_url(self) -> str:
        """The URL without its credentials (``user:password@``): for messages and the audit log."""
        return upload.without_userinfo(self.url)


def _setting(gate: Gate, key: str, product: str) -> tuple[str, str] | None:
    found = gate.policy.setting(key, product)
    return None if found is None else (str(found[0]), found[1])


def resolve_format(gate: Gate, product: str, option: str | None = None) -> tuple[str, str]:
    """The format and where it came from: option, settings, manifest, else ``otlp``."""
    if option:
        return option, "--format"
    found = _setting(gate, "format", product)
    if found:
        return found
    manifest = gate.catalogue.manifests.get(product)
    if manifest is not None and manifest.format:
        return manifest.format, manifest.source
    return DEFAULT_FORMAT, "default"


def resolve(gate: Gate, product: str, endpoint: str | None = None, fmt: str | None = None,
            environ: Mapping[str, str] = os.environ) -> Target:
    """Where ``product`` sends; ``NoEndpoint`` (exit 2) naming the product when nothing says,
    ``ConfigError`` for an endpoint that may not be used."""
    fmt_value, fmt_from = resolve_format(gate, product, fmt)
    found: tuple[str, str] | None = None
    if endpoint:
        found = endpoint, "--endpoint"
    elif environ.get(ENDPOINT_VARIABLE, "").strip():
        found = environ[ENDPOINT_VARIABLE].strip(), ENDPOINT_VARIABLE
    else:
        found = _setting(gate, "endpoint", product)
        manifest = gate.catalogue.require(product) if found is None else None
        if found is None and manifest is not None and manifest.endpoint:
            found = manifest.endpoint, manifest.source
    if found is None:
        raise NoEndpoint(f"no endpoint is configured for {product}",
                         endpoint_hint(display(gate.paths.user_settings), [product]))
    target = Target(found[0], fmt_value, found[1], fmt_from)
    upload.check_url(target.url, target.endpoint_from)
    return target


def endpoint_hint(settings_file: str, products: list[str]) -> str:
    """How to say where records go: the option, the variable and the settings key."""
    table = f"[products.{products[0]}]" if len(products) == 1 else "[products.<name>]"
    return (f"give --endpoint URL, set {ENDPOINT_VARIABLE}=URL, or add endpoint = \"https://...\" to "
            f"[telemetry] (every product) or {table} in {settings_file}")


class Result:
    """What happened to one product's records."""

    def __init__(self, product: str) -> None:
        self.product = product
        self.url: str | None = None
        self.format: str | None = None
        self.disabled_by: str | None = None  # upload disabled: the origin that says so
        self.error: str | None = None  # could not even start: exit 3 (2 when ``no_endpoint``)
        self.no_endpoint = False  # nothing says where its records go
        self.problem: str | None = None  # why records stay pending (the last failure)
        self.audit_error: str | None = None  # delivered, but the audit log could not be written
        self.sent = self.rejected = self.pending = self.requests = 0
        self.statuses: dict[int, int] = {}
        self.notes: list[str] = []

    @property
    def attempted(self) -> bool:
        return self.disabled_by is None and self.error is None

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "rejected": self.rejected, "pending": self.pending,
                "endpoint": self.url, "format": self.format, "disabled_by": self.disabled_by,
                "error": self.error, "problem": self.problem, "audit_error": self.audit_error,
                "rejected_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "notes": list(self.notes)}


class Report(NamedTuple):
    results: list[Result]
    dry_run: bool
    recovered: int  # records returned from the claims of senders that are gone
    source: str = "pending"  # where undelivered records wait: "rejected" for send --rejected
    settings_file: str = "settings.toml"  # the user settings, as the no-endpoint hint names them

    @property
    def undelivered(self) -> int:
        return sum(r.rejected + r.pending for r in self.results if r.attempted and not self.dry_run)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]

    def raise_for_outcome(self) -> None:
        """Exit 2 when no endpoint is configured for a product (and nothing else stopped one);
        3 when a product could not start otherwise; 74 when delivered records could not be
        audited; 5 when anything was not delivered."""
        missing = [r.product for r in self.results if r.no_endpoint]
        if missing and len(missing) == len(self.errors):
            raise NoEndpoint(f"no endpoint is configured for {', '.join(missing)}",
                             endpoint_hint(self.settings_file, missing))
        if self.errors:
            raise ConfigError(self.errors[0], f"and {len(self.errors) - 1} more" if len(self.errors) > 1 else None)
        audit = [r.audit_error for r in self.results if r.audit_error]
        if audit:
            pending = sum(r.pending for r in self.results if r.attempted)
            raise AuditFailed(audit[0], f"sending stopped; {pending} records still pending are sent by the "
                              "next 'telemetry send' once the audit log can be written")
        if self.undelivered and self.source == "rejected":
            raise UploadIncomplete(f"upload incomplete: {self.undelivered} still rejected",
                                   "'telemetry send --rejected' tries them again; 'telemetry inspect --rejected' "
                                   "shows the collector's answers")
        if self.undelivered:
            rejected = sum(r.rejected for r in self.results)
            pending = sum(r.pending for r in self.results if r.attempted)
            raise UploadIncomplete(
                f"upload incomplete: {rejected} rejected, {pending} still pending",
                "pending records are sent by the next 'telemetry send'; 'telemetry inspect --rejected' "
                "shows the rejected")

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run,
                "sent": sum(r.sent for r in self.results),
                "rejected": sum(r.rejected for r in self.results),
                "pending": sum(r.pending for r in self.results),
                "recovered": self.recovered,
                "products": {r.product: r.as_json() for r in self.results}}


def check_options(endpoint: str | None, fmt: str | None) -> None:
    """``--endpoint`` and ``--format`` as given, before anything is read or claimed (exit 2)."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format must be 'otlp' or 'json', not {fmt!r}")
    if endpoint is not None:
        try:
            upload.check_url(upload.url_for(endpoint, fmt or DEFAULT_FORMAT), "--endpoint")
        except ConfigError as exc:
            raise UsageError(exc.message, exc.hint) from exc


def _pending_names(spool: Spool, product: str, base: Path) -> list[str]:
    """File names of the product's pending (or rejected) records, oldest first (names sort by time)."""
    return sorted(e.name for e in spool.scan(product, base))


def run(gate: Gate, product: str | None = None, *, endpoint: str | None = None,
        fmt: str | None = None, timeout: float = DEFAULT_TIMEOUT, dry_run: bool = False,
        environ: Mapping[str, str] = os.environ, http: Client | None = None,
        retry: upload.Retry = upload.DEFAULT_RETRY, progress: Progress | None = None,
        show: Show | None = None, rejected: bool = False) -> Report:
    """Send what policy allows; never raises for a product's own trouble (it is in its Result).

    ``rejected``: send the records in ``rejected/`` again instead (the same policy, the same
    claims); a refusal puts them back there with the new answer, a failure leaves them there."""
    check_options(endpoint, fmt)
    spool = gate.spool
    recovered = 0 if dry_run else recover(spool)
    source = spool.rejected if rejected else spool.pending
    names = [product] if product else [p for p in spool.products(source) if next(spool.scan(p, source), None)]
    deadline = upload.Deadline(timeout)
    results: list[Result] = []
    clients = upload.Clients(http)
    try:
        for name in names:
            result = Result(name)
            results.append(result)
            decision = gate.decide("upload", name)  # the product's own switch too, as check shows
            broken = gate.catalogue.broken(name)
            if decision.enabled and broken is not None:  # its variables (layer 4) are unknown: never assume yes
                result.error = f"its manifest is invalid, so what it allows is unknown: {broken.message}"
                result.pending = sum(1 for _ in spool.scan(name, source))
                continue
            if not decision.enabled:
                result.disabled_by = decision.origin_with_layer
                result.pending = sum(1 for _ in spool.scan(name, source))
                continue
            pending = _pending_names(spool, name, source)
            if not pending:
                continue
            try:
                target = resolve(gate, name, endpoint, fmt, environ)
            except (ConfigError, InvalidFileError, NoEndpoint) as exc:
                result.error = exc.message
                result.no_endpoint = isinstance(exc, NoEndpoint)
                result.pending = len(pending)
                continue
            result.url, result.format = target.shown_url, target.format
            if dry_run:
                _show(spool, name, source, pending, target, result, show)
                continue
            _deliver(spool, name, target, result, clients.for_url(target.url), deadline, retry, progress,
                     source)
            if rejected:
                outcomes.tidy_answers(spool, name)  # the answers to records that left rejected/
            result.pending = sum(1 for _ in spool.scan(name, source)) - (result.rejected if rejected else 0)
            if result.audit_error:
                break  # every later batch would go unaudited too
    finally:
        clients.close()
    if not dry_run:
        outcomes.prune(spool)
    return Report(results, dry_run, recovered, "rejected" if rejected else "pending",
                  display(gate.paths.user_settings))


def _readable(spool: Spool, product: str, entries: Iterator[Entry], result: Result,
              quarantine: bool) -> Iterator[tuple[Entry, dict[str, Any], bytes]]:
    """(entry, record, stored bytes) of each readable record; a malformed file is moved to
    ``quarantine/`` (when sending; reported either way) so it never blocks the others."""
    for entry in entries:
        try:
            data = Spool.read(entry.file)
            record = records.loads(data, entry.file)
        except FileNotFoundError:
            continue
        except (records.RecordError, OSError) as exc:
            if quarantine:
                where = spool.quarantine(product, entry.path)
                result.notes.append(f"moved malformed {entry.path.name} to {where}: {exc}")
            else:
                result.notes.append(f"skipped malformed {entry.path}: {exc}")
            continue
        yield entry, record, data


def _show(spool: Spool, product: str, source: Path, pending: list[str], target: Target, result: Result,
          show: Show | None) -> None:
    folder = source / product
    entries = (Entry(n[:-5], product, os.path.join(folder, n)) for n in pending)
    for batch in payloads.batches(_readable(spool, product, entries, result, False), target.format):
        result.requests += 1
        result.sent += len(batch.ids)
        if show is not None:
            show(product, target.shown_url, batch.body, len(batch.ids))


def _deliver(spool: Spool, product: str, target: Target, result: Result,
             http: Client, deadline: upload.Deadline, retry: upload.Retry,
             progress: Progress | None, source: Path, names: list[str] | None = None) -> None:
    """Claim the product's records (only ``names``, file names, when given), post them in
    batches and settle each batch by its answer. The next batches are read, built and
    compressed on a thread while one is posted, accepted ones unlinked on another
    (``send/overlap.py``); only this thread settles, in the order posted."""
    claim = Claim(spool, source=source)
    unlinker = Unlinker(spool)
    ahead: Ahead | None = None
    try:
        claimed = claim.take_all(product) if names is None else claim.take(product, names)
        total = len(claimed)
        readable = _readable(spool, product, iter(claimed), result, True)
        ahead = Ahead(payloads.batches(readable, target.format))  # the next batches, read and built meanwhile
        for batch, compressed in ahead:
            if deadline.remaining() <= 0:
                result.problem = "the deadline was reached (--timeout)"
                break
            answer = upload.send(batch.body, target.url, client=http, deadline=deadline, retry=retry,
                                 compressed=compressed)
            result.requests += 1
            now = time.time()
            if answer.outcome == "accepted":
                status = answer.status or 200
                audit_problem: str | None = None
                try:
                    outcomes.audit_batch(spool, batch.ids, batch.digests, product, target.shown_url, status,
                                         target.format, now)
                except (OSError, TelemetryError) as exc:
                    audit_problem = exc.message if isinstance(exc, TelemetryError) else _why(exc)
                unlinker.put(batch.items)  # a 2xx means delivered: never back to pending/, audited or not
                result.sent += len(batch.ids)
                if answer.partial:
                    result.notes.append(answer.partial)
                if audit_problem is not None:
                    result.audit_error = (f"{product}: {len(batch.ids)} records were delivered (HTTP {status}) "
                                          f"but not written to the audit log: {audit_problem}")
                    result.problem = "the audit log could not be written"
                    break
            elif answer.outcome == "refused":
                status = answer.status or 0
                moved = outcomes.reject(spool, product, batch.items, status, answer.detail,
                                        target.shown_url, now)
                result.rejected += len(moved)
                result.statuses[status] = result.statuses.get(status, 0) + len(moved)
            else:
                result.problem = answer.detail
                break
            if progress is not None:
                progress(product, result.sent + result.rejected, total)
    finally:
        if ahead is not None:
            ahead.close()  # nothing is read or quarantined once the claim goes back
        unlinker.close()  # every accepted record unlinked before the claim goes back
        claim.release()


def _why(exc: OSError) -> str:
    """``<file>: <reason>`` for an OSError, without its errno prefix."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"
