"""``telemetry products``: the catalogue as it stands on this machine.

For each product: whether it is installed (its manifest's ``[detect]``: an executable on
``PATH``, a Python distribution on this interpreter's ``sys.path``, a path that exists; any one
match is enough), and each of its own switches with the state the product would read now:

- ``off``: the switch turns the product's telemetry off (a flag file exists, the variable holds
  a value the product reads as off, the configuration key holds the off value);
- ``on``: the switch is there and does not (the variable is set to another value, the key holds
  anything else);
- ``absent``: nothing is there (the variable is unset, no flag file, no file or no key): the
  product does what it does by default;
- ``unknown``: the configuration file is there but cannot be read.

A switch whose ``versions`` range leaves out the installed version is not listed (nor read): a
note says so (``policy/own/versions.py``).

Detection is ``policy.own.detect`` (distributions: a listing of the ``*.dist-info`` and ``*.egg-info``
directories of ``sys.path``, no ``importlib.metadata``, which costs ~20 ms to import).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.own.detect import installed
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import read


class SwitchState(NamedTuple):
    switch: NativeSwitch
    where: str  # the variable, the file, or "file key"
    state: str  # "off" | "on" | "absent" | "unknown"


class Product(NamedTuple):
    name: str
    description: str
    manifest: str  # where the manifest came from
    installed: bool
    switches: tuple[SwitchState, ...]
    homepage: str = ""
    telemetry_docs: str = ""
    limits: tuple[str, ...] = ()  # what no switch stops
    versions: str = ""  # the range of versions with telemetry ("": all)
    version: str | None = None  # the installed version, when a range needs it and it is known
    version_notes: tuple[str, ...] = ()  # switches left out for the installed version


class Listing(NamedTuple):
    products: tuple[Product, ...]
    errors: tuple[str, ...]  # manifests that could not be read


def state(switch: NativeSwitch, environ: Mapping[str, str]) -> str:
    """What the product reads from its switch now: ``off``, ``on``, ``absent`` or ``unknown``
    (``policy.own.state`` reads it; a value that is neither off nor on is ``on``: it does not stop
    the product)."""
    reading = read(switch, environ)
    if reading.state == "unreadable":
        return "unknown"
    if reading.state == "off":
        return "off"  # a missing key can mean off too (``absent = "off"``)
    return "absent" if reading.value is None else "on"


def listing(gate: Gate, environ: Mapping[str, str] | None = None) -> Listing:
    from telemetry_gate.policy.own.journal import created as made

    env = os.environ if environ is None else environ
    created = made(gate.paths)  # what telemetry-gate wrote ahead is no sign of the product
    products = []
    for name in sorted(gate.catalogue.manifests):
        manifest = gate.catalogue.manifests[name]
        switches = tuple(SwitchState(s, s.where(env), state(s, env)) for s in manifest.native)
        products.append(Product(name, manifest.description, manifest.source, installed(manifest.detect, env, created),
                                switches, manifest.homepage, manifest.telemetry_docs, manifest.limits,
                                manifest.versions, manifest.installed_version, manifest.version_notes))
    errors = tuple(error.message for error in gate.catalogue.errors.values())
    return Listing(tuple(products), errors)


def as_json(result: Listing) -> dict[str, Any]:
    """The documented ``products --json`` shape: add keys, never rename them."""
    return {
        "products": [
            {
                "name": p.name,
                "description": p.description,
                "manifest": p.manifest,
                "installed": p.installed,
                "homepage": p.homepage,
                "telemetry_docs": p.telemetry_docs,
                "limits": list(p.limits),
                "versions": p.versions,
                "version": p.version,
                "version_notes": list(p.version_notes),
                "switches": [
                    {
                        "kind": s.switch.kind,
                        "where": s.where,
                        "scope": s.switch.scope,
                        "facets": list(s.switch.facets),
                        "state": s.state,
                        "covers": list(s.switch.covers) or [p.name],
                        "source": s.switch.source,
                        "note": s.switch.note,
                    }
                    for s in p.switches
                ],
            }
            for p in result.products
        ],
        "errors": list(result.errors),
    }
