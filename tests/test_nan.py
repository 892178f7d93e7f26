"""Issue 14 item 12: NaN and Infinity are not JSON. The library stores them as ``null``; a
stored file that holds them anyway is malformed (quarantined by ``send``, never posted); no
payload ever carries them. Everything is checked with a strict parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.send import payloads
from telemetry_gate.spool.ids import new_id


def _strict(data: bytes | str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def _pending(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "cellranger"


def test_non_finite_metrics_are_stored_as_null_and_post_as_valid_json(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    inf = float("inf")
    with rec.run("count", params={"ratio": float("nan")}) as run:
        run.metric("rate", inf)
        run.metric("nested", {"low": -inf, "list": [float("nan"), 1.5]})
    [path] = _pending(isolation).glob("*.json")
    stored = _strict(path.read_bytes())
    assert stored["metrics"]["ratio"] is None and stored["metrics"]["rate"] is None
    assert stored["metrics"]["nested"] == {"low": None, "list": [None, 1.5]}
    for fmt in ("otlp", "json"):
        [batch] = payloads.batches([(stored["id"], stored, path.read_bytes())], fmt)
        _strict(batch.body)
    [batch] = payloads.batches([(stored["id"], stored, path.read_bytes())], "otlp")
    Parse(batch.body.decode(), ExportLogsServiceRequest())


def test_a_payload_never_carries_nan_even_from_a_record_built_in_memory() -> None:
    record = {"schema": 1, "id": new_id(), "vendor": "tenx", "product": "cellranger", "version": "9.0.0",
              "event": "count", "category": "usage", "created": "2026-11-25T00:00:00.000Z",
              "metrics": {"a": float("nan"), "b": [float("inf")], "c": {"d": -float("inf")}},
              "context": {"load": float("nan")}}
    body = payloads.encode_log_record(record)
    assert _strict(body)["body"]["kvlistValue"]["values"][0] == {"key": "a", "value": {}}
    assert payloads.encode_log_record(record) == json.dumps(payloads.log_record(record), separators=(",", ":"),
                                                            ensure_ascii=False).encode()


def test_a_stored_nan_is_quarantined_never_posted(telemetry: Telemetry, isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    good = rec.record("count", metrics={"n": 1})
    bad_id = new_id()
    bad = _pending(isolation) / f"{bad_id}.json"
    bad.write_text(f'{{"schema":1,"id":"{bad_id}","vendor":"tenx","product":"cellranger","version":"9.0.0",'
                   '"event":"count","category":"usage","created":"2026-11-25T00:00:00.000Z",'
                   '"metrics":{"rate":NaN,"peak":Infinity},"context":{}}')
    out = telemetry("inspect")
    assert "NaN is not a JSON number" in out.stderr
    with Collector() as collector:
        out = telemetry("send", "--endpoint", collector.url)
        bodies = [r.body for r in collector.requests]
    assert out.exit_code == 0, out.stderr
    assert collector.accepted_ids() == [good] and collector.invalid == []
    for body in bodies:
        _strict(body)
    assert not bad.exists() and "not a JSON number" in out.stderr
