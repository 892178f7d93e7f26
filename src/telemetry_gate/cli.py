"""The ``telemetry`` command: parse, call one domain function, hand the result to render.

Errors (``TelemetryError``) are translated once, in ``GateGroup.invoke``, into one or two
lines on stderr and the documented exit code; a traceback only with ``TELEMETRY_DEBUG=1``.
"""

from __future__ import annotations

import enum
import os
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from ._version import __version__
from .errors import ExitCode, TelemetryError


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
    sys.stderr.write(f"telemetry: {message}\n")
    if hint:
        sys.stderr.write(f"  {hint}\n")
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
        except PermissionError as exc:
            if os.environ.get("TELEMETRY_DEBUG") == "1":
                raise
            _fail(f"{exc.filename or 'a file'}: permission denied", None, int(ExitCode.PERMISSION))
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # the last line of defence: a person never sees a traceback
            if os.environ.get("TELEMETRY_DEBUG") == "1" or _is_click_exception(exc):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc}",
                  "run again with TELEMETRY_DEBUG=1 to see the traceback", 1)


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
        "--vendor", metavar="NAME",
        help="Namespace of paths and variables [default: $TELEMETRY_VENDOR or tenx].")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """See, stop and send the telemetry that scientific and data tools collect."""
    ctx.obj = vendor


def _gate(ctx: typer.Context) -> Any:
    from .paths import resolve_vendor
    from .status import Gate

    return Gate.open(resolve_vendor(ctx.obj))


def _product(product: str | None) -> str | None:
    from .paths import check_name

    return check_name("product", product) if product else None


ProductOption = Annotated[str | None, typer.Option(
    "--product", "-p", metavar="P", help="Only this product.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (documented keys).")]


@app.command()
def check(
    ctx: typer.Context,
    facet: Annotated[Facet | None, typer.Argument(help="Only this facet.")] = None,
    product: ProductOption = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show every layer of policy and which one decided.")] = False,
    json: JsonOption = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="With FACET: print nothing; exit 0 if enabled, 1 if disabled.")] = False,
) -> None:
    """Show whether telemetry is on, facet by facet, and who decided."""
    from . import status
    from .errors import UsageError
    from .settings import FACETS

    if quiet and facet is None:
        raise UsageError("--quiet needs a FACET", "for example: telemetry check upload --quiet")
    gate = _gate(ctx)
    facets = (facet.value,) if facet else FACETS
    report = status.check(gate, facets, _product(product))
    if quiet:
        decision = (report.products[product] if product else report.facets)[facets[0]]
        raise typer.Exit(int(ExitCode.OK if decision.enabled else ExitCode.DISABLED))
    from . import render

    if json:
        render.print_json(report.as_json(explain=explain))
    elif explain:
        render.explain(report)
    else:
        render.check(report)


def _switch(ctx: typer.Context, enable: bool, facet: FacetOrAll, product: str | None, system: bool) -> None:
    from . import render
    from .switches import switch

    result, _ = switch(_gate(ctx), enable, facet.value, _product(product), system)
    render.switched(result)


FacetOrAllArgument = Annotated[FacetOrAll, typer.Argument(help="all (default), collection, upload or update.")]
SystemOption = Annotated[bool, typer.Option(
    "--system", help="Write the system flag files (every user; needs an administrator).")]


@app.command()
def enable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
) -> None:
    """Turn telemetry (or one facet) on in your settings, or remove a system flag."""
    _switch(ctx, True, facet, product, system)


@app.command()
def disable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
) -> None:
    """Turn telemetry (or one facet) off in your settings, or create a system flag."""
    _switch(ctx, False, facet, product, system)


def _age(value: str | None) -> float | None:
    """``30s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    if value is None:
        return None
    import re

    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", value)
    if not match:
        raise typer.BadParameter(f"{value!r} is not an age like 30m, 12h, 7d or 2w")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]


AgeOption = Annotated[str | None, typer.Option(metavar="AGE", help="An age like 30m, 12h, 7d or 2w.")]


@app.command()
def inspect(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(
        metavar="[ID|PATH]", help="A record id (or unique prefix), or a record file, .jsonl file or folder.")] = None,
    product: ProductOption = None,
    since: AgeOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N records.")] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Show every record (with --json for bulk).")] = False,
    catalog: Annotated[bool, typer.Option("--catalog", help="The fields a product declares it collects.")] = False,
    quarantine: Annotated[bool, typer.Option(
        "--quarantine", help="Move malformed pending files aside into the spool's quarantine/.")] = False,
    json: JsonOption = False,
) -> None:
    """Show what is collected: pending records, one record in full, or a product's fields."""
    from pathlib import Path

    from . import inspection, render

    if catalog:
        gate = _gate(ctx)
        render.catalogue(inspection.catalogue(gate.catalogue, gate.paths, _product(product)), json)
        return
    if target is not None and inspection.is_record_path(target):
        found, warnings = inspection.from_path(Path(target))
        render.warnings(warnings)
        render.records_from_path(found, json)
        return
    gate = _gate(ctx)
    if target is not None:
        entry = inspection.find(gate.spool, target, _product(product))
        record, data = inspection.load(entry)
        render.record_in_full(entry, record, data)
        return
    age = _age(since)
    limit_or_none = None if show_all else limit
    if json:
        skipped: list[str] = []
        render.json_stream(inspection.stream(gate.spool, _product(product), age, limit_or_none, skipped))
        render.warnings(skipped)
        return
    page = inspection.page(gate.spool, _product(product), age, limit_or_none)
    render.warnings(page.warnings)
    if quarantine:
        for entry in page.corrupt:
            render.message(f"moved {entry.path} to {gate.spool.quarantine(entry.product, entry.path)}")
    render.pending_table(page)


@app.command()
def purge(
    ctx: typer.Context,
    product: ProductOption = None,
    older_than: AgeOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Every pending record.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete pending records (by product and age) and say how many and how large."""
    from . import purge as purging
    from . import render
    from .errors import UsageError

    gate = _gate(ctx)
    chosen = purging.plan(gate.spool, _product(product), _age(older_than), everything)
    if chosen.entries and not dry_run and not yes:
        if not _interactive():
            raise UsageError("purge deletes records: confirm with --yes when there is no terminal",
                             f"{len(chosen.entries)} records would go; --dry-run shows them")
        size = render.human_bytes(chosen.bytes())
        if not typer.confirm(f"Delete {len(chosen.entries)} pending records ({size})?"):
            raise typer.Exit(int(ExitCode.OK))
    render.purged(purging.run(gate.spool, chosen, dry_run))


def _interactive() -> bool:
    """A person at a terminal who can answer a question."""
    return sys.stdin.isatty()


def main() -> None:
    """The console script."""
    try:
        app(prog_name="telemetry")
    except KeyboardInterrupt:
        sys.stderr.write("telemetry: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
