"""Catalogue facts, third set (issue 22 item 4): Pulumi, CocoaPods, Dart and Flutter, each held to
the product's own code at the tag or commit its manifest cites. The variables' value rules are
transcribed beside the others' in ``test_catalog_facts_a.PRODUCT_READS_OFF`` (and run by its shared
tests); this file holds what those cannot say.

- Pulumi v3.259.0: the update check runs unless ``PULUMI_SKIP_UPDATE_CHECK`` is ``1`` or ``true``
  (any case); when logged in to the Pulumi Cloud it carries the command, the flags and the names
  of the PULUMI_* variables. Stopping it is the ``update`` facet and, for that report, ``upload``.
- cocoapods-stats v1.1.0 (a default plugin of CocoaPods up to 1.9.x): ``ENV['COCOAPODS_DISABLE_STATS'].nil?``.
"""

from __future__ import annotations

import json

import pytest

from conftest import Telemetry
from conftest import bash_env as _bash_env
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse

MANIFESTS: dict[str, Manifest] = {
    name: parse((SHIPPED / f"{name}.toml").read_bytes(), str(SHIPPED / f"{name}.toml"))
    for name in ("pulumi", "cocoapods")
}


@pytest.fixture(autouse=True)
def _no_inherited_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for manifest in MANIFESTS.values():
        for switch in manifest.native:
            if switch.kind == "env":
                monkeypatch.delenv(switch.variable, raising=False)


def _pulumi_skips_update_check(value: str) -> bool:
    """sdk/go/common/util/env/env.go L338-L347: ``v == "1" || strings.EqualFold(v, "true")``."""
    return value == "1" or value.lower() == "true"


def test_pulumis_update_check_is_its_update_facet_and_the_report_it_carries(inprocess: Telemetry,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (switch,) = MANIFESTS["pulumi"].native
    assert switch.facets == ("upload", "update") and switch.off == "true"
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "TRUE")  # EqualFold: any case skips it
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["pulumi"]
    assert facets["update"]["enabled"] is False and facets["update"]["origin"] == "PULUMI_SKIP_UPDATE_CHECK=TRUE"
    assert facets["upload"]["enabled"] is False
    assert facets["collection"]["enabled"] is True  # the CLI keeps no usage records of its own
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "0")  # Pulumi checks for updates: we must say on
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["pulumi"]
    assert facets["update"]["enabled"] is True


def test_disable_update_gives_pulumi_a_value_it_reads_as_skip(inprocess: Telemetry) -> None:
    assert inprocess("disable", "update", "-p", "pulumi").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert _pulumi_skips_update_check(shell["PULUMI_SKIP_UPDATE_CHECK"])
    assert inprocess("enable", "update", "-p", "pulumi").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert not _pulumi_skips_update_check(shell.get("PULUMI_SKIP_UPDATE_CHECK", ""))


def test_cocoapods_empty_variable_stops_its_stats_as_ruby_reads_it(inprocess: Telemetry,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCOAPODS_DISABLE_STATS", "")  # ENV[...] is "" - not nil, so no stats
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["cocoapods"]
    assert facets["collection"]["enabled"] is False and facets["upload"]["enabled"] is False


def test_cocoapods_says_which_versions_send_anything(inprocess: Telemetry) -> None:
    out = inprocess("inspect", "--catalog", "-p", "cocoapods").stdout
    limits = [line for line in out.splitlines() if line.startswith("limit: ")]
    assert any("1.10.0" in line and "cocoapods-stats" in line for line in limits), out
