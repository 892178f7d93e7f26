"""``enable``/``disable`` reach the products' own files (flag-file and config-file switches;
``env`` switches are carried by the generated environment files, ``native/environment.py``).

Which switches: those of the scope asked for (user, or system with ``--system``) of every
product the command affects - the one named with ``--product``, else every manifest from a
``products.d`` and every shipped product that is present (installed, or one of its switches
already exists). Which way, for each product:

- ``disable``: for the facets our policy now disables, switch off the fewest switches that cover
  exactly those facets (widest exact fit first); a facet no exact switch covers takes the
  narrowest switch that contains it - wider than asked, and said so.
- ``enable``: an "off" switch touching the facets asked for is switched on only when every
  facet it stops is enabled for every product it covers (a shared switch: Cell Ranger's files
  govern every 10x pipeline); when narrower switches can keep the still-disabled facets off,
  they replace it; otherwise it stays, and the reason is said. Ambiguity never turns anything on.

``policy`` answers our decision (never the native layer). Nothing is written with ``dry_run``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.errors import TelemetryError, UnsafePath
from telemetry_gate.native import edit, flags
from telemetry_gate.policy.own import files
from telemetry_gate.policy.own.model import FACET_NAMES, NativeSwitch
from telemetry_gate.policy.own.powers import own_file
from telemetry_gate.policy.own.state import Reading, read, show_value, stopping

if TYPE_CHECKING:
    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.policy.manifests import Manifest

Disabled = Callable[[str, str], "str | None"]
"""``disabled(product, facet)``: the origin that disables it under our policy, or None."""


class Change(NamedTuple):
    """One switch written (or, with ``dry_run``, that would be)."""

    product: str
    kind: str
    where: str
    action: str  # "create" | "remove" | "set"
    value: str | None  # what a config-file key is set to
    covers: tuple[str, ...]
    done: bool  # False: a dry run
    ahead: bool = False  # the product is not found here: its file is written for when it runs

    def as_json(self) -> dict[str, Any]:
        return {"product": self.product, "kind": self.kind, "where": self.where, "action": self.action,
                "value": self.value, "covers": list(self.covers), "done": self.done, "ahead": self.ahead}

    @property
    def line(self) -> str:
        verb = {"create": "created", "remove": "removed", "set": "set"}[self.action]
        if not self.done:
            verb = f"would {self.action}"
        what = f"{self.where}: {self.value}" if self.action == "set" else self.where
        others = [p for p in self.covers if p != self.product]
        also = f" (the same switch for {', '.join(others)})" if others else ""
        ahead = " (written ahead: not found on this machine, it starts off wherever it runs)" if self.ahead else ""
        return f"{self.product}: {verb} {what}{also}{ahead}"


class Applied(NamedTuple):
    changes: tuple[Change, ...]
    notes: tuple[str, ...]  # kept and why, wider than asked, carried by the environment
    errors: tuple[TelemetryError, ...]


def affected(gate: Gate, product: str | None, system: bool = False,
             created: frozenset[str] | None = None) -> list[Manifest]:
    """The product named; else every manifest with switches of its own that is not a shipped
    one absent from this machine. ``system``: every one (an administrator's PATH, under sudo,
    rarely shows the tools users run, and system-wide switches are the administrator's to set).
    ``created``: ``journal.created`` when the caller has it (the journal is read once)."""
    from telemetry_gate.policy.own import journal
    from telemetry_gate.policy.own.detect import present

    manifests = gate.catalogue.manifests
    if product is not None:
        found = manifests.get(product)
        return [found] if found is not None and found.native else []
    environ = gate.policy.environ
    made = journal.created(gate.paths) if created is None else created
    return [m for _, m in sorted(manifests.items())
            if m.native and (system or not m.shipped or present(m, environ, made))]


def ahead(gate: Gate, created: frozenset[str]) -> list[Manifest]:
    """Catalogued products not found here whose own switch is a configuration file in the user's
    home: ``telemetry disable`` (everything) writes it ahead, so the product starts off when it runs
    from an environment this shell cannot see (PipeRider usually lives in a project's own venv)."""
    from telemetry_gate.policy.own.detect import present

    environ = gate.policy.environ
    return [m for _, m in sorted(gate.catalogue.manifests.items())
            if m.shipped and not present(m, environ, created)
            and any(s.kind == "config-file" and s.scope == "user" for s in m.native)]


def apply(gate: Gate, *, enable: bool, facets: Sequence[str], product: str | None, system: bool,
          disabled: Disabled, dry_run: bool, skip_paths: Iterable[str] = ()) -> Applied:
    """Bring the affected products' own file switches in line with ``disabled``."""
    from telemetry_gate.vocabulary import FACETS

    environ = gate.policy.environ
    scope = "system" if system else "user"
    skip = set(skip_paths)
    seen: set[tuple[str, str]] = set()
    changes: list[Change] = []
    notes: list[str] = []
    errors: list[TelemetryError] = []
    from telemetry_gate.policy.own.journal import created as made

    created = made(gate.paths)  # read once: what telemetry-gate wrote is no sign of a product
    targets = [(m, False) for m in affected(gate, product, system, created)]
    if not system and product is None and (enable or set(facets) == set(FACETS)):
        targets += [(m, True) for m in ahead(gate, created)]  # enable: undoes only what the journal says we wrote
    for manifest, written_ahead in targets:
        files = [s for s in manifest.native if s.scope == scope and s.kind != "env" and (s.kind, s.path) not in seen
                 and (not written_ahead or s.kind == "config-file")]
        settled = [s for s in files if _settled(s, environ, enable, notes)]
        switches = [s for s in settled if str(_path(s, environ)) not in skip]
        skipped = [s for s in settled if s not in switches]  # the file this command itself writes
        for switch in list(switches):  # narrow powers, again with this vendor's real directories
            problem = own_file(str(_path(switch, environ)), gate.paths, _shipped(manifest, switch))
            if problem:
                switches.remove(switch)
                errors.append(UnsafePath(f"{manifest.name}: refusing {problem}", f"fix {manifest.source}"))
        seen.update((s.kind, s.path) for s in switches)
        readings = {s: read(s, environ) for s in switches}
        if enable:
            to_off, to_on = _enable(manifest.name, switches, readings, facets, disabled, notes)
            to_on = [t for t in to_on if _ours_to_undo(gate, readings[t], system, notes)]
            undo = [r for s in switches if set(s.facets) & set(facets)
                    and not any(disabled(p, f) for p in s.covers for f in s.facets)
                    for r in _inactive(gate, s, environ, system) if _ours_to_undo(gate, r, system, notes)]
        else:
            undo = []
            # a flag file this command itself writes (the system disable_upload) is the product's switch too
            ours = {f: s.where(environ) for s in skipped for f in s.facets if disabled(manifest.name, f)}
            for facet, where in ours.items():
                notes.append(f"{manifest.name}: {facet} stops: it reads {where} itself")
            to_off, to_on = _disable(manifest, switches, readings, facets, disabled, scope, notes, set(ours),
                                     _carrier_file(gate, system))
        pending = [(readings[s], True) for s in to_off] + [(readings[s], False) for s in to_on]
        for reading, off in pending + [(r, False) for r in undo]:
            try:
                changes.extend(c._replace(ahead=written_ahead)
                               for c in _write(gate, manifest.name, reading, off, system, dry_run))
            except TelemetryError as exc:
                errors.append(exc)
    return Applied(tuple(changes), tuple(notes), tuple(errors))


def _shipped(manifest: Manifest, switch: NativeSwitch) -> bool:
    """Whether the shipped catalogue declares this switch's place for this product."""
    from telemetry_gate.policy.manifests import shipped_places

    return manifest.shipped or (switch.kind, switch.path) in shipped_places(manifest.name)


def _path(switch: NativeSwitch, environ: Any) -> Any:
    return switch.file(environ)  # ``_settled`` said it resolves


def _settled(switch: NativeSwitch, environ: Any, enable: bool, notes: list[str]) -> bool:
    """Whether the switch's file is known: always, but for the active configuration's file, which
    must resolve and, to be written off, be one the product has made (``active.py``), and for a file
    a variable moves elsewhere (``moved_by``)."""
    if switch.active is None and not switch.moved_by:
        return True
    from telemetry_gate.policy.own.active import Unresolved

    try:
        path, name, origin = switch.place(environ)
    except Unresolved as exc:
        notes.append(f"{switch.product}: not written: {exc}")
        return False
    if origin == "default" and not enable:
        notes.append(f"{switch.product}: {switch.where(environ, path)} not written: {switch.product} has no active "
                     "configuration yet and would replace that file when it makes one; its variable covers new "
                     "shells (run it once, then 'telemetry disable' again)")
        return False
    if origin and not enable and not os.path.lexists(path):  # a name it never made (a typo in the variable)
        notes.append(f"{switch.product}: {switch.where(environ, path)} not written: {switch.product} has no "
                     f"configuration named {name}, and making one would stop it from creating it; its variable "
                     "covers new shells")
        return False
    return True


def _inactive(gate: Gate, switch: NativeSwitch, environ: Any, system: bool) -> list[Reading]:
    """The other named configurations' files of an active-configuration switch that the journal
    says telemetry-gate turned off (gcloud: ``disable`` wrote config_work, then the user activated
    another configuration): ``enable`` undoes those too, each read as if it were the active one."""
    if switch.active is None or not switch.active.variable:
        return []
    from telemetry_gate.policy.own import journal
    from telemetry_gate.policy.own.active import TOKEN, Unresolved
    from telemetry_gate.policy.own.places import expand

    marker = "telemetry-gate-active-name"
    head, _, tail = str(expand(switch.path.replace(TOKEN, marker), environ)).partition(marker)
    try:
        current = str(switch.file(environ))
    except Unresolved:
        current = ""
    found = []
    for entry in journal.load(gate.paths, system).values():
        file = entry.get("file")
        if entry.get("key") != switch.key or not isinstance(file, str) or file == current \
                or len(file) <= len(head) + len(tail) or not file.startswith(head) or not file.endswith(tail):
            continue
        reading = read(switch, {**environ, switch.active.variable: file[len(head):len(file) - len(tail)]})
        if reading.path is not None and str(reading.path) == file and (reading.off or reading.outranked):
            found.append(reading)
    return found


def _carrier_file(gate: Gate, system: bool) -> str:
    """The generated file that exports the products' env switches: the one a new shell reads."""
    from telemetry_gate.native import environment

    paths = gate.paths
    return f"{environment.profile_d(paths)} (every login shell)" if system else \
        f"{environment.user_sh(paths)} (new shells, after 'telemetry shell-init')"


def _cover(wanted: set[str], candidates: Sequence[NativeSwitch], done: set[str]) -> list[NativeSwitch]:
    """The fewest candidates (each within ``wanted``) that cover ``wanted`` beyond ``done``."""
    chosen = []
    covered = set(done)
    for switch in sorted(candidates, key=lambda s: -len(s.facets)):
        if set(switch.facets) <= wanted and set(switch.facets) - covered:
            chosen.append(switch)
            covered |= set(switch.facets)
    return chosen if wanted <= covered else []


def _disable(manifest: Manifest, switches: list[NativeSwitch], readings: dict[NativeSwitch, Reading],
             facets: Sequence[str], disabled: Disabled, scope: str, notes: list[str],
             done: set[str], carrier_file: str) -> tuple[list[NativeSwitch], list[NativeSwitch]]:
    name = manifest.name
    wanted = {f for f in facets if disabled(name, f)}
    known = [readings[s] for s in switches]
    covered = ({f for f in FACET_NAMES if stopping(f, known)} | done) & wanted  # parts: only all together
    to_off: list[NativeSwitch] = []
    for switch in sorted(switches, key=lambda s: (bool(s.part), -len(s.facets))):  # a whole switch first
        if not readings[switch].off and set(switch.facets) <= wanted and set(switch.facets) - covered:
            to_off.append(switch)
            to_off.extend([t for t in switches if switch.part and t.part and t not in to_off  # every other part
                           and not readings[t].off and set(t.facets) & set(switch.facets)])
            covered |= set(switch.facets)
    for facet in [f for f in FACET_NAMES if f in wanted - covered]:
        wider = sorted((s for s in switches if facet in s.facets), key=lambda s: len(s.facets))
        if wider:
            switch = wider[0]
            to_off.append(switch)
            covered |= set(switch.facets)
            beyond = [f for f in switch.facets if f not in wanted]
            notes.append(f"{name}: {readings[switch].where} also stops {', '.join(beyond)}: "
                         f"{name} has no narrower switch of its own for {facet}")
            continue
        carriers = [f"{s.variable}={s.off}" for s in manifest.native if s.kind == "env" and facet in s.facets
                    and s.scope == scope]
        if carriers and switches:
            notes.append(f"{name}: no {scope} file switches {facet} off; {carriers[0]} does, "
                         f"exported by {carrier_file}")
        elif scope == "system" and not any(s.scope == "system" or s.kind == "env" for s in manifest.native) \
                and facet == next(f for f in FACET_NAMES if f in wanted - covered):
            # the profile.d file carries every env switch; a product with file switches only has none
            where = ", ".join(sorted(s.path for s in manifest.native))
            notes.append(f"{name}: has no system-wide switch of its own; each user's "
                         f"'telemetry disable' sets {where}")
    return to_off, []


def _enable(name: str, switches: list[NativeSwitch], readings: dict[NativeSwitch, Reading],
            facets: Sequence[str], disabled: Disabled,
            notes: list[str]) -> tuple[list[NativeSwitch], list[NativeSwitch]]:
    to_off: list[NativeSwitch] = []
    to_on: list[NativeSwitch] = []
    for switch in switches:
        reading = readings[switch]
        if not reading.off or not set(switch.facets) & set(facets):
            continue
        blockers = [(p, f, origin) for p in switch.covers for f in switch.facets
                    if (origin := disabled(p, f)) is not None]
        if not blockers:
            to_on.append(switch)
            continue
        blocked = {f for _, f, _ in blockers}
        narrower = [t for t in switches if t is not switch and set(t.covers) == set(switch.covers)]
        done = {f for t in narrower if readings[t].off and set(t.facets) <= blocked for f in t.facets}
        replacement = _cover(blocked, [t for t in narrower if not readings[t].off], done)
        if replacement or blocked <= done:
            to_off.extend(replacement)
            to_on.append(switch)
            kept = ", ".join(f for f in FACET_NAMES if f in blocked)
            notes.append(f"{name}: {reading.where} replaced by narrower switches: {kept} stays off")
            continue
        product, facet, origin = blockers[0]
        others = sorted({p for p, _, _ in blockers if p != name})
        if others:
            notes.append(f"{name}: kept {reading.where}: it also switches off {', '.join(others)}, "
                         f"not enabled ({product} {facet}: {origin}); 'telemetry enable' enables every product")
        else:
            notes.append(f"{name}: kept {reading.where}: {facet} stays disabled ({origin})")
    return to_off, to_on


def _ours_to_undo(gate: Gate, reading: Reading, system: bool, notes: list[str]) -> bool:
    """Whether ``enable`` may turn this switch back on: a file in telemetry-gate's own namespace
    (Cell Ranger's flags, as ``cellranger telemetry enable`` removes them), or a change the journal
    says we made and the file still holds. An opt-out the user made inside the product is kept."""
    from telemetry_gate.policy.own import journal

    switch = reading.switch
    if gate.policy.in_namespace(switch):
        return True
    assert reading.path is not None
    found = journal.entry(gate.paths, system, reading.path, switch.key)
    if found is not None and (switch.kind == "flag-file" or show_value(found.get("after")) == reading.value):
        return True
    product = switch.product
    notes.append(f"{product}: kept {reading.where}"
                 + (f": {reading.value}" if reading.value is not None and switch.kind == "config-file" else "")
                 + f" - set in {product} itself, not by telemetry-gate; change it there to turn it back on")
    return False


def _write(gate: Gate, product: str, reading: Reading, off: bool, system: bool, dry_run: bool) -> list[Change]:
    from telemetry_gate.policy.own import journal

    switch = reading.switch
    assert reading.path is not None
    mine = not gate.policy.in_namespace(switch)  # another product's file: journal what we change
    if switch.kind == "flag-file":
        if off == reading.off:
            return []
        if not dry_run:  # another product's flag is removed only when it is an empty regular file
            root = files.root_of(switch.path, reading.path)
            if off:
                flags.create_flag(reading.path, system, root, shared=not mine)
            else:
                flags.remove_flag(reading.path, shared=not mine, root=root)
            if mine:
                if off:
                    journal.record(gate.paths, system, reading.path, "", journal.ABSENT, "created")
                else:
                    journal.forget(gate.paths, system, reading.path, "")
        return [Change(product, switch.kind, reading.where, "create" if off else "remove", None,
                       switch.covers, not dry_run)]
    if reading.state == "unreadable":
        from telemetry_gate.errors import InvalidFileError

        raise InvalidFileError(reading.path, f"{reading.problem or 'cannot be read'}; left as it is")
    value = switch.off if off else switch.on
    if not off and mine:  # undo ours: the value the user had before we first wrote (absent: on)
        found = journal.entry(gate.paths, system, reading.path, switch.key)
        before = found.get("before") if found is not None else None
        if isinstance(before, str | bool | int) and not isinstance(before, float):
            value = before
    assert value is not None
    if not dry_run:
        before_value = _current(reading) if off and mine else None
        edit.set_key(reading.path, switch, value, system)
        if mine:
            if off:
                journal.record(gate.paths, system, reading.path, switch.key, before_value, value)
            else:
                journal.forget(gate.paths, system, reading.path, switch.key)
    return [Change(product, switch.kind, reading.where, "set", show_value(value), switch.covers, not dry_run)]


def _current(reading: Reading) -> Any:
    """The key's value as the file holds it now (typed), ``None`` when absent or unreadable."""
    from telemetry_gate.policy.own.state import Unreadable, load_key

    assert reading.path is not None
    try:
        found, value = load_key(reading.path, reading.switch)
    except (OSError, Unreadable):
        return None
    return value if found else None
