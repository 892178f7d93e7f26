"""Who decides: the layers of SPEC 4, in one ordered list, each keeping its origin.

Terms:

- *facet*: ``collection``, ``upload`` or ``update``.
- *layer*: one source of policy. Asked about a facet of a product, it answers with a
  ``Say``: enables (``True``), disables (``False``) or is silent (``None``), and names
  its ``source`` so a person can act on it (a path, ``VAR=value``, ``default``).
- *decision*: the first layer that speaks wins (``Decision``), with the whole chain kept
  for ``check --explain``. Upload is effectively off whenever collection is off.

The list, highest first (``rank`` is the SPEC 4 number):

1. system flag files ``disable``, ``disable_upload``, ``disable_update`` (can only disable)
2. ``DO_NOT_TRACK`` (any value but 0/false/no/off disables everything)
3. vendor variables ``<VENDOR>_DISABLE_TELEMETRY[_UPLOAD|_UPDATE]`` (any value disables)
4. product variables: the ``env`` switches of a product's manifest, read by the product's own
   rule (``off_when``); a value equal to the declared ``on`` enables, one that is neither off
   nor on disables with a note (ambiguity never turns telemetry on)
5. user settings ``[products.<p>]``, ``[telemetry]``, then the user flag files (not for a
   product whose own switches are elsewhere: ``Catalogue.own_switches_only``)
6. system defaults ``[products.<p>]``, ``[telemetry]``
7. the product's own default: ``default = "disabled"`` in its manifest (opt-in) disables
   collection (and so upload) until the product is enabled by name
8. built-in default: enabled

0. the product's own file switches (``flag-file``, ``config-file`` in the product's places,
   read as the product reads them: ``policy/own/state.py``): off is the effective state
   whatever the layers below say; they never enable. The Cell Ranger flag files in
   telemetry-gate's own namespace are not rank 0: they are the user's (5) or the system's (1).

``Policy.decide`` is the one answer to "may product P do facet F now, and why": the Recorder,
``check``, ``send``, ``send ID`` (``explicit=True``: the user's explicit act overrides ranks 5-7,
never 0-4), ``update``, ``products`` and the generated environment files all ask it.

For an opt-in product only its own table (``[products.<p>]``) can enable it: a ``true`` in the
vendor-wide ``[telemetry]`` table (``telemetry enable`` with no product) does not opt in to
every opt-in product at once. A ``false`` there still disables it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.policy import settings as settings_mod
from telemetry_gate.policy.paths import FLAG_FILES, Paths, display
from telemetry_gate.policy.settings import Settings
from telemetry_gate.vocabulary import FACETS, meaning

if TYPE_CHECKING:
    from telemetry_gate.policy.own.model import NativeSwitch
    from telemetry_gate.policy.own.state import Reading

FLAG_FACETS: dict[str, tuple[str, ...]] = {
    "disable": FACETS,
    "disable_upload": ("upload",),
    "disable_update": ("update",),
}
_PRINTABLE = re.compile(r"[ -~]*")
OPT_IN_ORIGIN = "product default (opt-in)"
OWN_LAYER = "product's own switch"
EXPLICIT_OVERRIDES = (5, 6, 7)  # the user's own choices and the defaults below them


class Say(NamedTuple):
    """What one layer says about one facet."""

    rank: int
    layer: str
    source: str
    verdict: bool | None  # True enables, False disables, None: silent

    @property
    def words(self) -> str:
        return {True: "enables", False: "disables", None: "-"}[self.verdict]


class Decision(NamedTuple):
    facet: str
    product: str | None
    enabled: bool
    origin: str
    layer: str
    chain: tuple[Say, ...]

    @property
    def locked(self) -> bool:
        """Decided by the administrator's flag files: no user setting can change it."""
        return self.layer == "system policy"

    @property
    def origin_with_layer(self) -> str:
        """``/etc/tenx/telemetry/disable_upload (system policy)``: for sentences."""
        if self.layer in ("default", "dependency", "product default"):
            return self.origin
        return f"{self.origin} ({self.layer})"


def shown(name: str, value: str) -> str:
    """``NAME=value`` as a person can read it, whatever the value holds."""
    if _PRINTABLE.fullmatch(value) and len(value) <= 40 and value.strip() == value and value:
        return f"{name}={value}"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{name}={text}"


def origin(reading: Reading) -> str:
    """The origin a product's own switch gives a decision: ``VAR=value``, ``file key: value``, a path."""
    switch = reading.switch
    if switch.kind == "env":
        return shown(switch.variable, reading.value or "")
    if switch.kind == "config-file":
        return f"{reading.where}: {reading.value}" if reading.value is not None else f"{reading.where} (absent)"
    return reading.where


