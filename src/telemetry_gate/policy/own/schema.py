"""Validating a manifest's ``[[native]]`` tables and its ``[detect]`` table into ``model.py``'s
``NativeSwitch`` and ``Detect``.

Validation is strict: ``parse_native`` and ``parse_detect`` raise through ``fail(problem, index,
key)`` so the manifest reader can name the file and line (``native_line``); what a switch may
reach and write is narrowed by ``powers.py`` (docs/manifests.md). ``SWITCH_KEYS`` is every key
each kind takes: any other is refused, never ignored.
"""

import re
from typing import TYPE_CHECKING, Any, NoReturn

from telemetry_gate.policy.own import powers
from telemetry_gate.policy.own.active import parse as parse_active
from telemetry_gate.policy.own.model import (
    FACET_NAMES,
    FORMATS,
    GENERATORS,
    KINDS,
    SCOPES,
    Detect,
    NativeSwitch,
)
from telemetry_gate.policy.own.places import head_of, path_template, platform_path, platform_paths
from telemetry_gate.policy.paths import is_name

# patterns as text: ``re`` compiles (and caches) one on first use, so ``check``, which rebuilds
# manifests from the catalogue's index, never pays for the validation patterns
_EXECUTABLE = r"[A-Za-z0-9_.+-]+"
_DISTRIBUTION = r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"

if TYPE_CHECKING:  # not evaluated at run time: check imports this module
    from collections.abc import Callable

    Fail = Callable[[str, int | None, str], NoReturn]
    """``fail(problem, index of the [[native]] table or None, key)``: raises the manifest's error."""

_COMMON = {"kind", "facets", "source", "note", "scope", "part", "versions"}
SWITCH_KEYS = {
    "env": _COMMON | {"variable", "off", "off_when", "off_values", "on_values", "on", "trim", "exact",
                      "outranks_files"},
    "flag-file": _COMMON | {"path", "covers", "moved_by"},
    "config-file": _COMMON | {"path", "format", "key", "flat_key", "off", "on", "absent", "other", "requires",
                              "active", "off_when", "off_values", "on_values", "moved_by"},
}


def parse_native(items: Any, product: str, fail: "Fail",
                 trusted: frozenset[tuple[str, str]] | None = frozenset()) -> tuple[NativeSwitch, ...]:
    """The ``[[native]]`` tables, each held to the narrow powers of ``powers.py``. ``trusted``:
    the ``(kind, path)`` pairs the shipped catalogue declares for ``product`` (``None``: this is the
    shipped catalogue, whose places are its own by review)."""
    if not isinstance(items, list):
        fail("[[native]] must be an array of tables", None, "native")
    switches = tuple(_switch(item, index, product, fail, trusted) for index, item in enumerate(items))
    first = tuple(s for s in switches if s.outranks_files)
    return tuple(s._replace(outranked_by=tuple(v for v in first if set(v.facets) & set(s.facets)))
                 if s.kind != "env" and first else s for s in switches)


