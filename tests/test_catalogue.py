"""The shipped catalogue (issue 13 item 5): every manifest in ``telemetry_gate/catalog`` parses and
validates, cites where its facts come from, and each product's own switch is declared so that the
value we would write reads as off by the product's rule.

The expectations below (``RULES``) are facts read in each product's code or documentation (the
manifests cite them); they pin the declared rules so that an edit cannot quietly change what
``check`` believes the product does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse
from telemetry_gate.policy.own.model import NativeSwitch

FILES = sorted(SHIPPED.glob("*.toml"))

# The widely used tools catalogued beside the products our users named (issue 13 item 5).
TOOLS = (
    "angular-cli", "astro", "aws-sam-cli", "azure-cli", "dbt", "dotnet", "dvc", "gatsby", "gradio",
    "haystack", "homebrew", "huggingface-hub", "meltano", "nextjs", "nuxt", "powershell", "prisma",
    "semgrep", "streamlit",
)


def _manifest(path: Path) -> Manifest:
    return parse(path.read_bytes(), str(path))


MANIFESTS = {path.stem: _manifest(path) for path in FILES}
ENV_SWITCHES = [s for m in MANIFESTS.values() for s in m.native if s.kind == "env"]



def test_the_catalogue_ships_every_tool_and_each_file_names_its_product() -> None:
    assert set(TOOLS) <= set(MANIFESTS)
    for name, manifest in MANIFESTS.items():
        assert manifest.name == name, f"{name}.toml declares [product] name = {manifest.name!r}"
        assert manifest.shipped


@pytest.mark.parametrize("name", TOOLS)
def test_each_tool_declares_its_own_switch_and_how_to_find_it(name: str) -> None:
    manifest = MANIFESTS[name]
    assert manifest.native, f"{name} has no [[native]] switch"
    assert manifest.detect.executables or manifest.detect.distributions or manifest.detect.paths
    assert manifest.telemetry_docs.startswith("https://")
    for switch in manifest.native:  # none downloads a telemetry config; an update check is a switch of its own
        assert set(switch.facets) <= {"collection", "upload"} or switch.facets == ("update",)


def test_every_native_switch_cites_an_https_source() -> None:
    for manifest in MANIFESTS.values():
        for switch in manifest.native:
            assert switch.source.startswith("https://"), f"{manifest.name}: {switch.source}"
            assert " " not in switch.source


# A fact cited at a branch (main, master) can change under the citation; a release or a commit cannot.
PINNED = (
    re.compile(r"https://github\.com/[^/]+/[^/]+/(?:blob|tree|raw)/(?:[0-9a-f]{7,40}|[^/]*\d[^/]*)/"),
    re.compile(r"https://gitlab\.com/[^/]+/[^/]+/-/(?:blob|tree|raw)/(?:[0-9a-f]{7,40}|[^/]*\d[^/]*)/"),
    re.compile(r"https://unpkg\.com/(?:@[^/]+/)?[^/@]+@\d[^/]*/"),  # an npm release, as published
)
CLOSED = {  # products whose deciding code is not public: their documentation page is the source
}


def test_every_switch_cites_a_pinned_release_or_commit() -> None:
    loose = []
    for manifest in MANIFESTS.values():
        sources = [s.source for s in manifest.native] + list(manifest.saved.source if manifest.saved else ())
        for source in sources:
            if not any(p.match(source) for p in PINNED) and manifest.name not in CLOSED:
                loose.append(f"{manifest.name}: {source}")
    assert not loose, "cite the code at a tag or commit:\n" + "\n".join(loose)


def test_no_two_switches_of_one_product_are_the_same() -> None:
    for manifest in MANIFESTS.values():
        keys = [(s.kind, s.variable, s.path, s.key) for s in manifest.native]
        assert len(keys) == len(set(keys)), manifest.name


@pytest.mark.parametrize("switch", ENV_SWITCHES, ids=lambda s: f"{s.product}:{s.variable}")
def test_the_value_written_for_off_reads_as_off_and_on_does_not(switch: NativeSwitch) -> None:
    assert switch.off is not None and switch.is_off_value(str(switch.off))
    if switch.on is not None:
        assert not switch.is_off_value(str(switch.on))


# (product, value, whether the product itself reads it as off) - from the code each manifest cites
RULES = [
    ("gatsby", "true", True), ("gatsby", "1", True), ("gatsby", "yes", False),  # isTruthy: true or n > 0
    ("huggingface-hub", "ON", True), ("huggingface-hub", "yes", True), ("huggingface-hub", "0", False),
    ("aws-sam-cli", "0", True), ("aws-sam-cli", "false", True), ("aws-sam-cli", "1", False),  # only "1" is on
    ("angular-cli", "false", True), ("angular-cli", "0", True), ("angular-cli", "no", False),
    ("powershell", "yes", True), ("powershell", "TRUE", True), ("powershell", "on", False),
    ("dotnet", "true", True), ("dotnet", "1", True), ("dotnet", "0", False),
    ("gradio", "False", True), ("gradio", "True", False),
    ("semgrep", "off", True), ("semgrep", "auto", False), ("semgrep", "on", False),
    ("homebrew", "0", True), ("nextjs", "false", True), ("prisma", "0", True), ("dvc", "0", True),
    ("astro", "0", True),  # any non-empty value is off (Boolean of a string)
    ("haystack", "false", True), ("haystack", "1", False), ("meltano", "0", True), ("meltano", "yes", False),
    ("dbt", "n", True), ("dbt", "true", False), ("streamlit", "off", True), ("streamlit", "true", False),
    ("azure-cli", "no", True), ("azure-cli", "on", False), ("azure-cli", "enabled", True),
]


@pytest.mark.parametrize(("product", "value", "off"), RULES)
def test_declared_rules_match_what_the_product_does(product: str, value: str, off: bool) -> None:
    assert _env(product).is_off_value(value) is off


def test_astro_config_switch_is_the_file_astro_telemetry_disable_writes() -> None:
    (switch,) = [s for s in MANIFESTS["astro"].native if s.kind == "config-file"]
    assert (switch.path, switch.format, switch.key) == ("$XDG_CONFIG_HOME/astro/config.json", "json",
                                                         "telemetry.enabled")
    assert (switch.off, switch.on, switch.absent) == (False, True, "on")


# Each tool's own decision, transcribed from the code its manifest cites: does it read this value
# of its variable as off? (An empty value is "set but empty".)
def _gatsby_is_truthy(value: str) -> bool:  # gatsby-core-utils is-truthy.ts: "true" or parseInt(v, 10) > 0
    number = re.match(r"\s*([+-]?\d+)", value)
    return value.lower() == "true" or (number is not None and int(number.group(1)) > 0)


_CLICK_FALSE = {"0", "false", "f", "no", "n", "off"}
PRODUCT_READS_OFF = {
    "homebrew": lambda v: v != "",  # boolean: :set -> present?
    "nextjs": lambda v: v != "",  # !!process.env.NEXT_TELEMETRY_DISABLED
    "nuxt": lambda v: v != "",  # !process.env.NUXT_TELEMETRY_DISABLED
    "astro": lambda v: v != "",  # Boolean(ASTRO_TELEMETRY_DISABLED || ...)
    "prisma": lambda v: v != "",  # if (process.env.CHECKPOINT_DISABLE)
    "dvc": lambda v: v != "",  # not os.getenv(DVC_NO_ANALYTICS)
    "dotnet": lambda v: v.lower() in {"true", "1", "yes"},  # GetEnvironmentVariableAsBool
    "gatsby": _gatsby_is_truthy,
    "angular-cli": lambda v: v.lower() in {"0", "false"},  # parseTristate(...) === false
    # knack getboolean: 1/yes/true/on, 0/no/false/off, else ValueError, which is_telemetry_enabled's
    # @suppress_all_exceptions() turns into None: off
    "azure-cli": lambda v: v.lower() not in {"1", "yes", "true", "on"},
    "aws-sam-cli": lambda v: v != "1",  # value == "1"
    "huggingface-hub": lambda v: v.upper() in {"1", "ON", "YES", "TRUE"},
    "gradio": lambda v: v != "True",
    "dbt": lambda v: v.strip().lower() in _CLICK_FALSE,  # click BOOL; empty is ignored
    "streamlit": lambda v: v.strip().lower() in _CLICK_FALSE,
    "powershell": lambda v: v.lower() in {"1", "yes", "true"},
    "meltano": lambda v: v.lower() not in {"true", "1", "yes", "on"},  # not utils.truthy
    "semgrep": lambda v: v.lower() in {"off", "0", "false"},  # pysemgrep; osemgrep refuses all but on/off/auto
    "haystack": lambda v: v.lower() not in {"true", "1"},
}
def _env(product: str) -> NativeSwitch:
    """The product's first env switch: the one that stops its collection (others: test_catalog_facts_a)."""
    return [s for s in MANIFESTS[product].native if s.kind == "env"][0]


