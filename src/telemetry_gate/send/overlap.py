"""The threads ``send`` overlaps its work with: while the main thread posts a batch and
settles it, ``Ahead`` reads, parses, encodes and compresses the next ones, and ``Unlinker``
removes the records of batches already accepted.

Reading, unlinking and gzip are system calls or C code that release the GIL, and a POST
mostly waits for the collector: on their own threads they run while the main thread waits.
Neither thread changes what a record's fate is: ``Ahead`` only reads claimed files (a
malformed one goes to ``quarantine/``, as it would unthreaded), and ``Unlinker`` is handed a
batch only after its 2xx and its audit lines; ``close`` of each waits for the thread, so the
claim is released only after both are done.
"""

from __future__ import annotations

import gzip
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from telemetry_gate.spool.store import Entry, Spool

AHEAD = 2  # batches built ahead of the one being posted: ~2 x 500 records in memory


class Ahead:
    """Iterates ``(batch, gzip body)`` of ``batches``, built on a thread of its own at most
    ``AHEAD`` batches ahead of the caller; an error in building is raised to the caller."""

    _DONE = object()

    def __init__(self, batches: Iterable[Any], depth: int = AHEAD) -> None:
        self._batches = batches
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="telemetry-ahead", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            for batch in self._batches:
                if self._stop.is_set():
                    return
                self._put((batch, gzip.compress(batch.body, compresslevel=5, mtime=0)))
        except BaseException as exc:  # handed to the caller, raised there
            self._put(exc)
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[Any, bytes]]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop building (a batch half built is dropped: its records stay in the claim) and wait."""
        self._stop.set()
        self._thread.join()


class Unlinker:
    """Unlinks accepted records on a thread of its own while the next batch is read, built
    and posted (an unlink costs 80-150 µs once the file has reached the disk, and releases
    the GIL). ``close`` waits for every file handed over: the claim is released only after,
    so an accepted record can never go back to ``pending/``."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.queue: queue.SimpleQueue[list[Entry] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name="telemetry-unlink", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (entries := self.queue.get()) is not None:
            try:
                self.spool.remove(entries)
            except OSError:
                pass  # left in the claim: returned to pending/ and sent again (at least once)

    def put(self, entries: list[Entry]) -> None:
        self.queue.put(entries)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