def _switch(item: Any, index: int, product: str, fail: "Fail",
            trusted: frozenset[tuple[str, str]] | None = frozenset()) -> NativeSwitch:
    if not isinstance(item, dict):
        fail("each [[native]] must be a table", index, "native")
    kind = item.get("kind")
    if kind not in KINDS:
        fail(f"[[native]] kind must be one of {', '.join(KINDS)}, not {kind!r}", index, "kind")
    unknown = sorted(set(item) - SWITCH_KEYS[kind])
    if unknown:
        fail(f"[[native]] of kind {kind} does not take {', '.join(unknown)}", index, unknown[0])
    facets = item.get("facets")
    if not isinstance(facets, list) or not facets or any(f not in FACET_NAMES for f in facets) \
            or len(set(facets)) != len(facets):
        fail("[[native]] facets must list collection, upload or update", index, "facets")
    source = item.get("source")
    if not isinstance(source, str) or not source.startswith(("https://", "http://")):
        fail("[[native]] needs a source: the URL of the documentation or code its facts come from",
             index, "source")
    note = _string(item, "note", index, fail, "")
    scope = item.get("scope", "user")
    if scope not in SCOPES:
        fail(f"[[native]] scope must be 'user' or 'system', not {scope!r}", index, "scope")
    part = _string(item, "part", index, fail, "")
    if "\n" in part or len(part) > 200:
        fail("[[native]] part is one line naming the part of the product the switch stops", index, "part")
    versions = item.get("versions")
    if versions is not None:
        from telemetry_gate.policy.own.versions import parse_range

        try:
            versions = parse_range(versions).text
        except ValueError as exc:
            fail(f"[[native]] {exc}", index, "versions")
    ordered = tuple(f for f in FACET_NAMES if f in facets)
    common = {"product": product, "kind": kind, "facets": ordered, "source": source, "note": note, "scope": scope,
              "part": part, "versions": versions or ""}
    if kind == "env":
        switch = _env(item, index, common, fail)
        if trusted is not None and not powers.about_telemetry(switch.variable):
            fail(f"[[native]] variable {switch.variable} does not say it is about telemetry: outside the shipped "
                 "catalogue a manifest may only name such a variable", index, "variable")
        return switch
    paths = platform_paths(item.get("path"), index, fail)
    common["paths"] = paths if isinstance(item.get("path"), dict) else ()
    path = platform_path(paths)
    if any(p.startswith("$SYSTEM") != (scope == "system") for _, p in paths):
        fail("[[native]] a system-scope path starts with $SYSTEM, and only a system-scope path does", index, "path")
    own = None if trusted is None else frozenset(p for k, p in trusted if k == kind)
    for _, template in paths:
        problem = powers.place(template, head_of(template), product, own)
        if problem:
            fail(f"[[native]] path {template!r} {problem}", index, "path")
    moved = item.get("moved_by", [])
    if not isinstance(moved, list) or any(not isinstance(v, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]{0,127}", v)
                                          for v in moved):
        fail("[[native]] moved_by lists the variables (names) that move the product's file elsewhere", index,
             "moved_by")
    common["moved_by"] = tuple(moved)
    if kind == "flag-file":
        covers = item.get("covers", [product])
        if not isinstance(covers, list) or not covers or any(not is_name(c)
                                                             for c in covers):
            fail("[[native]] covers must list product names", index, "covers")
        if product not in covers:
            fail(f"[[native]] covers must include the product itself ({product})", index, "covers")
        return NativeSwitch(**common, path=path, covers=tuple(covers))
    switch = _config(item, index, common, path, fail)._replace(active=parse_active(item.get("active"), paths,
                                                                                 index, fail))
    pointers = () if switch.active is None or trusted is None else switch.active.files
    shipped = frozenset(p for k, p in trusted or () if k == "active")
    for _, template in pointers:  # the file naming the active configuration: the product's own too
        problem = powers.place(template, head_of(template), product, shipped)
        if problem:
            fail(f"[[native]] active file {template!r} {problem}", index, "active")
    if trusted is not None and (switch.kind, switch.path) not in trusted \
            and not powers.about_telemetry(f"{switch.key} {switch.path}"):
        fail(f"[[native]] key {switch.key!r} of {switch.path} does not say it is about telemetry: outside the "
             "shipped catalogue a manifest may only set such a key", index, "key")
    return switch


