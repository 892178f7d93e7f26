"""The pieces every view uses: colour, width, aligned columns, sizes and ages, messages on stderr, JSON.

Data goes to stdout, messages to stderr. Colour follows rich's rules: ``NO_COLOR`` turns it off,
``FORCE_COLOR`` on, otherwise only a TTY whose ``TERM`` is not ``dumb`` gets it. rich itself is
imported only inside the functions that need it (its import alone would double ``check``'s start-up).

Width: ``COLUMNS`` when set, else the terminal's on a TTY; piped without ``COLUMNS``, no limit.
Prose is wrapped to it (``wrap``) and tables fold (``columns``), never cutting a word: an id or
a path longer than the line stays whole on a line of its own.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple

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


MIN_WIDTH = 20  # below this, wrapping only makes things worse


def width(stream: IO[str] | None = None) -> int | None:
    """The columns a view may fill: ``COLUMNS`` when set (as rich and ``shutil`` read it), else the
    terminal's width when ``stream`` is a TTY; None (no limit) when piped without ``COLUMNS``, so
    a script reads every id and path whole."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return max(int(value), MIN_WIDTH)
    out = stream or sys.stdout
    try:
        if out.isatty():
            return max(os.get_terminal_size(out.fileno()).columns, MIN_WIDTH)
    except (AttributeError, OSError, ValueError):
        pass
    return None


def wrap(text: str, indent: int = 2, stream: IO[str] | None = None) -> str:
    """``text`` (one line, already escaped) wrapped to ``width``, later lines indented by
    ``indent``; words are never broken, so an id or a path is never cut."""
    limit = width(stream)
    if limit is None or len(text) <= limit:
        return text
    import textwrap

    return textwrap.fill(text, limit, subsequent_indent=" " * indent, break_long_words=False,
                         break_on_hyphens=False)


def _paint(text: str, code: str, on: bool) -> str:
    return f"{code}{text}{_RESET}" if on else text


def columns(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
            indent: int = 0, styles: Sequence[str | None] | None = None,
            stream: IO[str] | None = None, right: Sequence[int] = ()) -> str:
    """Left-aligned columns (those in ``right``: right-aligned), two spaces apart; the last
    column is not padded unless right-aligned; cells escaped.

    Wider than ``width``: the last column's words wrap under it; when it has no room left (or
    is right-aligned), each row folds instead - its first cell on a line of its own (none when
    empty), the others aligned on the next, indented, or flowing over the next lines when even
    they do not fit. No cell is ever cut."""
    out = stream or sys.stdout
    table = ([list(header)] if header else []) + [[escape(c) for c in r] for r in rows]
    if not table:
        return ""
    shape = _Shape(header is not None, colour_enabled(out), width(out))
    return "".join(line + "\n" for lines in _render(table, indent, styles, right, shape) for line in lines)


class _Shape(NamedTuple):
    has_header: bool
    colour: bool
    limit: int | None


def _render(table: Sequence[Sequence[str]], indent: int, styles: Sequence[str | None] | None,
            right: Sequence[int], shape: _Shape) -> list[list[str]]:
    """Each row's lines: as they are when they fit, or the last column wrapped under itself;
    else the first cell on a line of its own above the others; else the widest column on the
    lines below the others (laid out the same way); one column left: its words wrapped."""
    found = _simple(table, indent, styles, right, shape) or _first_apart(table, indent, styles, right, shape)
    if found is not None or shape.limit is None:
        return found or []
    count = len(table[0])
    k = max((i for i in range(1, count) if i not in right), key=lambda i: max(len(r[i]) for r in table), default=None)
    if k is not None:
        rest = [[*r[:k], *r[k + 1:]] for r in table]
        rest_styles = [*styles[:k], *styles[k + 1:]] if styles else None
        rest_right = [i if i < k else i - 1 for i in right if i != k]
        others = _render(rest, indent, rest_styles, rest_right, shape)  # one column fewer each time
        lead = " " * (indent + 2)
        return [others[n] + [lead + piece for piece in _words(row[k], shape.limit - len(lead))]
                for n, row in enumerate(table)]
    import textwrap

    lead = " " * indent  # the cells one after another, wrapped between words
    return [textwrap.wrap("  ".join(c for c in row if c), shape.limit, initial_indent=lead,
                          subsequent_indent=lead + "  ", break_long_words=False, break_on_hyphens=False)
            for row in table]


def _simple(table: Sequence[Sequence[str]], indent: int, styles: Sequence[str | None] | None,
            right: Sequence[int], shape: _Shape) -> list[list[str]] | None:
    """The rows as they are, or with the last column wrapped under itself; None: too wide."""
    count = len(table[0])
    widths = [max(len(r[i]) for r in table) for i in range(count)]
    start = indent + sum(widths[:-1]) + 2 * (count - 1)  # where the last column begins
    limit = shape.limit
    if limit is None or start + widths[-1] <= limit:
        return [[_row(row, widths, indent, shape, n, styles, right)] for n, row in enumerate(table)]
    if count == 1 or count - 1 in right or limit - start < MIN_WIDTH:
        return None
    out = []
    for n, row in enumerate(table):
        pieces = _words(row[-1], limit - start) or [""]
        out.append([_row([*row[:-1], pieces[0]], widths, indent, shape, n, styles, right)]
                   + [" " * start + piece for piece in pieces[1:]])
    return out  # a line longer than the limit is one word (an id, a path): never cut


def _first_apart(table: Sequence[Sequence[str]], indent: int, styles: Sequence[str | None] | None,
                 right: Sequence[int], shape: _Shape) -> list[list[str]] | None:
    """Each row's first cell on a line of its own (none when empty), the others below, indented."""
    if len(table[0]) < 2 or shape.limit is None:
        return None
    rest = _simple([r[1:] for r in table], indent + 2, styles[1:] if styles else None,
                   [i - 1 for i in right if i > 0], shape)
    if rest is None:
        return None
    width = max(len(r[0]) for r in table)
    return [([_row(row[:1], [width], indent, shape, n, None, ())] if row[0].strip() else []) + rest[n]
            for n, row in enumerate(table)]


def _words(text: str, room: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(room, 1), break_long_words=False, break_on_hyphens=False)


def _row(row: Sequence[str], widths: Sequence[int], indent: int, shape: _Shape, n: int,
         styles: Sequence[str | None] | None, right: Sequence[int]) -> str:
    cells = []
    for i, cell in enumerate(row):
        text = cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) if i < len(row) - 1 else cell
        if shape.has_header and n == 0:
            text = _paint(text, _BOLD, shape.colour)
        elif styles and styles[i] == "state":
            text = _paint(text, _GREEN if cell.strip() == "enabled" else _RED, shape.colour)
        cells.append(text)
    return " " * indent + "  ".join(cells).rstrip()


def _state(decision: Decision) -> str:
    return "enabled" if decision.enabled else "disabled"


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def print_json_object(data: dict[str, Any]) -> None:
    """A ``--json`` object: ``json_version`` first, then its keys as they are (docs/json.md)."""
    from telemetry_gate.vocabulary import JSON_VERSION

    print_json({"json_version": JSON_VERSION, **data})


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
    """A rich console as wide as ``width`` says; piped without ``COLUMNS``, as wide as the content
    (rich's own default there is 80 columns, which cut long cells)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=width() or 10_000)


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
