"""The ``telemetry`` command: parse, call one domain function, hand the result to render.

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


def _gate(ctx: typer.Context) -> Any:
    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.policy.paths import resolve_vendor

    return Gate.open(resolve_vendor(ctx.obj))


def _product(product: str | None) -> str | None:
    from telemetry_gate.policy.paths import check_name

    return check_name("product", product) if product else None


ProductOption = Annotated[str | None, typer.Option(
    "--product", "-p", metavar="P", autocompletion=completion.products, help="Only this product.")]
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
    history: Annotated[bool, typer.Option(
        "--history", help="Who enabled or disabled what, and when: the consent history, newest first.")] = False,
) -> None:
    """Show whether telemetry is on, facet by facet, and who decided."""
    from telemetry_gate.errors import UsageError
    from telemetry_gate.policy import status
    from telemetry_gate.vocabulary import FACETS

    if quiet and facet is None:
        raise UsageError("--quiet needs a FACET", "for example: telemetry check upload --quiet")
    if history:
        _history(ctx, facet.value if facet else None, _product(product), json, quiet)
        return
    gate = _gate(ctx)
    facets = (facet.value,) if facet else FACETS
    report = status.check(gate, facets, _product(product))
    if quiet:
        decision = (report.products[product] if product else report.facets)[facets[0]]
        raise typer.Exit(int(ExitCode.OK if decision.enabled else ExitCode.DISABLED))
    from telemetry_gate.cli.render import status as status_view
    from telemetry_gate.cli.render import text

    if json:
        text.print_json(report.as_json(explain=explain))
    elif explain:
        status_view.explain(report)
    else:
        status_view.check(report)


def _history(ctx: typer.Context, facet: str | None, product: str | None, json: bool, quiet: bool) -> None:
    """``check --history``: read only when asked (``check`` itself never opens the file)."""
    from telemetry_gate.cli.render import status as status_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.errors import UsageError
    from telemetry_gate.policy import history
    from telemetry_gate.policy.paths import Paths, resolve_vendor

    if quiet:
        raise UsageError("--history cannot be combined with --quiet")
    found = history.read(Paths.for_vendor(resolve_vendor(ctx.obj)), facet, product)
    if json:
        text.print_json(found.entries)
    else:
        status_view.history(found.entries, found.flags)
    for warning in found.warnings:
        text.message(f"warning: {warning}")


def _switch(ctx: typer.Context, enable: bool, facet: FacetOrAll, product: str | None, system: bool,
            dry_run: bool) -> None:
    from telemetry_gate.cli.render import status as status_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.policy import history

    result, problems = history.switch_and_record(_gate(ctx), enable, facet.value, _product(product), system,
                                                 dry_run)
    status_view.switched(result)
    for problem in problems:
        text.message(f"warning: {problem}")
    if result.errors:  # the settings are saved; a product's own file could not be written
        for error in result.errors[1:]:
            text.message(f"error: {error.message}")
        raise result.errors[0]


FacetOrAllArgument = Annotated[FacetOrAll, typer.Argument(help="all (default), collection, upload or update.")]
SystemOption = Annotated[bool, typer.Option(
    "--system", help="Write the system flag files (every user; needs an administrator).")]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Say what would change (settings, products' own switches); write nothing.")]


@app.command()
def enable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
    dry_run: DryRunOption = False,
) -> None:
    """Turn telemetry (or one facet) on in your settings, or remove a system flag."""
    _switch(ctx, True, facet, product, system, dry_run)


@app.command()
def disable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
    dry_run: DryRunOption = False,
) -> None:
    """Turn telemetry (or one facet) off in your settings, or create a system flag."""
    _switch(ctx, False, facet, product, system, dry_run)


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


AgeOption = Annotated[str | None, typer.Option(metavar="AGE", help="An age like 30m, 12h, 7d or 2w.")]
SavedOption = Annotated[bool, typer.Option(
    "--saved", help="Events a product saved itself (Cell Ranger's own copies), not the spool.")]


@app.command()
def inspect(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(
        metavar="[ID|PATH]", autocompletion=completion.record_ids,
        help="A record id (or unique prefix), or a record file, .jsonl file or folder.")] = None,
    product: ProductOption = None,
    since: AgeOption = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=1, help="Show at most N records (default 50).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show every record (with --json for bulk).")] = False,
    catalog: Annotated[bool, typer.Option("--catalog", help="The fields a product declares it collects.")] = False,
    quarantine: Annotated[bool, typer.Option(
        "--quarantine", help="Move malformed pending files aside into the spool's quarantine/.")] = False,
    json: JsonOption = False,
    sent: Annotated[bool, typer.Option("--sent", help="The audit log: what was uploaded, when, where.")] = False,
    rejected: Annotated[bool, typer.Option("--rejected", help="Records a collector refused, with its answer.")] = False,
    saved: SavedOption = False,
) -> None:
    """Show what is collected: pending records, one record in full, or a product's fields."""
    from pathlib import Path

    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.spool import inspection

    _refuse_together({"ID|PATH": target is not None, "--sent": sent, "--rejected": rejected,
                      "--catalog": catalog, "--saved": saved, "--limit": limit is not None, "--all": show_all,
                      "--since": since is not None, "--quarantine": quarantine, "--json": json})
    limit = 50 if limit is None else limit

    if catalog:
        gate = _gate(ctx)
        for warning in inspection.catalogue_warnings(gate):
            text.message(f"warning: {warning}")
        manifests = inspection.catalogue(gate.catalogue, gate.paths, _product(product))
        records_view.catalogue(manifests, json, inspection.switched_off(gate, manifests))
        return
    if saved:
        from telemetry_gate.cli import saved as saved_cli

        saved_cli.inspect(_gate(ctx).paths, target, _product(product), _age(since), None if show_all else limit,
                          json, sent or rejected or quarantine)
        return
    if sent or rejected:
        _inspect_outcomes(ctx, sent, _product(product), _age(since), None if show_all else limit, json)
        return
    if target is not None and inspection.is_record_path(target):
        from telemetry_gate.cli import saved as saved_cli

        saved_cli.inspect_path(Path(target), json)
        return
    gate = _gate(ctx)
    if target is not None:
        entry = inspection.find(gate.spool, target, _product(product))
        record, data = inspection.load_one(entry)
        from telemetry_gate.send.payloads import payload
        from telemetry_gate.send.sending import resolve_format

        fmt, _ = resolve_format(gate, entry.product)
        records_view.record_in_full(entry, record, data, payload(record, data, fmt), fmt)
        return
    age = _age(since)
    limit_or_none = None if show_all else limit
    if json:
        skipped: list[str] = []
        text.json_stream(inspection.stream(gate.spool, _product(product), age, limit_or_none, skipped))
        text.warnings(skipped)
        return
    page = inspection.page(gate.spool, _product(product), age, limit_or_none)
    text.warnings(page.warnings)
    if quarantine:
        for entry in page.corrupt:
            text.message(f"moved {entry.path} to {gate.spool.quarantine(entry.product, entry.path)}")
    records_view.pending_table(page)
    from telemetry_gate.cli import saved as saved_cli

    saved_cli.pointer(gate.paths, _product(product), age)


