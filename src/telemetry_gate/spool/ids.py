"""Record ids: ULIDs (26 Crockford base-32 characters, time first), so names sort by time
and a listing can tell a record's age without opening it.

Within one millisecond the random part is incremented (monotonic ULIDs). That state is
guarded by a lock (threads) and drawn afresh in a forked child (``os.register_at_fork``):
otherwise parent and child would mint the same ids within the same millisecond.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_last_ms = 0
_last_random = 0
_lock = threading.Lock()


def _forget() -> None:
    """In a forked child: drop the parent's state (and a lock another thread may have held)."""
    global _last_ms, _last_random, _lock
    _last_ms, _last_random, _lock = 0, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def new_id(now_ms: int | None = None) -> str:
    """A monotonic ULID: within one millisecond of one process, ids still increase.

    With ``now_ms`` (a given time, as in tests and imports) the id is not made monotonic."""
    global _last_ms, _last_random
    if now_ms is not None:
        return _encode((now_ms << 80) | (int.from_bytes(os.urandom(10), "big") >> 1))
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last_ms:
            ms = _last_ms
            _last_random += 1
            random = _last_random
        else:
            random = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        _last_ms, _last_random = ms, random
    return _encode((ms << 80) | (random & ((1 << 80) - 1)))


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> 2 characters
_SHIFTS = range(120, -1, -10)


def _encode(value: int) -> str:
    """26 characters, 5 bits each, most significant first: 13 lookups of 10 bits."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


_CHARS = frozenset(_DECODE)


def is_id(text: str) -> bool:
    return len(text) == 26 and _CHARS.issuperset(text)


_AS_DIGITS = str.maketrans(_ALPHABET, "0123456789abcdefghijklmnopqrstuv")  # what int(text, 32) reads


def timestamp(record_id: str) -> float | None:
    """Seconds since the epoch encoded in a ULID, or ``None`` if it is not one."""
    head = record_id[:10]
    if len(head) != 10 or not _CHARS.issuperset(head):
        return None
    return int(head.translate(_AS_DIGITS), 32) / 1000
