"""Issue 14 item 8: what each answer does to a batch. Only "other 4xx" rejects records; 401, 403,
404 and 5xx outside the retry set leave them pending; ``send --rejected`` sends refused records
again under the same policy; ``check`` counts them. Against the real loopback collector."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry, fill
from telemetry_gate.send import upload


def _files(env: Env, where: str) -> dict[str, bytes]:
    folder = env.spool / where / "cellranger"
    return {p.name: p.read_bytes() for p in folder.glob("*.json")} if folder.exists() else {}


@pytest.mark.parametrize("status", [400, 405, 409, 413, 415, 422, 428, 431, 451])
def test_other_4xx_refuses_the_batch(status: int) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status, content=b"no")))
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=client, deadline=upload.Deadline(5))
    assert answer.outcome == "refused" and answer.attempts == 1 and answer.detail == "no"


@pytest.mark.parametrize("status", [401, 403, 404, 500, 501, 505, 511, 600, 304])
def test_wrong_endpoint_credentials_and_server_failures_are_not_refusals(status: int) -> None:
    seen: list[httpx.Request] = []

    def answer_with(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=b"nope")

    client = httpx.Client(transport=httpx.MockTransport(answer_with))
    answer = upload.send(b"{}", "http://127.0.0.1/x", client=client, deadline=upload.Deadline(5))
    assert answer.outcome == "failed" and answer.status == status and len(seen) == 1  # not retried


@pytest.mark.parametrize("status", [500, 401, 403, 404])
def test_a_500_or_a_wrong_endpoint_leaves_the_records_pending(inprocess: Telemetry, isolation: Env,
                                                             status: int) -> None:
    fill(6)
    before = _files(isolation, "pending")
    with Collector([Reply(status, body=b"<html>not here</html>")]) as collector:
        out = inprocess("send", "--endpoint", collector.url)
    assert out.exit_code == 5, out.stderr
    assert len(collector.requests) == 1  # not retried for the whole minute either
    assert _files(isolation, "pending") == before and _files(isolation, "rejected") == {}
    line = next(x for x in out.stderr.splitlines() if x.startswith("cellranger:"))
    assert "6 still pending" in line and f"HTTP {status}" in line
    if status < 500:
        assert "likely a wrong endpoint or credentials" in line
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr


def test_send_rejected_sends_refused_records_again(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(4)
    with Collector([Reply(400, body=b'{"message": "schema"}')]) as collector:
        assert telemetry("send", "--endpoint", collector.url).exit_code == 5
    refused = _files(isolation, "rejected")
    assert len(refused) == 4
    check = json.loads(telemetry("check", "--json").stdout)
    assert check["spool"]["rejected"] == 4 and check["spool"]["pending"] == 0
    assert "4 rejected" in telemetry("check").stdout
    for view in (["inspect", "--rejected"], ["inspect", "--rejected", "--json"]):
        out = telemetry(*view)  # the answer file beside the batch is no stray
        assert out.exit_code == 0 and "stray" not in out.stderr and ".answer" not in out.stderr, out.stderr
    stray = isolation.spool / "rejected" / "cellranger" / "notes.txt"
    stray.write_text("mine")
    out = telemetry("inspect", "--rejected")
    assert f"1 stray file(s) in the spool's rejected/ are not records and are never sent: {stray}" in out.stderr
    stray.unlink()

    with Collector() as collector:  # the collector was fixed
        out = telemetry("send", "--rejected", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert "stray" not in out.stderr and ".answer" not in out.stderr  # its own answer file is no stray
    assert Counter(collector.accepted_ids()) == Counter(ids)
    assert {r.path for r in collector.requests} == {"/v1/logs"}
    assert _files(isolation, "rejected") == {} and _files(isolation, "pending") == {}
    assert list((isolation.spool / "rejected" / "cellranger").iterdir()) == []  # answers tidied
    assert json.loads(telemetry("check", "--json").stdout)["spool"]["rejected"] == 0
    audit = json.loads(telemetry("inspect", "--sent", "--json").stdout)
    assert sorted(e["id"] for e in audit) == sorted(ids)


def test_send_rejected_obeys_policy_and_a_new_refusal_keeps_them_rejected(inprocess: Telemetry,
                                                                         isolation: Env) -> None:
    fill(3)
    with Collector([Reply(422)]) as collector:
        assert inprocess("send", "--endpoint", collector.url).exit_code == 5
    refused = _files(isolation, "rejected")
    with Collector() as collector:
        out = inprocess("send", "--rejected", "--endpoint", collector.url, env={"DO_NOT_TRACK": "1"})
        assert collector.connections == 0 and out.exit_code == 0
    assert "upload is disabled by DO_NOT_TRACK=1 (environment); 3 rejected" in out.stderr
    assert _files(isolation, "rejected") == refused
    with Collector([Reply(503)]) as collector:  # a failure leaves them where they were
        out = inprocess("send", "--rejected", "--endpoint", collector.url, "--timeout", "0.5")
    assert out.exit_code == 5 and _files(isolation, "rejected") == refused and _files(isolation, "pending") == {}
    assert "0 sent, 0 rejected, 3 still rejected" in out.stderr and "pending" not in out.stderr  # not in pending/
    assert "upload incomplete: 3 still rejected" in out.stderr and "'telemetry send --rejected' tries" in out.stderr
    with Collector([Reply(400, body=b"still no")]) as collector:
        out = inprocess("send", "--rejected", "--endpoint", collector.url)
    assert out.exit_code == 5 and _files(isolation, "rejected") == refused
    shown = json.loads(inprocess("inspect", "--rejected", "--json").stdout)
    assert {r["rejected_status"] for r in shown} == {400} and {r["rejected_answer"] for r in shown} == {"still no"}
