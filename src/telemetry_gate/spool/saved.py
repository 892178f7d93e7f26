"""Events a product saved itself, outside our spool: what ``inspect --saved`` shows and
``purge --saved`` deletes.

The real Cell Ranger (every 10x product: its ``telemetry`` helper is shared) keeps a copy of
each event it collects, whether or not it uploads it. Facts read from its code
(github.com/10XGenomics/cellranger, Cell Ranger 10.0.0, commit ae7fcd1):

- where: ``os.UserCacheDir()/tenx/telemetry`` (``$XDG_CACHE_HOME``, else ``~/.cache``), then
  ``<product>/<version>/`` - ``lib/go/telemetry/settings/cache.go:16-28`` (CacheDir) and
  ``:30-45`` (ProductCacheDir);
- the name: ``os.CreateTemp(dir, name + "_" + <RFC 3339 UTC time with ':' as '_'> + "*.json")``,
  so ``os_stats_2026-11-25T15_37_50Z1640219483.json`` - ``settings/send.go:198-240``
  (saveEventCache); read back with ``eventFileDateRe`` (``send.go:242``);
- kept 30 days: ``maxEventTTL`` and ``cleanOldEvents`` (``send.go:257-284``), run after a save;
- a second copy with the same name in the pipestance: ``<pipestance>/extras/telemetry/``
  (``send.go:160-163``, ``saveEventInPipestance`` at ``send.go:286-337``);
- the content: ``json.Marshal`` of ``event.Event`` (``lib/go/telemetry/event/event.go:19-28``):
  ``properties``, ``group_hash`` (bytes, so base64), ``name``, ``product``, ``version``,
  ``internal_user`` (omitted when empty), ``config_version``, ``replicas`` (omitted when 0).

Listing reads names only; a file is opened only when it is shown, and then at most 64 KiB of
it: a malformed, huge or unreadable file is reported and skipped. Nothing here follows a
symbolic link, and only names matching the product's own pattern are ever deleted.
"""

from __future__ import annotations

import calendar
import os
import re
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

MAX_BYTES = 64 * 1024
KEPT_DAYS = 30  # maxEventTTL in the product's own code
EXTRAS = ("extras", "telemetry")  # <pipestance>/extras/telemetry/
# eventFileDateRe, anchored: <event>_<YYYY-MM-DDTHH_MM_SSZ><CreateTemp's random digits>.json
_NAME = re.compile(r"(?P<event>[^/]*)_(?P<time>\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}Z)[^/]*\.json")
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class SavedFile(NamedTuple):
    """A saved event known from its path alone."""

    file: str  # the path as text
    event: str  # from the name
    saved: float  # epoch seconds from the name (else the file's mtime)
    product: str  # from the directory in the cache; "" in a pipestance folder until read
    version: str

    def size(self) -> int:
        try:
            return os.lstat(self.file).st_size
        except OSError:
            return 0


class SavedEvent(NamedTuple):
    file: SavedFile
    event: dict[str, Any]
    size: int


class Summary(NamedTuple):
    """What the default ``inspect`` says about the saved events in one line."""

    events: int
    products: list[str]
    root: Path


class SavedError(Exception):
    """A saved file that cannot be shown; the message names it."""


def root(paths: Any) -> Path:
    """``$XDG_CACHE_HOME/<vendor>/telemetry``: for vendor tenx, exactly where the 10x products save."""
    return Path(paths.cache_dir)


def name_time(name: str) -> float | None:
    """The UTC time in a saved event's file name, or None when the name is not one."""
    match = _NAME.fullmatch(name)
    if not match:
        return None
    text = match.group("time")
    try:
        return float(calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                                      int(text[14:16]), int(text[17:19]), 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def is_saved_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _dirs(path: Path | str) -> list[os.DirEntry[str]]:
    """Sub-directories of ``path`` (symbolic links are not followed), sorted by name."""
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)
    except OSError:
        return []


def _files(folder: str, product: str, version: str) -> Iterable[SavedFile]:
    try:
        with os.scandir(folder) as entries:
            found = [e for e in entries if e.is_file(follow_symlinks=False)]
    except OSError:
        return
    for entry in found:
        match = _NAME.fullmatch(entry.name)
        if match is None:
            continue
        saved = name_time(entry.name)
        if saved is None:
            try:
                saved = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
        yield SavedFile(entry.path, match.group("event"), saved, product, version)


def _newest_first(files: Iterable[SavedFile], since: float | None, older_than: float | None) -> list[SavedFile]:
    now = time.time()
    chosen = [f for f in files if (since is None or f.saved >= now - since)
              and (older_than is None or f.saved < now - older_than)]
    chosen.sort(key=lambda f: (f.saved, f.file), reverse=True)
    return chosen


def scan(cache: Path, product: str | None = None, since: float | None = None,
         older_than: float | None = None) -> list[SavedFile]:
    """Saved events under ``cache/<product>/<version>/``, newest first, from names alone."""
    products = [e for e in _dirs(cache) if product is None or e.name == product]
    found: list[SavedFile] = []
    for entry in products:
        for version in _dirs(entry.path):
            found.extend(_files(version.path, entry.name, version.name))
    return _newest_first(found, since, older_than)


def summary(cache: Path, product: str | None = None, since: float | None = None) -> Summary:
    files = scan(cache, product, since)
    return Summary(len(files), sorted({f.product for f in files}), cache)


def in_path(path: Path) -> list[SavedFile] | None:
    """Saved events at ``path``: the file itself, or in a pipestance folder (``extras/telemetry/``),
    its ``extras/`` folder, that ``telemetry/`` folder, or the cache, one product's folder of it, or
    one ``<product>/<version>/`` folder. None when ``path`` is a file whose name is not a saved event's."""
    if not path.is_dir():
        if not path.exists() or not is_saved_name(path.name):
            return None
        saved = name_time(path.name) or 0.0
        match = _NAME.fullmatch(path.name)
        return [SavedFile(str(path), match.group("event") if match else "", saved, "", "")]
    found: dict[str, SavedFile] = {}
    for folder in (path / EXTRAS[0] / EXTRAS[1], path / EXTRAS[1], path):
        if not folder.is_dir():
            continue
        for saved_file in _files(str(folder), "", ""):
            found.setdefault(os.path.realpath(saved_file.file), saved_file)
    if not found:  # the cache itself (<product>/<version>/) or one product's folder of it (<version>/)
        inside = scan(path) or [f for v in _dirs(path) for f in _files(v.path, path.name, v.name)]
        return _newest_first(inside, None, None)
    return _newest_first(found.values(), None, None)


def read(saved: SavedFile) -> tuple[dict[str, Any], int]:
    """The event and its size; at most 64 KiB is read. Raises SavedError naming the file."""
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
        data = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise SavedError(f"{saved.file}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise SavedError(f"{saved.file}: more than 64 KiB; not read")
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SavedError(f"{saved.file}: not JSON ({exc})") from exc
    problem = _problem(event)
    if problem:
        raise SavedError(f"{saved.file}: {problem}")
    return event, len(data)


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


def load(files: list[SavedFile], limit: int | None, warnings: list[str]) -> list[SavedEvent]:
    """Read ``files`` in order until ``limit`` events could be read; skipped files become warnings."""
    shown: list[SavedEvent] = []
    for saved in files:
        if limit is not None and len(shown) >= limit:
            break
        try:
            event, size = read(saved)
        except SavedError as exc:
            warnings.append(f"skipped {exc}")
            continue
        if not saved.product:
            saved = saved._replace(product=event["product"], version=event["version"])
        shown.append(SavedEvent(saved, event, size))
    return shown


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
