"""The settings file (``settings.toml``): read, validate, and update in place.

Schema (the user file and the system defaults file share it)::

    [telemetry]                 # every product of the vendor
    collection = true           # facets: true enables, false disables
    upload = false
    update = true
    endpoint = "https://..."    # where `send` goes (SPEC 7)
    format = "otlp"             # or "json"
    max_records = 10000         # spool bound per product
    max_bytes = 52428800

    [products.cellranger]       # the same keys, for one product; wins over [telemetry]
    upload = true

A malformed file is reported with its path and line (exit 3) and never rewritten; ``enable`` and
``disable`` edit a valid one in place, keeping its comments and layout. A key or table the tool
does not read makes the file malformed too (fail closed: ``uplod = false`` must not leave upload
on), with a did-you-mean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.errors import InvalidFileError, PermissionDenied
from telemetry_gate.fs import atomic_write
from telemetry_gate.policy.paths import is_name
from telemetry_gate.vocabulary import FORMATS

_TYPES: dict[str, tuple[type, ...]] = {
    "collection": (bool,),
    "upload": (bool,),
    "update": (bool,),
    "endpoint": (str,),
    "format": (str,),
    "max_records": (int,),
    "max_bytes": (int,),
}  # the keys of [telemetry] and of each [products.<name>]: add a key here, and only here
TABLES = ("telemetry", "products")  # the top-level tables; nothing else belongs at the top


class Settings(NamedTuple):
    """One parsed settings file; ``path`` is where it came from (its origin)."""

    path: Path
    data: dict[str, Any]
    text: str = ""  # as read: what ``update`` edits in place

    def table(self, product: str | None) -> dict[str, Any]:
        """``[products.<product>]`` or, with ``product=None``, ``[telemetry]`` (empty if absent)."""
        if product is None:
            found = self.data.get("telemetry", {})
        else:
            found = self.data.get("products", {}).get(product, {})
        return found if isinstance(found, dict) else {}

    @staticmethod
    def table_name(product: str | None) -> str:
        return "[telemetry]" if product is None else f"[products.{product}]"

    def lookup(self, key: str, product: str | None) -> tuple[Any, str] | None:
        """The value of ``key`` for ``product`` (its table, then ``[telemetry]``) and the table it came from."""
        for scope in ((product, None) if product is not None else (None,)):
            table = self.table(scope)
            if key in table:
                return table[key], self.table_name(scope)
        return None

    def products(self) -> list[str]:
        products = self.data.get("products", {})
        return sorted(products) if isinstance(products, dict) else []


def load(path: Path) -> Settings | None:
    """Parse and validate ``path``; ``None`` when the file does not exist."""
    from telemetry_gate.fs import NotRegular, read_regular

    try:
        raw = read_regular(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except IsADirectoryError as exc:
        raise InvalidFileError(path, "is a directory, not a settings file") from exc
    except NotRegular as exc:  # a FIFO there must not hang every command
        raise InvalidFileError(path, f"{exc.strerror}, not a settings file") from exc
    except PermissionError as exc:
        raise PermissionDenied(f"cannot read {path}: permission denied") from exc
    return parse(path, raw)


def parse(path: Path, raw: bytes) -> Settings:
    import tomllib  # only when a settings file exists

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidFileError(path, "is not valid UTF-8", line) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        at = int(match.group(1)) if match else None
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise InvalidFileError(path, f"not valid TOML: {problem}", at) from exc
    _validate(path, text, data)
    return Settings(path, data, text)


def _validate(path: Path, text: str, data: dict[str, Any]) -> None:
    """Raise ``InvalidFileError`` (``path:line``) for anything telemetry cannot understand: a
    value of the wrong type, and - failing closed, since a misspelt ``uplod = false`` would
    otherwise leave upload on - a key or table it does not read, a key outside any table, a
    product name it cannot be. The first problem (by line) is the message; the hint counts the rest."""
    problems = _strays(text, data)
    tables: list[tuple[tuple[str, ...], Any]] = [(("telemetry",), data.get("telemetry"))]
    products = data.get("products")
    if products is not None:
        if not isinstance(products, dict):
            raise InvalidFileError(path, "'products' must be a table", _line_of(text, (), "products"))
        for name, table in products.items():
            if is_name(name):
                tables.append((("products", name), table))
                continue
            hint = f"; did you mean [products.{name.lower()}]?" if is_name(name.lower()) else ""
            problems.append((_line_of(text, ("products",), name), f"[products.{name}] is not a product telemetry "
                             f"can name: lower-case letters, digits, '.', '_' and '-'{hint}"))
    for where, table in tables:
        if table is None:
            continue
        header = ".".join(where)
        if not isinstance(table, dict):
            raise InvalidFileError(path, f"[{header}] must be a table", _line_of(text, where[:-1], where[-1]))
        for key, value in table.items():
            expected = _TYPES.get(key)
            if expected is None:
                problems.append((_line_of(text, where, key),
                                 f"unknown key {key!r} in [{header}]{_did_you_mean(key, list(_TYPES))}"))
                continue
            if not isinstance(value, expected) or (expected == (int,) and isinstance(value, bool)):
                kind = {bool: "true or false", str: "a string", int: "a whole number"}[expected[0]]
                raise InvalidFileError(
                    path, f"{key} in [{header}] must be {kind}, not {value!r}", _line_of(text, where, key)
                )
            if key == "format" and value not in FORMATS:
                raise InvalidFileError(
                    path, f"format in [{header}] must be 'otlp' or 'json', not {value!r}",
                    _line_of(text, where, key),
                )
            if key in ("max_records", "max_bytes") and isinstance(value, int) and value <= 0:
                raise InvalidFileError(path, f"{key} in [{header}] must be positive", _line_of(text, where, key))
    if problems:
        problems.sort(key=lambda found: found[0] or 0)
        line, problem = problems[0]
        more = f"; {len(problems) - 1} more line(s) below need it too" if len(problems) > 1 else ""
        raise InvalidFileError(path, problem, line, hint=f"until it is fixed, nothing is recorded or sent{more}")


def _did_you_mean(word: str, known: list[str], shown: str = "{}") -> str:
    import difflib  # only for a file with a mistake

    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {shown.format(close[0])}?" if close else ""


def _strays(text: str, data: dict[str, Any]) -> list[tuple[int | None, str]]:
    """What sits outside ``[telemetry]`` and ``[products.*]``, each with its line."""
    problems = []
    for key, value in data.items():
        if key in TABLES:
            continue
        line = _line_of(text, (), key)
        if key in _TYPES:
            problems.append((line, f"{key} outside any table; put it under [telemetry] (every product) "
                                   "or [products.<name>]"))
        elif key == "product" and isinstance(value, dict):
            names = ", ".join(f"[products.{n}]" for n in value) or "[products.<name>]"
            problems.append((line, f"[product] is not a table telemetry reads; did you mean {names}?"))
        else:
            what = "table" if isinstance(value, dict) else "key"
            problems.append((line, f"unknown {what} {key!r}{_did_you_mean(key, list(TABLES), '[{}]')}"))
    return problems


def _at(path: Path, text: str, table: tuple[str, ...], key: str) -> str:
    line = _line_of(text, table, key)
    return f"{path}:{line}" if line else str(path)


def _line_of(text: str, table: tuple[str, ...], key: str) -> int | None:
    """The line defining ``key`` in ``table`` (a best effort: enough to point a person at it)."""
    current: tuple[str, ...] = ()
    key_pattern = re.compile(rf"""\s*["']?{re.escape(key)}["']?\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            current = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
            if current[:len(table) + 1] == table + (key,):
                return number
            continue
        if current == table and key_pattern.match(line):
            return number
    return None


def update(path: Path, product: str | None, values: dict[str, bool]) -> None:
    """Set ``values`` in the product's table (or ``[telemetry]``), keeping every other byte:
    comments, order, quoting and blank lines (a tomlkit round trip; tomlkit is imported here
    only). Refuses to touch a malformed file; the result is read back before it replaces the file."""
    import tomlkit

    current = load(path)  # validates: a malformed file raises and is never rewritten
    try:
        doc = tomlkit.parse(current.text) if current is not None else tomlkit.document()
        if product is None:
            table = _table(doc, "telemetry")
        else:
            table = _table(_table(doc, "products", super_table=True), product)
        for key, value in values.items():
            _set(table, key, value)
        text = tomlkit.dumps(doc)
        written = parse(path, text.encode("utf-8"))
        if any(written.lookup(k, product) != (v, Settings.table_name(product)) for k, v in values.items()):
            raise ValueError("the edited file does not say what was asked")
    except (ValueError, TypeError, KeyError, AttributeError, InvalidFileError, tomlkit.exceptions.TOMLKitError):
        text = _rewritten(current, product, values)  # a layout tomlkit cannot edit: keep the data
    atomic_write(path, text.encode("utf-8"), follow=True)  # the directory may be a dotfile manager's link


def _rewritten(current: Settings | None, product: str | None, values: dict[str, bool]) -> str:
    """The whole file written anew (tomli_w): every table and key kept, comments lost."""
    import tomli_w

    data: dict[str, Any] = dict(current.data) if current else {}
    if product is None:
        data["telemetry"] = {**dict(data.get("telemetry", {})), **values}
    else:
        products = dict(data.get("products", {}))
        products[product] = {**dict(products.get(product, {})), **values}
        data["products"] = products
    return tomli_w.dumps(data)


def _set(table: Any, key: str, value: bool) -> None:
    """``table[key] = value``; a new key goes after the table's last key, not after the comments
    and blank lines that close it (they usually introduce the next table). tomlkit's public API
    only appends, so the new line rides on the last key's trailing text (its public ``trivia``);
    ``update`` reads the result back and falls back to a whole rewrite if it says otherwise."""
    import tomlkit

    if key in table:
        table[key] = value
        return
    body = getattr(getattr(table, "value", None), "body", None) or []
    keyed = [(k, item) for k, item in body if k is not None]
    trailing = bool(body) and body[-1][0] is None
    if keyed and trailing and not isinstance(keyed[-1][1], (tomlkit.items.Table, tomlkit.items.AoT)):
        last = keyed[-1][1]
        if last.trivia.trail.endswith("\n"):
            line = tomlkit.dumps({key: value})
            last.trivia.trail += line
            return
    table[key] = value


def _table(container: Any, name: str, super_table: bool = False) -> Any:
    """``container[name]``, made as a table when absent."""
    import tomlkit

    found = container.get(name)
    if found is None:
        if isinstance(container, tomlkit.items.InlineTable):  # products = {x = {...}}: stay inline
            found = tomlkit.inline_table()
        else:
            found = tomlkit.table(is_super_table=True) if super_table else tomlkit.table()
        container[name] = found
    return found
