"""The record (SPEC 6): build, scrub, serialise, validate.

A record is one JSON object::

    {"schema": 1, "id": "<ULID>", "vendor", "product", "version", "event", "category",
     "created": "<RFC 3339 UTC>", "metrics": {...}, "context": {...}}

*Scrubbing* replaces, in every string at any depth (keys included), the home directory,
the user name, the host name, e-mail and IP addresses with ``<home>``, ``<user>``,
``<host>``, ``<email>``, ``<ip>``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from telemetry_gate.errors import RecordError as RecordError  # raised here; spool.records.RecordError stays public
from telemetry_gate.spool.ids import is_id, timestamp
from telemetry_gate.spool.store import MAX_RECORD_BYTES
from telemetry_gate.vocabulary import CATEGORIES

SCHEMA = 1
REQUIRED = ("schema", "id", "vendor", "product", "version", "event", "category", "created", "metrics")

# Each pattern starts only where a run begins (the look-behinds), so a long string costs linear time.
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_IPV4 = r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
_IPV6 = r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])"


# URL credentials (``scheme://user:password@host``, any host) are removed, e-mail addresses
# become <email>: one rule, as both need an "@"
_USERINFO_OR_EMAIL = rf"(?P<userinfo>(?<=//)[^\s/?#@]+@)|{_EMAIL}"
# credential-looking tokens become <secret>: ``Bearer <token>``, GitHub, GitLab, Slack and
# OpenAI-style prefixes, AWS access key ids - one pattern (a rule each cost a loop turn per string)
_TOKENS = (r"(?P<bearer>\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*"
           r"|(?<![\w-])(?:(?:gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]{20,}|xox[bpars]-[A-Za-z0-9_-]{10,}"
           r"|sk-[A-Za-z0-9_-]{32,})|(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
_SHORTEST_TOKEN = 15  # xoxb- and 10 characters
# account names that identify nobody and are common words: never scrubbed as a user name
GENERIC_ACCOUNTS = frozenset({
    "root", "admin", "administrator", "user", "users", "guest", "nobody", "daemon", "default", "test",
    "ubuntu", "debian", "centos", "fedora", "ec2-user", "runner", "jenkins", "docker", "vagrant",
    "jovyan", "codespace", "www-data", "postgres", "app", "build", "builder", "ci"})
SECRET = "<secret>"


class Scrubber:
    """Replaces identifying strings; built once per Recorder (the patterns are compiled then).

    Rules, in order: URL credentials (removed), tokens that look like credentials (AWS access
    key ids, ``Bearer`` tokens, GitHub/GitLab/Slack/OpenAI-style prefixes: ``<secret>``), the
    home directory (also its real path behind a symbolic link), e-mail and IP addresses, the
    host name and the user name. A user name shorter than 3 characters or generic
    (``GENERIC_ACCOUNTS``: root, ubuntu, ...) is not scrubbed: it identifies nobody, and
    replacing a common word everywhere would garble the record."""

    def __init__(self, home: str | None = None, user: str | None = None, host: str | None = None) -> None:
        home = os.path.expanduser("~") if home is None else home
        users = _user_names() if user is None else [user]
        host = _host_name() if host is None else host
        # (pattern, replacement, a text every match contains, the shortest match): a string
        # without that text, or shorter, skips the pattern, so a plain value like "SC3Pv3"
        # costs a few ``in`` tests, not a regex each
        rules: list[tuple[str, Any, str, int]] = [(_TOKENS, _secret, "", _SHORTEST_TOKEN)]
        for where in _homes(home):
            rules.append((re.escape(where) + r"(?=/|\b|$)", "<home>", where, len(where)))
        rules.append((_USERINFO_OR_EMAIL, _userinfo_or_email, "@", 2))
        rules.append((_IPV4, "<ip>", ".", 7))
        rules.append((_IPV6, _ipv6_or_same, ":", 2))
        names = {host, host.split(".")[0]} if host else set()
        for name in sorted((n for n in names if len(n) >= 2), key=len, reverse=True):
            rules.append((rf"(?<![\w-]){re.escape(name)}(?![\w-])", "<host>", name, len(name)))
        for name in sorted({u for u in users if _is_personal(u)}, key=len, reverse=True):
            rules.append((rf"(?<![\w-]){re.escape(name)}(?![\w-])", "<user>", name, len(name)))
        # a literal beyond ASCII could match ASCII text under IGNORECASE (K, ſ): such a rule always runs
        self.rules = [(re.compile(p, re.IGNORECASE), r, needle.lower() if needle.isascii() else "",
                        shortest if needle.isascii() else 0)
                       for p, r, needle, shortest in rules]
        self._done: dict[str, str] = {}  # text -> scrubbed: short strings, at most 4096 of them

    def text(self, value: str) -> str:
        done = self._done.get(value)
        if done is not None:  # metric names, events, versions and many values recur
            return done
        if len(value) > MAX_RECORD_BYTES:
            raise RecordError(f"a string of {len(value)} characters cannot fit in a record")
        scrubbed = self._scrub(value)
        if len(value) <= 200:
            if len(self._done) >= 4096:
                self._done.clear()
            self._done[value] = scrubbed
        return scrubbed

    def _scrub(self, value: str) -> str:
        ascii_only = value.isascii()  # beyond ASCII, case folding is subtle: run every pattern
        folded = value.lower()
        size = len(value)
        for pattern, replacement, needle, shortest in self.rules:
            if not ascii_only or (size >= shortest and needle in folded):
                changed = pattern.sub(replacement, value)
                if changed != value:
                    value, folded, size = changed, changed.lower(), len(changed)
                    ascii_only = value.isascii()
        return value

    def value(self, value: Any, depth: int = 0) -> Any:
        """Scrub every string in ``value``; other JSON types pass; anything else becomes its type name."""
        if depth > 32:
            raise RecordError("nested deeper than 32 levels")
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(v, depth + 1) for v in value]
        if isinstance(value, os.PathLike):
            return self.text(str(os.fspath(value)))
        # never repr() an unknown object: its text could carry anything
        return f"<unserialisable: {type(value).__name__}>"


def _secret(match: re.Match[str]) -> str:
    return (match.group("bearer") or "") + SECRET


def _userinfo_or_email(match: re.Match[str]) -> str:
    return "" if match.group("userinfo") else "<email>"


def _ipv6_or_same(match: re.Match[str]) -> str:
    """The IPv6 pattern is broad (``a:b:c`` could be a time or a ratio): keep real addresses only."""
    import ipaddress

    text = match.group(0)
    try:
        ipaddress.IPv6Address(text.split("%")[0])
    except ValueError:
        return text
    return "<ip>"


def _user_names() -> list[str]:
    """Who runs this: the account's name (``pwd``), and ``LOGNAME``/``USER`` when they say
    someone else (``su``, ``sudo -E``); each is scrubbed unless generic (``_is_personal``)."""
    names = [os.environ.get(n, "") for n in ("LOGNAME", "USER", "USERNAME")]
    try:
        import pwd

        names.append(pwd.getpwuid(os.getuid()).pw_name)
    except (ImportError, KeyError, OSError):
        pass
    return [n for n in dict.fromkeys(names) if n]


def _is_personal(name: str) -> bool:
    return len(name) >= 3 and name.lower() not in GENERIC_ACCOUNTS


def _homes(home: str) -> list[str]:
    """The home directory as written and, behind a symbolic link, as it really is."""
    if not home or home in ("/", "~"):
        return []
    found = [home.rstrip("/")]
    real = os.path.realpath(home).rstrip("/")
    if real and real != found[0] and real != "/":
        found.append(real)
    return sorted(found, key=len, reverse=True)  # /home/zoe before /home/zo... prefixes of each other


def _host_name() -> str:
    try:
        return os.uname().nodename
    except (AttributeError, OSError):
        return ""


def context() -> dict[str, Any]:
    """Where the record was made: nothing that identifies a person or a machine."""
    import platform

    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = None
    return {
        "os": platform.system(),
        "os_release": platform.release(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
    }


_last_second: tuple[int, str] = (-1, "")  # formatted once per second: strftime is most of the cost


def rfc3339(epoch: float) -> str:
    global _last_second
    second, text = _last_second
    if int(epoch) != second:
        second, text = _last_second = int(epoch), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))
    return f"{text}.{int(epoch % 1 * 1000):03d}Z"


def build(*, record_id: str, vendor: str, product: str, version: str, event: str, category: str,
          metrics: Mapping[str, Any], ctx: Mapping[str, Any], scrubber: Scrubber,
          declared: Iterable[str] | None = None, disabled: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A record ready to serialise; with ``declared`` (a strict manifest), other fields are
    dropped, and so are the ``disabled`` ones (switched off by a downloaded configuration)."""
    if category not in CATEGORIES:
        raise RecordError(f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    clean = scrubber.value(dict(metrics))
    if declared is not None:
        keep = set(declared)
        clean = {k: v for k, v in clean.items() if k in keep}
    if disabled:
        clean = {k: v for k, v in clean.items() if k not in disabled}
    created = timestamp(record_id) or time.time()
    return {
        "schema": SCHEMA,
        "id": record_id,
        "vendor": vendor,
        "product": product,
        "version": scrubber.text(str(version)),
        "event": scrubber.text(str(event)),
        "category": category,
        "created": rfc3339(created),
        "metrics": clean,
        "context": dict(ctx),
    }


def dumps(record: Mapping[str, Any]) -> bytes:
    """The bytes stored on disk (and sent, in the json format); refuses more than 64 KiB."""
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"record is {len(data)} bytes; the limit is {MAX_RECORD_BYTES}")
    return data


class _NotJSON(Exception):
    pass


def _not_json(constant: str) -> Any:
    raise _NotJSON(constant)


_DECODER = json.JSONDecoder(parse_constant=_not_json)  # one for all: json.loads(..., parse_constant) makes one a call


def loads(data: bytes, source: Path | str) -> dict[str, Any]:
    """Parse and validate a stored record; ``RecordError`` names the source and the line."""
    try:
        record = _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordError(f"{source}: not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise RecordError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    except _NotJSON as exc:  # Python's json reads NaN and Infinity; a collector would refuse the batch
        raise RecordError(f"{source}: not valid JSON ({exc.args[0]} is not a JSON number)") from exc
    problem = validate(record)
    if problem:
        raise RecordError(f"{source}: {problem}")
    return record  # type: ignore[no-any-return]


def validate(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        return f"not a telemetry record (missing {', '.join(missing)})"
    if record["schema"] != SCHEMA:
        return f"unknown schema {record['schema']!r}"
    if not isinstance(record["id"], str) or not is_id(record["id"]):
        return "id is not a ULID"
    if not isinstance(record["metrics"], dict):
        return "metrics is not an object"
    return None