def means_on(switch: NativeSwitch, value: str) -> bool:
    """A value of a yes/no variable that is not off: its declared on value, one of its on values,
    or a word that means what ``on`` means (``HF_HUB_DISABLE_TELEMETRY=false`` when on is ``0``).
    Anything else is not understood: it disables (ambiguity never turns telemetry on)."""
    on = str(switch.on)
    word = meaning(on)
    return value.strip().lower() == on.lower() or value.lower() in switch.on_values \
        or (word is not None and meaning(value) is word)


def vendor_prefix(vendor: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", vendor.upper())


Layer = Callable[[str, "str | None"], Say]


def settings_of(paths: Paths) -> tuple[Settings | None, Settings | None]:
    """The user's and the system's settings files, read and validated (``None``: no such file)."""
    return settings_mod.load(paths.user_settings), settings_mod.load(paths.system_settings)


class Policy:
    """The layers for one vendor, built once from the environment and the files."""

    def __init__(
        self,
        paths: Paths,
        environ: Mapping[str, str],
        own: Mapping[str, Sequence[NativeSwitch]],
        user_settings: Settings | None,
        system_settings: Settings | None,
        opt_in: frozenset[str] = frozenset(),
        unflagged: frozenset[str] = frozenset(),
    ) -> None:
        self.paths = paths
        self.environ = environ
        self.own = own  # each product's own switches ([[native]]): env ones are rank 4, files rank 0
        self._readings: dict[str, tuple[Reading, ...]] = {}
        self.user_settings = user_settings
        self.system_settings = system_settings
        self.opt_in = opt_in  # products whose manifest says default = "disabled"
        self.unflagged = unflagged  # products the user flag files do not govern (Catalogue.own_switches_only)
        self.notes: list[str] = []

    @classmethod
    def load(
        cls,
        paths: Paths,
        environ: Mapping[str, str] | None = None,
        own: Mapping[str, Sequence[NativeSwitch]] | None = None,
        opt_in: frozenset[str] = frozenset(),
        unflagged: frozenset[str] = frozenset(),
        loaded: tuple[Settings | None, Settings | None] | None = None,
    ) -> Policy:
        """Read both settings files (raises ``InvalidFileError`` on a malformed one, or one
        with a key the tool does not read: an unknown key fails closed). ``loaded``: the user's
        and the system's settings when the caller has read them (``settings_of``)."""
        user, system = loaded or settings_of(paths)
        policy = cls(
            paths=paths,
            environ=dict(os.environ if environ is None else environ),
            own=own or {},
            user_settings=user,
            system_settings=system,
            opt_in=opt_in,
            unflagged=unflagged,
        )
        policy.notes.extend(dict.fromkeys(policy.environment_notes()))  # a variable two products declare: once
        return policy

    # -- the ordered list ------------------------------------------------------------

    @property
    def layers(self) -> tuple[Layer, ...]:
        return (
            self._own_files,
            self._system_flags,
            self._do_not_track,
            self._vendor_variables,
            self._product_variables,
            self._user_product_table,
            self._user_vendor_table,
            self._user_flags,
            self._system_product_table,
            self._system_vendor_table,
            self._product_default,
            self._default,
        )

    def decide(self, facet: str, product: str | None = None, explicit: bool = False,
               own: bool = True) -> Decision:
        """May ``product`` (``None``: the vendor as a whole) do ``facet`` now, and why: the
        first layer that speaks. ``explicit``: the user's explicit act on chosen records
        (``send ID``, ``send --saved``), which overrides their own settings and the defaults
        (ranks 5-7), never the product's own switch, the administrator or the environment.
        ``own=False``: what telemetry-gate's layers want, the product's own switches (rank 0)
        left out - for the code that writes those switches."""
        first = self._first_speaker(facet, product, explicit, own)
        if facet == "upload" and first.enabled:
            collection = self._first_speaker("collection", product, explicit, own)
            if not collection.enabled:
                return Decision(
                    facet, product, False, "collection is disabled", "dependency", first.chain
                )
        return first

    def setting(self, key: str, product: str) -> tuple[Any, str] | None:
        """A settings value (``endpoint``, ``format``, ``max_records``...) for ``product`` with
        its origin (``~/.config/tenx/telemetry/settings.toml [products.p]``): the user file
        before the system defaults, each ``[products.<p>]`` before ``[telemetry]``."""
        for loaded in (self.user_settings, self.system_settings):
            if loaded is not None:
                found = loaded.lookup(key, product)
                if found is not None:
                    return found[0], f"{display(loaded.path)} {found[1]}"
        return None

    def decide_all(self, product: str | None = None) -> dict[str, Decision]:
        return {facet: self.decide(facet, product) for facet in FACETS}

    def _first_speaker(self, facet: str, product: str | None, explicit: bool = False,
                       own: bool = True) -> Decision:
        chain: list[Say] = []
        winner: Say | None = None
        for layer in self.layers if own else self.layers[1:]:
            say = layer(facet, product)
            if say.layer == "skip":
                continue
            chain.append(say)
            if explicit and (say.rank in EXPLICIT_OVERRIDES or say.rank == 0 and say.layer == "user settings"):
                continue
            if winner is None and say.verdict is not None:
                winner = say
        assert winner is not None  # the default always speaks
        return Decision(facet, product, winner.verdict is True, winner.source, winner.layer, tuple(chain))

    # -- the layers ------------------------------------------------------------------

    def _system_flags(self, facet: str, product: str | None) -> Say:
        for name in FLAG_FILES:
            path = self.paths.system_flag(name)
            if facet in FLAG_FACETS[name] and os.path.lexists(path):
                return Say(1, "system policy", str(path), False)
        return Say(1, "system policy", str(self.paths.system_dir / "disable*"), None)

    def _do_not_track(self, facet: str, product: str | None) -> Say:
        value = self.environ.get("DO_NOT_TRACK", "")
        if value and meaning(value) is not False:
            return Say(2, "environment", shown("DO_NOT_TRACK", value), False)
        return Say(2, "environment", shown("DO_NOT_TRACK", value) if value else "DO_NOT_TRACK", None)

    def _vendor_variables(self, facet: str, product: str | None) -> Say:
        prefix = vendor_prefix(self.paths.vendor)
        names = [f"{prefix}_DISABLE_TELEMETRY", f"{prefix}_DISABLE_TELEMETRY_{facet.upper()}"]
        if facet == "collection":
            names = names[:1]
        for name in names:
            value = self.environ.get(name, "")
            if value:
                return Say(3, "environment", shown(name, value), False)
        return Say(3, "environment", " / ".join(names), None)

    def _product_variables(self, facet: str, product: str | None) -> Say:
        if product is None:
            return Say(4, "skip", "", None)
        switches = [s for s in self.own.get(product, ()) if facet in s.facets]
        declared = [s for s in switches if s.kind == "env"]
        parts = {s.part for s in switches if s.part}  # a partial switch stops its part only (Gradio)
        partial_off: list[str] = []
        for switch in declared:
            if switch.variable not in self.environ:
                continue
            value = self.environ[switch.variable]
            if switch.is_off_value(value):
                if not switch.part:
                    return Say(4, "environment", shown(switch.variable, value), False)
                partial_off.append(shown(switch.variable, value))
                if parts <= {s.part for s in declared if s.part and s.variable in self.environ
                             and s.is_off_value(self.environ[s.variable])}:
                    return Say(4, "environment", " + ".join(partial_off), False)
            elif switch.on is not None and not switch.part:  # a yes/no variable: only its on value enables
                return Say(4, "environment", shown(switch.variable, value), means_on(switch, value))
        names = " / ".join(s.variable for s in declared) or f"(no variable declared by {product})"
        return Say(4, "environment", names, None)

    def with_environ(self, environ: Mapping[str, str]) -> Policy:
        """This policy seen from another environment, with readings of its own (a reading of a
        product's file depends on the environment: its path, a variable that outranks it)."""
        import copy

        other = copy.copy(self)
        other.environ = environ
        other.forget_readings()  # the copy's own cache, never the original's
        return other

    def forget_readings(self) -> None:
        """Read the products' files again at the next decision."""
        self._readings = {}

    def readings(self, product: str) -> tuple[Reading, ...]:
        """The product's own file switches, each read once, as the product reads it."""
        found = self._readings.get(product)
        if found is None:
            from telemetry_gate.policy.own.state import read

            found = tuple(read(s, self.environ) for s in self.own.get(product, ()) if s.kind != "env")
            self._readings[product] = found
        return found

    def in_namespace(self, switch: NativeSwitch) -> bool:
        """A switch among telemetry-gate's own files (Cell Ranger's flags in ``<config>/<vendor>/
        telemetry`` and ``<system>/<vendor>/telemetry``): the user's or the administrator's settings,
        which ``enable`` may remove as ``cellranger telemetry enable`` does."""
        from telemetry_gate.policy.own.places import expand_text

        where = os.path.dirname(expand_text(switch.path, self.environ))
        return where in (str(self.paths.config_dir), str(self.paths.system_dir))

    def _own_files(self, facet: str, product: str | None) -> Say:
        if product is None or not self.own.get(product):
            return Say(0, "skip", "", None)
        readings = [r for r in self.readings(product) if facet in r.switch.facets]
        if not readings:
            return Say(0, "skip", "", None)
        from telemetry_gate.policy.own.state import stopping

        stopped = stopping(facet, readings)  # a switch of one part stops the facet only with the others
        if not stopped:
            return Say(0, OWN_LAYER, " / ".join(r.where for r in readings), None)
        off = stopped[0]
        layer = OWN_LAYER  # the product reads it: off whatever the layers below say
        if self.in_namespace(off.switch):  # ... and it is also the user's (or administrator's) own setting
            layer = "system policy" if off.switch.scope == "system" else "user settings"
        return Say(0, layer, " + ".join(origin(r) for r in stopped) if off.switch.part else origin(off), False)

    def _settings_say(self, rank: int, layer: str, loaded: Settings | None, path: Path,
                      facet: str, scope: str | None) -> Say:
        shown_path = display(path) if rank == 5 else str(path)  # system paths are shown as they are
        source = f"{shown_path} {Settings.table_name(scope)}"
        if loaded is None:
            return Say(rank, layer, source, None)
        value = loaded.table(scope).get(facet)
        return Say(rank, layer, source, value if isinstance(value, bool) else None)

    def _user_product_table(self, facet: str, product: str | None) -> Say:
        if product is None:
            return Say(5, "skip", "", None)
        return self._settings_say(5, "user settings", self.user_settings, self.paths.user_settings,
                                  facet, product)

    def _user_vendor_table(self, facet: str, product: str | None) -> Say:
        return self._not_opting_in(product, self._settings_say(
            5, "user settings", self.user_settings, self.paths.user_settings, facet, None))

    def _not_opting_in(self, product: str | None, say: Say) -> Say:
        """A vendor-wide ``true`` does not enable an opt-in product: only its own table does."""
        if say.verdict is True and product in self.opt_in:
            return say._replace(source=f"{say.source} (does not opt in to {product})", verdict=None)
        return say

    def _user_flags(self, facet: str, product: str | None) -> Say:
        if product in self.unflagged:
            return Say(5, "skip", "", None)
        for name in FLAG_FILES:
            path = self.paths.user_flag(name)
            if facet in FLAG_FACETS[name] and os.path.lexists(path):
                return Say(5, "user settings", display(path), False)
        return Say(5, "user settings", display(self.paths.config_dir / "disable*"), None)

    def _system_product_table(self, facet: str, product: str | None) -> Say:
        if product is None:
            return Say(6, "skip", "", None)
        return self._settings_say(6, "system defaults", self.system_settings,
                                  self.paths.system_settings, facet, product)

    def _system_vendor_table(self, facet: str, product: str | None) -> Say:
        return self._not_opting_in(product, self._settings_say(
            6, "system defaults", self.system_settings, self.paths.system_settings, facet, None))

    def _product_default(self, facet: str, product: str | None) -> Say:
        if product not in self.opt_in or facet != "collection":  # upload follows collection
            return Say(7, "skip", "", None)
        return Say(7, "product default", OPT_IN_ORIGIN, False)

    def _default(self, facet: str, product: str | None) -> Say:
        return Say(8, "default", "default", True)

    # -- notes -----------------------------------------------------------------------

    def environment_notes(self) -> list[str]:
        notes: list[str] = []
        value = self.environ.get("DO_NOT_TRACK", "")
        if value and meaning(value) is False:
            notes.append(f"{shown('DO_NOT_TRACK', value)} is ignored: DO_NOT_TRACK can only ask for less tracking")
        prefix = vendor_prefix(self.paths.vendor)
        for suffix in ("", "_UPLOAD", "_UPDATE"):
            name = f"{prefix}_DISABLE_TELEMETRY{suffix}"
            value = self.environ.get(name, "")
            if value and meaning(value) is False:
                what = "telemetry" if not suffix else suffix[1:].lower()
                notes.append(f"{shown(name, value)} disables {what}; unset it to re-enable")
        for switches in self.own.values():
            for switch in switches:
                if switch.kind != "env" or switch.variable not in self.environ:
                    continue
                value = self.environ[switch.variable]
                if switch.is_off_value(value):  # "0" that stops: say so (set or non-empty is the rule)
                    if switch.off_when in ("set", "nonempty") and (meaning(value) is False or not value.strip()):
                        notes.append(f"{shown(switch.variable, value)} disables telemetry for {switch.product}; "
                                     "unset it to re-enable")
                elif switch.on is not None and not means_on(switch, value):
                    notes.append(f"{shown(switch.variable, value)} is not understood (expected "
                                 f"{switch.off} or {switch.on}); telemetry stays disabled")
        return notes

    def lock_notes(self, decisions: Sequence[Decision]) -> list[str]:
        return [
            f"{d.facet} is locked by system policy ({d.origin}); only an administrator can change it"
            for d in decisions
            if d.locked
        ]
