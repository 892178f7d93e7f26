"""``enable``/``disable`` reach the products' own switches, and ``check`` tells the truth as each
product sees it (issue 13, items 3 and 4). Real files in the isolated HOME.

Facts the assertions rest on (each cited in the shipped manifests):

- Cell Ranger 10.0.0 ``lib/go/telemetry/settings/settings.go`` GetTelemetryStatus (L189-L250):
  any entry named ``disable``/``disable_upload``/``disable_update`` in
  ``$XDG_CONFIG_HOME/tenx/telemetry`` switches off (``os.ReadDir``: a directory or a broken link
  counts); system-wide only ``/etc/tenx/telemetry/disable_upload`` and ``disable_update`` are read.
- PipeRider 0.41.0 ``piperider_cli/event/__init__.py``: ``log_event`` sends only when
  ``anonymous_tracking`` is the boolean true; a profile without ``user_id`` is rewritten as on.
- StripePy 1.3.0 ``stripepy/cli/telemetry.py`` L22-L31: ``STRIPEPY_NO_TELEMETRY`` merely set is off.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from conftest import install_tools as _install


def _cellranger_dir(isolation: Env) -> Path:
    return isolation.home / ".config" / "tenx" / "telemetry"


def _profile(isolation: Env) -> Path:
    return isolation.home / ".piperider" / "profile.yml"




def _piperider_profile(isolation: Env, text: str) -> Path:
    path = _profile(isolation)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _piperider_tracks(path: Path) -> bool:
    """PipeRider's own rule, from its profile: ``tracking and isinstance(tracking, bool)``, and a
    profile without ``user_id`` is regenerated with tracking on (event/__init__.py L30-L41, L106-L112)."""
    from telemetry_gate.policy.own.state import parse_yaml

    if not path.exists():
        return True
    profile = parse_yaml(path.read_text())
    if profile.get("user_id") is None:
        return True
    tracking = profile.get("anonymous_tracking", False)
    return bool(tracking and isinstance(tracking, bool))


def _cellranger_status(isolation: Env, system_root: Path) -> dict[str, bool]:
    """Cell Ranger's GetTelemetryStatus, transcribed (settings.go L189-L250), on these files."""
    status = {"collection": False, "upload": False, "update": False}  # True: disabled
    names = set(os.listdir(_cellranger_dir(isolation))) if _cellranger_dir(isolation).is_dir() else set()
    if "disable" in names:
        return {"collection": True, "upload": True, "update": True}
    status["upload"] = "disable_upload" in names or os.path.exists(system_root / "tenx/telemetry/disable_upload")
    status["update"] = "disable_update" in names or os.path.exists(system_root / "tenx/telemetry/disable_update")
    return status


def test_disable_then_enable_reaches_cellranger_and_piperider(telemetry: Telemetry, isolation: Env) -> None:
    env = _install(isolation, "cellranger")
    profile = _piperider_profile(isolation, "# my profile\nuser_id: 0123456789abcdef0123456789abcdef\n"
                                            "anonymous_tracking: true\n")
    out = telemetry("disable", env=env)
    assert out.exit_code == 0, out.stderr
    assert "cellranger: created ~/.config/tenx/telemetry/disable (the same switch for spaceranger, cellranger-arc)" \
        in out.stderr
    assert "piperider: set ~/.piperider/profile.yml anonymous_tracking: false" in out.stderr
    assert _cellranger_status(isolation, isolation.system_root) == dict.fromkeys(("collection", "upload", "update"),
                                                                                 True)
    assert not _piperider_tracks(profile)
    assert profile.read_text() == ("# my profile\nuser_id: 0123456789abcdef0123456789abcdef\n"
                                   "anonymous_tracking: false\n")
    check = json.loads(telemetry("check", "--json", env=env).stdout)
    assert check["drift"] == []
    assert all(n["agrees"] for p in ("cellranger", "piperider") for n in check["products"][p]["native"])

    out = telemetry("enable", env=env)
    assert out.exit_code == 0, out.stderr
    assert "cellranger: removed ~/.config/tenx/telemetry/disable" in out.stderr
    assert _cellranger_status(isolation, isolation.system_root) == dict.fromkeys(("collection", "upload", "update"),
                                                                                 False)
    assert _piperider_tracks(profile)
    check = json.loads(telemetry("check", "--json", env=env).stdout)
    assert check["drift"] == [] and check["products"]["cellranger"]["collection"]["enabled"] is True


