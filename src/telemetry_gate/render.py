"""Everything a person reads: tables, explanations, messages, and ``--json``.

The only module that imports rich, and only inside the functions that need it: ``check``
prints a plain aligned table (rich's import alone would double its start-up time), the
wide views (``inspect``) use rich. Data goes to stdout, messages to stderr. Colour
follows rich's rules: ``NO_COLOR`` turns it off, ``FORCE_COLOR`` on, otherwise only a TTY
whose ``TERM`` is not ``dumb`` gets it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from .policy import Decision
from .status import CheckReport

if TYPE_CHECKING:
    from .switches import SwitchResult

_GREEN, _RED, _DIM, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


def colour_enabled(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, code: str, on: bool) -> str:
    return f"{code}{text}{_RESET}" if on else text


def columns(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
            indent: int = 0, styles: Sequence[str | None] | None = None,
            stream: IO[str] | None = None) -> str:
    """Left-aligned columns, two spaces apart; the last column is not padded."""
    out = stream or sys.stdout
    colour = colour_enabled(out)
    table = ([list(header)] if header else []) + [list(r) for r in rows]
    if not table:
        return ""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = []
        for i, cell in enumerate(row):
            text = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            if header and n == 0:
                text = _paint(text, _BOLD, colour)
            elif styles and styles[i] == "state":
                text = _paint(text, _GREEN if cell.strip() == "enabled" else _RED, colour)
            cells.append(text)
        lines.append(" " * indent + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _state(decision: Decision) -> str:
    return "enabled" if decision.enabled else "disabled"


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def message(text: str) -> None:
    """A line for the person at the terminal, on stderr."""
    sys.stderr.write(text + "\n")


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_age(epoch: float, now: float | None = None) -> str:
    seconds = max(0, int((now or time.time()) - epoch))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# -- check ---------------------------------------------------------------------------

def check(report: CheckReport) -> None:
    rows: list[list[str]] = []
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    for scope, decisions in scopes:
        for n, (facet, decision) in enumerate(decisions.items()):
            rows.append([scope if n == 0 else "", facet, _state(decision), decision.origin_with_layer])
    out = columns(rows, header=("PRODUCT", "FACET", "STATE", "ORIGIN"), styles=(None, None, "state", None))
    sys.stdout.write(out)
    sys.stdout.write("\n" + spool_line(report) + "\n")
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")


def spool_line(report: CheckReport) -> str:
    s = report.spool
    if not s.pending:
        text = "Spool: nothing pending"
    else:
        oldest = f", oldest {human_age(s.oldest)} old" if s.oldest is not None else ""
        text = f"Spool: {s.pending} pending ({human_bytes(s.bytes)}){oldest}"
    text += f", {s.dropped} dropped by the spool bound" if s.dropped else ""
    return text + ("; 'telemetry inspect' shows them" if s.pending else "")


def explain(report: CheckReport) -> None:
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    colour = colour_enabled(sys.stdout)
    for scope, decisions in scopes:
        for facet, decision in decisions.items():
            head = f"{facet} for {scope}: {_state(decision)}, decided by {decision.origin_with_layer}"
            sys.stdout.write(_paint(head, _BOLD, colour) + "\n")
            winner_seen = False
            rows = []
            for say in decision.chain:
                mark = ""
                if say.verdict is not None and not winner_seen:
                    winner_seen = True
                    mark = "<- wins" if decision.layer != "dependency" else "<- would win"
                rows.append([str(say.rank), say.layer, say.source, say.words, mark])
            if decision.layer == "dependency":
                rows.append(["", "dependency", "collection is disabled", "disables", "<- wins"])
            sys.stdout.write(columns(rows, indent=2))
            sys.stdout.write("\n")
    sys.stdout.write(spool_line(report) + "\n")
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")


# -- enable / disable ----------------------------------------------------------------

def switched(result: SwitchResult) -> None:
    verb = "Enabled" if result.enabled else "Disabled"
    what = "all facets" if len(result.facets) > 1 else result.facets[0]
    scope = f" for {result.product}" if result.product else ""
    message(f"{verb} {what}{scope}: {'; '.join(result.written)}.")
    for decision in result.overruled:
        who = f"{decision.product} " if decision.product else ""
        stays = "enabled" if decision.enabled else "disabled"
        facet = decision.facet if who else decision.facet.capitalize()
        if decision.layer == "dependency":
            message(f"Saved. {who}{facet} stays disabled because collection is disabled.")
        else:
            message(f"Saved. {who}{facet} stays {stays}: {decision.origin_with_layer} takes precedence.")
    if not result.enabled and result.pending:
        records = "record is" if result.pending == 1 else "records are"
        message(f"{result.pending} {records} still pending; 'telemetry purge' deletes them.")
