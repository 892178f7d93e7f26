"""A product's *active configuration*: a config-file switch whose file is named by another file.

gcloud keeps one properties file per named configuration (``configurations/config_<name>``) and
the name of the active one in ``active_config``, which ``CLOUDSDK_ACTIVE_CONFIG_NAME`` overrides;
with neither, it reads ``config_default`` (named_configs.py ``_EffectiveActiveConfigName``). A
manifest says so with ``{active}`` in the switch's ``path`` and an ``active`` table:

```toml
path = "~/.config/gcloud/configurations/config_{active}"
active = { variable = "CLOUDSDK_ACTIVE_CONFIG_NAME", file = "~/.config/gcloud/active_config",
           default = "default", pattern = "[a-z][-a-z0-9]*" }
```

Terms:

- *name*: the active configuration's name, from the variable (when set and not empty), else the
  pointer ``file`` (its whole content; empty counts as missing), else ``default``. A name must
  match the manifest's ``pattern`` and, whatever the pattern says, be a plain file-name part
  (letters, digits, ``-``, ``_``, ``.``, not starting with ``.``): a path built from it cannot
  leave its directory. A name that does not match makes the switch unreadable (never written).
- *origin*: where the name came from. A switch whose name is only the ``default`` is read but
  never written: the product creates its active configuration on first use and would replace a
  file written before that (gcloud's ``_CreateDefaultConfig`` overwrites ``config_default``).
"""

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from telemetry_gate.policy.own.places import expand_text, platform_path, platform_paths

if TYPE_CHECKING:
    from telemetry_gate.policy.own.places import Fail

TOKEN = "{active}"
SAFE = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"  # whatever the manifest's pattern: one plain name part
_VARIABLE = r"[A-Z][A-Z0-9_]{0,127}"
# a pattern is letters and character classes, each maybe followed by *, + or ?, at most two of them
# repeated: no group, alternation or escape, so matching a 128-character name never backtracks for long
_ATOMS = r"(?:(?:\[\^?[^\]\[\\]+\]|[A-Za-z0-9_.-])[*+?]?){1,32}"
POINTER_BYTES = 256


class Unresolved(Exception):
    """The active configuration's name is not one the product would use: nothing is read or written."""


class Active(NamedTuple):
    variable: str  # "" when the product reads none
    files: tuple[tuple[str, str], ...]  # the pointer file per platform
    default: str
    pattern: str

    def name(self, environ: Mapping[str, str]) -> tuple[str, str]:
        """``(name, origin)``: origin ``variable``, ``file`` or ``default``; raises ``Unresolved``."""
        value = environ.get(self.variable, "") if self.variable else ""
        origin = "variable"
        if not value:
            template = platform_path(self.files)
            value, origin = _pointer(template, expand_text(template, environ)), "file"
            if not value:
                return self.default, "default"
        if not (re.fullmatch(SAFE, value) and re.fullmatch(self.pattern, value)):
            where = self.variable if origin == "variable" else expand_text(platform_path(self.files), environ)
            raise Unresolved(f"the active configuration named by {where} is not a name the product uses; "
                             "nothing is read or written there")  # its content is never shown
        return value, origin


def _pointer(template: str, path: str) -> str:
    """The pointer file's content ("" when missing or empty), read under the rules of the product's
    other files (``files.py``: regular, its owner's or root's, never through a link out of the
    product's directory); raises ``Unresolved`` when it is refused or not a short text."""
    from pathlib import Path

    from telemetry_gate.policy.own.files import Unreadable, read_bytes, root_of

    try:
        _, data, _ = read_bytes(Path(path), root_of(template, Path(path)))
    except FileNotFoundError:
        return ""
    except Unreadable as exc:
        raise Unresolved(f"{path} {exc}") from exc
    except OSError as exc:
        raise Unresolved(f"{path}: {exc.strerror or exc}") from exc
    if len(data) > POINTER_BYTES:
        raise Unresolved(f"{path} is longer than a configuration name")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unresolved(f"{path} is not text") from exc


def parse(value: Any, paths: tuple[tuple[str, str], ...], index: int, fail: "Fail") -> Active | None:
    """The ``active`` table of a config-file switch whose ``paths`` were already validated."""
    templates = [t for _, t in paths]
    if value is None:
        if any("{" in t or "}" in t for t in templates):
            fail("[[native]] a path holds {active} only with an active table", index, "path")
        return None
    if not isinstance(value, dict) or set(value) - {"variable", "file", "default", "pattern"} \
            or not {"file", "default", "pattern"} <= set(value):
        fail("[[native]] active takes file, default and pattern (and variable)", index, "active")
    for template in templates:
        last = template.rsplit("/", 1)[-1]
        if template.count(TOKEN) != 1 or TOKEN not in last or "{" in last.replace(TOKEN, "") \
                or "}" in last.replace(TOKEN, "") or "{" in template.rsplit("/", 1)[0]:
            fail("[[native]] a path with an active table holds {active} once, in its file name", index, "path")
    variable, pattern, default = value.get("variable", ""), value["pattern"], value["default"]
    if not isinstance(variable, str) or variable and not re.fullmatch(_VARIABLE, variable):
        fail("[[native]] active variable must be an environment variable's name", index, "active")
    if not isinstance(pattern, str) or not pattern or len(pattern) > 200:
        fail("[[native]] active pattern must be a regular expression", index, "active")
    try:
        re.compile(pattern)
    except re.error as exc:
        fail(f"[[native]] active pattern is not a regular expression: {exc}", index, "active")
    if not re.fullmatch(_ATOMS, pattern) or len(re.findall(r"[*+]", re.sub(r"\[[^\]]*\]", "", pattern))) > 2:
        fail("[[native]] active pattern takes letters and character classes such as [a-z], at most two of them "
             "repeated with * or +", index, "active")
    if not isinstance(default, str) or not re.fullmatch(SAFE, default) or not re.fullmatch(pattern, default):
        fail("[[native]] active default must be a name its pattern accepts", index, "active")
    files = platform_paths(value["file"], index, fail)
    return Active(variable, files, default, pattern)
