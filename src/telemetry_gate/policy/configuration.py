"""The telemetry configuration a product downloaded (``telemetry update``) as the library and
``inspect`` read it from the cache: which fields it switches off. Reading only; downloading and
replacing it is ``send/config.py``'s. Kept apart so the Recorder's path never imports ``send/``.
"""

from __future__ import annotations

import json
from typing import Any

from telemetry_gate.errors import ConfigError, UnsafePath
from telemetry_gate.policy.manifests import Manifest
from telemetry_gate.policy.paths import Paths, is_version
from telemetry_gate.spool.store import Spool

MAX_BYTES = 1 << 20


def parse(data: bytes, source: str) -> dict[str, Any]:
    """A downloaded configuration, validated; ``ConfigError`` says what is wrong with it."""
    if len(data) > MAX_BYTES:
        raise ConfigError(f"the configuration from {source} is larger than {MAX_BYTES} bytes")
    try:
        config = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"the configuration from {source} is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration from {source} is not a JSON object")
    fields = config.get("disabled_fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"disabled_fields in the configuration from {source} must be a list of names")
    return config


def disabled_fields(paths: Paths, product: str, version: str | None) -> frozenset[str]:
    """The metrics the cached configuration of ``product`` ``version`` switches off."""
    if not version:
        return frozenset()
    try:
        with open(paths.config_cache(product, version), "rb") as file:
            config = parse(file.read(MAX_BYTES + 1), "the cache")
    except (OSError, ConfigError, UnsafePath):
        return frozenset()
    return frozenset(config.get("disabled_fields", ()))


def version_for(spool: Spool, manifest: Manifest) -> str | None:
    """The manifest's installed version, else the version of the newest pending record."""
    if manifest.version:
        return manifest.version
    for entry in spool.entries(manifest.name)[:20]:
        try:
            record = json.loads(Spool.read(entry.path))
            version = str(record["version"])
            if is_version(version):  # a record file is data: its version may not name a path
                return version
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None
