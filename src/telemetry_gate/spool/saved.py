"""Events a product saved itself, outside our spool: what ``inspect --saved`` shows, ``purge
--saved`` deletes, ``check`` counts and ``send --saved`` releases (SPEC 6c).

Where they are is the product's manifest's ``[saved]`` table (``policy/held.py``). For Cell Ranger
(every 10x product: its ``telemetry`` helper is shared), facts read from its code
(github.com/10XGenomics/cellranger, Cell Ranger 10.0.0, commit ae7fcd1):

- where: ``os.UserCacheDir()/tenx/telemetry`` (``$XDG_CACHE_HOME``, else ``~/.cache``), then
  ``<product>/<version>/`` - ``lib/go/telemetry/settings/cache.go:16-45`` (CacheDir, ProductCacheDir);
- the name: ``os.CreateTemp(dir, name + "_" + <RFC 3339 UTC time with ':' as '_'> + "*.json")``,
  so ``os_stats_2026-11-25T15_37_50Z1640219483.json`` - ``settings/send.go:198-240``
  (saveEventCache). CreateTemp makes the file, then the bytes are written: a reader can meet a
  file being written, which is not yet whole JSON and is skipped;
- kept 30 days *by the time in the name* (not the file's mtime): ``eventFileDateRe``,
  ``maxEventTTL`` and ``cleanOldEvents`` (``send.go:242-284``), run on a folder after the product
  saves an event in it (``send.go:193-195``);
- a second copy with the same name in the pipestance: ``<pipestance>/extras/telemetry/``
  (``send.go:160-163``, ``saveEventInPipestance`` at ``send.go:286-337``);
- the content: ``json.Marshal`` of ``event.Event`` (``lib/go/telemetry/event/event.go:19-28``),
  marshalled once and both saved and uploaded (``send.go:65-89``).

Listing reads names only; a file is opened only when it is shown or sent, and then at most
64 KiB of it: a malformed, huge or unreadable file is reported and skipped. Nothing here follows
a symbolic link, and only files a manifest declares are ever deleted (by ``purge --saved``).
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.fs import read_bounded
from telemetry_gate.policy.held import Saved
from telemetry_gate.policy.paths import is_version

MAX_BYTES = 64 * 1024
EXTRAS = ("extras", "telemetry")  # <pipestance>/extras/telemetry/
WARN_DAYS = 3  # inspect warns about held events the product deletes within this many days
# eventFileDateRe: <event>_<YYYY-MM-DDTHH_MM_SSZ><CreateTemp's random digits>.json. Patterns as
# text: ``re`` compiles one on first use, so ``check`` pays nothing while no file is saved
_TIME = r"(?P<event>[^/]*)_(?P<time>\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}Z)[^/]*\.json"
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class SavedFile(NamedTuple):
    """A saved event known from its path alone."""

    file: str  # the path as text
    event: str  # from the name
    saved: float  # epoch seconds from the name (else the file's mtime)
    product: str  # from the path; "" (a pipestance folder) until read
    version: str
    owner: str = ""  # the manifest whose [saved] declares it; "" until read

    def size(self) -> int:
        try:
            return os.lstat(self.file).st_size
        except OSError:
            return 0


class SavedEvent(NamedTuple):
    file: SavedFile
    event: dict[str, Any]
    data: bytes  # exactly as on disk: what ``send --saved`` posts

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.data).hexdigest()


class Summary(NamedTuple):
    """What the default ``inspect`` says about the saved events in one line."""

    events: int
    products: list[str]
    root: Path


class SavedError(Exception):
    """A saved file that cannot be shown; the message names it."""


def waiting(decls: Sequence[Saved], environ: Mapping[str, str], state_dir: Path,
            product: str | None = None) -> dict[str, int]:
    """How many saved events of each product telemetry-gate has not released, from names: a
    file is read (for its digest) only when the state knows its path or name. ``check`` asks."""
    files = scan(decls, environ, product)
    if not files:
        return {}
    from telemetry_gate.spool import released
    state = released.load(state_dir)
    counts: dict[str, int] = {}
    for saved in files:
        if state.knows(saved.file):
            try:
                digest = SavedEvent(saved, {}, read(saved)[1]).digest
            except SavedError:
                digest = ""
            if state.find(saved.file, digest) is not None:
                continue
        counts[saved.product] = counts.get(saved.product, 0) + 1
    return counts


def declarations(catalogue: Any) -> list[Saved]:
    """Every manifest's ``[saved]`` table, by product name."""
    return [m.saved for _, m in sorted(catalogue.manifests.items()) if m.saved is not None]


def spec_for(decls: Sequence[Saved], product: str) -> Saved | None:
    """The declaration covering ``product``'s events (the first, by manifest name)."""
    return next((d for d in decls if product in d.products), None)


