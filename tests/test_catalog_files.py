"""Catalogue file switches (issue 22): a product's own opt-out file, written by ``disable`` where the
product itself looks, read back by the product's own rule, transcribed from the code its manifest's
``source`` cites.

For each product: the place per platform as the product computes it; ``disable -p P`` sets the key and
keeps every other byte of the product's file; ``check`` reports the switch off; ``enable`` puts back
what was there; an opt-out the user made inside the product survives ``enable``; and a plain
``telemetry disable`` writes the file ahead for a product not installed here, in a form the product
reads as off (a file holding our key alone).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from conftest import Env, Telemetry, bash_env
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.places import expand, platform_path


def _manifest(product: str) -> Manifest:
    path = SHIPPED / f"{product}.toml"
    return parse(path.read_bytes(), str(path))


def _file_switch(product: str) -> NativeSwitch:
    (switch,) = [s for s in _manifest(product).native if s.kind == "config-file"]
    return switch


# -- the products' own reading rules -----------------------------------------------------------

def _yarn_parse_boolean(value: Any) -> str:
    # @yarnpkg/core 4.9.3 miscUtils.js parseBoolean: exactly these, anything else throws (yarn stops)
    if value in ("true", "1"):
        return "on"
    if value in ("false", "0"):
        return "off"
    return "error"


def _yarn_reads(text: str | None) -> str:
    """Configuration.find: ~/.yarnrc.yml through parseSyml, js-yaml's FAILSAFE schema (every scalar
    is text: ruamel's base loader reads the same), then enableTelemetry (default true) parseBoolean'd."""
    if text is None:
        return "on"
    from ruamel.yaml import YAML

    data = YAML(typ="base").load(text) or {}
    return "on" if "enableTelemetry" not in data else _yarn_parse_boolean(data["enableTelemetry"])


def _sf_reads(text: str | None) -> str:
    """@salesforce/core 9.4.0 ConfigFile.read: JSON (a file that is not JSON is read as {}); then
    @salesforce/telemetry 7.1.9 enabledCheck: getPropertyValue("disable-telemetry") !== "true"."""
    if text is None:
        return "on"
    try:
        data = json.loads(text)
    except ValueError:
        data = {}
    return "off" if data.get("disable-telemetry") == "true" else "on"


def _pydantic_bool(value: Any) -> str:
    # pydantic v2 (lax) bool: a bool as is, 0/1, and these words in any case; else a ValidationError
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int) and value in (0, 1):
        return "on" if value else "off"
    if isinstance(value, str) and value.lower() in ("0", "off", "f", "false", "n", "no"):
        return "off"
    if isinstance(value, str) and value.lower() in ("1", "on", "t", "true", "y", "yes"):
        return "on"
    return "error"


def _zenml_reads(text: str | None) -> str:
    """zenml 0.98.0 GlobalConfiguration._read_config: yaml.safe_load (YAML 1.1), None or a non-mapping
    is {}; pydantic fills the rest: analytics_opt_in defaults to True."""
    if text is None:
        return "on"
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 1)  # PyYAML's safe_load reads YAML 1.1
    data = yaml.load(text)
    if not isinstance(data, dict):
        data = {}
    return _pydantic_bool(data.get("analytics_opt_in", True))



def _turbo_reads(text: str | None) -> str:
    """turborepo-telemetry config.rs TelemetryConfig::new: no file -> a new one, enabled; not JSON ->
    deleted and written anew, enabled; serde needs telemetry_enabled (a bool), telemetry_id and
    telemetry_salt (strings), else an error and no telemetry at all; is_enabled: telemetry_enabled."""
    if text is None:
        return "on"
    try:
        data = json.loads(text)
    except ValueError:
        return "on"
    if not isinstance(data, dict) or not isinstance(data.get("telemetry_enabled"), bool) \
            or not all(isinstance(data.get(k), str) for k in ("telemetry_id", "telemetry_salt")):
        return "error"
    return "on" if data["telemetry_enabled"] else "off"

class Case(NamedTuple):
    product: str
    where: str  # the file below the isolated home, on Linux with XDG_CONFIG_HOME=~/.config
    reads: Callable[[str | None], str]
    original: str  # a file as the product writes it, telemetry on
    disabled: str  # the same file after `telemetry disable -p P`: one value changed
    user_off: str  # a file in which the user turned telemetry off inside the product


# serde_json::to_string_pretty of TelemetryConfigContents, as `turbo` writes it
_TURBO = ('{{\n  "telemetry_enabled": {},\n'
          '  "telemetry_id": "3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a",\n'
          '  "telemetry_salt": "6c1f3d2a-9b8e-4f7a-a1b2-c3d4e5f60718"{}\n}}')
CASES = [
    Case("yarn", ".yarnrc.yml", _yarn_reads,
         'npmRegistryServer: "https://registry.example.org"\nenableTelemetry: true\n',
         'npmRegistryServer: "https://registry.example.org"\nenableTelemetry: false\n',
         "enableTelemetry: false\n"),
    Case("salesforce-cli", ".sf/config.json", _sf_reads,
         '{\n  "target-org": "me@example.com",\n  "disable-telemetry": "false"\n}',
         '{\n  "target-org": "me@example.com",\n  "disable-telemetry": "true"\n}',
         '{\n  "disable-telemetry": "true"\n}'),
    Case("zenml", ".config/zenml/config.yaml", _zenml_reads,
         "active_stack_id: 0f6c1a2e-6d0e-4d43-9a52-1c1f0c6e2b11\nanalytics_opt_in: true\n"
         "store:\n  type: sql\n  url: sqlite:////home/u/.config/zenml/local_stores/default/zenml.db\n"
         "user_id: 8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\nversion: 0.98.0\n",
         "active_stack_id: 0f6c1a2e-6d0e-4d43-9a52-1c1f0c6e2b11\nanalytics_opt_in: false\n"
         "store:\n  type: sql\n  url: sqlite:////home/u/.config/zenml/local_stores/default/zenml.db\n"
         "user_id: 8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\nversion: 0.98.0\n",
         "analytics_opt_in: false\nuser_id: 8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\nversion: 0.98.0\n"),
    Case("turborepo", ".config/turborepo/telemetry.json", _turbo_reads,
         _TURBO.format("true", ',\n  "telemetry_alerted": "2026-01-02T03:04:05.678Z"'),
         _TURBO.format("false", ',\n  "telemetry_alerted": "2026-01-02T03:04:05.678Z"'),
         _TURBO.format("false", "")),
]
IDS = [c.product for c in CASES]


def _native(inprocess: Telemetry, product: str) -> dict[str, Any]:
    (state,) = [n for n in json.loads(inprocess("check", "--json").stdout)["products"][product]["native"]
                if n["kind"] == "config-file"]
    return state


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_rule_reads_our_off_as_off_and_our_on_as_on(case: Case) -> None:
    assert case.reads(case.original) == "on" and case.reads(case.disabled) == "off"
    assert case.reads(case.user_off) == "off" and case.reads(None) == "on"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_disable_sets_the_key_keeping_every_other_byte_and_enable_puts_it_back(case: Case, inprocess: Telemetry,
                                                                               isolation: Env) -> None:
    config = isolation.home / case.where
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(case.original)
    assert _native(inprocess, case.product)["effect"] == "on"
    assert inprocess("disable", "-p", case.product).exit_code == 0
    assert config.read_text() == case.disabled
    assert case.reads(config.read_text()) == "off"
    assert _native(inprocess, case.product)["effect"] == "off"
    assert inprocess("enable", "-p", case.product).exit_code == 0
    assert config.read_text() == case.original
    assert case.reads(config.read_text()) == "on"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_enable_keeps_an_opt_out_made_inside_the_product(case: Case, inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / case.where
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(case.user_off)
    assert inprocess("disable", "-p", case.product).exit_code == 0
    assert config.read_text() == case.user_off  # already off: nothing written, nothing journalled
    result = inprocess("enable", "-p", case.product)
    assert result.exit_code == 0
    assert config.read_text() == case.user_off and case.reads(config.read_text()) == "off"
    assert "kept" in result.stderr + result.stdout


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_disable_writes_the_file_ahead_in_a_form_the_product_reads_as_off(case: Case, inprocess: Telemetry,
                                                                          isolation: Env) -> None:
    config = isolation.home / case.where
    assert inprocess("disable").exit_code == 0
    assert config.is_file() and case.reads(config.read_text()) == "off"
    assert (config.stat().st_mode & 0o777) == 0o600
    assert inprocess("enable").exit_code == 0
    assert case.reads(config.read_text()) == "on"


def test_a_value_the_product_does_not_read_as_off_is_not_reported_off(inprocess: Telemetry,
                                                                      isolation: Env) -> None:
    # the JSON boolean true is on for the Salesforce CLI (!== "true"); yarn stops on "no"
    sf = isolation.home / ".sf" / "config.json"
    sf.parent.mkdir()
    sf.write_text('{"disable-telemetry": true}')
    assert _sf_reads(sf.read_text()) == "on" and _native(inprocess, "salesforce-cli")["effect"] != "off"
    yarnrc = isolation.home / ".yarnrc.yml"
    yarnrc.write_text('enableTelemetry: "1"\n')
    assert _yarn_reads(yarnrc.read_text()) == "on" and _native(inprocess, "yarn")["effect"] != "off"


@pytest.mark.parametrize(("product", "platform", "environ", "expected"), [
    # Yarn: folderUtils.getHomeFolder() = os.homedir() on every platform
    ("yarn", "linux", {"HOME": "/h"}, "/h/.yarnrc.yml"),
    ("yarn", "macos", {"HOME": "/h"}, "/h/.yarnrc.yml"),
    ("yarn", "windows", {"HOME": "/h", "APPDATA": "/a"}, "/h/.yarnrc.yml"),
    # Salesforce CLI: ConfigFile.resolveRootFolder(true) = homedir(), then .sf/config.json
    ("salesforce-cli", "linux", {"HOME": "/h"}, "/h/.sf/config.json"),
    ("salesforce-cli", "windows", {"HOME": "/h", "APPDATA": "/a"}, "/h/.sf/config.json"),
    # ZenML: click.get_app_dir("zenml") (click 8.3.3 utils.py L483-L498)
    ("zenml", "linux", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/zenml/config.yaml"),
    ("zenml", "linux", {"HOME": "/h"}, "/h/.config/zenml/config.yaml"),
    ("zenml", "macos", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/h/Library/Application Support/zenml/config.yaml"),
    ("zenml", "windows", {"HOME": "/h", "APPDATA": "/a/Roaming"}, "/a/Roaming/zenml/config.yaml"),
    ("zenml", "freebsd", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/zenml/config.yaml"),
    # Turborepo: dirs_next::config_dir() joined with turborepo/telemetry.json
    ("turborepo", "linux", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/turborepo/telemetry.json"),
    ("turborepo", "linux", {"HOME": "/h"}, "/h/.config/turborepo/telemetry.json"),
    ("turborepo", "macos", {"HOME": "/h"}, "/h/Library/Application Support/turborepo/telemetry.json"),
    ("turborepo", "windows", {"HOME": "/h", "APPDATA": "/a/Roaming"}, "/a/Roaming/turborepo/telemetry.json"),
])
def test_the_file_is_where_the_product_puts_it_on_each_platform(product: str, platform: str,
                                                                 environ: dict[str, str], expected: str) -> None:
    switch = _file_switch(product)
    template = platform_path(switch.paths, platform) if switch.paths else switch.path
    assert str(expand(template, environ)) == expected


def test_the_limits_no_longer_say_the_file_is_left_alone() -> None:
    for product in IDS:
        manifest = _manifest(product)
        assert not [limit for limit in manifest.limits if "does not write it" in limit or "sets only the variable"
                    in limit], product
        assert {s.kind for s in manifest.native} == {"env", "config-file"}



def test_turbo_gets_the_id_and_salt_it_cannot_run_without(inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / ".config" / "turborepo" / "telemetry.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"telemetry_enabled": true}')  # turbo's serde refuses this file: no telemetry, errors
    assert _turbo_reads(config.read_text()) == "error"
    assert inprocess("disable", "-p", "turborepo").exit_code == 0
    data = json.loads(config.read_text())
    assert _turbo_reads(config.read_text()) == "off" and data["telemetry_id"] != data["telemetry_salt"]


def test_vagrants_update_facet_is_off_only_when_both_its_checks_are(inprocess: Telemetry,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Vagrant 2.4.9 phones home twice: the checkpoint (version and alerts) and, on `vagrant up`, the
    box update check; VAGRANT_CHECKPOINT_DISABLE stops the first only."""
    monkeypatch.setenv("VAGRANT_CHECKPOINT_DISABLE", "1")
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["vagrant"]
    assert facets["upload"]["enabled"] is False and facets["update"]["enabled"] is True
    monkeypatch.setenv("VAGRANT_BOX_UPDATE_CHECK_DISABLE", "1")
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["vagrant"]
    assert facets["update"]["enabled"] is False
    monkeypatch.delenv("VAGRANT_CHECKPOINT_DISABLE")
    monkeypatch.delenv("VAGRANT_BOX_UPDATE_CHECK_DISABLE")
    assert inprocess("disable", "update", "-p", "vagrant").exit_code == 0
    shell = bash_env('eval "$(telemetry shell-init bash)"')
    assert shell["VAGRANT_BOX_UPDATE_CHECK_DISABLE"].strip() != ""  # Vagrant: not blank is off
    assert inprocess("disable", "-p", "vagrant").exit_code == 0
    shell = bash_env('eval "$(telemetry shell-init bash)"')
    assert shell["VAGRANT_BOX_UPDATE_CHECK_DISABLE"].strip() != "" and "VAGRANT_CHECKPOINT_DISABLE" in shell


@pytest.mark.parametrize(("product", "where"), [
    ("zenml", "Library/Application Support/zenml/config.yaml"),  # click.get_app_dir on darwin
    ("turborepo", "Library/Application Support/turborepo/telemetry.json"),  # dirs_next::config_dir on macOS
])
def test_on_macos_disable_writes_the_products_own_file(product: str, where: str, inprocess: Telemetry,
                                                       isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "platform", "darwin")
    case = next(c for c in CASES if c.product == product)
    config = isolation.home / where
    config.parent.mkdir(parents=True)
    config.write_text(case.original)
    assert inprocess("disable", "-p", product).exit_code == 0
    assert config.read_text() == case.disabled and case.reads(config.read_text()) == "off"
    assert not (isolation.home / case.where).exists()  # not the Linux place
    state = _native(inprocess, product)
    assert state["effect"] == "off" and "Library/Application Support" in state["where"]
