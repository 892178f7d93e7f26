"""What ``send`` posts: one record's piece of a request body, whole bodies and batches (SPEC 7).

Formats (the request body, before gzip):

- ``otlp``: the protobuf JSON mapping of an OTLP ``ExportLogsServiceRequest``, posted to
  ``<endpoint>/v1/logs``. One ResourceLogs per (vendor, product, version) with
  ``service.namespace``/``service.name``/``service.version``; one LogRecord per record:
  ``timeUnixNano`` from ``created``, ``eventName`` the event, severity INFO (ERROR for
  ``crash``), the metrics as a key-value list in ``body``, and attributes
  ``telemetry.record.id``, ``telemetry.schema``, ``telemetry.category`` and
  ``telemetry.context.<key>`` for each context key.
- ``json``: ``{"records": [...]}`` posted to the endpoint as given, records exactly as stored.

No network here: ``inspect ID`` and ``send --dry-run`` build payloads without importing httpx.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from telemetry_gate._version import __version__

MAX_RECORDS = 500
MAX_BYTES = 1 << 20  # of the body before gzip
_INT64 = (-(1 << 63), (1 << 63) - 1)

T = TypeVar("T")


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
        return {"doubleValue": value} if math.isfinite(value) else {}  # NaN, Infinity: null, as stored
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
    from telemetry_gate.spool.ids import timestamp

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


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
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
