"""``telemetry send --saved [FILE...]``: release events a product saved itself while its upload
was held (SPEC 6c), exactly as the product would have uploaded them.

- What: every held event not yet released (``spool/saved.py`` finds them where the manifests'
  ``[saved]`` tables say; ``spool/released.py`` knows which were released), or the chosen FILEs
  (a pipestance's ``extras/telemetry/`` copy too). A file that is not whole JSON is skipped and
  named (a chosen one: exit 3, nothing sent). Without FILEs, a product whose own upload is on is
  passed over: it uploads each event itself and saves a copy, so its saved events were sent.
- May it go: the same answer as ``send ID`` (``send/chosen.py``): an explicit release overrides
  the user's own "upload off" (that is the hold), never a system flag, ``DO_NOT_TRACK``, a vendor
  or a product variable (``Refused``, exit 4, before anything is shown or connects).
- How: one request per event, the product's own method, address, content type and header recipe
  (``policy/held.py``), the body exactly the saved bytes (read again, and compared with what was
  shown); ``--endpoint`` replaces the address whole. Retries, statuses and the deadline are
  ``send``'s (``upload.exchange``, SPEC 7).
- Never twice: under the state's lock, an event is looked up, posted, and on a 2xx written to
  the state (durably) and then to the audit log (``inspect --sent``). A refused or failed upload
  leaves it held. The product's files are only read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import InvalidFileError, UploadIncomplete, UsageError
from telemetry_gate.policy.catalogue import Catalogue
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.held import Saved
from telemetry_gate.policy.layers import Say
from telemetry_gate.send import chosen, upload
from telemetry_gate.send.chosen import _who as who  # the same words as send ID's refusal
from telemetry_gate.send.sending import DEFAULT_TIMEOUT
from telemetry_gate.spool import outcomes, released
from telemetry_gate.spool import saved as saved_events
from telemetry_gate.spool.records import rfc3339

if TYPE_CHECKING:
    from telemetry_gate.send.upload import Client

FORMAT = "saved"  # the audit log's ``format`` of a released event: the product's own bytes


class Held(NamedTuple):
    """One event to release, as it will be sent."""

    saved: saved_events.SavedEvent
    spec: Saved
    method: str
    url: str  # the product's own address, or --endpoint
    headers: dict[str, str]

    @property
    def shown_url(self) -> str:
        return upload.without_userinfo(self.url)


class Choice(NamedTuple):
    held: list[Held]
    warnings: list[str]  # files skipped, and why
    already: int  # held events found already released (not sent again)
    uploading: list[str]  # products passed over: their own upload is on


class Outcome(NamedTuple):
    held: Held
    outcome: str  # "accepted", "refused", "failed", "skipped" (released meanwhile, or changed)
    status: int | None
    detail: str


class Report(NamedTuple):
    outcomes: list[Outcome]
    dry_run: bool

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def raise_for_outcome(self) -> None:
        left = self.count("refused") + self.count("failed")
        if left:
            raise UploadIncomplete(f"{left} saved event{'s' if left != 1 else ''} not released; "
                                   f"{'they stay' if left != 1 else 'it stays'} held",
                                   "'telemetry send --saved' tries again; 'telemetry inspect --saved' shows them")


def declarations(catalogue: Catalogue, product: str | None) -> list[Saved]:
    """The ``[saved]`` tables; exit 3 for an unusable manifest that declares one (or ``product``'s)."""
    if product is not None:
        catalogue.require(product)
    for error in catalogue.errors.values():
        if _declares_saved(error.path):
            raise error
    return saved_events.declarations(catalogue)


def _declares_saved(path: Path) -> bool:
    """Whether the unusable manifest at ``path`` has a ``[saved]`` table (its held events are unknown)."""
    import re

    try:
        with open(path, "rb") as file:
            text = file.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return False
    return re.search(r"(?m)^\s*\[\s*saved\s*\]", text) is not None


def _target(spec: Saved, endpoint: str | None) -> str:
    if endpoint is not None:
        upload.check_url(endpoint, "--endpoint")
        return endpoint
    upload.check_url(spec.url, f"the [saved] table of the {spec.owner} manifest")
    return spec.url


def _held(event: saved_events.SavedEvent, decls: Sequence[Saved], endpoint: str | None) -> Held:
    spec = saved_events.spec_for(decls, event.file.product)
    assert spec is not None  # load_one found it
    return Held(event, spec, spec.method, _target(spec, endpoint), spec.headers(event.event))


def choose(gate: Gate, files: Sequence[str] | None, product: str | None = None,
           endpoint: str | None = None) -> Choice:
    """The held events to release: every one not yet released, or the chosen ``files``."""
    decls = declarations(gate.catalogue, product)
    state = released.load(gate.paths.state_dir)
    environ = gate.policy.environ
    warnings: list[str] = []
    held: list[Held] = []
    already = 0
    if files:
        for name in dict.fromkeys(files):
            event = _chosen(decls, environ, Path(name), product)
            entry = state.find(event.file.file, event.digest)
            if entry is not None:
                warnings.append(f"{event.file.file} was released on {entry['sent_at']}; not sent again")
                already += 1
                continue
            held.append(_held(event, decls, endpoint))
        return Choice(held, warnings, already, [])
    uploading: list[str] = []
    found = saved_events.scan(decls, environ, product)
    for event in reversed(saved_events.load(decls, found, None, warnings)):  # oldest first
        if state.knows(event.file.file) and state.find(event.file.file, event.digest) is not None:
            already += 1
            continue
        name = event.file.product
        if name in uploading or gate.decide("upload", name).enabled:
            if name not in uploading:
                uploading.append(name)
            continue
        held.append(_held(event, decls, endpoint))
    return Choice(held, warnings, already, uploading)


def _chosen(decls: Sequence[Saved], environ: Any, path: Path, product: str | None) -> saved_events.SavedEvent:
    found = saved_events.in_path(decls, environ, path) if path.is_file() or not path.exists() else None
    if not found:
        if not path.exists():
            raise UsageError(f"{path}: no such file")
        raise UsageError(f"{path} is not a saved event's file",
                         "name files such as <cache>/tenx/telemetry/<product>/<version>/<event>_<time>.json")
    try:
        event = saved_events.load_one(decls, found[0])
    except saved_events.SavedError as exc:
        raise InvalidFileError(path, str(exc).removeprefix(f"{found[0].file}: "),
                               hint="it is never sent; 'telemetry inspect --saved' shows the others") from exc
    if product is not None and event.file.product != product:
        raise UsageError(f"{path} holds an event of {event.file.product}, not {product}")
    return event


def forbidding(gate: Gate, product: str) -> Say | None:
    """What keeps an explicit release of ``product``'s events from going, if anything: the
    question ``send ID`` asks (``send/chosen.py``), so both follow one decision."""
    return chosen.forbidding(gate.policy, product)


def check_allowed(gate: Gate, held: Sequence[Held]) -> None:
    """Raise ``chosen.Refused`` (exit 4) naming the first product that may not release."""
    for product in sorted({h.saved.file.product for h in held}):
        say = forbidding(gate, product)
        if say is not None:
            count = sum(1 for h in held if h.saved.file.product == product)
            raise chosen.Refused(
                f"not sent: upload of {product} is disabled by {say.source} ({say.layer}); nothing was sent",
                f"releasing saved events overrides your own settings, never {who(say)}; "
                f"{count} {product} event{'s' if count != 1 else ''} stay held")


def run(gate: Gate, held: Sequence[Held], *, timeout: float = DEFAULT_TIMEOUT, dry_run: bool = False,
        http: Client | None = None, retry: upload.Retry = upload.DEFAULT_RETRY) -> Report:
    """Send each of ``held`` (allowed by ``check_allowed`` and confirmed), oldest first."""
    check_allowed(gate, held)  # again: a caller may have skipped it
    if dry_run:
        return Report([Outcome(h, "dry-run", None, "") for h in held], True)
    deadline = upload.Deadline(timeout)
    clients = upload.Clients(http)
    results: list[Outcome] = []
    try:
        with released.locked(gate.paths.state_dir) as state:
            for h in held:
                results.append(_release(gate, state, h, clients, deadline, retry))
    finally:
        clients.close()
    outcomes.prune(gate.spool)
    return Report(results, False)


def _release(gate: Gate, state: released.Released, h: Held, clients: upload.Clients,
             deadline: upload.Deadline, retry: upload.Retry) -> Outcome:
    file = h.saved.file.file
    try:
        _, data = saved_events.read(h.saved.file)
    except saved_events.SavedError as exc:
        return Outcome(h, "skipped", None, f"not sent: {exc}")
    if data != h.saved.data:
        return Outcome(h, "skipped", None, f"not sent: {file} changed since it was shown")
    entry = state.find(file, h.saved.digest)
    if entry is not None:
        return Outcome(h, "skipped", None, f"released meanwhile, on {entry['sent_at']}")
    answer, _ = upload.exchange(clients.for_url(h.url), h.method, h.url, content=data, headers=h.headers,
                                deadline=deadline, retry=retry)
    if answer.outcome != "accepted":
        return Outcome(h, answer.outcome, answer.status, answer.detail[:upload.ANSWER_BYTES])
    now = time.time()
    status = answer.status or 200
    state.add(file, h.saved.digest, rfc3339(now), h.shown_url, status, now)
    outcomes.audit(gate.spool, [{"id": os.path.basename(file), "product": h.saved.file.product,
                                 "sent_at": rfc3339(now), "endpoint": h.shown_url, "status": status,
                                 "format": FORMAT, "digest": f"sha256:{h.saved.digest}", "file": file}], now)
    return Outcome(h, "accepted", status, "")
