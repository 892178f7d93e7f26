"""Product manifests (SPEC 6a): what a product declares about its telemetry, and how a
manifest's text becomes a ``Manifest`` (``parse``, ``build``: strict, every problem named by
file and line). Finding the manifests (the shipped catalogue, entry points, ``products.d``) is
``policy/catalogue.py``.

The shipped catalogue's folder (``SHIPPED``) and its generated index stay here: a manifest's
powers depend on them (a ``products.d`` file may keep the places the shipped manifest of its
product declares, ``shipped_places``), and ``catalogue`` imports this module, not the reverse.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy.held import Saved, parse_saved
from telemetry_gate.policy.own.model import Detect, NativeSwitch
from telemetry_gate.policy.own.powers import hook
from telemetry_gate.policy.own.schema import native_line, parse_detect, parse_native
from telemetry_gate.policy.paths import is_name, is_version
from telemetry_gate.vocabulary import CATEGORIES, FACETS, FORMATS, NO_WORDS

SHIPPED = Path(__file__).resolve().parent.parent / "catalog"
_SHIPPED_TEXT = str(SHIPPED)


# The keys each table of a manifest knows, in one place: a new key is added here (and read in
# ``build``); any other key makes the manifest invalid. [[native]] and [detect]: policy/own/schema.py;
# [saved] (a product's own copies of its events, SPEC 6c): policy/held.py.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"product", "fields", "native", "detect", "saved"}),
    "product": frozenset({"name", "description", "version", "endpoint", "format", "config_url", "strict", "env",
                          "homepage", "telemetry_docs", "limits", "default", "privacy_url", "retention",
                          "contact", "notice", "versions"}),
    "product.env": frozenset({"name", "kind", "facets"}),
    "fields.*": frozenset({"category", "description", "example"}),
}


class Field(NamedTuple):
    name: str
    category: str
    description: str
    example: str


class Manifest(NamedTuple):
    name: str
    source: str
    description: str = ""
    version: str | None = None
    endpoint: str | None = None
    format: str | None = None
    config_url: str | None = None
    strict: bool = False
    fields: tuple[Field, ...] = ()
    opt_in: bool = False  # ``default = "disabled"``: nothing is collected until the product is enabled
    privacy_url: str | None = None
    retention: str | None = None
    contact: str | None = None  # whom to ask for a copy or the deletion of what was sent
    notice: bool = True  # the library's first-run notice (``notice = false``: the product shows its own)
    homepage: str = ""
    telemetry_docs: str = ""
    limits: tuple[str, ...] = ()  # what no switch stops (shown by check and inspect --catalog)
    native: tuple[NativeSwitch, ...] = ()  # the product's own switches (issue 13)
    detect: Detect = Detect()
    saved: Saved | None = None  # where the product keeps its own events and how it uploads one
    versions: str = ""  # the range of versions with telemetry (``policy/own/versions.py``); "": all
    installed_version: str | None = None  # known only when a range is declared (``versions.installed``)
    version_notes: tuple[str, ...] = ()  # switches left out because the installed version is outside their range

    @property
    def shipped(self) -> bool:
        """Whether this manifest comes from the catalogue inside the package."""
        return os.path.dirname(self.source) == _SHIPPED_TEXT

    def declared(self) -> tuple[str, ...] | None:
        """Field names to keep when the manifest is strict; ``None`` keeps everything."""
        return tuple(f.name for f in self.fields) if self.strict else None


def shipped_index() -> Mapping[str, Any]:
    """The shipped catalogue as parsed when it was committed (``catalog/_index.py``, written by
    ``python scripts/generate_catalog_index.py``): file name -> ``{"crc32": ..., "data": ...}``,
    loaded from its ``.pyc``. tomllib takes ~4 ms to import and ~0.3 ms a file; an entry whose
    file has changed since (another CRC-32) is ignored and that file parsed."""
    try:
        from telemetry_gate.catalog._index import FILES
    except ImportError:
        return {}
    return FILES


def shipped_places(name: str) -> frozenset[tuple[str, str]]:
    """The ``(kind, path)`` of every file switch the shipped manifest of ``name`` declares: a
    ``products.d`` file replacing it may keep them (narrow powers, ``policy/own/powers.py``)."""
    entry = shipped_index().get(f"{name}.toml")
    data = entry.get("data") if isinstance(entry, dict) else None
    if not isinstance(data, dict):
        import tomllib

        try:
            data = tomllib.loads((SHIPPED / f"{name}.toml").read_text("utf-8"))
        except (OSError, ValueError):
            return frozenset()
    items = data.get("native", [])
    places = set()
    for table in items if isinstance(items, list) else ():
        path = table.get("path") if isinstance(table, dict) else None
        for template in path.values() if isinstance(path, dict) else [path]:
            if isinstance(template, str) and isinstance(table.get("kind"), str):
                places.add((table["kind"], template.rstrip("/") or "/"))
        active = table.get("active") if isinstance(table, dict) else None
        pointer = active.get("file") if isinstance(active, dict) else None
        for template in pointer.values() if isinstance(pointer, dict) else [pointer]:
            if isinstance(template, str):
                places.add(("active", template.rstrip("/") or "/"))  # the file naming the active configuration
    return frozenset(places)


def parse(raw: bytes, source: str) -> Manifest:
    import tomllib

    path = Path(source)
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidFileError(path, "is not valid UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise InvalidFileError(path, f"not valid TOML: {problem}", int(match.group(1)) if match else None) from exc
    return build(data, source, text)


def build(data: dict[str, Any], source: str, text: str) -> Manifest:
    path = Path(source)

    def fail(problem: str, key: str, table: str | None = None) -> InvalidFileError:
        return InvalidFileError(path, problem, _line(text, key, table))

    product = data.get("product")
    if not isinstance(product, dict):
        raise fail("a manifest needs a [product] table", "product")
    _known_keys(data, fail)
    name = product.get("name")
    if not is_name(name):
        raise fail(f"[product] name must be a lower-case name, not {name!r}", "name")
    strings = {}
    for key in ("description", "version", "endpoint", "config_url", "format", "privacy_url", "retention",
                "contact", "homepage", "telemetry_docs"):
        value = product.get(key)
        if value is not None and not isinstance(value, str):
            raise fail(f"[product] {key} must be a string", key)
        strings[key] = value
    if strings["format"] is not None and strings["format"] not in FORMATS:
        raise fail(f"[product] format must be 'otlp' or 'json', not {strings['format']!r}", "format")
    if strings["version"] is not None and not is_version(strings["version"]):
        raise fail(f"[product] version must be a plain version such as '9.0.0', not {strings['version'][:40]!r}",
                   "version")
    limits = product.get("limits", [])
    if not isinstance(limits, list) or any(not isinstance(x, str) or not x.strip() for x in limits):
        raise fail("[product] limits must be a list of sentences", "limits")
    strict = product.get("strict", False)
    if not isinstance(strict, bool):
        raise fail("[product] strict must be true or false", "strict")
    notice = product.get("notice", True)
    if not isinstance(notice, bool):
        raise fail("[product] notice must be true or false", "notice")
    default = product.get("default", "enabled")
    if default not in ("enabled", "disabled"):
        raise fail(f"[product] default must be 'enabled' or 'disabled' (opt-in), not {default!r}", "default")
    variables = []
    env = product.get("env", [])
    if not isinstance(env, list):
        raise fail("[[product.env]] must be an array of tables", "env")
    for item in env:
        problem = hook(item.get("name")) if isinstance(item, dict) else "needs a variable name"
        if problem:  # the same narrow powers as a [[native]] env switch, which it becomes
            raise fail(f"[[product.env]] {problem}", "name")
        kind = item.get("kind", "disable-if-set")
        if kind not in ("disable-if-set", "boolean"):
            raise fail(f"[[product.env]] kind must be 'disable-if-set' or 'boolean', not {kind!r}", "kind")
        facets = item.get("facets", list(FACETS))
        if not isinstance(facets, list) or not facets or any(f not in FACETS for f in facets):
            raise fail("[[product.env]] facets must list collection, upload or update", "facets")
        variables.append(legacy_env(item["name"], kind, tuple(f for f in FACETS if f in facets), name, source))

    fields = []
    table = data.get("fields", {})
    if not isinstance(table, dict):
        raise fail("[fields] must be a table", "fields")
    for field_name, spec in table.items():
        if not isinstance(spec, dict):
            raise fail(f"[fields.{field_name}] must be a table", field_name)
        category = spec.get("category")
        if category not in CATEGORIES:
            raise fail(f"[fields.{field_name}] category must be one of {', '.join(CATEGORIES)}",
                       "category", f"fields.{field_name}")
        fields.append(Field(field_name, category, str(spec.get("description", "")),
                            str(spec.get("example", ""))))

    def fail_native(problem: str, index: int | None, key: str) -> NoReturn:
        if index is None:
            raise InvalidFileError(path, problem, _line(text, key, "detect") or _line(text, key))
        raise InvalidFileError(path, problem, native_line(text, index, key))

    trusted = None if os.path.dirname(source) == _SHIPPED_TEXT else shipped_places(name)
    native = parse_native(data.get("native", []), name, fail_native, trusted)
    declared = {s.variable for s in native if s.kind == "env"}
    native += tuple(v for v in variables if v.variable not in declared)  # one declaration per fact
    detect = parse_detect(data.get("detect"), fail_native)
    versions, installed, version_notes, native = _versions(product.get("versions"), native, detect, name,
                                                           strings["version"], fail)

    def fail_saved(problem: str, key: str) -> NoReturn:
        raise InvalidFileError(path, problem, _line(text, key, "saved") or _line(text, "saved"))

    saved = parse_saved(data.get("saved"), name, fail_saved)
    return Manifest(name=name, source=source, description=strings["description"] or "",
                    version=strings["version"], endpoint=strings["endpoint"], format=strings["format"],
                    config_url=strings["config_url"], strict=strict,
                    fields=tuple(fields), opt_in=default == "disabled", privacy_url=strings["privacy_url"],
                    retention=strings["retention"], contact=strings["contact"], notice=notice,
                    homepage=strings["homepage"] or "",
                    telemetry_docs=strings["telemetry_docs"] or "", limits=tuple(limits),
                    native=native, detect=detect, saved=saved, versions=versions, installed_version=installed,
                    version_notes=version_notes)


def _versions(declared: Any, native: tuple[NativeSwitch, ...], detect: Detect, name: str, version: str | None,
              fail: Any) -> tuple[str, str | None, tuple[str, ...], tuple[NativeSwitch, ...]]:
    """The manifest's range, the installed version, and the switches that apply to it, with a
    note for each range that leaves some out (``policy/own/versions.py``). Nothing is looked up
    unless a range is declared."""
    if declared is None and not any(s.versions for s in native):
        return "", None, (), native
    from telemetry_gate.policy.own import versions as ranges

    try:
        whole = None if declared is None else ranges.parse_range(declared)
    except ValueError as exc:
        raise fail(f"[product] {exc}", "versions", "product") from None
    found = ranges.installed(detect.distributions, version,
                             ranges.distribution_dirs(tuple(sys.path)) if detect.distributions else ())
    kept, notes = ranges.applying(name, whole, native, tuple(ranges.parse_range(s.versions) if s.versions else None
                                                            for s in native), found)
    return (whole.text if whole else ""), (found.version if found else None), tuple(notes), \
        tuple(native[i] for i in kept)


def legacy_env(variable: str, kind: str, facets: tuple[str, ...], product: str, source: str) -> NativeSwitch:
    """An old ``[[product.env]]`` entry read as the ``[[native]]`` env switch it means:
    ``disable-if-set`` is off whenever set; ``boolean`` is off for a no word, on for ``1``."""
    if kind == "boolean":
        return NativeSwitch(product, "env", facets, f"{source} [[product.env]]", variable=variable,
                            off_when="values", off_values=tuple(sorted(NO_WORDS)), off="0", on="1")
    return NativeSwitch(product, "env", facets, f"{source} [[product.env]]", variable=variable,
                        off_when="set", off="1")


def _known_keys(data: dict[str, Any], fail: Any) -> None:
    """Refuse a key the manifest's table does not know: a misspelt ``strict`` or ``default`` would
    otherwise loosen what the product declared, so such a manifest is not used at all (the
    Recorder collects nothing for its product; ``check`` names the file and line)."""
    import difflib

    def refuse(table: str, key: str, known: frozenset[str], where: str | None) -> NoReturn:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise fail(f"{table} does not take {key!r}{hint}; an unknown key is refused, never ignored", key, where)

    env, fields = data["product"].get("env"), data.get("fields")
    tables = [("a manifest", data, "", None), ("[product]", data["product"], "product", "product")]
    tables += [("[[product.env]]", item, "product.env", None) for item in (env if isinstance(env, list) else [])]
    tables += [(f"[fields.{name}]", spec, "fields.*", f"fields.{name}")
               for name, spec in (fields.items() if isinstance(fields, dict) else ())]
    for title, table, known, where in tables:
        for key in table if isinstance(table, dict) else ():
            if key not in KNOWN_KEYS[known]:
                refuse(title, key, KNOWN_KEYS[known], where)


def _line(text: str, key: str, table: str | None = None) -> int | None:
    """The line of ``key`` (within ``[table]`` when given): enough to point a person at it."""
    pattern = re.compile(rf"""^\s*(\[+\s*)?[\w."-]*{re.escape(key)}["']?\s*(=|\]|\.)""")
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]") if table else None
    inside = header is None
    for number, line in enumerate(text.splitlines(), start=1):
        if header is not None and header.match(line):
            inside = True
            continue
        if inside and pattern.match(line):
            return number
    return None
