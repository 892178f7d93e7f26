"""``enable`` and ``disable``: write the user settings or the system flag files, then
say what actually takes effect (a higher layer may still win)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from telemetry_gate.errors import PermissionDenied, UsageError
from telemetry_gate.fs import SYSTEM_DIR_MODE, ensure_dir
from telemetry_gate.policy import settings
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.layers import Decision
from telemetry_gate.policy.paths import display
from telemetry_gate.vocabulary import FACETS

SYSTEM_FLAG_FOR = {"all": "disable", "upload": "disable_upload", "update": "disable_update"}


@dataclass(frozen=True)
class SwitchResult:
    enabled: bool
    facets: tuple[str, ...]
    product: str | None
    written: tuple[str, ...]  # what was saved, created or removed, for the message
    overruled: tuple[Decision, ...]  # facets whose effective state still differs
    pending: int


def facets_for(facet: str) -> tuple[str, ...]:
    return FACETS if facet == "all" else (facet,)


def switch(gate: Gate, enable: bool, facet: str, product: str | None, system: bool) -> tuple[SwitchResult, Gate]:
    """Apply the change, then reload the policy and report what a higher layer overrules."""
    facets = facets_for(facet)
    if system:
        written = _system(gate, enable, facet, product)
    else:
        settings.update(gate.paths.user_settings, product, {f: enable for f in facets})
        written = (f"{display(gate.paths.user_settings)} {settings.Settings.table_name(product)}",)
    fresh = Gate.open(gate.paths.vendor, gate.policy.environ)
    scopes: list[str | None] = [product] if product else [None, *fresh.known_products()]
    overruled = tuple(
        d for scope in scopes for f in facets
        if (d := fresh.policy.decide(f, scope)).enabled != enable
    )
    pending = fresh.spool.summary(product).pending
    return SwitchResult(enable, facets, product, written, overruled, pending), fresh


def _system(gate: Gate, enable: bool, facet: str, product: str | None) -> tuple[str, ...]:
    if product:
        raise UsageError("--system applies to every product; it cannot be combined with --product")
    if facet not in SYSTEM_FLAG_FOR:
        raise UsageError(
            f"there is no system flag for {facet} alone",
            "use 'all' (the 'disable' flag file), 'upload' or 'update'",
        )
    names: tuple[str, ...] = (SYSTEM_FLAG_FOR[facet],)
    if enable and facet == "all":
        names = tuple(SYSTEM_FLAG_FOR.values())
    paths = [gate.paths.system_flag(n) for n in names]
    done: list[str] = []
    for path in paths:
        try:
            if enable:
                if os.path.lexists(path):
                    os.unlink(path)
                    done.append(f"removed {path}")
            else:
                _make_system_dir(path.parent)
                if not os.path.lexists(path):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    os.close(fd)
                    done.append(f"created {path}")
        except PermissionError as exc:
            raise PermissionDenied(
                f"cannot {'remove' if enable else 'create'} {path}: permission denied",
                "system policy needs an administrator (or TELEMETRY_SYSTEM_DIR for a non-root install)",
            ) from exc
    return tuple(done) or (f"nothing to change in {gate.paths.system_dir}",)


def _make_system_dir(path: Path) -> None:
    # world-readable, writable by its owner only: every user of the machine must be able to
    # see the policy, and none but the administrator change it (parents too, whatever the umask)
    try:
        ensure_dir(path, SYSTEM_DIR_MODE)
    except PermissionDenied as exc:
        raise PermissionDenied(exc.message, exc.hint or "system policy needs an administrator (or "
                               "TELEMETRY_SYSTEM_DIR for a non-root install)") from exc