def test_enable_after_cellranger_disable_upload_agrees_with_cellranger(inprocess: Telemetry, isolation: Env) -> None:
    """The issue's report: ``cellranger telemetry disable upload``, then ``telemetry enable``."""
    env = _install(isolation, "cellranger")
    folder = _cellranger_dir(isolation)
    folder.mkdir(parents=True)
    (folder / "settings.toml").write_text("[telemetry]\nupload = true\n")
    (folder / "disable_upload").write_bytes(b"")  # what cellranger telemetry disable upload writes
    check = json.loads(inprocess("check", "--json", env=env).stdout)
    upload = check["products"]["cellranger"]["upload"]
    # the flag is Cell Ranger's and, in telemetry-gate's own namespace, the user's own setting too:
    # it wins (Cell Ranger reads it), and it is no drift: nothing leaks (issue 20)
    assert upload == {"enabled": False, "origin": "~/.config/tenx/telemetry/disable_upload",
                      "layer": "user settings"}
    assert check["drift"] == []
    assert "drift" not in inprocess("check", env=env).stdout

    out = inprocess("enable", env=env)
    assert out.exit_code == 0
    assert not os.path.lexists(folder / "disable_upload")
    assert _cellranger_status(isolation, isolation.system_root)["upload"] is False
    check = json.loads(inprocess("check", "--json", env=env).stdout)
    assert check["products"]["cellranger"]["upload"]["enabled"] is True and check["drift"] == []


@pytest.mark.parametrize("entry", ["directory", "broken link"])
def test_a_cellranger_flag_that_is_a_directory_or_broken_link_counts(inprocess: Telemetry, isolation: Env,
                                                                     entry: str) -> None:
    folder = _cellranger_dir(isolation)
    folder.mkdir(parents=True)
    (folder / "settings.toml").write_text("[telemetry]\nupdate = true\n")
    if entry == "directory":
        (folder / "disable_update").mkdir()
    else:
        (folder / "disable_update").symlink_to(isolation.root / "missing")
    check = json.loads(inprocess("check", "--json", "-p", "cellranger").stdout)
    assert check["products"]["cellranger"]["update"]["enabled"] is False
    native = {n["where"]: n for n in check["products"]["cellranger"]["native"]}
    assert native["~/.config/tenx/telemetry/disable_update"]["value"] == entry
    assert inprocess("enable", "update", "-p", "cellranger").exit_code == 0
    assert not os.path.lexists(folder / "disable_update")


def test_enable_keeps_a_shared_switch_while_another_10x_product_is_disabled(inprocess: Telemetry,
                                                                            isolation: Env) -> None:
    env = _install(isolation, "cellranger")
    assert inprocess("disable", env=env).exit_code == 0
    flag = _cellranger_dir(isolation) / "disable"
    assert flag.exists()
    out = inprocess("enable", "-p", "cellranger", env=env)
    assert out.exit_code == 0
    assert flag.exists()  # spaceranger and cellranger-arc read the same file and stay disabled
    assert "cellranger: kept ~/.config/tenx/telemetry/disable: it also switches off cellranger-arc, spaceranger" \
        in out.stderr
    check = json.loads(inprocess("check", "--json", "-p", "cellranger", env=env).stdout)
    assert check["products"]["cellranger"]["collection"]["origin"] == "~/.config/tenx/telemetry/disable"
    assert check["drift"] == []  # the kept flag stops cellranger: stricter, never a leak
    assert inprocess("enable", env=env).exit_code == 0
    assert not flag.exists()


def test_disable_upload_stays_narrow_for_cellranger_and_goes_wider_for_piperider(inprocess: Telemetry,
                                                                                 isolation: Env) -> None:
    env = _install(isolation, "cellranger", "piperider")
    out = inprocess("disable", "upload", env=env)
    assert out.exit_code == 0
    assert sorted(n for n in os.listdir(_cellranger_dir(isolation)) if n.startswith("disable")) == ["disable_upload"]
    assert "piperider: ~/.piperider/profile.yml anonymous_tracking also stops collection" in out.stderr
    assert not _piperider_tracks(_profile(isolation))
    check = json.loads(inprocess("check", "--json", env=env).stdout)
    assert check["drift"] == []  # wider than asked because PipeRider has no narrower switch: agreed
    assert check["products"]["piperider"]["collection"]["layer"] == "product's own switch"


