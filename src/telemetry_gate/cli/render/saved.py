"""What ``inspect --saved`` and ``send --saved`` print about events a product saved itself
(``spool/saved.py``, ``send/release.py``).

Everything here comes from files we did not write: names and values are printed with control
characters (and undecodable bytes of a file name) escaped, and ``--json`` is ASCII-only.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from telemetry_gate.cli.render.text import columns, counted, escape, human_age, human_bytes, message

printable = escape  # one function escapes every text from outside (text.escape)


def _where(path: Any) -> str:
    from pathlib import Path

    from telemetry_gate.policy.paths import display

    return printable(display(Path(path)))


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _as_json(shown: Any, sent: dict[str, Any] | None) -> dict[str, Any]:
    return {"file": shown.file.file, "saved_at": _utc(shown.file.saved), "size": shown.size,
            "product": shown.event["product"], "version": shown.event["version"], "name": shown.event["name"],
            "sent": sent["sent_at"] if sent else None, "sha256": shown.digest, "event": shown.event}


def events(shown: Sequence[Any], sent: Sequence[dict[str, Any] | None], total: int, as_json: bool, origin: str,
           full: bool = False) -> None:
    """A page of saved events (newest first), each held or sent (``sent``: its release, or None);
    ``total``: how many there are in all; ``full``: show the one event in full."""
    if as_json:
        data = [_as_json(s, e) for s, e in zip(shown, sent, strict=True)]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
        return
    if not shown:
        sys.stdout.write(f"No event saved by a product itself {origin}.\n")
        return
    if full and len(shown) == 1:
        one(shown[0], sent[0])
        return
    now = time.time()
    rows = [[human_age(s.file.saved, now), printable(s.event["product"]), printable(s.event["version"]),
             printable(s.event["name"]), "sent" if e else "held", str(len(s.event.get("properties") or {})),
             human_bytes(s.size), _where(s.file.file)] for s, e in zip(shown, sent, strict=True)]
    sys.stdout.write(columns(rows, header=("SAVED", "PRODUCT", "VERSION", "EVENT", "STATE", "FIELDS", "SIZE",
                                           "FILE")))
    footer = f"{counted(total, 'event')} saved by the products themselves {origin}, not by telemetry-gate"
    if total > len(shown):
        footer += f"; showing {len(shown)}: --limit N, --all, or --json"
    sys.stdout.write(footer + "\n")
    held = sum(1 for e in sent if e is None)
    if held:
        sys.stdout.write(f"{counted(held, 'held event')} shown here: 'telemetry send --saved' reviews and "
                         "releases them\n")


def one(shown: Any, sent: dict[str, Any] | None) -> None:
    event = shown.event
    state = (f"sent by telemetry-gate on {printable(sent['sent_at'])} to {printable(sent['endpoint'])}" if sent
             else "held: not sent by telemetry-gate; 'telemetry send --saved FILE' releases it")
    sys.stdout.write(f"Saved by {printable(event['product'])} {printable(event['version'])} itself "
                     f"(a copy of an event it collected; not in the spool):\n"
                     f"{_where(shown.file.file)} ({shown.size} bytes)\n{state}\n\n")
    lines = json.dumps(event, indent=2, ensure_ascii=False).split("\n")  # JSON escapes a newline in a value
    sys.stdout.write("\n".join(printable(line) for line in lines) + "\n\n")
    _exact(shown)


def _exact(shown: Any) -> None:
    """The bytes exactly as saved (and as ``send --saved`` posts them), controls escaped."""
    sys.stdout.write(f"Exact bytes ({shown.size}, sha256 {shown.digest}):\n"
                     f"{printable(shown.data.decode('utf-8', 'surrogateescape'))}\n")


def deleted_soon(soon: Sequence[tuple[Any, float, int]]) -> None:
    """Held events the product deletes within days (``saved_events.WARN_DAYS``): (event, seconds
    left, the days the product keeps an event)."""
    by_product: dict[str, list[float]] = {}
    kept: dict[str, int] = {}
    for shown, left, days in soon:
        by_product.setdefault(shown.file.product, []).append(left)
        kept[shown.file.product] = days
    for product, lefts in sorted(by_product.items()):
        first = max(min(lefts), 0) / 86400
        when = "today" if first < 1 else f"in {first:.0f} day{'s' if round(first) != 1 else ''}"
        message(f"warning: {printable(product)} deletes {counted(len(lefts), 'held event')} within 3 days "
                f"(the first {when}: it deletes events {kept[product]} days old when it next saves one); "
                f"'telemetry send --saved -p {printable(product)}' releases them")


def passed_over(uploading: Sequence[str], already: int, any_held: bool) -> None:
    for product in uploading:
        message(f"{printable(product)}: its own upload is on, so it uploaded its saved events itself; "
                f"none released (name files to send one: telemetry send --saved FILE)")
    if not any_held:
        message("No held event to release" + (f" ({counted(already, 'event')} released before)." if already
                                              else "."))


def to_release(held: Sequence[Any]) -> None:
    """Each event as it will go: where, how, the headers and the exact bytes."""
    for h in held:
        event = h.saved.event
        sys.stdout.write(f"{_where(h.saved.file.file)}\n"
                         f"  {printable(event['product'])} {printable(event['version'])} "
                         f"{printable(event['name'])}, saved {_utc(h.saved.file.saved)}\n"
                         f"  {h.method} {printable(h.shown_url)}\n")
        for name, value in sorted(h.headers.items()):
            sys.stdout.write(f"  {name}: {printable(value)}\n")
        sys.stdout.write(f"  {printable(h.saved.data.decode('utf-8', 'surrogateescape'))}\n\n")


def release_report(report: Any, choice: Any, as_json: bool) -> None:
    """What ``send --saved`` did; ``--json``: an object (docs/json.md), ``events`` in the order sent."""
    if as_json:
        from telemetry_gate.cli.render.text import print_json_object

        print_json_object({"dry_run": report.dry_run, "already": choice.already,
                           "passed_over": list(choice.uploading),
                           "events": [{"file": o.held.saved.file.file, "product": o.held.saved.file.product,
                                       "url": o.held.shown_url, "outcome": o.outcome, "status": o.status,
                                       "detail": o.detail or None, "sha256": o.held.saved.digest}
                                      for o in report.outcomes]})
        return
    if report.dry_run:
        message(f"Dry run: {counted(len(report.outcomes), 'event')} would be sent; nothing sent.")
        return
    for o in report.outcomes:
        if o.outcome != "accepted":
            status = f"HTTP {o.status}: " if o.status and not o.detail.startswith("HTTP") else ""
            message(f"{_where(o.held.saved.file.file)}: {o.outcome}: {status}{printable(o.detail)}")
    sent = report.count("accepted")
    if sent:
        urls = ", ".join(sorted({printable(o.held.shown_url) for o in report.outcomes if o.outcome == "accepted"}))
        message(f"Released {counted(sent, 'saved event')} to {urls}; 'telemetry inspect --sent' lists them.")


def section(title: str) -> None:
    sys.stdout.write(f"\n{title}\n")


def pointer(summary: Any) -> None:
    """One line after the spool's table: how many saved events there are, and how to see them."""
    if not summary.events:
        return
    who = ", ".join(printable(p) for p in summary.products)
    itself = "itself" if len(summary.products) == 1 else "themselves"
    sys.stdout.write(f"{counted(summary.events, 'event')} saved by {who} {itself} under {_where(summary.root)}; "
                     "'telemetry inspect --saved' shows them\n")


def warnings(lines: Sequence[str]) -> None:
    for line in lines[:20]:
        message(f"warning: {printable(line)}")
    if len(lines) > 20:
        message(f"warning: ... and {len(lines) - 20} more")
