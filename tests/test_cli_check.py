"""``telemetry check``, as a person and a script see it, in-process and as the installed script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import Env, Telemetry


@pytest.mark.script
def test_fresh_machine_everything_enabled_by_default(telemetry: Telemetry) -> None:
    out = telemetry("check")
    assert out.exit_code == 0, out.stderr
    lines = [line.split() for line in out.stdout.splitlines()]
    assert ["upload", "enabled", "default"] in lines
    assert "Spool: nothing pending" in out.stdout


def test_admin_flag_file_shows_as_origin_with_a_lock_note(telemetry: Telemetry, isolation: Env) -> None:
    isolation.system_dir.mkdir(parents=True)
    (isolation.system_dir / "disable_upload").touch()
    out = telemetry("check", env={"COLUMNS": "400"})  # a row whole, as a wide terminal shows it
    assert out.exit_code == 0
    row = next(line for line in out.stdout.splitlines() if " upload " in line)
    assert "disabled" in row and f"{isolation.system_dir}/disable_upload (system policy)" in row
    assert "note: upload is locked by system policy" in out.stdout


@pytest.mark.script
def test_json_keeps_its_documented_keys(telemetry: Telemetry, isolation: Env) -> None:
    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("[products.cellranger]\nupload = false\n")
    out = telemetry("check", "--json", env={"TENX_DISABLE_TELEMETRY_UPDATE": "1"})
    data = json.loads(out.stdout)
    assert set(data) >= {"vendor", "facets", "products", "spool", "notes"}
    assert data["vendor"] == "tenx"
    assert set(data["facets"]) == {"collection", "upload", "update"}
    for facet in data["facets"].values():
        assert set(facet) >= {"enabled", "origin"}
    assert set(data["spool"]) >= {"pending", "bytes", "dropped"}
    assert data["facets"]["update"] == {"enabled": False, "origin": "TENX_DISABLE_TELEMETRY_UPDATE=1",
                                        "layer": "environment"}
    assert data["products"]["cellranger"]["upload"]["origin"] == (
        "~/.config/tenx/telemetry/settings.toml [products.cellranger]")
    assert data["products"]["cellranger"]["upload"]["enabled"] is False


@pytest.mark.parametrize(("env", "code"), [({}, 0), ({"DO_NOT_TRACK": "1"}, 1)])
@pytest.mark.script
def test_quiet_answers_with_the_exit_code_only(telemetry: Telemetry, env: dict[str, str], code: int) -> None:
    out = telemetry("check", "upload", "--quiet", env=env)
    assert (out.exit_code, out.stdout, out.stderr) == (code, "", "")


def test_quiet_without_facet_is_a_usage_error(telemetry: Telemetry) -> None:
    out = telemetry("check", "--quiet")
    assert out.exit_code == 2
    assert "--quiet needs a FACET" in out.stderr


def test_explain_shows_the_layers_that_speak_and_the_winner(telemetry: Telemetry) -> None:
    env = {"TENX_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "0"}
    out = telemetry("check", "upload", "--explain", env=env)
    assert out.exit_code == 0
    block = out.stdout.split("\n\n")[0].splitlines()
    assert block[0].startswith("upload for tenx (all products): disabled, decided by TENX_DISABLE_TELEMETRY=1")
    assert [line.split()[0] for line in block[1:]] == ["3", "8"]  # the silent layers are left out
    winner = [line for line in block if "<- wins" in line]
    assert len(winner) == 1 and "TENX_DISABLE_TELEMETRY=1" in winner[0]
    assert "'telemetry check --explain --all-layers' lists every layer" in out.stdout
    assert "note: DO_NOT_TRACK=0 is ignored" in out.stdout
    plain = telemetry("check", "--explain").stdout.splitlines()  # only the built-in default speaks: headings alone
    assert plain[:3] == [f"{facet} for tenx (all products): enabled, decided by default"
                         for facet in ("collection", "upload", "update")]
    assert len(plain) <= 7


@pytest.mark.parametrize("args", [["--explain", "--all-layers"], ["--all-layers"]])
def test_all_layers_shows_every_layer_and_the_winner(telemetry: Telemetry, args: list[str]) -> None:
    env = {"TENX_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "0", "COLUMNS": "400"}  # each layer on one line
    out = telemetry("check", "upload", *args, env=env)
    assert out.exit_code == 0
    block = out.stdout.split("\n\n")[0].splitlines()
    assert block[0].startswith("upload for tenx (all products): disabled, decided by TENX_DISABLE_TELEMETRY=1")
    assert [line.split()[0] for line in block[1:]] == ["1", "2", "3", "5", "5", "6", "8"]
    winner = [line for line in block if "<- wins" in line]
    assert len(winner) == 1 and "TENX_DISABLE_TELEMETRY=1" in winner[0]
    assert "--all-layers" not in out.stdout


def test_no_looking_value_gets_the_documented_note(telemetry: Telemetry) -> None:
    out = telemetry("check", env={"TENX_DISABLE_TELEMETRY": "0"})
    assert "TENX_DISABLE_TELEMETRY=0 disables telemetry; unset it to re-enable" in out.stdout
    assert "enabled" not in out.stdout.replace("disabled", "")


@pytest.mark.parametrize("value", ["a\nb\nc", "é" * 5000, " ", "\t1", "yes please"])
def test_strange_values_never_crash_and_never_enable(telemetry: Telemetry, value: str) -> None:
    out = telemetry("check", "--json", env={"TENX_DISABLE_TELEMETRY": value})
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert all(not facet["enabled"] for facet in data["facets"].values())


@pytest.mark.script
def test_malformed_settings_exit_3_with_file_and_line(telemetry: Telemetry, isolation: Env) -> None:
    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("[telemetry]\nupload = nope\n")
    out = telemetry("check")
    assert out.exit_code == 3
    assert out.stderr.startswith(f"telemetry: {settings}:2: not valid TOML")
    assert len(out.stderr.splitlines()) <= 2 and "Traceback" not in out.stderr


def test_vendor_option_and_variable(telemetry: Telemetry) -> None:
    out = telemetry("--vendor", "acme", "check", "--json", env={"ACME_DISABLE_TELEMETRY": "yes"})
    data = json.loads(out.stdout)
    assert data["vendor"] == "acme" and data["facets"]["collection"]["origin"] == "ACME_DISABLE_TELEMETRY=yes"
    out = telemetry("check", "--json", env={"TELEMETRY_VENDOR": "acme", "ACME_DISABLE_TELEMETRY": "1"})
    assert json.loads(out.stdout)["vendor"] == "acme"


@pytest.mark.script
def test_bad_vendor_name_is_a_usage_error(telemetry: Telemetry) -> None:
    out = telemetry("--vendor", "../etc", "check")
    assert out.exit_code == 2 and "invalid vendor name" in out.stderr


@pytest.mark.script
def test_version(telemetry: Telemetry) -> None:
    from telemetry_gate import __version__

    out = telemetry("--version")
    assert out.stdout.strip() == f"telemetry-gate {__version__}"


def test_python_dash_m_works() -> None:
    proc = subprocess.run([sys.executable, "-m", "telemetry_gate", "check", "upload", "--quiet"],
                          capture_output=True, text=True, env=dict(os.environ, DO_NOT_TRACK="1"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "")


def test_check_never_writes_a_file_nor_connects(inprocess: Telemetry, isolation: Env) -> None:
    """Watched through Python's audit hooks: any socket connect, any open for writing."""
    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("[telemetry]\nupload = false\n")
    events: list[tuple[str, tuple]] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        if not watching[0]:
            return
        if event in ("socket.connect", "socket.getaddrinfo", "os.mkdir", "os.rename", "os.remove"):
            events.append((event, args))
        elif event == "open" and len(args) >= 3 and isinstance(args[2], int) and args[2] & (
                os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            events.append((event, args))
        elif event == "open" and len(args) >= 2 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            events.append((event, args))

    sys.addaudithook(hook)
    before = isolation.files()
    try:
        for args in (["check"], ["check", "--explain"], ["check", "--json"], ["check", "upload", "-q"]):
            inprocess(*args)
    finally:
        watching[0] = False
    assert events == []
    assert isolation.files() == before


@pytest.mark.script
def test_check_as_a_script_leaves_the_tree_untouched(isolation: Env, telemetry: Telemetry) -> None:
    (isolation.system_dir).mkdir(parents=True)
    (isolation.system_dir / "settings.toml").write_text("[telemetry]\nupdate = false\n")
    before = isolation.files()
    assert telemetry("check", "--explain").exit_code == 0
    assert isolation.files() == before


def test_debug_shows_the_traceback(isolation: Env) -> None:
    from conftest import script_path

    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("[[[")
    proc = subprocess.run([script_path(), "check"], capture_output=True, text=True,
                          env=dict(os.environ, TELEMETRY_DEBUG="1"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_the_script_builds_the_named_command_and_still_knows_the_others(isolation: Env) -> None:
    from conftest import script_path

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script_path(), *args], capture_output=True, text=True, timeout=60)

    assert "acme (all products)" in run("--vendor", "acme", "check").stdout
    assert "acme (all products)" in run("--vendor=acme", "check").stdout
    typo = run("chek")
    assert typo.returncode == 2 and "Did you mean 'check'?" in typo.stderr
    listed = run("--help").stdout
    assert all(name in listed for name in ("check", "enable", "disable", "inspect", "purge", "send", "update"))
    assert run("--vendor", "check", "check", "--json").returncode == 0
