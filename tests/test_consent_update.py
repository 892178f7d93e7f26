"""``telemetry update`` says what a downloaded configuration turns off or back on before it
replaces the cache; ``--dry-run`` downloads and compares only (issue 15), against a real
server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry

URL_PATH = "/cellranger/config.json"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def _manifest(env: Env, url: str) -> None:
    folder = env.system_dir / "products.d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cellranger.toml").write_text(
        f'[product]\nname = "cellranger"\nversion = "9.0.0"\nconfig_url = "{url}"\n')


def _cache(env: Env) -> Path:
    return env.home / ".cache" / "tenx" / "telemetry" / "cellranger" / "cellranger-9.0.0"


def _serve(collector: Collector, config: dict[str, object]) -> bytes:
    body = json.dumps(config).encode()
    collector.files[URL_PATH] = Reply(200, body=body)
    return body


def test_says_what_it_turns_off_and_back_on(telemetry: Telemetry, isolation: Env, collector: Collector) -> None:
    _manifest(isolation, collector.url + URL_PATH)
    first = _serve(collector, {"disabled_fields": ["chemistry"], "sample_rate": 0.5})
    out = telemetry("update")
    assert out.exit_code == 0, out.stderr
    assert "turns off (no longer collected): chemistry" in out.stderr and _cache(isolation).read_bytes() == first
    second = _serve(collector, {"disabled_fields": ["reads_total", "read_length"], "sample_rate": 0.5})
    out = telemetry("update")
    assert out.exit_code == 0, out.stderr
    assert "turns off (no longer collected): read_length, reads_total" in out.stderr
    assert "turns back on (collected again): chemistry" in out.stderr
    assert "other keys changed" not in out.stderr and _cache(isolation).read_bytes() == second


def test_dry_run_downloads_and_compares_but_keeps_the_cache(telemetry: Telemetry, isolation: Env,
                                                            collector: Collector) -> None:
    _manifest(isolation, collector.url + URL_PATH)
    cached = _serve(collector, {"disabled_fields": ["chemistry"]})
    assert telemetry("update").exit_code == 0
    before = _cache(isolation).stat().st_mtime_ns
    _serve(collector, {"disabled_fields": [], "sample_rate": 0.1})
    out = telemetry("update", "--dry-run")
    assert out.exit_code == 0, out.stderr
    assert "would turn back on (collected again): chemistry" in out.stderr
    assert "other keys changed: sample_rate" in out.stderr and "nothing changed (--dry-run)" in out.stderr
    assert _cache(isolation).read_bytes() == cached and _cache(isolation).stat().st_mtime_ns == before
    assert [r.method for r in collector.requests] == ["GET", "GET"]  # it did download


def test_json_names_the_difference(inprocess: Telemetry, isolation: Env, collector: Collector) -> None:
    _manifest(isolation, collector.url + URL_PATH)
    _serve(collector, {"disabled_fields": ["a"]})
    inprocess("update")
    _serve(collector, {"disabled_fields": ["b"]})
    data = json.loads(inprocess("update", "--dry-run", "--json").stdout)
    assert data == [{"product": "cellranger", "state": "updated", "detail": "", "path": str(_cache(isolation)),
                     "turns_off": ["b"], "turns_on": ["a"], "other_keys_changed": [], "dry_run": True}]


def test_an_unreadable_cache_switched_nothing_off(inprocess: Telemetry, isolation: Env, collector: Collector) -> None:
    _manifest(isolation, collector.url + URL_PATH)
    _cache(isolation).parent.mkdir(parents=True)
    _cache(isolation).write_bytes(b"not json")
    _serve(collector, {"disabled_fields": ["chemistry"]})
    out = inprocess("update")
    assert out.exit_code == 0 and "turns off (no longer collected): chemistry" in out.stderr
    assert "turns back on" not in out.stderr


def test_no_download_while_update_is_disabled_even_for_a_dry_run(inprocess: Telemetry, isolation: Env,
                                                                 collector: Collector) -> None:
    _manifest(isolation, collector.url + URL_PATH)
    _serve(collector, {"disabled_fields": ["chemistry"]})
    out = inprocess("update", "--dry-run", env={"DO_NOT_TRACK": "1"})
    assert out.exit_code == 0 and "update is disabled by DO_NOT_TRACK=1" in out.stderr
    assert collector.connections == 0
