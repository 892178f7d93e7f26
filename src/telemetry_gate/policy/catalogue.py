"""Finding product manifests (SPEC 6a): the catalogue a command works with.

Sources, later ones replacing earlier ones of the same product name (a malformed
``<product>.toml`` replaces them too: what the product allows is then unknown):

0. the shipped catalogue: ``telemetry_gate/catalog/<name>.toml`` (package data), read from its
   generated index (``catalog/_index.py``) while a file's CRC-32 still matches;
1. the entry-point group ``telemetry_gate.products`` (the object an entry point names is a
   path to a TOML file, a TOML string, or a dict shaped like the file);
2. ``*.toml`` in the system ``products.d/``;
3. ``*.toml`` in the user ``products.d/``.

A malformed manifest is kept as an ``errors`` entry (file and line) and never stops the
others; commands that need that product's manifest exit 3. What a manifest may say is
``policy/manifests.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.errors import InvalidFileError
from telemetry_gate.fs import read_regular
from telemetry_gate.policy.manifests import SHIPPED, Manifest, build, parse, shipped_index
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.paths import Paths, is_name

ENTRY_POINT_GROUP = "telemetry_gate.products"
UNREADABLE = "telemetry collects and sends nothing while a manifest directory cannot be read"


def _user_flag(path: str | None) -> bool:
    """Whether a flag file is one of the vendor's user flags, ``<config>/<vendor>/telemetry/disable*``
    (Cell Ranger's, read as the user's settings), not a product's own flag elsewhere (whylogs'
    ``~/.whylogs/disable_telemetry`` speaks for whylogs alone)."""
    from telemetry_gate.policy.paths import FLAG_FILES

    parts = (path or "").split("/")
    return len(parts) == 4 and parts[0] == "$XDG_CONFIG_HOME" and parts[2] == "telemetry" and parts[3] in FLAG_FILES


class Unbuilt(NamedTuple):
    """A shipped manifest whose file still matches its index entry, kept as the index's data until
    a command needs it (``discover(lazy=True)``, ``Catalogue.build``). Validated when the index
    was generated and by the catalogue's tests, so building it later finds what building it now would."""

    source: str
    data: dict[str, Any]

    def tables(self) -> list[dict[str, Any]]:
        """Its ``[[native]]`` tables, as written."""
        native = self.data.get("native")
        return [t for t in native if isinstance(t, dict)] if isinstance(native, list) else []

    def variables(self) -> set[str]:
        """Every variable it declares (``[[native]]`` env switches and ``[[product.env]]``),
        whatever versions of the product read it."""
        product = self.data.get("product")
        env = product.get("env") if isinstance(product, dict) else None
        found = {t.get("variable") for t in self.tables() if t.get("kind") == "env"}
        found |= {e.get("name") for e in env if isinstance(e, dict)} if isinstance(env, list) else set()
        return {v for v in found if isinstance(v, str)}

    def covers(self) -> set[str]:
        """The other products its switches name in ``covers``."""
        return {c for t in self.tables() if isinstance(t.get("covers"), list) for c in t["covers"]
                if isinstance(c, str)}


