"""The pieces every view uses: colour, aligned columns, sizes and ages, messages on stderr, JSON.

Data goes to stdout, messages to stderr. Colour follows rich's rules: ``NO_COLOR`` turns it off,
``FORCE_COLOR`` on, otherwise only a TTY whose ``TERM`` is not ``dumb`` gets it. rich itself is
imported only inside the functions that need it (its import alone would double ``check``'s start-up).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telemetry_gate.policy.layers import Decision

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
            stream: IO[str] | None = None, right: Sequence[int] = ()) -> str:
    """Left-aligned columns (those in ``right``: right-aligned), two spaces apart; the last
    column is not padded unless right-aligned; cells escaped."""
    out = stream or sys.stdout
    colour = colour_enabled(out)
    table = ([list(header)] if header else []) + [[escape(c) for c in r] for r in rows]
    if not table:
        return ""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = []
        for i, cell in enumerate(row):
            text = cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) if i < len(row) - 1 else cell
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

    sys.stdout.write(json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def json_safe(text: str) -> str:
    """JSON text with the characters a terminal could act on that JSON leaves raw (DEL, C1
    controls, bidirectional and other format characters, line separators) written as
    ``\\uXXXX``: the same JSON once parsed (such characters can only be inside its strings,
    where JSON already escapes the C0 controls), and safe to print."""
    if text.isascii() and "\x7f" not in text:
        return text
    import json

    return "".join(json.dumps(c)[1:-1] if not c.isprintable() and c not in "\n\t\r " else c for c in text)


def escape(text: str, keep_newlines: bool = False) -> str:
    """``text`` from outside (a collector's answer, a record field, a file name, a manifest)
    as it may reach a terminal: every character that is not printable - C0 and C1 controls,
    DEL, bidirectional overrides and other format characters - is shown as ``\\x1b``,
    ``\\u202e``; a byte of a file name that is not UTF-8 as ``\\xNN``. ``keep_newlines`` for
    text whose line breaks are its layout (indented JSON, which escapes a newline in a value)."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or (keep_newlines and char == "\n"):
            out.append(char)
            continue
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
            code -= 0xDC00
        out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


escaped = escape  # the name the catalogue's privacy lines were written with


def cell(text: object) -> Any:
    """A rich table cell from outside text: escaped, and a ``Text`` so that ``[bold]`` or
    ``[link=...]`` in the data is shown as written, never read as markup."""
    from rich.text import Text

    return Text(escape(str(text)))


def message(text: str) -> None:
    """A line for the person at the terminal, on stderr (whatever it quotes, escaped)."""
    sys.stderr.write(escape(text) + "\n")


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


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def warnings(lines: Sequence[str]) -> None:
    for line in lines[:20]:
        message(f"warning: {line}")
    if len(lines) > 20:
        message(f"warning: ... and {len(lines) - 20} more")
    if any(line.startswith("skipped") for line in lines):  # strays are named, never moved
        message("  malformed files are left in place; 'telemetry inspect --quarantine' moves them aside")


def json_stream(chunks: Any) -> None:
    """A JSON array of records exactly as stored (but for ``json_safe``: the same records once
    parsed), written as it is read (never all in memory)."""
    out = sys.stdout
    out.write("[")
    first = True
    for data in chunks:
        out.write("\n" if first else ",\n")
        out.write(json_safe(data.decode("utf-8")))
        first = False
    out.write("\n]\n" if not first else "]\n")


def counted(n: int, word: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
