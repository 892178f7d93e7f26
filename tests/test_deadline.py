"""Issue 14 item 9: ``--timeout`` bounds the whole exchange. A collector that trickles its
answer a byte at a time, a TLS failure, ``Retry-After: 0``: each ends within the deadline and
leaves the records pending. Against the real loopback collector; no test asserts a duration:
a subprocess timeout only guards against a hang (the bug itself)."""

from __future__ import annotations

import subprocess

import httpx

from collector import Collector, Reply
from conftest import Env, Telemetry, fill, script_path
from telemetry_gate.send import upload
from test_upload import Clock

GUARD = 60  # seconds: far beyond the deadlines below, far below "minutes"


def _send(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script_path(), "send", *args], capture_output=True, text=True, timeout=GUARD)


def test_a_collector_that_trickles_its_answer_does_not_outlast_the_timeout(isolation: Env) -> None:
    fill(3)
    before = isolation.pending()
    # the answer would take ~20 minutes at this pace; each byte resets httpx's read timeout
    with Collector([Reply(200, trickle=0.25)]) as collector:
        done = _send("--endpoint", collector.url, "--timeout", "1.5")
        assert collector.first_request.is_set()
    assert done.returncode == 5, done.stderr
    assert "deadline" in done.stderr and "3 still pending" in done.stderr
    assert isolation.pending() == before and list((isolation.spool / "sending").rglob("*.json")) == []


def test_update_from_a_trickling_server_does_not_outlast_the_deadline(isolation: Env) -> None:
    import threading

    from telemetry_gate.policy.gate import Gate
    from telemetry_gate.send import config

    with Collector() as collector:
        collector.files["/config.json"] = Reply(200, body=b"{}", trickle=0.25)
        folder = isolation.system_dir / "products.d"
        folder.mkdir(parents=True)
        (folder / "cellranger.toml").write_text(
            f'[product]\nname = "cellranger"\nversion = "9.0.0"\nconfig_url = "{collector.url}/config.json"\n')
        found: list[object] = []
        worker = threading.Thread(target=lambda: found.extend(config.update(Gate.open("tenx"), timeout=1.5)),
                                  daemon=True)
        worker.start()
        worker.join(GUARD)
        assert not worker.is_alive()
    [result] = found
    assert result.state == "failed" and "deadline" in result.detail  # type: ignore[attr-defined]


def test_a_tls_failure_is_not_retried_for_the_whole_minute(inprocess: Telemetry, isolation: Env) -> None:
    fill(2)
    before = isolation.pending()
    with Collector() as collector:  # plain HTTP: the TLS handshake fails (wrong version number)
        https = collector.url.replace("http://", "https://")
        out = inprocess("send", "--endpoint", https, "--timeout", "3")
        connections = collector.connections
    assert out.exit_code == 5 and "TLS failed" in out.stderr, out.stderr
    assert connections == 1 and isolation.pending() == before


def test_retry_after_zero_is_not_a_tight_loop(inprocess: Telemetry, isolation: Env) -> None:
    fill(2)
    before = isolation.pending()
    with Collector([Reply(503, headers={"Retry-After": "0"})]) as collector:
        out = inprocess("send", "--endpoint", collector.url, "--timeout", "1")
        requests = len(collector.requests)
    assert out.exit_code == 5 and isolation.pending() == before
    assert 2 <= requests <= 6  # backoff 0.25-0.5 s, then 0.5-1 s, ...: a tight loop makes hundreds


def test_retry_after_zero_waits_the_backoff() -> None:
    clock = Clock()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, headers={"Retry-After": "0"}) if len(seen) < 4 else httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    result = upload.send(b"{}", "http://127.0.0.1/x", client=client, deadline=upload.Deadline(100, clock),
                         retry=upload.Retry(base=1, cap=10), sleep=clock.sleep)
    assert result.outcome == "accepted" and len(clock.sleeps) == 3
    assert all(waited >= 2 ** n / 2 for n, waited in enumerate(clock.sleeps))
