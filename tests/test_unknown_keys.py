"""Issue 14 item 13, issue 19 item 4: what a settings file or a manifest holds but telemetry
does not read fails closed, with its file and line: a settings file with an unknown key, table
or product name is invalid (exit 3 with a did-you-mean; the Recorder records nothing, ``send``
sends nothing, ``enable``/``disable`` write nothing) until it is fixed; a manifest with one is
unusable (the Recorder collects nothing for that product, ``send`` does not send it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.policy import manifests
from telemetry_gate.policy.catalogue import discover
from telemetry_gate.policy.paths import Paths

HINT = "  until it is fixed, nothing is recorded or sent"

# a settings file -> (line, what the first line of the error says after "path:line: ")
MISTAKES = {
    "[telemetry]\nuplod = false\n": (2, "unknown key 'uplod' in [telemetry]; did you mean upload?"),
    '[telemetry]\nendpont = "https://collector.example.org"\n':
        (2, "unknown key 'endpont' in [telemetry]; did you mean endpoint?"),
    "[products.cellranger]\ncolection = false\n":
        (2, "unknown key 'colection' in [products.cellranger]; did you mean collection?"),
    "[telemtry]\nupload = false\n": (1, "unknown table 'telemtry'; did you mean [telemetry]?"),
    "# comment\nupload = false\n[telemetry]\n":
        (2, "upload outside any table; put it under [telemetry] (every product) or [products.<name>]"),
    "[product.cellranger]\nupload = false\n":
        (1, "[product] is not a table telemetry reads; did you mean [products.cellranger]?"),
    "[products.CellRanger]\nupload = false\n": (1, "[products.CellRanger] is not a product telemetry can name: "
                                                   "lower-case letters, digits, '.', '_' and '-'; did you mean "
                                                   "[products.cellranger]?"),
}


def _settings(env: Env, text: str) -> Path:
    path = env.config_dir / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text", list(MISTAKES), ids=lambda text: text.split("\n")[1 if "[" in text[:1] else 0])
def test_a_settings_file_telemetry_cannot_fully_read_fails_closed(
        inprocess: Telemetry, isolation: Env, text: str) -> None:
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("count", metrics={"n": 1})  # kept while the file was fine
    path = _settings(isolation, text)
    line, problem = MISTAKES[text]
    check = inprocess("check")
    assert check.exit_code == 3 and check.stdout == ""
    assert check.stderr.splitlines() == [f"telemetry: {path}:{line}: {problem}", HINT]
    assert inprocess("check", "--json").exit_code == 3
    later = Recorder("cellranger", "9.0.0")
    assert later.record("count", metrics={"n": 2}) is None and not later.enabled
    assert f"{path}:{line}" in (later.problem or "")
    assert len(isolation.pending()) == 1  # the first record only
    with Collector() as collector:
        for args in (["send"], ["send", "--endpoint", collector.url], ["send", *isolation.pending(), "--yes"]):
            out = inprocess(*args, env={"TELEMETRY_ENDPOINT": collector.url})
            assert out.exit_code == 3 and f"{path}:{line}: {problem}" in out.stderr, args
        assert collector.connections == 0
    before = isolation.files()
    for args in (["disable"], ["enable", "upload"], ["disable", "upload", "-p", "cellranger"]):
        out = inprocess(*args)
        assert out.exit_code == 3 and out.stderr.splitlines()[0] == f"telemetry: {path}:{line}: {problem}", args
    assert isolation.files() == before and path.read_text() == text  # nothing written, nothing rewritten
    path.write_text("[telemetry]\nupload = false\n")  # fixed: everything works again
    assert inprocess("check", "upload", "--quiet").exit_code == 1
    assert Recorder("cellranger", "9.0.0").record("count") is not None


def test_the_error_counts_the_other_mistakes(inprocess: Telemetry, isolation: Env) -> None:
    path = _settings(isolation, "collection = false\n\n[telemetry]\nupload = true\nstirct = true\n\n"
                                "[products.CellRanger]\nupload = false\n")
    out = inprocess("check")
    assert out.exit_code == 3
    assert out.stderr.splitlines() == [
        f"telemetry: {path}:1: collection outside any table; put it under [telemetry] (every product) or "
        "[products.<name>]", f"{HINT}; 2 more line(s) below need it too"]


def test_an_unknown_key_in_the_system_defaults_fails_closed_too(inprocess: Telemetry, isolation: Env) -> None:
    isolation.system_dir.mkdir(parents=True)
    (isolation.system_dir / "settings.toml").write_text("[telemetry]\n\nupload_ = false\n")
    out = inprocess("check")
    assert out.exit_code == 3
    assert out.stderr.splitlines()[0] == (f"telemetry: {isolation.system_dir}/settings.toml:3: unknown key "
                                          "'upload_' in [telemetry]; did you mean upload?")
    assert Recorder("cellranger", "9.0.0").record("count") is None


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
    catalogue = discover(Paths.for_vendor("tenx"))
    assert catalogue.errors == {}
    assert {p.stem for p in manifests.SHIPPED.glob("*.toml")} <= set(catalogue.manifests)
    out = inprocess("inspect", "--catalog")
    assert out.exit_code == 0 and "warning" not in out.stderr
    assert json.loads(inprocess("check", "--json").stdout)["notes"] == []
