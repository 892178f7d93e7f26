"""What ``telemetry check`` reports: every facet of the vendor and of each known product,
with its origin, the spool summary and the notes a person should read."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import SpoolUnreadable
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.layers import Decision
from telemetry_gate.spool.store import Summary
from telemetry_gate.vocabulary import FACETS

if TYPE_CHECKING:
    from telemetry_gate.policy.own.report import NativeState


class CheckReport(NamedTuple):
    vendor: str
    facets: dict[str, Decision]
    products: dict[str, dict[str, Decision]]
    spool: Summary
    notes: list[str]
    native: dict[str, tuple[NativeState, ...]] = {}  # per product with switches of its own
    drift: dict[str, str] = {}  # product -> the one line saying what disagrees and the fix
    held: dict[str, tuple[int, str | None]] = {}  # product -> saved events waiting, what refuses a release

    def as_json(self, explain: bool = False) -> dict[str, Any]:
        """The documented ``check --json`` shape (SPEC 5): add keys, never rename them."""
        return {
            "vendor": self.vendor,
            "facets": {f: _decision_json(d, explain) for f, d in self.facets.items()},
            "products": {
                p: {**{f: _decision_json(d, explain) for f, d in ds.items()},
                    **({"native": [n.as_json() for n in self.native[p]]} if p in self.native else {})}
                for p, ds in self.products.items()
            },
            "drift": sorted(self.drift),
            "spool": {
                "pending": self.spool.pending,
                "bytes": self.spool.bytes,
                "dropped": self.spool.dropped,
                "oldest": _rfc3339(self.spool.oldest),
                "rejected": self.spool.rejected,
                "unreadable": self.spool.unreadable,
            },
            "notes": list(self.notes),
            "held": {p: {"events": n, "release": f"telemetry send --saved -p {p}", "refused_by": refused}
                     for p, (n, refused) in self.held.items()},
        }


def _decision_json(decision: Decision, explain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "enabled": decision.enabled,
        "origin": decision.origin,
        "layer": decision.layer,
    }
    if explain:
        out["chain"] = [
            {"rank": s.rank, "layer": s.layer, "source": s.source,
             "says": {True: "enable", False: "disable", None: None}[s.verdict]}
            for s in decision.chain
        ]
    return out


def _rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def check(gate: Gate, facets: tuple[str, ...], product: str | None = None) -> CheckReport:
    """Resolve ``facets`` for the vendor and each known product (or only ``product``)."""
    policy = gate.policy
    vendor_decisions = {f: policy.decide(f) for f in facets}
    products = [product] if product else gate.known_products()
    product_decisions = {p: {f: policy.decide(f, p) for f in facets} for p in products}
    notes = list(policy.notes)
    notes += policy.lock_notes(list(vendor_decisions.values()))
    try:
        spool = gate.spool.summary(product)
    except SpoolUnreadable as exc:  # say so: an unreadable spool is not an empty one
        spool = Summary(0, 0, None, 0, unreadable=exc.message)
        notes.append(f"{exc.message}; {exc.hint}")
    if spool.strays:
        notes.append(stray_note(spool.strays))
    native: dict[str, tuple[NativeState, ...]] = {}
    drift: dict[str, str] = {}
    for name in products:
        manifest = gate.catalogue.manifests.get(name)
        if manifest is None:
            continue
        collection = product_decisions[name].get("collection")
        if manifest.opt_in and collection is not None and collection.layer == "product default":
            notes.append(f"{name} is opt-in: nothing is collected until 'telemetry enable -p {name}'")
        notes.extend(manifest.version_notes)
        if manifest.limits:
            notes.append(f"{name} limits (no switch stops these): {'; '.join(manifest.limits)}")
        if not manifest.native:
            continue
        from telemetry_gate.policy.own.report import assess  # only when a product has switches of its own

        every = {f: product_decisions[name].get(f) or policy.decide(f, name) for f in FACETS}
        found = assess(manifest, every, policy.environ, policy.readings(name))
        native[name] = found.states
        notes.extend(f"cannot read {name}'s own switch: {problem}" for problem in found.problems)
        notes.extend(found.outranked)
        if found.drift:
            drift[name] = found.drift
    held = _held(gate, product, notes)
    return CheckReport(
        vendor=gate.paths.vendor,
        facets=vendor_decisions,
        products=product_decisions,
        spool=spool,
        notes=notes,
        native=native,
        drift=drift,
        held=held,
    )


def _held(gate: Gate, product: str | None, notes: list[str]) -> dict[str, tuple[int, str | None]]:
    """Products that hold events (saved by themselves while their upload is off; SPEC 6c): how
    many wait, and what refuses releasing them (None: ``send --saved`` may)."""
    decls = [m.saved for _, m in sorted(gate.catalogue.manifests.items())
             if m.saved is not None and m.saved.present(gate.policy.environ)]
    if not decls:
        return {}
    from telemetry_gate.errors import InvalidFileError
    from telemetry_gate.spool.saved import waiting

    try:
        counts = waiting(decls, gate.policy.environ, gate.paths.state_dir, product)
    except InvalidFileError as exc:
        notes.append(f"held events unknown: {exc.message}")
        return {}
    held: dict[str, tuple[int, str | None]] = {}
    for name, count in sorted(counts.items()):
        if gate.decide("upload", name).enabled:
            continue  # the product uploads each event itself; its saved copies were sent
        explicit = gate.decide("upload", name, explicit=True)
        held[name] = (count, None if explicit.enabled else explicit.origin_with_layer)
    return held


def stray_note(strays: tuple[str, ...] | list[str], where: str = "pending/") -> str:
    """One line on what is in ``pending/`` (or ``rejected/``) but is not a record (never sent, left alone)."""
    shown = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3 else "")
    return f"{len(strays)} stray file(s) in the spool's {where} are not records and are never sent: {shown}"