_INSPECT_CONFLICTS = (  # options that would be ignored together: refused, never ignored
    ("--sent", "--rejected"), ("--sent", "--catalog"), ("--rejected", "--catalog"), ("--saved", "--catalog"),
    ("--limit", "--all"), ("ID|PATH", "--catalog"), ("ID|PATH", "--sent"), ("ID|PATH", "--rejected"),
    ("--catalog", "--since"), ("--catalog", "--limit"), ("--catalog", "--all"), ("--catalog", "--quarantine"),
    ("--quarantine", "--json"), ("ID|PATH", "--quarantine"), ("ID|PATH", "--limit"), ("ID|PATH", "--all"),
)


def _refuse_together(given: dict[str, bool]) -> None:
    from telemetry_gate.errors import UsageError

    for first, second in _INSPECT_CONFLICTS:
        if given[first] and given[second]:
            raise UsageError(f"{first} and {second} cannot be used together",
                             "'telemetry inspect --help' says what each one shows")


def _inspect_outcomes(ctx: typer.Context, sent: bool, product: str | None, since: float | None,
                     limit: int | None, json: bool) -> None:
    """``inspect --sent`` (the audit log) or ``inspect --rejected``."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.send import outcomes
    from telemetry_gate.spool import inspection

    gate = _gate(ctx)
    warnings: list[str] = []
    if sent:
        records_view.audit_log(outcomes.read_audit(gate.spool, product, since, limit if json else None, warnings),
                         json, limit)
    else:
        records_view.rejected_table(inspection.rejected(gate.spool, product, since, limit, warnings), json)
    text.warnings(warnings)


@app.command()
def purge(
    ctx: typer.Context,
    product: ProductOption = None,
    older_than: AgeOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Every pending record.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    sent: Annotated[bool, typer.Option("--sent", help="The audit log instead of pending records.")] = False,
    rejected: Annotated[bool, typer.Option("--rejected", help="Rejected records instead of pending ones.")] = False,
    saved: Annotated[bool, typer.Option(
        "--saved", help="Events products saved themselves under the cache (Cell Ranger's copies) instead.")] = False,
) -> None:
    """Delete pending records (by product and age) and say how many and how large."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.errors import UsageError
    from telemetry_gate.spool import purge as purging

    gate = _gate(ctx)
    if saved:
        from telemetry_gate.cli import saved as saved_cli

        saved_cli.purge(gate.paths, _product(product), _age(older_than, "--older-than"), dry_run, yes,
                        typer.confirm if _interactive() else None)
        if not (sent or rejected):
            return
    if sent:
        _purge_sent(gate, _product(product), _age(older_than, "--older-than"), dry_run, yes)
        if not rejected:
            return
    chosen = purging.plan(gate.spool, _product(product), _age(older_than, "--older-than"), everything, rejected)
    if chosen.entries and not dry_run and not yes:
        if not _interactive():
            raise UsageError("purge deletes records: confirm with --yes when there is no terminal",
                             f"{len(chosen.entries)} records would go; --dry-run shows them")
        size = text.human_bytes(chosen.bytes())
        kind = "rejected" if rejected else "pending"
        if not typer.confirm(f"Delete {len(chosen.entries)} {kind} records ({size})?"):
            raise typer.Exit(int(ExitCode.OK))
    records_view.purged(purging.run(gate.spool, chosen, dry_run, rejected))


