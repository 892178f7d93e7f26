"""Everything a person reads: tables, explanations, messages, and ``--json``.

The only module that imports rich, and only inside the functions that need it: ``check``
prints a plain aligned table (rich's import alone would double its start-up time), the
wide views (``inspect``) use rich. Data goes to stdout, messages to stderr. Colour
follows rich's rules: ``NO_COLOR`` turns it off, ``FORCE_COLOR`` on, otherwise only a TTY
whose ``TERM`` is not ``dumb`` gets it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from telemetry_gate.policy.layers import Decision
from telemetry_gate.policy.status import CheckReport

if TYPE_CHECKING:
    from telemetry_gate.policy.switches import SwitchResult

_GREEN, _RED, _DIM, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


def colour_enabled(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, code: str, on: bool) -> str:
    return f"{code}{text}{_RESET}" if on else text


def columns(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
            indent: int = 0, styles: Sequence[str | None] | None = None,
            stream: IO[str] | None = None) -> str:
    """Left-aligned columns, two spaces apart; the last column is not padded."""
    out = stream or sys.stdout
    colour = colour_enabled(out)
    table = ([list(header)] if header else []) + [list(r) for r in rows]
    if not table:
        return ""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = []
        for i, cell in enumerate(row):
            text = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            if header and n == 0:
                text = _paint(text, _BOLD, colour)
            elif styles and styles[i] == "state":
                text = _paint(text, _GREEN if cell.strip() == "enabled" else _RED, colour)
            cells.append(text)
        lines.append(" " * indent + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _state(decision: Decision) -> str:
    return "enabled" if decision.enabled else "disabled"


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def message(text: str) -> None:
    """A line for the person at the terminal, on stderr."""
    sys.stderr.write(text + "\n")


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_age(epoch: float, now: float | None = None) -> str:
    seconds = max(0, int((now or time.time()) - epoch))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# -- check ---------------------------------------------------------------------------

def check(report: CheckReport) -> None:
    rows: list[list[str]] = []
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    for scope, decisions in scopes:
        for n, (facet, decision) in enumerate(decisions.items()):
            rows.append([scope if n == 0 else "", facet, _state(decision), decision.origin_with_layer])
    out = columns(rows, header=("PRODUCT", "FACET", "STATE", "ORIGIN"), styles=(None, None, "state", None))
    sys.stdout.write(out)
    sys.stdout.write("\n" + spool_line(report) + "\n")
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")


def spool_line(report: CheckReport) -> str:
    s = report.spool
    if not s.pending:
        text = "Spool: nothing pending"
    else:
        oldest = f", oldest {human_age(s.oldest)} old" if s.oldest is not None else ""
        text = f"Spool: {s.pending} pending ({human_bytes(s.bytes)}){oldest}"
    text += f", {s.dropped} dropped by the spool bound" if s.dropped else ""
    return text + ("; 'telemetry inspect' shows them" if s.pending else "")


def explain(report: CheckReport) -> None:
    scopes: list[tuple[str, dict[str, Decision]]] = [(f"{report.vendor} (all products)", report.facets)]
    scopes += list(report.products.items())
    colour = colour_enabled(sys.stdout)
    for scope, decisions in scopes:
        for facet, decision in decisions.items():
            head = f"{facet} for {scope}: {_state(decision)}, decided by {decision.origin_with_layer}"
            sys.stdout.write(_paint(head, _BOLD, colour) + "\n")
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
            sys.stdout.write(columns(rows, indent=2))
            sys.stdout.write("\n")
    sys.stdout.write(spool_line(report) + "\n")
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")


# -- enable / disable ----------------------------------------------------------------

def switched(result: SwitchResult) -> None:
    verb = "Enabled" if result.enabled else "Disabled"
    what = "all facets" if len(result.facets) > 1 else result.facets[0]
    scope = f" for {result.product}" if result.product else ""
    message(f"{verb} {what}{scope}: {'; '.join(result.written)}.")
    for decision in result.overruled:
        who = f"{decision.product} " if decision.product else ""
        stays = "enabled" if decision.enabled else "disabled"
        facet = decision.facet if who else decision.facet.capitalize()
        if decision.layer == "dependency":
            message(f"Saved. {who}{facet} stays disabled because collection is disabled.")
        else:
            message(f"Saved. {who}{facet} stays {stays}: {decision.origin_with_layer} takes precedence.")
    if not result.enabled and result.pending:
        records = "record is" if result.pending == 1 else "records are"
        message(f"{result.pending} {records} still pending; 'telemetry purge' deletes them.")


# -- inspect -------------------------------------------------------------------------

def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def warnings(lines: Sequence[str]) -> None:
    for line in lines[:20]:
        message(f"warning: {line}")
    if len(lines) > 20:
        message(f"warning: ... and {len(lines) - 20} more")
    if lines:
        message("  malformed files are left in place; 'telemetry inspect --quarantine' moves them aside")


def pending_table(page: Any) -> None:
    if not page.rows:
        sys.stdout.write("No pending records.\n" if not page.total else "No record could be read.\n")
        return
    from rich.table import Table

    now = time.time()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, justify in (("ID", "left"), ("PRODUCT", "left"), ("VERSION", "left"), ("EVENT", "left"),
                          ("CATEGORY", "left"), ("AGE", "right"), ("SIZE", "right")):
        table.add_column(name, justify=justify, no_wrap=name in ("ID", "AGE", "SIZE"))  # type: ignore[arg-type]
    for shown in page.rows:
        record = shown.record
        table.add_row(shown.entry.id, record["product"], str(record["version"]), str(record["event"]),
                      str(record["category"]), human_age(shown.entry.created, now), human_bytes(shown.size))
    _console().print(table)
    footer = f"{page.total} pending ({human_bytes(page.total_bytes)})"
    if page.more:
        footer += f"; showing {len(page.rows)}, {page.more} more: --limit N, --all, or --json for bulk"
    sys.stdout.write(footer + "\n")


def json_stream(chunks: Any) -> None:
    """A JSON array of records exactly as stored, written as it is read (never all in memory)."""
    out = sys.stdout
    out.write("[")
    first = True
    for data in chunks:
        out.write("\n" if first else ",\n")
        out.write(data.decode("utf-8"))
        first = False
    out.write("\n]\n" if not first else "]\n")


def record_in_full(entry: Any, record: dict[str, Any], data: bytes, body: bytes, fmt: str) -> None:
    import json

    sys.stdout.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(f"\nStored in {entry.path} ({len(data)} bytes):\n")
    sys.stdout.write(data.decode("utf-8") + "\n")
    sys.stdout.write(f"\n'telemetry send' (format {fmt}) would upload this record alone as these "
                     f"exact bytes ({len(body)}, gzip-compressed on the wire):\n")
    sys.stdout.write(body.decode("utf-8") + "\n")


def records_from_path(found: Sequence[tuple[str, dict[str, Any], bytes]], as_json: bool) -> None:
    if as_json:
        json_stream(data for _source, _record, data in found)
        return
    if not found:
        sys.stdout.write("No records.\n")
        return
    from rich.table import Table

    now = time.time()
    from telemetry_gate.spool.ids import timestamp

    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("ID", "PRODUCT", "VERSION", "EVENT", "CATEGORY", "AGE", "SIZE", "FILE"):
        table.add_column(name, no_wrap=name in ("ID", "AGE", "SIZE"))
    for source, record, data in found:
        created = timestamp(record["id"]) or now
        table.add_row(record["id"], str(record["product"]), str(record["version"]), str(record["event"]),
                      str(record["category"]), human_age(created, now), human_bytes(len(data)), source)
    _console().print(table)
    if len(found) == 1:
        import json

        sys.stdout.write(json.dumps(found[0][1], indent=2, ensure_ascii=False) + "\n")


def catalogue(manifests: Sequence[Any], as_json: bool, off: dict[str, frozenset[str]] | None = None) -> None:
    """``off``: per product, the fields its downloaded configuration switches off."""
    off = off or {}
    if as_json:
        print_json([
            {"product": m.name, "description": m.description, "source": m.source, "strict": m.strict,
             "fields": [{**f._asdict(), "disabled": f.name in off.get(m.name, ())} for f in m.fields]}
            for m in manifests
        ])
        return
    if not manifests:
        sys.stdout.write("No product manifest is installed.\n")
        return
    from rich.table import Table

    console = _console()
    for manifest in manifests:
        title = f"{manifest.name}: {manifest.description}" if manifest.description else manifest.name
        table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
        switched = off.get(manifest.name, frozenset())
        for name in ("FIELD", "CATEGORY", "DESCRIPTION", "EXAMPLE") + (("STATE",) if switched else ()):
            table.add_column(name)
        for field in manifest.fields:
            state = ("off (downloaded config)" if field.name in switched else "collected",) if switched else ()
            table.add_row(field.name, field.category, field.description, field.example, *state)
        console.print(table)
        strict = "only these fields are kept" if manifest.strict else "other fields are kept too"
        sys.stdout.write(f"({manifest.source}; {strict})\n\n")


def purged(done: Any) -> None:
    one, many = {"sent": ("audit entry", "audit entries")}.get(done.kind, (f"{done.kind} record",
                                                                           f"{done.kind} records"))
    records = one if done.records == 1 else many
    if done.dry_run:
        message(f"Would delete {done.records} {records} ({human_bytes(done.bytes)}); nothing deleted.")
    else:
        message(f"Deleted {done.records} {records} ({human_bytes(done.bytes)}).")


# -- send, update, and what they left behind ----------------------------------------

def audit_log(entries: Any, as_json: bool, limit: int | None) -> None:
    """``inspect --sent``: the audit entries, newest first (a page; ``--json`` streams them)."""
    import json

    if as_json:
        json_stream(json.dumps(e, ensure_ascii=False).encode("utf-8") for e in entries)
        return
    rows: list[list[str]] = []
    more = False
    for entry in entries:
        if limit is not None and len(rows) >= limit:
            more = True
            break
        rows.append([str(entry.get("sent_at", "")), str(entry.get("id", "")), str(entry.get("product", "")),
                     str(entry.get("status", "")), str(entry.get("endpoint", ""))])
    if not rows:
        sys.stdout.write("Nothing has been sent (or the audit log was purged).\n")
        return
    sys.stdout.write(columns(rows, header=("SENT AT", "ID", "PRODUCT", "STATUS", "ENDPOINT")))
    if more:
        sys.stdout.write(f"showing the newest {len(rows)}: --limit N, --all, or --json for bulk\n")


def rejected_table(page: Any, as_json: bool) -> None:
    """``inspect --rejected``: each row of ``page`` carries ``answer`` (status, answer, ...)."""
    import json

    if as_json:
        json_stream(json.dumps(record, ensure_ascii=False).encode("utf-8") for record in page)
        return
    if not page:
        sys.stdout.write("No rejected records.\n")
        return
    rows = [[r["id"], r["product"], str(r["event"]), str(r.get("rejected_status")),
             str(r.get("rejected_at") or ""), " ".join(str(r.get("rejected_answer") or "").split())[:60]]
            for r in page]
    sys.stdout.write(columns(rows, header=("ID", "PRODUCT", "EVENT", "STATUS", "REJECTED AT", "ANSWER")))


def counted(n: int, word: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def payload_printer(as_json: bool) -> Any:
    """For ``send --dry-run``: each request body exactly as it would be posted (before gzip),
    one per line on stdout; with ``--json``, one object per line with the body embedded as is."""
    import json

    def show(product: str, url: str, body: bytes, count: int) -> None:
        out = sys.stdout
        if as_json:
            head = json.dumps({"product": product, "url": url, "records": count})[:-1]
            out.write(head + ', "body": ' + body.decode("utf-8") + "}\n")
        else:
            message(f"POST {url}: {counted(count, product + ' record')}, {human_bytes(len(body))} before gzip")
            out.write(body.decode("utf-8") + "\n")
        out.flush()

    return show


class SendProgress:
    """A rich progress bar on stderr, only on a terminal and only for more than one batch."""

    def __init__(self, batch: int = 500) -> None:
        self.batch = batch
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.on = bool(getattr(sys.stderr, "isatty", lambda: False)())

    def __enter__(self) -> SendProgress:
        return self

    def __call__(self, product: str, done: int, total: int) -> None:
        if not self.on or total <= self.batch:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
        if product not in self.tasks:
            self.tasks[product] = self.bar.add_task(product, total=total)
        self.bar.update(self.tasks[product], completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def send_report(report: Any, as_json: bool) -> None:
    """One line per product (sent, rejected, still pending), on stderr; ``--json`` on stdout."""
    if as_json and not report.dry_run:
        print_json(report.as_json())
        return
    if report.recovered:
        message(f"Returned {counted(report.recovered, 'record')} left by a sender that is gone to pending.")
    if not report.results:
        message("Nothing to send.")
    for r in report.results:
        for note in r.notes:
            message(f"warning: {r.product}: {note}")
        if r.disabled_by:
            message(f"{r.product}: not sent, upload is disabled by {r.disabled_by}; {r.pending} pending")
        elif r.error:
            message(f"{r.product}: not sent: {r.error}; {r.pending} pending")
        elif report.dry_run:
            message(f"{r.product}: would send {counted(r.sent, 'record')} in "
                    f"{counted(r.requests, 'request')} to {r.url} ({r.format}); nothing sent")
        elif r.url is None:
            message(f"{r.product}: nothing pending")
        else:
            statuses = ", ".join(f"HTTP {k}" for k in sorted(r.statuses))
            rejected = f"{r.rejected} rejected ({statuses}; 'telemetry inspect --rejected')" if r.rejected \
                else "0 rejected"
            line = f"{r.product}: {r.sent} sent, {rejected}, {r.pending} still pending -> {r.url}"
            message(line + (f" ({r.problem})" if r.problem and r.pending else ""))


def updated(results: Sequence[Any]) -> None:
    if not results:
        message("No product manifest declares a config_url; nothing to update.")
    for u in results:
        text = {
            "updated": f"{u.product}: configuration saved to {u.path}",
            "unchanged": f"{u.product}: configuration unchanged ({u.path})",
            "disabled": f"{u.product}: not updated, update is disabled by {u.detail}",
        }.get(u.state, f"{u.product}: not updated: {u.detail}")
        message(text)
