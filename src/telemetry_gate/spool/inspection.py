"""What ``telemetry inspect`` shows: a page of pending records, one record in full, record
files outside the spool, and a product's catalogue of fields.

Listing reads names only (ids sort by time); a record file is opened only when it is shown.
A malformed file is passed over with a warning that names it, never a crash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.errors import InvalidFileError, UsageError
from telemetry_gate.policy.catalogue import Catalogue
from telemetry_gate.policy.manifests import Manifest
from telemetry_gate.policy.paths import Paths
from telemetry_gate.policy.status import stray_note
from telemetry_gate.spool import records
from telemetry_gate.spool.ids import is_id
from telemetry_gate.spool.store import MAX_RECORD_BYTES, Entry, Spool

_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")  # the characters of a ULID


class Shown(NamedTuple):
    entry: Entry
    record: dict[str, Any]
    size: int


class Page(NamedTuple):
    rows: list[Shown]
    total: int
    total_bytes: int
    more: int
    warnings: list[str]
    corrupt: list[Entry]


def _folder(spool: Spool, base: Path | None) -> str:
    return "rejected/" if base == spool.rejected else "pending/"


def select(spool: Spool, product: str | None, since: float | None, base: Path | None = None,
           strays: list[str] | None = None) -> list[Entry]:
    """Entries newest first, filtered by product and age, from names alone; what is not a
    record is added to ``strays``."""
    entries = spool.entries(product, base, strays)
    if since is not None:
        cutoff = time.time() - since
        entries = [e for e in entries if e.created >= cutoff]
    return entries


def load(entry: Entry) -> tuple[dict[str, Any], bytes]:
    """The record and its exact stored bytes."""
    data = Spool.read(entry.file)
    return records.loads(data, entry.file), data


def load_one(entry: Entry) -> tuple[dict[str, Any], bytes]:
    """``load`` for ``inspect ID``: a malformed record file is an invalid file (exit 3)."""
    try:
        return load(entry)
    except records.RecordError as exc:
        raise InvalidFileError(entry.path, str(exc).removeprefix(entry.file).lstrip(": "),
                               hint="'telemetry inspect --quarantine' moves it aside") from exc


def page(spool: Spool, product: str | None, since: float | None, limit: int | None,
         base: Path | None = None) -> Page:
    strays: list[str] = []
    entries = select(spool, product, since, base, strays)
    total_bytes = sum(e.size() for e in entries)
    rows: list[Shown] = []
    warnings: list[str] = [stray_note(sorted(strays), _folder(spool, base))] if strays else []
    corrupt: list[Entry] = []
    index = 0
    while index < len(entries) and (limit is None or len(rows) < limit):
        entry = entries[index]
        index += 1
        try:
            record, data = load(entry)
        except FileNotFoundError:
            continue  # sent or purged meanwhile
        except (records.RecordError, OSError) as exc:
            warnings.append(f"skipped {exc}" if isinstance(exc, records.RecordError) else
                            f"skipped {entry.file}: {exc.strerror}")
            corrupt.append(entry)
            continue
        rows.append(Shown(entry, record, len(data)))
    return Page(rows, len(entries), total_bytes, len(entries) - index, warnings, corrupt)


def stream(spool: Spool, product: str | None, since: float | None, limit: int | None,
           warnings: list[str], base: Path | None = None) -> Iterator[bytes]:
    """The stored bytes of each valid record, newest first, one at a time (for ``--json``)."""
    count = 0
    strays: list[str] = []
    chosen = select(spool, product, since, base, strays)
    if strays:
        warnings.append(stray_note(sorted(strays), _folder(spool, base)))
    for entry in chosen:
        if limit is not None and count >= limit:
            return
        try:
            data = Spool.read(entry.file)
            records.loads(data, entry.file)
        except FileNotFoundError:
            continue
        except (records.RecordError, OSError) as exc:
            warnings.append(f"skipped {exc}")
            continue
        count += 1
        yield data


def find(spool: Spool, prefix: str, product: str | None = None) -> Entry:
    """The one pending (or rejected) record whose id starts with ``prefix``."""
    wanted = prefix.strip().upper()
    if not wanted:
        raise UsageError("give a record id (or a unique prefix of one)")
    if len(wanted) > 26 or not all(c in _CROCKFORD for c in wanted):
        raise UsageError(f"{prefix!r} is not a record id (nor an existing file)",
                         "a record id is 26 characters of 0-9 and A-Z; 'telemetry inspect' lists them")
    matches = [e for base in (spool.pending, spool.rejected)
               for e in spool.entries(product, base) if e.id.startswith(wanted)]
    if not matches:
        raise UsageError(f"no pending record has an id starting with {prefix!r}",
                         "'telemetry inspect' lists them")
    if len(matches) > 1:
        shown = ", ".join(e.id for e in matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise UsageError(f"{len(matches)} records have ids starting with {prefix!r}: {shown}",
                         "give more characters of the id")
    return matches[0]


def from_path(path: Path) -> tuple[list[tuple[str, dict[str, Any], bytes]], list[str]]:
    """Records in a record file, a ``.jsonl`` file, or a folder (a run's ``extras/``)."""
    found: list[tuple[str, dict[str, Any], bytes]] = []
    warnings: list[str] = []
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if _looks_like_records(p))
        if not files:
            warnings.append(f"no telemetry records in {path}")
    elif path.exists():
        files = [path]
    else:
        raise UsageError(f"{path}: no such record, file or folder")
    for file in files:
        if file.suffix == ".jsonl":
            try:
                for number, line in _lines(file):
                    if line is None:
                        warnings.append(f"skipped {file}:{number}: over the {MAX_RECORD_BYTES}-byte record limit")
                        continue
                    if not line.strip():
                        continue
                    try:
                        found.append((f"{file}:{number}", records.loads(line, f"{file}:{number}"), line))
                    except records.RecordError as exc:
                        warnings.append(f"skipped {exc}")
            except OSError as exc:
                warnings.append(f"skipped {file}: {exc.strerror}")
            continue
        try:
            raw = _record_file(file)
            found.append((str(file), records.loads(raw, file), raw))
        except OSError as exc:
            warnings.append(f"skipped {file}: {exc.strerror}")
        except records.RecordError as exc:
            if len(files) == 1:
                raise InvalidFileError(file, str(exc).removeprefix(f"{file}").lstrip(": ")) from exc
            warnings.append(f"skipped {exc}")
    found.sort(key=lambda item: item[1]["id"], reverse=True)
    return found, warnings


