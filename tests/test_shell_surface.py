"""The shell surface: completions and the man page are generated from the app (no drift), bash
completes what a user expects, the page is clean roff, and the wheel installs all four files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer.main

from conftest import Env, script_path
from telemetry_gate import Recorder
from telemetry_gate.cli.app import app, every_command

REPO = Path(__file__).resolve().parent.parent
GENERATED = ["completions/telemetry.bash", "completions/_telemetry", "completions/telemetry.fish", "man/telemetry.1"]


def test_generated_files_match_a_fresh_run(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "scripts" / "generate_shell.py"), str(tmp_path)], check=True,
                   capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": ""})
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (REPO / name).read_bytes(), (
            f"{name} is stale: run python scripts/generate_shell.py")


def _complete(line: str) -> list[str]:
    """What bash offers after ``line`` with the shipped completion script and the installed command."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    script = (
        f"source {REPO / 'completions' / 'telemetry.bash'}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_telemetry_completion telemetry\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(script_path()).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                         env=env, timeout=60, check=True)
    return [x for x in out.stdout.splitlines() if x]


def test_bash_completes_commands_facets_products_and_ids(isolation: Env) -> None:
    assert _complete("telemetry ins") == ["inspect"]
    assert _complete("telemetry disable ") == ["all", "collection", "upload", "update"]
    record_id = Recorder("stripepy", "1.1.1").record("call")
    assert record_id is not None
    (isolation.config_dir).mkdir(parents=True, exist_ok=True)
    (isolation.config_dir / "settings.toml").write_text("[products.cellranger]\nupload = false\n")
    # the spool, the settings, and the shipped catalogue
    assert _complete("telemetry inspect --product ") == sorted({"cellranger", "stripepy", *_shipped()})
    assert _complete("telemetry send -p stripep") == ["stripepy"]
    assert _complete("telemetry send -p st") == sorted({"stripepy", *(n for n in _shipped() if n.startswith("st"))})
    assert _complete(f"telemetry inspect {record_id[:12]}") == [record_id]
    assert _complete("telemetry inspect ZZZ") == []


def test_bash_completes_vendors_found_under_the_system_directory(isolation: Env) -> None:
    (isolation.system_root / "acme" / "telemetry").mkdir(parents=True)
    (isolation.system_root / "not-a-vendor").mkdir()
    assert _complete("telemetry --vendor ") == ["acme", "tenx"]


def test_completion_offers_nothing_rather_than_fail(isolation: Env) -> None:
    spool = isolation.home / ".local" / "state" / "tenx" / "telemetry"
    spool.mkdir(parents=True)
    (spool / "spool").write_text("a file where the spool's directory should be")
    (isolation.config_dir).mkdir(parents=True, exist_ok=True)
    (isolation.config_dir / "settings.toml").write_text("[products.cellranger\n")  # malformed
    assert _complete("telemetry inspect --product ") == _shipped()  # the broken sources offer nothing
    assert _complete("telemetry inspect 01") == []


def _shipped() -> list[str]:
    return sorted(p.stem for p in (REPO / "src" / "telemetry_gate" / "catalog").glob("*.toml"))


def test_bash_completes_product_names_from_the_shipped_catalogue(isolation: Env) -> None:
    from telemetry_gate.cli.completion import CATALOGUE
    from telemetry_gate.policy.manifests import SHIPPED

    shipped = _shipped()
    assert CATALOGUE == SHIPPED and {"cellranger", "genozip", "piperider", "stripepy"} <= set(shipped)
    assert _complete("telemetry check -p ") == shipped  # nothing pending, nothing configured
    assert _complete("telemetry disable --product genoz") == ["genozip"]
    user = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    user.mkdir(parents=True)
    (user / "local-tools.toml").write_text('[product]\nname = "mytool"\n')
    assert "mytool" in _complete("telemetry check -p ")  # a manifest's name, not its file's


