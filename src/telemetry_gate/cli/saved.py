"""The commands' side of the events a product saved itself (``spool/saved.py``): ``inspect
--saved``, ``inspect PATH`` (our records and the product's copies), the line ``inspect`` ends
with, and ``purge --saved``. Parse-level glue only: the domain finds and reads, render prints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from telemetry_gate.errors import InvalidFileError, UsageError
from telemetry_gate.spool import saved as saved_events


def pointer(paths: Any, product: str | None, since: float | None) -> None:
    """After the spool's table: how many events the products saved themselves, and how to see them."""
    from telemetry_gate.cli.render import saved as saved_view

    saved_view.pointer(saved_events.summary(saved_events.root(paths), product, since))


def inspect_path(path: Path, json: bool) -> None:
    """``inspect PATH``: our records in a file or folder, and the events a product saved there."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import saved as saved_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.spool import inspection

    native = saved_events.in_path(path)  # None: a file that is not a saved event
    if native is not None and not path.is_dir():
        _show(native, None, json, f"in {path}")
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
        _show(native, None, json, f"in {path}")


def inspect(paths: Any, target: str | None, product: str | None, since: float | None, limit: int | None,
            json: bool, other_view: bool) -> None:
    """``inspect --saved``: events the products saved themselves, under the cache or at PATH."""
    from telemetry_gate.policy.paths import display
    from telemetry_gate.spool import inspection

    if other_view:
        raise UsageError("--saved is a view of its own: use it without --sent, --rejected or --quarantine")
    if target is not None:
        if not inspection.is_record_path(target):
            raise UsageError(f"--saved takes a pipestance folder or a saved file, not {target!r}")
        path = Path(target)
        if not path.exists():
            raise UsageError(f"{_printable(str(path))}: no such file or folder")
        _show(saved_events.in_path(path) or [], limit, json, f"in {path}")
        return
    root = saved_events.root(paths)
    _show(saved_events.scan(root, product, since), limit, json, f"under {display(root)}")


def _show(files: list[saved_events.SavedFile], limit: int | None, json: bool, origin: str) -> None:
    """A page of ``files``; one file is shown in full, and one that cannot be read exits 3."""
    from telemetry_gate.cli.render import saved as saved_view

    warnings: list[str] = []
    shown = saved_events.load(files, limit, warnings)
    if len(files) == 1 and not shown:
        problem = warnings[0].removeprefix(f"skipped {files[0].file}: ")
        raise InvalidFileError(Path(_printable(files[0].file)), _printable(problem))
    saved_view.warnings(warnings)
    saved_view.events(shown, len(files) - len(warnings), json, origin, full=len(files) == 1)


def purge(paths: Any, product: str | None, older_than: float | None, dry_run: bool, yes: bool,
          ask: Callable[[str], bool] | None) -> None:
    """``purge --saved``: the events under the cache, by product and age; asks as ``purge`` does
    (``ask``: the question put to the person at a terminal; None without one)."""
    from telemetry_gate.cli.render import records as records_view
    from telemetry_gate.cli.render import text
    from telemetry_gate.policy.paths import display
    from telemetry_gate.spool.purge import Done

    root = saved_events.root(paths)
    files = saved_events.scan(root, product, None, older_than)
    if files and not dry_run and not yes:
        if ask is None:
            raise UsageError("purge deletes the events products saved: confirm with --yes when there is no terminal",
                             f"{text.counted(len(files), 'event')} would go; --dry-run shows them")
        size = text.human_bytes(sum(f.size() for f in files))
        if not ask(f"Delete {text.counted(len(files), 'event')} saved by the products themselves "
                             f"({size}) under {display(root)}?"):
            return
    records_view.purged(Done(*saved_events.delete(files, dry_run), dry_run, "saved"))


def _printable(text: str) -> str:
    from telemetry_gate.cli.render.saved import printable

    return printable(text)