def _parts(product: str) -> list[NativeSwitch]:
    """The first env switch and, when it stops one part of the product, the switches of the other parts."""
    first = _env(product)
    return [first] + [s for s in MANIFESTS[product].native if s.kind == "env" and first.part and s.part
                      and s is not first]


SAMPLES = ["", "0", "1", "2", "-1", "true", "True", "TRUE", "false", "False", "yes", "no", "on", "off", "OFF",
           "y", "n", "t", "f", "auto", "maybe", " "]


@pytest.mark.parametrize("product", [p for p in TOOLS if _env(p).off_when == "nonempty"])
def test_any_non_empty_value_is_off_exactly_as_the_product_reads_it(product: str) -> None:
    """``off_when = "nonempty"`` (``!!value`` in JavaScript, ``bool(os.getenv(...))``): every sample
    agrees with the product both ways, the empty value is on and a lone space is off."""
    switch = _env(product)
    assert [v for v in SAMPLES if switch.is_off_value(v) != PRODUCT_READS_OFF[product](v)] == []


def test_every_tool_has_a_transcribed_rule() -> None:
    assert set(PRODUCT_READS_OFF) == set(TOOLS)


@pytest.mark.parametrize("product", TOOLS)
def test_we_never_call_off_a_value_the_product_reads_as_on(product: str) -> None:
    """The dangerous direction: check must not report a product off while it still collects."""
    switch = _env(product)
    reads_off = PRODUCT_READS_OFF[product]
    assert reads_off(str(switch.off))
    if switch.on is not None:
        assert not reads_off(str(switch.on))
    wrong = [v for v in SAMPLES if switch.is_off_value(v) and not reads_off(v)]
    assert not wrong, f"{product}: we would call {wrong} off, the product reads them as on"


