"""Who decides: ``check``, ``enable``, ``disable``, ``products`` and ``shell-init``.

No ``from __future__ import annotations`` here: Typer reads every command's annotations at
start-up, and evaluating them from strings cost ~13 ms of each run of ``telemetry``.
"""

import enum
from typing import Annotated

import typer

from telemetry_gate.cli.base import (
    Facet,
    FacetOrAll,
    JsonOption,
    ProductOption,
    _gate,
    _product,
    app,
    examples,
)
from telemetry_gate.errors import ExitCode, TelemetryError


@app.command(epilog=examples(
    "telemetry check",
    'telemetry check upload --quiet && echo "upload is on"',
    "telemetry check --explain --product cellranger",
    "telemetry check --history",
))
def check(
    ctx: typer.Context,
    facet: Annotated[Facet | None, typer.Argument(help="Only this facet.")] = None,
    product: ProductOption = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show the layers of policy that speak about each facet and which one decided.")] = False,
    all_layers: Annotated[bool, typer.Option(
        "--all-layers", help="With --explain: every layer, the silent ones too (implies --explain).")] = False,
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
    gate = _gate(ctx, lazy=True, product=product)  # the product's name is checked below, as before
    facets = (facet.value,) if facet else FACETS
    report = status.check(gate, facets, _product(product))
    if quiet:
        decision = (report.products[product] if product else report.facets)[facets[0]]
        raise typer.Exit(int(ExitCode.OK if decision.enabled else ExitCode.DISABLED))
    from telemetry_gate.policy.own.detect import exported_by_us

    if exported_by_us(gate.policy.environ):
        from telemetry_gate.native import environment  # only in a shell the generated files set up

        line = environment.stale(gate)
        if line:
            report.notes.append(line)
    from telemetry_gate.cli.render import status as status_view
    from telemetry_gate.cli.render import text

    explain = explain or all_layers
    if json:
        text.print_json_object(report.as_json(explain=explain))
    elif explain:
        status_view.explain(report, all_layers)
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
            dry_run: bool, force: bool) -> None:
    from telemetry_gate.cli.render import status as status_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.native import switching

    result, problems = switching.switch_and_record(_gate(ctx), enable, facet.value, _product(product), system,
                                                   dry_run, force)
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


ForceOption = Annotated[bool, typer.Option(
    "--force", help="With --product: save a product nothing here knows (not catalogued, installed, recorded "
                    "or configured); without it such a name is refused as a likely typo.")]


@app.command(epilog=examples(
    "telemetry enable upload --product stripepy",
    "telemetry enable --dry-run",
    "sudo telemetry enable update --system",
))
def enable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
) -> None:
    """Turn telemetry (or one facet) on in your settings, or remove a system flag."""
    _switch(ctx, True, facet, product, system, dry_run, force)


@app.command(epilog=examples(
    "telemetry disable",
    "telemetry disable upload --product cellranger",
    "sudo telemetry disable upload --system",
))
def disable(
    ctx: typer.Context,
    facet: FacetOrAllArgument = FacetOrAll.all,
    product: ProductOption = None,
    system: SystemOption = False,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
) -> None:
    """Turn telemetry (or one facet) off in your settings, or create a system flag."""
    _switch(ctx, False, facet, product, system, dry_run, force)


@app.command(epilog=examples(
    "telemetry products",
    "telemetry products --json > products.json",
))
def products(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the catalogue: each product, whether it is installed, its own switches and their state."""
    from telemetry_gate.cli.render import products as products_view
    from telemetry_gate.native import products as listing

    products_view.products(listing.listing(_gate(ctx)), json)


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@app.command("shell-init", epilog=examples(
    "telemetry shell-init bash >> ~/.bashrc",
    "telemetry shell-init zsh >> ~/.zshrc",
    "telemetry shell-init fish >> ~/.config/fish/config.fish",
))
def shell_init(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print the line for your shell's rc file: new shells get the products' own off-switches."""
    from telemetry_gate.cli.render import products as products_view
    from telemetry_gate.native import environment, switching
    from telemetry_gate.policy.paths import Paths, resolve_vendor

    paths = Paths.for_vendor(resolve_vendor(ctx.obj))
    try:  # the generated file the line loads: current, so DO_NOT_TRACK works before any disable
        switching.sync_environment(_gate(ctx))
    except TelemetryError as exc:  # a broken settings file must not cost the user the line
        products_view.not_synced(exc.message)
    products_view.shell_init(environment.shell_init(paths, shell.value))