def _env(item: dict[str, Any], index: int, common: dict[str, Any], fail: "Fail") -> NativeSwitch:
    variable = item.get("variable")
    problem = powers.hook(variable)
    if problem or not isinstance(variable, str):
        fail(f"[[native]] of kind env {problem}", index, "variable")
    off_when = item.get("off_when", "set")
    if off_when not in ("set", "nonempty", "values", "unless"):
        fail(f"[[native]] off_when must be 'set', 'nonempty', 'values' or 'unless', not {off_when!r}", index,
             "off_when")
    off = item.get("off")
    if not isinstance(off, str) or not off.strip() or off != off.strip() or "\n" in off:
        fail("[[native]] of kind env needs off: the non-empty value written to switch it off", index, "off")
    _one_line(off, index, "off", fail)
    exact = item.get("exact", False)
    if not isinstance(exact, bool) or (exact and off_when not in ("values", "unless")):
        fail("[[native]] exact = true (values compared as written) only goes with off_when 'values' or 'unless'",
             index, "exact")

    def fold(value: str) -> str:
        return value if exact else value.lower()

    values = item.get("off_values")
    if off_when == "values":
        if not isinstance(values, list) or not values or any(not isinstance(v, str) for v in values):
            fail("[[native]] off_when = 'values' needs off_values: the values that mean off", index, "off_values")
        for value in values:
            _one_line(value, index, "off_values", fail)
        lowered = tuple(v if exact else v.strip().lower() for v in values)
        if fold(off) not in lowered:
            fail(f"[[native]] off = {off!r} is not one of its off_values", index, "off")
    elif values is not None:
        fail("[[native]] off_values only goes with off_when = 'values'", index, "off_values")
    else:
        lowered = ()
    ons = item.get("on_values")
    on_values: tuple[str, ...] = ()
    if off_when == "unless":
        if not isinstance(ons, list) or not ons or any(not isinstance(v, str) or not v for v in ons):
            fail("[[native]] off_when = 'unless' needs on_values: the only values that mean on", index, "on_values")
        for value in ons:
            _one_line(value, index, "on_values", fail)
        on_values = tuple(fold(v) for v in ons)
        if fold(off) in on_values:
            fail(f"[[native]] off = {off!r} is one of its on_values", index, "off")
    elif ons is not None:
        fail("[[native]] on_values only goes with off_when = 'unless'", index, "on_values")
    trim = item.get("trim", False)
    if not isinstance(trim, bool) or (trim and (off_when != "values" or exact)):
        fail("[[native]] trim = true (the product strips spaces) only goes with off_when = 'values'", index, "trim")
    on = item.get("on")
    if on is not None and (not isinstance(on, str) or not on or off_when in ("set", "nonempty")
                           or (on if exact else on.strip().lower()) in lowered
                           or (on_values and fold(on) not in on_values)):
        fail("[[native]] on must be a value that does not mean off (off_when 'set' and 'nonempty' have none)",
             index, "on")
    if on is not None:
        _one_line(on, index, "on", fail)
    for value in on_values:
        _one_line(value, index, "on_values", fail)
    outranks = item.get("outranks_files", False)
    if outranks not in (True, False, "nonempty"):
        fail("[[native]] outranks_files is true (or \"nonempty\") when the product reads the variable before "
             "its files", index, "outranks_files")
    outranks = "set" if outranks is True else outranks or ""
    return NativeSwitch(**common, variable=variable, off_when=off_when, off_values=lowered, on_values=on_values,
                        trim=trim, exact=exact, off=off, on=on, outranks_files=outranks)


def _config(item: dict[str, Any], index: int, common: dict[str, Any], path: str, fail: "Fail") -> NativeSwitch:
    fmt = item.get("format")
    if fmt not in FORMATS:
        fail(f"[[native]] format must be one of {', '.join(FORMATS)}, not {fmt!r}", index, "format")
    key = item.get("key")
    parts = key.split(".") if isinstance(key, str) else []
    if fmt == "text":
        if key is not None or any(not isinstance(item.get(n), str) for n in ("off", "on")) or item.get("requires"):
            fail("[[native]] format = 'text' (the file's first word) takes no key and string values", index, "key")
        key, parts = "", []
    elif fmt == "lines":
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}", key) \
                or any(not isinstance(item.get(n), str) for n in ("off", "on")) or "flat_key" in item \
                or item.get("requires"):
            fail("[[native]] format = 'lines' takes one plain name as key (letters, digits, '_', '-') and string "
                 "values, no flat_key or requires", index, "key")
        parts = [key]
    elif item.get("flat_key", False) is not False:
        if item["flat_key"] is not True or fmt not in ("json", "jsonc") or not isinstance(key, str) or not key.strip() \
                or item.get("requires"):
            fail("[[native]] flat_key = true names one JSON member (a key holding dots), with no requires",
                 index, "flat_key")
        parts = [key]
    elif not parts or any(not p.strip() for p in parts) or (fmt == "ini" and len(parts) != 2):
        fail("[[native]] key must be a dotted key path (ini: 'section.key')", index, "key")
    for part in parts:
        _one_line(part, index, "key", fail, 128)
        problem = powers.ini_name(part) if fmt == "ini" else None
        if problem:
            fail(f"[[native]] key part {part!r} {problem}", index, "key")
    values = {}
    for name in ("off", "on"):
        value = item.get(name)
        if isinstance(value, float) or not isinstance(value, str | bool | int):
            fail(f"[[native]] of kind config-file needs {name}: a string, boolean or integer", index, name)
        if isinstance(value, str):
            _one_line(value, index, name, fail)
            if fmt == "text" and (not value or value.split() != [value]):
                fail(f"[[native]] {name} of format 'text' is one word", index, name)
            if fmt == "lines" and not re.fullmatch(r"[^\s=]+", value):
                fail(f"[[native]] {name} of format 'lines' is one word without '='", index, name)
        values[name] = value
    if values["off"] == values["on"] and type(values["off"]) is type(values["on"]):
        fail("[[native]] off and on must differ", index, "on")
    absent = item.get("absent", "on")
    if absent not in ("on", "off"):
        fail(f"[[native]] absent must be 'on' or 'off', not {absent!r}", index, "absent")
    other = item.get("other", "other")
    if other not in ("other", "off"):
        fail(f"[[native]] other must be 'off' (only the on value is on), not {other!r}", index, "other")
    requires = item.get("requires", {})
    if not isinstance(requires, dict) or any(not isinstance(k, str) or not k or v not in GENERATORS
                                             for k, v in requires.items()) or fmt == "ini" and requires:
        fail(f"[[native]] requires maps key names to a generator ({', '.join(GENERATORS)}); not for ini",
             index, "requires")
    for name in requires:
        _one_line(name, index, "requires", fail, 128)
    rule = _ini_rule(item, values, index, fail) if fmt == "ini" and "off_when" in item else {}
    if not rule and any(k in item for k in ("off_when", "off_values", "on_values")):
        fail("[[native]] off_when, off_values and on_values of a config-file are for ini (its words)", index,
             "off_when")
    return NativeSwitch(**common, path=path, format=fmt, key=str(key), flat_key=item.get("flat_key") is True,
                        off=values["off"], on=values["on"], **rule,
                        absent=absent, other=other, covers=(common["product"],), requires=tuple(requires.items()))


