"""Where a product's file is: path templates and their expansion.

Terms:

- *path template*: ``~``, ``$XDG_CONFIG_HOME``, ``$XDG_CACHE_HOME``, ``$XDG_DATA_HOME``,
  ``$XDG_STATE_HOME``, ``$APPDATA`` (Windows' roaming application data, else ``~/AppData/Roaming``)
  or ``$SYSTEM`` (the system root: ``/etc`` or ``TELEMETRY_SYSTEM_DIR``) followed by a relative
  path, or an absolute path. ``expand`` resolves it against an environment; a template never
  holds ``..``.
- *per-platform path*: a switch's ``path`` may instead be a table of templates per platform
  (``{ linux = ..., macos = ..., windows = ... }``, ``linux`` required and used on every other
  system) where the product computes its place per platform; the running platform's is used.

Validation raises through ``fail(problem, index, key)`` as ``schema.py``'s does.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

XDG_DEFAULTS = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
}
SYSTEM_DIR_VARIABLE = "TELEMETRY_SYSTEM_DIR"
_HEADS = ("~", "$XDG_CONFIG_HOME", "$XDG_CACHE_HOME", "$XDG_DATA_HOME", "$XDG_STATE_HOME", "$APPDATA", "$SYSTEM")
PLATFORMS = ("linux", "macos", "windows")  # a per-platform path's keys; "linux" also serves other systems
HOME_DEFAULTS = {**XDG_DEFAULTS, "APPDATA": "AppData/Roaming"}

if TYPE_CHECKING:  # not evaluated at run time: check imports this module
    from collections.abc import Callable

    Fail = Callable[[str, int | None, str], NoReturn]
    """``fail(problem, index of the [[native]] table or None, key)``: raises the manifest's error."""


def platform_paths(value: Any, index: int, fail: "Fail") -> tuple[tuple[str, str], ...]:
    """``path``: one template, or a table of them per platform (``linux`` required)."""
    if not isinstance(value, dict):
        return (("linux", path_template(value, index, "path", fail)),)
    unknown = sorted(set(value) - set(PLATFORMS))
    if unknown or "linux" not in value:
        fail(f"[[native]] a per-platform path takes linux (required), macos and windows, not {unknown or value}",
             index, "path")
    return tuple((p, path_template(value[p], index, "path", fail)) for p in PLATFORMS if p in value)


def running_platform() -> str:
    """``linux`` (and every system that is neither of the others), ``macos`` or ``windows``."""
    import sys

    return "macos" if sys.platform == "darwin" else "windows" if sys.platform.startswith(("win", "cygwin")) \
        else "linux"


def platform_path(paths: tuple[tuple[str, str], ...], platform: str | None = None) -> str:
    """The template for ``platform`` (the running one by default); ``linux`` for any other."""
    chosen = dict(paths)
    return chosen.get(platform or running_platform(), chosen["linux"])


def path_template(value: Any, index: int | None, key: str, fail: "Fail") -> str:
    """A path template (the module docstring) as written, without a trailing ``/``."""
    if not isinstance(value, str) or not value:
        fail(f"{key} must be a path", index, key)
    head = head_of(value)
    if not (value.startswith("/") or head):
        fail(f"{key} {value!r} must start with ~, $XDG_CONFIG_HOME, $XDG_CACHE_HOME, $XDG_DATA_HOME, "
             "$XDG_STATE_HOME, $APPDATA, $SYSTEM or /", index, key)
    rest = value[len(head):] if head else value
    if "$" in rest or "\\" in rest or "\0" in rest or any(p in ("..", ".") for p in rest.split("/")):
        fail(f"{key} {value!r} may use no other variable and no '.' or '..'", index, key)
    return value.rstrip("/") or "/"


def expand(template: str, environ: Mapping[str, str] | None = None) -> Path:
    """The absolute path a template names in ``environ`` (``os.environ`` by default)."""
    return Path(expand_text(template, environ))


def expand_text(template: str, environ: Mapping[str, str] | None = None) -> str:
    """``expand`` as text (no ``pathlib`` object: ``check`` expands every catalogued path)."""
    env = os.environ if environ is None else environ
    head = head_of(template)
    if not head:
        return template
    rest = template[len(head):].lstrip("/")
    if head == "$SYSTEM":
        base = env.get(SYSTEM_DIR_VARIABLE) or "/etc"
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        value = env.get(head[1:], "") if head != "~" else ""
        base = home if head == "~" else value if os.path.isabs(value) else home + "/" + HOME_DEFAULTS[head[1:]]
    return os.path.normpath(base + "/" + rest) if rest else base


def head_of(template: str) -> str:
    """The template's leading ``~`` or variable (followed by ``/`` or the end), else ``""``."""
    for head in _HEADS:
        if template.startswith(head) and template[len(head):len(head) + 1] in ("", "/"):
            return head
    return ""
