"""``send`` reads and builds the next batches while one is posted (send/overlap.py): a record
still leaves the disk only after the 2xx of its own batch, and a failure leaves every later
record pending, exactly as stored."""

from __future__ import annotations

import json

from collector import Collector, Reply
from conftest import Env, Telemetry, fill


def _on_disk(env: Env, ids: list[str]) -> set[str]:
    """The records of ``ids`` still on disk: pending/ or a sender's claim."""
    return {p.stem for p in env.spool.rglob("*.json")} & set(ids)


def test_no_record_leaves_the_disk_before_its_own_2xx(inprocess: Telemetry, isolation: Env) -> None:
    ids = fill(1200)  # three batches of at most 500: the later ones are built while one is posted
    before = isolation.pending()
    on_disk: dict[int, set[str]] = {}

    def answer(index: int) -> Reply:  # runs when a request arrives, before it is answered
        on_disk[index] = _on_disk(isolation, ids)
        return Reply(200) if index == 0 else Reply(503)

    with Collector(answer) as collector:
        out = inprocess("send", "--endpoint", collector.url, "--timeout", "1.5")
    assert out.exit_code == 5, out.stderr
    first = set(collector.requests[0].ids)
    assert len(first) == 500 and first <= set(ids)
    assert on_disk[0] == set(ids)  # nothing removed before the first answer
    later = set(ids) - first
    assert len(on_disk) >= 2 and all(on_disk[i] >= later for i in on_disk if i >= 1)
    assert isolation.pending() == {i: data for i, data in before.items() if i not in first}
    assert not list((isolation.spool / "sending").rglob("*.json"))
    sent = json.loads(inprocess("inspect", "--sent", "--all", "--json").stdout)
    assert {entry["id"] for entry in sent} == first


def test_every_batch_accepted_removes_every_record_once(inprocess: Telemetry, isolation: Env) -> None:
    ids = fill(1100)
    with Collector([Reply(200)]) as collector:
        out = inprocess("send", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert sorted(collector.accepted_ids()) == sorted(ids) and len(collector.requests) == 3
    assert isolation.pending() == {} and not list((isolation.spool / "sending").rglob("*.json"))
