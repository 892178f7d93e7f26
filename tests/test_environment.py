"""The generated environment files and ``telemetry shell-init``: real shells in the isolated HOME.

bash and sh run everywhere; zsh and fish run where they are installed, and elsewhere the test
asserts the generated file's text instead.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.native import environment
from telemetry_gate.policy.gate import Gate

STRIPEPY = """\
[product]
name = "stripepy"

[[native]]
kind = "env"
variable = "STRIPEPY_NO_TELEMETRY"
off = "1"
facets = ["collection", "upload"]
source = "https://github.com/paulsengroup/StripePy/blob/main/src/stripepy/main.py"
"""

NUXTISH = """\
[product]
name = "nuxtish"

[[native]]
kind = "env"
variable = "NUXTISH_TELEMETRY_OFF"
off = "1"
off_when = "nonempty"
facets = ["collection", "upload"]
source = "https://example.org/nuxtish"

[[native]]
kind = "env"
variable = "ANGULARISH_ANALYTICS"
off = "false"
off_when = "values"
off_values = ["0", "false"]
facets = ["collection", "upload"]
source = "https://example.org/angularish"
"""

RUBRIX = """\
[product]
name = "rubrix"

[[native]]
kind = "env"
variable = "RUBRIX_ENABLE_TELEMETRY"
off = "0"
off_when = "values"
off_values = ["0", "off", "f", "false", "n", "no"]
on = "1"
facets = ["collection", "upload"]
source = "https://github.com/recognai/rubrix/blob/v0.18.0/src/rubrix/server/settings.py"
"""


def manifest(env: Env, name: str, text: str) -> Path:
    directory = env.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture
def products(isolation: Env) -> Env:
    manifest(isolation, "stripepy", STRIPEPY)
    manifest(isolation, "rubrix", RUBRIX)
    return isolation


def shell(argv: list[str], script: str, **extra: str) -> str:
    """Run ``script`` in a new shell with the installed ``telemetry`` first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           **extra}
    proc = subprocess.run([*argv, script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def bash(script: str, **extra: str) -> str:
    return shell(["bash", "--norc", "--noprofile", "-c"], script, **extra)


SHOW = 'echo "s=${STRIPEPY_NO_TELEMETRY-unset} r=${RUBRIX_ENABLE_TELEMETRY-unset}"'


def all_env_switches() -> dict[str, str]:
    """Every catalogued env switch (shipped ones included) with the value that switches it off."""
    gate = Gate.open("tenx")
    return {e.variable: e.value for e in environment.exports(gate, False, [])}


# -- the promise, in bash, through the installed script --------------------------------------------

@pytest.mark.script
def test_after_disable_a_new_bash_carries_the_off_switches(products: Env, telemetry: Telemetry) -> None:
    assert bash(f'eval "$(telemetry shell-init bash)"; {SHOW}') == "s=unset r=unset\n"
    assert telemetry("disable").exit_code == 0
    assert bash(f'eval "$(telemetry shell-init bash)"; {SHOW}') == "s=1 r=0\n"
    assert telemetry("enable").exit_code == 0
    assert bash(f'eval "$(telemetry shell-init bash)"; {SHOW}') == "s=unset r=unset\n"


def test_the_policy_of_one_product_reaches_only_its_switch(products: Env, inprocess: Telemetry) -> None:
    assert inprocess("disable", "upload", "-p", "rubrix").exit_code == 0
    assert bash(f'eval "$(telemetry shell-init bash)"; {SHOW}') == "s=unset r=0\n"


def test_do_not_track_at_shell_start_sets_every_known_switch(products: Env) -> None:
    switches = all_env_switches()
    assert {"STRIPEPY_NO_TELEMETRY", "RUBRIX_ENABLE_TELEMETRY"} <= set(switches)
    script = 'eval "$(telemetry shell-init bash)"; env'
    for value in ("1", " true ", "yes"):
        seen = dict(line.split("=", 1) for line in bash(script, DO_NOT_TRACK=value).splitlines() if "=" in line)
        assert {name: seen.get(name) for name in switches} == switches
    for value in ("0", "false", " No ", "OFF", ""):
        seen = dict(line.split("=", 1) for line in bash(script, DO_NOT_TRACK=value).splitlines() if "=" in line)
        assert not set(switches) & set(seen), value


def test_a_newer_file_unsets_what_an_older_one_exported_but_never_a_users_own(products: Env) -> None:
    Gate.open("tenx")  # nothing is off: the file exports nothing
    inherited = {"STRIPEPY_NO_TELEMETRY": "1", "RUBRIX_ENABLE_TELEMETRY": "1",
                 "TELEMETRY_GATE_EXPORTED": "STRIPEPY_NO_TELEMETRY"}
    out = bash(f'eval "$(telemetry shell-init bash)"; {SHOW}; echo "m=${{TELEMETRY_GATE_EXPORTED-unset}}"',
               **inherited)
    assert out == "s=unset r=1\nm=unset\n"


def test_policy_keeps_a_value_someone_else_set_but_do_not_track_does_not(products: Env,
                                                                         inprocess: Telemetry) -> None:
    assert inprocess("disable").exit_code == 0
    script = f'eval "$(telemetry shell-init bash)"; {SHOW}'
    assert bash(script, RUBRIX_ENABLE_TELEMETRY="1") == "s=1 r=1\n"  # the environment outranks the settings
    assert bash(script, RUBRIX_ENABLE_TELEMETRY="1", DO_NOT_TRACK="1") == "s=1 r=0\n"


def test_a_value_the_product_reads_as_on_only_by_default_is_overridden_as_the_policy_says(
        isolation: Env, inprocess: Telemetry) -> None:
    # issue 20: the shell files encode layer 4's value rules - an empty value of a "nonempty" variable
    # and a non-off word of a "values" variable without an on value do not speak, so the settings decide
    manifest(isolation, "nuxtish", NUXTISH)
    assert inprocess("disable").exit_code == 0
    script = 'eval "$(telemetry shell-init bash)"; printf "%s|%s" "$NUXTISH_TELEMETRY_OFF" "$ANGULARISH_ANALYTICS"'
    assert bash(script, NUXTISH_TELEMETRY_OFF="", ANGULARISH_ANALYTICS="true") == "1|false"
    assert bash(script, NUXTISH_TELEMETRY_OFF="x", ANGULARISH_ANALYTICS="FALSE") == "x|FALSE"  # they speak: kept


def test_the_files_load_under_set_eu_in_sh_and_bash(products: Env, inprocess: Telemetry) -> None:
    inprocess("disable", "-p", "stripepy")
    environment.sync(Gate.open("tenx"), system=False, dry_run=False)
    sh_file = environment.user_sh(Gate.open("tenx").paths)
    for argv in (["sh", "-euc"], ["bash", "--norc", "-euc"]):
        assert shell(argv, f'. "{sh_file}"; {SHOW}') == "s=1 r=unset\n"
        assert shell(argv, f'. "{sh_file}"; {SHOW}', DO_NOT_TRACK="1") == "s=1 r=0\n"


def test_zsh_and_fish(products: Env, inprocess: Telemetry) -> None:
    inprocess("disable", "-p", "stripepy")
    gate = Gate.open("tenx")
    environment.sync(gate, system=False, dry_run=False)
    fish_file = environment.user_fish(gate.paths).read_text()
    if shutil.which("zsh"):
        line = inprocess("shell-init", "zsh").stdout.strip()
        assert shell(["zsh", "-f", "-c"], f"{line}; {SHOW}") == "s=1 r=unset\n"
        assert shell(["zsh", "-f", "-c"], f'eval "$(telemetry shell-init zsh)"; {SHOW}', DO_NOT_TRACK="1") \
            == "s=1 r=0\n"
    else:
        assert inprocess("shell-init", "zsh").stdout == inprocess("shell-init", "bash").stdout
    if shutil.which("fish"):
        show = 'echo "s=$STRIPEPY_NO_TELEMETRY r=$RUBRIX_ENABLE_TELEMETRY"'
        assert shell(["fish", "--no-config", "-c"], f"telemetry shell-init fish | source; {show}") == "s=1 r=\n"
        assert shell(["fish", "--no-config", "-c"], f"telemetry shell-init fish | source; {show}",
                     DO_NOT_TRACK=" Yes") == "s=1 r=0\n"
        assert shell(["fish", "--no-config", "-c"], f"telemetry shell-init fish | source; {show}",
                     DO_NOT_TRACK="off") == "s=1 r=\n"
    else:
        assert "set -gx STRIPEPY_NO_TELEMETRY '1'" in fish_file
        assert "case '' 0 false no off" in fish_file
    assert fish_file.startswith("# Generated by telemetry-gate")


# -- shell-init ------------------------------------------------------------------------------------

@pytest.mark.script
def test_shell_init_prints_one_line_that_needs_no_python(products: Env, telemetry: Telemetry) -> None:
    for name in ("bash", "zsh", "fish"):
        out = telemetry("shell-init", name)
        assert out.exit_code == 0 and out.stdout.count("\n") == 1, out
        assert "telemetry" not in out.stdout.replace("/telemetry/", "/")  # loads a file, runs no command
    assert telemetry("shell-init", "bash").stdout == \
        'if [ -r "$HOME"/.config/tenx/telemetry/env.sh ]; then . "$HOME"/.config/tenx/telemetry/env.sh; fi\n'
    assert telemetry("shell-init", "tcsh").exit_code == 2


def test_the_line_in_an_rc_file_does_nothing_when_the_file_is_gone(products: Env, inprocess: Telemetry) -> None:
    line = inprocess("shell-init", "bash").stdout.strip()
    environment.user_sh(Gate.open("tenx").paths).unlink()
    assert bash(f"set -e; {line}; echo ok") == "ok\n"


# -- the files -------------------------------------------------------------------------------------

def test_files_are_private_generated_and_rewritten_only_on_change(products: Env) -> None:
    previous = os.umask(0)
    try:
        gate = Gate.open("tenx")
        first = environment.sync(gate, system=False, dry_run=False)
    finally:
        os.umask(previous)
    files = [environment.user_sh(gate.paths), environment.user_fish(gate.paths), environment.environment_d(gate.paths)]
    assert environment.environment_d(gate.paths) == products.home / ".config/environment.d/60-telemetry-gate.conf"
    assert [line.split(":")[0] for line in first] == [
        "wrote ~/.config/tenx/telemetry/env.sh", "wrote ~/.config/tenx/telemetry/env.fish",
        "wrote ~/.config/environment.d/60-telemetry-gate.conf"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().startswith("# Generated by telemetry-gate ")
    assert stat.S_IMODE(gate.paths.config_dir.stat().st_mode) == 0o700
    before = {p: p.stat().st_ino for p in files}
    assert environment.sync(Gate.open("tenx"), system=False, dry_run=False) == []
    assert {p: p.stat().st_ino for p in files} == before


def test_sync_says_what_it_writes_and_dry_run_writes_nothing(products: Env, inprocess: Telemetry) -> None:
    environment.sync(Gate.open("tenx"), system=False, dry_run=False)
    inprocess("disable", "-p", "stripepy")
    environment.sync(Gate.open("tenx"), system=False, dry_run=False)
    # disable writes the files itself (issue 13 item 3); a settings file edited by hand does not
    from telemetry_gate.policy import settings

    settings.update(Gate.open("tenx").paths.user_settings, "rubrix", dict.fromkeys(("collection", "upload"), False))
    snapshot = products.files()
    lines = environment.sync(Gate.open("tenx"), system=False, dry_run=True)
    assert lines == [
        "would write ~/.config/tenx/telemetry/env.sh: sets RUBRIX_ENABLE_TELEMETRY=0",
        "would write ~/.config/tenx/telemetry/env.fish: sets RUBRIX_ENABLE_TELEMETRY=0",
        "would write ~/.config/environment.d/60-telemetry-gate.conf: sets RUBRIX_ENABLE_TELEMETRY=0",
    ]
    assert products.files() == snapshot
    assert environment.sync(Gate.open("tenx"), system=False, dry_run=False)[0] == \
        "wrote ~/.config/tenx/telemetry/env.sh: sets RUBRIX_ENABLE_TELEMETRY=0"
    for name in ("rubrix", "stripepy"):
        settings.update(Gate.open("tenx").paths.user_settings, name, dict.fromkeys(("collection", "upload"), True))
    assert environment.sync(Gate.open("tenx"), system=False, dry_run=False)[0] == \
        "wrote ~/.config/tenx/telemetry/env.sh: no longer sets RUBRIX_ENABLE_TELEMETRY, STRIPEPY_NO_TELEMETRY"
    inprocess("disable", "-p", "rubrix")
    conf = environment.environment_d(Gate.open("tenx").paths).read_text().splitlines()
    assert [line for line in conf if not line.startswith("#")] == [
        "RUBRIX_ENABLE_TELEMETRY=0", "TELEMETRY_GATE_EXPORTED=RUBRIX_ENABLE_TELEMETRY"]


def test_a_file_telemetry_gate_did_not_write_is_never_overwritten(products: Env, inprocess: Telemetry) -> None:
    path = environment.environment_d(Gate.open("tenx").paths)
    path.parent.mkdir(parents=True)
    path.write_text("EDITOR=vim\n")
    out = inprocess("shell-init", "bash")
    assert out.exit_code == 0 and "was not generated by telemetry-gate" in out.stderr
    assert path.read_text() == "EDITOR=vim\n"
    with pytest.raises(Exception, match="refusing to overwrite"):
        environment.sync(Gate.open("tenx"), system=False, dry_run=False)


def test_a_value_from_a_manifest_cannot_run_code(products: Env, inprocess: Telemetry) -> None:
    evil = "x'; touch pwned-sh; echo '$(touch pwned-sub) `touch pwned-tick` \\"
    manifest(products, "evil", f'''[product]
name = "evil"

[[native]]
kind = "env"
variable = "EVIL_TELEMETRY"
off = {evil!r}
facets = ["collection"]
source = "https://example.org/evil"
''')
    inprocess("disable")
    assert bash('cd "$HOME" && eval "$(telemetry shell-init bash)"; printf %s "$EVIL_TELEMETRY"') == evil
    if shutil.which("fish"):
        out = shell(["fish", "--no-config", "-c"],
                    'cd $HOME; telemetry shell-init fish | source; printf %s "$EVIL_TELEMETRY"')
        assert out == evil
    assert not list(products.home.glob("pwned*"))
    conf = environment.environment_d(Gate.open("tenx").paths).read_text()
    assert "EVIL_TELEMETRY" not in conf and "STRIPEPY_NO_TELEMETRY=1" in conf
    assert environment.sync(Gate.open("tenx"), system=False, dry_run=True) == [
        "~/.config/environment.d/60-telemetry-gate.conf: left out EVIL_TELEMETRY (its value is not plain text)"]


# -- the system file -------------------------------------------------------------------------------

def test_system_disable_reaches_every_login_shell(products: Env) -> None:
    (products.system_dir).mkdir(parents=True)
    (products.system_dir / "disable").touch()
    previous = os.umask(0o077)
    try:
        lines = environment.sync(Gate.open("tenx"), system=True, dry_run=False)
    finally:
        os.umask(previous)
    profile = products.system_root / "profile.d" / "telemetry-gate.sh"
    assert len(lines) == 1 and lines[0].startswith(f"wrote {profile}: sets ")
    off_line = next(line for line in profile.read_text().splitlines() if line.startswith("# off: "))
    assert {"RUBRIX_ENABLE_TELEMETRY", "STRIPEPY_NO_TELEMETRY", "TENX_DISABLE_TELEMETRY"} <= set(off_line.split())
    assert stat.S_IMODE(profile.stat().st_mode) == 0o644
    assert stat.S_IMODE(profile.parent.stat().st_mode) == 0o755
    out = shell(["sh", "-c"], f'. "{profile}"; echo "t=${{TENX_DISABLE_TELEMETRY-}}"; {SHOW}')
    assert out == "t=1\ns=1 r=0\n"


def test_system_file_follows_the_system_layers_not_a_users_settings(products: Env, inprocess: Telemetry) -> None:
    inprocess("disable")  # the administrator's own settings: not the machine's policy
    products.system_dir.mkdir(parents=True)
    (products.system_dir / "settings.toml").write_text("[products.rubrix]\nupload = false\n")
    environment.sync(Gate.open("tenx"), system=True, dry_run=False)
    profile = products.system_root / "profile.d" / "telemetry-gate.sh"
    assert shell(["sh", "-c"], f'. "{profile}"; echo "t=${{TENX_DISABLE_TELEMETRY-unset}}"; {SHOW}') \
        == "t=unset\ns=unset r=0\n"


def test_system_file_needs_write_access(products: Env, unwritable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_SYSTEM_DIR", str(unwritable))
    with pytest.raises(Exception, match="permission denied|cannot create"):
        environment.sync(Gate.open("tenx"), system=True, dry_run=False)


def test_the_line_survives_a_config_directory_with_quotes_and_spaces(
        products: Env, tmp_path: Path, inprocess: Telemetry, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmp_path / "it's a $HOME dir"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(odd))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert bash(f'eval "$(telemetry shell-init bash)"; {SHOW}') == "s=1 r=0\n"
    assert (odd / "tenx" / "telemetry" / "env.sh").exists()
    if shutil.which("fish"):
        show = 'echo "s=$STRIPEPY_NO_TELEMETRY"'
        assert shell(["fish", "--no-config", "-c"], f"telemetry shell-init fish | source; {show}") == "s=1\n"
    else:
        assert str(odd).replace("'", "\\'") in inprocess("shell-init", "fish").stdout


def test_shell_init_prints_the_line_even_when_the_settings_are_broken(products: Env, inprocess: Telemetry) -> None:
    products.config_dir.mkdir(parents=True)
    (products.config_dir / "settings.toml").write_text("[telemetry\n")
    out = inprocess("shell-init", "bash")
    assert out.exit_code == 0
    assert out.stdout.startswith("if [ -r ") and out.stdout.count("\n") == 1
    assert "settings.toml" in out.stderr and out.stderr.count("\n") == 2


def test_another_vendor_gets_files_of_its_own(products: Env, inprocess: Telemetry) -> None:
    manifest_dir = products.home / ".local/share/acme/telemetry/products.d"
    manifest_dir.mkdir(parents=True)
    (manifest_dir / "stripepy.toml").write_text(STRIPEPY)
    out = inprocess("--vendor", "acme", "shell-init", "bash")
    assert "/.config/acme/telemetry/env.sh" in out.stdout
    gate = Gate.open("acme")
    assert environment.environment_d(gate.paths).name == "60-telemetry-gate-acme.conf"
    assert environment.profile_d(gate.paths).name == "telemetry-gate-acme.sh"
    inprocess("--vendor", "acme", "disable", "--system")
    environment.sync(Gate.open("acme"), system=True, dry_run=False)
    profile = products.system_root / "profile.d" / "telemetry-gate-acme.sh"
    assert shell(["sh", "-c"], f'. "{profile}"; echo "$ACME_DISABLE_TELEMETRY $STRIPEPY_NO_TELEMETRY"') == "1 1\n"



@pytest.mark.script
def test_disable_system_then_a_login_shell_carries_tenx_disable_telemetry(products: Env, telemetry: Telemetry) -> None:
    out = telemetry("disable", "--system")
    assert out.exit_code == 0, out.stderr
    profile = products.system_root / "profile.d" / "telemetry-gate.sh"
    assert f"wrote {profile}" in out.stdout + out.stderr
    script = f'. "$TELEMETRY_SYSTEM_DIR/profile.d/telemetry-gate.sh"; echo "t=$TENX_DISABLE_TELEMETRY"; {SHOW}'
    assert bash(script) == "t=1\ns=1 r=0\n"
    assert telemetry("enable", "--system").exit_code == 0
    assert bash(script) == "t=\ns=unset r=unset\n"


def test_disable_and_enable_rewrite_the_user_files(products: Env, telemetry: Telemetry) -> None:
    sh_file = environment.user_sh(Gate.open("tenx").paths)
    out = telemetry("disable", "-p", "stripepy")
    assert "wrote ~/.config/tenx/telemetry/env.sh: sets STRIPEPY_NO_TELEMETRY=1\n" in out.stdout + out.stderr
    assert bash(f'. "{sh_file}"; {SHOW}') == "s=1 r=unset\n"
    out = telemetry("enable", "-p", "stripepy", "--dry-run")
    assert "would write ~/.config/tenx/telemetry/env.sh" in out.stdout + out.stderr
    assert bash(f'. "{sh_file}"; {SHOW}') == "s=1 r=unset\n"
    out = telemetry("enable", "-p", "stripepy")
    assert "wrote ~/.config/tenx/telemetry/env.sh: no longer sets STRIPEPY_NO_TELEMETRY\n" in out.stdout + out.stderr
    assert bash(f'. "{sh_file}"; {SHOW}') == "s=unset r=unset\n"


GENERATOR = Path("/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator")


def test_systemd_reads_the_environment_d_file_as_written(products: Env, inprocess: Telemetry) -> None:
    inprocess("disable", "-p", "stripepy")
    inprocess("disable", "upload", "-p", "rubrix")
    expected = {"STRIPEPY_NO_TELEMETRY": "1", "RUBRIX_ENABLE_TELEMETRY": "0",
                "TELEMETRY_GATE_EXPORTED": "RUBRIX_ENABLE_TELEMETRY:STRIPEPY_NO_TELEMETRY"}
    conf = environment.environment_d(Gate.open("tenx").paths)
    if GENERATOR.exists():  # systemd's own parser, as a desktop session runs it
        out = subprocess.run([str(GENERATOR)], capture_output=True, text=True, timeout=60,
                             env={"HOME": str(products.home), "XDG_CONFIG_HOME": str(products.home / ".config")})
        seen = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    else:
        seen = dict(line.split("=", 1) for line in conf.read_text().splitlines() if not line.startswith("#"))
    assert {name: seen.get(name) for name in expected} == expected


def test_a_narrower_switch_is_preferred_to_a_variable_that_stops_more(products: Env, inprocess: Telemetry) -> None:
    """System-wide upload off: Cell Ranger reads /etc/tenx/telemetry/disable_upload itself, so the
    profile.d file must not export TENX_DISABLE_TELEMETRY, which would stop its collection too
    (and, as our vendor variable, every product's); StripePy has nothing narrower than its variable."""
    assert inprocess("disable", "upload", "--system").exit_code == 0
    profile = '"$TELEMETRY_SYSTEM_DIR/profile.d/telemetry-gate.sh"'
    script = f'. {profile}; echo "t=${{TENX_DISABLE_TELEMETRY-unset}}"; {SHOW}'
    assert bash(script) == "t=unset\ns=1 r=0\n"
    assert inprocess("disable", "--system").exit_code == 0
    assert bash(script) == "t=1\ns=1 r=0\n"
