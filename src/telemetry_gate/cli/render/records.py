"""What ``inspect`` and ``purge`` print: pending records, one record in full, the catalogue, audit, rejected."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from telemetry_gate.cli.render.text import (
    _console,
    cell,
    columns,
    escape,
    human_age,
    human_bytes,
    json_stream,
    message,
    print_json,
    wrap,
)


def pending_table(page: Any) -> None:
    if not page.rows:
        sys.stdout.write("No pending records.\n" if not page.total else "No record could be read.\n")
        return
    now = time.time()  # a plain table, not rich's: importing rich.table costs ~20 ms a run
    rows = [(shown.entry.id, shown.record["product"], shown.record["version"], shown.record["event"],
             shown.record["category"], human_age(shown.entry.created, now), human_bytes(shown.size))
            for shown in page.rows]
    sys.stdout.write(columns([[str(c) for c in row] for row in rows],
                             ("ID", "PRODUCT", "VERSION", "EVENT", "CATEGORY", "AGE", "SIZE"), right=(5, 6)))
    footer = f"{page.total} pending ({human_bytes(page.total_bytes)})"
    if page.more:
        footer += f"; showing {len(page.rows)}, {page.more} more: --limit N, --all, or --json for bulk"
    sys.stdout.write(footer + "\n")


def record_in_full(entry: Any, record: dict[str, Any], data: bytes, body: bytes, fmt: str) -> None:
    import json

    sys.stdout.write(escape(json.dumps(record, indent=2, ensure_ascii=False), keep_newlines=True) + "\n")
    sys.stdout.write(f"\nStored in {escape(str(entry.path))} ({len(data)} bytes; control characters "
                     "shown escaped):\n")
    sys.stdout.write(escape(data.decode("utf-8", "replace")) + "\n")
    sys.stdout.write(f"\n'telemetry send' (format {fmt}) would upload this record alone as these "
                     f"exact bytes ({len(body)}, gzip-compressed on the wire):\n")
    sys.stdout.write(escape(body.decode("utf-8", "replace")) + "\n")


def records_from_path(found: Sequence[tuple[str, dict[str, Any], bytes]], as_json: bool) -> None:
    if as_json:
        json_stream(data for _source, _record, data in found)
        return
    if not found:
        sys.stdout.write("No records.\n")
        return
    from telemetry_gate.spool.ids import timestamp

    now = time.time()  # a plain table, as the pending one: folded to the width, no id or path cut
    rows = [[str(record["id"]), str(record["product"]), str(record["version"]), str(record["event"]),
             str(record["category"]), human_age(timestamp(record["id"]) or now, now), human_bytes(len(data)),
             str(source)] for source, record, data in found]
    sys.stdout.write(columns(rows, ("ID", "PRODUCT", "VERSION", "EVENT", "CATEGORY", "AGE", "SIZE", "FILE"),
                             right=(5, 6)))
    if len(found) == 1:
        import json

        sys.stdout.write(escape(json.dumps(found[0][1], indent=2, ensure_ascii=False), keep_newlines=True) + "\n")


def catalogue(manifests: Sequence[Any], as_json: bool, off: dict[str, frozenset[str]] | None = None) -> None:
    """``off``: per product, the fields its downloaded configuration switches off."""
    off = off or {}
    if as_json:
        print_json([
            {"product": m.name, "description": m.description, "source": m.source, "strict": m.strict,
             "fields": [{**f._asdict(), "disabled": f.name in off.get(m.name, ())} for f in m.fields],
             "opt_in": m.opt_in, "privacy_url": m.privacy_url, "retention": m.retention, "contact": m.contact,
             "limits": list(m.limits), "telemetry_docs": m.telemetry_docs or None}
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
        if not manifest.fields:  # a bare table would squeeze the title into its narrow width
            sys.stdout.write(f"{wrap(escape(title))}\n{wrap(f'(no fields declared; {escape(manifest.source)})')}\n")
            sys.stdout.write(_privacy_facts(manifest) + "\n")
            continue
        table = Table(title=cell(title), title_justify="left", box=None, pad_edge=False, header_style="bold")
        switched = off.get(manifest.name, frozenset())
        for name in ("FIELD", "CATEGORY", "DESCRIPTION", "EXAMPLE") + (("STATE",) if switched else ()):
            table.add_column(name)
        for field in manifest.fields:
            state = ("off (downloaded config)" if field.name in switched else "collected",) if switched else ()
            table.add_row(cell(field.name), cell(field.category), cell(field.description), cell(field.example),
                          *state)
        console.print(table)
        strict = "only these fields are kept" if manifest.strict else "other fields are kept too"
        sys.stdout.write(wrap(f"({escape(manifest.source)}; {strict})") + "\n")
        sys.stdout.write(_privacy_facts(manifest) + "\n")


def _privacy_facts(manifest: Any) -> str:
    """Opt-in, privacy page, retention, contact and limits of one manifest, a line each."""
    lines = []
    if manifest.opt_in:
        lines.append(f"opt-in: nothing is collected until 'telemetry enable -p {manifest.name}'")
    for label, value in (("telemetry docs", manifest.telemetry_docs), ("privacy", manifest.privacy_url),
                         ("retention", manifest.retention), ("contact", manifest.contact)):
        if value:
            lines.append(f"{label}: {escape(value)}")
    lines += [f"limit: {escape(limit)}" for limit in manifest.limits]
    return "".join(wrap(line) + "\n" for line in lines)


def purged(done: Any) -> None:
    plural = {"sent": ("audit entry", "audit entries"), "saved": ("saved event", "saved events")}
    one, many = plural.get(done.kind, (f"{done.kind} record", f"{done.kind} records"))
    records = one if done.records == 1 else many
    if done.dry_run:
        message(f"Would delete {done.records} {records} ({human_bytes(done.bytes)}); nothing deleted.")
    else:
        message(f"Deleted {done.records} {records} ({human_bytes(done.bytes)}).")


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
