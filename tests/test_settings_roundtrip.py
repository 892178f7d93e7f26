"""Issue 14 item 16: ``enable``/``disable`` keep the user's comments and layout in settings.toml
(a tomlkit round trip); a malformed file is still never rewritten."""

from __future__ import annotations

import tomllib

import pytest

from conftest import Env, Telemetry

HAND_WRITTEN = """\
# Settings for the lab workstation. Ask Dana before changing.

[telemetry]
upload = false            # not until IT approves the endpoint
endpoint = "https://telemetry.example.org"

# Cell Ranger runs on the cluster too.
[products.cellranger]
'max_records' = 500       # quoted key, kept as written
format = "json"
"""


def test_enable_and_disable_keep_comments_and_layout(telemetry: Telemetry, isolation: Env) -> None:
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN)
    assert telemetry("disable", "collection").exit_code == 0
    assert telemetry("enable", "upload", "--product", "cellranger").exit_code == 0
    assert telemetry("disable", "update", "--product", "stripepy").exit_code == 0
    text = path.read_text()
    data = tomllib.loads(text)
    assert data["telemetry"] == {"upload": False, "collection": False, "endpoint": "https://telemetry.example.org"}
    assert data["products"]["cellranger"] == {"max_records": 500, "format": "json", "upload": True}
    assert data["products"]["stripepy"] == {"update": False}
    lines = text.splitlines()
    theirs = [line for line in HAND_WRITTEN.splitlines() if line.strip()]
    assert [line for line in lines if line in theirs] == theirs  # every line of theirs, in order, unchanged
    assert text.startswith(HAND_WRITTEN.split("[telemetry]")[0] + "[telemetry]\n")  # blank lines too
    # a new key goes after the table's last key, not under the comment that opens the next table
    assert lines.index("collection = false") < lines.index("# Cell Ranger runs on the cluster too.")


def test_a_changed_value_keeps_its_comment(inprocess: Telemetry, isolation: Env) -> None:
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN)
    assert inprocess("enable", "upload").exit_code == 0
    assert "upload = true            # not until IT approves the endpoint" in path.read_text().splitlines()


def test_a_malformed_file_is_still_never_rewritten(inprocess: Telemetry, isolation: Env) -> None:
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text("# mine\n[telemetry\nupload = false\n")
    before = path.read_bytes()
    out = inprocess("disable")
    assert out.exit_code == 3 and f"{path}:2" in out.stderr
    assert path.read_bytes() == before


def test_inline_and_dotted_tables_are_edited_too(inprocess: Telemetry, isolation: Env) -> None:
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text('telemetry.upload = true  # dotted\nproducts = {cellranger = {upload = true}}  # inline\n')
    assert inprocess("disable", "collection").exit_code == 0
    assert inprocess("disable", "upload", "--product", "stripepy").exit_code == 0
    data = tomllib.loads(path.read_text())
    assert data == {"telemetry": {"upload": True, "collection": False},
                    "products": {"cellranger": {"upload": True}, "stripepy": {"upload": False}}}
    assert "# dotted" in path.read_text() and "# inline" in path.read_text()


def test_a_layout_tomlkit_cannot_edit_still_gets_the_change_and_keeps_the_data(
        inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomlkit

    def cannot(*args: object, **kwargs: object) -> str:
        raise ValueError("a layout tomlkit refuses")

    monkeypatch.setattr(tomlkit, "dumps", cannot)
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN)
    assert inprocess("disable", "upload", "--product", "cellranger").exit_code == 0
    data = tomllib.loads(path.read_text())
    assert data["products"]["cellranger"] == {"max_records": 500, "format": "json", "upload": False}
    assert data["telemetry"] == {"upload": False, "endpoint": "https://telemetry.example.org"}
