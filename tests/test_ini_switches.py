"""INI switches as gcloud and the Azure CLI write them: a key under its [section], words read by the
product's own rule, and gcloud's active configuration (a file named by another file).

Each product's reading is transcribed from the code its manifest cites and run against the file
telemetry-gate leaves: gcloud (578.0.0) reads ``configparser`` then ``_GetBoolProperty`` - the
lower-cased value in 1, true, on, yes, y is true (off); the Azure CLI (2.91.0, knack 0.14.0) reads
``configparser`` then ``getboolean`` - 1, yes, true, on keep it on, 0, no, false, off turn it off,
any other word raises and is_telemetry_enabled() returns None (off).
"""

from __future__ import annotations

import configparser
import json
import os
from pathlib import Path

import pytest

from conftest import Env, Telemetry, install_tools


def _gcloud_disabled(config: Path) -> bool:
    parser = configparser.ConfigParser()
    parser.read(config)
    try:
        value = parser.get("core", "disable_usage_reporting")
    except (configparser.NoSectionError, configparser.NoOptionError):
        return False  # None: the installation's default (on)
    return value.lower() in ["1", "true", "on", "yes", "y"]


def _azure_enabled(config: Path) -> bool:
    parser = configparser.ConfigParser()
    parser.read(config)
    value = parser.get("core", "collect_telemetry", fallback="true")
    states = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}
    return states.get(value.lower()) is True  # ValueError -> None -> off


def _gcloud_home(isolation: Env) -> Path:
    base = isolation.home / ".config" / "gcloud"
    (base / "configurations").mkdir(parents=True)
    return base


def _native(inprocess: Telemetry, product: str, env: dict[str, str] | None = None) -> tuple[dict, dict]:
    data = json.loads(inprocess("check", "-p", product, "--json", env=env).stdout)["products"][product]
    (state,) = [n for n in data["native"] if n["kind"] == "config-file"]
    return data, state


GCLOUD_CONFIG = "[core]\naccount = someone@example.org\nproject = my-project\n\n[compute]\nregion = europe-west1\n"


def test_disable_writes_the_active_configuration_keeping_every_other_byte(inprocess: Telemetry,
                                                                          isolation: Env) -> None:
    base = _gcloud_home(isolation)
    (base / "active_config").write_text("work")
    work = base / "configurations" / "config_work"
    work.write_text(GCLOUD_CONFIG)
    (base / "configurations" / "config_default").write_text("[core]\naccount = other@example.org\n")
    assert inprocess("disable", "-p", "gcloud").exit_code == 0
    assert _gcloud_disabled(work)
    assert work.read_text() == GCLOUD_CONFIG.replace("my-project\n", "my-project\ndisable_usage_reporting = true\n")
    assert not _gcloud_disabled(base / "configurations" / "config_default")  # not the active one
    data, state = _native(inprocess, "gcloud")
    assert state["effect"] == "off" and state["where"] == "~/.config/gcloud/configurations/config_work " \
        "core.disable_usage_reporting"
    assert data["collection"]["enabled"] is False
    assert inprocess("enable", "-p", "gcloud").exit_code == 0
    assert not _gcloud_disabled(work)
    assert "account = someone@example.org" in work.read_text() and "region = europe-west1" in work.read_text()


def test_the_variable_names_the_active_configuration_before_the_pointer_file(inprocess: Telemetry,
                                                                             isolation: Env) -> None:
    base = _gcloud_home(isolation)
    (base / "active_config").write_text("work")
    (base / "configurations" / "config_work").write_text("[core]\ndisable_usage_reporting = True\n")
    (base / "configurations" / "config_ci").write_text("[core]\naccount = ci@example.org\n")
    data, state = _native(inprocess, "gcloud")
    assert data["collection"]["enabled"] is False and state["effect"] == "off"  # True, any case
    data, state = _native(inprocess, "gcloud", {"CLOUDSDK_ACTIVE_CONFIG_NAME": "ci"})
    assert state["effect"] == "on" and "config_ci" in state["where"] and data["collection"]["enabled"] is True


