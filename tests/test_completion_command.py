"""``telemetry completion bash|zsh|fish`` prints the script a shell loads (as ``gh completion -s
zsh`` does): the very bytes the wheel installs; tests/test_completion_shells.py loads both in
real shells."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Telemetry

REPO = Path(__file__).resolve().parent.parent
FILES = {"bash": "completions/telemetry.bash", "zsh": "completions/_telemetry", "fish": "completions/telemetry.fish"}


@pytest.mark.script
@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_prints_the_installed_script(telemetry: Telemetry, shell: str) -> None:
    out = telemetry("completion", shell)
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == (REPO / FILES[shell]).read_text(encoding="utf-8")
    assert "_TELEMETRY_COMPLETE" not in os.environ  # Typer's variable is set only while it prints


def test_zsh_script_registers_from_its_first_line() -> None:
    """zsh reads `#compdef` only on line 1 of a file in $fpath (a blank line before it: never loaded)."""
    for name in FILES.values():
        text = (REPO / name).read_text(encoding="utf-8")
        assert text.strip() and not text[0].isspace(), f"{name} starts with white space"
    assert (REPO / FILES["zsh"]).read_text(encoding="utf-8").startswith("#compdef telemetry\n")


@pytest.mark.script
def test_an_unknown_shell_is_a_usage_error(telemetry: Telemetry) -> None:
    out = telemetry("completion", "tcsh")
    assert out.exit_code == 2
    assert out.stdout == ""
    assert "tcsh" in out.stderr and "bash" in out.stderr and "Traceback" not in out.stderr

