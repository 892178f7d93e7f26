"""``send`` hardening (issue 14): what a 2xx means when the audit log fails, and where
plain-http records may go."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder


def _spool(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "spool"


def _fill(n: int, product: str = "cellranger") -> list[str]:
    rec = Recorder(product, "9.0.0")
    ids = [rec.record("count", metrics={"n": i}) for i in range(n)]
    assert all(ids), rec.problem
    return ids  # type: ignore[return-value]


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def test_a_failed_audit_write_never_sends_accepted_records_again(isolation: Env, inprocess: Telemetry,
                                                                 collector: Collector) -> None:
    ids = _fill(5)
    sent = _spool(isolation) / "sent"
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
    assert not list((_spool(isolation) / "pending").rglob("*.json"))
    assert not list((_spool(isolation) / "sending").rglob("*.json"))
