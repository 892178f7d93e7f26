"""What ``send`` and ``update`` print: dry-run payloads, the progress bar, one line per product."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from telemetry_gate.cli.render.text import counted, escape, human_bytes, message, print_json, print_json_object
from telemetry_gate.vocabulary import JSON_VERSION


def payload_printer(as_json: bool) -> Any:
    """For ``send --dry-run``: each request body exactly as it would be posted (before gzip),
    one per line on stdout; with ``--json``, one object per line with the body embedded as is."""
    import json

    def show(product: str, url: str, body: bytes, count: int) -> None:
        out = sys.stdout
        if as_json:
            head = json.dumps({"json_version": JSON_VERSION, "product": product, "url": url, "records": count})[:-1]
            out.write(head + ', "body": ' + body.decode("utf-8") + "}\n")
        else:
            message(f"POST {url}: {counted(count, product + ' record')}, {human_bytes(len(body))} before gzip")
            out.write(escape(body.decode("utf-8", "replace")) + "\n")
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
        print_json_object(report.as_json())
        return
    if report.recovered:
        message(f"Returned {counted(report.recovered, 'record')} left by a sender that is gone to pending.")
    if not report.results:
        message("Nothing to send.")
    waiting = report.source  # "rejected" for send --rejected: what is not sent stays there
    for r in report.results:
        for note in r.notes:
            message(f"warning: {r.product}: {note}")
        if r.no_endpoint:
            continue  # the closing error names every such product and how to give an endpoint
        if r.disabled_by:
            message(f"{r.product}: not sent, upload is disabled by {r.disabled_by}; {r.pending} {waiting}")
        elif r.error:
            message(f"{r.product}: not sent: {r.error}; {r.pending} {waiting}")
        elif report.dry_run:
            message(f"{r.product}: would send {counted(r.sent, 'record')} in "
                    f"{counted(r.requests, 'request')} to {r.url} ({r.format}); nothing sent")
        elif r.url is None:
            message(f"{r.product}: nothing pending")
        else:
            statuses = ", ".join(f"HTTP {k}" for k in sorted(r.statuses))
            rejected = f"{r.rejected} rejected ({statuses}; 'telemetry inspect --rejected')" if r.rejected \
                else "0 rejected"
            line = f"{r.product}: {r.sent} sent, {rejected}, {r.pending} still {waiting} -> {r.url}"
            message(line + (f" ({r.problem})" if r.problem and r.pending else ""))


def updated(results: Sequence[Any], as_json: bool = False) -> None:
    """One line per product and, for a changed configuration, what it turns off or back on."""
    if as_json:
        print_json([u.as_json() for u in results])
        return
    if not results:
        message("No product manifest declares a config_url; nothing to update.")
    for u in results:
        saved = f"would be saved to {u.path}; nothing changed (--dry-run)" if u.dry_run else f"saved to {u.path}"
        text = {
            "updated": f"{u.product}: configuration {saved}",
            "unchanged": f"{u.product}: configuration unchanged ({u.path})",
            "disabled": f"{u.product}: not updated, update is disabled by {u.detail}",
        }.get(u.state, f"{u.product}: not updated: {u.detail}")
        message(text)
        if u.state != "updated":
            continue
        verb = "would turn" if u.dry_run else "turns"
        if u.turned_off:
            message(f"  {verb} off (no longer collected): {escape(', '.join(u.turned_off))}")
        if u.turned_on:
            message(f"  {verb} back on (collected again): {escape(', '.join(u.turned_on))}")
        if not u.turned_off and not u.turned_on:
            message("  no field is turned off or back on")
        if u.changed:
            message(f"  other keys changed: {escape(', '.join(u.changed))}")
