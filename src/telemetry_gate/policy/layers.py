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
4. product variables declared by manifests (``disable-if-set`` or ``boolean``)
5. user settings ``[products.<p>]``, ``[telemetry]``, then the user flag files (not for a
   product whose own switches are elsewhere: ``Catalogue.own_switches_only``)
6. system defaults ``[products.<p>]``, ``[telemetry]``
7. the product's own default: ``default = "disabled"`` in its manifest (opt-in) disables
   collection (and so upload) until the product is enabled by name
8. built-in default: enabled

(Rank 0, the product's own switch, is read beside these by ``Gate.decide``: ``policy/own/report.py``.)

For an opt-in product only its own table (``[products.<p>]``) can enable it: a ``true`` in the
vendor-wide ``[telemetry]`` table (``telemetry enable`` with no product) does not opt in to
every opt-in product at once. A ``false`` there still disables it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.policy import settings as settings_mod
from telemetry_gate.policy.paths import FLAG_FILES, Paths, display
from telemetry_gate.policy.settings import Settings
from telemetry_gate.vocabulary import FACETS, meaning

FLAG_FACETS: dict[str, tuple[str, ...]] = {
    "disable": FACETS,
    "disable_upload": ("upload",),
    "disable_update": ("update",),
}
_PRINTABLE = re.compile(r"[ -~]*")
OPT_IN_ORIGIN = "product default (opt-in)"


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


class ProductVariable(NamedTuple):
    """An environment variable a product's manifest declares (layer 4)."""

    name: str
    kind: str  # "disable-if-set" or "boolean"
    facets: tuple[str, ...] = FACETS


def shown(name: str, value: str) -> str:
    """``NAME=value`` as a person can read it, whatever the value holds."""
    if _PRINTABLE.fullmatch(value) and len(value) <= 40 and value.strip() == value and value:
        return f"{name}={value}"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{name}={text}"


def vendor_prefix(vendor: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", vendor.upper())


Layer = Callable[[str, "str | None"], Say]


class Policy:
    """The layers for one vendor, built once from the environment and the files."""

    def __init__(
        self,
        paths: Paths,
        environ: Mapping[str, str],
        product_variables: Mapping[str, Sequence[ProductVariable]],
        user_settings: Settings | None,
        system_settings: Settings | None,
        opt_in: frozenset[str] = frozenset(),
        unflagged: frozenset[str] = frozenset(),
    ) -> None:
        self.paths = paths
        self.environ = environ
        self.product_variables = product_variables
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
        product_variables: Mapping[str, Sequence[ProductVariable]] | None = None,
        opt_in: frozenset[str] = frozenset(),
        unflagged: frozenset[str] = frozenset(),
    ) -> Policy:
        """Read both settings files (raises ``InvalidFileError`` on a malformed one, or one
        with a key the tool does not read: an unknown key fails closed)."""
        policy = cls(
            paths=paths,
            environ=dict(os.environ if environ is None else environ),
            product_variables=product_variables or {},
            user_settings=settings_mod.load(paths.user_settings),
            system_settings=settings_mod.load(paths.system_settings),
            opt_in=opt_in,
            unflagged=unflagged,
        )
        policy.notes.extend(policy._environment_notes())
        return policy

    # -- the ordered list ------------------------------------------------------------

    @property
    def layers(self) -> tuple[Layer, ...]:
        return (
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

    def decide(self, facet: str, product: str | None = None) -> Decision:
        """The effective state of ``facet`` for ``product`` (``None``: the vendor as a whole)."""
        own = self._first_speaker(facet, product)
        if facet == "upload" and own.enabled:
            collection = self._first_speaker("collection", product)
            if not collection.enabled:
                return Decision(
                    facet, product, False, "collection is disabled", "dependency", own.chain
                )
        return own

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

    def _first_speaker(self, facet: str, product: str | None) -> Decision:
        chain: list[Say] = []
        winner: Say | None = None
        for layer in self.layers:
            say = layer(facet, product)
            if say.layer == "skip":
                continue
            chain.append(say)
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
        declared = [v for v in self.product_variables.get(product, ()) if facet in v.facets]
        for variable in declared:
            value = self.environ.get(variable.name, "")
            if not value:
                continue
            if variable.kind == "boolean" and meaning(value) is True:
                return Say(4, "environment", shown(variable.name, value), True)
            return Say(4, "environment", shown(variable.name, value), False)
        names = " / ".join(v.name for v in declared) or f"(no variable declared by {product})"
        return Say(4, "environment", names, None)

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

    def _environment_notes(self) -> list[str]:
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
        for variables in self.product_variables.values():
            for variable in variables:
                value = self.environ.get(variable.name, "")
                if not value:
                    continue
                if variable.kind == "boolean" and meaning(value) is None:
                    notes.append(f"{shown(variable.name, value)} is not understood (expected 0 or 1); "
                                 "telemetry stays disabled")
                elif variable.kind == "disable-if-set" and meaning(value) is False:
                    notes.append(f"{shown(variable.name, value)} disables telemetry; unset it to re-enable")
        return notes

    def lock_notes(self, decisions: Sequence[Decision]) -> list[str]:
        return [
            f"{d.facet} is locked by system policy ({d.origin}); only an administrator can change it"
            for d in decisions
            if d.locked
        ]