# -- what check and the generated environment tell each tool (real files in the isolated HOME) -----

def _env_switch(product: str) -> NativeSwitch:
    return _env(product)


@pytest.mark.parametrize("product", TOOLS)
def test_check_reports_a_tool_off_when_its_own_variable_is(product: str, inprocess: Telemetry,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    switch = _env_switch(product)
    for part in _parts(product):  # a switch that stops one part of the product is off only with the others
        monkeypatch.setenv(part.variable, str(part.off))
    assert PRODUCT_READS_OFF[product](str(switch.off))  # what the tool itself does with that value
    data = json.loads(inprocess("check", "--json").stdout)
    facets = data["products"][product]
    for facet in ("collection", "upload"):
        assert facets[facet]["enabled"] is False, facet
        assert facets[facet]["origin"] == f"{switch.variable}={switch.off}"
    assert facets["update"]["enabled"] is True  # no switch of these tools is about a telemetry configuration
    (state,) = [n for n in facets["native"] if n["where"] == switch.variable]
    assert (state["value"], state["effect"]) == (str(switch.off), "off")
    # the tool's own variable is the environment layer of the one decision: off, and no drift (issue 20:
    # drift is only a leak, the product doing what telemetry-gate says is off)
    assert product not in data["drift"]


@pytest.mark.parametrize("product", [p for p in TOOLS if _env_switch(p).on is not None])
def test_check_reports_a_tool_on_when_its_variable_says_on(product: str, inprocess: Telemetry,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    switch = _env_switch(product)
    monkeypatch.setenv(switch.variable, str(switch.on))
    assert not PRODUCT_READS_OFF[product](str(switch.on))
    data = json.loads(inprocess("check", "--json").stdout)
    assert data["products"][product]["collection"]["enabled"] is True
    assert product not in data["drift"]


def _bash_env(script: str, **extra: str) -> dict[str, str]:
    """The environment a new bash has after ``script``, with the installed ``telemetry`` on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           **extra}
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", f"{script}; env -0"], capture_output=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pairs = (item.decode().split("=", 1) for item in proc.stdout.split(b"\0") if b"=" in item)
    return {name: value for name, value in pairs}


def test_after_disable_a_new_shell_gives_every_tool_a_value_it_reads_as_off(inprocess: Telemetry) -> None:
    before = _bash_env('eval "$(telemetry shell-init bash)"')
    assert [t for t in TOOLS if _env_switch(t).variable in before] == []
    assert inprocess("disable").exit_code == 0
    after = _bash_env('eval "$(telemetry shell-init bash)"')
    for product in TOOLS:
        variable = _env_switch(product).variable
        assert variable in after, f"{product}: {variable} missing after disable"
        assert PRODUCT_READS_OFF[product](after[variable]), f"{product} reads {variable}={after[variable]} as on"


def test_do_not_track_at_shell_start_reaches_every_tool(inprocess: Telemetry) -> None:
    assert inprocess("enable").exit_code == 0  # the environment files exist, nothing disabled
    shell = _bash_env('eval "$(telemetry shell-init bash)"', DO_NOT_TRACK="1")
    for product in TOOLS:
        variable = _env_switch(product).variable
        assert variable in shell, f"{product}: DO_NOT_TRACK did not reach {variable}"
        assert PRODUCT_READS_OFF[product](shell[variable])


def _astro_reads_off(config: Path) -> bool:
    """Astro's own rule (packages/telemetry/src/index.ts isDisabled): the global config's
    telemetry.enabled must be exactly false (the variable is not set here)."""
    if not config.exists():
        return False
    return json.loads(config.read_text()).get("telemetry", {}).get("enabled") is False


def test_disable_and_enable_reach_astros_config_file_keeping_the_rest(inprocess: Telemetry, isolation: Env) -> None:
    config = isolation.home / ".config" / "astro" / "config.json"
    config.parent.mkdir(parents=True)
    original = '{\n\t"telemetry": {\n\t\t"notifiedAt": "1700000000000",\n\t\t"anonymousId": "abc"\n\t}\n}'
    config.write_text(original)  # what Astro writes after its first-run notice
    assert not _astro_reads_off(config)
    assert inprocess("disable", "-p", "astro").exit_code == 0
    assert _astro_reads_off(config)
    assert json.loads(config.read_text())["telemetry"]["anonymousId"] == "abc"
    data = json.loads(inprocess("check", "--json").stdout)
    (state,) = [n for n in data["products"]["astro"]["native"] if n["kind"] == "config-file"]
    assert state["effect"] == "off"
    assert inprocess("enable", "-p", "astro").exit_code == 0
    assert not _astro_reads_off(config)
    assert json.loads(config.read_text())["telemetry"]["notifiedAt"] == "1700000000000"
