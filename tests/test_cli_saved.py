"""Events Cell Ranger saved itself: ``inspect`` shows them beside the spool, ``inspect PATH``
reads a pipestance's copies, ``purge --saved`` deletes them.

The files are what the real Cell Ranger 10.0.0 writes (lib/go/telemetry/settings/send.go
saveEventCache / saveEventInPipestance, lib/go/telemetry/event/event.go): under
``$XDG_CACHE_HOME/tenx/telemetry/<product>/<version>/`` and ``<pipestance>/extras/telemetry/``,
named ``<event>_<YYYY-MM-DDTHH_MM_SSZ><random digits>.json``, holding Go's ``json.Marshal`` of
the event (struct order, ``group_hash`` as base64, no trailing newline).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Env, Telemetry
from telemetry_gate import Recorder


def _cache(env: Env) -> Path:
    return env.home / ".cache" / "tenx" / "telemetry"


def _event(name: str, properties: dict[str, Any], product: str = "cellranger", version: str = "10.0.0",
           **extra: Any) -> bytes:
    """``json.Marshal(event.Event{...})``: fields in struct order, properties sorted (SortedAnyMap)."""
    event: dict[str, Any] = {
        "properties": dict(sorted(properties.items())),
        "group_hash": base64.b64encode(hashlib.sha256(name.encode()).digest()).decode(),
        "name": name, "product": product, "version": version, **extra,
    }
    event.setdefault("config_version", 1)
    return json.dumps(event, separators=(",", ":")).encode()


def _file_name(event: str, days_ago: float) -> str:
    moment = time.gmtime(time.time() - days_ago * 86400)
    return f"{event}_{time.strftime('%Y-%m-%dT%H_%M_%SZ', moment)}{random.randrange(2**32)}.json"


def _save(folder: Path, event: str, days_ago: float = 0.0, content: bytes | None = None,
          product: str = "cellranger", version: str = "10.0.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(event, days_ago)
    path.write_bytes(content if content is not None else
                     _event(event, {"cpu_count": 8, "kernel": "6.1.0"}, product, version))
    os.chmod(path, 0o600)  # os.CreateTemp
    return path


def _saved_in_cache(env: Env, event: str, days_ago: float = 0.0, product: str = "cellranger",
                    version: str = "10.0.0", content: bytes | None = None) -> Path:
    return _save(_cache(env) / product / version, event, days_ago, content, product, version)


@pytest.mark.script
def test_inspect_points_at_the_events_cellranger_saved_itself(telemetry: Telemetry, isolation: Env) -> None:
    Recorder("stripepy", "1.1.1").record("call")
    _saved_in_cache(isolation, "os_stats")
    _saved_in_cache(isolation, "hardware_stats", 1)
    out = telemetry("inspect")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "PRODUCT"] and "stripepy" in lines[1]
    assert lines[-2].startswith("1 pending")
    assert lines[-1] == ("2 events saved by cellranger itself under ~/.cache/tenx/telemetry; "
                         "'telemetry inspect --saved' shows them")


def test_no_pointer_without_saved_events_or_for_another_product(inprocess: Telemetry, isolation: Env) -> None:
    assert inprocess("inspect").stdout == "No pending records.\n"
    _saved_in_cache(isolation, "os_stats")
    (_cache(isolation) / "cellranger" / "cellranger-10.0.0").write_text("{}")  # our configuration cache
    assert "1 event saved by cellranger itself" in inprocess("inspect").stdout
    assert inprocess("inspect", "--product", "stripepy").stdout == "No pending records.\n"


def test_saved_table_newest_first_with_filters(telemetry: Telemetry, isolation: Env) -> None:
    _saved_in_cache(isolation, "count_success", 3)
    _saved_in_cache(isolation, "os_stats", 0.01)
    _saved_in_cache(isolation, "os_stats", 1, product="spaceranger", version="4.0.1")
    out = telemetry("inspect", "--saved")
    assert out.exit_code == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert rows[0] == ["SAVED", "PRODUCT", "VERSION", "EVENT", "STATE", "FIELDS", "SIZE", "FILE"]
    assert [r[4] for r in rows[1:4]] == ["held"] * 3
    assert [r[1:4] for r in rows[1:4]] == [["cellranger", "10.0.0", "os_stats"],
                                           ["spaceranger", "4.0.1", "os_stats"],
                                           ["cellranger", "10.0.0", "count_success"]]
    assert rows[1][-1].startswith("~/.cache/tenx/telemetry/cellranger/10.0.0/os_stats_")
    assert out.stdout.splitlines()[-2].startswith("3 events saved by the products themselves where the manifests")
    assert out.stdout.splitlines()[-1] == "3 held events shown here: 'telemetry send --saved' reviews and releases them"
    only = telemetry("inspect", "--saved", "-p", "cellranger", "--since", "2d").stdout.splitlines()
    assert only[0].startswith("Saved by cellranger 10.0.0 itself")  # one event: shown in full
    assert "/cellranger/10.0.0/os_stats_" in only[1] and '  "name": "os_stats",' in only
    limited = telemetry("inspect", "--saved", "--limit", "2").stdout
    assert "showing 2" in limited and "count_success" not in limited


def test_saved_json_keys(inprocess: Telemetry, isolation: Env) -> None:
    path = _saved_in_cache(isolation, "os_stats", content=_event("os_stats", {"cpu_count": 8}, internal_user="x"))
    _saved_in_cache(isolation, "hardware_stats", 2)
    out = inprocess("inspect", "--saved", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert [set(d) for d in data] == [{"file", "saved_at", "size", "product", "version", "name", "sent", "sha256",
                                       "event"}] * 2
    assert [d["sent"] for d in data] == [None, None]
    assert data[0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    first = data[0]
    assert first["file"] == str(path) and first["size"] == path.stat().st_size
    assert first["name"] == "os_stats" and first["product"] == "cellranger" and first["version"] == "10.0.0"
    assert first["event"] == json.loads(path.read_bytes())
    assert first["saved_at"] == path.name.split("_", 2)[2][:20].replace("_", ":")
    assert out.stdout.isascii()


@pytest.mark.script
@pytest.mark.script
def test_inspect_a_pipestance_its_extras_and_one_file(telemetry: Telemetry, tmp_path: Path) -> None:
    run = tmp_path / "sample1"
    (run / "outs").mkdir(parents=True)
    first = _save(run / "extras" / "telemetry", "count_success", 0.001,
                  _event("count_success", {"reads": 812000000}, replicas=2))
    _save(run / "extras" / "telemetry", "os_stats", 0.002)
    for target in (run, run / "extras", run / "extras" / "telemetry"):
        out = telemetry("inspect", str(target))
        assert out.exit_code == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0].split()[:4] == ["SAVED", "PRODUCT", "VERSION", "EVENT"]
        assert lines[1].split()[3] == "count_success" and lines[2].split()[3] == "os_stats"
        assert lines[-2] == f"2 events saved by the products themselves in {target}, not by telemetry-gate"
        assert out.stderr == ""
    one = telemetry("inspect", str(first))
    assert one.exit_code == 0, one.stderr
    assert one.stdout.startswith("Saved by cellranger 10.0.0 itself")
    pretty, exact = one.stdout.split("\n\nExact bytes ")
    assert json.loads(pretty[pretty.index("{"):]) == json.loads(first.read_bytes())
    assert exact == f"({first.stat().st_size}, sha256 {hashlib.sha256(first.read_bytes()).hexdigest()}):\n" \
                    f"{first.read_text()}\n"


def test_pipestance_with_our_records_shows_both_sections(inprocess: Telemetry, tmp_path: Path) -> None:
    run = tmp_path / "sample1"
    Recorder("cellranger", "10.0.0").record("count", copy_to=run / "extras")
    _save(run / "extras" / "telemetry", "os_stats")
    out = inprocess("inspect", str(run))
    assert out.exit_code == 0, out.stderr
    text = out.stdout
    assert text.index("ID") < text.index("Saved by the product itself (not in the spool):") \
        < text.index("Saved by cellranger 10.0.0 itself") < text.index('"name": "os_stats"')
    as_json = inprocess("inspect", str(run), "--json")
    assert [r["event"] for r in json.loads(as_json.stdout)] == ["count"]
    assert "1 event saved by the product itself is in" in as_json.stderr and "add --saved" in as_json.stderr
    saved_only = json.loads(inprocess("inspect", "--saved", str(run), "--json").stdout)
    assert [d["name"] for d in saved_only] == ["os_stats"]


@pytest.mark.script
def test_malformed_huge_and_odd_files_are_reported_and_skipped(telemetry: Telemetry, isolation: Env) -> None:
    good = _saved_in_cache(isolation, "os_stats", 0.5)
    _saved_in_cache(isolation, "count_success", 1, content=b"not json")
    _saved_in_cache(isolation, "count_success", 2, content=b"[1, 2]")
    _saved_in_cache(isolation, "count_success", 3, content=b'{"name": "x"}')
    _saved_in_cache(isolation, "hardware_stats", 4, content=b'{"name":"' + b"a" * (1 << 20) + b'"}')
    folder = good.parent
    os.symlink("/etc/passwd", folder / _file_name("linked", 5))
    os.mkfifo(folder / _file_name("fifo", 6))
    os.mkdir(folder / _file_name("folder", 7))
    out = telemetry("inspect", "--saved")
    assert out.exit_code == 0, out.stderr
    assert "Traceback" not in out.stderr
    warned = out.stderr.splitlines()
    assert len(warned) == 4 and all(line.startswith("warning: skipped ") for line in warned)
    assert "not whole JSON" in out.stderr and "not a JSON object" in out.stderr and "no 'product' string" in out.stderr
    assert "more than 64 KiB" in out.stderr
    rows = out.stdout.splitlines()
    assert len(rows) == 1 + 1 + 2 and "os_stats" in rows[1]
    huge = next(folder.glob("hardware_stats_*.json"))
    single = telemetry("inspect", str(huge))
    assert single.exit_code == 3 and single.stdout == ""
    assert single.stderr.splitlines() == [f"telemetry: {huge}: {huge.stat().st_size} bytes, more than 64 KiB; not read"]


def test_control_characters_in_names_and_fields_are_escaped(inprocess: Telemetry, isolation: Env,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cache(isolation) / "cellranger" / "10.0.0"
    folder.mkdir(parents=True)
    nasty = _event("os\x1b]0;owned\x07", {"kernel": "6.1\x1b[31m\x9b2J"})
    name = f"os\x1b[2J_{time.strftime('%Y-%m-%dT%H_%M_%SZ', time.gmtime())}1.json"
    (folder / name).write_bytes(nasty)
    monkeypatch.chdir(folder)
    bad_name = os.fsencode(f"bad\udcff_{time.strftime('%Y-%m-%dT%H_%M_%SZ', time.gmtime(time.time() - 60))}2.json")
    with open(bad_name, "wb") as file:
        file.write(_event("bad", {}))
    for args in (("inspect", "--saved"), ("inspect", str(folder / name)), ("inspect", "--saved", "--json"),
                 ("inspect", str(folder))):
        out = inprocess(*args)
        assert out.exit_code == 0, out.stderr
        for char in "\x1b\x07\x9b":
            assert char not in out.stdout + out.stderr, args
    table = inprocess("inspect", "--saved").stdout
    assert "os\\x1b]0;owned\\x07" in table and "os\\x1b[2J_" in table and "bad\\xff_" in table
    full = inprocess("inspect", str(folder / name)).stdout
    assert "6.1\\u001b[31m\\x9b2J" in full
    broken = folder / f"os\x1b[2J_{time.strftime('%Y-%m-%dT%H_%M_%SZ', time.gmtime())}3.json"
    broken.write_bytes(b"\x1b[31m not JSON")
    refused = inprocess("inspect", str(broken))
    assert refused.exit_code == 3 and "\x1b" not in refused.stderr and "os\\x1b[2J_" in refused.stderr


@pytest.mark.script
def test_purge_saved_scoped_dry_run_and_confirmation(telemetry: Telemetry, isolation: Env) -> None:
    Recorder("cellranger", "10.0.0").record("count")
    old = _saved_in_cache(isolation, "os_stats", 40)
    recent = _saved_in_cache(isolation, "os_stats", 1)
    other = _saved_in_cache(isolation, "os_stats", 40, product="spaceranger", version="4.0.1")
    config = _cache(isolation) / "cellranger" / "cellranger-10.0.0"
    config.write_text("{}")
    stray = old.parent / "notes.json"
    stray.write_text("{}")
    before = isolation.files()
    dry = telemetry("purge", "--saved", "--older-than", "30d", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stderr == f"Would delete 2 saved events ({old.stat().st_size + other.stat().st_size} B); " \
                         "nothing deleted.\n"
    unconfirmed = telemetry("purge", "--saved", "--older-than", "30d")
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.stderr
    assert isolation.files() == before
    done = telemetry("purge", "--saved", "-p", "cellranger", "--older-than", "30d", "--yes")
    assert done.exit_code == 0, done.stderr
    assert done.stderr == f"Deleted 1 saved event ({len(_event('os_stats', {'cpu_count': 8, 'kernel': '6.1.0'}))} B).\n"
    assert not old.exists() and recent.exists() and other.exists() and config.exists() and stray.exists()
    assert telemetry("inspect").stdout.startswith("ID")  # the pending record is still there
    everything = telemetry("purge", "--saved", "--all", "--yes")  # --all: every saved event, never pending
    assert everything.stderr == "Deleted 2 saved events (" + everything.stderr.split("(")[1]
    assert not recent.exists() and not other.exists() and not other.parent.exists()
    assert config.exists() and stray.exists()
    assert telemetry("inspect").stdout.startswith("ID")


def test_purge_saved_asks_on_a_terminal(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.cli import base as cli

    monkeypatch.setattr(cli, "interactive", lambda: True)
    path = _saved_in_cache(isolation, "os_stats")
    declined = inprocess("purge", "--saved", input="n\n")
    assert declined.exit_code == 0 and path.exists()
    assert "Delete 1 event saved by the products themselves" in declined.stdout
    accepted = inprocess("purge", "--saved", input="y\n")
    assert accepted.exit_code == 0 and not path.exists()


def test_saved_is_a_view_of_its_own(inprocess: Telemetry) -> None:
    out = inprocess("inspect", "--saved", "--sent")
    assert out.exit_code == 2 and out.stderr.startswith("telemetry: --saved is a view of its own")
    assert inprocess("inspect", "--saved", "01ABC").exit_code == 2


def test_inspect_the_cache_or_one_product_folder_of_it(inprocess: Telemetry, isolation: Env) -> None:
    _saved_in_cache(isolation, "os_stats", 1)
    _saved_in_cache(isolation, "os_stats", 2, product="spaceranger", version="4.0.1")
    whole = inprocess("inspect", str(_cache(isolation)))
    assert whole.exit_code == 0, whole.stderr
    assert [line.split()[1] for line in whole.stdout.splitlines()[1:3]] == ["cellranger", "spaceranger"]
    one = inprocess("inspect", "--saved", str(_cache(isolation) / "spaceranger"))
    assert one.stdout.startswith("Saved by spaceranger 4.0.1 itself") and whole.stderr == one.stderr == ""
