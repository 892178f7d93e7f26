"""The ``lines`` format: a file of ``name=value`` lines, read as Dart and Flutter read theirs.

Dart's and Flutter's tools share ``~/.dart-tool/dart-flutter-telemetry.config`` (package
unified_analytics, ``config_handler.dart``): comment lines, ``tool=date,version`` lines and the
setting ``reporting=0`` or ``reporting=1``. Dart finds the setting with the multi-line pattern
``^reporting=([0|1]) *$``: a line that is exactly the name, ``=``, the value and nothing after it
but spaces (no space before ``=``; a tab is not a space), where a line ends at ``\\n``, ``\\r``,
U+2028 or U+2029 (a JavaScript pattern's line terminators). When several lines name the setting,
the stricter wins ("the parser will default to a conservative value"): one ``reporting=0`` is off.

Reading here: every line of that shape for the key; the off value if any holds it, else the on
value if any does, else the first other value; no such line is "not found" (the switch's
``absent``, as Dart keeps reporting on). Writing: the first such line gets the new value and the
others are removed - Dart resets a file whose ``reporting`` lines are not exactly one - or, when
there is none, the line is appended; every other byte stays.

INI cannot stand in: configparser needs a section, takes ``reporting = 0`` and ``reporting: 0``
(which Dart ignores) and would write the spaces Dart's pattern refuses.
"""

from __future__ import annotations

import re
from typing import Any

_END = "\n\r\u2028\u2029"  # a JavaScript pattern's line terminators (Dart's RegExp, multiLine: true)


def _pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?:\A|(?<=[{_END}])){re.escape(key)}=(?P<value>[^{_END}]*?) *(?=[{_END}]|\Z)")


def value(text: str, key: str, off: str) -> tuple[bool, Any]:
    """``(found, value)`` of ``key``: ``off`` when any of its lines says so (Dart: the stricter wins)."""
    values = [m.group("value") for m in _pattern(key).finditer(text)]
    if not values:
        return False, None
    return True, off if off in values else values[0]


def edit(text: str, key: str, new: str) -> str:
    """``text`` with exactly one ``key=new`` line: the first of the key's lines rewritten, the others
    removed (with their line end), or the line appended."""
    matches = list(_pattern(key).finditer(text))
    if not matches:
        joiner = "" if not text or text[-1] in _END else "\n"
        return f"{text}{joiner}{key}={new}\n"
    out, last = [], 0
    for index, match in enumerate(matches):
        out.append(text[last:match.start()])
        last = match.end()
        if index == 0:
            out.append(f"{key}={new}")
        elif last < len(text):  # drop the line's own end as well (\r\n counts as one)
            last += 2 if text.startswith("\r\n", last) else 1
    out.append(text[last:])
    return "".join(out)
