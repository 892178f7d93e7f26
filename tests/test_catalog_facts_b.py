"""Catalogue facts, second set (issue 22 item 4): each product's own decision rule, transcribed from
the code its manifest cites, held against what the manifest declares, both ways.

``READS`` answers, for one value of the product's variable, what the product itself does with
it: ``"off"`` (no telemetry), ``"on"``, or ``"error"`` (the product refuses the value and stops,
or ignores it and keeps its default; either way it must never be reported as off). Unset is on
for every product here. Each rule cites its code; the manifest's ``source`` points at the same.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from conftest import bash_env as _bash_env
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import read

Rule = Callable[[str], str]


def _on_off(off: bool) -> str:
    return "off" if off else "on"


def _mlflow(value: str) -> str:
    # environment_variables.py _BooleanEnvironmentVariable.get: lowercased, not stripped; an
    # unknown word raises ValueError, which is_telemetry_disabled() catches and answers True
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        return "off"
    return _on_off(lowered in ("true", "1"))


def _pydantic_v2_bool(value: str) -> str:
    # pydantic-core str -> bool: these words in any case, nothing stripped; else a ValidationError
    lowered = value.lower()
    if lowered in ("0", "off", "f", "false", "n", "no"):
        return "off"  # ZENML_ANALYTICS_OPT_IN=false: analytics off
    if lowered in ("1", "on", "t", "true", "y", "yes"):
        return "on"
    return "error"  # global_config.py catches the ValidationError and keeps analytics_opt_in


def _deepeval(value: str) -> str:
    # config/utils.py parse_bool: stripped, quotes removed, lowercased; truthy opt-out means off
    token = value.strip().strip('"').strip("'").lower()
    return _on_off(token in {"1", "true", "t", "yes", "y", "on", "enable", "enabled"})



def _fastlane(value: str) -> str:
    # fastlane_core/env.rb truthy?: `return false unless ENV[env]` (an empty string is set in Ruby);
    # `return false if ["no", "false", "off", "0"].include?(ENV[env].to_s)`; else true (opted out)
    return _on_off(value not in ("no", "false", "off", "0"))


def _wrangler(value: str) -> str:
    # factory.ts getBooleanEnvironmentVariableFactory: switch on value.toLowerCase(): "true", "false",
    # anything else throws a UserError; WRANGLER_SEND_METRICS=false means no metrics
    lowered = value.lower()
    return {"true": "on", "false": "off"}.get(lowered, "error")


def _storybook(value: str) -> str:
    # envs.ts optionalEnvToBoolean, the default of --disable-telemetry
    if value.upper() == "FALSE" or value == "0":
        return "on"
    if value.upper() == "TRUE" or value == "1":
        return "off"
    return _on_off(bool(value))


def _expo(value: str) -> str:
    # @expo/env getenv.js boolish
    if value.lower() == "true" or value == "1":
        return "off"
    if value.lower() == "false" or value == "0":
        return "on"
    return "error"



def _yarn(value: str) -> str:
    # @yarnpkg/core miscUtils.js parseBoolean: exactly "true"/"1" or "false"/"0", else it throws
    return {"true": "on", "1": "on", "false": "off", "0": "off"}.get(value, "error")



def _dlt(value: str) -> str:
    # dlt/common/utils.py str2bool (bool from text): a false word is telemetry off
    if value.lower() in ("no", "false", "f", "n", "0"):
        return "off"
    return "on" if value.lower() in ("yes", "true", "t", "y", "1") else "error"



def _soda(value: str) -> str:
    # soda_core/common/utils.py strtobool: lowercased; a false word means telemetry off; else raises
    if value.lower() in ("n", "no", "f", "false", "off", "0"):
        return "off"
    return "on" if value.lower() in ("y", "yes", "t", "true", "on", "1") else "error"


READS: dict[str, dict[str, Rule]] = {
    "mlflow": {"MLFLOW_DISABLE_TELEMETRY": _mlflow},
    # kedro_telemetry/plugin.py: `if os.environ.get(env_var): return False`
    "kedro": {"KEDRO_DISABLE_TELEMETRY": lambda v: _on_off(bool(v))},
    # utils/common.py: `bool(os.getenv("YDATA_PROFILING_NO_ANALYTICS")) is not True` sends
    "ydata-profiling": {"YDATA_PROFILING_NO_ANALYTICS": lambda v: _on_off(bool(v))},
    "zenml": {"ZENML_ANALYTICS_OPT_IN": _pydantic_v2_bool},
    # _analytics.py: os.environ.get("RAGAS_DO_NOT_TRACK", "False").lower() == "true"
    "ragas": {"RAGAS_DO_NOT_TRACK": lambda v: _on_off(v.lower() == "true")},
    "deepeval": {"DEEPEVAL_TELEMETRY_OPT_OUT": _deepeval},
    # telemetry/index.ts: `if (process.env.VERCEL_TELEMETRY_DISABLED) return false`
    "vercel": {"VERCEL_TELEMETRY_DISABLED": lambda v: _on_off(bool(v))},
    # analytics_telemetry.go TelemetryOptedOut: strings.ToLower(v) == "1" || == "true"
    "stripe-cli": {"STRIPE_CLI_TELEMETRY_OPTOUT": lambda v: _on_off(v.lower() in ("1", "true"))},
    "fastlane": {"FASTLANE_OPT_OUT_USAGE": _fastlane},
    "wrangler": {"WRANGLER_SEND_METRICS": _wrangler},
    "storybook": {"STORYBOOK_DISABLE_TELEMETRY": _storybook},
    "expo": {"EXPO_NO_TELEMETRY": _expo},
    "yarn": {"YARN_ENABLE_TELEMETRY": _yarn},
    # config.rs is_enabled: turbo_telemetry_disabled == "1" || == "true"
    "turborepo": {"TURBO_TELEMETRY_DISABLED": lambda v: _on_off(v in ("1", "true"))},
    # utils.py _telemetry_opt_out: bool((os.getenv("SCARF_NO_ANALYTICS") or "").strip())
    "unstructured": {"SCARF_NO_ANALYTICS": lambda v: _on_off(bool(v.strip()))},
    # usage_stats/__init__.py: os.getenv("WHYLOGS_NO_ANALYTICS") is not None
    "whylogs": {"WHYLOGS_NO_ANALYTICS": lambda v: "off"},
    # anonymous_telemetry.py: os.environ.get("DISABLE_DEEPCHECKS_ANONYMOUS_TELEMETRY", False) or ...
    "deepchecks": {"DISABLE_DEEPCHECKS_ANONYMOUS_TELEMETRY": lambda v: _on_off(bool(v))},
    # usage_logging.py: if "NML_DISABLE_USAGE_LOGGING" in os.environ: return
    "nannyml": {"NML_DISABLE_USAGE_LOGGING": lambda v: "off"},
    # memory/telemetry.py: MEM0_TELEMETRY = value.lower() in ("true", "1", "yes"); telemetry only if true
    "mem0": {"MEM0_TELEMETRY": lambda v: _on_off(v.lower() not in ("true", "1", "yes"))},
    # crewai_core/telemetry.py 1.15.17: os.getenv("CREWAI_DISABLE_TELEMETRY", "false").lower() == "true"
    "crewai": {"CREWAI_DISABLE_TELEMETRY": lambda v: _on_off(v.lower() == "true")},
    "dlt": {"RUNTIME__DLTHUB_TELEMETRY": _dlt},
    # cli/env_utils.py get_boolean_env_variable: value.lower() in ("true", "1") is on, any other off
    "datahub": {"DATAHUB_TELEMETRY_ENABLED": lambda v: _on_off(v.lower() not in ("true", "1"))},
    # usage_stats.py do_not_track: os.environ.get("BENTOML_DO_NOT_TRACK", "False").lower() == "true"
    "bentoml": {"BENTOML_DO_NOT_TRACK": lambda v: _on_off(v.lower() == "true")},
    "soda-core": {"SODA_CORE_TELEMETRY_ENABLED": _soda},
    # enabledCheck.js: getPropertyValue("disable-telemetry") !== "true"; an empty variable is skipped
    # by ConfigAggregator (`if (value)`), leaving the (here absent) config files: on
    "salesforce-cli": {"SF_DISABLE_TELEMETRY": lambda v: _on_off(v == "true"),
                       "SFDX_DISABLE_TELEMETRY": lambda v: _on_off(v == "true")},  # copied to SF_ (envVars.js)
    # helpers/telemetry.py: os.getenv("SCARF_NO_ANALYTICS") != "true" sends
    "pandasai": {"SCARF_NO_ANALYTICS": lambda v: _on_off(v == "true")},
    # lib/telemetry.ts computeTelemetryEffective: getEnv()["SENTRY_CLI_NO_TELEMETRY"] === "1"
    "sentry": {"SENTRY_CLI_NO_TELEMETRY": lambda v: _on_off(v == "1")},
    # envs.py: os.environ.get("VLLM_NO_USAGE_STATS", "0") == "1"
    "vllm": {"VLLM_NO_USAGE_STATS": lambda v: _on_off(v == "1")},
    # env_options.py Options.get: os.getenv(name, "False").lower() in ("true", "1")
    "skypilot": {"SKYPILOT_DISABLE_USAGE_COLLECTION": lambda v: _on_off(v.lower() in ("true", "1"))},
}

SAMPLES = ["", " ", "0", "1", "2", "-1", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "YES", "no",
           "on", "off", "OFF", "y", "n", "t", "f", "auto", "maybe", " true", "true ", " 1", "1 ", " false",
           "false ", " 0", '"1"', "enable", "disabled", "tRuE"]


def _manifest(product: str) -> Manifest:
    path = SHIPPED / f"{product}.toml"
    return parse(path.read_bytes(), str(path))


MANIFESTS = {product: _manifest(product) for product in READS}
SWITCHES = [(product, variable) for product, rules in READS.items() for variable in rules]


def _switch(product: str, variable: str) -> NativeSwitch:
    (switch,) = [s for s in MANIFESTS[product].native if s.kind == "env" and s.variable == variable]
    return switch


# Where the declared rule is narrower than the product's (an unknown word the product also reads as
# off), the difference is only in the safe direction; these are the values it leaves out.
NARROWER = {
    ("deepeval", "DEEPEVAL_TELEMETRY_OPT_OUT"): {'"1"'},  # parse_bool also strips quotes
    # Storybook: any non-empty value but false/0 is off; the manifest lists the usual words
    ("storybook", "STORYBOOK_DISABLE_TELEMETRY"): {" ", "2", "-1", "no", "off", "OFF", "y", "n", "t", "f", "auto",
                                                  "maybe", " true", "true ", " 1", "1 ", " false", "false ", " 0",
                                                  '"1"', "enable", "disabled"},
    # unstructured: any non-blank value is off; the manifest lists the usual words
    ("unstructured", "SCARF_NO_ANALYTICS"): {"0", "2", "-1", "false", "False", "FALSE", "no", "off", "OFF", "y",
                                             "n", "t", "f", "auto", "maybe", " false", "false ", " 0", '"1"',
                                             "enable", "disabled"},
}



def test_every_env_switch_of_these_products_has_a_transcribed_rule() -> None:
    for product, manifest in MANIFESTS.items():
        declared = {s.variable for s in manifest.native if s.kind == "env"}
        assert declared == set(READS[product]), product
        for switch in manifest.native:
            assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+/blob/[^/]+/\S+#L\d+(-L\d+)?", switch.source) \
                or switch.source.startswith("https://unpkg.com/"), f"{product}: {switch.source} is not pinned"


@pytest.mark.parametrize(("product", "variable"), SWITCHES)
def test_the_value_we_write_is_off_for_the_product_and_on_is_on(product: str, variable: str) -> None:
    switch, reads = _switch(product, variable), READS[product][variable]
    assert reads(str(switch.off)) == "off" and switch.is_off_value(str(switch.off))
    assert read(switch, {variable: str(switch.off)}).off
    if switch.on is not None:
        assert reads(switch.on) == "on" and not switch.is_off_value(switch.on)
        assert not read(switch, {variable: switch.on}).off


@pytest.mark.parametrize(("product", "variable"), SWITCHES)
def test_unset_is_on_and_empty_reads_as_the_product_reads_it(product: str, variable: str) -> None:
    switch, reads = _switch(product, variable), READS[product][variable]
    assert read(switch, {}).state == "on"
    expected = reads("") == "off" and "" not in NARROWER.get((product, variable), set())
    assert switch.is_off_value("") is expected


@pytest.mark.parametrize(("product", "variable"), SWITCHES)
def test_we_never_call_off_a_value_the_product_does_not_read_as_off(product: str, variable: str) -> None:
    switch, reads = _switch(product, variable), READS[product][variable]
    wrong = [v for v in SAMPLES if switch.is_off_value(v) and reads(v) != "off"]
    assert wrong == [], f"{product}: {wrong} reported off, the product reads them otherwise"


@pytest.mark.parametrize(("product", "variable"), SWITCHES)
def test_the_declared_rule_is_the_products_own_on_every_sample(product: str, variable: str) -> None:
    switch, reads = _switch(product, variable), READS[product][variable]
    differ = {v for v in SAMPLES if switch.is_off_value(v) != (reads(v) == "off")}
    assert differ == NARROWER.get((product, variable), set())


@pytest.mark.parametrize(("product", "variable"), SWITCHES)
def test_check_reports_the_product_off_by_its_own_variable(product: str, variable: str, inprocess: Telemetry,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    switch = _switch(product, variable)
    monkeypatch.setenv(variable, str(switch.off))
    facets = json.loads(inprocess("check", "--json").stdout)["products"][product]
    for facet in switch.facets:
        assert facets[facet]["enabled"] is False, facet
        assert facets[facet]["origin"] == f"{variable}={switch.off}"




def test_after_disable_a_new_shell_gives_each_product_a_value_it_reads_as_off(inprocess: Telemetry,
                                                                              isolation: Env) -> None:
    assert inprocess("disable").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    for product, variable in SWITCHES:
        assert variable in shell, f"{product}: {variable} missing after disable"
        assert READS[product][variable](shell[variable]) == "off", f"{product} reads {variable}={shell[variable]}"



# -- file switches: written by disable, read by the product's own rule ---------------------------

def _netlify_reads_off(config: Path) -> bool:
    """netlify-cli utils/telemetry/utils.js: `config.get("telemetryDisabled")` is truthy."""
    if not config.exists():
        return False
    value = json.loads(config.read_text()).get("telemetryDisabled")
    return value not in (None, False, 0, "", [])


def test_netlify_config_path_is_env_paths_config_on_each_platform() -> None:
    (switch,) = _manifest("netlify-cli").native
    assert dict(switch.paths) == {  # env-paths 3.0.0 ("netlify", {suffix: ""}).config + config.json
        "linux": "$XDG_CONFIG_HOME/netlify/config.json",
        "macos": "~/Library/Preferences/netlify/config.json",
        "windows": "$APPDATA/netlify/Config/config.json",
    }
    assert (switch.format, switch.key, switch.off, switch.on, switch.absent) == ("json", "telemetryDisabled", True,
                                                                                 False, "on")


def test_disable_writes_netlify_off_keeping_its_ids_and_enable_undoes_it(inprocess: Telemetry,
                                                                          isolation: Env) -> None:
    config = isolation.home / ".config" / "netlify" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"telemetryDisabled": False, "cliId": "abc"}, indent="\t"))  # as the CLI writes
    assert not _netlify_reads_off(config)
    assert inprocess("disable", "-p", "netlify-cli").exit_code == 0
    assert _netlify_reads_off(config)
    assert json.loads(config.read_text())["cliId"] == "abc"
    assert inprocess("enable", "-p", "netlify-cli").exit_code == 0
    assert not _netlify_reads_off(config)


def test_disable_gives_whylogs_its_flag_file_and_enable_removes_it(inprocess: Telemetry, isolation: Env) -> None:
    flag = isolation.home / ".whylogs" / "disable_telemetry"
    assert inprocess("disable", "-p", "whylogs").exit_code == 0
    assert os.path.exists(os.path.expanduser("~/.whylogs/disable_telemetry"))  # whylogs' own test
    assert flag.is_file() and flag.stat().st_size == 0
    assert inprocess("enable", "-p", "whylogs").exit_code == 0
    assert not flag.exists()


def test_crewai_switch_holds_for_the_wider_rule_of_crewai_core_1_15_30() -> None:
    """crewai_core 1.15.30 _env_flag_enabled: stripped, lowercased, in {1, on, true, yes}."""
    switch = _switch("crewai", "CREWAI_DISABLE_TELEMETRY")

    def newer(v: str) -> bool:
        return v.strip().lower() in {"1", "on", "true", "yes"}

    assert newer(str(switch.off)) and switch.on is not None and not newer(switch.on)
    assert [v for v in SAMPLES if switch.is_off_value(v) and not newer(v)] == []


def _datahub_reads_off(config: Path) -> bool:
    """telemetry.py load_config: client_id and enabled must both be there (else the defaults are
    written back with enabled true); enabled = config["enabled"] & ENV_ENABLED."""
    if not config.exists():
        return False
    data = json.loads(config.read_text())
    if "client_id" not in data or "enabled" not in data:
        return False
    return not (data["enabled"] & True)


def test_disable_writes_datahubs_config_with_the_client_id_it_needs(inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / ".datahub" / "telemetry-config.json"
    assert inprocess("disable", "-p", "datahub").exit_code == 0
    assert _datahub_reads_off(config)
    assert re.fullmatch(r"[0-9a-f]{32}", json.loads(config.read_text())["client_id"])
    assert inprocess("enable", "-p", "datahub").exit_code == 0
    assert not _datahub_reads_off(config)


def test_datahub_keeps_an_opt_out_made_with_its_own_command(inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / ".datahub" / "telemetry-config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"client_id": "0b9c", "enabled": False}, indent=2))  # datahub telemetry disable
    assert inprocess("enable", "-p", "datahub").exit_code == 0
    assert _datahub_reads_off(config)


def test_disable_gives_vllm_its_do_not_track_file_where_vllm_looks(inprocess: Telemetry, isolation: Env,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    config_home = isolation.home / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    # envs.py get_default_config_root + "vllm", usage_lib.py: os.path.exists(<root>/do_not_track)
    vllm_flag = os.path.join(os.getenv("XDG_CONFIG_HOME", os.path.expanduser("~/.config")), "vllm", "do_not_track")
    assert inprocess("disable", "-p", "vllm").exit_code == 0
    assert os.path.exists(vllm_flag) and os.path.getsize(vllm_flag) == 0
    assert inprocess("enable", "-p", "vllm").exit_code == 0
    assert not os.path.exists(vllm_flag)
