"""A product's variable that moves its configuration elsewhere (``moved_by``): gcloud's
CLOUDSDK_CONFIG, Ray's RAY_USAGE_STATS_CONFIG_PATH, the Azure CLI's AZURE_CONFIG_DIR, ... While one
is set the product never reads the file at its usual place, so an "off" there stops nothing:
check never calls the product off by it, and disable neither reads nor writes it there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy.manifests import parse


def _gcloud(isolation: Env) -> Path:
    base = isolation.home / ".config" / "gcloud"
    (base / "configurations").mkdir(parents=True)
    (base / "active_config").write_text("default")
    config = base / "configurations" / "config_default"
    config.write_text("[core]\ndisable_usage_reporting = true\n")
    return config


def test_gcloud_elsewhere_is_not_called_off_by_the_usual_file(inprocess: Telemetry, isolation: Env,
                                                               tmp_path: Path) -> None:
    _gcloud(isolation)
    assert inprocess("check", "collection", "-p", "gcloud", "--quiet").exit_code == 1  # the file says off
    env = {"CLOUDSDK_CONFIG": str(tmp_path / "elsewhere")}
    assert inprocess("check", "collection", "-p", "gcloud", "--quiet", env=env).exit_code == 0
    data = json.loads(inprocess("check", "-p", "gcloud", "--json", env=env).stdout)
    (state,) = [n for n in data["products"]["gcloud"]["native"] if n["kind"] == "config-file"]
    assert state["effect"] == "unreadable"
    assert any("CLOUDSDK_CONFIG is set" in note for note in data["notes"])


def test_disable_leaves_the_usual_file_alone_while_the_product_looks_elsewhere(inprocess: Telemetry,
                                                                                isolation: Env,
                                                                                tmp_path: Path) -> None:
    config = _gcloud(isolation)
    config.write_text("[core]\naccount = me\n")
    out = inprocess("disable", "-p", "gcloud", env={"CLOUDSDK_CONFIG": str(tmp_path / "elsewhere")})
    assert out.exit_code == 0
    assert config.read_text() == "[core]\naccount = me\n"
    assert "not written: CLOUDSDK_CONFIG is set" in " ".join(out.stderr.split())
    assert "stops: it reads" not in out.stderr


def test_ray_elsewhere_too(inprocess: Telemetry, isolation: Env, tmp_path: Path) -> None:
    (isolation.home / ".ray").mkdir()
    (isolation.home / ".ray" / "config.json").write_text('{"usage_stats": false}')
    assert inprocess("check", "collection", "-p", "ray", "--quiet").exit_code == 1
    env = {"RAY_USAGE_STATS_CONFIG_PATH": str(tmp_path / "config.json")}
    assert inprocess("check", "collection", "-p", "ray", "--quiet", env=env).exit_code == 0


@pytest.mark.parametrize("moved", ['"CLOUDSDK_CONFIG"', '["lower"]', '["A B"]', "[1]"])
def test_moved_by_names_variables(moved: str) -> None:
    text = ('[product]\nname = "demo"\n\n[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
            'path = "~/.demo/config.json"\nformat = "json"\nkey = "telemetry"\noff = false\non = true\n'
            f'moved_by = {moved}\nsource = "https://example.org/docs"\n')
    with pytest.raises(InvalidFileError, match="moved_by lists"):
        parse(text.encode(), "/x/demo.toml")
