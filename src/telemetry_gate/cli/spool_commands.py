"""What waits on disk: ``inspect`` and ``purge``.

No ``from __future__ import annotations`` here: Typer reads every command's annotations at
start-up, and evaluating them from strings cost ~13 ms of each run of ``telemetry``.
"""

from typing import Annotated, Any

import typer

from telemetry_gate.cli import base, completion
from telemetry_gate.cli.base import JsonOption, ProductOption, _age, _gate, _product, app
from telemetry_gate.errors import ExitCode

AgeOption = Annotated[str | None, typer.Option(metavar="AGE", help="An age like 30m, 12h, 7d or 2w.")]


SavedOption = Annotated[bool, typer.Option(
    "--saved", help="Events a product saved itself (Cell Ranger's own copies), not the spool.")]


@app.command(epilog=base.examples(
    "telemetry inspect",
    "telemetry inspect 01JD3K7Q",
    "telemetry inspect --catalog --product cellranger",
    "telemetry inspect --sent --since 7d",
))
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

        saved_cli.inspect(saved_cli.where(ctx.obj), target, _product(product), _age(since), None if show_all else limit,
                          json, sent or rejected or quarantine)
        return
    if sent or rejected:
        _inspect_outcomes(ctx, sent, _product(product), _age(since), None if show_all else limit, json)
        return
    if target is not None and inspection.is_record_path(target):
        from telemetry_gate.cli import saved as saved_cli

        saved_cli.inspect_path(saved_cli.where(ctx.obj), Path(target), json)
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

    saved_cli.pointer(saved_cli.of(gate), _product(product), age)


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
    from telemetry_gate.spool import inspection, outcomes

    gate = _gate(ctx)
    warnings: list[str] = []
    if sent:
        records_view.audit_log(outcomes.read_audit(gate.spool, product, since, limit if json else None, warnings),
                         json, limit)
    else:
        records_view.rejected_table(inspection.rejected(gate.spool, product, since, limit, warnings), json)
    text.warnings(warnings)


@app.command(epilog=base.examples(
    "telemetry purge --older-than 30d --dry-run",
    "telemetry purge --product stripepy --all --yes",
    "telemetry purge --rejected --yes",
))
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
        "--saved", help="Events products saved themselves (Cell Ranger's copies) instead.")] = False,
) -> None:
    """Delete pending records (by product and age) and say how many and how large."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.errors import UsageError
    from telemetry_gate.spool import purge as purging

    gate = _gate(ctx)
    if saved:
        from telemetry_gate.cli import saved as saved_cli

        saved_cli.purge(saved_cli.of(gate), _product(product), _age(older_than, "--older-than"), dry_run, yes,
                        typer.confirm if base.interactive() else None)
        if not (sent or rejected):
            return
    if sent:
        _purge_sent(gate, _product(product), _age(older_than, "--older-than"), dry_run, yes)
        if not rejected:
            return
    chosen = purging.plan(gate.spool, _product(product), _age(older_than, "--older-than"), everything, rejected)
    if chosen.entries and not dry_run and not yes:
        if not base.interactive():
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
        if not base.interactive():
            raise UsageError("purge deletes the audit log: confirm with --yes when there is no terminal")
        if not typer.confirm(f"Delete {found.records} audit entries ({text.human_bytes(found.bytes)})?"):
            raise typer.Exit(int(ExitCode.OK))
    records_view.purged(found if dry_run else purging.sent(gate.spool, product, older_than, False))