class Catalogue(NamedTuple):
    manifests: dict[str, Manifest]
    errors: dict[str, InvalidFileError]  # keyed by source
    unbuilt: dict[str, Unbuilt] = {}  # discover(lazy=True): shipped manifests not built yet, by product
    order: tuple[str, ...] = ()  # discover(lazy=True): every product, in the order discover() gives them

    def build(self, names: Iterable[str]) -> Catalogue:
        """This catalogue with the manifests of ``names`` built, and of each product whose switches
        cover one of them (``own_switches_only`` and ``host`` read those): for these products, the
        same manifests in the same order as ``discover()`` builds them all."""
        if not self.unbuilt:
            return self
        wanted = set(names)
        while True:
            more = {n for n, u in self.unbuilt.items() if n not in wanted and u.covers() & wanted}
            if not more:
                break
            wanted |= more
        built = {n: build(u.data, u.source, "") for n, u in self.unbuilt.items() if n in wanted}
        manifests = {n: self.manifests.get(n) or built[n] for n in self.order if n in self.manifests or n in built}
        return Catalogue(manifests, self.errors, {n: u for n, u in self.unbuilt.items() if n not in built},
                         self.order)

    def switches(self) -> dict[str, tuple[NativeSwitch, ...]]:
        """Each product's own switches, for the policy (env: rank 4; files: rank 0)."""
        return {name: m.native for name, m in self.manifests.items() if m.native}

    def opt_in(self) -> frozenset[str]:
        """Products whose manifest says ``default = "disabled"``."""
        return frozenset(name for name, m in self.manifests.items() if m.opt_in)

    def own_switches_only(self) -> frozenset[str]:
        """Products with switches of their own, none of them the vendor's user flag files
        (Cell Ranger's ``disable*``, which cover the 10x products): those files do not speak
        for them, so ``disable upload -p cellranger`` cannot turn off StripePy or Angular."""
        switched = {name for name, m in self.manifests.items() if m.native}
        flagged = {covered for name, m in self.manifests.items() for s in m.native
                   if s.kind == "flag-file" and s.scope == "user" and _user_flag(s.path)
                   for covered in (s.covers or (name,))}
        return frozenset(switched - flagged)

    def host(self, product: str) -> str | None:
        """The manifest whose own switches reach ``product`` when it has none of its own (Space
        Ranger reads Cell Ranger's flag files: their ``covers`` name it); ``None`` otherwise."""
        own = self.manifests.get(product)
        if own is not None and own.native:
            return None
        return next((name for name, m in sorted(self.manifests.items())
                     if name != product and any(product in s.covers for s in m.native)), None)

    def named(self) -> set[str]:
        """Every product a manifest names: its own, and each one its switches cover."""
        return set(self.manifests) | {c for m in self.manifests.values() for s in m.native for c in s.covers}

    def broken(self, product: str) -> InvalidFileError | None:
        """The error of the product's manifest file (``<product>.toml``) when it is malformed
        and no valid manifest of that name replaced it, or of a manifest directory that cannot
        be read (it may hold the product's manifest): what the product allows is unknown."""
        for error in self.errors.values():  # a directory that cannot be read may hide any product
            if error.hint == UNREADABLE:
                return error
        if product in self.manifests:
            return None
        for source, error in self.errors.items():
            if os.path.basename(source) == f"{product}.toml":
                return error
        return None

    def require(self, product: str) -> Manifest | None:
        """The product's manifest; raises the manifest's own error if it is malformed."""
        error = self.broken(product)
        if error is not None:
            raise error
        return self.manifests.get(product)


def discover(paths: Paths, entry_points: bool = True, only: str | None = None, lazy: bool = False) -> Catalogue:
    """Every manifest; with ``only``, the shipped catalogue contributes that product's file alone
    (the Recorder needs one product, and parsing the whole catalogue would cost it). ``lazy``: a
    shipped manifest whose file matches its index entry is left ``unbuilt`` (``check`` builds
    the ones it shows or decides, ``Catalogue.build``); the others are built and checked as always."""
    manifests: dict[str, Manifest | Unbuilt] = {}
    errors: dict[str, InvalidFileError] = {}
    _read_dir(SHIPPED, manifests, errors, f"{only}.toml" if only else None, shipped_index(), lazy)
    if entry_points:
        for source, loaded in _from_entry_points():
            _add(manifests, errors, source, loaded)
    for directory in paths.manifest_dirs:
        _read_dir(directory, manifests, errors)
    built = {n: m for n, m in manifests.items() if isinstance(m, Manifest)}
    if not lazy:
        return Catalogue(built, errors)
    return Catalogue(built, errors, {n: m for n, m in manifests.items() if isinstance(m, Unbuilt)}, tuple(manifests))


def shipped_names() -> list[str]:
    """The products of the shipped catalogue, from file names alone."""
    try:
        return sorted(n[:-5] for n in os.listdir(SHIPPED) if n.endswith(".toml"))
    except OSError:
        return []