def test_disable_p_piperider_writes_a_profile_piperider_keeps(inprocess: Telemetry, isolation: Env) -> None:
    out = inprocess("disable", "-p", "piperider")
    assert out.exit_code == 0, out.stderr
    profile = _profile(isolation)
    assert not _piperider_tracks(profile)  # a user_id was added, so PipeRider does not rewrite it
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600 and stat.S_IMODE(profile.parent.stat().st_mode) == 0o700
    assert not _cellranger_dir(isolation).joinpath("disable").exists()  # only the product named


def test_dry_run_writes_nothing(inprocess: Telemetry, isolation: Env) -> None:
    env = _install(isolation, "cellranger")
    _piperider_profile(isolation, "user_id: abc\nanonymous_tracking: true\n")
    before = isolation.files()
    out = inprocess("disable", "--dry-run", env=env)
    assert out.exit_code == 0
    assert "cellranger: would create ~/.config/tenx/telemetry/disable" in out.stderr
    assert "piperider: would set ~/.piperider/profile.yml anonymous_tracking: false" in out.stderr
    assert isolation.files() == before
    out = inprocess("disable", "--system", "--dry-run", env=env)
    assert out.exit_code == 0 and "would create" in out.stderr
    assert isolation.files() == before


def test_system_disable_writes_what_cellranger_reads_system_wide(inprocess: Telemetry, isolation: Env) -> None:
    env: dict[str, str] = {}  # nothing on PATH: sudo's PATH rarely shows the users' tools
    out = inprocess("disable", "--system", env=env)
    assert out.exit_code == 0, out.stderr
    system = isolation.system_dir
    assert sorted(n for n in os.listdir(system) if n.startswith("disable")) == [
        "disable", "disable_update", "disable_upload"]
    for name in ("disable_update", "disable_upload"):
        assert stat.S_IMODE((system / name).stat().st_mode) == 0o644
    profile_d = isolation.system_root / "profile.d" / "telemetry-gate.sh"
    assert (f"cellranger: no system file switches collection off; TENX_DISABLE_TELEMETRY=1 does, exported by "
            f"{profile_d} (every login shell)") in out.stderr
    assert ("piperider: has no system-wide switch of its own; each user's 'telemetry disable' sets "
            "~/.piperider/profile.yml") in out.stderr
    assert "export TENX_DISABLE_TELEMETRY=1" in profile_d.read_text()  # collection, for every user
    status = _cellranger_status(isolation, isolation.system_root)
    assert status == {"collection": False, "upload": True, "update": True}  # /etc/.../disable is ignored
    check = inprocess("check", "-p", "cellranger", env={**env, "COLUMNS": "400"}).stdout
    assert "this shell lacks TENX_DISABLE_TELEMETRY=1" in check
    assert "drift" not in inprocess("check", "-p", "cellranger", env={**env, "TENX_DISABLE_TELEMETRY": "1"}).stdout
    assert inprocess("enable", "--system", env=env).exit_code == 0
    assert not [n for n in os.listdir(system) if n.startswith("disable")]


@pytest.mark.parametrize("facet", ["upload", "update"])
def test_system_disable_of_one_facet_names_the_flag_cellranger_reads(inprocess: Telemetry, isolation: Env,
                                                                    facet: str) -> None:
    out = inprocess("disable", facet, "--system", env={})
    assert out.exit_code == 0, out.stderr
    flag = isolation.system_dir / f"disable_{facet}"
    assert flag.exists()
    assert f"cellranger: {facet} stops: it reads {flag} itself" in out.stderr
    assert "TENX_DISABLE_TELEMETRY" not in out.stderr  # the profile.d file sets it only under DO_NOT_TRACK
    profile_d = (isolation.system_root / "profile.d" / "telemetry-gate.sh").read_text()
    assert "# cellranger (DO_NOT_TRACK only)\n" in profile_d


