"""The commands' side of the events a product saved itself (``spool/saved.py``): ``inspect
--saved``, ``inspect PATH`` (our records and the product's copies), the line ``inspect`` ends
with, ``purge --saved`` and ``send --saved``. Parse-level glue only: the domain finds, reads and
sends; render prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from telemetry_gate.errors import InvalidFileError, UsageError
from telemetry_gate.spool import saved as saved_events


class Where(NamedTuple):
    """What the views need: the paths, the manifests and the environment (no settings: ``inspect
    PATH`` works while a settings file is broken)."""

    paths: Any
    catalogue: Any
    environ: Mapping[str, str]


def where(vendor: str | None) -> Where:
    from telemetry_gate.policy import trust
    from telemetry_gate.policy.catalogue import discover
    from telemetry_gate.policy.paths import Paths, resolve_vendor

    paths = Paths.for_vendor(resolve_vendor(vendor))
    trust.check(paths)  # before a manifest is read
    return Where(paths, discover(paths), os.environ)


def of(gate: Any) -> Where:
    return Where(gate.paths, gate.catalogue, gate.policy.environ)


def _declarations(gate: Where, product: str | None = None) -> list[Any]:
    from telemetry_gate.send import release

    return release.declarations(gate.catalogue, product)


def pointer(gate: Where, product: str | None, since: float | None) -> None:
    """After the spool's table: how many events the products saved themselves, and how to see them."""
    from telemetry_gate.cli.render import saved as saved_view

    decls = saved_events.declarations(gate.catalogue)  # a broken manifest is check's to report here
    saved_view.pointer(saved_events.summary(decls, gate.environ, saved_events.root(gate.paths), product,
                                            since))


def inspect_path(gate: Where, path: Path, json: bool) -> None:
    """``inspect PATH``: our records in a file or folder, and the events a product saved there."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import saved as saved_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.spool import inspection

    native = saved_events.in_path(_declarations(gate), gate.environ, path)  # None: not a saved event
    if native is not None and not path.is_dir():
        _show(gate, native, None, json, f"in {path}")
        return
    found, warnings = inspection.from_path(path)
    if native:
        warnings = [w for w in warnings if w != f"no telemetry records in {path}"]
    text.warnings(warnings)
    if found or not native or json:
        records_view.records_from_path(found, json)
    if native and json:
        text.message(f"note: {text.counted(len(native), 'event')} saved by the product itself "
                     f"{'is' if len(native) == 1 else 'are'} in {saved_view.printable(str(path))}; "
                     "add --saved to see them")
    elif native:
        if found:
            saved_view.section("Saved by the product itself (not in the spool):")
        _show(gate, native, None, json, f"in {path}")


def inspect(gate: Where, target: str | None, product: str | None, since: float | None, limit: int | None,
            json: bool, other_view: bool) -> None:
    """``inspect --saved``: events the products saved themselves, where the manifests say or at PATH."""
    from telemetry_gate.spool import inspection

    if other_view:
        raise UsageError("--saved is a view of its own: use it without --sent, --rejected or --quarantine")
    decls = _declarations(gate, product)
    if target is not None:
        if not inspection.is_record_path(target):
            raise UsageError(f"--saved takes a pipestance folder or a saved file, not {target!r}")
        path = Path(target)
        if not path.exists():
            raise UsageError(f"{_printable(str(path))}: no such file or folder")
        _show(gate, saved_events.in_path(decls, gate.environ, path) or [], limit, json, f"in {path}")
        return
    _show(gate, saved_events.scan(decls, gate.environ, product, since), limit, json, "where the manifests say")


def _show(gate: Where, files: list[saved_events.SavedFile], limit: int | None, json: bool, origin: str) -> None:
    """A page of ``files``, each marked held or sent; one file is shown in full (its exact bytes),
    and one that cannot be read exits 3. Held events the product deletes soon are warned about."""
    from telemetry_gate.cli.render import saved as saved_view
    from telemetry_gate.spool import released

    decls = _declarations(gate)
    warnings: list[str] = []
    shown = saved_events.load(decls, files, limit, warnings)
    if len(files) == 1 and not shown:
        problem = warnings[0].removeprefix(f"skipped {files[0].file}: ")
        raise InvalidFileError(Path(_printable(files[0].file)), _printable(problem))
    state = released.load(gate.paths.state_dir)
    sent = [state.find(s.file.file, s.digest) if state.knows(s.file.file) else None for s in shown]
    soon = []
    for event, entry in zip(shown, sent, strict=True):
        spec = saved_events.spec_for(decls, event.file.product)
        left = saved_events.deleted_in(spec, event.file)
        if spec is not None and entry is None and left is not None and left < saved_events.WARN_DAYS * 86400:
            soon.append((event, left, spec.kept_days))
    saved_view.warnings(warnings)
    saved_view.deleted_soon(soon)
    saved_view.events(shown, sent, len(files) - len(warnings), json, origin, full=len(files) == 1)


def purge(gate: Where, product: str | None, older_than: float | None, dry_run: bool, yes: bool,
          ask: Callable[[str], bool] | None) -> None:
    """``purge --saved``: the declared events, by product and age; asks as ``purge`` does
    (``ask``: the question put to the person at a terminal; None without one)."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.spool.purge import Done

    files = saved_events.scan(_declarations(gate, product), gate.environ, product, None, older_than)
    if files and not dry_run and not yes:
        if ask is None:
            raise UsageError("purge deletes the events products saved: confirm with --yes when there is no terminal",
                             f"{text.counted(len(files), 'event')} would go; --dry-run shows them")
        size = text.human_bytes(sum(f.size() for f in files))
        if not ask(f"Delete {text.counted(len(files), 'event')} saved by the products themselves ({size})?"):
            return
    records_view.purged(Done(*saved_events.delete(files, dry_run), dry_run, "saved"))


def release(gate: Any, files: Sequence[str], product: str | None, endpoint: str | None, timeout: float,
            dry_run: bool, yes: bool, json: bool, ask: Callable[[str], bool] | None) -> None:
    """``send --saved [FILE...]``: refuse what a higher layer forbids, show the events, ask, send
    only them (``ask``: the question put to a person at a terminal; None without one)."""
    from telemetry_gate.cli.render import saved as saved_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.send import release as releasing

    choice = releasing.choose(gate, files, product, endpoint)
    saved_view.warnings(choice.warnings)
    releasing.check_allowed(gate, choice.held)  # before anything is shown or asked: nothing connects
    saved_view.passed_over(choice.uploading, choice.already, bool(choice.held))
    if not choice.held:
        if json:
            saved_view.release_report(releasing.Report([], dry_run), choice, json)
        return
    if not json:
        saved_view.to_release(choice.held)
    if not dry_run and not yes:
        if ask is None:
            raise UsageError("send --saved asks before it sends: confirm with --yes when there is no terminal",
                             "the events are shown above; --dry-run sends nothing")
        urls = ", ".join(sorted({h.shown_url for h in choice.held}))
        what = "this event" if len(choice.held) == 1 else f"these {len(choice.held)} events"
        if not ask(f"Send {what} to {urls}?"):
            text.message("Nothing sent; the events stay held.")
            return
    report = releasing.run(gate, choice.held, timeout=timeout, dry_run=dry_run)
    saved_view.release_report(report, choice, json)
    report.raise_for_outcome()


def _printable(text: str) -> str:
    from telemetry_gate.cli.render.saved import printable

    return printable(text)
