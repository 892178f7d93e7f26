"""Putting records on the wire: formats, batches, the HTTP client and the retry policy (SPEC 7).

The only module that imports httpx, and only inside the functions that talk to the network:
building a payload (``inspect ID``, ``send --dry-run``) costs no httpx import.

Formats (the request body, before gzip):

- ``otlp``: the protobuf JSON mapping of an OTLP ``ExportLogsServiceRequest``, posted to
  ``<endpoint>/v1/logs``. One ResourceLogs per (vendor, product, version) with
  ``service.namespace``/``service.name``/``service.version``; one LogRecord per record:
  ``timeUnixNano`` from ``created``, ``eventName`` the event, severity INFO (ERROR for
  ``crash``), the metrics as a key-value list in ``body``, and attributes
  ``telemetry.record.id``, ``telemetry.schema``, ``telemetry.category`` and
  ``telemetry.context.<key>`` for each context key.
- ``json``: ``{"records": [...]}`` posted to the endpoint as given, records exactly as stored.

Answers: 2xx accepted (an OTLP ``partialSuccess`` is reported, not retried); 408, 429, 502,
503, 504 and connection errors retried with exponential backoff and jitter, honouring
``Retry-After`` (seconds or an HTTP date) up to ``Retry.cap``, while the deadline allows; a
redirect is followed only to the same origin; any other status refuses the batch.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import ipaddress
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit

from ._version import __version__
from .errors import ConfigError

if TYPE_CHECKING:
    import httpx

    Client = httpx.Client  # for the annotations of other modules, which may not import httpx

MAX_RECORDS = 500
MAX_BYTES = 1 << 20  # of the body before gzip
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
ANSWER_BYTES = 1024  # of a refusal, kept in rejected/
REQUEST_TIMEOUT = 30.0
MAX_REDIRECTS = 3
USER_AGENT = f"telemetry-gate/{__version__}"
_INT64 = (-(1 << 63), (1 << 63) - 1)

T = TypeVar("T")


# -- where to -------------------------------------------------------------------------------

def url_for(endpoint: str, fmt: str) -> str:
    return endpoint.rstrip("/") + "/v1/logs" if fmt == "otlp" else endpoint


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def check_url(url: str, source: str) -> None:
    """Refuse, before any connection, a URL that is not https (except to a loopback host)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{url!r} from {source} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{url!r} from {source} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"refusing {url} from {source}: records leave the machine only over https",
                          "plain http is allowed only to a loopback host (localhost, 127.0.0.1, [::1])")


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    return (pa.scheme, pa.hostname, pa.port or default.get(pa.scheme)) == (
        pb.scheme, pb.hostname, pb.port or default.get(pb.scheme))


# -- formats ---------------------------------------------------------------------------------

def _any_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON value as an OTLP ``AnyValue`` (int64 as a string, as the JSON mapping says)."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, dict) and depth < 64:
        return {"kvlistValue": {"values": [{"key": str(k), "value": _any_value(v, depth + 1)}
                                           for k, v in value.items()]}}
    if isinstance(value, list) and depth < 64:
        return {"arrayValue": {"values": [_any_value(v, depth + 1) for v in value]}}
    return {}  # null: an empty AnyValue


def _nanos(record: Mapping[str, Any]) -> str:
    created = record.get("created")
    if isinstance(created, str):
        try:
            return str(int(datetime.fromisoformat(created).timestamp() * 1000) * 1_000_000)
        except ValueError:
            pass
    from .ids import timestamp

    return str(int((timestamp(str(record.get("id"))) or 0) * 1000) * 1_000_000)


