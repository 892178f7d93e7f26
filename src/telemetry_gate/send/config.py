"""The telemetry configuration a product downloads (``telemetry update``), and what it turns off.

Downloaded from the manifest's ``config_url`` to the cache path Cell Ranger documents,
``$XDG_CACHE_HOME/<vendor>/telemetry/<product>/<product>-<version>``, byte for byte, after
checking that it is a JSON object (at most 1 MiB). telemetry-gate reads one key of it::

    {"disabled_fields": ["reads_total", "chemistry"]}

the metrics the vendor no longer wants: the library drops them from every record it makes
and ``inspect --catalog`` marks them. Any other key is kept for the product to read. A cached
file that cannot be read switches nothing off (a download only ever removes fields).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import ConfigError, UnsafePath, UpdateIncomplete, UsageError
from telemetry_gate.fs import atomic_write
from telemetry_gate.policy.configuration import MAX_BYTES, parse, version_for
from telemetry_gate.policy.paths import Paths

if TYPE_CHECKING:
    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.send.upload import Client

DEFAULT_TIMEOUT = 60.0


class Updated(NamedTuple):
    product: str
    state: str  # "updated", "unchanged", "disabled", "skipped", "failed", "invalid"
    detail: str
    path: Path | None = None
    turned_off: tuple[str, ...] = ()  # fields the download switches off that the cache did not
    turned_on: tuple[str, ...] = ()  # fields the cache switched off that the download no longer does
    changed: tuple[str, ...] = ()  # other top-level keys whose value differs (the product reads them)
    dry_run: bool = False  # downloaded and compared, the cache left as it was

    def as_json(self) -> dict[str, object]:
        return {"product": self.product, "state": self.state, "detail": self.detail,
                "path": None if self.path is None else str(self.path), "turns_off": list(self.turned_off),
                "turns_on": list(self.turned_on), "other_keys_changed": list(self.changed),
                "dry_run": self.dry_run}


def difference(cached: dict[str, Any] | None, downloaded: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    """(turned off, turned back on, other keys changed) from the cached to the downloaded
    configuration; a cache that is missing or unreadable switches nothing off."""
    before = set((cached or {}).get("disabled_fields", ()))
    after = set(downloaded.get("disabled_fields", ()))
    keys = (set(cached or {}) | set(downloaded)) - {"disabled_fields"}
    changed = sorted(k for k in keys if (cached or {}).get(k) != downloaded.get(k)) if cached is not None \
        else sorted(k for k in downloaded if k != "disabled_fields")
    return tuple(sorted(after - before)), tuple(sorted(before - after)), tuple(changed)


def update(gate: Gate, product: str | None = None, *, http: Client | None = None,
           timeout: float = DEFAULT_TIMEOUT, dry_run: bool = False) -> list[Updated]:
    """Download each product's configuration unless its update facet is disabled, and say
    what it changes against the cached one; ``dry_run`` compares and leaves the cache alone."""
    from telemetry_gate.send import upload

    if product is not None:
        manifest = gate.catalogue.require(product)
        if manifest is None:
            raise UsageError(f"no manifest describes {product!r}", "its config_url comes from the manifest")
        manifests = [manifest]
    else:
        manifests = [m for _, m in sorted(gate.catalogue.manifests.items()) if m.config_url]
    deadline = upload.Deadline(timeout)
    done: list[Updated] = []
    clients = upload.Clients(http)
    try:
        for manifest in manifests:
            name = manifest.name
            decision = gate.decide("update", name)  # the product's own switch too, as check shows
            if not decision.enabled:
                done.append(Updated(name, "disabled", decision.origin_with_layer))
                continue
            if not manifest.config_url:
                done.append(Updated(name, "skipped", f"{manifest.source} has no config_url"))
                continue
            version = version_for(gate.spool, manifest)
            if version is None:
                done.append(Updated(name, "skipped", f"no version is known: set version in {manifest.source}"))
                continue
            try:
                gate.paths.config_cache(name, version)  # a path that could leave the cache: no download
                upload.check_url(manifest.config_url, manifest.source)
            except (ConfigError, UnsafePath) as exc:
                done.append(Updated(name, "invalid", exc.message))
                continue
            answer, body = upload.fetch(manifest.config_url, client=clients.for_url(manifest.config_url),
                                        deadline=deadline, limit=MAX_BYTES)
            if answer.outcome != "accepted":
                status = f"HTTP {answer.status}: " if answer.status and not answer.detail.startswith("HTTP") else ""
                done.append(Updated(name, "failed", f"{manifest.config_url}: {status}{answer.detail[:200]}"))
                continue
            try:
                downloaded = parse(body, manifest.config_url)
            except ConfigError as exc:
                done.append(Updated(name, "invalid", exc.message))
                continue
            done.append(_store(gate.paths, name, version, body, downloaded, dry_run))
    finally:
        clients.close()
    return done


def _store(paths: Paths, product: str, version: str, body: bytes, downloaded: dict[str, Any],
           dry_run: bool) -> Updated:
    """Compare with the cache, then (unless ``dry_run``) replace it."""
    path = paths.config_cache(product, version)
    cached: dict[str, Any] | None = None
    try:
        old = path.read_bytes()
    except OSError:
        old = None
    if old == body:
        return Updated(product, "unchanged", "", path, dry_run=dry_run)
    if old is not None:
        try:
            cached = parse(old, "the cache")
        except ConfigError:
            cached = None  # unreadable: it switched nothing off (disabled_fields)
    off, on, changed = difference(cached, downloaded)
    if not dry_run:
        atomic_write(path, body)
    return Updated(product, "updated", "", path, off, on, changed, dry_run)


def raise_for_outcome(results: list[Updated]) -> None:
    """Exit 3 for a configuration that is not valid, 6 for a download that did not complete."""
    invalid = [u for u in results if u.state == "invalid"]
    if invalid:
        raise ConfigError(invalid[0].detail)
    failed = [u for u in results if u.state == "failed"]
    if failed:
        raise UpdateIncomplete(f"could not download the configuration of {', '.join(u.product for u in failed)}")
