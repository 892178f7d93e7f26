"""The library's promises (SPEC 6), each by a test that would catch its breach."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.spool.records import MAX_RECORD_BYTES, Scrubber


def _pending(env: Env, product: str = "cellranger") -> list[dict]:
    return [json.loads(data) for data in env.pending(product).values()]


def test_import_pulls_in_nothing_heavy() -> None:
    code = ("import sys, telemetry_gate; from telemetry_gate import Recorder; "
            "r = Recorder('cellranger', '9.0.0'); r.record('x'); "
            "print(sorted(m for m in ('typer', 'rich', 'httpx', 'click', 'tomli_w', 'tomlkit', 'ruamel') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_record_as_the_spec_shows_it(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    record_id = rec.record("mkref", category="performance", metrics={"reads_total": 812_000_000})
    [record] = _pending(isolation)
    assert record["id"] == record_id and len(record_id) == 26
    assert {k: record[k] for k in ("schema", "vendor", "product", "version", "event", "category", "metrics")} == {
        "schema": 1, "vendor": "tenx", "product": "cellranger", "version": "9.0.0", "event": "mkref",
        "category": "performance", "metrics": {"reads_total": 812_000_000}}
    assert set(record["context"]) == {"os", "os_release", "arch", "python", "cpus", "memory_bytes"}
    assert record["created"].endswith("Z")
    path = isolation.spool / "pending" / "cellranger" / f"{record_id}.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_run_records_duration_status_and_a_scrubbed_crash(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    with rec.run("count", params={"chemistry": "SC3Pv3"}) as run:
        run.metric("reads_total", 5)
    with pytest.raises(ValueError, match="secret message"):
        with rec.run("count"):
            raise ValueError(f"secret message in {isolation.home}/sample.fastq")
    ok, crash = sorted(_pending(isolation), key=lambda r: r["id"])
    assert ok["category"] == "usage" and ok["metrics"]["exit_status"] == 0
    assert ok["metrics"]["chemistry"] == "SC3Pv3" and ok["metrics"]["reads_total"] == 5
    assert ok["metrics"]["duration_s"] >= 0
    assert crash["category"] == "crash" and crash["metrics"]["exception_type"] == "ValueError"
    frame = crash["metrics"]["stack"][-1]
    assert set(frame) == {"module", "function", "line"} and frame["function"].startswith("test_run")
    assert "secret" not in json.dumps(crash) and "sample.fastq" not in json.dumps(crash)


def _disable_by(layer: str, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    if layer == "system flag":
        env.system_dir.mkdir(parents=True)
        (env.system_dir / "disable").touch()
    elif layer == "DO_NOT_TRACK":
        monkeypatch.setenv("DO_NOT_TRACK", "1")
    elif layer == "vendor variable":
        monkeypatch.setenv("TENX_DISABLE_TELEMETRY", "1")
    elif layer == "product variable":
        folder = env.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
        folder.mkdir(parents=True)
        (folder / "cellranger.toml").write_text(
            '[product]\nname = "cellranger"\n[[product.env]]\nname = "CR_NO_TELEMETRY"\n')
        monkeypatch.setenv("CR_NO_TELEMETRY", "1")
    elif layer == "user settings":
        env.config_dir.mkdir(parents=True)
        (env.config_dir / "settings.toml").write_text("[products.cellranger]\ncollection = false\n")
    elif layer == "user flag":
        env.config_dir.mkdir(parents=True)
        (env.config_dir / "disable").touch()
    elif layer == "system defaults":
        env.system_dir.mkdir(parents=True)
        (env.system_dir / "settings.toml").write_text("[telemetry]\ncollection = false\n")
    elif layer == "malformed settings":
        env.config_dir.mkdir(parents=True)
        (env.config_dir / "settings.toml").write_text("[telemetry\n")


@pytest.mark.parametrize("layer", ["system flag", "DO_NOT_TRACK", "vendor variable", "product variable",
                                   "user settings", "user flag", "system defaults", "malformed settings"])
def test_nothing_at_all_is_written_when_collection_is_disabled(
        isolation: Env, monkeypatch: pytest.MonkeyPatch, layer: str, tmp_path: Path) -> None:
    _disable_by(layer, isolation, monkeypatch)
    before = isolation.files()
    rec = Recorder("cellranger", "9.0.0")
    extras = tmp_path / "run" / "extras"
    assert rec.record("mkref", metrics={"a": 1}, copy_to=extras) is None
    with rec.run("count"):
        pass
    assert not rec.enabled
    assert isolation.files() == before
    assert not (isolation.spool).exists()


@pytest.mark.parametrize("breakage", ["unwritable state dir", "file in the way", "disk full", "publish fails"])
def test_never_raises_into_the_host(isolation: Env, monkeypatch: pytest.MonkeyPatch, unwritable: Path,
                                    breakage: str) -> None:
    if breakage == "unwritable state dir":
        monkeypatch.setenv("XDG_STATE_HOME", str(unwritable))
    elif breakage == "file in the way":
        (isolation.home / ".local").mkdir()
        (isolation.home / ".local" / "state").write_text("not a directory")
    elif breakage == "disk full":
        def full(fd: int, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "write", full)
    elif breakage == "publish fails":
        def broken(src: str, dst: str) -> None:
            raise OSError(errno.EIO, "I/O error")
        monkeypatch.setattr(os, "rename", broken)
        monkeypatch.setattr(os, "link", broken)
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("mkref", metrics={"a": 1}) is None
    with rec.run("count"):
        pass
    assert rec.problem
    monkeypatch.undo()
    tmp = isolation.spool / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []  # no half record left behind


def test_unserialisable_values_keep_the_record(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("x", metrics={"obj": object(), "nan": float("nan"), "path": Path("/opt/ref")})
    [record] = _pending(isolation)
    assert record["metrics"] == {"obj": "<unserialisable: object>", "nan": None, "path": "/opt/ref"}


def test_record_over_64_kib_is_refused(isolation: Env) -> None:
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("big", metrics={"blob": "x" * MAX_RECORD_BYTES}) is None
    assert "limit" in (rec.problem or "")
    assert _pending(isolation) == []
    assert rec.record("small", metrics={"blob": "x" * 1000})


def test_no_network_and_atomic_writes_through_tmp(isolation: Env) -> None:
    events: list[tuple[str, tuple]] = []
    watching = [True]
    spool = str(isolation.spool)

    def hook(event: str, args: tuple) -> None:
        if watching[0] and (event.startswith("socket.") or (
                event in ("open", "os.link", "os.rename") and spool in str(args[0]))):
            events.append((event, args))

    sys.addaudithook(hook)
    try:
        rec = Recorder("cellranger", "9.0.0")
        for n in range(3):
            rec.record("mkref", metrics={"n": n})
    finally:
        watching[0] = False
    assert not [e for e in events if e[0].startswith("socket.")]
    writes = [args for event, args in events if event == "open" and isinstance(args[2], int)
              and args[2] & os.O_WRONLY]
    renames = [args for event, args in events if event in ("os.link", "os.rename")]  # link: never over a record
    assert len(writes) == 3 and all(f"{os.sep}tmp{os.sep}" in str(a[0]) for a in writes)
    assert len(renames) == 3
    assert all(f"{os.sep}tmp{os.sep}" in str(src) and f"{os.sep}pending{os.sep}" in str(dst)
               for src, dst, *_ in renames)


def test_a_writer_that_died_leaves_nothing_visible(isolation: Env, telemetry) -> None:
    rec = Recorder("cellranger", "9.0.0")
    rec.record("kept")
    (isolation.spool / "tmp" / "01ARZ3NDEKTSV4RRFFQ69G5FAV.json").write_bytes(b'{"schema": 1, "id": "01AR')
    out = telemetry("inspect", "--json")
    assert [r["event"] for r in json.loads(out.stdout)] == ["kept"]
    assert "warning" not in out.stderr


def test_scrubbing_at_any_depth_and_in_keys(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    host = os.uname().nodename
    home = str(isolation.home)
    rec = Recorder("cellranger", "9.0.0")
    rec.record("x", metrics={
        "ref": f"{home}/refs/GRCh38",
        "nested": [{"deep": {"who": "alice ran it", f"{home}/key": "mail alice@example.org"}}],
        "hosts": f"on {host} from 192.168.10.4 and fe80::1ff:fe23:4567:890a",
        "fine": "alicegene stays", "n": 3,
    })
    [record] = _pending(isolation)
    text = json.dumps(record)
    for secret in (home, "alice ", "alice@", "192.168.10.4", "fe80::1ff", f" {host} "):
        assert secret not in text, secret
    m = record["metrics"]
    assert m["ref"] == "<home>/refs/GRCh38"
    assert m["nested"][0]["deep"] == {"who": "<user> ran it", "<home>/key": "mail <email>"}
    assert m["hosts"] == "on <host> from <ip> and <ip>"
    assert m["fine"] == "alicegene stays" and m["n"] == 3


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(value=st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=20),
    where=st.sampled_from(["/home/zoe", "zoe", "zoe.lab.example", "zoe@example.org", "10.0.0.7"]))
def test_scrubbed_values_never_contain_the_secret(value: object, where: str) -> None:
    scrubber = Scrubber(home="/home/zoe", user="zoe", host="zoe.lab.example")
    wrapped = {"k": [value, f"x {where} y", {f"{where}": where}]}
    out = json.dumps(scrubber.value(wrapped))
    assert "zoe" not in out.replace("<", "").replace(">", "") or "zoe" in json.dumps(value)
    assert f" {where} " not in out


_fragments = st.sampled_from(["/home/zoe", "/HOME/Zoe", "zoe", "ZOE", "zoe.lab.example", "Zoe.Lab", "zoe@example.org",
                              "10.0.0.7", "fe80::1", "12:30:45", "::", "a.b", "@", "-", "/", " ", "x", "é", "İ", "K",
                              "https://", "//", "bob:pw@", "Bearer ", "AKIA", "ghp_", "glpat-", "xoxb-", "sk-",
                              "ABCDEFGHIJ0123456789", "0123456789abcdefghij", "/data/zoe-real"])


@settings(max_examples=300)
@given(parts=st.lists(_fragments | st.text(max_size=6), max_size=8))
def test_skipping_patterns_that_cannot_match_changes_nothing(parts: list[str]) -> None:
    # Scrubber.text skips a pattern when its literal is absent: the result must be what running
    # every pattern in order gives
    scrubber = Scrubber(home="/home/zoe", user="zoe", host="zoe.lab.example")
    value = "".join(parts)
    expected = value
    for pattern, replacement, _needle, _shortest in scrubber.rules:
        expected = pattern.sub(replacement, expected)
    assert scrubber.text(value) == expected


def test_a_home_beyond_ascii_is_scrubbed_wherever_its_pattern_matches() -> None:
    scrubber = Scrubber(home="/home/\u017fam", user="x", host="")  # long s: matches "s" and "S"
    assert scrubber.text("/home/sam/data and /HOME/SAM/x") == "<home>/data and <home>/x"


def test_bound_drops_the_oldest_and_counts(isolation: Env, telemetry) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\nmax_records = 5\n")
    rec = Recorder("cellranger", "9.0.0")
    ids = [rec.record("e", metrics={"n": n}) for n in range(8)]
    assert sorted(r["id"] for r in _pending(isolation)) == sorted(ids[-5:])
    data = json.loads(telemetry("check", "--json").stdout)
    assert data["spool"]["dropped"] == 3 and data["spool"]["pending"] == 5
    assert "3 dropped" in telemetry("check").stdout


def test_bound_holds_exactly_over_many_writes(isolation: Env, telemetry) -> None:
    # past the bound a writer drops from a queue of the oldest records, not a scan per record
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\nmax_records = 100\n")
    rec = Recorder("cellranger", "9.0.0")
    ids = [rec.record("e", metrics={"n": n}) for n in range(450)]
    assert rec.problem is None
    assert sorted(r["id"] for r in _pending(isolation)) == sorted(ids[-100:])
    assert json.loads(telemetry("check", "--json").stdout)["spool"]["dropped"] == 350


def test_bound_counts_again_when_someone_else_removed_records(isolation: Env, telemetry) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\nmax_records = 20\n")
    rec = Recorder("cellranger", "9.0.0")
    for n in range(21):
        rec.record("old", metrics={"n": n})
    assert telemetry("purge", "--all", "--yes").exit_code == 0
    ids = [rec.record("new", metrics={"n": n}) for n in range(25)]
    assert sorted(r["id"] for r in _pending(isolation)) == sorted(ids[-20:])  # none dropped early
    assert json.loads(telemetry("check", "--json").stdout)["spool"]["dropped"] == 1 + 5


def test_bound_in_bytes(isolation: Env) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[products.cellranger]\nmax_bytes = 4000\n")
    rec = Recorder("cellranger", "9.0.0")
    for n in range(20):
        rec.record("e", metrics={"pad": "x" * 500, "n": n})
    kept = _pending(isolation)
    assert 0 < len(kept) < 20
    assert sum(len(json.dumps(r, separators=(",", ":"))) for r in kept) <= 4000
    assert max(r["metrics"]["n"] for r in kept) == 19


def test_copy_to_writes_telemetry_json_for_inspect(isolation: Env, tmp_path: Path, telemetry) -> None:
    extras = tmp_path / "run1" / "outs" / "extras"
    rec = Recorder("cellranger", "9.0.0")
    record_id = rec.record("count", metrics={"cells": 5000}, copy_to=extras)
    stored = (isolation.spool / "pending" / "cellranger" / f"{record_id}.json").read_bytes()
    assert (extras / "telemetry.json").read_bytes() == stored
    out = telemetry("inspect", str(tmp_path / "run1"), env={"XDG_STATE_HOME": str(tmp_path / "nospool")})
    assert out.exit_code == 0 and record_id in out.stdout and '"cells": 5000' in out.stdout


def test_strict_manifest_drops_undeclared_fields(isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "stripepy.toml").write_text(
        '[product]\nname = "stripepy"\nstrict = true\n\n[fields.duration_s]\ncategory = "performance"\n'
        'description = "How long"\nexample = "812.4"\n')
    rec = Recorder("stripepy", "1.1.1")
    with rec.run("call", params={"genome": "hg38"}):
        pass
    [record] = _pending(isolation, "stripepy")
    assert list(record["metrics"]) == ["duration_s"]


def test_a_broken_user_manifest_over_a_valid_system_one_stops_collection_and_send(
        isolation: Env, inprocess: Telemetry) -> None:
    system = isolation.system_dir / "products.d"
    system.mkdir(parents=True)
    (system / "stripepy.toml").write_text('[product]\nname = "stripepy"\nendpoint = "http://127.0.0.1:9"\n')
    user = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    user.mkdir(parents=True)
    (user / "stripepy.toml").write_text('[product]\nname = "stripepy"\nstrict = "yes"\n')
    rec = Recorder("stripepy", "1.1.1")
    assert rec.record("call") is None and _pending(isolation, "stripepy") == []
    (isolation.spool / "pending" / "stripepy").mkdir(parents=True)
    (isolation.spool / "pending" / "stripepy" / "01M87HPT9M2KWMFY1MEDAYAN9Q.json").write_text("{}")
    out = inprocess("send")
    assert out.exit_code == 3 and f"{user / 'stripepy.toml'}:3" in out.stderr
