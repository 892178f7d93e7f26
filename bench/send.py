"""`telemetry send` against its floors, in one run, to a loopback collector.

Run: python bench/send.py [--records 100000] [--runs 3]

Each case starts from N records written by the Recorder and flushed to disk (os.sync()), so
every unlink is the real one, and each is measured in the same run:

(a) `telemetry send` (the console script of this interpreter) to the collector, with the
    records the collector counted and the peak memory of the sender;
(b) the file floor: the same claim-rename, read and unlink of every record by a bare loop,
    no network;
(c) one POST per record over one keep-alive httpx.Client, doing the same file work;
(d) for reference, when opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http are
    installed (`pip install -e '.[bench]'`): the SDK's BatchLogRecordProcessor on defaults,
    fed the same records (claim, read, emit, unlink), records emitted vs counted.

The collector is a separate process (a threaded stdlib HTTP/1.1 server) that un-gzips and
parses every body and counts the distinct record ids it received. (a) and (b) alternate
--runs times; the budget, (a)/(b) within each pair, is printed with its range over the pairs.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import statistics
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _setup import machine, setup, spread

PRODUCT = "benchprod"


# -- the collector (its own process) -------------------------------------------------------

def _serve(port_out: Any) -> None:
    ids: set[str] = set()
    counts = {"records": 0, "requests": 0}

    def count_otlp_protobuf(body: bytes) -> list[str]:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        message = ExportLogsServiceRequest.FromString(body)
        found = []
        for resource_logs in message.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for n, log in enumerate(scope_logs.log_records):
                    attrs = [a.value.string_value for a in log.attributes if a.key == "telemetry.record.id"]
                    found.append(attrs[0] if attrs else f"anonymous-{len(ids)}-{n}")
        return found

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer headers and body are two writes: no 40 ms wait

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"distinct": len(ids), **counts}).encode()
            if self.path == "/_reset":
                ids.clear()
                counts.update(records=0, requests=0)
            self._answer(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.headers.get("Content-Type", "").startswith("application/x-protobuf"):
                found = count_otlp_protobuf(body)
            else:
                data = json.loads(body)
                if "records" in data:
                    found = [r["id"] for r in data["records"]]
                else:
                    found = [a["value"]["stringValue"] for r in data["resourceLogs"] for s in r["scopeLogs"]
                             for log in s["logRecords"] for a in log["attributes"]
                             if a["key"] == "telemetry.record.id"]
            counts["records"] += len(found)
            counts["requests"] += 1
            ids.update(found)
            self._answer(b"{}")

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


def _counted(url: str, reset: bool = False) -> dict[str, int]:
    with urllib.request.urlopen(url + ("/_reset" if reset else "/_count"), timeout=30) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


# -- the cases -----------------------------------------------------------------------------

def _fill(n: int) -> Path:
    """N records written by the Recorder, then flushed to the disk; returns pending/<product>."""
    from telemetry_gate import Recorder

    rec = Recorder(PRODUCT, "1.0.0")
    assert rec.enabled, rec.problem
    metrics = {"reads_total": 812_000_000, "chemistry": "SC3Pv3", "duration_s": 812.4, "cells": 5000}
    for i in range(n):
        if rec.record("count", metrics={**metrics, "n": i}) is None:
            raise SystemExit(f"record {i} not written: {rec.problem}")
    os.sync()
    return Path(os.environ["XDG_STATE_HOME"]) / "tenx" / "telemetry" / "spool" / "pending" / PRODUCT


def _files(pending: Path, claim: Path) -> list[str]:
    claim.mkdir(parents=True, exist_ok=True)
    return sorted(os.listdir(pending))


def case_send(script: str, url: str, n: int) -> tuple[float, int, dict[str, int], int]:
    """(seconds, peak RSS in KiB, what the collector counted, exit status)."""
    import subprocess

    _counted(url, reset=True)
    start = time.perf_counter()
    child = subprocess.Popen([script, "send", "--endpoint", url, "--timeout", "600"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    errors = child.stderr.read().decode() if child.stderr else ""
    if status:
        print(errors, file=sys.stderr)
    return seconds, usage.ru_maxrss, _counted(url), os.waitstatus_to_exitcode(status)


def case_floor(pending: Path) -> float:
    claim = pending.parent.parent / "sending" / "floor" / PRODUCT
    names = _files(pending, claim)
    start = time.perf_counter()
    for name in names:
        target = os.path.join(claim, name)
        os.rename(os.path.join(pending, name), target)
        fd = os.open(target, os.O_RDONLY)
        os.read(fd, 65536)
        os.close(fd)
        os.unlink(target)
    return time.perf_counter() - start


def case_post_each(pending: Path, url: str) -> tuple[float, dict[str, int]]:
    import httpx

    _counted(url, reset=True)
    claim = pending.parent.parent / "sending" / "post" / PRODUCT
    names = _files(pending, claim)
    start = time.perf_counter()
    with httpx.Client(headers={"Content-Type": "application/json"}) as client:
        for name in names:
            target = os.path.join(claim, name)
            os.rename(os.path.join(pending, name), target)
            fd = os.open(target, os.O_RDONLY)
            data = os.read(fd, 65536)
            os.close(fd)
            answer = client.post(url, content=b'{"records":[' + data + b"]}")
            answer.raise_for_status()
            os.unlink(target)
    return time.perf_counter() - start, _counted(url)


def case_sdk(pending: Path, url: str) -> tuple[float, int, dict[str, int]] | None:
    try:
        from opentelemetry._logs import SeverityNumber
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    except ImportError:
        return None
    _counted(url, reset=True)
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=url + "/v1/logs")))
    logger = provider.get_logger("bench")
    claim = pending.parent.parent / "sending" / "sdk" / PRODUCT
    names = _files(pending, claim)
    emitted = 0
    start = time.perf_counter()
    for name in names:
        target = os.path.join(claim, name)
        os.rename(os.path.join(pending, name), target)
        fd = os.open(target, os.O_RDONLY)
        record = json.loads(os.read(fd, 65536))
        os.close(fd)
        logger.emit(timestamp=time.time_ns(), severity_number=SeverityNumber.INFO, body=record["metrics"],
                    event_name=record["event"], attributes={"telemetry.record.id": record["id"]})
        emitted += 1
        os.unlink(target)  # handed to the SDK: as far as the caller knows, it is sent
    provider.shutdown()  # flush what the queue still holds
    return time.perf_counter() - start, emitted, _counted(url)


# -- the table -----------------------------------------------------------------------------

def main() -> None:
    n, runs, script, home, env = setup("tg-bench-send-")
    env.update(XDG_STATE_HOME=os.path.join(home, "state"), XDG_CONFIG_HOME=os.path.join(home, "config"),
               XDG_CACHE_HOME=os.path.join(home, "cache"), XDG_DATA_HOME=os.path.join(home, "data"))
    os.environ.update(env)
    settings = Path(env["XDG_CONFIG_HOME"]) / "tenx" / "telemetry" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[telemetry]\nmax_records = {n + 1}\nmax_bytes = {n * 65536}\n")  # keep all

    receiver, sender = multiprocessing.Pipe(duplex=False)
    collector = multiprocessing.Process(target=_serve, args=(sender,), daemon=True)
    collector.start()
    url = f"http://127.0.0.1:{receiver.recv()}"

    print(f"writing {n} records with the Recorder for each case (then os.sync()) ...", file=sys.stderr)
    rows: list[tuple[str, float, str]] = []
    send_rates: list[float] = []
    floor_rates: list[float] = []
    notes: list[str] = []
    peak_kib = 0
    for _ in range(runs):  # (a) and (b) alternate: the disk's and the machine's drift reach both
        pending = _fill(n)
        seconds, peak, counted, status = case_send(script, url, n)
        left = len(os.listdir(pending))
        send_rates.append(n / seconds)
        peak_kib = max(peak_kib, peak)
        notes.append(f"{counted['distinct']}/{counted['records']} in {counted['requests']} requests, exit {status}, "
                     f"{left} left")
        pending = _fill(n)
        floor_rates.append(n / case_floor(pending))
    send_rate, floor_rate = statistics.median(send_rates), statistics.median(floor_rates)
    rows.append(("(a) telemetry send (otlp, batches of 500, gzip)", send_rate,
                 f"median of {runs}; collector counted (distinct/records): {'; '.join(notes)}; "
                 f"peak RSS {peak_kib / 1024:.0f} MB"))
    rows.append(("(b) file floor: claim-rename + read + unlink", floor_rate, f"median of {runs}; no network"))

    pending = _fill(n)
    seconds, counted = case_post_each(pending, url)
    post_rate = n / seconds
    rows.append(("(c) one POST per record, keep-alive httpx.Client", post_rate,
                 f"collector counted {counted['distinct']} distinct"))

    pending = _fill(n)
    sdk = case_sdk(pending, url)
    if sdk is None:
        for name in os.listdir(pending):
            os.unlink(pending / name)
        rows.append(("(d) OpenTelemetry SDK batch processor", 0.0, "not installed: pip install -e '.[bench]'"))
    else:
        seconds, emitted, counted = sdk
        lost = emitted - counted["distinct"]
        rows.append(("(d) OpenTelemetry SDK, BatchLogRecordProcessor defaults", counted["distinct"] / seconds,
                     f"emitted {emitted}, collector counted {counted['distinct']} "
                     f"({lost} dropped, {100 * lost / emitted:.0f}%); records/s delivered"))
    collector.terminate()

    print(f"\n{machine()}\n`python bench/send.py --records {n} --runs {runs}`\n")
    print("| case | records/s | x file floor | x POST/record | notes |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, rate, notes in rows:
        shown = f"{rate:,.0f}" if rate else "-"
        floor = f"{rate / floor_rate:.2f}" if rate else "-"
        post = f"{rate / post_rate:.2f}" if rate else "-"
        print(f"| {label} | {shown} | {floor} | {post} | {notes} |")
    ratios = [a / b for a, b in zip(send_rates, floor_rates, strict=True)]
    print(f"\nbudget (a) >= 0.85x (b), each pair: {spread(ratios)}; (a) >= 3x (c): {send_rate / post_rate:.2f}x;"
          f" counted exactly {n} each run; peak RSS < 200 MB: {peak_kib / 1024:.0f} MB")


if __name__ == "__main__":
    main()