def log_record(record: Mapping[str, Any]) -> dict[str, Any]:
    crash = record.get("category") == "crash"
    attributes = [
        {"key": "telemetry.record.id", "value": {"stringValue": str(record["id"])}},
        {"key": "telemetry.schema", "value": _any_value(record.get("schema"))},
        {"key": "telemetry.category", "value": {"stringValue": str(record.get("category"))}},
    ]
    context = record.get("context")
    if isinstance(context, dict):
        attributes += [{"key": f"telemetry.context.{k}", "value": _any_value(v)} for k, v in context.items()]
    when = _nanos(record)
    return {
        "timeUnixNano": when,
        "observedTimeUnixNano": when,
        "severityNumber": 17 if crash else 9,
        "severityText": "ERROR" if crash else "INFO",
        "eventName": str(record.get("event", "")),
        "body": _any_value(record.get("metrics", {})),
        "attributes": attributes,
    }


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string: Callable[[str], str] = json.encoder.encode_basestring


def _any_json(value: Any, depth: int = 0) -> str:
    """``_encode(_any_value(value))``, written straight from the value (no dicts in between);
    anything unusual (a subclass, a float that is not finite) takes the reference path."""
    kind = type(value)
    if kind is str:
        return '{"stringValue":' + _string(value) + "}"
    if kind is bool:
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if kind is int and _INT64[0] <= value <= _INT64[1]:
        return '{"intValue":"' + int.__repr__(value) + '"}'
    if kind is float and math.isfinite(value):
        return '{"doubleValue":' + float.__repr__(value) + "}"
    if kind is dict and depth < 64:
        return '{"kvlistValue":{"values":[' + ",".join(
            '{"key":' + _string(str(k)) + ',"value":' + _any_json(v, depth + 1) + "}"
            for k, v in value.items()) + "]}}"
    if kind is list and depth < 64:
        return '{"arrayValue":{"values":[' + ",".join(_any_json(v, depth + 1) for v in value) + "]}}"
    return _encode(_any_value(value, depth))
_CONTEXTS: dict[tuple[tuple[str, type, Any], ...], str] = {}  # context -> its attributes, encoded


def _context_attributes(context: Any) -> str:
    """The encoded ``telemetry.context.*`` attributes; records of one machine and product
    share their context, so each distinct one is encoded once."""
    if not isinstance(context, dict):
        return ""
    try:
        key = tuple((k, type(v), v) for k, v in context.items())  # 1, 1.0 and True differ
        cached = _CONTEXTS.get(key)
    except TypeError:  # an unhashable value: encode it every time
        key, cached = (), None
    if cached is None:
        cached = "".join(',{"key":' + _string(f"telemetry.context.{k}") + ',"value":' + _any_json(v) + "}"
                         for k, v in context.items())
        if key and len(_CONTEXTS) < 256:
            _CONTEXTS[key] = cached
    return cached


def encode_log_record(record: Mapping[str, Any]) -> bytes:
    """``log_record(record)`` as compact JSON: the same bytes, built without re-encoding the
    parts that every record of a product shares."""
    crash = record.get("category") == "crash"
    when = _nanos(record)
    return (
        f'{{"timeUnixNano":"{when}","observedTimeUnixNano":"{when}",'
        f'"severityNumber":{17 if crash else 9},"severityText":"{"ERROR" if crash else "INFO"}",'
        f'"eventName":{_encode(str(record.get("event", "")))},'
        f'"body":{_any_json(record.get("metrics", {}))},'
        f'"attributes":[{{"key":"telemetry.record.id","value":{{"stringValue":{_encode(str(record["id"]))}}}}},'
        f'{{"key":"telemetry.schema","value":{_any_json(record.get("schema"))}}},'
        f'{{"key":"telemetry.category","value":{{"stringValue":{_encode(str(record.get("category")))}}}}}'
        f'{_context_attributes(record.get("context"))}]}}'
    ).encode()


def piece(record: Mapping[str, Any], data: bytes, fmt: str) -> bytes:
    """The bytes that carry one record in a request body (its digest goes to the audit)."""
    if fmt == "json":
        return data
    return encode_log_record(record)


def _resource(vendor: str, product: str, version: str) -> bytes:
    attributes = [{"key": k, "value": {"stringValue": v}} for k, v in (
        ("service.namespace", vendor), ("service.name", product), ("service.version", version))]
    return json.dumps({"attributes": attributes}, ensure_ascii=False, separators=(",", ":")).encode()