def _record_file(file: Path) -> bytes:
    """A record file's bytes; ``RecordError`` for one over the record limit, which is not read."""
    with open(file, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        raw = stream.read(MAX_RECORD_BYTES + 1) if size <= MAX_RECORD_BYTES else b""
    if size > MAX_RECORD_BYTES or len(raw) > MAX_RECORD_BYTES:
        raise records.RecordError(f"{file}: {max(size, len(raw))} bytes, over the {MAX_RECORD_BYTES}-byte record limit")
    return raw


def _lines(file: Path) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) of a ``.jsonl`` file, never holding more than one record's worth: a line
    over the record limit is passed over (``None``) without being kept."""
    with open(file, "rb") as stream:
        number = 0
        while line := stream.readline(MAX_RECORD_BYTES + 2):
            number += 1
            if len(line) == MAX_RECORD_BYTES + 2 and not line.endswith(b"\n"):  # cut off: too long
                while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                yield number, None
                continue
            body = line.rstrip(b"\r\n")
            yield number, body if len(body) <= MAX_RECORD_BYTES else None


def _looks_like_records(path: Path) -> bool:
    name = path.name
    if not path.is_file() or path.is_symlink():
        return False
    return (name.startswith("telemetry") and name.endswith((".json", ".jsonl"))) or (
        name.endswith(".json") and is_id(name[:-5]))


def is_record_path(argument: str) -> bool:
    """``inspect X``: a path if it looks like one or exists; else an id prefix."""
    return os.sep in argument or argument.endswith((".json", ".jsonl")) or os.path.exists(argument)


def catalogue(found: Catalogue, paths: Paths, product: str | None) -> list[Manifest]:
    """Every manifest, or the product's (a malformed one raises its own error, exit 3)."""
    if product is None:
        return sorted(found.manifests.values())
    manifest = found.require(product)
    if manifest is None:
        raise UsageError(f"no manifest describes {product!r}",
                         f"manifests live in {' and '.join(str(d) for d in paths.manifest_dirs)}")
    return [manifest]


def catalogue_warnings(gate: Any) -> list[str]:
    """What ``inspect --catalog`` warns about: manifests that are not used (each with its file
    and line). A settings file with a key telemetry does not read never gets this far (exit 3)."""
    return [f"manifest not used: {error.message}" for error in gate.catalogue.errors.values()]


def switched_off(gate: Any, manifests: list[Manifest]) -> dict[str, frozenset[str]]:
    """Per product, the declared fields its downloaded configuration switches off."""
    from telemetry_gate.policy.configuration import disabled_fields, version_for

    return {m.name: disabled_fields(gate.paths, m.name, version_for(gate.spool, m)) for m in manifests}


def rejected(spool: Spool, product: str | None, since: float | None, limit: int | None,
             warnings: list[str]) -> list[dict[str, Any]]:
    """Rejected records, newest first, each with ``rejected_status``, ``rejected_answer``,
    ``rejected_at`` and ``rejected_endpoint`` from its batch's answer."""
    from telemetry_gate.spool.outcomes import answers

    found = page(spool, product, since, limit, spool.rejected)
    warnings.extend(found.warnings)
    known: dict[str, dict[str, dict[str, Any]]] = {}
    out = []
    for shown in found.rows:
        if shown.entry.product not in known:
            known[shown.entry.product] = answers(spool, shown.entry.product)
        info = known[shown.entry.product].get(shown.entry.id, {})
        out.append({**shown.record, "rejected_status": info.get("status"),
                    "rejected_answer": info.get("answer"), "rejected_at": info.get("rejected_at"),
                    "rejected_endpoint": info.get("endpoint")})
    return out
