"""Issue 14 item 13: what a settings file or a manifest holds but telemetry does not read is
reported with its file and line, in ``check`` and ``inspect --catalog``; an unknown key never
loosens anything: in settings it is ignored (reported), in a manifest it makes the manifest
unusable (the Recorder collects nothing for that product, ``send`` does not send it)."""

from __future__ import annotations

import json
from pathlib import Path

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.policy import manifests
from telemetry_gate.policy.paths import Paths

SETTINGS = """\
collection = false

[telemetry]
upload = true
stirct = true

[product.cellranger]
upload = false

[products.CellRanger]
upload = false
"""


def test_settings_strays_are_reported_with_file_and_line(telemetry: Telemetry, isolation: Env) -> None:
    path = isolation.config_dir / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text(SETTINGS)
    out = telemetry("check", "--json")
    assert out.exit_code == 0, out.stderr
    notes = "\n".join(json.loads(out.stdout)["notes"])
    assert f"{path}:1: collection outside any table is ignored; put it under [telemetry]" in notes
    assert f"{path}:5: unknown key 'stirct' in [telemetry] is ignored" in notes
    assert f"{path}:7: [product] is ignored; a product's table is [products.cellranger]" in notes
    assert f"{path}:10: [products.CellRanger] is ignored" in notes and "[products.cellranger]?" in notes
    catalog = telemetry("inspect", "--catalog")
    assert catalog.exit_code == 0
    for line in (1, 5, 7, 10):
        assert f"warning: {path}:{line}: " in catalog.stderr
    # nothing unknown loosened anything: the top-level "collection = false" is not obeyed either way,
    # and the [telemetry] table still says what it says
    assert json.loads(out.stdout)["facets"]["upload"]["enabled"] is True


def _manifest(env: Env, text: str, product: str = "labtool") -> Path:
    folder = env.system_dir / "products.d"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{product}.toml"
    path.write_text(f'[product]\nname = "{product}"\n' + text)
    return path


def test_a_misspelt_strict_makes_the_manifest_unusable(telemetry: Telemetry, isolation: Env) -> None:
    path = _manifest(isolation, 'stirct = true\n\n[fields.duration_s]\ncategory = "performance"\n')
    notes = "\n".join(json.loads(telemetry("check", "--json").stdout)["notes"])
    assert f"{path}:3: [product] does not take 'stirct' (did you mean 'strict'?)" in notes
    rec = Recorder("labtool", "1.0")
    assert rec.record("run", metrics={"duration_s": 1.0, "sample_name": "patient-7"}) is None
    assert not (isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "labtool").exists()
    catalog = telemetry("inspect", "--catalog")
    assert f"warning: manifest not used: {path}:3" in catalog.stderr
    one = telemetry("inspect", "--catalog", "--product", "labtool")
    assert one.exit_code == 3 and f"{path}:3" in one.stderr


def test_unknown_keys_in_env_and_fields_tables_and_at_the_top(inprocess: Telemetry, isolation: Env) -> None:
    cases = {
        '[[product.env]]\nname = "LABTOOL_OFF"\nfacet = ["upload"]\n': ("[[product.env]] does not take 'facet'", 5),
        '[fields.n]\ncategory = "usage"\ndescripton = "a count"\n': ("[fields.n] does not take 'descripton'", 5),
        '[feilds.n]\ncategory = "usage"\n': ("a manifest does not take 'feilds'", 3),
    }
    for text, (problem, line) in cases.items():
        path = _manifest(isolation, text)
        notes = "\n".join(json.loads(inprocess("check", "--json").stdout)["notes"])
        assert f"{path}:{line}: {problem}" in notes, notes


def test_send_does_not_send_a_product_whose_manifest_is_unusable(inprocess: Telemetry, isolation: Env) -> None:
    rec = Recorder("labtool", "1.0")
    assert rec.record("run", metrics={"n": 1})  # kept while the manifest was fine
    _manifest(isolation, '[[product.env]]\nname = "LABTOOL_NO_UPLOAD"\nfacets = ["upload"]\nknd = "boolean"\n')
    with Collector() as collector:
        out = inprocess("send", "--endpoint", collector.url)
        assert collector.connections == 0
    assert out.exit_code == 3 and "its manifest is invalid" in out.stderr


def test_the_shipped_catalogue_is_clean(inprocess: Telemetry, isolation: Env) -> None:
    catalogue = manifests.discover(Paths.for_vendor("tenx"))
    assert catalogue.errors == {}
    assert {p.stem for p in manifests.SHIPPED.glob("*.toml")} <= set(catalogue.manifests)
    out = inprocess("inspect", "--catalog")
    assert out.exit_code == 0 and "warning" not in out.stderr
    assert json.loads(inprocess("check", "--json").stdout)["notes"] == []
