"""``enable`` and ``disable``: write the user settings or the system flag files, then the
products' own switches (``native/apply.py``, and the generated environment files), then say
what actually takes effect (a higher layer may still win). ``dry_run`` writes nothing and
says what would change, judged against the settings as they would be."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from telemetry_gate.errors import PermissionDenied, SpoolUnreadable, TelemetryError, UsageError
from telemetry_gate.fs import SYSTEM_DIR_MODE, check_dir, ensure_dir, locked
from telemetry_gate.policy import settings
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.layers import FLAG_FACETS, Decision
from telemetry_gate.policy.paths import FLAG_FILES, Paths, display
from telemetry_gate.vocabulary import FACETS

if TYPE_CHECKING:
    from telemetry_gate.native.apply import Change

SYSTEM_FLAG_FOR = {"all": "disable", "upload": "disable_upload", "update": "disable_update"}
LOCK_NAME = ".switch.lock"  # in the user's config directory, beside the settings it guards
LOCK_WAIT = 30.0  # seconds: a switch takes well under one; a holder that long is stuck
SHELL_INIT_WAIT = 3.0  # shell-init may run as a shell starts: it never hangs it for long


@dataclass(frozen=True)
class SwitchResult:
    enabled: bool
    facets: tuple[str, ...]
    product: str | None
    written: tuple[str, ...]  # what was saved, created or removed, for the message
    overruled: tuple[Decision, ...]  # facets whose effective state still differs
    pending: int
    native: tuple[Change, ...] = ()  # the products' own switches written (or, dry run, to write)
    native_notes: tuple[str, ...] = ()  # kept and why, wider than asked
    environment: tuple[str, ...] = ()  # what the generated environment files changed
    errors: tuple[TelemetryError, ...] = ()  # switches that could not be written (settings are saved)
    dry_run: bool = False


def facets_for(facet: str) -> tuple[str, ...]:
    return FACETS if facet == "all" else (facet,)


def switch(gate: Gate, enable: bool, facet: str, product: str | None, system: bool,
           dry_run: bool = False) -> tuple[SwitchResult, Gate]:
    """Apply the change, then reload the policy and report what a higher layer overrules."""
    facets = facets_for(facet)
    table = f"{display(gate.paths.user_settings)} {settings.Settings.table_name(product)}"
    if not dry_run:
        _check_places(gate, system)
    if system:
        written = _system(gate, enable, facet, product, dry_run)
    elif dry_run:
        written = (f"would save {table}",)
    else:
        settings.update(gate.paths.user_settings, product, {f: enable for f in facets})
        written = (table,)
    fresh = _simulated(gate, enable, facets, product) if dry_run and not system else \
        Gate.open(gate.paths.vendor, gate.policy.environ)
    native = _native(fresh, enable, facet, facets, product, system, dry_run)
    scopes: list[str | None] = [product] if product else [None, *fresh.known_products()]
    overruled = tuple(
        d for scope in scopes for f in facets
        if (d := fresh.policy.decide(f, scope)).enabled != enable
    )
    try:
        pending = fresh.spool.summary(product).pending
    except SpoolUnreadable:  # the switch is saved; how many records wait is only a courtesy here
        pending = 0
    return SwitchResult(enable, facets, product, written, overruled, pending, *native, dry_run=dry_run), fresh


def known(gate: Gate) -> list[str]:
    """The names ``--product`` may take: every product catalogued (or covered by a catalogued
    switch, as spaceranger by Cell Ranger's), installed, recorded in the spool or configured."""
    return sorted(gate.catalogue.named() | set(gate.known_products()))


def check_product(gate: Gate, product: str) -> None:
    """``UsageError`` (did you mean ...?) for a name that is none of ``known``: a typo
    (``stripepyy``) would otherwise be saved, and stop nothing."""
    names = known(gate)
    if product in names:
        return
    broken = gate.catalogue.broken(product)
    if broken is not None:  # its manifest is malformed: say where, not "unknown"
        raise broken
    import difflib

    close = difflib.get_close_matches(product, names, n=1)
    guess = f"did you mean {close[0]}? " if close else "'telemetry products' lists the catalogue; "
    raise UsageError(f"unknown product {product!r}: no product catalogued, installed, recorded or configured "
                     "has that name; nothing was changed", f"{guess}--force saves it all the same")


def _check_places(gate: Gate, system: bool) -> None:
    """Every directory of ours this switch writes in (settings, generated environment files) is
    usable, before the first write: a link that may not be followed or a directory that cannot
    be written stops the command with nothing half done. (A history that cannot be written is
    only a warning: it never undoes the change.)"""
    from telemetry_gate.native import environment as envfiles

    places = [p.parent for p in envfiles.targets(gate.paths, system)]
    if not system:
        places.append(gate.paths.user_settings.parent)
    for place in dict.fromkeys(places):
        try:
            check_dir(place)
        except PermissionDenied as exc:
            hint = "system policy needs an administrator (or TELEMETRY_SYSTEM_DIR for a non-root install)"
            raise PermissionDenied(f"{exc.message}; nothing was changed",
                                   exc.hint or (hint if system else None)) from exc


def _native(fresh: Gate, enable: bool, facet: str, facets: tuple[str, ...], product: str | None, system: bool,
            dry_run: bool) -> tuple[tuple[Change, ...], tuple[str, ...], tuple[str, ...], tuple[TelemetryError, ...]]:
    """The products' own file switches, then the generated environment files."""
    from telemetry_gate.native import apply

    disabled: Callable[[str, str], str | None]
    if system:
        after = _system_flags_after(fresh, enable, facet, dry_run)
        disabled = partial(_system_disabled, fresh, after)
        # the flag files this command itself creates or removes are said once, by _system
        touched = [SYSTEM_FLAG_FOR.get(facet)] if not enable else \
            (list(SYSTEM_FLAG_FOR.values()) if facet == "all" else [SYSTEM_FLAG_FOR.get(facet)])
        skip = [str(fresh.paths.system_flag(n)) for n in touched if n]
    else:
        disabled = partial(_user_disabled, fresh)
        skip = []
    target, reach, notes = product, disabled, []
    host = fresh.catalogue.host(product) if product is not None and not system else None
    if product is not None and host is not None:  # -p spaceranger: Cell Ranger's switches are its own
        target, reach = host, partial(_hosted, disabled, host, product)
        notes.append(_hosted_note(fresh, host, product))
    applied = apply.apply(fresh, enable=enable, facets=facets, product=target, system=system,
                          disabled=reach, dry_run=dry_run, skip_paths=skip)
    errors = list(applied.errors)
    environment: list[str] = []
    from telemetry_gate.native import environment as envfiles  # the generated environment files

    try:
        environment = envfiles.sync(fresh, system=system, dry_run=dry_run)
    except TelemetryError as exc:
        errors.append(exc)
    return applied.changes, (*notes, *applied.notes), tuple(environment), tuple(errors)


def _hosted(disabled: Callable[[str, str], str | None], host: str, product: str, name: str,
            wanted: str) -> str | None:
    """``disabled`` when ``host``'s switches speak for ``product`` too: the host's own state, or
    (off wins) the product's. The other products a shared switch covers still keep it off."""
    return disabled(name, wanted) or (disabled(product, wanted) if name == host else None)


def _hosted_note(gate: Gate, host: str, product: str) -> str:
    reached = dict.fromkeys(c for s in gate.catalogue.manifests[host].native if product in s.covers for c in s.covers)
    others = [p for p in reached if p != product]
    also = f", which reach {', '.join(others)} as well" if others else ""
    return f"{product} has no switch of its own: it reads {host}'s{also}"


def _user_disabled(fresh: Gate, name: str, wanted: str) -> str | None:
    decision = fresh.policy.decide(wanted, name, own=False)  # what the product's switch must follow
    return None if decision.enabled else decision.origin_with_layer


def _system_disabled(fresh: Gate, after: list[str], _name: str, wanted: str) -> str | None:
    return next((str(fresh.paths.system_flag(n)) for n in after if wanted in FLAG_FACETS[n]), None)


def _simulated(gate: Gate, enable: bool, facets: tuple[str, ...], product: str | None) -> Gate:
    """The gate as it would be after saving the settings: nothing is written."""
    import copy

    policy = copy.copy(gate.policy)
    current = policy.user_settings
    data = copy.deepcopy(current.data) if current is not None else {}
    if product is None:
        table = data.setdefault("telemetry", {})
    else:
        table = data.setdefault("products", {}).setdefault(product, {})
    table.update({f: enable for f in facets})
    policy.user_settings = settings.Settings(gate.paths.user_settings, data)
    return gate._replace(policy=policy)


def _system_flags_after(gate: Gate, enable: bool, facet: str, dry_run: bool) -> list[str]:
    present = [n for n in FLAG_FILES if os.path.lexists(gate.paths.system_flag(n))]
    if not dry_run or facet not in SYSTEM_FLAG_FOR:
        return present
    if enable:
        gone = set(SYSTEM_FLAG_FOR.values()) if facet == "all" else {SYSTEM_FLAG_FOR[facet]}
        return [n for n in present if n not in gone]
    return sorted(set(present) | {SYSTEM_FLAG_FOR[facet]})


def _system(gate: Gate, enable: bool, facet: str, product: str | None, dry_run: bool = False) -> tuple[str, ...]:
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
        if dry_run:
            if enable == os.path.lexists(path):
                done.append(f"would {'remove' if enable else 'create'} {path}")
            continue
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


def switch_and_record(gate: Gate, enable: bool, facet: str, product: str | None,
                      system: bool, dry_run: bool = False, force: bool = False) -> tuple[SwitchResult, list[str]]:
    """``enable``/``disable``, then one history line: the effective states before and after
    (none for a dry run, which changes nothing). A ``product`` nothing here knows is refused
    (``check_product``) unless ``force``.

    The whole read-modify-write (settings, the products' own switches, the generated
    environment files, the history) holds the user's switch lock: two commands at once take
    turns, each reading what the other wrote (12 parallel ``disable -p P`` keep all 12), and
    the files agree with the settings whichever comes last. The gate is read again inside it."""
    if product is not None and not force:  # a typo is refused before anything, the lock file included
        check_product(gate, product)
    if dry_run:  # reads only: no lock, nothing created
        return switch(gate, enable, facet, product, system, dry_run)[0], []
    with locked(lock_file(gate.paths), LOCK_WAIT, "another telemetry enable or disable"):
        return _switch_and_record(Gate.open(gate.paths.vendor, gate.policy.environ), enable, facet, product, system)


def sync_environment(gate: Gate) -> list[str]:
    """``shell-init``: the generated environment files brought up to date under the switch lock,
    from the settings read inside it (files made from the settings before a ``disable`` running
    meanwhile would undo what it wrote). ``Busy`` after a short wait."""
    from telemetry_gate.native import environment

    with locked(lock_file(gate.paths), SHELL_INIT_WAIT, "a telemetry enable or disable"):
        return environment.sync(Gate.open(gate.paths.vendor, gate.policy.environ), system=False, dry_run=False)


def lock_file(paths: Paths) -> Path:
    """The lock every ``enable``/``disable`` of this user holds while it writes."""
    return paths.config_dir / LOCK_NAME


def _switch_and_record(gate: Gate, enable: bool, facet: str, product: str | None,
                       system: bool) -> tuple[SwitchResult, list[str]]:
    from telemetry_gate.policy import history

    facets = facets_for(facet)
    before = history.states(gate, facets, product)
    result, fresh = switch(gate, enable, facet, product, system)
    line = history.entry(result, facet, system, before, history.states(fresh, facets, product))
    return result, history.append(gate.paths, line, system)
