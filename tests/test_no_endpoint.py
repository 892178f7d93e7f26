"""Issue 19 item 5: ``send`` with no endpoint configured is a usage error (exit 2) that names
the three ways to give one: ``--endpoint``, ``TELEMETRY_ENDPOINT`` and the settings key. Nothing
is claimed, sent or moved; ``send ID`` the same."""

from __future__ import annotations

import json

import pytest

from collector import Collector
from conftest import Env, Telemetry, fill

SETTINGS = "~/.config/tenx/telemetry/settings.toml"


def _hint(table: str) -> str:
    return (f'  give --endpoint URL, set TELEMETRY_ENDPOINT=URL, or add endpoint = "https://..." to '
            f"[telemetry] (every product) or {table} in {SETTINGS}")


@pytest.mark.script
@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--product", "cellranger"]], ids=["send", "dry-run", "product"])
def test_send_without_an_endpoint_is_a_usage_error_saying_how_to_give_one(
        telemetry: Telemetry, isolation: Env, extra: list[str]) -> None:
    ids = fill(2)
    before = isolation.files()
    out = telemetry("send", *extra)
    assert out.exit_code == 2
    assert out.stderr.splitlines() == ["telemetry: no endpoint is configured for cellranger",
                                       _hint("[products.cellranger]")]
    assert list(isolation.pending()) == ids and isolation.files() == before  # nothing claimed or moved


def test_send_ids_without_an_endpoint_is_the_same_usage_error(inprocess: Telemetry, isolation: Env) -> None:
    ids = fill(1)
    out = inprocess("send", ids[0], "--yes")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.splitlines() == ["telemetry: no endpoint is configured for cellranger",
                                       _hint("[products.cellranger]")]
    assert list(isolation.pending()) == ids


def test_every_product_without_one_is_named_once_and_the_others_are_sent(inprocess: Telemetry,
                                                                         isolation: Env) -> None:
    fill(1)
    fill(1, product="labtool")
    fill(1, product="stripepy")
    with Collector() as collector:
        isolation.config_dir.mkdir(parents=True)
        (isolation.config_dir / "settings.toml").write_text(f'[products.labtool]\nendpoint = "{collector.url}"\n')
        out = inprocess("send", "--json")
        assert collector.accepted_ids() and len(collector.accepted_ids()) == 1
    assert out.exit_code == 2
    assert out.stderr.splitlines() == ["telemetry: no endpoint is configured for cellranger, stripepy",
                                       _hint("[products.<name>]")]
    report = json.loads(out.stdout)
    assert report["sent"] == 1 and report["pending"] == 2
    assert report["products"]["cellranger"]["error"] == "no endpoint is configured for cellranger"
    assert isolation.pending() and not isolation.pending("labtool")


def test_an_endpoint_in_the_vendor_table_is_enough(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)
    with Collector() as collector:
        isolation.config_dir.mkdir(parents=True)
        (isolation.config_dir / "settings.toml").write_text(f'[telemetry]\nendpoint = "{collector.url}"\n')
        out = inprocess("send")
        assert out.exit_code == 0, out.stderr
        assert len(collector.accepted_ids()) == 1


def test_an_endpoint_that_may_not_be_used_is_still_an_invalid_setting(inprocess: Telemetry, isolation: Env) -> None:
    fill(1)
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text('[telemetry]\nendpoint = "http://collector.example.org"\n')
    out = inprocess("send")
    assert out.exit_code == 3 and "https" in out.stderr
