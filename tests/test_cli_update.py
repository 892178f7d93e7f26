"""``telemetry update`` against a real server on 127.0.0.1, and what a downloaded
configuration switches off (``inspect --catalog``, the Recorder)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry
from telemetry_gate import Recorder

CONFIG = b'{"disabled_fields": ["chemistry"], "sample_rate": 0.5}'


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        running.files["/cellranger/config.json"] = Reply(200, body=CONFIG)
        yield running


def _manifest(env: Env, url: str, version: str | None = "9.0.0") -> None:
    folder = env.system_dir / "products.d"
    folder.mkdir(parents=True, exist_ok=True)
    line = f'version = "{version}"\n' if version else ""
    (folder / "cellranger.toml").write_text(
        f'[product]\nname = "cellranger"\n{line}config_url = "{url}"\n\n'
        '[fields.chemistry]\ncategory = "usage"\ndescription = "Chemistry"\nexample = "SC3Pv3"\n\n'
        '[fields.reads_total]\ncategory = "performance"\ndescription = "Reads"\nexample = "812000000"\n')


def _cache(env: Env, version: str = "9.0.0") -> Path:
    return env.home / ".cache" / "tenx" / "telemetry" / "cellranger" / f"cellranger-{version}"


@pytest.mark.script
def test_downloads_to_the_cache_and_leaves_an_unchanged_one_alone(telemetry: Telemetry, isolation: Env,
                                                                  collector: Collector) -> None:
    _manifest(isolation, collector.url + "/cellranger/config.json")
    out = telemetry("update")
    assert out.exit_code == 0, out.stderr
    assert _cache(isolation).read_bytes() == CONFIG and "configuration saved to" in out.stderr
    assert oct(_cache(isolation).stat().st_mode & 0o777) == "0o600"
    before = _cache(isolation).stat().st_mtime_ns
    out = telemetry("update", "--product", "cellranger")
    assert out.exit_code == 0 and "unchanged" in out.stderr
    assert _cache(isolation).stat().st_mtime_ns == before
    collector.files["/cellranger/config.json"] = Reply(200, body=b'{"disabled_fields": []}')
    assert telemetry("update").exit_code == 0
    assert _cache(isolation).read_bytes() == b'{"disabled_fields": []}'
    assert [r.method for r in collector.requests] == ["GET"] * 3


UPDATE_OFF = {
    "system flag": (lambda e: _flag(e.system_dir, "disable_update"), {}, "disable_update (system policy)"),
    "DO_NOT_TRACK": (None, {"DO_NOT_TRACK": "1"}, "DO_NOT_TRACK=1"),
    "vendor variable": (None, {"TENX_DISABLE_TELEMETRY_UPDATE": "1"}, "TENX_DISABLE_TELEMETRY_UPDATE=1"),
    "user settings": (lambda e: _settings(e.config_dir, "[telemetry]\nupdate = false\n"), {},
                      "[telemetry] (user settings)"),
}


def _flag(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()


def _settings(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.toml").write_text(text)


@pytest.mark.parametrize("layer", list(UPDATE_OFF))
def test_no_connection_while_update_is_disabled(telemetry: Telemetry, isolation: Env, collector: Collector,
                                                layer: str) -> None:
    _manifest(isolation, collector.url + "/cellranger/config.json")
    setup, env, named = UPDATE_OFF[layer]
    if setup:
        setup(isolation)
    out = telemetry("update", env=env)
    assert out.exit_code == 0, out.stderr
    assert collector.connections == 0 and not _cache(isolation).exists()
    assert "update is disabled by" in out.stderr and named in out.stderr


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'{"disabled_fields": "chemistry"}'])
def test_an_invalid_configuration_is_not_written(telemetry: Telemetry, isolation: Env, collector: Collector,
                                                 body: bytes) -> None:
    _manifest(isolation, collector.url + "/cellranger/config.json")
    _cache(isolation).parent.mkdir(parents=True)
    _cache(isolation).write_bytes(CONFIG)
    collector.files["/cellranger/config.json"] = Reply(200, body=body)
    out = telemetry("update")
    assert out.exit_code == 3 and "configuration from" in out.stderr and "Traceback" not in out.stderr
    assert _cache(isolation).read_bytes() == CONFIG


@pytest.mark.script
def test_a_failed_download_exits_6(telemetry: Telemetry, isolation: Env, collector: Collector) -> None:
    _manifest(isolation, collector.url + "/missing.json")
    out = telemetry("update")
    assert out.exit_code == 6 and "HTTP 404" in out.stderr and not _cache(isolation).exists()


def test_plain_http_to_another_host_is_refused(telemetry: Telemetry, isolation: Env) -> None:
    _manifest(isolation, "http://192.0.2.10/cellranger/config.json")  # never contacted
    out = telemetry("update")
    assert out.exit_code == 3 and "only over https" in out.stderr


def test_version_from_the_spool_when_the_manifest_has_none(telemetry: Telemetry, isolation: Env,
                                                           collector: Collector) -> None:
    _manifest(isolation, collector.url + "/cellranger/config.json", version=None)
    assert "no version is known" in telemetry("update").stderr
    Recorder("cellranger", "9.1.0").record("count")
    assert telemetry("update").exit_code == 0
    assert _cache(isolation, "9.1.0").read_bytes() == CONFIG


def test_switched_off_fields_are_marked_and_dropped(telemetry: Telemetry, isolation: Env,
                                                   collector: Collector) -> None:
    _manifest(isolation, collector.url + "/cellranger/config.json")
    before = json.loads(telemetry("inspect", "--catalog", "-p", "cellranger", "--json").stdout)
    assert [f["disabled"] for f in before[0]["fields"]] == [False, False]
    assert telemetry("update").exit_code == 0
    after = json.loads(telemetry("inspect", "--catalog", "-p", "cellranger", "--json").stdout)
    assert {f["name"]: f["disabled"] for f in after[0]["fields"]} == {"chemistry": True, "reads_total": False}
    table = telemetry("inspect", "--catalog").stdout
    assert "off (downloaded config)" in next(line for line in table.splitlines() if line.startswith("chemistry"))
    rec = Recorder("cellranger", "9.0.0")
    record_id = rec.record("count", metrics={"chemistry": "SC3Pv3", "reads_total": 5})
    record = json.loads(telemetry("inspect", "--json").stdout)[0]
    assert record["id"] == record_id and record["metrics"] == {"reads_total": 5}
