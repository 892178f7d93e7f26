"""Each kind of native switch, read and written on real files in the isolated HOME.

The writers must keep every other byte of another product's file, never leave a half-written
or empty file, and never rewrite a file they cannot parse.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import Env
from telemetry_gate.errors import InvalidFileError, PermissionDenied
from telemetry_gate.native import edit, flags
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import read


def _flag(path: str = "$XDG_CONFIG_HOME/demo/disable") -> NativeSwitch:
    return NativeSwitch("demo", "flag-file", ("collection",), "https://x", path=path, covers=("demo",))


def _config(fmt: str, key: str, path: str, off: object = False, on: object = True,
            absent: str = "on", requires: tuple[tuple[str, str], ...] = ()) -> NativeSwitch:
    return NativeSwitch("demo", "config-file", ("collection", "upload"), "https://x", path=path, format=fmt,
                        key=key, off=off, on=on, absent=absent, covers=("demo",), requires=requires)  # type: ignore[arg-type]


# -- flag-file ----------------------------------------------------------------------------


def test_flag_file_any_directory_entry_is_off(isolation: Env) -> None:
    switch = _flag()
    path = isolation.home / ".config" / "demo" / "disable"
    assert read(switch, os.environ).state == "on"
    path.parent.mkdir(parents=True)
    path.mkdir()
    assert read(switch, os.environ).value == "directory" and read(switch, os.environ).off
    path.rmdir()
    path.symlink_to(isolation.root / "nowhere")
    assert read(switch, os.environ).value == "broken link" and read(switch, os.environ).off


def test_flag_file_written_off_and_on(isolation: Env) -> None:
    path = isolation.home / ".config" / "demo" / "sub" / "disable"
    flags.create_flag(path, system=False)
    assert path.read_bytes() == b""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    flags.remove_flag(path)
    assert not os.path.lexists(path)


def test_flag_file_only_an_empty_regular_file_is_removed(isolation: Env) -> None:
    path = isolation.home / "disable"
    path.mkdir()  # even an empty directory: only what a flag file is, is removed
    with pytest.raises(InvalidFileError, match="is a directory"):
        flags.remove_flag(path)
    assert path.is_dir()
    path.rmdir()
    path.write_text("x")
    with pytest.raises(InvalidFileError, match="holds 1 bytes"):
        flags.remove_flag(path)
    assert path.read_text() == "x"


def test_flag_file_in_an_unwritable_place(unwritable: Path) -> None:
    with pytest.raises(PermissionDenied) as caught:
        flags.create_flag(unwritable / "disable", system=False)
    assert str(unwritable) in caught.value.message
    assert not os.path.lexists(unwritable / "disable")


def test_system_flag_is_world_readable_whatever_the_umask(isolation: Env) -> None:
    old = os.umask(0o077)
    try:
        path = isolation.system_root / "demo" / "disable_upload"
        flags.create_flag(path, system=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and stat.S_IMODE(path.parent.stat().st_mode) == 0o755


# -- env -----------------------------------------------------------------------------------


def test_env_merely_set_is_off_even_empty_or_zero() -> None:
    """StripePy: ``if "STRIPEPY_NO_TELEMETRY" in os.environ`` (stripepy/cli/telemetry.py L22, v1.3.0)."""
    switch = NativeSwitch("stripepy", "env", ("collection", "upload"), "https://x", variable="STRIPEPY_NO_TELEMETRY",
                          off="1", off_when="set")
    assert read(switch, {}).state == "on"
    for value in ("1", "0", "", "false"):
        assert read(switch, {"STRIPEPY_NO_TELEMETRY": value}).off, value


def test_env_only_listed_values_are_off() -> None:
    """Rubrix 0.18: pydantic v1 bool: 0/off/f/false/n/no are false (settings.py L83, enable_telemetry)."""
    switch = NativeSwitch("rubrix", "env", ("collection", "upload"), "https://x", variable="RUBRIX_ENABLE_TELEMETRY",
                          off="0", off_when="values", off_values=("0", "off", "f", "false", "n", "no"), on="1")
    for value in ("0", "off", "F", "No", "FALSE"):
        assert read(switch, {"RUBRIX_ENABLE_TELEMETRY": value}).off, value
    assert read(switch, {"RUBRIX_ENABLE_TELEMETRY": "1"}).state == "on"
    for value in ("maybe", " No "):  # bool_validator lower-cases, never strips: the server would not start
        assert read(switch, {"RUBRIX_ENABLE_TELEMETRY": value}).state == "other"


# -- config-file ---------------------------------------------------------------------------

CASES = {
    "toml": ("# my settings\n[core]  # keep\nname = \"ana\"\ntelemetry = true # on\n\n[other]\nx = 1\n",
             "core.telemetry",
             "# my settings\n[core]  # keep\nname = \"ana\"\ntelemetry = false # on\n\n[other]\nx = 1\n"),
    "yaml": ("# profile\nuser_id: abc   # mine\nanonymous_tracking: true\nlist:\n  - 1\n  - 2\n",
             "anonymous_tracking",
             "# profile\nuser_id: abc   # mine\nanonymous_tracking: false\nlist:\n  - 1\n  - 2\n"),
    "json": ('{\n  "name": "ana",\n  "core": {"telemetry": true, "x": [1, 2]}\n}\n',
             "core.telemetry", '{\n  "name": "ana",\n  "core": {"telemetry": false, "x": [1, 2]}\n}\n'),
    "ini": ("; top\n[core]\nname = ana\ntelemetry = true\n\n[other]\nx = 1\n",
            "core.telemetry", "; top\n[core]\nname = ana\ntelemetry = false\n\n[other]\nx = 1\n"),
}


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_config_file_edit_keeps_every_other_byte(isolation: Env, fmt: str) -> None:
    before, key, after = CASES[fmt]
    path = isolation.home / f"app.{fmt}"
    path.write_text(before)
    path.chmod(0o640)
    switch = _config(fmt, key, f"~/app.{fmt}")
    assert read(switch, os.environ).state == "on"
    edit.set_key(path, switch, False)
    assert path.read_text() == after
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file keeps its mode
    assert read(switch, os.environ).off and read(switch, os.environ).value == "false"
    edit.set_key(path, switch, True)
    assert path.read_text() == before
    assert read(switch, os.environ).state == "on"


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_config_file_created_when_missing(isolation: Env, fmt: str) -> None:
    path = isolation.home / "new" / f"app.{fmt}"
    switch = _config(fmt, "core.telemetry", f"~/new/app.{fmt}")
    edit.set_key(path, switch, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read(switch, os.environ).off
    assert path.read_text().strip()


@pytest.mark.parametrize(("fmt", "broken"), [("toml", "[core\ntelemetry = true\n"),
                                             ("yaml", "anonymous_tracking: [true\n"),
                                             ("json", '{"core": {"telemetry": true}\n'),
                                             ("ini", "telemetry = true\n[core\n")])
def test_a_malformed_file_is_reported_and_never_rewritten(isolation: Env, fmt: str, broken: str) -> None:
    path = isolation.home / f"app.{fmt}"
    path.write_text(broken)
    key = "anonymous_tracking" if fmt == "yaml" else "core.telemetry"
    switch = _config(fmt, key, f"~/app.{fmt}")
    reading = read(switch, os.environ)
    assert reading.state == "unreadable" and reading.problem
    with pytest.raises(InvalidFileError):
        edit.set_key(path, switch, False)
    assert path.read_text() == broken
    assert os.listdir(isolation.home) == [f"app.{fmt}"]  # no temporary file left behind


def test_a_write_that_fails_leaves_the_file_whole(isolation: Env) -> None:
    path = isolation.home / "app.json"
    path.write_text('{"telemetry": true}\n')
    (isolation.home / f".app.json.{os.getpid()}.telemetry-gate.tmp").mkdir()  # the temporary name is taken
    with pytest.raises(PermissionDenied, match="cannot write"):
        edit.set_key(path, _config("json", "telemetry", "~/app.json"), False)
    assert path.read_text() == '{"telemetry": true}\n'


def test_a_symlinked_file_stays_a_link(isolation: Env) -> None:
    real = isolation.home / "dotfiles" / "app.json"
    real.parent.mkdir()
    real.write_text('{"telemetry": true}')
    link = isolation.home / "app.json"
    link.symlink_to(real)
    edit.set_key(link, _config("json", "telemetry", "~/app.json"), False)
    assert link.is_symlink() and json.loads(real.read_text()) == {"telemetry": False}


def test_absent_means_what_the_manifest_says(isolation: Env) -> None:
    path = isolation.home / "app.json"
    assert read(_config("json", "t", "~/app.json", absent="off"), os.environ).off
    path.write_text('{"other": 1}')
    assert read(_config("json", "t", "~/app.json", absent="off"), os.environ).off
    assert read(_config("json", "t", "~/app.json", absent="on"), os.environ).state == "on"


def test_yaml_read_without_a_library_matches_ruamel(isolation: Env) -> None:
    """The quick reader must agree with ruamel.yaml (YAML 1.2, what PipeRider loads with)."""
    from telemetry_gate.policy.own.state import _yaml_top_level, parse_yaml

    for text in ("anonymous_tracking: false\n", "anonymous_tracking: False # c\nuser_id: x\n",
                 "anonymous_tracking: no\n", "anonymous_tracking: 0\n", "user_id: 12ab\n",
                 "anonymous_tracking: TRUE\n"):
        quick = _yaml_top_level(text, ["anonymous_tracking"])
        assert quick is not None, text
        data = parse_yaml(text)
        expected = ("anonymous_tracking" in data, data.get("anonymous_tracking"))
        assert quick == expected, text
    for text in ("a:\n  anonymous_tracking: true\n", "anonymous_tracking: ~\n", "{anonymous_tracking: true}\n",
                 "anonymous_tracking: 'false'\n", "anonymous_tracking: true\nanonymous_tracking: false\n"):
        assert _yaml_top_level(text, ["anonymous_tracking"]) is None, text


# -- PipeRider's profile: the switch must hold ---------------------------------------------

PIPERIDER = _config("yaml", "anonymous_tracking", "~/.piperider/profile.yml", requires=(("user_id", "uuid4-hex"),))


def _profile(isolation: Env) -> Path:
    return isolation.home / ".piperider" / "profile.yml"


def test_piperider_profile_without_user_id_reads_on_and_gets_one(isolation: Env) -> None:
    """PipeRider 0.41.0 load_user_profile(): a profile whose user_id is missing is rewritten as
    {user_id: uuid4().hex, anonymous_tracking: true} (piperider_cli/event/__init__.py L30-L41, L71-L74)."""
    path = _profile(isolation)
    path.parent.mkdir()
    path.write_text("anonymous_tracking: false\n")
    reading = read(PIPERIDER, os.environ)
    assert reading.state == "on" and "user_id" in (reading.problem or "")
    edit.set_key(path, PIPERIDER, False)
    assert read(PIPERIDER, os.environ).off
    assert path.read_text().startswith("anonymous_tracking: false\nuser_id: ")


def test_piperider_user_id_is_kept_or_added(isolation: Env) -> None:
    from telemetry_gate.policy.own.state import parse_yaml

    path = _profile(isolation)
    path.parent.mkdir()
    path.write_text("user_id: 0123456789abcdef0123456789abcdef\nanonymous_tracking: true\n")
    edit.set_key(path, PIPERIDER, False)
    assert path.read_text() == "user_id: 0123456789abcdef0123456789abcdef\nanonymous_tracking: false\n"
    path.write_text("anonymous_tracking: true\n")
    edit.set_key(path, PIPERIDER, False)
    data = parse_yaml(path.read_text())
    assert data["anonymous_tracking"] is False
    assert len(data["user_id"]) == 32 and int(data["user_id"], 16) >= 0  # uuid.uuid4().hex, as PipeRider makes
    assert read(PIPERIDER, os.environ).off


def test_piperider_empty_profile_is_never_left_empty(isolation: Env) -> None:
    """An empty profile makes PipeRider crash (yaml load returns None, then .get)."""
    from telemetry_gate.policy.own.state import parse_yaml

    path = _profile(isolation)
    path.parent.mkdir()
    path.write_text("")
    edit.set_key(path, PIPERIDER, False)
    data = parse_yaml(path.read_text())
    assert data["anonymous_tracking"] is False and data["user_id"]
