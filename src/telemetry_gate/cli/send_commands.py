"""What leaves the machine: ``send`` and ``update``.

No ``from __future__ import annotations`` here: Typer reads every command's annotations at
start-up, and evaluating them from strings cost ~13 ms of each run of ``telemetry``.
"""

import enum
import os
import sys
from typing import Annotated

import typer

from telemetry_gate.cli import base, completion
from telemetry_gate.cli.base import (
    JsonOption,
    ProductOption,
    _gate,
    _product,
    app,
)
from telemetry_gate.errors import ExitCode


class Format(enum.StrEnum):
    otlp = "otlp"
    json = "json"


@app.command(epilog=base.examples(
    "telemetry send --dry-run",
    "telemetry send --endpoint https://collector.example.org/v1/logs --timeout 120",
    "telemetry send 01JD3K7Q --yes",
    "telemetry send --rejected",
))
def send(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="[ID|FILE]...", autocompletion=completion.record_ids, show_default=False,
        help="Send exactly these records (ids or unique prefixes), or with --saved these saved files; "
             "shown first and confirmed.")] = None,
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
    saved: Annotated[bool, typer.Option(
        "--saved", help="Release events a product saved itself while its upload was held (Cell Ranger's "
                        "copies), or the FILEs given: shown first and confirmed.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="With IDs or --saved: do not ask for confirmation.")] = False,
    json: JsonOption = False,
) -> None:
    """Upload pending records of every product whose upload is enabled, or the chosen ones.

    --saved releases the events a product kept itself (telemetry inspect --saved shows them),
    exactly as it would have uploaded them, to its own address (--endpoint replaces it)."""
    from telemetry_gate.cli.render import sending as sending_view
    from telemetry_gate.send import sending

    if timeout != timeout or timeout == float("inf"):  # nan or inf: typer's min=0.1 lets both through
        from telemetry_gate.errors import UsageError

        raise UsageError(f"--timeout must be a number of seconds, not {timeout}", "for example --timeout 120")
    if saved:
        _send_saved(ctx, ids or [], _product(product), endpoint, fmt, timeout, dry_run, rejected, yes, json)
        return
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
        if not base.interactive():
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


def _send_saved(ctx: typer.Context, files: list[str], product: str | None, endpoint: str | None,
                fmt: Format | None, timeout: float, dry_run: bool, rejected: bool, yes: bool, json: bool) -> None:
    """``send --saved [FILE...]``: the product's own bytes to its own address (cli/saved.py)."""
    from telemetry_gate.cli import saved as saved_cli
    from telemetry_gate.errors import UsageError

    if rejected or fmt is not None:
        given = "--rejected" if rejected else "--format"
        raise UsageError(f"--saved sends the product's own bytes: it takes no {given}",
                         "telemetry send --saved [FILE...] [--endpoint URL] [--yes]")
    saved_cli.release(_gate(ctx), files, product, endpoint, timeout, dry_run, yes, json,
                      typer.confirm if base.interactive() else None)


@app.command(epilog=base.examples(
    "telemetry update",
    "telemetry update --product cellranger --dry-run",
))
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