_SCOPE = json.dumps({"name": "telemetry-gate", "version": __version__}, separators=(",", ":")).encode()


def body(items: Iterable[tuple[Mapping[str, Any], bytes]], fmt: str) -> bytes:
    """A whole request body from (record, piece) pairs."""
    if fmt == "json":
        return b'{"records":[' + b",".join(p for _r, p in items) + b"]}"
    groups: dict[tuple[str, str, str], list[bytes]] = {}
    for record, part in items:
        key = (str(record.get("vendor", "")), str(record.get("product", "")), str(record.get("version", "")))
        groups.setdefault(key, []).append(part)
    resource_logs = [
        b'{"resource":' + _resource(*key) + b',"scopeLogs":[{"scope":' + _SCOPE
        + b',"logRecords":[' + b",".join(parts) + b"]}]}"
        for key, parts in groups.items()
    ]
    return b'{"resourceLogs":[' + b",".join(resource_logs) + b"]}"


def payload(record: Mapping[str, Any], data: bytes, fmt: str) -> bytes:
    """The exact body ``send`` posts for this record alone (before gzip)."""
    return body([(record, piece(record, data, fmt))], fmt)


class Batch(NamedTuple, Generic[T]):
    items: list[T]  # what the caller passed along with each record (its claimed file)
    ids: list[str]
    digests: list[str]
    body: bytes


def batches(records: Iterable[tuple[T, Mapping[str, Any], bytes]], fmt: str,
            max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES) -> Iterator[Batch[T]]:
    """Group (item, record, stored bytes) into batches of at most ``max_records`` records and
    ``max_bytes`` of body, lazily: a record is read only when its batch is being filled."""
    budget = max_bytes - 4096  # room for the envelope (resources, scope)
    items: list[T] = []
    pairs: list[tuple[Mapping[str, Any], bytes]] = []
    ids: list[str] = []
    digests: list[str] = []
    size = 0
    for item, record, data in records:
        part = piece(record, data, fmt)
        if pairs and (len(pairs) >= max_records or size + len(part) + 1 > budget):
            yield Batch(items, ids, digests, body(pairs, fmt))
            items, pairs, ids, digests, size = [], [], [], [], 0
        items.append(item)
        pairs.append((record, part))
        ids.append(str(record["id"]))
        digests.append("sha256:" + hashlib.sha256(part).hexdigest())
        size += len(part) + 1
    if pairs:
        yield Batch(items, ids, digests, body(pairs, fmt))


# -- the wire --------------------------------------------------------------------------------

class Retry(NamedTuple):
    """Exponential backoff with jitter: the n-th wait is drawn in [d/2, d], d = min(cap, base * 2**n);
    a ``Retry-After`` is honoured up to ``cap``. Nothing waits past the deadline."""

    base: float = 0.5
    cap: float = 30.0


DEFAULT_RETRY = Retry()