@pytest.mark.parametrize(("word", "off"), [("true", True), ("TRUE", True), ("1", True), ("on", True),
                                           ("yes", True), ("y", True), ("false", False), ("0", False),
                                           ("none", False), ("maybe", False)])
def test_gcloud_reads_its_words_as_its_own_rule_says(inprocess: Telemetry, isolation: Env, word: str,
                                                     off: bool) -> None:
    base = _gcloud_home(isolation)
    config = base / "configurations" / "config_default"
    (base / "active_config").write_text("default")
    config.write_text(f"[core]\ndisable_usage_reporting = {word}\n")
    assert _gcloud_disabled(config) is off
    data, state = _native(inprocess, "gcloud")
    assert (state["effect"] == "off") is off and data["collection"]["enabled"] is not off


def test_no_active_configuration_yet_is_read_but_never_written(inprocess: Telemetry, isolation: Env) -> None:
    base = _gcloud_home(isolation)  # gcloud's first run would replace config_default wholesale
    out = inprocess("disable", "-p", "gcloud")
    assert out.exit_code == 0
    assert "has no active configuration yet" in " ".join(out.stderr.split())
    assert list((base / "configurations").iterdir()) == [] and not (base / "active_config").exists()
    _, state = _native(inprocess, "gcloud")
    assert state["effect"] == "on" and "config_default" in state["where"]


@pytest.mark.parametrize("pointer", [None, "fifo", "Work"])
def test_a_file_not_written_is_never_said_to_stop_anything(inprocess: Telemetry, isolation: Env,
                                                          pointer: str | None) -> None:
    """No active configuration yet, a FIFO or a name gcloud would not use: the file is not
    written, so nothing may say that gcloud "reads it itself" and stops."""
    base = _gcloud_home(isolation)
    if pointer == "fifo":
        os.mkfifo(base / "active_config")
    elif pointer is not None:
        (base / "active_config").write_text(pointer)
    out = inprocess("disable", "-p", "gcloud")
    said = " ".join((out.stdout + out.stderr).split())
    assert out.exit_code == 0 and "not written" in said
    assert "stops: it reads" not in said


def test_a_pointer_is_never_read_through_a_link_out_of_the_products_directory(inprocess: Telemetry,
                                                                             isolation: Env) -> None:
    """The pointer file is another product's file (SPEC 6b): a link out of gcloud's directory is
    not followed, so a name found elsewhere is neither shown nor used to write a file."""
    base = _gcloud_home(isolation)
    secret = isolation.home / "secret"
    secret.write_text("hunter")
    (base / "active_config").symlink_to(secret)
    out = inprocess("disable", "-p", "gcloud")
    assert out.exit_code == 0 and "not written" in out.stderr
    assert list((base / "configurations").iterdir()) == []
    check = inprocess("check", "-p", "gcloud", "--json")
    assert "hunter" not in check.stdout + check.stderr
    assert "symbolic link" in check.stdout


@pytest.mark.parametrize("pointer", ["../../../.ssh/config", "Work", "NONE", "default\n", "x" * 300, ""])
def test_a_pointer_gcloud_would_not_use_leads_nowhere(inprocess: Telemetry, isolation: Env, pointer: str) -> None:
    base = _gcloud_home(isolation)
    (base / "active_config").write_text(pointer)
    ssh = isolation.home / ".ssh"
    ssh.mkdir()
    (ssh / "config").write_text("Host *\n")
    before = isolation.files()
    out = inprocess("disable", "-p", "gcloud")
    assert out.exit_code == 0, out.stderr
    written = {p[len(str(isolation.root)):] for p, v in isolation.files().items() if before.get(p) != v}
    assert not [p for p in written if "gcloud" in p or ".ssh" in p]
    assert (ssh / "config").read_text() == "Host *\n"
    check = inprocess("check", "-p", "gcloud")
    assert "Traceback" not in check.stderr and check.exit_code == 0
    if pointer:  # an empty pointer counts as missing: the default configuration
        assert "cannot read gcloud's own switch" in " ".join(check.stdout.split() + check.stderr.split())


