"""The ``telemetry`` command: parse, call one domain function, hand the result to render.

The commands live by concern in ``policy_commands``, ``spool_commands`` and ``send_commands``;
importing a module registers its commands on ``base.app``. The group loads them lazily
(click's LazyGroup pattern): ``telemetry check`` imports and builds ``check`` alone, while
``--help`` and TAB completion list every command from ``COMMANDS`` below, without importing
one. ``main`` runs the app; ``cli.console.main``, the console script, calls it with the garbage
collector paused, and it resumes once the command is loaded.
"""

import gc
import importlib
import sys
from typing import Any

import typer.main
from typer.core import TyperCommand

from telemetry_gate.cli import completion
from telemetry_gate.cli.base import GateGroup, _quiet_stdout, app, examples
from telemetry_gate.errors import ExitCode

__all__ = ["COMMANDS", "app", "every_command", "main"]

# name -> (module that registers it, its help's first paragraph), in the order of
# `telemetry --help`, the man page and completion (the tour's order, not the modules').
# tests/test_lazy_commands.py holds each short help to its command's docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("telemetry_gate.cli.policy_commands",
              "Show whether telemetry is on, facet by facet, and who decided."),
    "enable": ("telemetry_gate.cli.policy_commands",
               "Turn telemetry (or one facet) on in your settings, or remove a system flag."),
    "disable": ("telemetry_gate.cli.policy_commands",
                "Turn telemetry (or one facet) off in your settings, or create a system flag."),
    "inspect": ("telemetry_gate.cli.spool_commands",
                "Show what is collected: pending records, one record in full, or a product's fields."),
    "purge": ("telemetry_gate.cli.spool_commands",
              "Delete pending records (by product and age) and say how many and how large."),
    "send": ("telemetry_gate.cli.send_commands",
             "Upload pending records of every product whose upload is enabled, or the chosen ones."),
    "update": ("telemetry_gate.cli.send_commands",
               "Download each product's telemetry configuration, unless update is disabled; say what it changes."),
    "products": ("telemetry_gate.cli.policy_commands",
                 "List the catalogue: each product, whether it is installed, its own switches and their state."),
    "shell-init": ("telemetry_gate.cli.policy_commands",
                   "Print the line for your shell's rc file: new shells get the products' own off-switches."),
    "completion": (__name__, "Print the shell completion script for bash, zsh or fish."),
}


def _register_completion() -> None:
    """``completion`` lives in ``cli.completion`` (imported for the options' completers anyway)."""
    if not any(c.callback is completion.completion for c in app.registered_commands):
        app.command(epilog=examples(
            "telemetry completion bash > ~/.local/share/bash-completion/completions/telemetry",
            'telemetry completion zsh > "${fpath[1]}/_telemetry"',
            "telemetry completion fish > ~/.config/fish/completions/telemetry.fish",
        ))(completion.completion)


def _name(info: Any) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _load(name: str) -> TyperCommand:
    """Import the module of ``name`` (which registers its commands) and build that one command."""
    module = COMMANDS[name][0]
    if module == __name__:
        _register_completion()
    else:
        importlib.import_module(module)
    info = next(i for i in app.registered_commands if _name(i) == name)
    return typer.main.get_command_from_info(  # type: ignore[return-value]
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode)


_gc = {"paused": False}


def _resume_gc() -> None:
    """The collector back on, once, for what the command builds: everything start-up made
    lives until the end, so it is frozen out of every later collection."""
    if _gc["paused"]:
        _gc["paused"] = False
        gc.freeze()
        gc.enable()


class _Listed(TyperCommand):
    """A command as listed (name and short help) before its module is imported."""


class LazyGroup(GateGroup):
    """``GateGroup`` whose commands are imported when one is run or its own help asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, short) in COMMANDS.items():
            if name not in self.commands:
                self.commands[name] = _Listed(name=name, help=short, callback=None)

    def list_commands(self, ctx: Any) -> list[str]:
        """The table's order; a command registered without a row in it (a test's) comes last."""
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and isinstance(self.commands.get(args[0]), _Listed):
            self.commands[args[0]] = _load(args[0])
            _resume_gc()
        return super().resolve_command(ctx, args)

    def load_all(self) -> "LazyGroup":
        for name, command in list(self.commands.items()):
            if isinstance(command, _Listed):
                self.commands[name] = _load(name)
        return self


app.info.cls = LazyGroup


def every_command() -> LazyGroup:
    """The click group with every command built (the man page, tests of each command's help)."""
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    return group.load_all()


def main(gc_paused: bool = False) -> None:
    """Run the app; ``gc_paused``: the caller turned the garbage collector off before importing
    this module, and it comes back on once the command is loaded."""
    _gc["paused"] = gc_paused
    try:
        app(prog_name="telemetry")
    except KeyboardInterrupt:
        sys.stderr.write("telemetry: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except SystemExit:
        try:
            sys.stdout.flush()  # what is still buffered: its reader may be gone (`| head`)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(int(ExitCode.BROKEN_PIPE))
        raise

