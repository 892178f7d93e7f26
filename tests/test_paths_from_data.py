"""Issue 14.4: a path built from data (a product version, a record id) never leaves its directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.errors import UnsafePath
from telemetry_gate.policy.paths import Paths
from telemetry_gate.spool.ids import new_id

EVIL = "1/../../../x"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        running.files["/config.json"] = Reply(200, body=b'{"disabled_fields": []}')
        yield running


def _cache(env: Env) -> Path:
    return env.home / ".cache" / "tenx" / "telemetry"


def _outside_the_cache(env: Env, before: set[Path]) -> list[Path]:
    return [p for p in env.root.rglob("*") if p not in before and _cache(env) not in p.parents and p != _cache(env)
            and p.is_file() and "consent" not in p.name]


@pytest.mark.parametrize("version", [EVIL, "..", "", "1.0/x", "a b", "x" * 65, "-1", "1\n"])
def test_a_recorder_with_a_version_that_is_not_one_collects_nothing(isolation: Env, version: str) -> None:
    before = set(isolation.root.rglob("*"))
    rec = Recorder("cellranger", version)
    assert rec.record("count", metrics={"n": 1}) is None
    with rec.run("count"):
        pass
    assert not rec.enabled and "invalid version" in (rec.problem or "")
    assert set(isolation.root.rglob("*")) == before


@pytest.mark.parametrize("version", ["9.0.0", "2024.1-rc1", "1.2.3+cu118", "v2_1~beta"])
def test_real_versions_are_kept(isolation: Env, version: str) -> None:
    rec = Recorder("cellranger", version)
    assert rec.record("count") is not None, rec.problem


def test_a_manifest_version_that_is_not_one_is_a_manifest_error(isolation: Env, inprocess: Telemetry,
                                                                collector: Collector) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "cellranger.toml").write_text(
        f'[product]\nname = "cellranger"\nversion = "{EVIL}"\nconfig_url = "{collector.url}/config.json"\n')
    before = set(isolation.root.rglob("*"))
    out = inprocess("update", "--product", "cellranger")
    assert out.exit_code == 3
    assert f"{folder / 'cellranger.toml'}:3: [product] version must be a plain version" in out.stderr
    assert collector.requests == [] and _outside_the_cache(isolation, before) == []


def test_update_never_writes_outside_the_cache_for_a_record_version(isolation: Env, inprocess: Telemetry,
                                                                    collector: Collector) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "cellranger.toml").write_text(
        f'[product]\nname = "cellranger"\nconfig_url = "{collector.url}/config.json"\n')
    assert Recorder("cellranger", "9.0.0").record("count") is not None  # makes the spool
    record_id = new_id()
    record = {"schema": 1, "id": record_id, "vendor": "tenx", "product": "cellranger", "version": EVIL,
              "event": "x", "category": "usage", "created": "2026-11-25T00:00:00.000Z", "metrics": {}}
    pending = isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "cellranger"
    (pending / f"{record_id}.json").write_text(json.dumps(record))  # the newest record: its version is asked
    before = set(isolation.root.rglob("*"))
    out = inprocess("update")
    assert _outside_the_cache(isolation, before) == []
    assert not (isolation.home / ".cache" / "tenx" / "x").exists()
    assert out.exit_code == 0, out.stderr  # the other record's version, 9.0.0, is used
    assert (_cache(isolation) / "cellranger" / "cellranger-9.0.0").exists()


def test_cache_paths_cannot_leave_the_cache(isolation: Env, tmp_path: Path) -> None:
    paths = Paths.for_vendor("tenx")
    for product, version in (("cellranger", EVIL), ("../x", "1.0"), ("cellranger", "..")):
        with pytest.raises(UnsafePath):
            paths.config_cache(product, version)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    paths.cache_dir.mkdir(parents=True)
    (paths.cache_dir / "cellranger").symlink_to(elsewhere)  # a link planted in the cache
    with pytest.raises(UnsafePath, match="resolves outside"):
        paths.config_cache("cellranger", "9.0.0")
