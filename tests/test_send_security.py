"""``send`` hardening (issue 14): what a 2xx means when the audit log fails, and where
plain-http records may go."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from collector import Collector
from conftest import Env, Telemetry, fill


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def test_a_failed_audit_write_never_sends_accepted_records_again(isolation: Env, inprocess: Telemetry,
                                                                 collector: Collector) -> None:
    ids = fill(5)
    sent = isolation.spool / "sent"
    sent.mkdir()
    for day in (time.time(), time.time() + 86400):  # a directory where today's audit file goes
        (sent / f"{time.strftime('%Y-%m-%d', time.gmtime(day))}.jsonl").mkdir()

    first = inprocess("send", "--endpoint", collector.url)
    assert first.exit_code == 74, first.stderr
    assert "internal error" not in first.stderr and "Traceback" not in first.stderr
    assert "5 records were delivered (HTTP 200) but not written to the audit log" in first.stderr
    assert "Is a directory" in first.stderr

    second = inprocess("send", "--endpoint", collector.url)
    assert second.exit_code == 0, second.stderr
    counted = Counter(collector.received_ids())
    assert set(counted) == set(ids) and set(counted.values()) == {1}  # each record posted once
    assert not list((isolation.spool / "pending").rglob("*.json"))
    assert not list((isolation.spool / "sending").rglob("*.json"))


# -- loopback never goes through a proxy; other hosts do --------------------------------------

@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_loopback_endpoint_never_goes_through_a_proxy(isolation: Env, inprocess: Telemetry,
                                                        collector: Collector, monkeypatch: pytest.MonkeyPatch,
                                                        variable: str) -> None:
    ids = fill(3)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Collector() as proxy:
        monkeypatch.setenv(variable, proxy.url)
        out = inprocess("send", "--endpoint", collector.url)
        assert out.exit_code == 0, out.stderr
        assert proxy.connections == 0 and proxy.requests == []
    assert sorted(collector.accepted_ids()) == sorted(ids)


def test_other_hosts_still_go_through_the_environment_proxy(isolation: Env, inprocess: Telemetry,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fill(1)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Collector() as proxy:  # it answers CONNECT with an error: the proxy was asked, that is enough
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        out = inprocess("send", "--endpoint", "https://collector.example.invalid", "--timeout", "2")
        assert out.exit_code == 5
        assert proxy.connections >= 1
    assert len(list((isolation.spool / "pending" / "cellranger").glob("*.json"))) == 1