def _ini_rule(item: dict[str, Any], values: dict[str, Any], index: int, fail: "Fail") -> dict[str, Any]:
    """An INI value is a word: ``off_when = "values"`` (``off_values`` are off, every other word on)
    or ``"unless"`` (``on_values`` are on, every other word off), in any case, as a product's
    configparser reads it (stripped). ``off`` and ``on`` are the words written."""
    off_when = item.get("off_when")
    listed = item.get("off_values" if off_when == "values" else "on_values")
    other = item.get("on_values" if off_when == "values" else "off_values")
    if off_when not in ("values", "unless") or other is not None or not isinstance(listed, list) or not listed \
            or any(not isinstance(v, str) or not v.strip() for v in listed):
        fail("[[native]] an ini switch's off_when is 'values' (with off_values) or 'unless' (with on_values)",
             index, "off_when")
    for value in listed:
        _one_line(value, index, "off_when", fail, 128)
    words = tuple(v.strip().lower() for v in listed)
    off, on = (str(values[n]).lower() for n in ("off", "on"))
    if (off in words) != (off_when == "values") or (on in words) == (off_when == "values"):
        fail("[[native]] an ini switch's off must be read as off and its on as on by its own rule", index, "off")
    return {"off_when": off_when, "off_values" if off_when == "values" else "on_values": words}


def _one_line(value: str, index: int, key: str, fail: "Fail", limit: int = powers.MAX_TEXT) -> None:
    problem = powers.one_line(value, limit)
    if problem:
        fail(f"[[native]] {key} {value[:40]!r} {problem}", index, key)


def _string(item: dict[str, Any], key: str, index: int, fail: "Fail", default: str) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        fail(f"[[native]] {key} must be a string", index, key)
    return value


def parse_detect(table: Any, fail: "Fail") -> Detect:
    if table is None:
        return Detect()
    if not isinstance(table, dict):
        fail("[detect] must be a table", None, "detect")
    unknown = sorted(set(table) - {"executables", "distributions", "paths"})
    if unknown:
        fail(f"[detect] does not take {', '.join(unknown)}", None, unknown[0])
    found: dict[str, tuple[str, ...]] = {}
    for key, pattern in (("executables", _EXECUTABLE), ("distributions", _DISTRIBUTION), ("paths", None)):
        values = table.get(key, [])
        if not isinstance(values, list) or any(not isinstance(v, str) for v in values):
            fail(f"[detect] {key} must be a list of strings", None, key)
        for value in values:
            if pattern is None:
                path_template(value, None, key, fail)
            elif not re.fullmatch(pattern, value):
                fail(f"[detect] {key}: {value!r} is not a valid name", None, key)
        found[key] = tuple(v.rstrip("/") if pattern is None else v for v in values)
    return Detect(**found)


def native_line(text: str, index: int, key: str) -> int | None:
    """The line of ``key`` in the ``index``-th ``[[native]]`` table (else that table's header)."""
    seen = -1
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            if header_line is not None:
                break
            if re.match(r"\[\[\s*native\s*\]\]", stripped):
                seen += 1
                if seen == index:
                    header_line = number
            continue
        if header_line is not None and re.match(rf"""["']?{re.escape(key)}["']?\s*=""", stripped):
            return number
    return header_line

