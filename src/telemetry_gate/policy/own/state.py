"""Reading a product's own switch as the product reads it (no writing here).

A ``Reading`` says where the switch is, what it holds now (``value``, as text for a person),
and its ``state``:

- ``off``: the product sees the switch off (a flag file or any directory entry of that name; a
  variable with an off value; the configured key with the off value - or absent, when a missing
  key means off);
- ``on``: it does not (the file or variable is absent, or holds the on value; or a key the
  product ``requires`` beside the switch is missing, so the product rewrites the file as on);
- ``other``: a value that is neither the declared off nor on value (reported as is);
  a file switch that is off while a variable the product reads first (``outranks_files``) is
  set to a value that is not off is ``on``, with that variable in ``outranked``;
- ``unreadable``: the file exists but cannot be read or parsed (``problem`` says why).

Cheap: ``lexists`` for flags, the environment for variables; a configuration file is opened
only when it exists, and YAML is read without a YAML library when the key is a plain
top-level ``key: value`` line (the one case switches use); otherwise ruamel.yaml is imported.
"""

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.policy.own.active import Unresolved
from telemetry_gate.policy.own.files import Unreadable as Unreadable  # raised by load_key and parse_yaml
from telemetry_gate.policy.own.files import read_bytes, root_of
from telemetry_gate.policy.own.model import NativeSwitch, Scalar


class Reading(NamedTuple):
    switch: NativeSwitch
    where: str  # the variable, the file, or "file key", as a person types it
    path: Path | None  # flag-file and config-file
    value: str | None  # what it holds now, shown; None: absent
    state: str  # "off" | "on" | "other" | "unreadable"
    problem: str | None = None
    outranked: str = ""  # "NAME=value": the variable that outranks this off file switch, so it is on

    @property
    def off(self) -> bool:
        return self.state == "off"


def read(switch: NativeSwitch, environ: Mapping[str, str]) -> Reading:
    if switch.kind == "env":
        where = switch.variable
        if switch.variable not in environ:
            return Reading(switch, where, None, None, "on")
        value = environ[switch.variable]
        if switch.is_off_value(value):
            return Reading(switch, where, None, value, "off")
        on = switch.off_when in ("unless", "nonempty") or (  # every value that is not off is on
            switch.on is not None and value.strip().lower() == str(switch.on).lower())
        return Reading(switch, where, None, value, "on" if on else "other")
    try:
        path = switch.file(environ)
    except Unresolved as exc:
        where = switch.where(environ)
        return Reading(switch, where, None, None, "unreadable", f"{where}: {exc}")
    where = switch.where(environ, path)
    if switch.kind == "flag-file":
        kind = _entry_kind(path)
        return _outranked(Reading(switch, where, path, kind, "off"), environ) if kind else \
            Reading(switch, where, path, kind, "on")
    try:
        found, value = load_key(path, switch)
    except FileNotFoundError:
        return Reading(switch, where, path, None, switch.absent)
    except (OSError, Unreadable) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Reading(switch, where, path, None, "unreadable", f"{where}: {problem}")
    if not found:
        return Reading(switch, where, path, None, switch.absent)
    state = classify(switch, value)
    if state == "off" and switch.requires:
        missing = _missing_required(path, switch)
        if missing:  # the product rewrites such a file, switching itself back on
            return Reading(switch, where, path, show_value(value), "on",
                           f"{where}: no {missing}, so {switch.product} rewrites it as on")
    if state == "off":
        return _outranked(Reading(switch, where, path, show_value(value), state), environ)
    return Reading(switch, where, path, show_value(value), state)


def stopping(facet: str, readings: Sequence[Reading]) -> list[Reading]:
    """The switches that stop ``facet``: any whole-product switch that is off, and the partial ones
    only when every part they name has one off (Gradio's apps and its client each need theirs;
    JupyterLab's news and its update check)."""
    mine = [r for r in readings if facet in r.switch.facets]
    off = [r for r in mine if r.off and not r.switch.part]
    parts = {r.switch.part for r in mine if r.switch.part}
    partial = [r for r in mine if r.off and r.switch.part]
    if parts and parts <= {r.switch.part for r in partial}:
        off += partial
    return off


def _outranked(reading: Reading, environ: Mapping[str, str]) -> Reading:
    """An off file switch is on when the product reads a variable first that is set to a value
    it does not read as off (``gcloud``: CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=false)."""
    for first in reading.switch.outranked_by:
        value = environ.get(first.variable)
        if value is not None and not first.is_off_value(value) and (value or first.outranks_files == "set"):
            return reading._replace(state="on", outranked=f"{first.variable}={value}")
    return reading


def _missing_required(path: Path, switch: NativeSwitch) -> str | None:
    prefix = switch.key.rpartition(".")[0]
    for key, _generator in switch.requires:
        try:
            found, value = load_key(path, switch._replace(key=f"{prefix}.{key}" if prefix else key))
        except (OSError, Unreadable):
            return key
        if not found or value is None:
            return key
    return None


