"""The loaded state of one vendor, built once per command: its paths, the policy (settings
files, environment, the manifests' variables), the spool and the manifest catalogue.
Every command starts from a ``Gate``; the library's ``Recorder`` builds the same pieces
itself, lazily, to keep its start-up small."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from telemetry_gate.errors import SpoolUnreadable
from telemetry_gate.policy import trust
from telemetry_gate.policy.catalogue import Catalogue, discover
from telemetry_gate.policy.layers import Decision, Policy
from telemetry_gate.policy.paths import Paths
from telemetry_gate.spool.store import Spool


class Gate(NamedTuple):
    """The loaded state of one vendor: paths, policy, spool. Built once per command."""

    paths: Paths
    policy: Policy
    spool: Spool
    catalogue: Catalogue

    @classmethod
    def open(cls, vendor: str, environ: Mapping[str, str] | None = None) -> Gate:
        env = dict(os.environ if environ is None else environ)
        paths = Paths.for_vendor(vendor, env)
        trust.check(paths)  # before any file is read: another user must not be able to plant one
        catalogue = discover(paths)
        policy = Policy.load(paths, env, catalogue.switches(), catalogue.opt_in(),
                             catalogue.own_switches_only())
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
