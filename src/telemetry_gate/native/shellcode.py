"""The text of the generated environment files: POSIX sh, fish and systemd ``environment.d``.

Terms:

- *export*: one variable with the value that switches a product's telemetry off
  (``STRIPEPY_NO_TELEMETRY=1``), and whether the persistent policy turns it off (``off``).
- *marker*: a variable (``TELEMETRY_GATE_EXPORTED``) listing, colon-separated, what a generated
  file exported. A shell started from one that sourced an older version of the file inherits
  those values; the new version unsets the ones policy no longer turns off, but only where the
  value is still ours, and never a variable someone else set.

What the shell code does, for each known variable:

- ``DO_NOT_TRACK`` set when the shell starts (non-empty and not 0/false/no/off, as SPEC 4 layer 2
  reads it): export the off value, whatever the variable held (layer 2 outranks layer 4);
- else, if the policy turns it off: export the off value unless someone else already set the
  variable (the environment outranks the settings, as ``telemetry disable`` then says);
- else, if an earlier version of the file exported it and it still holds our value: unset it.

Every name is checked against ``[A-Za-z_][A-Za-z0-9_]*`` before it reaches this module, and again
here against the hooks no manifest may name (``BASH_ENV``, ``PROMPT_COMMAND``...); every value is
quoted for the language it is written in: text from a manifest cannot become code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import NamedTuple

from telemetry_gate.policy.own.powers import hook, one_line

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# what environment.d takes literally: no $ (expansion), no quotes, no backslash, no whitespace
_PLAIN = re.compile(r"[A-Za-z0-9_.,:/+@%=-]+")


class Export(NamedTuple):
    variable: str
    value: str
    products: tuple[str, ...]  # the products whose switch this is
    off: bool  # the persistent policy turns it off (else only DO_NOT_TRACK exports it)
    # when a value someone else set speaks for itself (kept): "set" any value, "nonempty" a
    # non-empty one, "values" only one of ``words`` (any case); else it is overridden with ours,
    # as the policy's own layer 4 reads it (an empty NUXT_TELEMETRY_DISABLED does not speak)
    speaks: str = "set"
    words: tuple[str, ...] = ()


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"not a variable name: {name!r}")
    return name


def _safe(exports: Sequence[Export], lines: list[str]) -> list[Export]:
    """The exports a generated file may carry: a shell, loader or interpreter hook (``BASH_ENV``,
    ``PROMPT_COMMAND``, ``LD_PRELOAD``...) or a value that is not one printable line never is,
    whatever let it through (the manifest reader refuses them first: ``policy/own/powers.py``);
    each one left out is named in a comment."""
    kept = []
    for export in exports:
        if hook(export.variable) or one_line(export.value):
            lines.append(_comment(f"left out {export.variable[:64]}: not a product's telemetry variable"))
        else:
            kept.append(export)
    return kept


def plain(value: str) -> bool:
    """A value ``environment.d`` reads literally."""
    return bool(_PLAIN.fullmatch(value))


def fish_quote(value: str) -> str:
    """Single quotes as fish reads them: only ``\\\\`` and ``\\'`` are escapes inside."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _comment(text: str) -> str:
    """A comment line that cannot end early: control characters become spaces."""
    return "# " + re.sub(r"[\x00-\x1f\x7f]", " ", text)


def _header(header: Sequence[str]) -> list[str]:
    return [_comment(line) if line else "#" for line in header]


