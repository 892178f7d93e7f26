"""The ``telemetry`` command: parse, call one domain function, hand the result to render.

The commands live by concern in ``policy_commands``, ``spool_commands`` and ``send_commands``;
importing them registers them on ``base.app``. ``main`` is the console script.
"""

import os
import sys

from telemetry_gate.cli import completion, policy_commands, send_commands, spool_commands  # noqa: F401
from telemetry_gate.cli.base import _quiet_stdout, app, examples
from telemetry_gate.errors import ExitCode

__all__ = ["app", "main"]

app.command(epilog=examples(  # the other commands register themselves on import
    "telemetry completion bash > ~/.local/share/bash-completion/completions/telemetry",
    'telemetry completion zsh > "${fpath[1]}/_telemetry"',
    "telemetry completion fish > ~/.config/fish/completions/telemetry.fish",
))(completion.completion)

# the order of `telemetry --help`, the man page and completion: the tour's order, not the modules'
ORDER = ("check", "enable", "disable", "inspect", "purge", "send", "update", "products", "shell-init", "completion")
app.registered_commands.sort(key=lambda c: ORDER.index(c.name or c.callback.__name__))  # type: ignore[union-attr]


def _keep_only_the_named_command(args: list[str]) -> None:
    """Typer turns every registered command into a click command at each start; a run needs
    only the one it names (``check``: 15M of 393M instructions). Without a known command
    name (none, a typo, TAB completion) every command stays, for help and suggestions."""
    if any(name.startswith("_TELEMETRY_COMPLETE") for name in os.environ):
        return
    words = iter(args)
    for word in words:
        if word == "--vendor":
            next(words, None)
        elif not word.startswith("-"):
            named = [c for c in app.registered_commands if (c.name or c.callback.__name__) == word]  # type: ignore[union-attr]
            if named:
                app.registered_commands[:] = named
            return


def main() -> None:
    """The console script."""
    _keep_only_the_named_command(sys.argv[1:])
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

