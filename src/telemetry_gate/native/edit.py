"""Writing a product's own switch, keeping every other byte of its files.

A config-file switch sets one key (flag files: ``native/flags.py``). TOML through tomlkit and
YAML through ruamel.yaml's round-trip mode (comments, order and layout kept; both imported here
only, when a file is edited); JSON and INI by a minimal in-place edit of the value's own characters.

The file is read under the rules of ``policy/own/files.py`` (a regular file of at most 1 MiB,
not through a link out of the product's directory nor a directory others can write, owned by this
user or root). Every write is atomic: a temporary sibling, then ``os.replace``; the file keeps its
mode and owner (a new one is 0600, a new directory 0700); a symbolic link within the product's
directory is followed so the link stays a link. A file that cannot be parsed or is refused is
never rewritten (``InvalidFileError``), and nothing writes an empty file.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any

from telemetry_gate.errors import InvalidFileError, PermissionDenied
from telemetry_gate.fs import ensure_dir
from telemetry_gate.policy.own import files
from telemetry_gate.policy.own.model import NativeSwitch, Scalar
from telemetry_gate.policy.own.state import Unreadable, parse_yaml, show_value

NEW_FILE_MODE = 0o600
NEW_DIR_MODE = 0o700
SYSTEM_FILE_MODE = 0o644  # system switches: every user's programs must see them
SYSTEM_DIR_MODE = 0o755


def set_key(path: Path, switch: NativeSwitch, value: Scalar, system: bool = False) -> None:
    """Set the switch's key to ``value`` in ``path`` (created when missing), keeping the rest.
    The file is read and replaced under the rules of ``policy/own/files.py`` (regular, at most
    1 MiB, within the product's directory, no directory others can write), keeping its owner."""
    try:
        try:
            target, raw, st = files.read_bytes(path, files.root_of(switch.path, path))
        except FileNotFoundError:
            target, raw, st = files.check_place(path, files.root_of(switch.path, path)), b"", None
        if st is not None and st.st_uid != os.geteuid() and os.geteuid() != 0:
            raise Unreadable(f"belongs to uid {st.st_uid}; replacing it would make it yours")
        text = raw.decode("utf-8")
        new = _edit(text, [switch.key] if switch.flat_key else switch.key.split("."), value, switch)
    except UnicodeDecodeError as exc:
        raise InvalidFileError(path, "is not valid UTF-8; left as it is") from exc
    except RecursionError as exc:
        raise InvalidFileError(path, "is nested too deeply to read; left as it is") from exc
    except Unreadable as exc:
        raise InvalidFileError(path, f"{exc}; left as it is") from exc
    except OSError as exc:
        raise denied("read", path, exc) from exc
    if new == text:
        return
    assert new.strip(), "never write an empty file"
    owner = (st.st_uid, st.st_gid) if st is not None else None
    write_atomic(Path(target), new.encode("utf-8"), stat.S_IMODE(st.st_mode) if st else None, system, owner)


def _edit(text: str, keys: list[str], value: Scalar, switch: NativeSwitch) -> str:
    if switch.format == "text":  # the whole file is the value (Go's own `go telemetry off` adds a date)
        return f"{value}\n"
    if switch.format == "lines":  # Dart's name=value lines: exactly one line for the key (own/lines.py)
        from telemetry_gate.policy.own import lines

        return lines.edit(text, switch.key, str(value))
    if switch.format == "toml":
        return _toml(text, keys, value, switch.requires)
    if switch.format == "yaml":
        return _yaml(text, keys, value, switch.requires)
    if switch.format in ("json", "jsonc"):
        return _json(text, keys, value, switch.requires, switch.format == "jsonc")
    return _ini(text, keys, value)


def generate(kind: str) -> str:
    if kind == "uuid4-hex":
        import uuid

        return uuid.uuid4().hex
    raise ValueError(kind)


def write_atomic(path: Path, data: bytes, mode: int | None, system: bool = False,
                 owner: tuple[int, int] | None = None) -> None:
    """Temporary sibling + ``os.replace``; ``mode`` None: a new file (0600, or 0644 system-wide);
    ``owner``: the replaced file's (uid, gid), given back to the new one (the uid only by root)."""
    make_dirs(path.parent, SYSTEM_DIR_MODE if system else NEW_DIR_MODE)
    final_mode = mode if mode is not None else (SYSTEM_FILE_MODE if system else NEW_FILE_MODE)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.telemetry-gate.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, NEW_FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if owner is not None:
                _chown(fd, owner)
            os.fchmod(fd, final_mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise denied("write", path, exc) from exc


def _chown(fd: int, owner: tuple[int, int]) -> None:
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == owner:
        return
    try:
        os.fchown(fd, owner[0] if os.geteuid() == 0 else -1, owner[1])
    except PermissionError:  # a group this user is not in: the file takes the user's group
        if os.geteuid() == 0:
            raise


def make_dirs(path: Path, mode: int) -> None:
    ensure_dir(path, mode, follow=True)  # a product's directory may be a dotfile manager's link


def denied(verb: str, path: Path, exc: OSError) -> PermissionDenied:
    reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
    hint = None
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "nothing was changed in that file; fix its permissions or run the command as its owner"
    return PermissionDenied(f"cannot {verb} {path}: {reason}", hint)


# -- formats ---------------------------------------------------------------------------


def _toml(text: str, keys: list[str], value: Scalar, requires: tuple[tuple[str, str], ...]) -> str:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise Unreadable(f"not valid TOML: {exc}") from exc
    table: Any = doc
    for key in keys[:-1]:
        if key not in table:
            table[key] = tomlkit.table()
        table = table[key]
        if not isinstance(table, dict):
            raise Unreadable(f"{'.'.join(keys)}: not inside a table")
    for key, kind in requires:
        if key not in table:
            table[key] = generate(kind)
    if keys[-1] in table and _same_typed(table[keys[-1]], value):
        return text
    table[keys[-1]] = value
    return tomlkit.dumps(doc)


def _yaml(text: str, keys: list[str], value: Scalar, requires: tuple[tuple[str, str], ...]) -> str:
    data = parse_yaml(text) if text.strip() else None
    if data is not None and not isinstance(data, dict):
        raise Unreadable("the document is not a mapping")
    quick = _yaml_in_place(text, data or {}, keys, value, requires)
    if quick is not None:
        return quick
    return _yaml_round_trip(data, keys, value, requires, text)


def _yaml_in_place(text: str, data: dict[str, Any], keys: list[str], value: Scalar,
                   requires: tuple[tuple[str, str], ...]) -> str | None:
    """A top-level ``key: scalar`` line rewritten, missing keys appended: every other byte kept.
    ``None`` when the file is not that simple (then ruamel.yaml's round trip does it)."""
    if len(keys) != 1 or re.search(r"^(---|\.\.\.|%)", text, re.M):
        return None
    key = keys[0]
    wanted = {key: value}
    lines = []
    for name, kind in requires:
        if data.get(name) is None:
            if name in data:
                return None
            wanted[name] = generated = generate(kind)
            lines.append(f"{name}: {generated}\n")
    new = text
    if key in data:
        if _same_typed(data[key], value) and len(wanted) == 1:
            return text
        pattern = re.compile(rf"^({re.escape(key)}:[ \t]*)([A-Za-z0-9_.+-]+)([ \t]+#.*)?$", re.M)
        found = pattern.findall(text)
        if len(found) != 1:
            return None
        new = pattern.sub(lambda m: m.group(1) + show_value(value) + (m.group(3) or ""), text)
    else:
        lines.insert(0, f"{key}: {show_value(value)}\n")
    if lines:
        new += ("" if not new or new.endswith("\n") else "\n") + "".join(lines)
    try:
        after = parse_yaml(new)
    except Unreadable:
        return None
    expected = {**data, **wanted}
    if not isinstance(after, dict) or dict(after) != expected or any(
            type(after[k]) is not type(v) for k, v in wanted.items()):
        return None
    return new


def _yaml_round_trip(data: Any, keys: list[str], value: Scalar, requires: tuple[tuple[str, str], ...],
                     text: str) -> str:
    import io

    from ruamel.yaml import YAML

    if data is None:  # an empty document: PipeRider crashes on it; write a whole mapping
        from ruamel.yaml.comments import CommentedMap

        data = CommentedMap()
    node: Any = data
    for key in keys[:-1]:
        if not isinstance(node, dict):
            raise Unreadable(f"{'.'.join(keys)}: not inside a mapping")
        if key not in node:
            from ruamel.yaml.comments import CommentedMap

            node[key] = CommentedMap()
        node = node[key]
    if not isinstance(node, dict):
        raise Unreadable(f"{'.'.join(keys)}: not inside a mapping")
    changed = False
    for key, kind in requires:
        if node.get(key) is None:
            node[key] = generate(kind)
            changed = True
    if not changed and keys[-1] in node and _same_typed(node[keys[-1]], value):
        return text
    node[keys[-1]] = value
    out = io.StringIO()
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.dump(data, out)
    return out.getvalue()


def _same_typed(current: Any, value: Scalar) -> bool:
    return type(current) is type(value) and current == value or (
        isinstance(current, bool) and isinstance(value, bool) and bool(current) == value)


def _json(text: str, keys: list[str], value: Scalar, requires: tuple[tuple[str, str], ...],
          comments: bool = False) -> str:
    """``comments``: JSON with comments (``policy/own/jsonc.py``): found in the text with comments
    and trailing commas blanked, replaced in the original, so every comment stays."""
    import json

    plain = _plain(text, comments)
    try:
        data = json.loads(plain) if plain.strip() else {}
    except ValueError as exc:
        raise Unreadable(f"not valid JSON{' with comments' if comments else ''}: {exc}") from exc
    if not isinstance(data, dict):
        raise Unreadable("the document is not a JSON object")
    if not plain.strip():  # empty (or only comments, which stay): a new object
        text = text + ("" if text.endswith(("\n", "\r")) else "\n") + "{}\n" if text.strip() else "{}\n"
    for key, kind in requires:
        if key not in _json_object(data, keys[:-1]):
            text = _json_set(text, [*keys[:-1], key], generate(kind), comments)
    return _json_set(text, keys, value, comments)


def _plain(text: str, comments: bool) -> str:
    if not comments:
        return text
    from telemetry_gate.policy.own.jsonc import blank

    return blank(text)


def _json_object(data: Any, keys: list[str]) -> dict[str, Any]:
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}


def _json_set(text: str, keys: list[str], value: Scalar, comments: bool = False) -> str:
    """Replace the characters of one value (or insert ``"key": value`` first in its object).
    The positions are found in the text with comments blanked (same offsets); the change is
    made in ``text`` itself."""
    import json

    decoder = json.JSONDecoder()
    encoded = json.dumps(value)
    plain = _plain(text, comments)
    start = _skip_ws(plain, 0)
    for depth, key in enumerate(keys):
        if start >= len(plain) or plain[start] != "{":
            raise Unreadable(f"{'.'.join(keys[:depth]) or 'the document'}: not a JSON object")
        span = None
        pos = _skip_ws(plain, start + 1)
        while pos < len(plain) and plain[pos] != "}":
            name, pos = json.decoder.scanstring(plain, pos + 1)  # type: ignore[attr-defined]
            pos = _skip_ws(plain, _skip_ws(plain, pos) + 1)  # past ':'
            end = decoder.raw_decode(plain, pos)[1]
            if name == key:
                span = (pos, end)  # the last one wins, as json.loads reads it
            pos = _skip_ws(plain, end)
            if pos < len(plain) and plain[pos] == ",":
                pos = _skip_ws(plain, pos + 1)
        if span is None:
            rest = keys[depth + 1:]
            inner = encoded
            for name in reversed(rest):
                inner = f"{{{json.dumps(name)}: {inner}}}"
            first = _skip_ws(plain, start + 1)
            entry = f"{json.dumps(key)}: {inner}"
            if plain[first] == "}":
                return text[:start + 1] + entry + text[start + 1:]
            if comments:  # first in the object, before any comment that opens it (comments stay whole)
                line = text.rfind("\n", 0, first) + 1
                indent = text[line:first][:len(text[line:first]) - len(text[line:first].lstrip(" \t"))]
                lead = ("\r\n" if "\r\n" in text else "\n") + indent if "\n" in text[start + 1:first] else ""
                return text[:start + 1] + lead + entry + "," + text[start + 1:]
            gap = plain[start + 1:first]
            return text[:first] + entry + "," + (gap or " ") + text[first:]
        if depth == len(keys) - 1:
            if plain[span[0]:span[1]] == encoded:
                return text
            return text[:span[0]] + encoded + text[span[1]:]
        start = span[0]
    return text


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _ini(text: str, keys: list[str], value: Scalar) -> str:
    """Lines walked as configparser reads them (a header is the text between its brackets, spaces
    kept; a line indented deeper than the option above continues that option's value, even after
    blank lines); the result is read back and must hold the value and every other option as
    before, else the file is refused (left as it is)."""
    before = _ini_options(text)
    section, key = keys
    shown = show_value(value)
    lines = text.splitlines(keepends=True)
    inside, option, indent = False, False, 0
    last = None  # the index after which a new key goes
    new = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue  # blank lines and comments: a value may go on after them
        level = len(line) - len(line.lstrip())
        if option and level > indent:  # a continuation of the option above
            last = index if inside else last
            continue
        indent = level
        header = re.match(r"\[(.+)\]", stripped)
        if header:
            inside, option = header.group(1) == section, False
            last = index if inside else last
            continue
        option = True
        if not inside:
            continue
        match = re.match(rf"(\s*{re.escape(key)}\s*[=:]\s*)(.*?)(\s*)$", line, re.IGNORECASE | re.S)
        if match:
            if match.group(2) == shown and before.get(section, {}).get(key.lower()) == shown:
                return text
            lines[index] = match.group(1) + shown + match.group(3)
            new = "".join(lines)
            break
        last = index
    if new is None:
        newline = "\r\n" if "\r\n" in text else "\n"
        if last is None:
            prefix = "" if not text or text.endswith(("\n", "\r")) else newline
            new = text + prefix + f"{newline if text.strip() else ''}[{section}]{newline}{key} = {shown}{newline}"
        else:
            if not lines[last].endswith(("\n", "\r")):
                lines[last] += newline
            lines.insert(last + 1, f"{key} = {shown}{newline}")
            new = "".join(lines)
    try:
        after = _ini_options(new)
    except Unreadable:
        after = {}
    wanted = {s: dict(o) for s, o in before.items()}
    wanted.setdefault(section, {})[key.lower()] = shown
    if after != wanted:
        raise Unreadable(f"[{section}] {key} cannot be set there so that the product reads it as written "
                         "(a continued value or an unusual layout)")
    return new


def _ini_options(text: str) -> dict[str, dict[str, str]]:
    """Every section's own options as configparser reads them (DEFAULT's as a section)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section="\x00")
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise Unreadable(f"not valid INI: {str(exc).splitlines()[0]}") from exc
    return {name: dict(parser.items(name)) for name in parser.sections()}