def _purge_sent(gate: Any, product: str | None, older_than: float | None, dry_run: bool, yes: bool) -> None:
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.errors import UsageError
    from telemetry_gate.spool import purge as purging

    found = purging.sent(gate.spool, product, older_than, True)
    if found.records and not dry_run and not yes:
        if not _interactive():
            raise UsageError("purge deletes the audit log: confirm with --yes when there is no terminal")
        if not typer.confirm(f"Delete {found.records} audit entries ({text.human_bytes(found.bytes)})?"):
            raise typer.Exit(int(ExitCode.OK))
    records_view.purged(found if dry_run else purging.sent(gate.spool, product, older_than, False))


class Format(enum.StrEnum):
    otlp = "otlp"
    json = "json"


@app.command()
def send(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="[ID]...", autocompletion=completion.record_ids, show_default=False,
        help="Send exactly these records (ids or unique prefixes), shown first and confirmed.")] = None,
    product: ProductOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the exact payloads; open no connection, change nothing.")] = False,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", metavar="URL",
        help="Collector URL; else $TELEMETRY_ENDPOINT, the settings, the manifest.")] = None,
    fmt: Annotated[Format | None, typer.Option(
        "--format", help="Payload format; else the settings, the manifest, otlp.")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="S", min=0.1, help="Stop after S seconds in all; the rest stays pending.")] = 60.0,
    rejected: Annotated[bool, typer.Option(
        "--rejected", help="Send the records a collector refused again (the same policy applies).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With IDs: do not ask for confirmation.")] = False,
    json: JsonOption = False,
) -> None:
    """Upload pending records of every product whose upload is enabled, or the chosen ones."""
    from telemetry_gate.cli.render import sending as sending_view
    from telemetry_gate.send import sending

    if timeout != timeout or timeout == float("inf"):  # nan or inf: typer's min=0.1 lets both through
        from telemetry_gate.errors import UsageError

        raise UsageError(f"--timeout must be a number of seconds, not {timeout}", "for example --timeout 120")
    if ids:
        _send_chosen(ctx, ids, _product(product), endpoint, fmt.value if fmt else None, timeout, dry_run,
                     rejected, yes, json)
        return
    gate = _gate(ctx)
    with sending_view.SendProgress() as progress:
        report = sending.run(gate, _product(product), endpoint=endpoint, fmt=fmt.value if fmt else None,
                             timeout=timeout, dry_run=dry_run, progress=progress,
                             show=sending_view.payload_printer(json), rejected=rejected)
    sending_view.send_report(report, json)
    report.raise_for_outcome()


