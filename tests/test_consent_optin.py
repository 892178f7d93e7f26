"""Opt-in products (issue 15): a manifest's ``default = "disabled"`` keeps collection (and so
upload) off until the product is enabled by name; the higher layers still win. Tested with the
shipped Genozip manifest, copied into a products.d."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate import Recorder

SHIPPED = Path(__file__).resolve().parent.parent / "src" / "telemetry_gate" / "catalog" / "genozip.toml"


def _install(env: Env, folder: Path | None = None) -> None:
    target = (folder or env.home / ".local" / "share" / "tenx" / "telemetry") / "products.d"
    target.mkdir(parents=True, exist_ok=True)
    (target / "genozip.toml").write_bytes(SHIPPED.read_bytes())


def _row(out: str, facet: str, product: str = "genozip") -> str:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(product))
    return next(line for line in lines[start:] if f" {facet} " in f" {line} ")


@pytest.mark.script
def test_an_opt_in_product_collects_nothing_until_enabled(telemetry: Telemetry, isolation: Env) -> None:
    _install(isolation)
    out = telemetry("check", "--product", "genozip")
    assert out.exit_code == 0, out.stderr
    assert "disabled" in _row(out.stdout, "collection") and "product default (opt-in)" in _row(out.stdout, "collection")
    assert "collection is disabled" in _row(out.stdout, "upload")
    assert "note: genozip is opt-in: nothing is collected until 'telemetry enable -p genozip'" in out.stdout
    rec = Recorder("genozip", "15.0.62")
    assert rec.enabled is False and rec.record("compress") is None
    assert not (isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "genozip").exists()

    out = telemetry("enable", "-p", "genozip")
    assert out.exit_code == 0, out.stderr
    data = json.loads(telemetry("check", "--json", "-p", "genozip").stdout)
    assert not any("is opt-in" in note for note in data["notes"])
    data = data["products"]["genozip"]
    assert data["collection"]["enabled"] is True and data["upload"]["enabled"] is True
    assert data["collection"]["origin"] == "~/.config/tenx/telemetry/settings.toml [products.genozip]"
    assert Recorder("genozip", "15.0.62").record("compress") is not None


def test_explain_names_the_opt_in_layer_just_above_the_built_in_default(inprocess: Telemetry,
                                                                         isolation: Env) -> None:
    _install(isolation)
    data = json.loads(inprocess("check", "collection", "--explain", "--json", "-p", "genozip").stdout)
    chain = data["products"]["genozip"]["collection"]["chain"]
    assert [c["layer"] for c in chain][-2:] == ["product default", "default"]
    assert chain[-2] == {"rank": 7, "layer": "product default", "source": "product default (opt-in)",
                         "says": "disable"}
    assert data["products"]["genozip"]["collection"]["origin"] == "product default (opt-in)"
    text = inprocess("check", "collection", "--explain", "-p", "genozip").stdout
    assert "decided by product default (opt-in)" in text


def test_enabling_every_product_does_not_opt_in(inprocess: Telemetry, isolation: Env) -> None:
    _install(isolation)
    inprocess("disable")
    out = inprocess("enable")
    assert out.exit_code == 0
    assert "genozip is opt-in; 'telemetry enable -p genozip' turns it on" in out.stderr
    data = json.loads(inprocess("check", "--json").stdout)
    assert data["products"]["genozip"]["collection"]["enabled"] is False
    assert data["facets"]["collection"]["enabled"] is True  # every other product is on
    chain = json.loads(inprocess("check", "collection", "--explain", "--json", "-p", "genozip").stdout)
    sources = [c["source"] for c in chain["products"]["genozip"]["collection"]["chain"]]
    assert "~/.config/tenx/telemetry/settings.toml [telemetry] (does not opt in to genozip)" in sources
    # a vendor-wide "false" still disables it (ambiguity never turns telemetry on)
    assert Recorder("genozip", "1").enabled is False


def test_an_administrator_can_opt_in_every_user(inprocess: Telemetry, isolation: Env) -> None:
    _install(isolation, isolation.system_dir)
    isolation.system_dir.joinpath("settings.toml").write_text("[products.genozip]\ncollection = true\n")
    data = json.loads(inprocess("check", "--json", "-p", "genozip").stdout)["products"]["genozip"]
    assert data["collection"]["enabled"] is True and data["collection"]["layer"] == "system defaults"


HIGHER = {
    "DO_NOT_TRACK": ({"DO_NOT_TRACK": "1"}, None, "DO_NOT_TRACK=1"),
    "vendor variable": ({"TENX_DISABLE_TELEMETRY": "1"}, None, "TENX_DISABLE_TELEMETRY=1"),
    "system flag": ({}, "disable", "disable (system policy)"),
}


@pytest.mark.parametrize("layer", list(HIGHER))
def test_the_higher_layers_still_win_over_an_activation(inprocess: Telemetry, isolation: Env, layer: str) -> None:
    _install(isolation)
    environ, flag, origin = HIGHER[layer]
    if flag:
        isolation.system_dir.mkdir(parents=True, exist_ok=True)
        (isolation.system_dir / flag).touch()
    out = inprocess("enable", "-p", "genozip", env=environ)
    assert out.exit_code == 0 and "takes precedence" in out.stderr
    data = json.loads(inprocess("check", "--json", "-p", "genozip", env=environ).stdout)["products"]["genozip"]
    assert data["collection"]["enabled"] is False and data["collection"]["origin"].endswith(origin.split(" ")[0])
    assert Recorder("genozip", "1", environ={**os.environ, **environ}).record("x") is None


def test_catalog_shows_the_privacy_facts(telemetry: Telemetry, isolation: Env) -> None:
    _install(isolation)
    out = telemetry("inspect", "--catalog", "-p", "genozip")
    assert out.exit_code == 0, out.stderr
    assert "opt-in: nothing is collected until 'telemetry enable -p genozip'" in out.stdout
    assert "privacy: https://www.genozip.com/telemetry" in out.stdout
    assert "contact: support@genozip.com" in out.stdout
    assert "retention: Telemetry logs may be retained indefinitely" in out.stdout
    data = json.loads(telemetry("inspect", "--catalog", "-p", "genozip", "--json").stdout)[0]
    assert data["opt_in"] is True and data["privacy_url"] == "https://www.genozip.com/telemetry"
    assert data["contact"].startswith("support@genozip.com") and data["retention"]


def test_control_characters_in_a_manifest_are_escaped(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "odd.toml").write_text('[product]\nname = "odd"\ncontact = "a\\u001b[31mb"\n')
    out = inprocess("inspect", "--catalog", "-p", "odd")
    assert out.exit_code == 0 and "\x1b" not in out.stdout and "contact: a\\x1b[31mb" in out.stdout


def test_a_bad_default_is_reported_with_its_line(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "odd.toml").write_text('[product]\nname = "odd"\ndefault = "off"\n')
    out = inprocess("inspect", "--catalog", "-p", "odd")
    assert out.exit_code == 3 and "odd.toml:3" in out.stderr and "'enabled' or 'disabled'" in out.stderr
