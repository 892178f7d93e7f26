"""``telemetry enable`` / ``disable``: what they write and what they say."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from conftest import Env, Telemetry


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.script
def test_disable_upload_writes_settings_0600_in_0700(telemetry: Telemetry, isolation: Env) -> None:
    out = telemetry("disable", "upload")
    assert out.exit_code == 0, out.stderr
    settings = isolation.config_dir / "settings.toml"
    assert tomllib.loads(settings.read_text()) == {"telemetry": {"upload": False}}
    assert _mode(settings) == 0o600 and _mode(settings.parent) == 0o700
    data = json.loads(telemetry("check", "--json").stdout)
    assert data["facets"]["upload"] == {"enabled": False, "layer": "user settings",
                                        "origin": "~/.config/tenx/telemetry/settings.toml [telemetry]"}
    assert data["facets"]["collection"]["enabled"] is True


def test_disable_without_facet_means_all(telemetry: Telemetry, isolation: Env) -> None:
    assert telemetry("disable").exit_code == 0
    data = tomllib.loads((isolation.config_dir / "settings.toml").read_text())
    assert data == {"telemetry": {"collection": False, "upload": False, "update": False}}


def test_every_other_table_and_key_is_kept(telemetry: Telemetry, isolation: Env) -> None:
    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('[telemetry]\nendpoint = "https://t.example.org"\n\n[products.cellranger]\n'
                        'update = false\n\n[products.stripepy]\nmax_records = 5\n')
    assert telemetry("enable", "upload", "--product", "cellranger").exit_code == 0
    assert tomllib.loads(settings.read_text()) == {
        "telemetry": {"endpoint": "https://t.example.org"},
        "products": {"cellranger": {"update": False, "upload": True}, "stripepy": {"max_records": 5}},
    }  # (a table telemetry does not read makes the file invalid: tests/test_unknown_keys.py)


def test_malformed_settings_are_never_rewritten(telemetry: Telemetry, isolation: Env) -> None:
    settings = isolation.config_dir / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(b"[telemetry]\nupload = false\n# mine\n[broken\n")
    out = telemetry("disable")
    assert out.exit_code == 3 and f"{settings}:4" in out.stderr
    assert settings.read_bytes() == b"[telemetry]\nupload = false\n# mine\n[broken\n"


def test_higher_layer_is_named_when_it_wins(telemetry: Telemetry, isolation: Env) -> None:
    isolation.system_dir.mkdir(parents=True)
    (isolation.system_dir / "disable_upload").touch()
    out = telemetry("enable", "upload")
    assert out.exit_code == 0
    assert (f"Saved. Upload stays disabled: {isolation.system_dir}/disable_upload (system policy) "
            "takes precedence.") in out.stderr
    out = telemetry("enable", env={"TENX_DISABLE_TELEMETRY": "1"})
    assert "TENX_DISABLE_TELEMETRY=1 (environment) takes precedence" in out.stderr


def test_system_flags_created_and_removed(telemetry: Telemetry, isolation: Env) -> None:
    assert telemetry("disable", "upload", "--system").exit_code == 0
    flag = isolation.system_dir / "disable_upload"
    assert flag.exists() and _mode(flag) == 0o644
    assert telemetry("check", "upload", "-q").exit_code == 1
    assert telemetry("disable", "--system").exit_code == 0
    assert (isolation.system_dir / "disable").exists()
    assert telemetry("enable", "--system").exit_code == 0
    assert sorted(p.name for p in isolation.system_dir.iterdir()) == ["history.jsonl"]  # the flags are gone
    assert telemetry("check", "upload", "-q").exit_code == 0


@pytest.mark.script
def test_system_without_write_access_exits_4(telemetry: Telemetry, unwritable: Path) -> None:
    out = telemetry("disable", "--system", env={"TELEMETRY_SYSTEM_DIR": str(unwritable)})
    assert out.exit_code == 4
    assert "permission denied" in out.stderr or "cannot create" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) <= 2


def test_unwritable_config_dir_exits_4(telemetry: Telemetry, unwritable: Path) -> None:
    out = telemetry("disable", env={"XDG_CONFIG_HOME": str(unwritable)})
    assert out.exit_code == 4 and "Traceback" not in out.stderr


def test_system_collection_alone_is_a_usage_error(telemetry: Telemetry) -> None:
    out = telemetry("disable", "collection", "--system")
    assert out.exit_code == 2 and "no system flag for collection" in out.stderr


@pytest.mark.script
def test_unknown_facet_is_a_usage_error(telemetry: Telemetry) -> None:
    assert telemetry("disable", "everything").exit_code == 2


def test_user_flag_file_from_cellranger_is_honoured(telemetry: Telemetry, isolation: Env) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "disable").write_text("written by cellranger telemetry disable")
    assert telemetry("check", "collection", "-q").exit_code == 1
    assert telemetry("enable").exit_code == 0  # the settings file outranks the flag files
    assert telemetry("check", "collection", "-q").exit_code == 0
