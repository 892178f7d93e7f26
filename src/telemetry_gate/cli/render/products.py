"""What ``telemetry products`` and ``telemetry shell-init`` print."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from telemetry_gate.cli.render.text import columns, counted, escape, message, print_json_object

if TYPE_CHECKING:
    from telemetry_gate.native.products import Listing



def shell_init(line: str) -> None:
    """Only the line on stdout: ``eval "$(telemetry shell-init bash)"`` runs it."""
    sys.stdout.write(line + "\n")


def not_synced(problem: str) -> None:
    message(f"warning: {escape(problem)}")
    message("  the line below loads the generated file as it is")


def products(listing: Listing, as_json: bool) -> None:
    from telemetry_gate.native.products import as_json as listing_json

    if as_json:
        print_json_object(listing_json(listing))
    else:
        rows: list[list[str]] = []
        for product in listing.products:
            first = [escape(product.name), "yes" if product.installed else "no"]
            if not product.switches:
                rows.append([*first, "-", "(no switch of its own)", "", ""])
            for n, shown in enumerate(product.switches):
                lead = first if n == 0 else ["", ""]
                rows.append([*lead, shown.switch.kind, escape(shown.where), shown.state, escape(shown.switch.source)])
        if rows:
            sys.stdout.write(columns(rows, header=("PRODUCT", "INSTALLED", "KIND", "SWITCH", "STATE", "SOURCE")))
        installed = sum(p.installed for p in listing.products)
        sys.stdout.write(f"\n{counted(len(listing.products), 'product')}, {installed} installed; "
                         "'telemetry disable' turns their switches off, 'telemetry check' shows what they read\n")
        for product in listing.products:
            for note in product.version_notes:
                sys.stdout.write(f"note: {escape(note)}\n")
    for error in listing.errors:
        message(f"warning: manifest skipped: {escape(error)}")
