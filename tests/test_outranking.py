"""A product that reads its variable before its own files (Ray, gcloud, Azure CLI): a file switch
that says off does not count while the variable holds a value the product does not read as off.
``check``, the Recorder's decision and ``check --json`` all say so; nothing is reported off that
the product will run."""

from __future__ import annotations

import json

import pytest

from conftest import Env, Telemetry
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy.manifests import parse


def _ray_off_in_its_file(isolation: Env) -> None:
    (isolation.home / ".ray").mkdir()
    (isolation.home / ".ray" / "config.json").write_text('{"usage_stats": false}\n')


def _ray(inprocess: Telemetry, env: dict[str, str] | None = None) -> tuple[dict, str]:
    report = json.loads(inprocess("check", "-p", "ray", "--json", env=env).stdout)
    text = inprocess("check", "-p", "ray", env=env).stdout
    return report["products"]["ray"], text


def test_rays_file_off_is_off_while_its_variable_is_unset(inprocess: Telemetry, isolation: Env) -> None:
    _ray_off_in_its_file(isolation)
    ray, text = _ray(inprocess)
    assert ray["collection"]["enabled"] is False and "config.json" in ray["collection"]["origin"]
    assert "outranks" not in text


def test_rays_variable_on_outranks_its_file_off(inprocess: Telemetry, isolation: Env) -> None:
    _ray_off_in_its_file(isolation)
    ray, text = _ray(inprocess, {"RAY_USAGE_STATS_ENABLED": "1"})
    assert ray["collection"]["enabled"] is True  # Ray reads the variable first and reports
    native = {n["kind"]: n for n in ray["native"]}
    assert native["config-file"]["effect"] == "on"
    assert native["config-file"]["outranked_by"] == "RAY_USAGE_STATS_ENABLED=1"
    said = " ".join(text.split())
    assert "~/.ray/config.json usage_stats says off, but RAY_USAGE_STATS_ENABLED=1 outranks it" in said


def test_rays_variable_off_keeps_it_off_and_outranks_nothing(inprocess: Telemetry, isolation: Env) -> None:
    _ray_off_in_its_file(isolation)
    ray, _ = _ray(inprocess, {"RAY_USAGE_STATS_ENABLED": "0"})
    assert ray["collection"]["enabled"] is False
    assert all(n["outranked_by"] is None for n in ray["native"])


def test_the_recorder_asks_the_same_question(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate import Recorder

    _ray_off_in_its_file(isolation)
    assert Recorder("ray", "2.60.0").record("run") is None
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    assert Recorder("ray", "2.60.0").record("run") is not None


def test_outranks_files_is_a_boolean(tmp_path: object) -> None:
    text = ('[product]\nname = "acme"\n[[native]]\nkind = "env"\nfacets = ["collection"]\n'
            'variable = "ACME_TELEMETRY"\noff = "0"\noff_when = "values"\noff_values = ["0"]\n'
            'outranks_files = "yes"\nsource = "https://example.org/acme"\n')
    with pytest.raises(InvalidFileError, match="outranks_files"):
        parse(text.encode(), "acme.toml")


def test_enable_answers_for_this_shell_where_the_variable_outranks_the_file(inprocess: Telemetry,
                                                                             isolation: Env) -> None:
    # the generated environment files are planned from an environment-free copy of the policy; its
    # readings of Ray's file must not become this shell's answer (they were shared once)
    _ray_off_in_its_file(isolation)
    said = inprocess("enable", "-p", "ray", env={"RAY_USAGE_STATS_ENABLED": "1"}).stderr
    assert "stays disabled" not in said
    said = inprocess("enable", "-p", "ray").stderr
    assert "ray collection stays disabled: ~/.ray/config.json usage_stats: false" in " ".join(said.split())


def _sf_off_in_its_file(isolation: Env) -> None:
    (isolation.home / ".sf").mkdir()
    (isolation.home / ".sf" / "config.json").write_text('{"disable-telemetry": "true"}\n')


@pytest.mark.parametrize(("value", "enabled"), [(None, False), ("", False), ("false", True), ("TRUE", False),
                                                ("true", False)])
def test_the_salesforce_clis_variable_outranks_its_file_unless_empty(inprocess: Telemetry, isolation: Env,
                                                                    value: str | None, enabled: bool) -> None:
    # @salesforce/core 9.4.0 configAggregator.js L372-L389: a non-empty SF_DISABLE_TELEMETRY replaces the
    # files' disable-telemetry; @salesforce/telemetry 7.1.9 enabledCheck.js: off only for the text "true".
    # TRUE is a word telemetry-gate does not understand as either: it stays disabled (and drift says
    # the product will send), never enabled by ambiguity
    _sf_off_in_its_file(isolation)
    env = {"SF_DISABLE_TELEMETRY": value} if value is not None else None
    data = json.loads(inprocess("check", "-p", "salesforce-cli", "--json", env=env).stdout)
    assert data["products"]["salesforce-cli"]["collection"]["enabled"] is enabled


@pytest.mark.parametrize(("value", "enabled"), [(None, False), ("1", True), ("0", False)])
def test_yarns_variable_outranks_its_home_rc_file(inprocess: Telemetry, isolation: Env, value: str | None,
                                                  enabled: bool) -> None:
    # @yarnpkg/core 4.9.3: every YARN_* variable is a setting above every .yarnrc.yml
    (isolation.home / ".yarnrc.yml").write_text("enableTelemetry: false\n")
    env = {"YARN_ENABLE_TELEMETRY": value} if value is not None else None
    data = json.loads(inprocess("check", "-p", "yarn", "--json", env=env).stdout)
    assert data["products"]["yarn"]["collection"]["enabled"] is enabled


def test_drift_over_an_outranked_file_names_the_variable_to_unset(inprocess: Telemetry, isolation: Env) -> None:
    # gcloud reads an empty CLOUDSDK_CORE_DISABLE_USAGE_REPORTING as false (on), before its file;
    # telemetry-gate does not understand an empty value as on, so it stays disabled: drift
    base = isolation.home / ".config" / "gcloud"
    (base / "configurations").mkdir(parents=True)
    (base / "active_config").write_text("default")
    (base / "configurations" / "config_default").write_text("[core]\ndisable_usage_reporting = true\n")
    out = inprocess("check", "-p", "gcloud", env={"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": ""})
    said = " ".join((out.stdout + out.stderr).split())
    assert "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING= in this shell outranks" in said, said
    assert "fix: unset CLOUDSDK_CORE_DISABLE_USAGE_REPORTING" in said and "fix: telemetry disable" not in said


@pytest.mark.parametrize(("sf", "sfdx", "enabled"), [(None, "false", True), (None, "true", False),
                                                     ("true", "false", False), ("false", "true", True)])
def test_the_salesforce_clis_old_variable_decides_only_when_the_new_one_is_unset(
        inprocess: Telemetry, isolation: Env, sf: str | None, sfdx: str, enabled: bool) -> None:
    # @salesforce/core 9.4.0 envVars.js resolve(): SFDX_DISABLE_TELEMETRY is copied to
    # SF_DISABLE_TELEMETRY when that is unset or empty; the new name wins when both are set
    _sf_off_in_its_file(isolation)
    env = {"SFDX_DISABLE_TELEMETRY": sfdx, **({"SF_DISABLE_TELEMETRY": sf} if sf is not None else {})}
    data = json.loads(inprocess("check", "-p", "salesforce-cli", "--json", env=env).stdout)
    assert data["products"]["salesforce-cli"]["collection"]["enabled"] is enabled
