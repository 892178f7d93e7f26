"""The shipped manifests of the seed products hold each product's documented rule (issue 13).

Each rule is the product's own code, cited in the manifest's ``source``:

- Cell Ranger 10.0.0 lib/go/telemetry/settings/settings.go: ConfigDir() = os.UserConfigDir()
  + tenx/telemetry (L120-L133); GetTelemetryStatus (L189-L250): TENX_DISABLE_TELEMETRY non-empty
  (any value) disables all; entries ``disable``, ``disable_upload``, ``disable_update`` of the
  user directory; system-wide only /etc/tenx/telemetry/disable_upload and disable_update.
- StripePy 1.3.0 stripepy/cli/telemetry.py L22-L31: ``"STRIPEPY_NO_TELEMETRY" in os.environ``,
  then ``"NO_TELEMETRY" in os.environ``.
- Rubrix 0.18.0 rubrix/server/settings.py L83 and Argilla 1.0.0 argilla/server/settings.py L88:
  pydantic v1 BaseSettings bool (false: 0, off, f, false, n, no; anything else but the true
  words is a validation error and the server does not start).
- PipeRider 0.41.0: PIPERIDER_USER_PROFILE = ~/.piperider/profile.yml (piperider_cli/__init__.py
  L14-L18, expanduser, not XDG); log_event() sends when anonymous_tracking is the boolean true.
- opentelemetry-sdk 1.45.2 trace/__init__.py L1278-L1279: ``disabled.lower().strip() == "true"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.policy.catalogue import discover
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.places import expand
from telemetry_gate.policy.own.state import read

PYDANTIC_V1_FALSE = ("0", "off", "f", "false", "n", "no")


def _switches(isolation: Env, product: str) -> tuple[NativeSwitch, ...]:
    return discover(isolation.paths).manifests[product].native


def _env(isolation: Env, product: str, variable: str) -> NativeSwitch:
    return next(s for s in _switches(isolation, product) if s.kind == "env" and s.variable == variable)


def test_cellranger_flag_files_and_what_they_cover(isolation: Env) -> None:
    flags = {(s.scope, str(expand(s.path, {**os.environ, "XDG_CONFIG_HOME": "/x", "TELEMETRY_SYSTEM_DIR": "/s"})),
              s.facets) for s in _switches(isolation, "cellranger") if s.kind == "flag-file"}
    everything = ("collection", "upload", "update")
    assert flags == {
        ("user", "/x/tenx/telemetry/disable", everything),
        ("user", "/x/tenx/telemetry/disable_upload", ("upload",)),
        ("user", "/x/tenx/telemetry/disable_update", ("update",)),
        ("system", "/s/tenx/telemetry/disable_upload", ("upload",)),  # no system "disable": ignored by Cell Ranger
        ("system", "/s/tenx/telemetry/disable_update", ("update",)),
    }
    assert all(s.covers == ("cellranger", "spaceranger", "cellranger-arc")
               for s in _switches(isolation, "cellranger") if s.kind == "flag-file")
    tenx = _env(isolation, "cellranger", "TENX_DISABLE_TELEMETRY")
    assert tenx.facets == everything and tenx.scope == "system"
    assert all(read(tenx, {"TENX_DISABLE_TELEMETRY": v}).off for v in ("1", "0", "false"))


@pytest.mark.parametrize("variable", ["STRIPEPY_NO_TELEMETRY", "NO_TELEMETRY"])
def test_stripepy_any_value_even_empty_or_zero_is_off(isolation: Env, variable: str) -> None:
    switch = _env(isolation, "stripepy", variable)
    for value in ("1", "0", "", "no"):
        assert read(switch, {variable: value}).off, value
    assert not read(switch, {}).off


@pytest.mark.parametrize(("product", "variable"), [("rubrix", "RUBRIX_ENABLE_TELEMETRY"),
                                                   ("argilla", "ARGILLA_ENABLE_TELEMETRY")])
def test_rubrix_and_argilla_are_off_only_for_pydantic_false_words(isolation: Env, product: str,
                                                                  variable: str) -> None:
    switch = _env(isolation, product, variable)
    assert switch.off == "0" and switch.on == "1"  # what is written: never empty, never another word
    assert set(switch.off_values) == set(PYDANTIC_V1_FALSE)
    for value in ("0", "OFF", "f", "False", "n", "NO"):
        assert read(switch, {variable: value}).off, value
    for value in ("", "2", "disabled"):  # pydantic refuses these: the server would not start
        assert read(switch, {variable: value}).state == "other", value


def test_rubrix_env_file_holds_a_value_rubrix_reads(inprocess: Telemetry, isolation: Env) -> None:
    assert inprocess("disable", "-p", "rubrix").exit_code == 0
    text = (isolation.config_dir / "env.sh").read_text()
    assert "export RUBRIX_ENABLE_TELEMETRY=0;" in text or "export RUBRIX_ENABLE_TELEMETRY=0\n" in text
    assert "RUBRIX_ENABLE_TELEMETRY=\n" not in text and "RUBRIX_ENABLE_TELEMETRY=''" not in text


def test_piperider_profile_is_under_home_not_xdg(isolation: Env) -> None:
    (switch,) = _switches(isolation, "piperider")
    env = {**os.environ, "XDG_CONFIG_HOME": str(isolation.root / "elsewhere")}
    assert expand(switch.path, env) == Path(isolation.home) / ".piperider" / "profile.yml"
    assert (switch.format, switch.key, switch.off, switch.on) == ("yaml", "anonymous_tracking", False, True)
    assert switch.requires == (("user_id", "uuid4-hex"),)


def test_opentelemetry_only_true_disables(isolation: Env) -> None:
    switch = _env(isolation, "opentelemetry", "OTEL_SDK_DISABLED")
    assert switch.off == "true"
    for value in ("true", " TRUE ", "True"):
        assert read(switch, {"OTEL_SDK_DISABLED": value}).off, value
    for value in ("1", "yes", ""):
        assert not read(switch, {"OTEL_SDK_DISABLED": value}).off, value
