"""Issue 14 items 10, 15 and 19: hostile or stray files in the spool. An oversized file (a 2 MB
record, a 1 GiB sparse file) is set aside, never read whole and never posted; what is not a
record (a stray name, a directory whose name is not a product's) is reported and never sent;
quarantine/ is 0700 and never replaces a file it already holds; ``/v1/logs`` goes into the
endpoint's path, not after its query string."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry, fill, script_path
from telemetry_gate.send import upload
from telemetry_gate.spool.ids import new_id


def _record(record_id: str, product: str = "cellranger", **metrics: object) -> bytes:
    return json.dumps({"schema": 1, "id": record_id, "vendor": "tenx", "product": product, "version": "9.0.0",
                       "event": "count", "category": "usage", "created": "2026-11-25T00:00:00.000Z",
                       "metrics": metrics, "context": {}}).encode()


def _limited_memory() -> None:
    """For a subprocess: at most 1 GiB of address space, so reading a 1 GiB file whole fails."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


# -- item 10: the record limit on read ---------------------------------------------------------

def test_an_oversized_record_is_quarantined_never_posted(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(2)
    big_id = new_id()
    big = isolation.spool / "pending" / "cellranger" / f"{big_id}.json"
    big.write_bytes(_record(big_id, blob="x" * (2 << 20)))  # valid JSON, 2 MB
    with Collector() as collector:
        out = telemetry("send", "--endpoint", collector.url)
        received = b"".join(r.body for r in collector.requests)
    assert out.exit_code == 0, out.stderr
    assert sorted(collector.accepted_ids()) == sorted(ids) and big_id.encode() not in received
    assert not big.exists() and (isolation.spool / "quarantine" / "cellranger" / big.name).stat().st_size > 2 << 20
    assert "warning" in out.stderr and "record limit" in out.stderr


def test_a_1_gib_sparse_file_is_never_read_into_memory(isolation: Env) -> None:
    ids = fill(2)
    sparse_id = new_id()
    sparse = isolation.spool / "pending" / "cellranger" / f"{sparse_id}.json"
    with open(sparse, "wb") as file:
        file.truncate(1 << 30)  # 1 GiB of nothing on disk
    inspect = subprocess.run([script_path(), "inspect", "--all", "--json"], capture_output=True, text=True,
                             timeout=60, preexec_fn=_limited_memory)
    assert inspect.returncode == 0, inspect.stderr
    assert sorted(r["id"] for r in json.loads(inspect.stdout)) == sorted(ids)
    assert "record limit" in inspect.stderr and "internal error" not in inspect.stderr
    with Collector() as collector:
        sent = subprocess.run([script_path(), "send", "--endpoint", collector.url], capture_output=True,
                              text=True, timeout=60, preexec_fn=_limited_memory)
        received = b"".join(r.body for r in collector.requests)
    assert sent.returncode == 0, sent.stderr
    assert sorted(collector.accepted_ids()) == sorted(ids) and sparse_id.encode() not in received
    assert len(received) < 64 << 10
    assert (isolation.spool / "quarantine" / "cellranger" / sparse.name).exists()


def test_inspect_path_skips_an_oversized_line_and_refuses_an_oversized_file(inprocess: Telemetry,
                                                                          tmp_path: Path) -> None:
    good = new_id()
    jsonl = tmp_path / "telemetry.jsonl"
    jsonl.write_bytes(_record(new_id(), blob="y" * (100 << 10)) + b"\n" + _record(good) + b"\n")
    out = inprocess("inspect", str(jsonl), "--json")
    assert out.exit_code == 0 and [r["id"] for r in json.loads(out.stdout)] == [good]
    assert f"{jsonl}:1" in out.stderr and "record limit" in out.stderr
    huge = tmp_path / "telemetry.json"
    with open(huge, "wb") as file:
        file.truncate(1 << 30)
    out = inprocess("inspect", str(huge))
    assert out.exit_code == 3 and "record limit" in out.stderr


# -- item 15: strays ---------------------------------------------------------------------------

def test_stray_files_and_directories_are_reported_and_never_sent(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(2)
    pending = isolation.spool / "pending"
    bad_dir = pending / "CellRanger"  # not a product name (upper case)
    bad_dir.mkdir()
    stray_id = new_id()
    (bad_dir / f"{stray_id}.json").write_bytes(_record(stray_id, product="CellRanger"))
    (pending / "cellranger" / "notes.txt").write_text("my notes")
    (pending / "loose.json").write_bytes(_record(new_id()))
    check = telemetry("check")
    assert check.exit_code == 0 and "3 stray file(s)" in check.stdout and "never sent" in check.stdout
    notes = json.loads(telemetry("check", "--json").stdout)["notes"]
    assert any("notes.txt" in n and "CellRanger" in n and "loose.json" in n for n in notes)
    assert "3 stray file(s)" in telemetry("inspect").stderr
    with Collector() as collector:
        out = telemetry("send", "--endpoint", collector.url)
        received = b"".join(r.body for r in collector.requests)
    assert out.exit_code == 0, out.stderr
    assert sorted(collector.accepted_ids()) == sorted(ids) and stray_id.encode() not in received
    assert (bad_dir / f"{stray_id}.json").exists() and (pending / "cellranger" / "notes.txt").exists()


# -- item 19: quarantine/ and the OTLP path ----------------------------------------------------

def test_quarantine_is_private_and_keeps_every_malformed_file(inprocess: Telemetry, isolation: Env) -> None:
    name = f"{new_id()}.json"
    folder = isolation.spool / "pending" / "cellranger"
    contents = [b'{"first": ', b'{"second": ']
    with Collector() as collector:
        for content in contents:
            fill(1)
            (folder / name).write_bytes(content)
            out = inprocess("send", "--endpoint", collector.url)
            assert out.exit_code == 0 and "malformed" in out.stderr, out.stderr
    quarantine = isolation.spool / "quarantine"
    assert stat.S_IMODE(quarantine.stat().st_mode) == 0o700
    assert stat.S_IMODE((quarantine / "cellranger").stat().st_mode) == 0o700
    kept = sorted(p.read_bytes() for p in (quarantine / "cellranger").iterdir())
    assert kept == sorted(contents)


@pytest.mark.parametrize(("endpoint", "url"), [
    ("https://c.example.org/ingest?token=abc", "https://c.example.org/ingest/v1/logs?token=abc"),
    ("https://c.example.org/?a=1#frag", "https://c.example.org/v1/logs?a=1#frag"),
    ("https://c.example.org", "https://c.example.org/v1/logs"),
    ("http://127.0.0.1:4318/otel/", "http://127.0.0.1:4318/otel/v1/logs"),
])
def test_v1_logs_goes_into_the_path_not_after_the_query(endpoint: str, url: str) -> None:
    assert upload.url_for(endpoint, "otlp") == url
    assert upload.url_for(endpoint, "json") == endpoint


def test_an_endpoint_with_a_query_string_receives_the_batch_on_v1_logs(inprocess: Telemetry,
                                                                     isolation: Env) -> None:
    ids = fill(2)
    with Collector() as collector:
        out = inprocess("send", "--endpoint", f"{collector.url}/otel?tenant=lab")
        paths = {r.path for r in collector.requests}
    assert out.exit_code == 0, out.stderr
    assert paths == {"/otel/v1/logs?tenant=lab"} and sorted(collector.accepted_ids()) == sorted(ids)


def test_umask_does_not_matter(isolation: Env) -> None:
    old = os.umask(0)
    try:
        folder = isolation.spool / "pending" / "cellranger"
        fill(1)
        (folder / f"{new_id()}.json").write_text("{")
        with Collector() as collector:
            subprocess.run([script_path(), "send", "--endpoint", collector.url], capture_output=True, timeout=60)
    finally:
        os.umask(old)
    assert stat.S_IMODE((isolation.spool / "quarantine").stat().st_mode) == 0o700
