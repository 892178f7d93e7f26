"""The library's face: products hand their records to a ``Recorder``.

Promises (SPEC 6): it never raises into the host program, never touches the network,
writes nothing when collection is disabled, and writes each record atomically through
``tmp/``. Policy (and the fields a downloaded configuration switches off, ``config.py``)
is resolved once, when the Recorder is made; a record costs a scrub, a ``json.dumps`` and
one write + rename.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telemetry_gate.spool import records
from telemetry_gate.spool.ids import new_id
from telemetry_gate.spool.store import DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS, Spool

if TYPE_CHECKING:
    from telemetry_gate.policy.layers import Policy

_ATTEMPTS = 8  # record ids tried before a record is given up (a clash is already rare)


class Run:
    """What ``Recorder.run`` yields: add metrics while the command runs."""

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}

    def metric(self, name: str, value: Any) -> None:
        self.metrics[str(name)] = value


class Recorder:
    """Makes and keeps the records of one product version.

    ``problem`` holds the last thing that went wrong (the host program is never told
    otherwise); ``enabled`` says whether collection is on for this product.
    """

    def __init__(self, product: str, version: str, *, vendor: str | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.product = product
        self.version = str(version)
        self.enabled = False
        self.problem: str | None = None
        self._spool: Spool | None = None
        self._notice_dir: Path | None = None
        self._prepared = False
        self._count = 0
        self._oldest: collections.deque[tuple[str, int]] = collections.deque()
        self._bytes = 0
        try:
            self._setup(vendor, os.environ if environ is None else environ)
        except Exception as exc:  # never into the host program: a broken setup means no telemetry
            self.enabled = False
            self.problem = f"telemetry disabled: {type(exc).__name__}: {exc}"

    def _setup(self, vendor: str | None, environ: Mapping[str, str]) -> None:
        from telemetry_gate.policy import trust
        from telemetry_gate.policy.catalogue import discover
        from telemetry_gate.policy.layers import Policy
        from telemetry_gate.policy.paths import Paths, check_name, check_version, resolve_vendor

        self.vendor = resolve_vendor(vendor, environ)
        check_name("product", self.product)
        check_version(self.version)  # it names a cache path: "1/../../x" collects nothing
        paths = Paths.for_vendor(self.vendor, environ)
        trust.check(paths)  # a directory another user can change: collect nothing
        catalogue = discover(paths, only=self.product)
        policy = Policy.load(paths, environ, catalogue.switches(), catalogue.opt_in(),
                             catalogue.own_switches_only())
        if not policy.decide("collection", self.product).enabled:
            return
        if catalogue.broken(self.product) is not None:
            return  # its manifest is malformed: what it allows is unknown, so collect nothing
        manifest = catalogue.manifests.get(self.product)
        self._declared = manifest.declared() if manifest else None
        from telemetry_gate.policy.configuration import disabled_fields

        self._disabled = disabled_fields(paths, self.product, self.version)
        self._max_records = self._bound(policy, "max_records", DEFAULT_MAX_RECORDS)
        self._max_bytes = self._bound(policy, "max_bytes", DEFAULT_MAX_BYTES)
        self._scrubber = records.Scrubber()
        self._context = records.context()
        self._spool = Spool(paths.spool)
        self._notice_dir = paths.state_dir if manifest is None or manifest.notice else None
        self.enabled = True

    def _bound(self, policy: Policy, key: str, default: int) -> int:
        found = policy.setting(key, self.product)
        return default if found is None else int(found[0])

    def record(self, event: str, *, category: str = "usage", metrics: Mapping[str, Any] | None = None,
               copy_to: str | os.PathLike[str] | None = None) -> str | None:
        """Keep one record; returns its id when it was kept, ``None`` when nothing was (a write
        that failed or fell short, a record the bound dropped at once)."""
        if not self.enabled or self._spool is None:
            return None
        try:
            return self._write(event, category, metrics or {}, copy_to)
        except Exception as exc:
            self.problem = f"record {event!r} not kept: {type(exc).__name__}: {exc}"
            return None

    def _write(self, event: str, category: str, metrics: Mapping[str, Any],
               copy_to: str | os.PathLike[str] | None) -> str | None:
        spool = self._spool
        assert spool is not None
        for _attempt in range(_ATTEMPTS):
            record_id = new_id()
            record = records.build(
                record_id=record_id, vendor=self.vendor, product=self.product, version=self.version,
                event=event, category=category, metrics=metrics, ctx=self._context,
                scrubber=self._scrubber, declared=self._declared, disabled=self._disabled,
            )
            data = records.dumps(record)
            if len(data) > self._max_bytes:
                raise records.RecordError(f"record is {len(data)} bytes; the spool keeps at most "
                                          f"{self._max_bytes} for {self.product} (max_bytes)")
            if not self._prepared:
                spool.prepare(self.product)
                self._rescan()
                self._prepared = True
            try:
                target = spool.write(self.product, record_id, data)
            except FileExistsError:  # the id is taken (another process, a restored backup): mint another
                continue
            break
        else:
            raise records.RecordError(f"no free record id after {_ATTEMPTS} attempts")
        # the record is kept from here on: what fails later is reported, never turned into None
        own = str(target)
        gone: list[str] = []
        try:
            if self._notice_dir is not None:  # once per Recorder, at its first record
                from telemetry_gate.spool.notice import first_run

                first_run(self._notice_dir, self.product)
                self._notice_dir = None
            self._count += 1
            self._bytes += len(data)
            if self._count > self._max_records or self._bytes > self._max_bytes:
                self._trim(gone)
        except Exception as exc:
            self.problem = f"record {event!r} kept, but then: {type(exc).__name__}: {exc}"
        if own in gone:  # a writer beside us filled the spool with newer records: ours went first
            self.problem = f"record {event!r} dropped at once by the spool bound (newer records fill it)"
            return None
        if copy_to is not None:
            try:
                from telemetry_gate.fs import atomic_write

                atomic_write(Path(copy_to) / "telemetry.json", data, durable=False)
            except Exception as exc:
                self.problem = f"record {event!r} kept, but not copied to {copy_to}: {type(exc).__name__}: {exc}"
        return record_id

    def _rescan(self, gone: list[str] | None = None) -> None:
        """Count the product's records from the directory and keep its oldest in a queue."""
        assert self._spool is not None
        reserve = max(64, self._max_records // 10)
        self._count, self._bytes, _, oldest = self._spool.enforce_bound(
            self.product, self._max_records, self._max_bytes, reserve, gone)
        self._oldest = collections.deque(oldest)

    def _trim(self, gone: list[str]) -> None:
        """Back under the bound by dropping the oldest records from the queue; the directory
        is scanned again only when the queue runs dry or turns out stale (a sender took the
        oldest records): at the bound a record costs a tenth of a scan, not a whole one."""
        assert self._spool is not None
        doomed = []
        while (self._count > self._max_records or self._bytes > self._max_bytes) and self._oldest:
            path, length = self._oldest.popleft()
            doomed.append(path)
            self._count -= 1
            self._bytes -= length
        if self._spool.drop(self.product, doomed, gone) < len(doomed) or not self._oldest:
            self._rescan(gone)

    @contextmanager
    def run(self, event: str, params: Mapping[str, Any] | None = None) -> Iterator[Run]:
        """Record one command: its params, metrics, duration and exit status; on an
        exception, its type and a stack of (module, function, line) in category ``crash``.
        The exception itself always reaches the host program."""
        run = Run()
        start = time.perf_counter()
        try:
            yield run
        except BaseException as exc:
            metrics = {**dict(params or {}), **run.metrics,
                       "duration_s": round(time.perf_counter() - start, 6)}
            if isinstance(exc, SystemExit) and exc.code in (0, None):
                metrics["exit_status"] = 0
                self.record(event, category="usage", metrics=metrics)
            else:
                metrics["exit_status"] = _exit_status(exc)
                metrics["exception_type"] = type(exc).__name__
                metrics["stack"] = _stack(exc)
                self.record(event, category="crash", metrics=metrics)
            raise
        else:
            metrics = {**dict(params or {}), **run.metrics,
                       "duration_s": round(time.perf_counter() - start, 6), "exit_status": 0}
            self.record(event, category="usage", metrics=metrics)


def _exit_status(exc: BaseException) -> int | str:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "error"


def _stack(exc: BaseException, limit: int = 32) -> list[dict[str, Any]]:
    """Where the exception went: module, function and line of each frame; never the
    message, the file paths or the local values."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        module = str(tb.tb_frame.f_globals.get("__name__", "?"))
        if module not in (__name__, "contextlib"):  # our own context manager is not the crash
            frames.append({"module": module, "function": code.co_name, "line": tb.tb_lineno})
        tb = tb.tb_next
    return frames[-limit:]
