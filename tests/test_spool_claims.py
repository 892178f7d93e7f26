"""Claims (spool.py) and what became of sent records (outcomes.py), on a real spool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import Env, fill
from telemetry_gate import Recorder
from telemetry_gate.spool import outcomes
from telemetry_gate.spool.claims import Claim, _host_tag, claim_alive, claim_name, recover
from telemetry_gate.spool.store import Spool


def _spool(env: Env) -> Spool:
    return Spool(env.spool)


def test_take_moves_files_and_skips_what_another_took(isolation: Env) -> None:
    ids = fill(4)
    spool = _spool(isolation)
    first, second = Claim(spool), Claim(spool)
    names = [f"{i}.json" for i in ids]
    assert [e.id for e in first.take("cellranger", names[:3])] == ids[:3]
    assert [e.id for e in second.take("cellranger", names)] == ids[3:]  # the others were gone
    assert spool.entries("cellranger") == []
    assert first.release() == 3 and second.release() == 1
    assert sorted(e.id for e in spool.entries("cellranger")) == sorted(ids)
    assert list(spool.sending.iterdir()) == []


def test_claim_names_tell_whether_their_process_is_alive(isolation: Env) -> None:
    mine = claim_name()
    assert claim_alive(mine, Path("unused")) is True
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    assert claim_alive(f"{_host_tag()}-{pid}-123-abcd", Path("unused")) is False
    # a live pid whose start time differs: the pid was reused by another process
    start = mine.split("-")[2]
    assert claim_alive(f"{_host_tag()}-{os.getpid()}-{int(start) + 1}-abcd", Path("unused")) is False
    assert claim_alive("claim-1", Path("unused")) is None  # not ours: left alone


def test_recover_returns_dead_claims_only(isolation: Env) -> None:
    ids = fill(3)
    spool = _spool(isolation)
    live = Claim(spool)
    live.take("cellranger", [f"{ids[0]}.json"])
    dead = Claim(spool, f"{_host_tag()}-999999999-1-dead")  # no such pid
    dead.take("cellranger", [f"{ids[1]}.json"])
    foreign = Claim(spool, "00000000-12-34-abcd")  # another host: returned only when stale
    foreign.take("cellranger", [f"{ids[2]}.json"])
    assert recover(spool) == 1
    assert [e.id for e in spool.entries("cellranger")] == [ids[1]]
    old = time.time() - 2 * 86400
    for path in (foreign.dir, foreign.dir / "cellranger"):
        os.utime(path, (old, old))
    assert recover(spool) == 1
    assert sorted(e.id for e in spool.entries("cellranger")) == sorted(ids[1:])
    assert sorted(p.name for p in spool.sending.iterdir()) == [live.name]


def test_audit_appends_reads_newest_first_and_prunes(isolation: Env) -> None:
    spool = _spool(isolation)
    now = time.time()
    old = now - 40 * 86400
    outcomes.audit(spool, [outcomes.audit_entry("A", "p", "u", 200, "otlp", "sha256:x", old)], old)
    outcomes.audit(spool, [outcomes.audit_entry(i, "p", "u", 200, "otlp", "sha256:x", now) for i in "BC"], now)
    assert [e["id"] for e in outcomes.read_audit(spool)] == ["C", "B", "A"]
    assert [e["id"] for e in outcomes.read_audit(spool, since=86400)] == ["C", "B"]
    assert outcomes.prune(spool, now) == 1
    assert [e["id"] for e in outcomes.read_audit(spool)] == ["C", "B"]
    assert outcomes.purge_audit(spool, "other", None, False) == (0, 0)
    count, size = outcomes.purge_audit(spool, "p", None, True)
    assert count == 2 and size > 0 and len(list(outcomes.read_audit(spool))) == 2  # dry run
    outcomes.purge_audit(spool, None, None, False)
    assert [p.name for p in spool.sent.iterdir()] == [outcomes.LOCK_NAME]  # every audit file gone


def test_audit_batch_writes_the_same_lines_as_audit_entries(isolation: Env, tmp_path: Path) -> None:
    spool, reference = _spool(isolation), Spool(tmp_path / "reference")
    now, digests = time.time(), ["sha256:a", "sha256:b"]
    ids = ["01M87KSTPZ5668S9VC68ZHR1WM", "01M87KSTPZ5668S9VC68ZHR1WN"]
    url = 'https://collector.example.org/v1/logs?q="x"\\é'
    outcomes.audit_batch(spool, ids, digests, "cellranger", url, 200, "otlp", now)
    outcomes.audit(reference, [outcomes.audit_entry(i, "cellranger", url, 200, "otlp", d, now)
                               for i, d in zip(ids, digests, strict=True)], now)
    (written,) = outcomes.audit_files(spool)
    assert written.read_bytes() == (reference.sent / written.name).read_bytes()


def test_take_all_claims_the_directory_and_leaves_strays_and_a_fresh_one(isolation: Env) -> None:
    ids = fill(3)
    spool = _spool(isolation)
    (spool.pending / "cellranger" / "notes.txt").write_text("a person's file")
    claim = Claim(spool)
    assert [e.id for e in claim.take_all("cellranger")] == sorted(ids)  # oldest first
    assert sorted(os.listdir(spool.pending / "cellranger")) == ["notes.txt"]
    assert oct(os.stat(spool.pending / "cellranger").st_mode & 0o777) == "0o700"
    later = Recorder("cellranger", "9.0.0").record("after")  # a writer goes on as before
    assert sorted(os.listdir(spool.pending / "cellranger")) == sorted(["notes.txt", f"{later}.json"])
    assert claim.release() == 3
    assert len([n for n in os.listdir(spool.pending / "cellranger") if n.endswith(".json")]) == 4


def test_a_writer_whose_directory_was_just_claimed_makes_it_again(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    first = rec.record("first")
    spool = _spool(isolation)
    os.rename(spool.pending / "cellranger", spool.root / "elsewhere")  # as take_all does, before mkdir
    second = rec.record("second")
    assert second is not None and rec.problem is None
    assert os.listdir(spool.pending / "cellranger") == [f"{second}.json"]
    assert os.listdir(spool.root / "elsewhere") == [f"{first}.json"]


def test_reject_keeps_the_records_and_the_answer(isolation: Env) -> None:
    ids = fill(2)
    spool = _spool(isolation)
    claim = Claim(spool)
    entries = claim.take("cellranger", [f"{i}.json" for i in ids])
    moved = outcomes.reject(spool, "cellranger", entries, 422, "no", "https://c.example.org")
    claim.release()
    assert sorted(e.id for e in spool.entries("cellranger", spool.rejected)) == sorted(ids) == sorted(
        e.id for e in moved)
    info = outcomes.answers(spool, "cellranger")
    assert {i: (v["status"], v["answer"]) for i, v in info.items()} == {i: (422, "no") for i in ids}
    spool.delete(spool.entries("cellranger", spool.rejected))
    outcomes.tidy_answers(spool, "cellranger")
    assert list((spool.rejected / "cellranger").iterdir()) == []
    assert json.loads(json.dumps(info))  # plain JSON
