"""The console script imports a command's module only when that command runs; `--help`, a typo
and TAB completion list every command, with its short help, from the table in cli/app.py."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

from telemetry_gate.cli.app import COMMANDS, every_command


def _fresh(args: list[str], **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``telemetry ARGS`` through the console script's function in a fresh interpreter; the
    command modules it imported (and ``gc`` when the garbage collector was on at the end)."""
    code = ("import gc, sys\nfrom telemetry_gate.cli.console import main\nsys.argv = ['telemetry', *sys.argv[1:]]\n"
            "try:\n    main()\nfinally:\n"
            "    found = [m for m in sys.modules if m.endswith('_commands')] + (['gc'] if gc.isenabled() else [])\n"
            "    sys.stderr.write('\\nMODULES ' + ' '.join(found))\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "200", **env})
    err, _, modules = done.stderr.rpartition("\nMODULES ")
    done.stderr = err
    return done, set(modules.split())


def test_the_table_holds_every_command_in_order_with_its_own_short_help() -> None:
    group = every_command()
    assert list(group.list_commands(None)) == list(COMMANDS)
    assert set(group.commands) == set(COMMANDS)
    for name, (_, short) in COMMANDS.items():
        command = group.commands[name]
        first_paragraph = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        assert short == first_paragraph, name


def test_help_lists_every_command_and_imports_none() -> None:
    done, modules = _fresh(["--help"])
    assert done.returncode == 0, done.stderr
    for name, (_, short) in COMMANDS.items():
        assert name in done.stdout
        assert short.split(":")[0] in done.stdout
    assert modules == set()


def test_check_imports_its_own_module_alone() -> None:
    done, modules = _fresh(["check", "--json"])
    assert done.returncode == 0, done.stderr
    assert '"json_version"' in done.stdout
    assert modules == {"telemetry_gate.cli.policy_commands", "gc"}  # the collector is back for the command


def test_a_command_s_own_help_and_a_typo_still_work() -> None:
    done, modules = _fresh(["send", "--help"])
    assert done.returncode == 0 and "--endpoint" in done.stdout
    assert modules == {"telemetry_gate.cli.send_commands", "gc"}
    done, modules = _fresh(["chek"])
    assert done.returncode == 2
    assert "Did you mean 'check'?" in done.stderr
    assert modules == set()


def test_completion_offers_every_command_and_a_command_s_options() -> None:
    done, modules = _fresh([], _TELEMETRY_COMPLETE="complete_bash", COMP_WORDS="telemetry ", COMP_CWORD="1")
    assert done.stdout.split() == list(COMMANDS)
    assert modules == set()
    done, modules = _fresh([], _TELEMETRY_COMPLETE="complete_bash", COMP_WORDS="telemetry inspect --li",
                           COMP_CWORD="2")
    assert "--limit" in done.stdout.split()
    assert modules == {"telemetry_gate.cli.spool_commands", "gc"}
