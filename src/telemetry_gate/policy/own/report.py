"""What ``check`` says about a product's own switches: each one's reading, and drift.

The decision itself is ``Policy.decide`` (the product's own file switches are its rank 0, its
variables rank 4); this module only explains it beside the table.

*Stricter*: a switch of the product is off while our layers allow the facet: the product does
not do it ("off by the product's own switch"), and that is its user's choice, never "fixed".

*Drift* is a leak and nothing else: our layers disable a facet, but no switch of the product
stops it, so the product will collect or send while telemetry-gate says off. Each product with
drift gets one line with the fix.
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.policy.layers import OWN_LAYER, Decision
from telemetry_gate.policy.own.model import FACET_NAMES, NativeSwitch
from telemetry_gate.policy.own.state import Reading, read
from telemetry_gate.policy.own.state import stopping as _off

if TYPE_CHECKING:
    from telemetry_gate.policy.manifests import Manifest



class NativeState(NamedTuple):
    reading: Reading
    agrees: bool  # the switch says what our layers say (or is narrower/wider as the product must)
    stricter: bool = False  # off while our layers allow every facet it stops: the user's choice there

    def as_json(self) -> dict[str, Any]:
        """``check --json`` per switch: add keys, never rename them."""
        switch = self.reading.switch
        return {"kind": switch.kind, "where": self.reading.where, "value": self.reading.value,
                "effect": self.reading.state, "agrees": self.agrees, "stricter": self.stricter,
                "facets": list(switch.facets), "scope": switch.scope, "source": switch.source,
                "outranked_by": self.reading.outranked or None}


class Assessment(NamedTuple):
    states: tuple[NativeState, ...]
    drift: str | None  # one line with the fix, or None
    problems: tuple[str, ...]  # switches that could not be read
    outranked: tuple[str, ...] = ()  # off file switches a variable the product reads first turns back on


def assess(manifest: "Manifest", decisions: Mapping[str, Decision], environ: Mapping[str, str],
           known: Sequence[Reading] = ()) -> Assessment:
    """``decisions``: ``Policy.decide`` for every facet (all three, so drift can be judged);
    ``known``: readings already made (``Policy.readings``), not read again."""
    done = {r.switch: r for r in known}
    readings = [done.get(s) or read(s, environ) for s in manifest.native]
    ours_off = {f: _ours_off(d) for f, d in decisions.items()}
    if "upload" in ours_off and "collection" in ours_off:
        ours_off["upload"] = ours_off["upload"] or ours_off["collection"]
    off = {f: _off(f, readings) for f in FACET_NAMES}
    states = tuple(NativeState(r, _agrees(r, readings, ours_off, off),
                               r.off and not any(ours_off.get(f) for f in r.switch.facets)) for r in readings)
    problems = tuple(r.problem for r in readings if r.state == "unreadable" and r.problem)
    outranked = tuple(f"{manifest.name}: {r.where} says off, but {r.outranked} outranks it "
                      f"({manifest.name} reads the variable first)" for r in readings if r.outranked)
    return Assessment(states, _drift(manifest, readings, decisions, ours_off, off), problems, outranked)


def _ours_off(decision: Decision) -> bool:
    """Whether telemetry-gate's layers (every one but the product's own switch) disable the facet."""
    return next((say.verdict is False for say in decision.chain if say.layer != OWN_LAYER and say.verdict is not None),
                False)


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


def _drift(manifest: "Manifest", readings: Sequence[Reading], ours: Mapping[str, Decision],
           ours_off: Mapping[str, bool], off: Mapping[str, Sequence[Reading]]) -> str | None:
    name = manifest.name
    covered = [f for f in FACET_NAMES if f in ours and any(f in r.switch.facets for r in readings)]
    missing = [f for f in covered if ours_off[f] and not off[f]]
    if not missing:
        return None
    facets = ", ".join(missing)
    user_files = [s for s in manifest.native if s.kind != "env" and s.scope == "user"
                  and set(missing) & set(s.facets)]
    env = [s for s in manifest.native if s.kind == "env" and set(missing) & set(s.facets)]
    decided = ours[missing[0]].origin_with_layer
    system_env = [s for s in env if s.scope == "system"]
    if ours[missing[0]].layer == "system policy" and system_env:
        return (f"{name}: {facets} disabled by {decided}, but this shell lacks {_off_text(system_env[0])}, "
                f"which {name} reads; fix: open a new login shell (the generated profile.d file sets it)")
    outranked = next((r for r in readings if r.outranked and set(missing) & set(r.switch.facets)), None)
    if outranked is not None:  # the file is off already: only this shell's variable overrides it
        variable = outranked.outranked.split("=", 1)[0]
        return (f"{name}: {facets} disabled by {decided}, but {outranked.outranked} in this shell outranks "
                f"{outranked.where}, which says off; fix: unset {variable} (new shells set it from the "
                "generated files)")
    if user_files:
        return (f"{name}: {facets} disabled by {decided}, but {name}'s own switch is on "
                f"({_where(user_files[0], readings)}); fix: telemetry disable {_arg(missing)}-p {name}")
    if env:
        return (f"{name}: {facets} disabled by {decided}, but this shell lacks {_off_text(env[0])}, "
                f"which {name} reads; fix: eval \"$(telemetry shell-init bash)\" or open a new shell")
    return None


def _where(switch: NativeSwitch, readings: Sequence[Reading]) -> str:
    return next(r.where for r in readings if r.switch is switch)


def _arg(facets: Sequence[str]) -> str:
    return "" if len(facets) != 1 else f"{facets[0]} "


def _off_text(switch: NativeSwitch) -> str:
    return f"{switch.variable}={switch.off}"