def _send_chosen(ctx: typer.Context, ids: list[str], product: str | None, endpoint: str | None,
                 fmt: str | None, timeout: float, dry_run: bool, rejected: bool, yes: bool, json: bool) -> None:
    """``send ID...``: refuse what a higher layer forbids, show the records, ask, send only them."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import sending as sending_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.errors import UsageError
    from telemetry_gate.send import chosen
    from telemetry_gate.send.payloads import payload

    if rejected:
        raise UsageError("give record ids or --rejected, not both", "an id finds a rejected record too")
    gate = _gate(ctx)
    picked = chosen.choose(gate, ids, product)
    chosen.check_allowed(gate, picked)  # before anything is shown or asked: nothing connects
    where = chosen.targets(gate, picked, endpoint, fmt, os.environ)
    if not json:
        for c in picked:
            target = where[c.entry.product]
            records_view.record_in_full(c.entry, c.record, c.data, payload(c.record, c.data, target.format),
                                        target.format)
            sys.stdout.write("\n")
    if not dry_run and not yes:
        if not _interactive():
            raise UsageError("send with record ids asks before it sends: confirm with --yes when there is "
                             "no terminal", "the records are shown above; --dry-run prints the exact payloads")
        urls = ", ".join(sorted({t.url for t in where.values()}))
        what = "this record" if len(picked) == 1 else f"these {len(picked)} records"
        if not typer.confirm(f"Send {what} to {urls}?"):
            text.message("Nothing sent.")
            raise typer.Exit(int(ExitCode.OK))
    report = chosen.run(gate, picked, endpoint=endpoint, fmt=fmt, timeout=timeout, dry_run=dry_run,
                        show=sending_view.payload_printer(json))
    sending_view.send_report(report, json)
    report.raise_for_outcome()


@app.command()
def update(
    ctx: typer.Context,
    product: ProductOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Download and show what would change; keep the cached configuration.")] = False,
    json: JsonOption = False,
) -> None:
    """Download each product's telemetry configuration, unless update is disabled; say what it changes."""
    from telemetry_gate.cli.render import sending as sending_view
    from telemetry_gate.send import config

    results = config.update(_gate(ctx), _product(product), dry_run=dry_run)
    sending_view.updated(results, json)
    config.raise_for_outcome(results)


@app.command()
def products(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the catalogue: each product, whether it is installed, its own switches and their state."""
    from telemetry_gate.cli.render import products as products_view
    from telemetry_gate.native import products as listing

    products_view.products(listing.listing(_gate(ctx)), json)


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@app.command("shell-init")
def shell_init(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print the line for your shell's rc file: new shells get the products' own off-switches."""
    from telemetry_gate.cli.render import products as products_view
    from telemetry_gate.native import environment
    from telemetry_gate.policy.paths import Paths, resolve_vendor

    paths = Paths.for_vendor(resolve_vendor(ctx.obj))
    try:  # the generated file the line loads: current, so DO_NOT_TRACK works before any disable
        environment.sync(_gate(ctx), system=False, dry_run=False)
    except TelemetryError as exc:  # a broken settings file must not cost the user the line
        products_view.not_synced(exc.message)
    products_view.shell_init(environment.shell_init(paths, shell.value))


def _interactive() -> bool:
    """A person at a terminal who can answer a question."""
    return sys.stdin.isatty()


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