def test_catalogue_names_come_from_file_names_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No TOML is parsed for the catalogue at a TAB: a file that is not TOML is still offered by name."""
    from telemetry_gate.cli import completion

    (tmp_path / "zeta.toml").write_text("this is [not TOML")
    (tmp_path / "Not A Name.toml").write_text("")
    (tmp_path / "readme.txt").write_text("")
    monkeypatch.setattr(completion, "CATALOGUE", tmp_path)
    ctx = typer.main.get_command(app).make_context("telemetry", ["inspect"], resilient_parsing=True)
    assert completion.products(ctx, "") == ["zeta"]
    assert completion.products(ctx, "y") == []


@pytest.fixture(scope="module")
def page() -> str:
    return (REPO / "man" / "telemetry.1").read_text(encoding="utf-8")


def test_man_page_is_clean_roff(page: str) -> None:
    assert shutil.which("groff"), "groff is needed to check the man page (Debian package groff-base)"
    out = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(REPO / "man" / "telemetry.1")],
                         capture_output=True, text=True, check=True)
    assert out.stderr == ""


def _rendered() -> str:
    out = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", str(REPO / "man" / "telemetry.1")],
                         capture_output=True, text=True, check=True, env={**os.environ, "MANWIDTH": "200"})
    return " ".join(out.stdout.split())


def test_man_page_names_every_command_option_variable_and_flag_file() -> None:
    text = _rendered()
    group = every_command()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"telemetry {name}" in text
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else []:
                assert opt in text, f"{name} {opt}"
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "PRECEDENCE", "ENVIRONMENT", "FILES",
                    "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert f"\n{section}\n" in subprocess.run(
            ["groff", "-man", "-Tascii", "-P-cbou", str(REPO / "man" / "telemetry.1")],
            capture_output=True, text=True, check=True).stdout
    for variable in ("TENX_DISABLE_TELEMETRY", "TENX_DISABLE_TELEMETRY_UPLOAD", "TENX_DISABLE_TELEMETRY_UPDATE",
                     "DO_NOT_TRACK", "TELEMETRY_VENDOR", "TELEMETRY_SYSTEM_DIR", "TELEMETRY_ENDPOINT",
                     "TELEMETRY_DEBUG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        assert variable in text
    for path in ("/etc/tenx/telemetry/disable", "/etc/tenx/telemetry/disable_upload",
                 "/etc/tenx/telemetry/disable_update", "settings.toml", "spool", "$XDG_CACHE_HOME"):
        assert path in text
    for code in ("0", "1", "2", "3", "4", "5", "130"):
        assert f" {code} " in text


def _section(title: str) -> str:
    """One section of the rendered page, wide and unhyphenated, whitespace collapsed."""
    wide = ["groff", "-man", "-Tascii", "-P-cbou", "-rLL=250n", "-rHY=0", str(REPO / "man" / "telemetry.1")]
    out = subprocess.run(wide, capture_output=True, text=True, check=True).stdout
    body = out.split(f"\n{title}\n", 1)[1]
    return " ".join(re.split(r"\n[A-Z][A-Z ]+\n", body, maxsplit=1)[0].split())


def test_man_page_files_lists_every_path_of_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Paths", 1)[1].split("\n\n", 2)[1]
    paths = [p for row in table.splitlines()[2:] for p in re.findall(r"`([^`]+)`", row.split("|")[2])
             if p.startswith(("$", "/", "~", "<"))]
    assert len(paths) >= 12
    files = _section("FILES")
    missing = [p for p in paths if p not in files]
    assert missing == [], "add these to SECTIONS['FILES'] in scripts/generate_shell.py"
    for generated in ("env.sh", "env.fish", "environment.d/60-telemetry-gate.conf", "/etc/profile.d/telemetry-gate.sh",
                      "~/.piperider/profile.yml", "catalog/<product>.toml"):
        assert generated in files


def test_man_page_environment_and_exit_status_are_complete() -> None:
    environment = _section("ENVIRONMENT")
    for variable in ("TELEMETRY_VENDOR", "TELEMETRY_SYSTEM_DIR", "TELEMETRY_ENDPOINT", "TELEMETRY_DEBUG",
                     "DO_NOT_TRACK", "TENX_DISABLE_TELEMETRY", "VENDOR_DISABLE_TELEMETRY",
                     "TENX_DISABLE_TELEMETRY_UPLOAD", "TENX_DISABLE_TELEMETRY_UPDATE", "XDG_CONFIG_HOME",
                     "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "HOME", "NO_COLOR", "HTTPS_PROXY",
                     "NO_PROXY", "SSL_CERT_FILE", "STRIPEPY_NO_TELEMETRY", "RUBRIX_ENABLE_TELEMETRY",
                     "ARGILLA_ENABLE_TELEMETRY", "OTEL_SDK_DISABLED"):
        assert re.search(rf"(^|[ ,(]){variable}([ ,).=]|$)", environment), variable
    exit_status = _section("EXIT STATUS")
    from telemetry_gate.errors import ExitCode

    for code in ExitCode:
        assert re.search(rf"(^| ){int(code)} [A-Za-z]", exit_status), f"exit code {int(code)} ({code.name})"


def test_wheel_installs_completions_and_man_page(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("telemetry_gate-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        data = {n.split(".data/data/", 1)[1]: archive.read(n) for n in archive.namelist() if ".data/data/" in n}
    assert data == {
        "share/bash-completion/completions/telemetry": (REPO / "completions/telemetry.bash").read_bytes(),
        "share/zsh/site-functions/_telemetry": (REPO / "completions/_telemetry").read_bytes(),
        "share/fish/vendor_completions.d/telemetry.fish": (REPO / "completions/telemetry.fish").read_bytes(),
        "share/man/man1/telemetry.1": (REPO / "man/telemetry.1").read_bytes(),
    }


def test_man_page_describes_every_key_a_manifest_takes() -> None:
    from telemetry_gate.policy.held import KEYS as SAVED_KEYS
    from telemetry_gate.policy.manifests import KNOWN_KEYS
    from telemetry_gate.policy.own.model import FORMATS
    from telemetry_gate.policy.own.schema import SWITCH_KEYS

    text = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=250n", "-rHY=0",
                           str(REPO / "man" / "telemetry.1")], capture_output=True, text=True, check=True).stdout
    section = text.split("\nMANIFESTS\n", 1)[1].split("\nRELIABILITY\n", 1)[0]
    keys = set().union(*SWITCH_KEYS.values(), KNOWN_KEYS["product"], KNOWN_KEYS["fields.*"], SAVED_KEYS,
                       {"executables", "distributions", "paths", "variable", "file", "default", "pattern"})
    keys -= {"env"}  # [[product.env]]: the older form of an env switch, read as one
    keys |= set(FORMATS)
    missing = sorted(k for k in keys if not re.search(rf"(?<![A-Za-z_]){re.escape(k)}(?![A-Za-z_])", section))
    assert not missing, f"describe them in scripts/generate_shell.py MANIFESTS: {missing}"