def test_a_profile_that_cannot_be_written_exits_4_and_settings_are_saved(inprocess: Telemetry,
                                                                         isolation: Env) -> None:
    profile = _piperider_profile(isolation, "user_id: abc\nanonymous_tracking: true\n")
    (profile.parent / f".profile.yml.{os.getpid()}.telemetry-gate.tmp").mkdir()  # the write cannot happen
    out = inprocess("disable", "-p", "piperider")
    assert out.exit_code == 4
    assert f"cannot write {profile}" in out.stderr and "Traceback" not in out.stderr
    assert profile.read_text() == "user_id: abc\nanonymous_tracking: true\n"
    assert "[products.piperider]" in (_cellranger_dir(isolation) / "settings.toml").read_text()


def test_a_switch_in_an_unwritable_place_exits_4(inprocess: Telemetry, isolation: Env, unwritable: Path) -> None:
    out = inprocess("disable", "-p", "piperider", env={"HOME": str(unwritable)})
    assert out.exit_code == 4 and "cannot create" in out.stderr
    assert (_cellranger_dir(isolation) / "settings.toml").exists()


def test_a_malformed_profile_is_reported_and_left_alone(inprocess: Telemetry, isolation: Env) -> None:
    profile = _piperider_profile(isolation, "anonymous_tracking: [true\n")
    out = inprocess("disable", "-p", "piperider")
    assert out.exit_code == 3 and f"{profile}" in out.stderr
    assert profile.read_text() == "anonymous_tracking: [true\n"
    check = inprocess("check", "-p", "piperider").stdout
    assert "cannot read piperider's own switch" in check


def test_env_drift_names_the_variable_and_the_fix(inprocess: Telemetry, isolation: Env) -> None:
    env = _install(isolation, "stripepy")
    assert inprocess("disable", "-p", "stripepy", env=env).exit_code == 0
    out = inprocess("check", env={**env, "COLUMNS": "400"})  # each drift line whole
    assert ("drift: stripepy: collection, upload disabled by ~/.config/tenx/telemetry/settings.toml "
            "[products.stripepy] (user settings), but this shell lacks STRIPEPY_NO_TELEMETRY=1") in out.stdout
    assert 'eval "$(telemetry shell-init bash)"' in out.stdout
    assert json.loads(inprocess("check", "--json", env=env).stdout)["drift"] == ["stripepy"]
    # StripePy: merely set is off, "0" included
    fixed = json.loads(inprocess("check", "--json", env={**env, "STRIPEPY_NO_TELEMETRY": "0"}).stdout)
    assert fixed["drift"] == []
    native = {n["where"]: n for n in fixed["products"]["stripepy"]["native"]}
    assert native["STRIPEPY_NO_TELEMETRY"]["effect"] == "off" and native["STRIPEPY_NO_TELEMETRY"]["value"] == "0"


def test_native_off_wins_over_our_settings(inprocess: Telemetry, isolation: Env) -> None:
    env = {**_install(isolation, "piperider"), "OTEL_SDK_DISABLED": "true"}
    _piperider_profile(isolation, "user_id: abc\nanonymous_tracking: false\n")
    check = json.loads(inprocess("check", "--json", env=env).stdout)
    collection = check["products"]["piperider"]["collection"]
    assert collection == {"enabled": False, "origin": "~/.piperider/profile.yml anonymous_tracking: false",
                          "layer": "product's own switch"}
    assert check["products"]["opentelemetry"]["upload"]["origin"] == "OTEL_SDK_DISABLED=true"
    # the user's own opt-out inside PipeRider is stricter than our settings: shown as such, never drift
    assert check["drift"] == []
    (state,) = check["products"]["piperider"]["native"]
    assert state["stricter"] is True and state["effect"] == "off"
    explain = inprocess("check", "collection", "-p", "piperider", "--explain", env=env).stdout
    assert any(line.split()[:1] == ["0"] and "<- wins" in line for line in explain.splitlines())


