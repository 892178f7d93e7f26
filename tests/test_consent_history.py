"""The consent history (issue 15): every enable/disable appends a line; ``check --history``
shows them newest first; ``--system`` changes go where every user can read them; ``purge``
never touches the file and plain ``check`` never opens it."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

from conftest import Env, Telemetry, script_path
from telemetry_gate import Recorder

KEYS = {"time", "user", "uid", "sudo_user", "action", "scope", "facet", "product", "before", "after",
        "written", "native", "environment", "id", "file"}


def _user_history(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "history.jsonl"


def test_every_change_is_recorded_and_shown_newest_first(telemetry: Telemetry, isolation: Env) -> None:
    assert telemetry("disable", "upload").exit_code == 0
    assert telemetry("enable", "-p", "cellranger").exit_code == 0
    out = telemetry("check", "--history", "--json")
    assert out.exit_code == 0, out.stderr
    entries = json.loads(out.stdout)
    assert [(e["action"], e["facet"], e["product"]) for e in entries] == [
        ("enable", "all", "cellranger"), ("disable", "upload", None)]
    assert all(set(e) == KEYS for e in entries)
    newest, oldest = entries
    assert oldest["before"] == {"upload": {"enabled": True, "origin": "default"}}
    assert oldest["after"] == {"upload": {"enabled": False,
                                          "origin": "~/.config/tenx/telemetry/settings.toml [telemetry]"}}
    assert oldest["scope"] == "user" and oldest["uid"] == os.getuid()
    assert oldest["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert oldest["time"].endswith("Z") and oldest["time"] <= newest["time"]
    # cellranger followed [telemetry]: its flag (the user's own, in our namespace) speaks first now
    assert newest["before"]["upload"] == {"enabled": False, "origin": "~/.config/tenx/telemetry/disable_upload"}
    # the shared flag stays (other 10x products are still disabled) and Cell Ranger reads it: still off
    assert newest["after"]["upload"] == {"enabled": False, "origin": "~/.config/tenx/telemetry/disable_upload"}
    text = telemetry("check", "--history", env={"COLUMNS": "400"}).stdout  # rows unfolded
    lines = text.splitlines()
    assert lines[0].split() == ["TIME", "WHO", "SCOPE", "CHANGE", "PRODUCT", "EFFECTIVE", "STATE"]
    assert "enable all" in lines[1] and "cellranger" in lines[1]
    assert "disable upload" in lines[2] and "all products" in lines[2] and "upload enabled -> disabled" in lines[2]
    assert stat.S_IMODE(_user_history(isolation).stat().st_mode) == 0o600


def test_an_administrator_sees_since_when_and_who(inprocess: Telemetry, isolation: Env) -> None:
    out = inprocess("disable", "upload", "--system", env={"SUDO_USER": "ana"})
    assert out.exit_code == 0, out.stderr
    shared = isolation.system_dir / "history.jsonl"
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644  # every user of the machine can read it
    line = json.loads(shared.read_text())
    assert line["scope"] == "system" and line["sudo_user"] == "ana"
    assert line["after"]["upload"] == {"enabled": False, "origin": str(isolation.system_dir / "disable_upload")}
    assert line["written"] == [f"created {isolation.system_dir / 'disable_upload'}"]
    # in the user's history too, but shown once
    assert json.loads(_user_history(isolation).read_text())["id"] == line["id"]
    entries = json.loads(inprocess("check", "upload", "--history", "--json").stdout)
    assert len(entries) == 1 and entries[0]["file"] == str(shared)
    text = inprocess("check", "--history").stdout
    assert "via sudo by ana" in text and "system" in text


def test_another_user_reads_the_system_history(inprocess: Telemetry, isolation: Env, tmp_path: Path) -> None:
    inprocess("disable", "--system")
    other = tmp_path / "other"
    other.mkdir()
    env = {"HOME": str(other), "XDG_STATE_HOME": str(other / "state"), "XDG_CONFIG_HOME": str(other / "config")}
    entries = json.loads(inprocess("check", "--history", "--json", env=env).stdout)
    assert [(e["action"], e["scope"]) for e in entries] == [("disable", "system")]


def test_filters_by_facet_and_product(inprocess: Telemetry) -> None:
    inprocess("disable", "update")
    inprocess("disable", "-p", "stripepy")
    inprocess("disable", "upload", "-p", "cellranger")
    upload = json.loads(inprocess("check", "upload", "--history", "--json").stdout)
    assert [(e["facet"], e["product"]) for e in upload] == [("upload", "cellranger"), ("all", "stripepy")]
    cellranger = json.loads(inprocess("check", "--history", "--json", "-p", "cellranger").stdout)
    assert [(e["facet"], e["product"]) for e in cellranger] == [("upload", "cellranger"), ("update", None)]


def test_purge_never_touches_the_history(inprocess: Telemetry, isolation: Env) -> None:
    inprocess("enable")
    Recorder("cellranger", "9.0.0").record("count")
    before = _user_history(isolation).read_bytes()
    out = inprocess("purge", "--all", "--sent", "--rejected", "--yes")
    assert out.exit_code == 0, out.stderr
    assert _user_history(isolation).read_bytes() == before


def test_check_never_opens_the_history_unless_asked(isolation: Env) -> None:
    path = _user_history(isolation)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)  # opening it for reading would block: a check that reads it never finishes
    proc = subprocess.run([script_path(), "check"], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0 and "Spool" in proc.stdout


def test_a_malformed_line_is_skipped_with_a_warning(inprocess: Telemetry, isolation: Env) -> None:
    inprocess("disable")
    with _user_history(isolation).open("a") as file:
        file.write("{not json\n")
    inprocess("enable")
    out = inprocess("check", "--history", "--json")
    assert out.exit_code == 0 and len(json.loads(out.stdout)) == 2
    assert "history.jsonl:2: skipped" in out.stderr


def test_a_history_that_cannot_be_written_warns_and_keeps_the_change(inprocess: Telemetry, isolation: Env) -> None:
    state = isolation.home / ".local" / "state" / "tenx" / "telemetry"
    state.parent.mkdir(parents=True)
    state.write_text("a file where the state directory should be")
    out = inprocess("disable", "upload")
    assert out.exit_code == 0
    assert "warning: consent history not written" in out.stderr and "Traceback" not in out.stderr
    assert "upload = false" in (isolation.config_dir / "settings.toml").read_text()


def test_a_system_change_on_a_fresh_machine_is_recorded_too(inprocess: Telemetry, isolation: Env) -> None:
    old = os.umask(0)
    try:
        out = inprocess("enable", "--system")
    finally:
        os.umask(old)
    assert out.exit_code == 0 and "warning" not in out.stderr
    assert stat.S_IMODE(isolation.system_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE((isolation.system_dir / "history.jsonl").stat().st_mode) == 0o644
    assert json.loads((isolation.system_dir / "history.jsonl").read_text())["action"] == "enable"


def test_check_imports_none_of_the_consent_machinery(isolation: Env) -> None:
    """check's start-up budget: the history, send ID and the notice load only when used."""
    code = ("import sys; sys.argv = ['telemetry', 'check']\n"
            "from telemetry_gate.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "mods = ('telemetry_gate.policy.history', 'telemetry_gate.send.chosen', 'telemetry_gate.spool.notice')\n"
            "print(sorted(m for m in mods if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_the_products_own_switches_are_in_the_line(inprocess: Telemetry, isolation: Env) -> None:
    out = inprocess("disable", "-p", "piperider")
    assert out.exit_code == 0, out.stderr
    [line] = json.loads(inprocess("check", "--history", "--json").stdout)
    assert line["product"] == "piperider"
    assert [(n["product"], n["kind"], n["action"], n["value"]) for n in line["native"]] == [
        ("piperider", "config-file", "set", "false")]
    assert "~/.piperider/profile.yml" in line["native"][0]["where"] and line["native"][0]["done"] is True
    assert "disable all (+1 own switch)" in inprocess("check", "--history").stdout


def test_a_flag_made_by_hand_still_says_since_when_and_whose(inprocess: Telemetry, isolation: Env) -> None:
    isolation.system_dir.mkdir(parents=True)
    flag = isolation.system_dir / "disable_upload"
    flag.touch()  # sudo touch: no history line
    os.utime(flag, (1764086400, 1764086400))
    out = inprocess("check", "--history")
    owner = pwd.getpwuid(os.getuid()).pw_name
    assert (f"Now: {flag} exists since 2025-11-25T16:00:00.000Z (owner {owner}, uid {os.getuid()}): "
            "system policy for every user") in out.stdout
    assert "No consent change is recorded yet" in out.stdout
