"""What ``check`` says about a product's own switches: the native layer and drift.

The *native layer* sits beside SPEC 4's layers: the product reads its own switch, so a switch
that is off is the effective state of every facet it stops, whatever our layers say (its
origin is the switch: a file, ``file key: value``, ``VAR=value``). A switch that is on
overrules nothing: our decision stands.

*Drift*: our decision and the product's own switches disagree on a facet - we disable it but
no switch of the product stops it (the product still does it), or a switch stops it while we
enable it. Each product with drift gets one line with the fix. A switch that is off because
it is the narrowest the product has for a facet we disable (wider than asked) agrees.
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.policy.layers import Decision, Say, shown
from telemetry_gate.policy.own.model import FACET_NAMES, NativeSwitch
from telemetry_gate.policy.own.state import Reading, read

if TYPE_CHECKING:
    from telemetry_gate.policy.manifests import Manifest

LAYER = "product's own switch"


class NativeState(NamedTuple):
    reading: Reading
    agrees: bool

    def as_json(self) -> dict[str, Any]:
        """``check --json`` per switch: add keys, never rename them."""
        switch = self.reading.switch
        return {"kind": switch.kind, "where": self.reading.where, "value": self.reading.value,
                "effect": self.reading.state, "agrees": self.agrees, "facets": list(switch.facets),
                "scope": switch.scope, "source": switch.source}


class Assessment(NamedTuple):
    states: tuple[NativeState, ...]
    decisions: dict[str, Decision]  # the effective ones
    drift: str | None  # one line with the fix, or None
    problems: tuple[str, ...]  # switches that could not be read


def origin(reading: Reading) -> str:
    switch = reading.switch
    if switch.kind == "env":
        return shown(switch.variable, reading.value or "")
    if switch.kind == "config-file":
        return f"{reading.where}: {reading.value}" if reading.value is not None else f"{reading.where} (absent)"
    return reading.where


def assess(manifest: "Manifest", ours: Mapping[str, Decision], environ: Mapping[str, str]) -> Assessment:
    """``ours``: our decision for every facet (all three, so drift can be judged)."""
    readings = [read(s, environ) for s in manifest.native]
    off = {f: _off(f, readings) for f in FACET_NAMES}
    ours_off = {f: not d.enabled for f, d in ours.items()}
    states = tuple(NativeState(r, _agrees(r, readings, ours_off, off)) for r in readings)
    decisions = {f: _effective(d, off[f], [r for r in readings if f in r.switch.facets])
                 for f, d in ours.items()}
    if "upload" in decisions and decisions["upload"].enabled and not decisions["collection"].enabled:
        up = decisions["upload"]
        decisions["upload"] = Decision("upload", up.product, False, "collection is disabled", "dependency", up.chain)
    problems = tuple(r.problem for r in readings if r.state == "unreadable" and r.problem)
    return Assessment(states, decisions, _drift(manifest, readings, states, ours, off), problems)


def _effective(ours: Decision, off: Sequence[Reading], readings: Sequence[Reading]) -> Decision:
    if not readings:
        return ours
    if not ours.enabled:
        return ours  # our layers already disable it; the switch agrees or is reported as drift
    if off:
        source = origin(off[0])
        return Decision(ours.facet, ours.product, False, source, LAYER, (Say(0, LAYER, source, False), *ours.chain))
    silent = Say(0, LAYER, " / ".join(r.where for r in readings), None)
    return ours._replace(chain=(silent, *ours.chain))


def _off(facet: str, readings: Sequence[Reading]) -> list[Reading]:
    """The switches that stop ``facet``: any whole-product switch that is off, and the partial ones
    only when every part they name has one off (Gradio's apps and its client each need theirs)."""
    mine = [r for r in readings if facet in r.switch.facets]
    off = [r for r in mine if r.off and not r.switch.part]
    parts = {r.switch.part for r in mine if r.switch.part}
    partial = [r for r in mine if r.off and r.switch.part]
    if parts and parts <= {r.switch.part for r in partial}:
        off += partial
    return off


def _agrees(reading: Reading, readings: Sequence[Reading], ours_off: Mapping[str, bool],
            off: Mapping[str, Sequence[Reading]]) -> bool:
    facets = [f for f in reading.switch.facets if f in ours_off]
    if not facets:
        return True
    stopped = {f for f in facets if ours_off[f]}
    if not reading.off:
        # on: fine unless we disable a facet that no other switch stops
        return all(off[f] for f in stopped)
    if stopped == set(facets):
        return True
    if not stopped:
        return bool(reading.switch.part) and not any(reading in off[f] for f in facets)  # the rest still runs
    # off but wider than our decision: fine when no narrower switch could stop just those facets
    narrower = [r.switch for r in readings if r is not reading and set(r.switch.facets) <= stopped]
    return not stopped <= {f for s in narrower for f in s.facets}


def _drift(manifest: "Manifest", readings: Sequence[Reading], states: Sequence[NativeState],
           ours: Mapping[str, Decision], off: Mapping[str, Sequence[Reading]]) -> str | None:
    name = manifest.name
    covered = [f for f in FACET_NAMES if f in ours and any(f in r.switch.facets for r in readings)]
    missing = [f for f in covered if not ours[f].enabled and not off[f]]
    if missing:
        facets = ", ".join(missing)
        user_files = [s for s in manifest.native if s.kind != "env" and s.scope == "user"
                      and set(missing) & set(s.facets)]
        env = [s for s in manifest.native if s.kind == "env" and set(missing) & set(s.facets)]
        decided = ours[missing[0]].origin_with_layer
        system_env = [s for s in env if s.scope == "system"]
        if ours[missing[0]].layer == "system policy" and system_env:
            return (f"{name}: {facets} disabled by {decided}, but this shell lacks {_off_text(system_env[0])}, "
                    f"which {name} reads; fix: open a new login shell (the generated profile.d file sets it)")
        if user_files:
            return (f"{name}: {facets} disabled by {decided}, but {name}'s own switch is on "
                    f"({_where(user_files[0], readings)}); fix: telemetry disable {_arg(missing)}-p {name}")
        if env:
            return (f"{name}: {facets} disabled by {decided}, but this shell lacks {_off_text(env[0])}, "
                    f"which {name} reads; fix: eval \"$(telemetry shell-init bash)\" or open a new shell")
    wrong = [s for s in states if not s.agrees and s.reading.off]
    if wrong:
        reading = wrong[0].reading
        facets = ", ".join(f for f in reading.switch.facets if ours.get(f) is not None and ours[f].enabled)
        stopped = [f for f in reading.switch.facets if f in ours]
        keep = f"telemetry disable {_arg(stopped)}-p {name} to keep it off"
        if reading.switch.kind == "env":
            fix = f"unset {reading.switch.variable}, or {keep}"
        else:
            fix = f"telemetry enable {_arg(stopped)}-p {name}, or {keep}"
        them = "them" if "," in facets else "it"
        return f"{name}: {facets} enabled by our settings, but {origin(reading)} switches {them} off; fix: {fix}"
    return None


def _where(switch: NativeSwitch, readings: Sequence[Reading]) -> str:
    return next(r.where for r in readings if r.switch is switch)


def _arg(facets: Sequence[str]) -> str:
    return "" if len(facets) != 1 else f"{facets[0]} "


def _off_text(switch: NativeSwitch) -> str:
    return f"{switch.variable}={switch.off}"
