"""The shipped catalogue's index (catalog/_index.py) is current, and a stale entry is never used."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Env
from telemetry_gate.policy import catalogue, manifests

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import generate_catalog_index
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return generate_catalog_index


def test_the_committed_index_is_current() -> None:
    committed = (manifests.SHIPPED / "_index.py").read_text(encoding="utf-8")
    assert committed == _generator().render(), "run: python scripts/generate_catalog_index.py"


def test_the_catalogue_table_in_the_docs_is_the_manifests_own() -> None:
    generator = _generator()
    committed = generator.DOC.read_text(encoding="utf-8")
    assert committed == generator.splice(committed), "run: python scripts/generate_catalog_index.py"
    rows = [line for line in committed.splitlines() if line.startswith("| ") and " | " in line]
    named = {row.split(" | ")[0][2:].split()[0] for row in rows[1:]}
    assert named >= set(catalogue.shipped_names())
    assert not re.search(r"(?m)^(<<<<<<<|=======$|>>>>>>>)", committed), "a merge left its markers"


def test_the_index_gives_the_manifests_that_parsing_gives(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    indexed = catalogue.discover(isolation.paths)
    monkeypatch.setattr(catalogue, "shipped_index", lambda: {})
    parsed = catalogue.discover(isolation.paths)
    assert indexed.manifests == parsed.manifests and len(parsed.manifests) == len(catalogue.shipped_names())


def test_an_entry_whose_file_changed_is_ignored(isolation: Env, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    name = catalogue.shipped_names()[0]
    shipped = tmp_path / "catalog"
    shipped.mkdir()
    original = (manifests.SHIPPED / f"{name}.toml").read_text(encoding="utf-8")
    changed = re.sub(r'(?m)^description = ".*"$', 'description = "changed since the index"', original, count=1)
    assert changed != original
    (shipped / f"{name}.toml").write_text(changed)
    monkeypatch.setattr(catalogue, "SHIPPED", shipped)
    assert catalogue.discover(isolation.paths).manifests[name].description == "changed since the index"


def test_the_table_tells_a_text_value_from_a_boolean_where_the_format_does() -> None:
    """Salesforce's ~/.sf/config.json is off only for the text "true" (the JSON boolean true is
    on) and JupyterLab's fetchNews for the text "false": a table showing `true` for both would
    have a reader write the boolean, leaving telemetry on."""
    committed = _generator().DOC.read_text(encoding="utf-8")
    rows = {line.split(" | ")[0][2:].split()[0]: line for line in committed.splitlines() if line.startswith("| ")}
    assert '`disable-telemetry` = `"true"` (json)' in rows["salesforce-cli"]
    assert '`fetchNews` = `"false"` (jsonc)' in rows["jupyterlab"]
    assert '`checkForUpdates` = `false` (jsonc)' in rows["jupyterlab"]
    assert '`core.collect_telemetry` = `no` (ini' in rows["azure-cli"]  # INI holds only text: shown bare
