"""``telemetry products``: the catalogue, whether each product is installed, its own switches' state."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conftest import Env, Telemetry

FAKE = """\
[product]
name = "fakeprod"
description = "A product made up for the test"
homepage = "https://example.org/fakeprod"
limits = ["Crash reports are sent whatever the switches say"]

[detect]
executables = ["fakeprod"]
distributions = ["fake-prod-dist"]
paths = ["~/.fakeprod"]

[[native]]
kind = "env"
variable = "FAKEPROD_TELEMETRY"
off = "no"
off_when = "values"
off_values = ["0", "no", "false"]
on = "yes"
facets = ["collection", "upload"]
source = "https://example.org/fakeprod/telemetry#env"

[[native]]
kind = "flag-file"
path = "$XDG_CONFIG_HOME/fakeprod/no-telemetry"
facets = ["collection"]
source = "https://example.org/fakeprod/telemetry#flag"
"""


def products_d(env: Env) -> Path:
    directory = env.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def fake(isolation: Env) -> Env:
    (products_d(isolation) / "fakeprod.toml").write_text(FAKE)
    return isolation


def listed(telemetry: Telemetry, **env: str) -> dict[str, dict[str, object]]:
    out = telemetry("products", "--json", env=env or None)
    assert out.exit_code == 0, out.stderr
    return {p["name"]: p for p in json.loads(out.stdout)["products"]}


@pytest.mark.script
@pytest.mark.script
def test_json_keys_are_a_contract(fake: Env, telemetry: Telemetry) -> None:
    out = telemetry("products", "--json")
    data = json.loads(out.stdout)
    assert set(data) == {"json_version", "products", "errors"}
    product = next(p for p in data["products"] if p["name"] == "fakeprod")
    assert set(product) == {"name", "description", "manifest", "installed", "homepage", "telemetry_docs", "limits",
                            "switches", "versions", "version", "version_notes"}
    assert (product["versions"], product["version"], product["version_notes"]) == ("", None, [])
    assert product["description"] == "A product made up for the test"
    assert (product["homepage"], product["telemetry_docs"], product["limits"]) == (
        "https://example.org/fakeprod", "", ["Crash reports are sent whatever the switches say"])
    assert product["manifest"] == str(products_d(fake) / "fakeprod.toml")
    assert [set(s) for s in product["switches"]] == [
        {"kind", "where", "scope", "facets", "state", "covers", "source", "note"}] * 2
    env_switch, flag = product["switches"]
    assert env_switch == {"kind": "env", "where": "FAKEPROD_TELEMETRY", "scope": "user",
                          "facets": ["collection", "upload"], "state": "absent", "covers": ["fakeprod"],
                          "source": "https://example.org/fakeprod/telemetry#env", "note": ""}
    assert flag["where"] == "~/.config/fakeprod/no-telemetry" and flag["state"] == "absent"


def test_every_shipped_product_is_listed_with_its_switches(isolation: Env, inprocess: Telemetry) -> None:
    from telemetry_gate.policy.manifests import SHIPPED

    shipped = sorted(p.stem for p in SHIPPED.glob("*.toml"))
    found = listed(inprocess)
    assert shipped and sorted(found) == shipped
    for product in found.values():
        for switch in product["switches"]:  # type: ignore[attr-defined]
            assert switch["source"].startswith(("https://", "http://"))
            assert switch["state"] in ("off", "on", "absent", "unknown")


def test_installed_by_executable_distribution_or_path(fake: Env, inprocess: Telemetry, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert listed(inprocess)["fakeprod"]["installed"] is False
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "fakeprod"
    program.write_text("#!/bin/sh\n")
    assert listed(inprocess, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")["fakeprod"]["installed"] is False
    program.chmod(program.stat().st_mode | stat.S_IXUSR)  # only an executable counts
    assert listed(inprocess, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")["fakeprod"]["installed"] is True

    site = tmp_path / "site"
    (site / "Fake_Prod.Dist-2.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    assert listed(inprocess)["fakeprod"]["installed"] is True
    monkeypatch.setattr(sys, "path", sys.path[1:])

    (fake.home / ".fakeprod").mkdir()
    assert listed(inprocess)["fakeprod"]["installed"] is True


@pytest.mark.script
@pytest.mark.script
def test_a_distribution_is_found_by_the_installed_script_too(fake: Env, telemetry: Telemetry,
                                                               tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "fake_prod_dist-1.0.dist-info").mkdir(parents=True)
    env = {"PYTHONPATH": str(site)}
    if telemetry.mode == "inprocess":
        sys.path.insert(0, str(site))
    try:
        assert listed(telemetry, **env)["fakeprod"]["installed"] is True
    finally:
        if telemetry.mode == "inprocess":
            sys.path.remove(str(site))


def test_switch_states_as_the_product_reads_them(fake: Env, inprocess: Telemetry) -> None:
    def states(**env: str) -> list[object]:
        return [s["state"] for s in listed(inprocess, **env)["fakeprod"]["switches"]]  # type: ignore[attr-defined]

    assert states() == ["absent", "absent"]
    assert states(FAKEPROD_TELEMETRY="False") == ["off", "absent"]
    assert states(FAKEPROD_TELEMETRY="yes") == ["on", "absent"]
    assert states(FAKEPROD_TELEMETRY="maybe") == ["on", "absent"]  # what the product would do: not off
    flag = fake.home / ".config" / "fakeprod" / "no-telemetry"
    flag.parent.mkdir(parents=True)
    flag.symlink_to(fake.home / "nowhere")  # any directory entry counts, a broken link too
    assert states() == ["absent", "off"]


def test_table_shows_each_product_its_switches_and_sources(fake: Env, telemetry: Telemetry) -> None:
    out = telemetry("products", env={"FAKEPROD_TELEMETRY": "0", "COLUMNS": "400"})  # rows unfolded
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["PRODUCT", "INSTALLED", "KIND", "SWITCH", "STATE", "SOURCE"]
    row = next(line for line in lines if line.startswith("fakeprod "))
    assert row.split() == ["fakeprod", "no", "env", "FAKEPROD_TELEMETRY", "off",
                           "https://example.org/fakeprod/telemetry#env"]
    following = lines[lines.index(row) + 1].split()
    assert following == ["flag-file", "~/.config/fakeprod/no-telemetry", "absent",
                         "https://example.org/fakeprod/telemetry#flag"]
    assert "installed;" in lines[-1]


def test_text_from_a_manifest_cannot_drive_the_terminal(isolation: Env, inprocess: Telemetry) -> None:
    (products_d(isolation) / "evil.toml").write_text(FAKE.replace('"fakeprod"\ndescription', '"evil"\ndescription')
                                                     .replace("fakeprod/no-telemetry", "evil/no-telemetry")
                                                     .replace("https://example.org/fakeprod/telemetry#env",
                                                              "https://example.org/\\u001b[2J\\u0007"))
    out = inprocess("products")
    assert out.exit_code == 0
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "https://example.org/\\x1b[2J\\x07" in out.stdout


def test_a_malformed_manifest_is_named_and_the_others_still_listed(fake: Env, telemetry: Telemetry) -> None:
    (products_d(fake) / "broken.toml").write_text('[product]\nname = "broken"\n[[native]]\nkind = "env"\n')
    out = telemetry("products")
    assert out.exit_code == 0
    assert "fakeprod" in out.stdout
    assert "broken.toml" in out.stderr and out.stderr.count("\n") <= 2
    data = json.loads(telemetry("products", "--json").stdout)
    assert len(data["errors"]) == 1 and "broken.toml" in data["errors"][0]


def test_a_configuration_key_as_the_product_reads_it(isolation: Env, inprocess: Telemetry) -> None:
    (products_d(isolation) / "jsonprod.toml").write_text('''[product]
name = "jsonprod"

[[native]]
kind = "config-file"
path = "~/.jsonprod/settings.json"
format = "json"
key = "telemetry.enabled"
off = false
on = true
absent = "on"
facets = ["collection", "upload"]
source = "https://example.org/jsonprod#settings"
''')
    settings = isolation.home / ".jsonprod" / "settings.json"

    def shown() -> tuple[object, object]:
        switch = listed(inprocess)["jsonprod"]["switches"][0]  # type: ignore[index]
        return switch["where"], switch["state"]

    assert shown() == ("~/.jsonprod/settings.json telemetry.enabled", "absent")
    settings.parent.mkdir()
    settings.write_text('{"telemetry": {"enabled": false}}')
    assert shown()[1] == "off"
    settings.write_text('{"telemetry": {"enabled": true}, "theme": "dark"}')
    assert shown()[1] == "on"
    settings.write_text('{"theme": "dark"}')
    assert shown()[1] == "absent"
    settings.write_text('{"telemetry": ')
    assert shown()[1] == "unknown"
