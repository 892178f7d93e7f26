"""The loaded state of one vendor, built once per command: its paths, the policy (settings
files, environment, the manifests' variables), the spool and the manifest catalogue.
Every command starts from a ``Gate``; the library's ``Recorder`` builds the same pieces
itself, lazily, to keep its start-up small."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from telemetry_gate.errors import SpoolUnreadable
from telemetry_gate.policy import trust
from telemetry_gate.policy.catalogue import Catalogue, discover
from telemetry_gate.policy.layers import Decision, Policy, settings_of
from telemetry_gate.policy.paths import Paths
from telemetry_gate.spool.store import Spool

if TYPE_CHECKING:
    from telemetry_gate.policy.settings import Settings


class Gate(NamedTuple):
    """The loaded state of one vendor: paths, policy, spool. Built once per command."""

    paths: Paths
    policy: Policy
    spool: Spool
    catalogue: Catalogue

    @classmethod
    def open(cls, vendor: str, environ: Mapping[str, str] | None = None, *, lazy: bool = False,
             product: str | None = None) -> Gate:
        """``lazy`` (``check``): build only the shipped manifests of the products the command
        shows or decides (``_wanted``: ``product`` alone when given), not the whole catalogue."""
        env = dict(os.environ if environ is None else environ)
        paths = Paths.for_vendor(vendor, env)
        trust.check(paths)  # before any file is read: another user must not be able to plant one
        loaded = settings_of(paths)
        catalogue = discover(paths, lazy=lazy)
        if lazy:
            catalogue = catalogue.build(_wanted(catalogue, paths, env, loaded, product))
        policy = Policy.load(paths, env, catalogue.switches(), catalogue.opt_in(),
                             catalogue.own_switches_only(), loaded)
        policy.notes.extend(f"manifest skipped: {error.message}" for error in catalogue.errors.values())
        return cls(paths, policy, Spool(paths.spool), catalogue)

    def decide(self, facet: str, product: str | None = None, explicit: bool = False) -> Decision:
        """``Policy.decide``: the one answer, the product's own switches included."""
        return self.policy.decide(facet, product, explicit)

    def known_products(self) -> list[str]:
        """Products named by a manifest, the settings files or the spool.

        A product of the shipped catalogue counts only when it is present (installed, or one of
        its own switches exists): the catalogue names many tools a machine does not have.
        """
        from telemetry_gate.policy.own.detect import present
        from telemetry_gate.policy.own.journal import created as made

        environ = self.policy.environ
        created = made(self.paths)
        names = {name for name, m in self.catalogue.manifests.items()
                 if not m.shipped or present(m, environ, created)}
        try:
            names |= set(self.spool.products())
        except SpoolUnreadable:  # check's spool line says so; the other sources still count
            pass
        for loaded in (self.policy.user_settings, self.policy.system_settings):
            if loaded is not None:
                names.update(loaded.products())
        return sorted(names)


def _wanted(catalogue: Catalogue, paths: Paths, environ: Mapping[str, str],
            loaded: tuple[Settings | None, Settings | None], product: str | None) -> set[str]:
    """The products whose manifests ``check`` reads: those it lists (each one not shipped, a shipped
    one that may be here, one the settings or the spool name; ``product`` alone when given), and
    those it reads whatever it lists: the ones declaring a variable set in this environment (the
    policy's notes, the shell's stale switches) and the ones that keep saved events (``held``)."""
    wanted = {n for n, u in catalogue.unbuilt.items() if "saved" in u.data or not u.variables().isdisjoint(environ)}
    if product is not None:
        return wanted | {product}
    from telemetry_gate.policy.own.detect import maybe_present
    from telemetry_gate.policy.own.journal import created as made

    wanted |= set(catalogue.manifests)
    for settings in loaded:
        if settings is not None:
            wanted.update(settings.products())
    try:
        wanted.update(Spool(paths.spool).products())
    except SpoolUnreadable:
        pass
    created = made(paths)
    return wanted | {n for n, u in catalogue.unbuilt.items()
                     if n not in wanted and maybe_present(u.data, environ, created)}
