"""Issue 20 items 1 and 2: one answer to "may P do F now, and why", asked by every path (the
Recorder, ``check``, ``send``, ``send ID``, the generated shell files), and ``enable`` undoes only
what telemetry-gate itself wrote into another product's file. Real files in the isolated HOME, a
real loopback collector, real shells."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry
from conftest import install_tools as _install
from telemetry_gate import Recorder
from telemetry_gate.policy.catalogue import discover
from telemetry_gate.policy.manifests import SHIPPED
from telemetry_gate.policy.own.model import NativeSwitch


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running




def _profile(isolation: Env, text: str | None = None) -> Path:
    path = isolation.home / ".piperider" / "profile.yml"
    if text is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


# -- two answers to one question ---------------------------------------------------------------

def test_an_empty_stripepy_variable_stops_the_recorder_as_check_says(inprocess: Telemetry, isolation: Env,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # StripePy 1.3.0: "in os.environ" - set and empty is off
    monkeypatch.setenv("STRIPEPY_NO_TELEMETRY", "")
    assert inprocess("check", "collection", "-p", "stripepy", "--quiet").exit_code == 1
    recorder = Recorder("stripepy", "1.3.0")
    assert recorder.enabled is False and recorder.record("call") is None
    assert not isolation.pending("stripepy")


@pytest.mark.parametrize("how", ["variable", "piperider's own file"])
def test_send_id_never_overrides_the_products_own_switch(how: str, inprocess: Telemetry, isolation: Env,
                                                         collector: Collector) -> None:
    product = "huggingface-hub" if how == "variable" else "piperider"
    ids = [Recorder(product, "1.0.0").record("call") for _ in range(2)]
    assert all(ids)
    env: dict[str, str] = {}
    if how == "variable":
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    else:
        _profile(isolation, "user_id: a\nanonymous_tracking: false\n")
    plain = inprocess("send", "--endpoint", collector.url, env=env)
    assert "upload is disabled by" in plain.stderr
    chosen = inprocess("send", *[i for i in ids if i], "--yes", "--endpoint", collector.url, env=env)
    assert chosen.exit_code == 4, chosen.stderr
    assert "not sent" in chosen.stderr and collector.connections == 0
    assert len(isolation.pending(product)) == 2


def test_hf_hub_disable_telemetry_false_is_on_as_huggingface_hub_reads_it(inprocess: Telemetry) -> None:
    # huggingface_hub v1.28.0 constants.py: only 1/ON/YES/TRUE are off; "false" keeps it collecting
    out = json.loads(inprocess("check", "--json", "-p", "huggingface-hub",
                               env={"HF_HUB_DISABLE_TELEMETRY": "false"}).stdout)
    assert out["products"]["huggingface-hub"]["collection"]["enabled"] is True
    notes = json.loads(inprocess("check", "--json", env={"HF_HUB_DISABLE_TELEMETRY": "maybe"}).stdout)["notes"]
    assert len([n for n in notes if "HF_HUB_DISABLE_TELEMETRY" in n]) == 1  # gradio declares it too: said once


@pytest.mark.parametrize("value", ["no", "off", "0", "~", "'false'", "'true'", "yes"])
def test_piperider_sends_only_for_the_boolean_true(value: str, inprocess: Telemetry, isolation: Env,
                                                   collector: Collector) -> None:
    # PipeRider 0.41.0 log_event(): `if not (tracking and isinstance(tracking, bool))`: nothing else sends
    _profile(isolation, f"user_id: a\nanonymous_tracking: {value}\n")
    assert inprocess("check", "collection", "-p", "piperider", "--quiet").exit_code == 1
    assert Recorder("piperider", "0.41.0").record("run") is None
    inprocess("send", "--endpoint", collector.url)
    assert collector.connections == 0


def test_astros_string_false_is_not_its_off(inprocess: Telemetry, isolation: Env) -> None:
    # @astrojs/telemetry: only the JSON boolean false turns it off ("false" the string does not)
    config = isolation.home / ".config" / "astro" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"telemetry": {"enabled": "false"}}')
    data = json.loads(inprocess("check", "--json", "-p", "astro").stdout)
    assert data["products"]["astro"]["collection"]["enabled"] is True
    (state,) = [n for n in data["products"]["astro"]["native"] if n["kind"] == "config-file"]
    assert state["effect"] == "other"
    assert inprocess("disable", "-p", "astro").exit_code == 0
    assert json.loads(config.read_text())["telemetry"]["enabled"] is False


@pytest.mark.parametrize("dnt", [" ", "1", "\t"])
def test_a_blank_do_not_track_disables_in_check_and_in_the_shell_file(dnt: str, inprocess: Telemetry,
                                                                     isolation: Env) -> None:
    env = _install(isolation, "stripepy")
    assert inprocess("enable", env=env).exit_code == 0  # writes the generated files
    sh = isolation.config_dir / "env.sh"
    assert sh.exists()
    assert inprocess("check", "collection", "-p", "stripepy", "--quiet", env={**env, "DO_NOT_TRACK": dnt}) \
        .exit_code == 1
    out = subprocess.run(["sh", "-c", f'. "{sh}"; printf %s "${{STRIPEPY_NO_TELEMETRY-unset}}"'],
                         env={"PATH": os.environ["PATH"], "HOME": str(isolation.home), "DO_NOT_TRACK": dnt},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout != "unset"  # StripePy in a new shell is off, as check says


def test_the_shipped_catalogue_declares_each_variable_once() -> None:
    for path in sorted(SHIPPED.glob("*.toml")):
        assert "[[product.env]]" not in path.read_text(), path.name


def test_an_old_product_env_table_is_read_as_the_native_switch_it_means(inprocess: Telemetry, isolation: Env,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "oldtool.toml").write_text(
        '[product]\nname = "oldtool"\n\n[[product.env]]\nname = "OLDTOOL_NO_TELEMETRY"\n'
        'kind = "disable-if-set"\nfacets = ["collection", "upload"]\n')
    (switch,) = discover(isolation.paths).manifests["oldtool"].native
    assert isinstance(switch, NativeSwitch) and (switch.kind, switch.variable) == ("env", "OLDTOOL_NO_TELEMETRY")
    monkeypatch.setenv("OLDTOOL_NO_TELEMETRY", "")
    assert inprocess("check", "collection", "-p", "oldtool", "--quiet").exit_code == 1
    assert Recorder("oldtool", "1.0").record("x") is None


@functools.cache
def _env_switches() -> tuple[NativeSwitch, ...]:
    from telemetry_gate.policy.manifests import parse

    found = []
    for path in sorted(SHIPPED.glob("*.toml")):
        manifest = parse(path.read_bytes(), str(path))
        found += [s for s in manifest.native if s.kind == "env" and "collection" in s.facets and not s.part]
    return tuple(found)


def _cases() -> list[tuple[str, str, str | None]]:
    cases = []
    for switch in _env_switches():
        values: list[str | None] = [switch.off, "", None]
        if switch.on is not None:  # a yes/no variable: its on value, a word meaning the same, one not understood
            values += [switch.on, "false" if switch.on.lower() in ("0", "false", "no", "off") else "TRUE", "maybe"]
        cases += [(switch.product, switch.variable, v) for v in values]
    return cases


@pytest.mark.parametrize(("product", "variable", "value"), _cases())
def test_recorder_check_send_and_send_id_agree_on_every_catalogued_variable(
        product: str, variable: str, value: str | None, inprocess: Telemetry, isolation: Env,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in {s.variable for s in _env_switches()}:
        monkeypatch.delenv(name, raising=False)
    if value is not None:
        monkeypatch.setenv(variable, value)
    data = json.loads(inprocess("check", "--json", "-p", product).stdout)
    collection = data["products"][product]["collection"]["enabled"]
    upload = data["products"][product]["upload"]["enabled"]
    assert Recorder(product, "1.0.0").enabled is collection
    from telemetry_gate.policy.gate import Gate

    gate = Gate.open("tenx")
    assert gate.decide("upload", product).enabled is upload  # what send asks
    # send ID overrides only the user's own settings: with none set, it agrees with check
    assert gate.decide("upload", product, explicit=True).enabled is upload


# -- whose switch is it --------------------------------------------------------------------------

def test_enable_keeps_an_opt_out_made_inside_piperider(inprocess: Telemetry, isolation: Env) -> None:
    env = _install(isolation, "piperider")
    profile = _profile(isolation, "user_id: a\nanonymous_tracking: false\n")
    before = profile.read_bytes()
    out = inprocess("enable", env=env)
    assert out.exit_code == 0, out.stderr
    assert profile.read_bytes() == before  # the user's own opt-out stays
    assert "piperider: kept ~/.piperider/profile.yml anonymous_tracking: false" in out.stderr
    assert "set in piperider itself" in out.stderr
    data = json.loads(inprocess("check", "--json", "-p", "piperider", env=env).stdout)
    assert data["drift"] == []  # stricter than our settings: never drift with an enable fix
    assert "drift:" not in inprocess("check", env=env).stdout


def test_enable_undoes_what_disable_wrote_and_restores_the_value_before(inprocess: Telemetry,
                                                                       isolation: Env) -> None:
    env = _install(isolation, "piperider")
    profile = _profile(isolation, "user_id: a\nanonymous_tracking: true  # mine\n")
    assert inprocess("disable", env=env).exit_code == 0
    assert "anonymous_tracking: false" in profile.read_text()
    out = inprocess("enable", env=env)
    assert out.exit_code == 0, out.stderr
    assert profile.read_text() == "user_id: a\nanonymous_tracking: true  # mine\n"
    # and once undone, a later opt-out made in PipeRider is the user's again
    profile.write_text("user_id: a\nanonymous_tracking: false\n")
    assert "kept" in inprocess("enable", env=env).stderr
    assert profile.read_text() == "user_id: a\nanonymous_tracking: false\n"


def test_a_value_changed_after_our_write_is_not_ours_to_undo(inprocess: Telemetry, isolation: Env) -> None:
    env = _install(isolation, "astro")
    config = isolation.home / ".config" / "astro" / "config.json"
    assert inprocess("disable", "-p", "astro", env=env).exit_code == 0
    assert json.loads(config.read_text())["telemetry"]["enabled"] is False
    journal = isolation.home / ".local" / "state" / "tenx" / "telemetry" / "native-journal.json"
    assert oct(journal.stat().st_mode & 0o777) == "0o600"
    assert str(config) in journal.read_text()
    assert inprocess("enable", "-p", "astro", env=env).exit_code == 0
    assert json.loads(config.read_text())["telemetry"]["enabled"] is True


@pytest.mark.parametrize(("product", "variable", "value"), _cases())
def test_the_generated_shell_file_agrees_with_check(product: str, variable: str, value: str | None,
                                                    inprocess: Telemetry, isolation: Env,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # our settings say off for the product; the variable holds ``value`` in the shell that starts.
    # What check decides there must be what the product itself does once env.sh has run.
    switch = next(s for s in _env_switches() if s.product == product and s.variable == variable)
    for name in {s.variable for s in _env_switches()}:
        monkeypatch.delenv(name, raising=False)
    assert inprocess("disable", "-p", product).exit_code == 0
    env = {variable: value} if value is not None else {}
    data = json.loads(inprocess("check", "--json", "-p", product, env=env).stdout)
    enabled = data["products"][product]["collection"]["enabled"]
    if value == "maybe" and switch.on is not None and not switch.is_off_value(value):
        assert enabled is False  # not understood: ambiguity never turns telemetry on (and env.sh overrides it)
    sh = isolation.config_dir / "env.sh"
    shell_env = {"PATH": os.environ["PATH"], "HOME": str(isolation.home), **env}
    out = subprocess.run(["sh", "-c", f'. "{sh}"; if [ -n "${{{variable}+x}}" ]; then printf "=%s" "${variable}"; fi'],
                         env=shell_env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    final = out.stdout[1:] if out.stdout.startswith("=") else None
    files_off = any(n["kind"] != "env" and n["effect"] == "off" and "collection" in n["facets"]
                    for n in data["products"][product].get("native", []))  # Cell Ranger's flag file, say
    product_on = (final is None or not switch.is_off_value(final)) and not files_off
    assert enabled is product_on, (final, data["products"][product]["collection"])
