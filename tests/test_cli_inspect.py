"""``telemetry inspect`` and ``telemetry purge`` over a real spool written by the Recorder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import Env, Telemetry, fill
from telemetry_gate.spool.ids import new_id


def _old(env: Env, days: int, product: str = "cellranger") -> str:
    """A record written as if ``days`` ago (its ULID carries the time)."""
    record_id = new_id(int((time.time() - days * 86400) * 1000))
    path = env.spool / "pending" / product / f"{record_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"schema": 1, "id": record_id, "vendor": "tenx", "product": product, "version": "1.0",
              "event": "old", "category": "usage", "created": "2020-01-01T00:00:00.000Z", "metrics": {},
              "context": {}}
    path.write_text(json.dumps(record, separators=(",", ":")))
    return record_id


@pytest.mark.script
def test_table_newest_first_with_footer(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(7)
    out = telemetry("inspect", "--limit", "3")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "PRODUCT", "VERSION", "EVENT", "CATEGORY", "AGE", "SIZE"]
    assert [line.split()[0] for line in lines[1:4]] == ids[::-1][:3]
    assert "7 pending" in lines[-1] and "showing 3, 4 more" in lines[-1]


def test_json_is_an_array_of_records_exactly_as_stored(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(3)
    out = telemetry("inspect", "--json", "--all")
    data = json.loads(out.stdout)
    assert [r["id"] for r in data] == ids[::-1]
    stored = {p.stem: p.read_text() for p in (isolation.spool / "pending" / "cellranger").iterdir()}
    for line in out.stdout.splitlines()[1:-1]:
        record = json.loads(line.rstrip(","))
        assert line.rstrip(",") == stored[record["id"]]


def test_product_and_since_filters(telemetry: Telemetry, isolation: Env) -> None:
    fill(2, "cellranger")
    fill(1, "stripepy")
    old = _old(isolation, 10)
    ids = lambda *a: [r["id"] for r in json.loads(telemetry("inspect", "--json", "--all", *a).stdout)]  # noqa: E731
    assert len(ids()) == 4
    assert len(ids("--product", "stripepy")) == 1
    assert old not in ids("--since", "7d") and len(ids("--since", "7d")) == 3
    assert old in ids("--since", "2w")
    assert telemetry("inspect", "--since", "soon").exit_code == 2


def test_id_prefix_shows_the_whole_record_and_its_bytes(telemetry: Telemetry, isolation: Env) -> None:
    [record_id] = fill(1)
    out = telemetry("inspect", record_id[:20].lower())
    assert out.exit_code == 0
    stored = (isolation.spool / "pending" / "cellranger" / f"{record_id}.json").read_text()
    assert stored in out.stdout.splitlines()
    assert f'"id": "{record_id}"' in out.stdout


def test_ambiguous_and_unknown_prefixes(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(2)
    out = telemetry("inspect", ids[0][:8])
    assert out.exit_code == 2 and "2 records have ids starting with" in out.stderr
    assert ids[0] in out.stderr and ids[1] in out.stderr
    out = telemetry("inspect", "ZZZZZZZZ")
    assert out.exit_code == 2 and "no pending record" in out.stderr


def test_jsonl_file(telemetry: Telemetry, isolation: Env, tmp_path: Path) -> None:
    ids = fill(2)
    lines = [(p).read_text() for p in sorted((isolation.spool / "pending" / "cellranger").iterdir())]
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text("\n".join(lines) + "\nnot json\n")
    out = telemetry("inspect", str(jsonl), "--json")
    assert [r["id"] for r in json.loads(out.stdout)] == ids[::-1]
    assert f"{jsonl}:3" in out.stderr


def test_malformed_record_file_given_as_path_exits_3(telemetry: Telemetry, tmp_path: Path) -> None:
    bad = tmp_path / "telemetry.json"
    bad.write_text('{"schema": 1,\n "id": ')
    out = telemetry("inspect", str(bad))
    assert out.exit_code == 3 and str(bad) in out.stderr and "Traceback" not in out.stderr


def test_corrupt_and_symlinked_spool_files_are_skipped_and_quarantined(
        telemetry: Telemetry, isolation: Env, tmp_path: Path) -> None:
    [good] = fill(1)
    folder = isolation.spool / "pending" / "cellranger"
    corrupt = folder / f"{new_id()}.json"
    corrupt.write_text('{"schema": 1, "id": "trunc')
    secret = tmp_path / "secret.txt"
    secret.write_text('{"password": 1}')
    link = folder / f"{new_id()}.json"
    link.symlink_to(secret)
    out = telemetry("inspect")
    assert out.exit_code == 0 and good in out.stdout
    assert f"warning: skipped {corrupt}" in out.stderr
    assert "password" not in out.stdout + out.stderr
    out = telemetry("inspect", "--quarantine")
    assert not corrupt.exists()
    assert (isolation.spool / "quarantine" / "cellranger" / corrupt.name).exists()
    out = telemetry("inspect")
    assert "skipped" not in out.stderr  # the symbolic link stays, reported as a stray, never followed
    assert "stray file(s)" in out.stderr and str(link) in out.stderr


def test_catalog_and_a_broken_manifest(telemetry: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "stripepy.toml").write_text(
        '[product]\nname = "stripepy"\ndescription = "Architectural stripe caller for Hi-C"\n\n'
        '[[product.env]]\nname = "STRIPEPY_NO_TELEMETRY"\nkind = "disable-if-set"\n'
        'facets = ["collection", "upload"]\n\n'
        '[fields.duration_s]\ncategory = "performance"\ndescription = "How long the command took"\n'
        'example = "812.4"\n')
    (folder / "broken.toml").write_text('[product]\nname = "broken"\n\n[fields.x]\ncategory = "secrets"\n')
    out = telemetry("inspect", "--catalog", "--product", "stripepy")
    assert out.exit_code == 0
    assert ["duration_s", "performance", "How", "long", "the", "command", "took", "812.4"] in [
        line.split() for line in out.stdout.splitlines()]
    data = json.loads(telemetry("inspect", "--catalog", "--json").stdout)
    shown = {m["product"]: m["source"] for m in data}
    assert "broken" not in shown and shown["stripepy"] == str(folder / "stripepy.toml")  # overrides the shipped one
    assert {"cellranger", "piperider"} <= set(shown)  # the shipped catalogue
    out = telemetry("inspect", "--catalog", "--product", "broken")
    assert out.exit_code == 3 and f"{folder / 'broken.toml'}:5" in out.stderr
    check = json.loads(telemetry("check", "--json", env={"STRIPEPY_NO_TELEMETRY": "1"}).stdout)
    assert check["products"]["stripepy"]["collection"] == {
        "enabled": False, "origin": "STRIPEPY_NO_TELEMETRY=1", "layer": "environment"}
    assert check["products"]["stripepy"]["update"]["enabled"] is True
    assert any("broken.toml:5" in note for note in check["notes"])
    explain = telemetry("check", "collection", "--product", "stripepy", "--explain",
                        env={"STRIPEPY_NO_TELEMETRY": "1"}).stdout
    assert any(line.split()[:3] == ["4", "environment", "STRIPEPY_NO_TELEMETRY=1"] and "<- wins" in line
               for line in explain.splitlines())


def test_entry_point_manifest_is_discovered(isolation: Env, tmp_path: Path) -> None:
    import subprocess

    from conftest import script_path

    site = tmp_path / "site"
    dist = site / "rubrix_telemetry-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rubrix-telemetry\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[telemetry_gate.products]\nrubrix = rubrix_manifest:MANIFEST\n")
    (site / "rubrix_manifest.py").write_text(
        'MANIFEST = {"product": {"name": "rubrix", "env": [{"name": "RUBRIX_ENABLE_TELEMETRY", '
        '"kind": "boolean"}]}, "fields": {}}\n')
    env = dict(os.environ, PYTHONPATH=str(site), RUBRIX_ENABLE_TELEMETRY="0")
    out = subprocess.run([script_path(), "check", "--json"], capture_output=True, text=True, env=env)
    data = json.loads(out.stdout)
    assert data["products"]["rubrix"]["collection"]["origin"] == "RUBRIX_ENABLE_TELEMETRY=0"
    env["RUBRIX_ENABLE_TELEMETRY"] = "1"
    (isolation.config_dir).mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\ncollection = false\n")
    data = json.loads(subprocess.run([script_path(), "check", "--json"], capture_output=True, text=True,
                                     env=env).stdout)
    assert data["products"]["rubrix"]["collection"]["enabled"] is True  # environment outranks settings


# -- purge ---------------------------------------------------------------------------

@pytest.mark.script
def test_purge_needs_yes_without_a_terminal(telemetry: Telemetry, isolation: Env) -> None:
    fill(3)
    out = telemetry("purge", "--all")
    assert out.exit_code == 2 and "--yes" in out.stderr
    assert len(list((isolation.spool / "pending" / "cellranger").iterdir())) == 3


@pytest.mark.script
def test_purge_dry_run_then_all(telemetry: Telemetry, isolation: Env) -> None:
    fill(3)
    size = sum(p.stat().st_size for p in (isolation.spool / "pending" / "cellranger").iterdir())
    out = telemetry("purge", "--all", "--dry-run")
    assert f"Would delete 3 pending records ({size} B)" in out.stderr
    assert len(list((isolation.spool / "pending" / "cellranger").iterdir())) == 3
    out = telemetry("purge", "--all", "--yes")
    assert out.exit_code == 0 and f"Deleted 3 pending records ({size} B)." in out.stderr
    assert list((isolation.spool / "pending" / "cellranger").iterdir()) == []


def test_purge_by_product_and_age_leaves_sending_alone(telemetry: Telemetry, isolation: Env) -> None:
    fill(2, "cellranger")
    keep = fill(1, "stripepy")
    old = _old(isolation, 40, "stripepy")
    claimed = isolation.spool / "sending" / "claim-1" / "cellranger" / f"{new_id()}.json"
    claimed.parent.mkdir(parents=True)
    claimed.write_text("{}")
    assert "Deleted 1 pending record" in telemetry("purge", "--older-than", "30d", "-y").stderr
    assert not (isolation.spool / "pending" / "stripepy" / f"{old}.json").exists()
    assert "Deleted 2 pending records" in telemetry("purge", "--product", "cellranger", "-y").stderr
    remaining = json.loads(telemetry("inspect", "--json").stdout)
    assert [r["id"] for r in remaining] == keep
    assert telemetry("purge", "--all", "-y").exit_code == 0
    assert claimed.exists()


def test_purge_without_a_filter_is_a_usage_error(telemetry: Telemetry) -> None:
    out = telemetry("purge", "--yes")
    assert out.exit_code == 2 and "--all" in out.stderr


def test_purge_asks_on_a_terminal(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(2)
    import telemetry_gate.cli.base as cli

    monkeypatch.setattr(cli, "interactive", lambda: True)
    out = inprocess("purge", "--all", input="n\n")
    assert "Delete 2 pending records" in out.stdout
    assert len(list((isolation.spool / "pending" / "cellranger").iterdir())) == 2
    out = inprocess("purge", "--all", input="y\n")
    assert "Deleted 2 pending records" in out.stderr


def test_disable_tells_about_pending_records(telemetry: Telemetry) -> None:
    fill(4)
    out = telemetry("disable")
    assert "4 records are still pending; 'telemetry purge' deletes them." in out.stderr
