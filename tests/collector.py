"""A real collector on 127.0.0.1 for the send and update tests (httpie ``tests/utils/http_server.py``).

A threaded stdlib HTTP/1.1 server (keep-alive) that counts accepted connections and requests,
un-gzips every body, parses OTLP bodies with the official opentelemetry-proto messages and
JSON bodies as ``{"records": [...]}``, and answers from a script: a function of the request's
index, or a list whose last reply repeats.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # read the request, then drop the connection with a TCP reset, no answer
    hold: bool = False  # wait until ``Collector.release`` before answering
    trickle: float = 0.0  # seconds between the bytes of the answer (a slow or hostile server)


@dataclass
class Received:
    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # after gzip
    ids: list[str]  # record ids in the body
    otlp: ExportLogsServiceRequest | None
    status: int | None  # what was answered (None: reset)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    collector: Collector

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self.collector.lock:
            self.collector.connections += 1
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, 40 ms each
    server: _Server

    def do_POST(self) -> None:
        self.server.collector.handle(self)

    def do_GET(self) -> None:
        self.server.collector.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Collector:
    def __init__(self, script: Callable[[int], Reply] | Sequence[Reply] | None = None) -> None:
        self.script = script
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[Received] = []
        self.invalid: list[str] = []  # bodies that did not parse
        self.files: dict[str, Reply] = {}  # GET path -> reply
        self.released = threading.Event()
        self.first_request = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.collector = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    # -- what arrived --------------------------------------------------------------------

    def accepted_ids(self) -> list[str]:
        """Ids of every record in a request answered with a 2xx."""
        with self.lock:
            return [i for r in self.requests if r.status and 200 <= r.status < 300 for i in r.ids]

    def received_ids(self) -> list[str]:
        with self.lock:
            return [i for r in self.requests for i in r.ids]

    # -- answering -----------------------------------------------------------------------

    def _reply(self, index: int) -> Reply:
        if self.script is None:
            return Reply()
        if callable(self.script):
            return self.script(index)
        return self.script[min(index, len(self.script) - 1)]

    def handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if handler.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        ids: list[str] = []
        otlp = None
        if handler.command == "POST":
            try:
                ids, otlp = self._parse(handler.path, raw)
            except Exception as exc:  # noqa: BLE001 - a test asserts ``invalid`` is empty
                self.invalid.append(f"{handler.path}: {type(exc).__name__}: {exc}")
        with self.lock:
            index = len(self.requests)
            received = Received(index, handler.command, handler.path, dict(handler.headers), raw, ids,
                                otlp, None)
            self.requests.append(received)
        self.first_request.set()
        reply = self.files.get(handler.path, Reply(404)) if handler.command == "GET" else self._reply(index)
        if reply.hold:
            self.released.wait(30)
        if reply.reset:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.connection.close()  # the fd closes (with a reset) once the handler's files do
            return
        received.status = reply.status
        if reply.trickle:
            self._trickle(handler, reply)
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _trickle(self, handler: _Handler, reply: Reply) -> None:
        """The whole answer, status line first, one byte every ``reply.trickle`` seconds, until
        it is done or the collector stops (``__exit__``)."""
        head = [f"HTTP/1.1 {reply.status} Slow", "Content-Type: application/json",
                f"Content-Length: {len(reply.body) + 4096}"]  # the body never completes in a test
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + reply.body + b" " * 4096
        handler.close_connection = True
        for byte in data:
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return
            if self.released.wait(reply.trickle):
                return

    @staticmethod
    def _parse(path: str, raw: bytes) -> tuple[list[str], ExportLogsServiceRequest | None]:
        if urlsplit(path).path.endswith("/v1/logs"):
            message = Parse(raw.decode("utf-8"), ExportLogsServiceRequest())
            ids = []
            for resource_logs in message.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for log in scope_logs.log_records:
                        found = [a.value.string_value for a in log.attributes if a.key == "telemetry.record.id"]
                        assert len(found) == 1, "each LogRecord carries telemetry.record.id once"
                        ids.append(found[0])
            return ids, message
        data = json.loads(raw)
        assert set(data) == {"records"}
        return [r["id"] for r in data["records"]], None