def test_gclouds_variable_outranks_its_properties_file(inprocess: Telemetry, isolation: Env) -> None:
    base = _gcloud_home(isolation)
    (base / "active_config").write_text("default")
    (base / "configurations" / "config_default").write_text("[core]\ndisable_usage_reporting = true\n")
    data, state = _native(inprocess, "gcloud", {"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "false"})
    assert data["collection"]["enabled"] is True
    assert state["outranked_by"] == "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=false"


AZURE_CONFIG = "[cloud]\nname = AzureCloud\n\n[core]\noutput = json\nfirst_run = yes\n"


def test_disable_and_enable_reach_the_azure_cli_config(inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / ".azure" / "config"
    config.parent.mkdir()
    config.write_text(AZURE_CONFIG)
    env = install_tools(isolation, "az")
    assert _azure_enabled(config)
    assert inprocess("disable", "-p", "azure-cli", env=env).exit_code == 0
    assert not _azure_enabled(config)
    assert config.read_text() == AZURE_CONFIG + "collect_telemetry = no\n"
    assert inprocess("enable", "-p", "azure-cli", env=env).exit_code == 0
    assert _azure_enabled(config)
    assert config.read_text().startswith("[cloud]\nname = AzureCloud\n\n[core]\noutput = json\nfirst_run = yes\n")


@pytest.mark.parametrize("word", ["no", "No", "0", "false", "OFF", "maybe", "yes", "Yes", "1", "on", "TRUE"])
def test_the_azure_cli_reads_its_words_as_its_own_rule_says(inprocess: Telemetry, isolation: Env, word: str) -> None:
    config = isolation.home / ".azure" / "config"
    config.parent.mkdir()
    config.write_text(f"[core]\ncollect_telemetry = {word}\n")
    data, state = _native(inprocess, "azure-cli")
    assert (state["effect"] == "on") is _azure_enabled(config)
    assert data["collection"]["enabled"] is _azure_enabled(config)


@pytest.mark.parametrize(("rule", "problem"), [
    ('off_when = "values"\noff_values = ["true"]\noff = "false"\non = "true"', "its own rule"),
    ('off_when = "sometimes"\noff_values = ["true"]\noff = "true"\non = "false"', "off_when"),
    ('off_when = "values"\non_values = ["true"]\noff = "true"\non = "false"', "off_when"),
])
def test_an_ini_rule_that_contradicts_itself_is_refused(tmp_path: Path, rule: str, problem: str) -> None:
    from telemetry_gate.errors import InvalidFileError
    from telemetry_gate.policy.manifests import parse

    text = ('[product]\nname = "acme"\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
            'path = "~/.acme/config"\nformat = "ini"\nkey = "core.telemetry"\n'
            f'{rule}\nsource = "https://example.org/acme"\n')
    with pytest.raises(InvalidFileError, match=problem):
        parse(text.encode(), str(tmp_path / "acme.toml"))


@pytest.mark.parametrize(("path", "active"), [
    ('"~/.acme/config_{active}"', None),
    ('"~/.acme/{active}/config"', '{ file = "~/.acme/active", default = "default", pattern = "[a-z]+" }'),
    ('"~/.acme/config_{active}"', '{ file = "~/.acme/active", default = "../x", pattern = ".*" }'),
    ('"~/.acme/config_{active}"', '{ file = "~/.acme/active", default = "d", pattern = "[" }'),
    ('"~/.acme/config_{active}"', '{ file = "~/.acme/active", default = "d", pattern = "d", variable = "a b" }'),
])
def test_an_active_configuration_is_declared_narrowly(tmp_path: Path, path: str, active: str | None) -> None:
    from telemetry_gate.errors import InvalidFileError
    from telemetry_gate.policy.manifests import parse

    text = ('[product]\nname = "acme"\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
            f'path = {path}\nformat = "ini"\nkey = "core.telemetry"\noff = "true"\non = "false"\n'
            + (f"active = {active}\n" if active else "") + 'source = "https://example.org/acme"\n')
    with pytest.raises(InvalidFileError, match=r"\{active\}|active"):
        parse(text.encode(), str(tmp_path / "acme.toml"))


def test_a_products_d_manifest_may_point_only_at_the_products_own_pointer_file(isolation: Env,
                                                                                inprocess: Telemetry) -> None:
    from telemetry_gate.policy.manifests import SHIPPED

    shipped = (SHIPPED / "gcloud.toml").read_text()
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "gcloud.toml").write_text(shipped)  # a copy of the shipped manifest keeps its powers
    products = json.loads(inprocess("products", "--json").stdout)
    assert not products["errors"]
    (folder / "gcloud.toml").write_text(shipped.replace('file = { linux = "~/.config/gcloud/active_config"',
                                                        'file = { linux = "~/.ssh/id_ed25519"'))
    products = json.loads(inprocess("products", "--json").stdout)
    assert any("active file '~/.ssh/id_ed25519'" in e for e in products["errors"]), products["errors"]


@pytest.mark.parametrize("pattern", ["(a|aa)*b", "(b+)+", "a*a*a*a*a*a*b", "[a-z]+|x", r"\\w+"])
def test_an_active_pattern_cannot_make_check_take_forever(tmp_path: Path, pattern: str) -> None:
    """Matched against each name found (up to 128 characters, from a file or a variable), a
    pattern with groups, alternation or many repeats backtracks exponentially: `(a|aa)*b`
    against 40 a's took 28 s in check. Only letters and character classes, at most two of them
    repeated, are taken."""
    from telemetry_gate.errors import InvalidFileError
    from telemetry_gate.policy.manifests import parse

    text = ('[product]\nname = "acme"\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
            'path = "~/.acme/telemetry_{active}"\nformat = "ini"\nkey = "core.telemetry"\noff = "true"\n'
            f'on = "false"\nactive = {{ file = "~/.acme/active", default = "b", pattern = "{pattern}" }}\n'
            'source = "https://example.org/acme"\n')
    with pytest.raises(InvalidFileError, match="pattern"):
        parse(text.encode(), str(tmp_path / "acme.toml"))


def test_enable_undoes_what_disable_wrote_in_a_configuration_no_longer_active(inprocess: Telemetry,
                                                                            isolation: Env) -> None:
    """disable writes the active configuration's file (work); the user then activates another
    (personal) and runs enable: work's file is given back too, as the journal says we changed it,
    while a configuration the user turned off in gcloud itself keeps its choice."""
    base = _gcloud_home(isolation)
    (base / "active_config").write_text("work")
    work, personal, own = (base / "configurations" / f"config_{n}" for n in ("work", "personal", "own"))
    work.write_text("[core]\naccount = a\n")
    personal.write_text("[core]\naccount = b\n")
    own.write_text("[core]\ndisable_usage_reporting = true\n")
    assert inprocess("disable", "-p", "gcloud").exit_code == 0
    assert _gcloud_disabled(work)
    (base / "active_config").write_text("personal")
    out = inprocess("enable", "-p", "gcloud")
    assert out.exit_code == 0
    assert not _gcloud_disabled(work) and work.read_text().startswith("[core]\naccount = a\n")
    assert "config_work" in out.stderr
    assert _gcloud_disabled(own) and not _gcloud_disabled(personal)
    (base / "active_config").write_text("work")
    assert inprocess("check", "collection", "-p", "gcloud", "--quiet").exit_code == 0


@pytest.mark.parametrize("how", ["variable", "pointer"])
def test_a_configuration_gcloud_never_made_is_not_created(inprocess: Telemetry, isolation: Env, how: str) -> None:
    # gcloud refuses to set a property in a configuration that does not exist (named_configs.py
    # L411-L414), and 'gcloud config configurations create NAME' fails once the file is there
    base = _gcloud_home(isolation)
    (base / "active_config").write_text("work" if how == "pointer" else "default")
    (base / "configurations" / "config_default").write_text("[core]\naccount = a@example.org\n")
    env = {"CLOUDSDK_ACTIVE_CONFIG_NAME": "wrok"} if how == "variable" else None
    out = inprocess("disable", "-p", "gcloud", env=env)
    assert out.exit_code == 0, out.stderr
    assert sorted(p.name for p in (base / "configurations").iterdir()) == ["config_default"]
    assert "has no configuration named" in " ".join(out.stderr.split())
