"""JSON with comments (``format = "jsonc"``): JSON plus ``//`` and ``/* */`` comments and one
trailing comma before a closing ``}`` or ``]`` - what JupyterLab writes in its settings files (its
settings registry annotates every value with ``//`` comments) and VS Code in ``settings.json``.

``blank`` turns such a text into plain JSON of the same length: each comment character and each
trailing comma becomes a space (line breaks are kept), so an offset in the result is the same
offset in the original. Reading parses the result with ``json``; editing finds the value's
characters in it and replaces those same characters in the original, keeping every comment and
every other byte. Anything else - JSON5's single quotes, unquoted keys, hexadecimal numbers, a
comma with no value before it - is left in place and ``json`` refuses it: such a file is
unreadable and never rewritten.
"""

from telemetry_gate.policy.own.files import Unreadable

_SEPARATORS = "\u2028\u2029"  # a line break to JSON5 inside a comment: the products would disagree


def blank(text: str) -> str:
    """``text`` with its comments and trailing commas as spaces; raises ``Unreadable`` for a
    comment that never ends or holds a character some readers take as a line break."""
    out = list(text)
    last = ""  # the last significant character before the current position
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            last = '"'
            i = end
            continue
        if c == "/" and text.startswith("//", i):
            end = i
            while end < n and text[end] not in "\r\n":
                end += 1
            _blank(out, text, i, end)
            i = end
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise Unreadable("not valid JSON with comments: a /* comment never ends")
            _blank(out, text, i, end + 2)
            i = end + 2
            continue
        if c == "," and last not in ("", "{", "[", ","):
            nxt = _next_significant(text, i + 1)
            if nxt < n and text[nxt] in "}]":
                out[i] = " "  # a trailing comma; the closing bracket is what counts as last
                i += 1
                continue
        if c not in " \t\r\n":
            last = c
        i += 1
    return "".join(out)


def _blank(out: list[str], text: str, start: int, end: int) -> None:
    for j in range(start, end):
        if text[j] in _SEPARATORS:
            raise Unreadable("not valid JSON with comments: a comment holds a Unicode line separator")
        if text[j] not in "\r\n":
            out[j] = " "


def _string_end(text: str, start: int) -> int:
    """The index after the string that opens at ``start`` (its end of text when unterminated:
    ``json`` then refuses the document)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"' or text[i] in "\r\n":
            return i + 1
        i += 1
    return len(text)


def _next_significant(text: str, i: int) -> int:
    """The index of the next character that is neither white space nor inside a comment."""
    n = len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] not in "\r\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return n
            i = end + 2
        else:
            return i
    return n
