"""What ``inspect`` prints about events a product saved itself (``spool/saved.py``).

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


def _as_json(shown: Any) -> dict[str, Any]:
    return {"file": shown.file.file, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(shown.file.saved)),
            "size": shown.size, "product": shown.event["product"], "version": shown.event["version"],
            "name": shown.event["name"], "event": shown.event}


def events(shown: Sequence[Any], total: int, as_json: bool, origin: str, full: bool = False) -> None:
    """A page of saved events (newest first); ``total``: how many are there in all; ``full``:
    show the one event in full."""
    if as_json:
        sys.stdout.write(json.dumps([_as_json(s) for s in shown], indent=2, ensure_ascii=True) + "\n")
        return
    if not shown:
        sys.stdout.write(f"No event saved by a product itself {origin}.\n")
        return
    if full and len(shown) == 1:
        one(shown[0])
        return
    now = time.time()
    rows = [[human_age(s.file.saved, now), printable(s.event["product"]), printable(s.event["version"]),
             printable(s.event["name"]), str(len(s.event.get("properties") or {})), human_bytes(s.size),
             _where(s.file.file)] for s in shown]
    sys.stdout.write(columns(rows, header=("SAVED", "PRODUCT", "VERSION", "EVENT", "FIELDS", "SIZE", "FILE")))
    footer = f"{counted(total, 'event')} saved by the products themselves {origin}, not by telemetry-gate"
    if total > len(shown):
        footer += f"; showing {len(shown)}: --limit N, --all, or --json"
    sys.stdout.write(footer + "\n")


def one(shown: Any) -> None:
    event = shown.event
    sys.stdout.write(f"Saved by {printable(event['product'])} {printable(event['version'])} itself "
                     f"(a copy of an event it collected; not in the spool, never sent by telemetry-gate):\n"
                     f"{_where(shown.file.file)} ({shown.size} bytes)\n\n")
    lines = json.dumps(event, indent=2, ensure_ascii=False).split("\n")  # JSON escapes a newline in a value
    sys.stdout.write("\n".join(printable(line) for line in lines) + "\n")


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