def posix(exports: Sequence[Export], header: Sequence[str], marker: str) -> str:
    """A file for ``.`` in sh, bash, dash and zsh; safe under ``set -eu``."""
    check_name(marker)
    lines = _header(header)
    exports = _safe(exports, lines)
    lines += [
        "_tg_dnt=${DO_NOT_TRACK-}",  # any non-empty value, blank included, but a no word (SPEC 4)
        '_tg_w=${_tg_dnt#"${_tg_dnt%%[![:space:]]*}"}',
        '_tg_w=${_tg_w%"${_tg_w##*[![:space:]]}"}',
        "case $_tg_w in",
        "  0|[Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]|[Oo][Ff][Ff]) _tg_dnt= ;;",
        "esac",
        f'_tg_mine=":${{{marker}-}}:"',
        "_tg_set=",
    ]
    for export in exports:
        name = check_name(export.variable)
        value = shlex.quote(export.value)
        setting = f'export {name}={value}; _tg_set="$_tg_set:{name}"'
        lines.append(_comment(f"{', '.join(export.products)}" + ("" if export.off else " (DO_NOT_TRACK only)")))
        if export.off:
            lines += [
                f'if [ -n "$_tg_dnt" ] || {_posix_silent(export, name)}; then {setting}',
                f'else case $_tg_mine in *:{name}:*) {setting} ;; esac',
                "fi",
            ]
        else:
            lines += [
                f'if [ -n "$_tg_dnt" ]; then {setting}',
                f'else case $_tg_mine in *:{name}:*) if [ "${{{name}-}}" = {value} ]; then unset {name}; fi ;; esac',
                "fi",
            ]
    lines += [
        f'if [ -n "$_tg_set" ]; then export {marker}="${{_tg_set#:}}"; else unset {marker}; fi',
        "unset _tg_dnt _tg_w _tg_mine _tg_set",
    ]
    return "\n".join(lines) + "\n"


def _posix_silent(export: Export, name: str) -> str:
    """A POSIX test: true when the variable does not speak for itself (see ``Export.speaks``)."""
    if export.speaks == "nonempty":
        return f'[ -z "${{{name}-}}" ]'
    if export.speaks == "values" and export.words:
        patterns = "|".join(_any_case(w) for w in export.words)
        return f'! case "${{{name}-}}" in {patterns}) true ;; *) false ;; esac'
    return f'[ -z "${{{name}+x}}" ]'


def _any_case(word: str) -> str:
    """A case pattern matching ``word`` in any case, every other character quoted."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() and c.isascii() else shlex.quote(c) if c else ""
                   for c in word) or "''"


def _fish_silent(export: Export, name: str) -> str:
    if export.speaks == "nonempty":
        return f'test -z "${name}"'
    if export.speaks == "values" and export.words:
        return f'not contains -- (string lower -- "${name}") {" ".join(fish_quote(w) for w in export.words)}'
    return f"not set -q {name}"


def fish(exports: Sequence[Export], header: Sequence[str], marker: str) -> str:
    """A file for fish's ``source``."""
    check_name(marker)
    lines = _header(header)
    exports = _safe(exports, lines)
    lines += [
        'set -l _tg_dnt "$DO_NOT_TRACK"',  # any non-empty value, blank included, but a no word (SPEC 4)
        'switch (string lower -- (string trim -- "$_tg_dnt"))',
        "    case 0 false no off",
        "        set _tg_dnt ''",
        "end",
        f'set -l _tg_mine ":${marker}:"',
        "set -l _tg_set",
    ]
    for export in exports:
        name = check_name(export.variable)
        value = fish_quote(export.value)
        mine = f"string match -q -- '*:{name}:*' \"$_tg_mine\""
        lines.append(_comment(f"{', '.join(export.products)}" + ("" if export.off else " (DO_NOT_TRACK only)")))
        if export.off:
            lines += [
                f"if test -n \"$_tg_dnt\"; or {_fish_silent(export, name)}; or {mine}",
                f"    set -gx {name} {value}; set -a _tg_set {name}",
                "end",
            ]
        else:
            lines += [
                "if test -n \"$_tg_dnt\"",
                f"    set -gx {name} {value}; set -a _tg_set {name}",
                f"else if {mine}; and test \"${name}\" = {value}",
                f"    set -e {name}",
                "end",
            ]
    lines += [
        "if set -q _tg_set[1]",
        f"    set -gx {marker} (string join : -- $_tg_set)",
        "else",
        f"    set -e {marker}",
        "end",
    ]
    return "\n".join(lines) + "\n"


def environment_d(exports: Sequence[Export], header: Sequence[str], marker: str) -> tuple[str, list[str]]:
    """``KEY=VALUE`` lines for systemd's environment.d (no shell code: it has none), and the
    variables left out because their value is not plain text there."""
    check_name(marker)
    lines = _header(header)
    exports = _safe(exports, lines)
    written: list[str] = []
    skipped: list[str] = []
    for export in exports:
        if not export.off:
            continue
        name = check_name(export.variable)
        if not plain(export.value):
            skipped.append(name)
            continue
        lines.append(f"{name}={export.value}")
        written.append(name)
    if written:
        lines.append(f"{marker}={':'.join(written)}")
    return "\n".join(lines) + "\n", skipped