def root(paths: Any) -> Path:
    """``$XDG_CACHE_HOME/<vendor>/telemetry``: for vendor tenx, exactly where the 10x products save."""
    return Path(paths.cache_dir)


def name_time(name: str) -> float | None:
    """The UTC time in a saved event's file name, or None when the name holds none."""
    match = re.fullmatch(_TIME, name)
    if not match:
        return None
    import calendar  # only when a name is read: check counts without it

    text = match.group("time")
    try:
        return float(calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                                      int(text[14:16]), int(text[17:19]), 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def _entries(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError:
        return []


def _dirs(path: str) -> list[os.DirEntry[str]]:
    """Sub-directories of ``path`` (symbolic links are not followed), sorted by name."""
    return [e for e in _entries(path) if e.is_dir(follow_symlinks=False)]


def _matches(name: str, pattern: str) -> bool:
    if not any(c in pattern for c in "*?["):
        return name == pattern
    from fnmatch import fnmatchcase

    return fnmatchcase(name, pattern)


def _saved_file(entry: os.DirEntry[str], product: str, version: str, owner: str) -> SavedFile | None:
    saved = name_time(entry.name)
    if saved is None:
        try:
            saved = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            return None
    match = re.fullmatch(_TIME, entry.name)
    event = match.group("event") if match else entry.name.removesuffix(".json")
    return SavedFile(entry.path, event, saved, product, version, owner)


def _walk(base: str, parts: list[str], product: str, version: str, owner: str) -> Iterator[SavedFile]:
    """The files under ``base`` matching the glob's remaining ``parts``."""
    part, rest = parts[0], parts[1:]
    if not rest:
        for entry in _entries(base):
            if entry.is_file(follow_symlinks=False) and _matches(entry.name, part):
                found = _saved_file(entry, product, version, owner)
                if found is not None:
                    yield found
        return
    if part == "{version}":
        for entry in _dirs(base):
            if is_version(entry.name):
                yield from _walk(entry.path, rest, product, entry.name, owner)
    elif any(c in part for c in "*?["):
        for entry in _dirs(base):
            if _matches(entry.name, part):
                yield from _walk(entry.path, rest, product, version, owner)
    else:
        yield from _walk(os.path.join(base, part), rest, product, version, owner)


def _glob(spec: Saved, glob: str, product: str, environ: Mapping[str, str]) -> Iterator[SavedFile]:
    from telemetry_gate.policy.own.places import expand_text

    head, _, rest = glob.partition("/")
    base = expand_text(head, environ)
    parts = [product if p == "{product}" else p for p in rest.split("/")]
    return _walk(base, parts, product, "", spec.owner)  # without {product}: the one product declared


def scan(decls: Sequence[Saved], environ: Mapping[str, str], product: str | None = None,
         since: float | None = None, older_than: float | None = None) -> list[SavedFile]:
    """The saved events the manifests declare, newest first, from names alone."""
    found: dict[str, SavedFile] = {}
    for spec in decls:
        for name in spec.products:
            if product is not None and name != product:
                continue
            for glob in spec.paths:
                for saved in _glob(spec, glob, name, environ):
                    found.setdefault(saved.file, saved)
    return _newest_first(found.values(), since, older_than)


def _newest_first(files: Iterable[SavedFile], since: float | None, older_than: float | None) -> list[SavedFile]:
    now = time.time()
    chosen = [f for f in files if (since is None or f.saved >= now - since)
              and (older_than is None or f.saved < now - older_than)]
    chosen.sort(key=lambda f: (f.saved, f.file), reverse=True)
    return chosen


def summary(decls: Sequence[Saved], environ: Mapping[str, str], cache: Path, product: str | None = None,
            since: float | None = None) -> Summary:
    files = scan(decls, environ, product, since)
    return Summary(len(files), sorted({f.product for f in files}), cache)


def is_saved_name(decls: Sequence[Saved], name: str) -> bool:
    """Whether ``name`` is a saved event's file name by any declaration's pattern."""
    return any(_matches(name, glob.rpartition("/")[2]) for d in decls for glob in d.paths)


def in_path(decls: Sequence[Saved], environ: Mapping[str, str], path: Path) -> list[SavedFile] | None:
    """Saved events at ``path``: the file itself, or in a pipestance folder (``extras/telemetry/``),
    its ``extras/`` folder, that ``telemetry/`` folder, or a declared place or a folder of one
    (the cache, one product's folder of it). None when ``path`` is a file whose name is not a
    saved event's."""
    if not path.is_dir():
        if not path.exists() or not is_saved_name(decls, path.name):
            return None
        match = re.fullmatch(_TIME, path.name)
        saved = name_time(path.name)
        if saved is None:
            saved = path.lstat().st_mtime
        return [SavedFile(str(path), match.group("event") if match else path.stem, saved, "", "")]
    found: dict[str, SavedFile] = {}
    for folder in (path / EXTRAS[0] / EXTRAS[1], path / EXTRAS[1], path):
        for entry in _entries(str(folder)) if folder.is_dir() else []:
            if entry.is_file(follow_symlinks=False) and is_saved_name(decls, entry.name):
                saved_file = _saved_file(entry, "", "", "")
                if saved_file is not None:
                    found.setdefault(os.path.realpath(saved_file.file), saved_file)
    if not found:  # a declared place, or a folder holding one (the cache, a product's folder)
        top = os.path.realpath(path)
        return [f for f in scan(decls, environ)
                if os.path.commonpath([top, os.path.realpath(f.file)]) == top]
    return _newest_first(found.values(), None, None)


def read(saved: SavedFile) -> tuple[dict[str, Any], bytes]:
    """The event and its bytes; at most 64 KiB is read. Raises SavedError naming the file."""
    import json

    try:
        fd = os.open(saved.file, _READ_FLAGS)
    except OSError as exc:
        raise SavedError(f"{saved.file}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SavedError(f"{saved.file}: not a regular file")
        if info.st_size > MAX_BYTES:
            raise SavedError(f"{saved.file}: {info.st_size} bytes, more than 64 KiB; not read")
        data = read_bounded(fd, MAX_BYTES)
    except OSError as exc:
        raise SavedError(f"{saved.file}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise SavedError(f"{saved.file}: more than 64 KiB; not read")
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SavedError(f"{saved.file}: not whole JSON (being written, or damaged: {exc})") from exc
    problem = _problem(event)
    if problem:
        raise SavedError(f"{saved.file}: {problem}")
    return event, data


def _problem(event: Any) -> str | None:
    """What makes ``event`` not a saved event of the shape ``event.Event`` marshals to."""
    if not isinstance(event, dict):
        return "not a JSON object"
    for key in ("name", "product", "version"):
        if not isinstance(event.get(key), str):
            return f"no {key!r} string"
    if not isinstance(event.get("properties"), dict | None):
        return "'properties' is not an object"
    config_version = event.get("config_version")
    if config_version is not None and (not isinstance(config_version, int) or isinstance(config_version, bool)):
        return "'config_version' is not a number"
    return None


def load_one(decls: Sequence[Saved], saved: SavedFile) -> SavedEvent:
    """Read ``saved`` and tie it to the declaration of the product it names. Raises SavedError."""
    event, data = read(saved)
    product, version = event["product"], event["version"]
    if saved.product and product != saved.product:
        raise SavedError(f"{saved.file}: names product {product!r} but lies in {saved.product}'s folder")
    if saved.version and version != saved.version:
        raise SavedError(f"{saved.file}: names version {version!r} but lies in the {saved.version} folder")
    spec = spec_for(decls, product)
    if spec is None:
        raise SavedError(f"{saved.file}: no manifest declares the saved events of {product!r}")
    return SavedEvent(saved._replace(product=product, version=version, owner=spec.owner), event, data)


def load(decls: Sequence[Saved], files: list[SavedFile], limit: int | None,
         warnings: list[str]) -> list[SavedEvent]:
    """Read ``files`` in order until ``limit`` events could be read; skipped files become warnings."""
    shown: list[SavedEvent] = []
    for saved in files:
        if limit is not None and len(shown) >= limit:
            break
        try:
            shown.append(load_one(decls, saved))
        except SavedError as exc:
            warnings.append(f"skipped {exc}")
    return shown


def deleted_in(spec: Saved | None, saved: SavedFile, now: float | None = None) -> float | None:
    """Seconds until the product deletes ``saved`` (``kept_days`` after the time in its name), if it does."""
    if spec is None or not spec.kept_days or name_time(os.path.basename(saved.file)) is None:
        return None
    return saved.saved + spec.kept_days * 86400 - (time.time() if now is None else now)


def delete(files: list[SavedFile], dry_run: bool) -> tuple[int, int]:
    """Delete (or, with ``dry_run``, only count) ``files``; empty version folders go too."""
    count = size = 0
    folders: set[str] = set()
    for saved in files:
        length = saved.size()
        if not dry_run:
            try:
                os.unlink(saved.file)
            except FileNotFoundError:
                continue  # the product's own clean-up was faster
            folders.add(os.path.dirname(saved.file))
        count += 1
        size += length
    for folder in folders:
        try:
            os.rmdir(folder)  # only when empty: the product makes it again
        except OSError:
            pass
    return count, size
