"""Values the shell completes, found fast: every TAB runs ``telemetry`` once.

Product names come from the manifests, the spool's ``pending/`` directories and the settings
file's ``[products.*]`` tables; record ids from file names (no record file is opened);
vendors from ``<system dir>/<vendor>/telemetry`` and the user's configuration directory.
No network, and nothing here raises: a completion that fails offers nothing.
"""


import os
from collections.abc import Callable, Iterable
from pathlib import Path

import typer

from telemetry_gate.policy.paths import DEFAULT_VENDOR, SYSTEM_DIR_VARIABLE, Paths, resolve_vendor

MAX_IDS = 50


def _quietly(find: Callable[[typer.Context], Iterable[str]]) -> Callable[[typer.Context, str], list[str]]:
    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            return sorted({v for v in find(ctx) if v.startswith(incomplete)})
        except Exception:  # noqa: BLE001 - a broken completion must never break the shell
            return []

    return complete


def _paths(ctx: typer.Context) -> Paths:
    root = ctx.find_root()
    vendor = root.params.get("vendor") if root.params else None
    return Paths.for_vendor(resolve_vendor(vendor))


def _products(ctx: typer.Context) -> Iterable[str]:
    from telemetry_gate.policy import manifests, settings
    from telemetry_gate.spool.store import Spool

    paths = _paths(ctx)
    yield from Spool(paths.spool).products()
    yield from manifests.discover(paths).manifests
    loaded = settings.load(paths.user_settings)
    if loaded is not None:
        yield from loaded.products()


def _record_ids(ctx: typer.Context, prefix: str) -> list[str]:
    from telemetry_gate.spool.store import Spool

    spool = Spool(_paths(ctx).spool)
    product = ctx.params.get("product")
    names = [e.name[:-5] for p in ([product] if product else spool.products()) for e in spool.scan(p)
             if e.name.startswith(prefix)]
    return sorted(names, reverse=True)[:MAX_IDS]


def _vendors(_ctx: typer.Context) -> Iterable[str]:
    yield DEFAULT_VENDOR
    root = Path(os.environ.get(SYSTEM_DIR_VARIABLE) or "/etc")
    user = Path(Paths.for_vendor(DEFAULT_VENDOR).config_dir).parent.parent
    for base in (root, user):
        try:
            with os.scandir(base) as entries:
                for entry in entries:
                    if entry.is_dir() and os.path.isdir(os.path.join(entry.path, "telemetry")):
                        yield entry.name
        except OSError:
            continue


products = _quietly(_products)
vendors = _quietly(_vendors)


def record_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Ids of pending records that start with what was typed (upper-cased: ids are), newest first."""
    try:
        return _record_ids(ctx, incomplete.upper())
    except Exception:  # noqa: BLE001
        return []


__all__ = ["products", "record_ids", "vendors"]
