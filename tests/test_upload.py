"""payloads.py and upload.py on their own: formats, batches, URL checks and the retry policy, over an injected
``httpx.MockTransport`` client (the end-to-end tests use a real server: test_cli_send.py)."""

from __future__ import annotations

import email.utils
import gzip
import json
import time
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict, Parse
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from telemetry_gate.errors import ConfigError
from telemetry_gate.send import payloads, upload
from telemetry_gate.spool.ids import new_id
from telemetry_gate.spool.records import dumps


def _record(i: int = 0, product: str = "cellranger", version: str = "9.0.0", **metrics: Any) -> dict[str, Any]:
    record_id = new_id()
    return {"schema": 1, "id": record_id, "vendor": "tenx", "product": product, "version": version,
            "event": "count", "category": "crash" if i % 7 == 6 else "usage", "created": "2026-01-02T03:04:05.678Z",
            "metrics": {"n": i, **metrics}, "context": {"os": "Linux", "cpus": 2, "memory_bytes": None}}


def _items(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], bytes]]:
    return [(r["id"], r, dumps(r)) for r in records]


class Clock:
    """A fake monotonic clock that ``sleep`` advances: retry tests wait for nothing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(answers: list[httpx.Response | Exception], seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=False)


# -- formats ---------------------------------------------------------------------------------

def test_otlp_body_parses_with_the_official_messages() -> None:
    records = [_record(i) for i in range(7)] + [_record(9, version="9.1.0", big=2**70, ratio=0.5,
                                                        nested={"a": [1, "x", None, {"b": False}]})]
    batch = next(payloads.batches(_items(records), "otlp"))
    message = Parse(batch.body.decode(), ExportLogsServiceRequest())
    assert len(message.resource_logs) == 2  # one per version
    by_version = {}
    for resource_logs in message.resource_logs:
        attrs = {a.key: a.value.string_value for a in resource_logs.resource.attributes}
        assert attrs["service.name"] == "cellranger" and attrs["service.namespace"] == "tenx"
        by_version[attrs["service.version"]] = [log for s in resource_logs.scope_logs for log in s.log_records]
    assert [len(v) for v in by_version.values()] == [7, 1]
    logs = by_version["9.0.0"] + by_version["9.1.0"]
    assert [next(a.value.string_value for a in log.attributes if a.key == "telemetry.record.id")
            for log in logs] == [r["id"] for r in records]
    first = MessageToDict(logs[0])
    assert first["timeUnixNano"] == str(1767323045678 * 1_000_000)
    assert first["eventName"] == "count" and first["severityText"] == "INFO"
    assert MessageToDict(logs[6])["severityText"] == "ERROR"  # a crash record
    body = {kv["key"]: kv["value"] for kv in MessageToDict(logs[-1])["body"]["kvlistValue"]["values"]}
    assert body["big"] == {"stringValue": str(2**70)}  # beyond int64: kept as text, not refused
    assert body["ratio"] == {"doubleValue": 0.5}
    attrs = {a["key"]: a["value"] for a in MessageToDict(logs[0])["attributes"]}
    assert attrs["telemetry.context.os"] == {"stringValue": "Linux"}
    assert attrs["telemetry.category"] == {"stringValue": "usage"}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10)


@given(event=st.text(), category=st.sampled_from(["usage", "crash", "performance", 'we"ird\\']),
       metrics=st.dictionaries(st.text(max_size=8), _json_values, max_size=4),
       context=st.dictionaries(st.sampled_from(["os", "arch", "cpus", "é"]), _json_values, max_size=4))
def test_encoded_log_record_is_the_otlp_mapping_byte_for_byte(event: str, category: str, metrics: dict[str, Any],
                                                              context: dict[str, Any]) -> None:
    # the fast encoder (shared context encoded once) must say exactly what the mapping says
    record = {**_record(), "event": event, "category": category, "metrics": metrics, "context": context}
    for _ in range(2):  # the second time the context comes from the cache
        expected = json.dumps(payloads.log_record(record), ensure_ascii=False, separators=(",", ":")).encode()
        assert payloads.piece(record, b"", "otlp") == expected
    Parse(payloads.payload(record, b"", "otlp").decode(), ExportLogsServiceRequest())


def test_contexts_equal_in_python_but_not_in_otlp_are_encoded_apart() -> None:
    for cpus in (1, True, 1.0):
        record = {**_record(), "context": {"cpus": cpus}}
        assert payloads.piece(record, b"", "otlp") == json.dumps(
            payloads.log_record(record), ensure_ascii=False, separators=(",", ":")).encode()


def test_json_body_is_the_records_exactly_as_stored() -> None:
    items = _items([_record(i) for i in range(3)])
    batch = next(payloads.batches(items, "json"))
    assert batch.body == b'{"records":[' + b",".join(data for _, _, data in items) + b"]}"
    assert [r["id"] for r in json.loads(batch.body)["records"]] == batch.ids


def test_batches_hold_at_most_500_records_and_1_mib() -> None:
    items = _items([_record(i) for i in range(1203)])
    sizes = [len(b.ids) for b in payloads.batches(items, "otlp")]
    assert sizes == [500, 500, 203]
    heavy = _items([_record(i, blob="x" * 20_000) for i in range(120)])
    batches = list(payloads.batches(heavy, "json"))
    assert all(len(b.body) <= payloads.MAX_BYTES for b in batches) and len(batches) == 3
    assert [i for b in batches for i in b.ids] == [r["id"] for _, r, _ in heavy]


def test_digest_is_of_the_bytes_that_carried_the_record() -> None:
    import hashlib

    [(_, record, data)] = _items([_record()])
    [batch] = payloads.batches([("x", record, data)], "json")
    assert batch.digests == ["sha256:" + hashlib.sha256(data).hexdigest()]
    [batch] = payloads.batches([("x", record, data)], "otlp")
    assert batch.digests == ["sha256:" + hashlib.sha256(payloads.piece(record, data, "otlp")).hexdigest()]


# -- where to --------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://collector.example.org", "http://127.0.0.1:4318",
                                 "http://localhost:4318/", "http://[::1]:4318", "http://127.8.9.10"])
def test_allowed_urls(url: str) -> None:
    upload.check_url(url, "test")


@pytest.mark.parametrize("url", ["http://collector.example.org", "http://192.0.2.1:4318", "ftp://x",
                                 "http://[::ffff:192.0.2.1]/", "https://", "http://127.0.0.1:99999"])
def test_refused_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        upload.check_url(url, "test")


def test_otlp_goes_to_v1_logs_json_to_the_endpoint_as_given() -> None:
    assert upload.url_for("https://c.example.org/", "otlp") == "https://c.example.org/v1/logs"
    assert upload.url_for("https://c.example.org/ingest", "json") == "https://c.example.org/ingest"


def test_client_verifies_certificates_and_trusts_the_environment() -> None:
    with upload.client() as client:
        assert client.trust_env is True  # proxies, SSL_CERT_FILE
        assert client.follow_redirects is False


# -- answers ---------------------------------------------------------------------------------

def test_200_is_accepted_and_the_body_is_gzip() -> None:
    seen: list[httpx.Request] = []
    batch = next(payloads.batches(_items([_record()]), "otlp"))
    answer = upload.send(batch.body, "http://127.0.0.1/v1/logs", client=_client([httpx.Response(200)], seen),
                         deadline=upload.Deadline(5))
    assert answer.outcome == "accepted" and answer.attempts == 1
    assert seen[0].headers["content-encoding"] == "gzip"
    assert gzip.decompress(seen[0].content) == batch.body


def test_retry_after_in_seconds_then_200(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200)], seen)
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=client, deadline=upload.Deadline(60, clock),
                         sleep=clock.sleep)
    assert answer.outcome == "accepted" and answer.attempts == 2 and clock.sleeps == [7.0]


def test_retry_after_as_an_http_date() -> None:
    future = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 18 <= (upload.retry_after(future) or 0) <= 20
    assert upload.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert upload.retry_after("soon") is None and upload.retry_after("12") == 12.0


def test_retry_after_is_capped_and_backoff_grows_with_jitter() -> None:
    clock = Clock()
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [httpx.Response(429, headers={"Retry-After": "3600"})]
    answers += [httpx.Response(s) for s in (502, 504, 408)]
    answers += [httpx.ConnectError("refused"), httpx.Response(200)]
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=_client(answers, seen),
                         deadline=upload.Deadline(1000, clock), retry=upload.Retry(base=1, cap=10),
                         sleep=clock.sleep)
    assert answer.outcome == "accepted" and answer.attempts == 6
    assert clock.sleeps[0] == 10  # Retry-After: 3600 honoured up to the cap
    for n, waited in enumerate(clock.sleeps[1:], start=2):
        full = min(10, 2 ** (n - 1))
        assert full / 2 <= waited <= full


def test_503_forever_gives_up_within_the_deadline() -> None:
    clock = Clock()
    seen: list[httpx.Request] = []
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=_client([httpx.Response(503)], seen),
                         deadline=upload.Deadline(20, clock), retry=upload.Retry(base=1, cap=4),
                         sleep=clock.sleep)
    assert answer.outcome == "failed" and answer.status == 503
    assert clock.now <= 20 and len(seen) == answer.attempts >= 4


@pytest.mark.parametrize("status", [400, 405, 413, 422])
def test_other_statuses_refuse_the_batch_with_the_first_bytes(status: int) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(status, content=b"bad field " + b"x" * 5000)], seen)
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=client, deadline=upload.Deadline(5))
    assert answer.outcome == "refused" and answer.status == status and len(seen) == 1
    assert answer.detail.startswith("bad field") and len(answer.detail) == upload.ANSWER_BYTES


def test_partial_success_is_reported_not_retried() -> None:
    seen: list[httpx.Request] = []
    body = json.dumps({"partialSuccess": {"rejectedLogRecords": "2", "errorMessage": "too old"}}).encode()
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=_client([httpx.Response(200, content=body)], seen),
                         deadline=upload.Deadline(5))
    assert answer.outcome == "accepted" and len(seen) == 1
    assert answer.partial == "the collector dropped 2 log records: too old"


def test_redirects_only_within_the_origin() -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(307, headers={"Location": "/v2/logs"}), httpx.Response(200)], seen)
    answer = upload.send(b"{}", "http://127.0.0.1:4318/v1/logs", client=client, deadline=upload.Deadline(5))
    assert answer.outcome == "accepted" and str(seen[1].url) == "http://127.0.0.1:4318/v2/logs"
    assert seen[1].method == "POST" and seen[1].content == seen[0].content
    seen.clear()
    client = _client([httpx.Response(308, headers={"Location": "https://elsewhere.example.org/v1/logs"})], seen)
    answer = upload.send(b"{}", "http://127.0.0.1:4318/v1/logs", client=client, deadline=upload.Deadline(5))
    assert answer.outcome == "failed" and len(seen) == 1 and "not followed" in answer.detail