def catalogue_index() -> dict[str, dict[str, Any]]:
    """What ``catalog/_index.py`` holds: every shipped TOML file, parsed, with its CRC-32."""
    import tomllib
    import zlib

    files = {}
    for name in sorted(n for n in os.listdir(SHIPPED) if n.endswith(".toml")):
        raw = (SHIPPED / name).read_bytes()
        files[name] = {"crc32": zlib.crc32(raw), "data": tomllib.loads(raw.decode("utf-8"))}
    return files


def _read_dir(directory: Path, manifests: dict[str, Manifest | Unbuilt], errors: dict[str, InvalidFileError],
              only: str | None = None, index: Mapping[str, Any] | None = None, lazy: bool = False) -> None:
    import zlib

    try:
        names = [only] if only else sorted(n for n in os.listdir(directory) if n.endswith(".toml"))
    except FileNotFoundError:  # only a missing directory is an empty one
        return
    except OSError as exc:  # unreadable: what its manifests allow is unknown (see ``broken``)
        errors[str(directory)] = InvalidFileError(directory, f"cannot read this manifest directory: "
                                                  f"{exc.strerror}", hint=UNREADABLE)
        return
    base = os.fspath(directory)
    for name in names:
        source = os.path.join(base, name)  # text, not a Path per file: check reads every shipped one
        if only and not os.path.isfile(source):
            return
        try:
            raw = read_regular(source)
            known = index.get(name) if index else None
            if isinstance(known, dict) and known.get("crc32") == zlib.crc32(raw):
                product = known["data"].get("product")
                if lazy and isinstance(product, dict) and product.get("name") == name[:-5] and is_name(name[:-5]):
                    manifests[name[:-5]] = Unbuilt(source, known["data"])
                    continue
                manifest = build(known["data"], source, "")
            else:
                manifest = parse(raw, source)
        except InvalidFileError as exc:
            errors[source] = exc
        except OSError as exc:  # NotRegular too: a FIFO in products.d never hangs a command
            errors[source] = InvalidFileError(Path(source), f"cannot read: {exc.strerror}")
        else:
            manifests[manifest.name] = manifest
            continue
        manifests.pop(name[:-5], None)  # a broken later file replaces an earlier manifest too


def _add(manifests: dict[str, Manifest | Unbuilt], errors: dict[str, InvalidFileError], source: str,
         loaded: Any) -> None:
    if isinstance(loaded, InvalidFileError):
        errors[source] = loaded
        return
    try:
        if isinstance(loaded, Mapping):
            manifest = build(dict(loaded), source, "")
        elif isinstance(loaded, os.PathLike):
            manifest = parse(Path(loaded).read_bytes(), os.fspath(loaded))
        elif isinstance(loaded, str) and "\n" not in loaded and loaded.endswith(".toml"):
            manifest = parse(Path(loaded).read_bytes(), loaded)
        elif isinstance(loaded, str):
            manifest = parse(loaded.encode(), source)
        else:
            raise InvalidFileError(Path(source), "entry point must name a dict, a TOML string or a path")
    except InvalidFileError as exc:
        errors[source] = exc
        return
    except OSError as exc:
        errors[source] = InvalidFileError(Path(source), f"cannot read: {exc.strerror}")
        return
    manifests[manifest.name] = manifest


def group_declared() -> bool:
    """Whether any installed distribution declares our entry-point group.

    A plain search of each ``entry_points.txt``: importing importlib.metadata costs ~20 ms
    (it pulls in the email package), which ``check`` pays only when a product uses the group.
    """
    from telemetry_gate.policy.own.versions import distribution_dirs

    needle = f"[{ENTRY_POINT_GROUP}]".encode()
    for directory in distribution_dirs(tuple(sys.path)):
        try:
            with open(os.path.join(directory, "entry_points.txt"), "rb") as file:
                if needle in file.read():
                    return True
        except OSError:
            continue
    return False


def _from_entry_points() -> list[tuple[str, Any]]:
    if not group_declared():
        return []
    from importlib.metadata import entry_points

    found: list[tuple[str, Any]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ep.name} = {ep.value}"
        try:
            found.append((source, ep.load()))
        except Exception as exc:  # a broken product must not break the others
            found.append((source, InvalidFileError(Path(source), f"cannot load: {type(exc).__name__}: {exc}")))
    return found
