"""Each subcommand's ``--help`` ends with two to four real examples (as gh's do), and the man page
shows them: every example parses through click's parser in-process, and runs, in a fresh home,
without an error."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer.main

from conftest import Telemetry
from telemetry_gate.cli.app import every_command

REPO = Path(__file__).resolve().parent.parent
GROUP = every_command()
COMMANDS: dict[str, typer.core.TyperCommand] = GROUP.commands  # type: ignore[attr-defined]
RECORD_ID = re.compile(r"^01[0-9A-HJKMNP-TV-Z]{6,24}$")  # a ULID (prefix): the example needs that record


def _examples(name: str) -> list[str]:
    """The examples a command declares (its epilog's ``$ `` lines)."""
    return [line[2:] for line in (COMMANDS[name].epilog or "").splitlines() if line.startswith("$ ")]


def _argv(example: str) -> list[str]:
    """The words ``telemetry`` receives: up to the first shell operator, without ``sudo`` or ``VAR=x``."""
    lexer = shlex.shlex(example, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for token in lexer:
        if set(token) <= set("();<>|&"):
            break
        words.append(token)
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
        words.pop(0)
    assert words[:1] == ["telemetry"], f"{example!r} does not run telemetry"
    return words[1:]


EXAMPLES = [(name, example) for name in COMMANDS for example in _examples(name)]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_ends_with_two_to_four_examples(inprocess: Telemetry, name: str) -> None:
    out = inprocess(name, "--help")
    assert out.exit_code == 0
    lines = [line.strip() for line in out.stdout.strip().splitlines()]
    assert "Examples:" in lines, f"telemetry {name} --help shows no Examples section"
    shown = lines[len(lines) - 1 - lines[::-1].index("Examples:") + 1:]
    assert all(line.startswith("$ telemetry ") or line.startswith("$ sudo telemetry ") for line in shown), (
        f"telemetry {name} --help does not end with its examples: {shown}")
    assert [line[2:] for line in shown] == _examples(name)  # each whole, on a line of its own
    assert 2 <= len(shown) <= 4
    assert all(_argv(example)[0] == name for example in _examples(name))


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[f"{n}:{e}" for n, e in EXAMPLES])
def test_example_parses(name: str, example: str) -> None:
    """Through click's own parser, as a run would: options, choices, arguments and their count."""
    args = _argv(example)
    with GROUP.make_context("telemetry", args) as ctx:  # the group's own options (none here), then the rest
        assert ctx.args == args[1:]
        sub_name, command, rest = GROUP.resolve_command(ctx, [args[0], *ctx.args])
        assert (sub_name, command) == (name, COMMANDS[name])
        with command.make_context(sub_name, rest, parent=ctx) as sub:  # raises on a usage error
            assert sub.command is command


RUNNABLE = [(n, e) for n, e in EXAMPLES if not any(RECORD_ID.match(w) for w in _argv(e))]


@pytest.mark.parametrize(("name", "example"), RUNNABLE, ids=[f"{n}:{e}" for n, e in RUNNABLE])
def test_example_runs_in_a_fresh_home(inprocess: Telemetry, name: str, example: str) -> None:
    """Nothing pending, nothing configured, no network needed: each example (but those naming a
    record id) succeeds; its words were right, not only well-formed."""
    out = inprocess(*_argv(example))
    assert out.exit_code == 0, f"{example}: exit {out.exit_code}\n{out.stderr}"


def test_man_page_shows_every_example() -> None:
    out = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=250n", str(REPO / "man" / "telemetry.1")],
                         capture_output=True, text=True, check=True).stdout
    shown = {line.strip() for line in out.splitlines()}
    missing = [example for _, example in EXAMPLES if f"$ {example}" not in shown]
    assert missing == [], "regenerate: python scripts/generate_shell.py"
    assert len(EXAMPLES) >= 2 * len(COMMANDS)
