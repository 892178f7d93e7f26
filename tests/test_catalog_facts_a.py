"""Catalogue facts of issue 22, each held to the product's own decision, transcribed from the code
its manifest cites (``source``), both ways: a value set to off, to on, empty, and unset.

- Cell Ranger settings.go L191-L199 (ae7fcd1): ``os.Getenv("TENX_DISABLE_TELEMETRY") != ""``.
- gradio_client 2.6.0 client.py L206-L210 (what gradio 6.25.0 pins): ``analytics_enabled or
  os.getenv("GRADIO_ANALYTICS_ENABLED", "True") == "True"`` with ``analytics_enabled=True`` by
  default, so the Client reports through huggingface_hub's ``send_telemetry`` unless
  ``HF_HUB_DISABLE_TELEMETRY`` is 1/ON/YES/TRUE; Gradio's apps read ``== "True"``.
- AWS SAM CLI global_config.py: ``value == "1"``; Haystack: ``.lower() in ("true", "1")``;
  Meltano: ``str(val).lower() in ("true", "1", "yes", "on")``; .NET EnvironmentProvider.cs:
  ``true``, ``1``, ``yes`` (lower-cased) are true.
- Update checks: Homebrew auto-update.sh ``[[ -z "${HOMEBREW_NO_AUTO_UPDATE}" ]] || return``;
  PowerShell ``Enum.TryParse(str, ignoreCase: true)`` into Off=0/Default/LTS; Semgrep's click
  boolean flag (empty ignored).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Telemetry
from conftest import bash_env as _bash_env
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import read

MANIFESTS = {path.stem: parse(path.read_bytes(), str(path)) for path in sorted(SHIPPED.glob("*.toml"))}
SAMPLES = ["", " ", "0", "1", "2", "-1", "true", "True", "TRUE", "tRuE", "false", "False", "yes", "YES", "no",
           "on", "off", "Off", "OFF", "y", "n", "t", "f", "auto", "lts", "default", "maybe", " 1", "1 "]
_CLICK_FALSE = {"0", "false", "f", "no", "n", "off"}


def _switch(product: str, variable: str) -> NativeSwitch:
    (switch,) = [s for s in MANIFESTS[product].native if s.kind == "env" and s.variable == variable]
    return switch


def _powershell_update_off(value: str) -> bool:
    """GetNotificationType: empty -> Default; Enum.TryParse(ignoreCase, trims, takes the enum's numbers)."""
    word = value.strip().lower()
    return word == "off" or (word.lstrip("+").isdigit() and int(word) == 0)


# (product, variable) -> the product's own rule: does it read this value as off?
PRODUCT_READS_OFF: dict[tuple[str, str], Callable[[str], bool]] = {
    ("cellranger", "TENX_DISABLE_TELEMETRY"): lambda v: v != "",
    ("gradio", "GRADIO_ANALYTICS_ENABLED"): lambda v: v != "True",
    ("gradio", "HF_HUB_DISABLE_TELEMETRY"): lambda v: v.upper() in {"1", "ON", "YES", "TRUE"},
    ("aws-sam-cli", "SAM_CLI_TELEMETRY"): lambda v: v != "1",
    ("haystack", "HAYSTACK_TELEMETRY_ENABLED"): lambda v: v.lower() not in {"true", "1"},
    ("meltano", "MELTANO_SEND_ANONYMOUS_USAGE_STATS"): lambda v: v.lower() not in {"true", "1", "yes", "on"},
    ("dotnet", "DOTNET_CLI_TELEMETRY_OPTOUT"): lambda v: v.lower() in {"true", "1", "yes"},
    ("homebrew", "HOMEBREW_NO_AUTO_UPDATE"): lambda v: v != "",
    ("powershell", "POWERSHELL_UPDATECHECK"): _powershell_update_off,
    ("semgrep", "SEMGREP_ENABLE_VERSION_CHECK"): lambda v: v.strip().lower() in _CLICK_FALSE,
    # the manifests of issue 22 item 4, each rule from the code its source cites
    ("mlflow", "MLFLOW_DISABLE_TELEMETRY"): lambda v: v.lower() not in {"false", "0"},  # else raises: disabled
    ("dagster", "DAGSTER_DISABLE_TELEMETRY"): lambda v: True,  # os.getenv(...) is not None
    ("prefect", "PREFECT_SERVER_ANALYTICS_ENABLED"): lambda v: v.lower() in {"0", "off", "f", "false", "n", "no"},
    ("kedro", "KEDRO_DISABLE_TELEMETRY"): lambda v: v != "",  # if os.environ.get(env_var)
    ("terraform", "CHECKPOINT_DISABLE"): lambda v: v != "",  # go-checkpoint: disabled != ""
    ("packer", "CHECKPOINT_DISABLE"): lambda v: v != "",
    ("vagrant", "VAGRANT_CHECKPOINT_DISABLE"): lambda v: True,  # Ruby: if ENV[...] ("" is true)
    # vm.rb finalize!: box_check_update = !present?(ENV[...]); present?: not blank once stripped
    ("vagrant", "VAGRANT_BOX_UPDATE_CHECK_DISABLE"): lambda v: v.strip() != "",
    ("ray", "RAY_USAGE_STATS_ENABLED"): lambda v: v == "0",  # "1" on, anything else raises
    ("wandb", "WANDB_ERROR_REPORTING"): lambda v: v.lower() not in {"y", "yes", "t", "true", "on", "1"},
    ("gcloud", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING"): lambda v: v.lower() in {"1", "true", "on", "yes", "y"},
    ("nextflow", "NXF_DISABLE_CHECK_LATEST"): lambda v: v == "true",  # bash [[ ... == true ]]
    # pulumi util/env/env.go BoolValue.Value: v == "1" || strings.EqualFold(v, "true")
    ("pulumi", "PULUMI_SKIP_UPDATE_CHECK"): lambda v: v == "1" or v.lower() == "true",
    ("cocoapods", "COCOAPODS_DISABLE_STATS"): lambda v: True,  # cocoapods-stats: ENV[...].nil? ("" is set)
    # flutter_tools unified_analytics.dart: environment['FLUTTER_SUPPRESS_ANALYTICS']?.toLowerCase() == 'true'
    ("flutter", "FLUTTER_SUPPRESS_ANALYTICS"): lambda v: v.lower() == "true",
}
# where we knowingly read less than the product does (the safe side: we say "on", it is off)
SAFE_SIDE: dict[tuple[str, str], set[str]] = {
    # Vagrant: any non-blank value; the manifest lists the usual words, any other is reported "other"
    ("vagrant", "VAGRANT_BOX_UPDATE_CHECK_DISABLE"): {v for v in SAMPLES if v.strip()
                                                    and v.strip().lower() not in {"1", "true", "yes", "on"}},
}



@pytest.mark.parametrize(("product", "variable"), list(PRODUCT_READS_OFF), ids=lambda x: str(x))
def test_each_switch_reads_every_value_as_the_product_does(product: str, variable: str) -> None:
    switch = _switch(product, variable)
    reads_off = PRODUCT_READS_OFF[(product, variable)]
    assert reads_off(str(switch.off)) and read(switch, {variable: str(switch.off)}).off  # set to off
    if switch.on is not None:  # set to on
        assert not reads_off(switch.on) and read(switch, {variable: switch.on}).state == "on"
    assert read(switch, {}).state == "on"  # unset
    assert read(switch, {variable: ""}).off is reads_off("")  # empty
    never = [v for v in SAMPLES if switch.is_off_value(v) and not reads_off(v)]
    assert never == [], f"we would call {never} off; {product} reads them as on"
    missed = {v for v in SAMPLES if reads_off(v) and not switch.is_off_value(v)}
    assert missed <= SAFE_SIDE.get((product, variable), set()), f"{product} reads {missed} as off too"


def test_cellranger_reads_an_empty_tenx_disable_telemetry_as_on(inprocess: Telemetry,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENX_DISABLE_TELEMETRY", "")
    switch = _switch("cellranger", "TENX_DISABLE_TELEMETRY")
    assert read(switch, {"TENX_DISABLE_TELEMETRY": ""}).state == "on"
    data = json.loads(inprocess("check", "--json").stdout)
    (state,) = [n for n in data["products"]["cellranger"]["native"] if n["where"] == "TENX_DISABLE_TELEMETRY"]
    assert state["effect"] == "on"


def _gradio(inprocess: Telemetry) -> dict[str, object]:
    products: dict[str, dict[str, object]] = json.loads(inprocess("check", "--json").stdout)["products"]
    return products["gradio"]


def test_gradio_apps_switch_alone_leaves_its_client_reporting(inprocess: Telemetry,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    facets = _gradio(inprocess)
    assert facets["collection"]["enabled"] is True  # type: ignore[index]
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    assert _gradio(inprocess)["collection"]["enabled"] is True  # type: ignore[index]
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    facets = _gradio(inprocess)
    assert facets["collection"]["enabled"] is False  # type: ignore[index]
    assert facets["collection"]["origin"] == "GRADIO_ANALYTICS_ENABLED=False"  # type: ignore[index]




def test_disable_gradio_reaches_its_client_through_huggingface_hub(inprocess: Telemetry) -> None:
    assert inprocess("disable", "-p", "gradio").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    for variable in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_DISABLE_TELEMETRY"):
        assert PRODUCT_READS_OFF[("gradio", variable)](shell[variable]), variable


@pytest.mark.parametrize(("product", "variable"), [("homebrew", "HOMEBREW_NO_AUTO_UPDATE"),
                                                   ("powershell", "POWERSHELL_UPDATECHECK"),
                                                   ("semgrep", "SEMGREP_ENABLE_VERSION_CHECK")])
def test_an_update_check_is_the_update_facet(product: str, variable: str, inprocess: Telemetry,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    switch = _switch(product, variable)
    assert switch.facets == ("update",)
    monkeypatch.setenv(variable, str(switch.off))
    facets = json.loads(inprocess("check", "--json").stdout)["products"][product]
    assert facets["update"]["enabled"] is False
    assert facets["update"]["origin"] == f"{variable}={switch.off}"
    assert facets["collection"]["enabled"] is True  # an update check says nothing of collection
    monkeypatch.delenv(variable)
    assert inprocess("disable", "update", "-p", product).exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert PRODUCT_READS_OFF[(product, variable)](shell[variable])
    collection = [s.variable for s in MANIFESTS[product].native if "collection" in s.facets and s.kind == "env"]
    assert not [v for v in collection if v in shell]  # disabling the update check leaves telemetry alone


@pytest.mark.parametrize(("product", "words"), [
    ("meltano", ["telemetry_state_change"]),
    ("semgrep", ["--config auto", "metrics"]),
    ("gatsby", ["5.14.0"]),
    ("argilla", ["HF_HUB_OFFLINE"]),
])
def test_what_no_switch_stops_is_shown_with_the_product(product: str, words: list[str],
                                                        inprocess: Telemetry) -> None:
    out = inprocess("inspect", "--catalog", "-p", product).stdout
    limits = [line for line in out.splitlines() if line.startswith("limit: ")]
    assert any(all(w in line for w in words) for line in limits), out


def _manifest(text: str) -> Manifest:
    return parse(text.encode(), "/x/products.d/p.toml")


_UNLESS = """[product]
name = "p"
[[native]]
kind = "env"
facets = ["collection"]
variable = "P_TELEMETRY_ON"
source = "https://example.org/p"
off = "0"
off_when = "unless"
"""


def test_off_when_unless_names_the_only_values_that_mean_on() -> None:
    switch = _manifest(_UNLESS + 'on_values = ["1", "True"]\non = "1"\n').native[0]
    assert [v for v in ("1", "true", "TRUE", "", "0", "yes", " 1") if switch.is_off_value(v)] == ["", "0", "yes", " 1"]
    assert read(switch, {"P_TELEMETRY_ON": "true"}).state == "on"


@pytest.mark.parametrize(("extra", "problem"), [
    ("", "needs on_values"),
    ('on_values = ["0"]\n', "is one of its on_values"),
    ('on_values = ["1"]\non = "2"\n', "on must be"),
    ('on_values = [""]\n', "needs on_values"),
])
def test_a_wrong_unless_switch_is_refused_with_its_line(extra: str, problem: str) -> None:
    from telemetry_gate.errors import InvalidFileError

    with pytest.raises(InvalidFileError) as caught:
        _manifest(_UNLESS + extra)
    assert problem in str(caught.value) and caught.value.line is not None


# -- per-platform paths (Astro's getConfigDir, @astrojs/telemetry config.ts L13-L32) ----------------

def _astro_config() -> NativeSwitch:
    (switch,) = [s for s in MANIFESTS["astro"].native if s.kind == "config-file"]
    return switch


@pytest.mark.parametrize(("platform", "environ", "expected"), [
    ("linux", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/astro/config.json"),
    ("linux", {"HOME": "/h"}, "/h/.config/astro/config.json"),
    ("macos", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/h/Library/Preferences/astro/config.json"),
    ("windows", {"HOME": "/h", "APPDATA": "/a/Roaming"}, "/a/Roaming/astro/Config/config.json"),
    ("windows", {"HOME": "/h"}, "/h/AppData/Roaming/astro/Config/config.json"),
    ("freebsd", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/astro/config.json"),  # Node's default branch
])
def test_astros_config_is_where_astro_puts_it_on_each_platform(platform: str, environ: dict[str, str],
                                                               expected: str) -> None:
    from telemetry_gate.policy.own.places import expand, platform_path

    assert str(expand(platform_path(_astro_config().paths, platform), environ)) == expected


def test_on_macos_disable_writes_astros_own_file(inprocess: Telemetry, isolation: object,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    home = Path(os.environ["HOME"])
    config = home / "Library" / "Preferences" / "astro" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text('{\n\t"telemetry": {\n\t\t"anonymousId": "abc"\n\t}\n}')  # what Astro writes first
    assert inprocess("disable", "-p", "astro").exit_code == 0
    data = json.loads(config.read_text())
    assert data["telemetry"] == {"anonymousId": "abc", "enabled": False}  # Astro: enabled === false is off
    assert not (home / ".config" / "astro" / "config.json").exists()
    (state,) = [n for n in json.loads(inprocess("check", "--json").stdout)["products"]["astro"]["native"]
                if n["kind"] == "config-file"]
    assert state["effect"] == "off" and "Library/Preferences/astro" in state["where"]


_PLATFORM = """[product]
name = "p"
[[native]]
kind = "config-file"
facets = ["collection"]
source = "https://example.org/p"
format = "json"
key = "telemetry"
off = false
on = true
"""


@pytest.mark.parametrize(("path", "problem"), [
    ('path = { macos = "~/Library/p.json" }', "linux (required)"),
    ('path = { linux = "~/.p.json", beos = "~/p" }', "not ['beos']"),
    ('path = { linux = "~/.p.json", windows = "$APPDATA/../p.json" }', "no '.' or '..'"),
    ('path = { linux = "~/.p.json", macos = "$SYSTEM/p.json" }', "system-scope path"),
    ('path = { linux = "~/.p.json", windows = "%APPDATA%/p.json" }', "must start with"),
])
def test_a_wrong_per_platform_path_is_refused_with_its_line(path: str, problem: str) -> None:
    from telemetry_gate.errors import InvalidFileError

    with pytest.raises(InvalidFileError) as caught:
        _manifest(_PLATFORM + path + "\n")
    assert problem in str(caught.value) and caught.value.line == 11


# -- what each product collects (inspect --catalog) -------------------------------------------------

@pytest.mark.parametrize(("product", "fields"), [
    ("stripepy", ["subcommand", "duration", "exception.type", "dependency.*.version", "host.arch", "params.*"]),
    ("piperider", ["user_id", "ip", "command", "duration", "project_id", "platform"]),
    ("rubrix", ["server_id", "event", "code", "user_hash", "user-agent", "system"]),
    ("argilla", ["server_id", "event", "code", "user_hash", "user-agent", "system"]),
    ("cellranger", ["name", "properties", "config_version", "group_hash", "product", "replicas"]),
    ("conda", ["c/", "s/", "e/", "a/"]),
    ("ray", ["session_id", "library_usages", "total_num_cpus", "os"]),
    ("julia-pkg", ["Julia-Version", "Julia-System", "Julia-CI-Variables", "Julia-Interactive"]),
    ("pulumi", ["X-Pulumi-Command", "X-Pulumi-Flags", "X-Pulumi-Environment"]),
    ("cocoapods", ["targets", "cocoapods_version", "pod_try"]),
    ("dart", ["client_id", "events", "session_id", "tool", "dart_version"]),
    ("flutter", ["client_id", "events", "session_id", "tool", "flutter_version"]),
    ("genozip", ["license_num", "genozip_gain", "fields_gain", "features", "programs", "hash_issues", "flags"]),
])
def test_inspect_catalog_shows_what_the_product_collects(product: str, fields: list[str],
                                                         inprocess: Telemetry) -> None:
    shown = json.loads(inprocess("inspect", "--catalog", "-p", product, "--json").stdout)
    (entry,) = shown
    declared = {f["name"]: f for f in entry["fields"]}
    assert set(fields) <= set(declared)
    assert all(f["category"] in ("usage", "performance", "device", "crash") and f["description"]
               for f in declared.values())
    assert entry["strict"] is False  # declaring what is sent never drops a field the product records
    out = inprocess("inspect", "--catalog", "-p", product).stdout
    assert "no fields declared" not in out and fields[0] in out


# -- the manifests of issue 22 item 4 --------------------------------------------------------------

NEW = ("cocoapods", "conda", "dagster", "dart", "flutter", "gcloud", "go", "julia-pkg", "nextflow", "packer",
       "prefect", "pulumi", "ray", "terraform", "vagrant", "vscode", "wandb")


@pytest.mark.parametrize("name", NEW)
def test_each_new_product_says_where_its_facts_come_from(name: str, inprocess: Telemetry) -> None:
    manifest = MANIFESTS[name]
    assert manifest.telemetry_docs.startswith("https://")
    assert manifest.detect.executables or manifest.detect.distributions or manifest.detect.paths
    assert manifest.native or manifest.limits  # a product with no switch says what cannot be stopped
    for switch in manifest.native:
        if switch.kind == "env":
            assert (name, switch.variable) in PRODUCT_READS_OFF, "every variable has its transcribed rule"
    listed = {p["name"] for p in json.loads(inprocess("products", "--json").stdout)["products"]}
    assert name in listed


def test_every_github_source_is_pinned_to_a_tag_or_commit() -> None:
    import re

    for manifest in MANIFESTS.values():
        for switch in manifest.native:
            found = re.match(r"https://github\.com/[^/]+/[^/]+/blob/([^/]+)/", switch.source)
            if "github.com" in switch.source:
                assert found and found.group(1) not in ("main", "master", "HEAD", "develop"), switch.source


def _ray_reads_off(config: Path) -> bool:
    """Ray 2.60.0 _usage_stats_enabledness: json.load, then config.get("usage_stats") is False."""
    return config.exists() and json.loads(config.read_text()).get("usage_stats") is False


def test_disable_writes_rays_own_config_keeping_the_rest(inprocess: Telemetry) -> None:
    config = Path(os.environ["HOME"]) / ".ray" / "config.json"
    config.parent.mkdir()
    config.write_text('{"usage_stats": true, "other": 1}')
    assert not _ray_reads_off(config)
    assert inprocess("disable", "-p", "ray").exit_code == 0
    assert _ray_reads_off(config) and json.loads(config.read_text())["other"] == 1
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert shell["RAY_USAGE_STATS_ENABLED"] == "0"  # the variable outranks the file: both say off


def _conda_reads_off(condarc: Path) -> bool:
    """conda reads ~/.condarc as YAML; anaconda_anon_usage is a boolean PrimitiveParameter."""
    from ruamel.yaml import YAML

    return condarc.exists() and (YAML(typ="safe").load(condarc.read_text()) or {}).get("anaconda_anon_usage") is False


def test_disable_writes_anaconda_anon_usage_false_into_condarc(inprocess: Telemetry) -> None:
    condarc = Path(os.environ["HOME"]) / ".condarc"
    condarc.write_text("channels:\n  - conda-forge\n  - defaults\nauto_activate_base: false\n")
    assert not _conda_reads_off(condarc)
    assert inprocess("disable", "-p", "conda").exit_code == 0
    assert _conda_reads_off(condarc)
    assert "  - conda-forge\n  - defaults\n" in condarc.read_text()  # the user's channels, as they were
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["conda"]
    assert facets["collection"]["enabled"] is False


def test_julia_pkg_declares_no_switch_it_no_longer_reads(inprocess: Telemetry) -> None:
    assert MANIFESTS["julia-pkg"].native == ()  # telemetry.toml was removed from Pkg in 2020
    out = inprocess("inspect", "--catalog", "-p", "julia-pkg").stdout
    assert "telemetry.toml" in out and "Julia-System" in out


def test_an_exact_switch_reads_no_other_case() -> None:
    switch = _switch("nextflow", "NXF_DISABLE_CHECK_LATEST")
    assert read(switch, {"NXF_DISABLE_CHECK_LATEST": "true"}).off
    assert [v for v in ("TRUE", "True", " true", "1") if read(switch, {"NXF_DISABLE_CHECK_LATEST": v}).off] == []


def test_conda_is_not_taken_as_present_because_the_home_directory_exists(inprocess: Telemetry) -> None:
    assert "conda" not in json.loads(inprocess("check", "--json").stdout)["products"]
    (Path(os.environ["HOME"]) / ".condarc").write_text("channels:\n  - conda-forge\n")
    assert "conda" in json.loads(inprocess("check", "--json").stdout)["products"]  # its own file is there


def _go_mode(path: Path) -> str:
    """golang.org/x/telemetry Dir.Mode(): no file is "local"; else TrimSpace, then before the first space."""
    if not path.exists():
        return "local"
    mode = path.read_text().strip()
    return mode[:mode.index(" ")] if " " in mode else mode


@pytest.mark.parametrize(("written", "mode"), [("off 2026-01-02", "off"), ("on 2025-12-01\n", "on"), ("local", "local"),
                                               ("off\t2026-01-02", "off\t2026-01-02"), ("  off  ", "off")])
def test_gos_mode_file_reads_as_go_reads_it(written: str, mode: str, tmp_path: Path) -> None:
    (switch,) = MANIFESTS["go"].native
    path = tmp_path / "mode"
    path.write_text(written)
    assert _go_mode(path) == mode
    state = read(switch._replace(path=str(path)), {})
    assert state.off is (mode == "off")
    assert state.state == ("off" if mode == "off" else "on" if mode == "local" else "other")


def test_disable_writes_gos_mode_off_and_go_reads_it(inprocess: Telemetry) -> None:
    mode = Path(os.environ["XDG_CONFIG_HOME"]) / "go" / "telemetry" / "mode"
    assert _go_mode(mode) == "local"  # Go's default: counters kept here, nothing uploaded
    assert inprocess("disable", "-p", "go").exit_code == 0
    assert _go_mode(mode) == "off"
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["go"]
    assert facets["upload"]["enabled"] is False and facets["collection"]["enabled"] is False


@pytest.mark.parametrize(("platform", "expected"), [
    ("linux", "/x/go/telemetry/mode"),
    ("macos", "/h/Library/Application Support/go/telemetry/mode"),
    ("windows", "/a/Roaming/go/telemetry/mode"),
])
def test_gos_mode_file_is_under_os_user_config_dir(platform: str, expected: str) -> None:
    from telemetry_gate.policy.own.places import expand, platform_path

    (switch,) = MANIFESTS["go"].native
    environ = {"HOME": "/h", "XDG_CONFIG_HOME": "/x", "APPDATA": "/a/Roaming"}
    assert str(expand(platform_path(switch.paths, platform), environ)) == expected


def test_a_text_switch_takes_one_word_and_no_key() -> None:
    from telemetry_gate.errors import InvalidFileError

    head = '[product]\nname = "p"\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n' \
           'source = "https://example.org/p"\npath = "~/.p/telemetry-mode"\nformat = "text"\n'
    assert _manifest(head + 'off = "off"\non = "local"\n').native[0].key == ""
    for extra in ('off = "off"\non = "local"\nkey = "mode"\n', 'off = "off now"\non = "local"\n',
                  'off = false\non = true\n'):
        with pytest.raises(InvalidFileError):
            _manifest(head + extra)


def _vscode_reads_off(settings: Path) -> bool:
    """getTelemetryLevel: telemetry.telemetryLevel (default all) off, or an old switch false."""
    data = json.loads(settings.read_text()) if settings.exists() else {}
    return data.get("telemetry.telemetryLevel", "all") == "off" or data.get("telemetry.enableTelemetry") is False \
        or data.get("telemetry.enableCrashReporter") is False


def test_disable_writes_vscodes_flat_dotted_key_keeping_the_rest(inprocess: Telemetry) -> None:
    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "Code" / "User" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{\n    "editor.fontSize": 14,\n    "telemetry.telemetryLevel": "all"\n}\n')
    assert not _vscode_reads_off(settings)
    assert inprocess("disable", "-p", "vscode").exit_code == 0
    assert _vscode_reads_off(settings)
    assert json.loads(settings.read_text()) == {"editor.fontSize": 14, "telemetry.telemetryLevel": "off"}
    assert "telemetry" not in json.loads(settings.read_text())  # one member with a dot, never a nested table
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["vscode"]
    assert facets["collection"]["enabled"] is False


@pytest.mark.parametrize(("level", "state"), [("off", "off"), ("all", "on"), ("error", "other"), ("crash", "other")])
def test_vscodes_levels_read_as_vscode_reads_them(level: str, state: str, tmp_path: Path) -> None:
    (switch,) = MANIFESTS["vscode"].native
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"telemetry.telemetryLevel": level}))
    assert read(switch._replace(path=str(settings)), {}).state == state
    assert _vscode_reads_off(settings) is (state == "off")


def test_settings_with_comments_are_edited_in_place_keeping_them(inprocess: Telemetry) -> None:
    # VS Code reads settings.json with its JSON-with-comments scanner (ConfigurationModelParser.
    # doParseContent: json.visit, which skips comments and lets a trailing comma pass); json5 reads
    # the same here
    import json5

    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "Code" / "User" / "settings.json"
    settings.parent.mkdir(parents=True)
    original = '{\n  // my font\n  "editor.fontSize": 14,\n  /* theme */ "workbench.colorTheme": "Default Dark+",\n}\n'
    settings.write_text(original)
    out = inprocess("disable", "-p", "vscode")
    assert out.exit_code == 0, out.stderr
    text = settings.read_text()
    assert "// my font" in text and "/* theme */" in text
    assert json5.loads(text) == {"editor.fontSize": 14, "workbench.colorTheme": "Default Dark+",
                                 "telemetry.telemetryLevel": "off"}
    assert json.loads(inprocess("check", "--json").stdout)["products"]["vscode"]["collection"]["enabled"] is False
    assert inprocess("enable", "-p", "vscode").exit_code == 0
    assert json5.loads(settings.read_text())["telemetry.telemetryLevel"] == "all"
    assert "// my font" in settings.read_text()


def test_a_settings_file_vscode_reads_past_an_error_in_is_left_alone(inprocess: Telemetry) -> None:
    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "Code" / "User" / "settings.json"
    settings.parent.mkdir(parents=True)
    broken = '{\n  "editor.fontSize": 14\n  "editor.tabSize": 2\n}\n'  # a missing comma: VS Code reads past it
    settings.write_text(broken)
    out = inprocess("disable", "-p", "vscode")
    assert out.exit_code == 3 and "Traceback" not in out.stderr and settings.read_text() == broken
    assert "settings.json" in out.stderr + out.stdout


def test_a_flat_key_is_json_only() -> None:
    from telemetry_gate.errors import InvalidFileError

    head = '[product]\nname = "p"\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n' \
           'source = "https://example.org/p"\npath = "~/.p/p.json"\nkey = "telemetry.level"\nflat_key = true\n' \
           'off = false\non = true\n'
    assert _manifest(head + 'format = "json"\n').native[0].flat_key
    with pytest.raises(InvalidFileError):
        _manifest(head + 'format = "toml"\n')