def test_check_json_contract_for_native(telemetry: Telemetry, isolation: Env) -> None:
    data = json.loads(telemetry("check", "--json").stdout)
    assert data["drift"] == []  # always present
    _piperider_profile(isolation, "user_id: abc\nanonymous_tracking: true\n")
    data = json.loads(telemetry("check", "--json").stdout)
    (switch,) = data["products"]["piperider"]["native"]
    assert set(switch) >= {"kind", "where", "value", "effect", "agrees"}
    assert switch["kind"] == "config-file" and switch["value"] == "true" and switch["effect"] == "on"
    assert set(data["products"]["piperider"]) == {"collection", "upload", "update", "native"}


def test_limits_are_shown_by_check_and_inspect_catalog(inprocess: Telemetry, isolation: Env) -> None:
    _piperider_profile(isolation, "user_id: abc\nanonymous_tracking: false\n")
    assert "note: piperider limits (no switch stops these): PipeRider reports errors" in \
        inprocess("check").stdout
    shown = json.loads(inprocess("inspect", "--catalog", "-p", "piperider", "--json").stdout)
    assert any("Sentry" in limit for limit in shown[0]["limits"])


def test_plain_disable_reaches_cellranger_even_off_path_and_writes_absent_tools_files_ahead(
        inprocess: Telemetry, isolation: Env) -> None:
    """Cell Ranger's flag directory is the tenx settings directory: once the settings are saved
    there, its flag is written too, whether or not ``cellranger`` is on this PATH (a pipeline
    unpacked in /opt). A tool with no trace here (PipeRider: no ~/.piperider) is not touched."""
    out = inprocess("disable")
    assert out.exit_code == 0
    assert _cellranger_status(isolation, isolation.system_root) == dict.fromkeys(
        ("collection", "upload", "update"), True)
    # issue 20 item 7: PipeRider, not found here (it usually lives in a project's own venv), gets its
    # own file written ahead, so it starts off wherever it runs; a tool with flags or variables only is left
    assert not _piperider_tracks(_profile(isolation))
    assert "piperider: set ~/.piperider/profile.yml anonymous_tracking: false (written ahead" in out.stderr
    assert inprocess("enable").exit_code == 0
    assert _piperider_tracks(_profile(isolation))  # ours to undo: the journal says we wrote it
    assert _cellranger_status(isolation, isolation.system_root) == dict.fromkeys(
        ("collection", "upload", "update"), False)
    assert json.loads(inprocess("check", "--json").stdout)["drift"] == []


def test_cellranger_s_flag_files_do_not_switch_off_products_with_switches_of_their_own(inprocess: Telemetry,
                                                                                      isolation: Env) -> None:
    """``disable upload -p cellranger`` must create Cell Ranger's shared ``disable_upload`` (the
    real Cell Ranger reads only that), but that file is the vendor's user flag file too: it used to
    turn upload off for every product and export every catalogued tool's off-switch (Angular,
    Astro, StripePy...) into env.sh. It speaks for the 10x products it covers and for products
    with no switch of their own, not for the others."""
    _cellranger_dir(isolation).mkdir(parents=True)
    out = inprocess("disable", "upload", "-p", "cellranger")
    assert out.exit_code == 0, out.stderr
    assert (_cellranger_dir(isolation) / "disable_upload").exists()
    for product, expected in (("cellranger", 1), ("spaceranger", 1), ("an-unlisted-tool", 1),
                              ("stripepy", 0), ("angular-cli", 0)):
        assert inprocess("check", "upload", "-p", product, "--quiet").exit_code == expected, product
    shell = subprocess.run(["sh", "-c", '. "$1"; echo "${STRIPEPY_NO_TELEMETRY-unset} ${NG_CLI_ANALYTICS-unset}"',
                            "sh", str(_cellranger_dir(isolation) / "env.sh")],
                           capture_output=True, text=True, env={**os.environ, "DO_NOT_TRACK": ""})
    assert shell.stdout.split() == ["unset", "unset"], shell.stderr


def test_what_cellranger_telemetry_disable_writes_still_stops_the_10x_products(inprocess: Telemetry,
                                                                               isolation: Env) -> None:
    _cellranger_dir(isolation).mkdir(parents=True)
    (_cellranger_dir(isolation) / "disable").touch()  # cellranger telemetry disable
    for product, expected in (("cellranger", 1), ("cellranger-arc", 1), ("stripepy", 0)):
        assert inprocess("check", "collection", "-p", product, "--quiet").exit_code == expected, product
