"""What ``check`` and ``enable``/``disable`` print: the state table, the explained chain, the switch result."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from telemetry_gate.cli.render.text import (
    _BOLD,
    _paint,
    _state,
    colour_enabled,
    columns,
    escape,
    human_age,
    human_bytes,
    message,
    wrap,
)

if TYPE_CHECKING:
    from telemetry_gate.native.switching import SwitchResult
    from telemetry_gate.policy.layers import Decision
    from telemetry_gate.policy.status import CheckReport


def check(report: CheckReport) -> None:
    rows: list[list[str]] = []
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    for scope, decisions in scopes:
        for n, (facet, decision) in enumerate(decisions.items()):
            rows.append([scope if n == 0 else "", facet, _state(decision), decision.origin_with_layer])
    out = columns(rows, header=("PRODUCT", "FACET", "STATE", "ORIGIN"), styles=(None, None, "state", None))
    sys.stdout.write(out)
    sys.stdout.write("\n")
    _prose(report)


def _prose(report: CheckReport) -> None:
    """The spool line, drift and notes, each wrapped to the terminal (ids and paths whole)."""
    sys.stdout.write(wrap(escape(spool_line(report))) + "\n")
    for product, (count, refused) in report.held.items():
        events = "1 event" if count == 1 else f"{count} events"
        then = (f"releasing them is refused: upload is disabled by {refused}" if refused
                else f"'telemetry send --saved -p {product}' shows and releases them")
        sys.stdout.write(wrap(f"Held: {escape(product)} saved {events} it did not upload; {escape(then)}") + "\n")
    for line in report.drift.values():
        sys.stdout.write(wrap(f"drift: {escape(line)}") + "\n")
    for note in report.notes:
        sys.stdout.write(wrap(f"note: {escape(note)}") + "\n")


def spool_line(report: CheckReport) -> str:
    s = report.spool
    if s.unreadable:
        return f"Spool: unknown ({s.unreadable})"
    if not s.pending:
        text = "Spool: nothing pending"
    else:
        oldest = f", oldest {human_age(s.oldest)} old" if s.oldest is not None else ""
        text = f"Spool: {s.pending} pending ({human_bytes(s.bytes)}){oldest}"
    text += f", {s.dropped} dropped by the spool bound" if s.dropped else ""
    text += ("; 'telemetry inspect' shows them" if s.pending else "")
    if s.rejected:
        text += f"; {s.rejected} rejected by a collector ('telemetry inspect --rejected', 'telemetry send --rejected')"
    return text


def explain(report: CheckReport, all_layers: bool = False) -> None:
    """Each facet's decision and the layers that speak about it, the winner marked (a facet
    only the built-in default speaks about is its heading alone); ``all_layers``: every layer
    of the chain, the silent ones too, as ``pip config debug`` lists every file."""
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    colour = colour_enabled(sys.stdout)
    hidden = 0
    for scope, decisions in scopes:
        for facet, decision in decisions.items():
            head = f"{facet} for {scope}: {_state(decision)}, decided by {decision.origin_with_layer}"
            sys.stdout.write(_paint(wrap(escape(head)), _BOLD, colour) + "\n")
            rows = _chain_rows(decision)
            speaking = [r for r in rows if r[3] != "-"]
            hidden += len(rows) - len(speaking)
            if not all_layers:
                rows = speaking if len(speaking) > 1 else []  # the default alone: the heading says it
            sys.stdout.write(columns(rows, indent=2))
            if all_layers:
                sys.stdout.write("\n")
        if not all_layers:
            sys.stdout.write("\n")
    if hidden and not all_layers:
        sys.stdout.write(wrap("Layers that say nothing are not shown: 'telemetry check --explain --all-layers' "
                              "lists every layer.") + "\n")
    _prose(report)


def _chain_rows(decision: Decision) -> list[list[str]]:
    """Rank, layer, source, what it says, and the mark of the first layer that speaks."""
    winner_seen = False
    rows = []
    for say in decision.chain:
        mark = ""
        if say.verdict is not None and not winner_seen:
            winner_seen = True
            mark = "<- wins" if decision.layer != "dependency" else "<- would win"
        rows.append([str(say.rank), say.layer, say.source, say.words, mark])
    if decision.layer == "dependency":
        rows.append(["", "dependency", "collection is disabled", "disables", "<- wins"])
    return rows


def switched(result: SwitchResult) -> None:
    verb = "Enabled" if result.enabled else "Disabled"
    if result.dry_run:
        verb = f"Dry run, nothing written: would {verb.lower()[:-1]}"
    what = "all facets" if len(result.facets) > 1 else result.facets[0]
    scope = f" for {result.product}" if result.product else ""
    message(f"{verb} {what}{scope}: {'; '.join(result.written)}.")
    for change in result.native:
        message(escape(change.line))
    for line in (*result.native_notes, *result.environment):
        message(escape(line))
    for decision in () if result.dry_run else result.overruled:
        who = f"{decision.product} " if decision.product else ""
        stays = "enabled" if decision.enabled else "disabled"
        facet = decision.facet if who else decision.facet.capitalize()
        if decision.layer == "dependency":
            message(f"Saved. {who}{facet} stays disabled because collection is disabled.")
        elif decision.layer == "product default":
            message(f"Saved. {who}{facet} stays disabled: {decision.product} is opt-in; "
                    f"'telemetry enable -p {decision.product}' turns it on.")
        else:
            message(f"Saved. {who}{facet} stays {stays}: {decision.origin_with_layer} takes precedence.")
    if not result.enabled and result.pending:
        records = "record is" if result.pending == 1 else "records are"
        message(f"{result.pending} {records} still pending; 'telemetry purge' deletes them.")


def history(entries: list[dict[str, Any]], flags: list[dict[str, Any]] | None = None) -> None:
    """``check --history``: the system flags in force now (since when, whose), then one line
    per change, newest first."""
    for flag in flags or ():
        sys.stdout.write(f"Now: {escape(flag['path'])} exists since {flag['since']} (owner {flag['owner']}, "
                         f"uid {flag['uid']}): system policy for every user\n")
    if flags:
        sys.stdout.write("\n")
    if not entries:
        sys.stdout.write("No consent change is recorded yet ('telemetry enable' / 'disable' record them).\n")
        return
    rows = []
    for e in entries:
        who = f"{e.get('user')} (uid {e.get('uid')})"
        if e.get("sudo_user"):
            who += f" via sudo by {e['sudo_user']}"
        change = f"{e.get('action')} {e.get('facet')}"
        own = e.get("native") or []
        if own:  # the products' own switches written (--json lists them)
            change += f" (+{len(own)} own switch{'es' if len(own) != 1 else ''})"
        states = "; ".join(
            f"{facet} {_word(e.get('before', {}).get(facet))} -> {_word(after)}"
            for facet, after in (e.get("after") or {}).items())
        rows.append([str(e.get("time")), escape(who), str(e.get("scope")), change,
                     escape(str(e.get("product") or "all products")), escape(states)])
    sys.stdout.write(columns(rows, header=("TIME", "WHO", "SCOPE", "CHANGE", "PRODUCT", "EFFECTIVE STATE")))


def _word(state: Any) -> str:
    if not isinstance(state, dict) or not isinstance(state.get("enabled"), bool):
        return "?"
    return "enabled" if state["enabled"] else "disabled"
