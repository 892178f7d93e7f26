"""Catalogue facts, third set (issue 22 item 4): Pulumi, CocoaPods, Dart and Flutter, each held to
the product's own code at the tag or commit its manifest cites. The variables' value rules are
transcribed beside the others' in ``test_catalog_facts_a.PRODUCT_READS_OFF`` (and run by its shared
tests); this file holds what those cannot say.

- Pulumi v3.259.0: the update check runs unless ``PULUMI_SKIP_UPDATE_CHECK`` is ``1`` or ``true``
  (any case); when logged in to the Pulumi Cloud it carries the command, the flags and the names
  of the PULUMI_* variables. Stopping it is the ``update`` facet and, for that report, ``upload``.
- cocoapods-stats v1.1.0 (a default plugin of CocoaPods up to 1.9.x): ``ENV['COCOAPODS_DISABLE_STATS'].nil?``.
- Dart and Flutter (unified_analytics v8.0.17, config_handler.dart): ``reporting=0`` in
  ``~/.dart-tool/dart-flutter-telemetry.config`` (``%AppData%`` on Windows), found by the multi-line
  pattern ``^reporting=([0|1]) *$``; one such line holding 0 turns reporting off. ``_dart_reads_off``
  transcribes that rule line by line, independently of the ``lines`` format that reads it here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from conftest import bash_env as _bash_env
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import read

MANIFESTS: dict[str, Manifest] = {
    name: parse((SHIPPED / f"{name}.toml").read_bytes(), str(SHIPPED / f"{name}.toml"))
    for name in ("pulumi", "cocoapods", "dart", "flutter")
}



def _pulumi_skips_update_check(value: str) -> bool:
    """sdk/go/common/util/env/env.go L338-L347: ``v == "1" || strings.EqualFold(v, "true")``."""
    return value == "1" or value.lower() == "true"


def test_pulumis_update_check_is_its_update_facet_and_the_report_it_carries(inprocess: Telemetry,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (switch,) = MANIFESTS["pulumi"].native
    assert switch.facets == ("upload", "update") and switch.off == "true"
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "TRUE")  # EqualFold: any case skips it
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["pulumi"]
    assert facets["update"]["enabled"] is False and facets["update"]["origin"] == "PULUMI_SKIP_UPDATE_CHECK=TRUE"
    assert facets["upload"]["enabled"] is False
    assert facets["collection"]["enabled"] is True  # the CLI keeps no usage records of its own
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "0")  # Pulumi checks for updates: we must say on
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["pulumi"]
    assert facets["update"]["enabled"] is True


def test_disable_update_gives_pulumi_a_value_it_reads_as_skip(inprocess: Telemetry) -> None:
    assert inprocess("disable", "update", "-p", "pulumi").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert _pulumi_skips_update_check(shell["PULUMI_SKIP_UPDATE_CHECK"])
    assert inprocess("enable", "update", "-p", "pulumi").exit_code == 0
    shell = _bash_env('eval "$(telemetry shell-init bash)"')
    assert not _pulumi_skips_update_check(shell.get("PULUMI_SKIP_UPDATE_CHECK", ""))


def test_cocoapods_empty_variable_stops_its_stats_as_ruby_reads_it(inprocess: Telemetry,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCOAPODS_DISABLE_STATS", "")  # ENV[...] is "" - not nil, so no stats
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["cocoapods"]
    assert facets["collection"]["enabled"] is False and facets["upload"]["enabled"] is False


def test_cocoapods_says_which_versions_send_anything(inprocess: Telemetry) -> None:
    out = inprocess("inspect", "--catalog", "-p", "cocoapods").stdout
    limits = [line for line in out.splitlines() if line.startswith("limit: ")]
    assert any("1.10.0" in line and "cocoapods-stats" in line for line in limits), out


# -- Dart and Flutter: the shared unified_analytics config file ------------------------------------

_DART_KCONFIG = """# INTRODUCTION
#
# This is the Flutter and Dart telemetry reporting
# configuration file.
#
# DISABLING TELEMETRY REPORTING
#
# To disable telemetry reporting, set "reporting" to
# the value "0" and to enable, set to "1":
reporting=1