class Deadline:
    """The end of the whole run's time (``send --timeout``)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self.clock()


class Answer(NamedTuple):
    outcome: str  # "accepted", "refused" (the collector said no: rejected/), "failed" (try later)
    status: int | None
    detail: str  # the first bytes of the answer, or what went wrong
    attempts: int
    partial: str | None = None  # an OTLP partialSuccess, as text


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def client(proxy_from_env: bool = True) -> httpx.Client:
    """One keep-alive client: certificates verified, proxies and ``SSL_CERT_FILE`` from the
    environment (``trust_env``), redirects never followed by httpx (see ``_exchange``)."""
    import httpx

    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=proxy_from_env,
        verify=True,
        timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=10.0),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def _exchange(http: httpx.Client, method: str, url: str, content: bytes | None,
              headers: dict[str, str], timeout: float, keep: int) -> tuple[int, bytes, str | None]:
    """One request, following redirects only within the origin; returns (status, the first
    ``keep`` bytes of the answer, Retry-After)."""
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        request = http.build_request(method, url, content=content, headers=headers,
                                     timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        response = http.send(request, stream=True)
        try:
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= keep:
                    break
            status = response.status_code
            location = response.headers.get("location")
            wait = response.headers.get("retry-after")
        finally:
            response.close()
        if status in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            if not _same_origin(url, target):
                raise _Redirected(status, target)
            if method == "POST" and status not in (307, 308):
                raise _Redirected(status, target)
            url = target
            continue
        return status, head[:keep], wait
    raise _Redirected(0, url)


class _Redirected(Exception):
    def __init__(self, status: int, target: str) -> None:
        super().__init__(f"{status} redirect to {target} not followed")
        self.status = status


def exchange(http: httpx.Client, method: str, url: str, *, content: bytes | None = None,
             headers: Mapping[str, str] | None = None, deadline: Deadline, retry: Retry = DEFAULT_RETRY,
             keep: int = ANSWER_BYTES, sleep: Callable[[float], None] = time.sleep,
             rand: Callable[[], float] = random.random) -> tuple[Answer, bytes]:
    """One request with the retry policy; returns the answer and the first ``keep`` bytes."""
    import httpx

    attempts = 0
    status: int | None = None
    detail = ""
    while True:
        remaining = deadline.remaining()
        if remaining <= 0:
            return Answer("failed", status, detail or "deadline reached", attempts), b""
        attempts += 1
        wait: float | None = None
        try:
            status, head, after = _exchange(http, method, url, content, dict(headers or {}),
                                            min(remaining, REQUEST_TIMEOUT), keep)
        except _Redirected as exc:
            return Answer("failed", exc.status or None, str(exc), attempts), b""
        except (httpx.TransportError, OSError) as exc:
            if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError)):
                return Answer("failed", None, f"{type(exc).__name__}: {exc}", attempts), b""
            status, detail = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            text = head.decode("utf-8", "replace")
            if 200 <= status < 300:
                return Answer("accepted", status, text, attempts), head
            if status not in RETRY_STATUSES:
                return Answer("refused", status, text, attempts), head
            detail = f"HTTP {status}"
            wait = retry_after(after)
        backoff = min(retry.cap, retry.base * 2 ** (attempts - 1))
        delay = min(wait, retry.cap) if wait is not None else backoff * (0.5 + rand() / 2)
        if delay >= deadline.remaining():
            return Answer("failed", status, f"{detail}; gave up after {attempts} attempts "
                          "(the deadline does not allow another)", attempts), b""
        sleep(delay)


def send(batch_body: bytes, url: str, *, client: httpx.Client, deadline: Deadline,
         retry: Retry = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep) -> Answer:
    """POST one batch, gzip-compressed, over ``client`` (inject an ``httpx.MockTransport``
    client in tests); a 2xx with an OTLP ``partialSuccess`` is accepted and reported."""
    compressed = gzip.compress(batch_body, compresslevel=5, mtime=0)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer, head = exchange(client, "POST", url, content=compressed, headers=headers,
                            deadline=deadline, retry=retry, sleep=sleep, keep=65536)
    if answer.outcome == "accepted":
        return answer._replace(detail=answer.detail[:ANSWER_BYTES], partial=_partial(head))
    return answer._replace(detail=answer.detail[:ANSWER_BYTES])


def _partial(head: bytes) -> str | None:
    try:
        data = json.loads(head)
        partial = data.get("partialSuccess") or data.get("partial_success")
    except (ValueError, AttributeError):
        return None
    if not isinstance(partial, dict):
        return None
    count = partial.get("rejectedLogRecords") or partial.get("rejected_log_records")
    message = partial.get("errorMessage") or partial.get("error_message") or ""
    if not count and not message:
        return None
    return f"the collector dropped {count or 0} log records: {message}".rstrip(": ")


def fetch(url: str, *, client: httpx.Client, deadline: Deadline, retry: Retry = DEFAULT_RETRY,
          limit: int = 1 << 20) -> tuple[Answer, bytes]:
    """GET ``url`` (``update``): the answer and at most ``limit`` + 1 bytes of the body."""
    return exchange(client, "GET", url, deadline=deadline, retry=retry, keep=limit + 1)
