"""Values the shell completes, found fast: every TAB runs ``telemetry`` once.

Product names come from the shipped catalogue (its file names: ``catalog/<product>.toml``, no
TOML parsed), the manifests in ``products.d/`` and entry points, the spool's ``pending/``
directories and the settings file's ``[products.*]`` tables; record ids from file names (no
record file is opened); vendors from ``<system dir>/<vendor>/telemetry`` and the user's
configuration directory. No network, and nothing here raises: a source that fails offers
nothing, and the others still do.

The scripts a shell loads (``completions/``, ``telemetry completion SHELL``) are Typer's own
(what ``_TELEMETRY_COMPLETE=source_<shell> telemetry`` prints), made to work where they are
installed: see ``script``.
"""

import enum
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from telemetry_gate.policy.paths import DEFAULT_VENDOR, SYSTEM_DIR_VARIABLE, Paths, is_name, resolve_vendor

MAX_IDS = 50
CATALOGUE = Path(__file__).resolve().parent.parent / "catalog"  # the shipped manifests, <product>.toml


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
    paths = _paths(ctx)
    for source in (_catalogue, _spooled, _installed_manifests, _configured):
        try:
            yield from list(source(paths))
        except Exception:  # noqa: BLE001 - one broken source must not hide the others
            continue


def _catalogue(_paths: Paths) -> Iterable[str]:
    """The shipped catalogue from its file names: parsing its ~26 files would cost ~7 ms a TAB."""
    for name in os.listdir(CATALOGUE):
        if name.endswith(".toml") and is_name(name[:-5]):
            yield name[:-5]


def _spooled(paths: Paths) -> Iterable[str]:
    from telemetry_gate.spool.store import Spool

    return Spool(paths.spool).products()


def _installed_manifests(paths: Paths) -> Iterable[str]:
    """``products.d/`` (a file's name need not be its product's) and, when a distribution
    declares the group, entry points."""
    from telemetry_gate.policy import catalogue, manifests

    for directory in paths.manifest_dirs:
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".toml"))
        except OSError:
            continue
        for name in names:
            try:
                yield manifests.parse((directory / name).read_bytes(), str(directory / name)).name
            except Exception:  # noqa: BLE001
                continue
    if catalogue.group_declared():  # rare; only then is importlib.metadata paid for
        yield from catalogue.discover(paths).manifests


def _configured(paths: Paths) -> Iterable[str]:
    from telemetry_gate.policy import settings

    loaded = settings.load(paths.user_settings)
    return loaded.products() if loaded is not None else ()


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


# -- the scripts a shell loads -----------------------------------------------------------------

PROG = "telemetry"
COMPLETE_VAR = "_TELEMETRY_COMPLETE"


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


# zsh autoloads a file of its fpath whose first line is `#compdef telemetry` as the body of the
# function `_telemetry`, run at the first TAB. Typer's script then only defines its function and
# registers it (compdef) for the next TAB: the first TAB rang the bell. Autoloaded, it now
# completes at once too; sourced or eval'd, it registers only. (Calling the function only when
# autoloaded, as click's script does, rings the bell at the second TAB: `_telemetry` is then the
# file's body run as a plain function, so it registers and completes nothing.)
_ZSH_REGISTER = "compdef _telemetry_completion telemetry"
_ZSH_REGISTER_AND_RUN = """\
compdef _telemetry_completion telemetry
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  # autoloaded from $fpath at the first TAB: complete this one too
  _telemetry_completion "$@"
fi"""


def _typer_source(shell: str, command: Any) -> str:
    """What ``_TELEMETRY_COMPLETE=source_<shell> telemetry`` prints, from the app in this process."""
    import contextlib
    import io

    out = io.StringIO()
    saved = os.environ.get(COMPLETE_VAR)
    os.environ[COMPLETE_VAR] = f"source_{shell}"
    try:
        with contextlib.redirect_stdout(out):
            command.main(args=[], prog_name=PROG)
    except SystemExit as done:  # Typer's shell completion always ends the run
        if done.code not in (0, None):
            raise RuntimeError(f"Typer has no completion script for {shell}") from None
    finally:
        if saved is None:
            del os.environ[COMPLETE_VAR]
        else:
            os.environ[COMPLETE_VAR] = saved
    return out.getvalue()


def script(shell: str, command: Any) -> str:
    """The completion script for ``shell`` (``command``: the app's click group): Typer's own, with
    no blank line before zsh's ``#compdef`` (zsh reads only line 1) and completing at the first TAB."""
    text = _typer_source(shell, command).strip() + "\n"
    if shell == Shell.zsh:
        if not text.startswith(f"#compdef {PROG}\n") or text.count(_ZSH_REGISTER) != 1:
            raise RuntimeError("Typer's zsh completion script changed: review completion.script")
        text = text.replace(_ZSH_REGISTER, _ZSH_REGISTER_AND_RUN)
    return text


def completion(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(help="The shell: bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script for bash, zsh or fish."""
    sys.stdout.write(script(shell.value, ctx.find_root().command))


__all__ = ["Shell", "completion", "products", "record_ids", "script", "vendors"]
