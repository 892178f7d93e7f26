"""The frame every command runs in: the Typer app, its error boundary, the options and
helpers the commands share.

Errors (``TelemetryError``) are translated once, in ``GateGroup.invoke``, into one or two
lines on stderr and the documented exit code; a traceback only with ``TELEMETRY_DEBUG=1``.

No ``from __future__ import annotations`` here: Typer reads every command's annotations at
start-up, and evaluating them from strings cost ~13 ms of each run of ``telemetry``.
"""

import enum
import os
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from telemetry_gate._version import __version__
from telemetry_gate.cli import completion
from telemetry_gate.errors import ExitCode, TelemetryError


class Facet(enum.StrEnum):
    collection = "collection"
    upload = "upload"
    update = "update"


class FacetOrAll(enum.StrEnum):
    all = "all"
    collection = "collection"
    upload = "upload"
    update = "update"


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    from telemetry_gate.cli.render.text import escape  # an error may quote a file name or a value

    sys.stderr.write(f"telemetry: {escape(message)}\n")
    if hint:
        sys.stderr.write(f"  {escape(hint)}\n")
    raise typer.Exit(code)


class GateGroup(TyperGroup):
    """The error boundary: every command runs inside it, in-process and as a script."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TelemetryError as exc:
            if os.environ.get("TELEMETRY_DEBUG") == "1":
                raise
            _fail(exc.message, exc.hint, int(exc.exit_code))
        except KeyboardInterrupt:
            _fail("interrupted", None, int(ExitCode.INTERRUPTED))
        except BrokenPipeError:  # `telemetry inspect --json | head`: the reader has all it wants
            _quiet_stdout()
            raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
        except PermissionError as exc:
            if os.environ.get("TELEMETRY_DEBUG") == "1":
                raise
            _fail(f"{exc.filename or 'a file'}: permission denied", None, int(ExitCode.PERMISSION))
        except (typer.Exit, typer.Abort):
            raise
        except OSError as exc:
            if os.environ.get("TELEMETRY_DEBUG") == "1":
                raise
            _os_error(exc)
        except Exception as exc:  # the last line of defence: a person never sees a traceback
            if os.environ.get("TELEMETRY_DEBUG") == "1" or _is_click_exception(exc):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc}",
                  "run again with TELEMETRY_DEBUG=1 to see the traceback", int(ExitCode.SOFTWARE))


def _os_error(exc: OSError) -> NoReturn:
    """One line for what the system refused: a full disk (74), a read-only file system (4),
    any other I/O failure (74); never a traceback."""
    import errno

    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        _fail(f"no space left on the device{where}", "free some space and run again; nothing was "
              "left half-written", int(ExitCode.IO_ERROR))
    if exc.errno == errno.EROFS:
        _fail(f"read-only file system{where}", "the spool and settings must be on a writable file system",
              int(ExitCode.PERMISSION))
    _fail(f"{exc.strerror or type(exc).__name__}{where}", None, int(ExitCode.IO_ERROR))


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests in-process)
        pass


def _is_click_exception(exc: Exception) -> bool:
    return type(exc).__module__.startswith("typer._click")


app = typer.Typer(
    cls=GateGroup,
    name="telemetry",
    help="See, stop and send the telemetry that scientific and data tools collect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"telemetry-gate {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    vendor: Annotated[str | None, typer.Option(
        "--vendor", metavar="NAME", autocompletion=completion.vendors,
        help="Namespace of paths and variables; else $TELEMETRY_VENDOR, else tenx.")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """See, stop and send the telemetry that scientific and data tools collect."""
    ctx.obj = vendor


def _gate(ctx: typer.Context, lazy: bool = False, product: str | None = None) -> Any:
    """``Gate.open`` for the vendor; ``lazy``, ``product``: only the manifests ``check`` needs."""
    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.policy.paths import resolve_vendor

    return Gate.open(resolve_vendor(ctx.obj), lazy=lazy, product=product)


def _product(product: str | None) -> str | None:
    from telemetry_gate.policy.paths import check_name

    return check_name("product", product) if product else None


ProductOption = Annotated[str | None, typer.Option(
    "--product", "-p", metavar="P", autocompletion=completion.products, help="Only this product.")]


def _json_pin(value: bool) -> bool:
    """``--json`` with ``TELEMETRY_JSON_VERSION`` set: the version the script was written for
    must be the one printed (docs/json.md), else exit 2 before the command does anything."""
    from telemetry_gate.vocabulary import JSON_VERSION, JSON_VERSION_VARIABLE

    pinned = os.environ.get(JSON_VERSION_VARIABLE, "").strip() if value else ""
    if pinned and pinned != str(JSON_VERSION):
        from telemetry_gate.errors import UsageError

        raise UsageError(f"{JSON_VERSION_VARIABLE}={pinned[:20]!r} asks for JSON this telemetry-gate does not "
                         f"print: its --json output is version {JSON_VERSION}",
                         "see docs/json.md for what changed, then update the script and its pin")
    return value


JsonOption = Annotated[bool, typer.Option("--json", callback=_json_pin,
                                          help="Machine-readable output (documented keys).")]


def _age(value: str | None, option: str = "--since") -> float | None:
    """``30s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds; a usage error names ``option``."""
    if value is None:
        return None
    import re

    from telemetry_gate.errors import UsageError

    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", value)
    if not match:
        raise UsageError(f"{option}: {value!r} is not an age like 30m, 12h, 7d or 2w")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]


def interactive() -> bool:
    """A person at a terminal who can answer a question."""
    return sys.stdin.isatty()



def examples(*commands: str) -> str:
    """A command's epilog: the examples that end its ``--help`` (as gh's do), one ``$ `` line each.
    Typer joins an epilog's lines, so each is a paragraph of its own; no ``[`` then a letter:
    that is rich markup.
    The man page shows them too (scripts/generate_shell.py); tests/test_help_examples.py runs them."""
    return "Examples:\n\n" + "\n\n".join(f"$ {command}" for command in commands)