def _entry_kind(path: Path) -> str | None:
    """``file``, ``directory``, ``broken link``, ...: any directory entry counts as off."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    import stat

    if stat.S_ISLNK(st.st_mode):
        return "link" if os.path.exists(path) else "broken link"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    return "file" if stat.S_ISREG(st.st_mode) else "special file"


def classify(switch: NativeSwitch, value: Any) -> str:
    """As the product compares: a TOML, YAML or JSON value by type and value (Astro turns off
    only for the JSON boolean ``false``, never the string ``"false"``); INI holds only text."""
    if switch.format == "ini" and switch.off_when in ("values", "unless") and isinstance(value, str):
        return "off" if switch.is_off_value(value.strip()) else "on"  # a word, by the product's own rule
    if same(value, switch.off, switch.format == "ini"):
        return "off"
    if same(value, switch.on, switch.format == "ini"):
        return "on"
    return switch.other  # "off" where the product is on only for its on value (PipeRider: the boolean true)


def same(value: Any, expected: Scalar | None, text: bool = False) -> bool:
    """Equal and of the same type (``1`` is not ``true``); ``text`` (INI): compared as text."""
    if text and isinstance(value, str) and not isinstance(expected, str) and expected is not None:
        return value.strip().lower() == show_value(expected)
    return type(value) is type(expected) and value == expected


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def load_key(path: Path, switch: NativeSwitch) -> tuple[bool, Any]:
    """``(found, value)`` of the switch's key; raises ``FileNotFoundError`` or ``Unreadable``
    (a file refused by ``files.read_bytes``: not regular, over 1 MiB, through a link out of the
    product's directory or a directory others can write, owned by another user)."""
    _, raw, _ = read_bytes(path, root_of(switch.path, path))
    return parse_key(raw, switch)


def parse_key(raw: bytes, switch: NativeSwitch) -> tuple[bool, Any]:
    """``(found, value)`` of the switch's key in a file's bytes; raises ``Unreadable``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("is not valid UTF-8") from exc
    try:
        return _parse_key(text, switch)
    except RecursionError as exc:  # JSON, TOML or YAML nested thousands deep
        raise Unreadable("is nested too deeply to read") from exc


def _parse_key(text: str, switch: NativeSwitch) -> tuple[bool, Any]:
    if switch.format == "text":  # Go's mode file: strings.TrimSpace, then what precedes the first space
        word = text.strip().partition(" ")[0]
        return (True, word) if word else (False, None)
    if switch.format == "lines":  # Dart's name=value lines (own/lines.py)
        from telemetry_gate.policy.own import lines

        return lines.value(text, switch.key, str(switch.off))
    keys = [switch.key] if switch.flat_key else switch.key.split(".")
    if switch.format == "yaml":
        quick = _yaml_top_level(text, keys)
        if quick is not None:
            return quick
        data = parse_yaml(text)
    elif switch.format == "toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise Unreadable(f"not valid TOML: {exc}") from exc
    elif switch.format in ("json", "jsonc"):
        import json

        if switch.format == "jsonc":  # comments and trailing commas as spaces, offsets kept
            from telemetry_gate.policy.own.jsonc import blank

            text = blank(text)
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise Unreadable(f"not valid JSON{' with comments' if switch.format == 'jsonc' else ''}: {exc}") from exc
    else:
        return _ini_value(text, keys)
    return _dig(data, keys)


def _dig(data: Any, keys: list[str]) -> tuple[bool, Any]:
    if data is None:
        return False, None
    for key in keys:
        if not isinstance(data, dict):
            raise Unreadable(f"{'.'.join(keys)}: not inside a table/mapping")
        if key not in data:
            return False, None
        data = data[key]
    return True, data


def parse_yaml(text: str) -> Any:
    """The document as ruamel.yaml's round-trip loader reads it (YAML 1.2, as PipeRider does).
    Anchors and aliases are refused before anything is built: a few hundred bytes of aliases
    expand to billions of nodes (a "billion laughs"), and a switch's file never needs them."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        if "&" in text or "*" in text:  # only then can there be an anchor or an alias
            from ruamel.yaml.events import AliasEvent

            for event in YAML().parse(text):
                if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                    raise Unreadable("uses YAML anchors or aliases (& and *), which telemetry-gate does not expand")
        return YAML().load(text)
    except YAMLError as exc:
        raise Unreadable(f"not valid YAML: {str(exc).splitlines()[0]}") from exc
    except RecursionError as exc:
        raise Unreadable("is nested too deeply to read") from exc


_SIMPLE_LINE = r"[A-Za-z_][A-Za-z0-9_-]*:(\s.*)?"  # text: compiled on first use only
_PLAIN = r"[A-Za-z0-9_.+-]+"
_YAML12_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _yaml_top_level(text: str, keys: list[str]) -> tuple[bool, Any] | None:
    """A top-level key in a block mapping of plain ``key: scalar`` lines, read without a YAML
    library; ``None`` when the file holds anything else (then ruamel.yaml decides)."""
    if len(keys) != 1 or "\t" in text or "\r" in text:
        return None
    found: list[str] = []
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not re.fullmatch(_SIMPLE_LINE, line):
            return None  # indentation, flow style, documents, directives, anchors: not simple
        name, _, rest = line.partition(":")
        value = rest.split(" #", 1)[0].strip()
        if not re.fullmatch(_PLAIN, value):
            return None  # quoted, empty (a nested mapping follows), or anything unusual
        if name == keys[0]:
            found.append(value)
    if not found:
        return None if not text.strip() else (False, None)
    if len(found) > 1:
        return None  # a duplicate key: ruamel.yaml refuses it, so must we
    value = found[0]
    if value in _YAML12_BOOL:
        return True, _YAML12_BOOL[value]
    if re.fullmatch(r"[-+]?[0-9]+", value):
        return True, int(value)
    if value in ("null", "Null", "NULL", "~"):
        return True, None
    if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
                    value):
        return None  # a float: let the library say exactly which
    return True, value


def _ini_value(text: str, keys: list[str]) -> tuple[bool, Any]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise Unreadable(f"not valid INI: {str(exc).splitlines()[0]}") from exc
    section, key = keys
    if not parser.has_option(section, key):
        return False, None
    return True, parser.get(section, key)