# NOTIFICATIONS
#
#   flutter-tools (Flutter CLI developer tool)
flutter-tool=2026-01-05,1
dart-tool=2026-01-06,1
"""  # constants.dart kConfigString (abridged comments), after flutter and dart each showed their notice


def _dart_lines(text: str) -> list[str]:
    return re.split("[\n\r\u2028\u2029]", text)  # a JavaScript pattern's line terminators


def _dart_reads_off(text: str) -> bool:
    """ConfigHandler.parseConfig: enabled unless a line matching ^reporting=([0|1]) *$ (multiLine)
    captures 0; ``[0|1]`` is a character class, so ``reporting=|`` matches and means nothing."""
    return any((m := re.fullmatch(r"reporting=([0|1]) *", line)) is not None and m.group(1) == "0"
               for line in _dart_lines(text))


def _dart_matches(text: str, pattern: str) -> int:
    """How many lines match, as setTelemetry and incrementToolVersion count before they reset the file."""
    return sum(re.fullmatch(pattern, line) is not None for line in _dart_lines(text))


def _config_switch(product: str) -> NativeSwitch:
    (switch,) = [s for s in MANIFESTS[product].native if s.kind == "config-file"]
    return switch


def _config(isolation: Env) -> Path:
    return isolation.home / ".dart-tool" / "dart-flutter-telemetry.config"


@pytest.mark.parametrize("text", [
    _DART_KCONFIG, _DART_KCONFIG.replace("reporting=1", "reporting=0"), "reporting=0", "reporting=0   \n",
    "reporting=0\r\n", "x=1\rreporting=0\rdart-tool=2026-01-01,1", "reporting=0\u2028", "reporting=1\nreporting=0\n",
    "reporting=0\nreporting=1\n", "reporting = 0\n", "reporting= 0\n", " reporting=0\n", "reporting=0\t\n",
    "Reporting=0\n", "reporting=00\n", "reporting=|\n", "reporting=\n", "# reporting=0\n", "xreporting=0\n",
    "reporting=0 # off\n", "", "flutter-tool=2026-01-05,1\n", "reporting=1\nreporting=|\n", "reporting=2\n",
    "reporting=0\nreporting=0\n",
])
def test_the_config_file_reads_as_dart_reads_it(text: str, tmp_path: Path) -> None:
    for product in ("dart", "flutter"):
        switch = _config_switch(product)
        path = tmp_path / "dart-flutter-telemetry.config"
        path.write_text(text, newline="")
        state = read(switch._replace(path=str(path)), {}).state
        assert (state == "off") is _dart_reads_off(text), (product, text, state)
        if not _dart_reads_off(text):  # on, or a value neither 0 nor 1 (shown as it is, never as off)
            assert state in ("on", "other")


def test_the_config_file_is_under_dart_s_home_on_each_platform() -> None:
    from telemetry_gate.policy.own.places import expand, platform_path

    environ = {"HOME": "/h", "APPDATA": "/a/Roaming", "XDG_CONFIG_HOME": "/x"}
    for product in ("dart", "flutter"):
        paths = _config_switch(product).paths  # utils.dart getHomeDirectory: HOME, or AppData on Windows
        assert str(expand(platform_path(paths, "linux"), environ)) == "/h/.dart-tool/dart-flutter-telemetry.config"
        assert str(expand(platform_path(paths, "macos"), environ)) == "/h/.dart-tool/dart-flutter-telemetry.config"
        assert str(expand(platform_path(paths, "windows"), environ)) == \
            "/a/Roaming/.dart-tool/dart-flutter-telemetry.config"


@pytest.mark.parametrize("product", ["dart", "flutter"])
def test_disable_writes_reporting_0_keeping_dart_s_lines_and_enable_undoes_it(product: str, inprocess: Telemetry,
                                                                               isolation: Env) -> None:
    config = _config(isolation)
    config.parent.mkdir()
    config.write_text(_DART_KCONFIG)
    assert not _dart_reads_off(config.read_text())
    assert inprocess("disable", "-p", product).exit_code == 0
    written = config.read_text()
    assert _dart_reads_off(written)
    assert written == _DART_KCONFIG.replace("reporting=1", "reporting=0")  # every other byte kept
    assert _dart_matches(written, r"reporting=([0|1]) *") == 1  # setTelemetry would otherwise reset it
    assert _dart_matches(written, r"flutter-tool=([0-9]{4}-[0-9]{2}-[0-9]{2}),([0-9]+)") == 1
    facets = json.loads(inprocess("check", "--json").stdout)["products"]
    assert facets["dart"]["collection"]["enabled"] is False and facets["flutter"]["collection"]["enabled"] is False
    assert inprocess("enable", "-p", product).exit_code == 0
    assert config.read_text() == _DART_KCONFIG


def test_disable_everything_writes_the_shared_file_once_and_enable_restores_it(inprocess: Telemetry,
                                                                               isolation: Env) -> None:
    config = _config(isolation)
    config.parent.mkdir()
    config.write_text(_DART_KCONFIG)
    assert inprocess("disable").exit_code == 0
    assert _dart_reads_off(config.read_text())
    assert inprocess("enable").exit_code == 0
    assert config.read_text() == _DART_KCONFIG


def test_disable_ahead_of_dart_writes_a_file_dart_keeps_off(inprocess: Telemetry, isolation: Env) -> None:
    """No file yet: Dart's runInitialization creates one only when it is missing, so the one written
    ahead stays; Dart then appends its tool line after the notice (addTool), still off."""
    config = _config(isolation)
    assert inprocess("disable", "-p", "dart").exit_code == 0
    written = config.read_text()
    assert written == "reporting=0\n" and _dart_reads_off(written)
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    appended = written + "dart-tool=2026-02-01,1\n"  # what addTool appends (the file ends with a newline)
    assert _dart_reads_off(appended)


def test_an_opt_out_made_with_dart_s_own_command_is_kept_by_enable(inprocess: Telemetry, isolation: Env) -> None:
    config = _config(isolation)
    config.parent.mkdir()
    opted_out = _DART_KCONFIG.replace("reporting=1", "reporting=0")  # dart --disable-analytics
    config.write_text(opted_out)
    assert inprocess("enable", "-p", "flutter").exit_code == 0
    assert config.read_text() == opted_out


def test_duplicate_reporting_lines_become_one(inprocess: Telemetry, isolation: Env) -> None:
    config = _config(isolation)
    config.parent.mkdir()
    config.write_text("reporting=1\r\nflutter-tool=2026-01-05,1\r\nreporting=1  \r\nreporting=|\r\n")
    assert inprocess("disable", "-p", "flutter").exit_code == 0
    written = config.read_bytes().decode()
    assert written == "reporting=0\r\nflutter-tool=2026-01-05,1\r\n"
    assert _dart_reads_off(written) and _dart_matches(written, r"reporting=([0|1]) *") == 1


def test_flutter_suppress_analytics_is_off_only_for_true(inprocess: Telemetry,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUTTER_SUPPRESS_ANALYTICS", "TRUE")
    facets = json.loads(inprocess("check", "--json").stdout)["products"]
    assert facets["flutter"]["collection"]["enabled"] is False
    monkeypatch.setenv("FLUTTER_SUPPRESS_ANALYTICS", "0")
    assert json.loads(inprocess("check", "--json").stdout)["products"]["flutter"]["collection"]["enabled"] is True


_LINES = """[product]
name = "p"
[[native]]
kind = "config-file"
facets = ["collection"]
source = "https://example.org/p"
path = "~/.p/telemetry.config"
format = "lines"
"""


def test_a_lines_switch_takes_one_plain_name_and_single_word_values() -> None:
    assert parse((_LINES + 'key = "reporting"\noff = "0"\non = "1"\n').encode(), "/x/p.toml").native[0].key \
        == "reporting"
    for extra in ('key = "a b"\noff = "0"\non = "1"\n', 'key = "a.b"\noff = "0"\non = "1"\n',
                  'key = "a=b"\noff = "0"\non = "1"\n', 'key = "reporting"\noff = "0 1"\non = "1"\n',
                  'key = "reporting"\noff = "a=0"\non = "1"\n', 'key = "reporting"\noff = 0\non = 1\n',
                  'key = "reporting"\noff = "0"\non = "1"\nflat_key = true\n', 'off = "0"\non = "1"\n'):
        with pytest.raises(InvalidFileError):
            parse((_LINES + extra).encode(), "/x/p.toml")


def test_inprocess_home_is_the_isolated_one(isolation: Env) -> None:
    assert Path(os.path.expanduser("~")) == isolation.home  # the tests above write Dart's file there
