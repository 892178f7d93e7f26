"""``[[native]]``, ``[detect]`` and the new ``[product]`` keys: parsed strictly, with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy import manifests
from telemetry_gate.policy.catalogue import discover, shipped_names
from telemetry_gate.policy.manifests import SHIPPED, parse
from telemetry_gate.policy.own.places import expand

HEAD = '[product]\nname = "demo"\n\n'


def _parse(text: str) -> manifests.Manifest:
    return parse(text.encode(), "/x/demo.toml")


def test_every_shipped_manifest_parses_and_cites_its_sources(isolation: Env) -> None:
    catalogue = discover(isolation.paths)
    shipped = {n: m for n, m in catalogue.manifests.items() if m.shipped}
    assert not catalogue.errors
    assert {"cellranger", "stripepy", "rubrix", "argilla", "piperider", "opentelemetry"} <= set(shipped)
    assert sorted(shipped) == shipped_names()
    assert all(shipped[name].native for name in ("cellranger", "stripepy", "rubrix", "argilla", "piperider"))
    for manifest in shipped.values():
        assert Path(manifest.source).parent == SHIPPED
        for switch in manifest.native:
            assert switch.source.startswith("https://"), (manifest.name, switch)


def test_a_full_native_table_is_read() -> None:
    manifest = _parse(HEAD.replace('"demo"\n', '"demo"\nhomepage = "https://d.example"\n'
                                   'telemetry_docs = "https://d.example/t"\nlimits = ["crash reports always go"]\n')
                      + '[detect]\nexecutables = ["demo"]\ndistributions = ["demo-py"]\npaths = ["~/.demo"]\n\n'
                      '[[native]]\nkind = "env"\nfacets = ["upload", "collection"]\nvariable = "DEMO_TELEMETRY"\n'
                      'off = "no"\noff_when = "values"\noff_values = ["0", "No"]\non = "1"\ntrim = true\n'
                      'source = "https://d.example/code#L1"\n\n'
                      '[[native]]\nkind = "config-file"\nfacets = ["collection"]\n'
                      'path = "$XDG_CONFIG_HOME/demo/c.ini"\n'
                      'format = "ini"\nkey = "core.telemetry"\noff = false\non = true\nabsent = "off"\n'
                      'source = "https://d.example/c"\n\n'
                      '[[native]]\nkind = "flag-file"\nfacets = ["update"]\nscope = "system"\n'
                      'path = "$SYSTEM/demo/no_update"\ncovers = ["demo", "demo2"]\nsource = "https://d.example/f"\n')
    assert (manifest.homepage, manifest.telemetry_docs, manifest.limits) == (
        "https://d.example", "https://d.example/t", ("crash reports always go",))
    assert manifest.detect.executables == ("demo",) and manifest.detect.paths == ("~/.demo",)
    env, config, flag = manifest.native
    assert env.facets == ("collection", "upload")  # in the documented order
    assert env.off_values == ("0", "no") and env.is_off_value(" NO ") and not env.is_off_value("1")
    assert (config.format, config.key, config.off, config.on, config.absent) == ("ini", "core.telemetry",
                                                                                 False, True, "off")
    assert flag.covers == ("demo", "demo2") and flag.scope == "system"


@pytest.mark.parametrize(("table", "line", "problem"), [
    ('kind = "env"\nfacets = ["collection"]\nvariable = "X"\noff = "1"\n', 4, "needs a source"),  # the header
    ('kind = "env"\nfacets = ["collection"]\nvariable = "X"\noff = "1"\nsource = "see the docs"\n', 9,
     "needs a source"),
    ('kind = "smoke-signal"\nfacets = ["collection"]\nsource = "https://x"\n', 5, "kind must be one of"),
    ('kind = "env"\nfacets = ["telemetry"]\nvariable = "X"\noff = "1"\nsource = "https://x"\n', 6, "facets must"),
    ('kind = "env"\nfacets = ["collection"]\nvariable = "X"\noff = ""\nsource = "https://x"\n', 8, "needs off"),
    ('kind = "env"\nfacets = ["collection"]\nvariable = "X"\noff = "yes"\noff_when = "values"\n'
     'off_values = ["0"]\nsource = "https://x"\n', 8, "is not one of its off_values"),
    ('kind = "env"\nfacets = ["collection"]\nvariable = "X"\noff = "1"\non = "0"\nsource = "https://x"\n', 9,
     "on must be"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "$HOME/x"\nsource = "https://x"\n', 7, "must start with"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "~/../etc/x"\nsource = "https://x"\n', 7, "'..'"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "relative/x"\nsource = "https://x"\n', 7,
     "must start with"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "~/.demo/x"\nscope = "system"\nsource = "https://x"\n', 7,
     "system-scope path"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "~/.demo/x"\ncovers = ["other"]\nsource = "https://x"\n', 8,
     "include the product itself"),
    ('kind = "flag-file"\nfacets = ["collection"]\npath = "~/.demo/x"\nvariable = "X"\nsource = "https://x"\n', 8,
     "does not take variable"),
    ('kind = "config-file"\nfacets = ["collection"]\npath = "~/.demo/x.ini"\nformat = "ini"\nkey = "telemetry"\n'
     'off = false\non = true\nsource = "https://x"\n', 9, "key must be"),
    ('kind = "config-file"\nfacets = ["collection"]\npath = "~/.demo/x.yml"\nformat = "xml"\nkey = "t"\n'
     'off = false\non = true\nsource = "https://x"\n', 8, "format must be"),
    ('kind = "config-file"\nfacets = ["collection"]\npath = "~/.demo/x.yml"\nformat = "yaml"\nkey = "t"\n'
     'off = false\nsource = "https://x"\n', 4, "needs on"),
])
def test_a_bad_native_table_names_file_and_line(table: str, line: int, problem: str) -> None:
    text = HEAD + "[[native]]\n" + table
    with pytest.raises(InvalidFileError) as caught:
        _parse(text)
    assert problem in caught.value.problem
    assert caught.value.line == line, caught.value.message


def test_the_second_native_table_is_the_one_named() -> None:
    good = '[[native]]\nkind = "env"\nfacets = ["upload"]\nvariable = "OK_TELEMETRY"\noff = "1"\nsource = "https://ok"\n\n'
    bad = '[[native]]\nkind = "env"\nfacets = ["upload"]\nvariable = "BAD"\noff = "1"\n'
    with pytest.raises(InvalidFileError) as caught:
        _parse(HEAD + good + bad)
    assert caught.value.line == 11 and "needs a source" in caught.value.problem


@pytest.mark.parametrize(("text", "problem"), [
    ('[detect]\nbinaries = ["x"]\n', "does not take binaries"),
    ('[detect]\nexecutables = ["a/b"]\n', "not a valid name"),
    ('[detect]\npaths = ["/etc/../x"]\n', "'..'"),
    ('[product]\nname = "demo"\nlimits = "none"\n', "limits must be a list"),
])
def test_bad_detect_or_limits(text: str, problem: str) -> None:
    with pytest.raises(InvalidFileError) as caught:
        _parse(text if text.startswith("[product]") else HEAD + text)
    assert problem in caught.value.problem and caught.value.line is not None


def test_a_user_manifest_overrides_the_shipped_one_even_when_broken(isolation: Env) -> None:
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "piperider.toml").write_text('[product]\nname = "piperider"\ndescription = "mine"\n')
    (folder / "stripepy.toml").write_text('[product]\nname = "stripepy"\n[[native]]\nkind = "env"\n')
    catalogue = discover(isolation.paths)
    assert catalogue.manifests["piperider"].description == "mine" and not catalogue.manifests["piperider"].native
    assert "stripepy" not in catalogue.manifests  # what the user's file allows is unknown
    assert catalogue.broken("stripepy") is catalogue.errors[str(folder / "stripepy.toml")]
    assert catalogue.manifests["cellranger"].shipped  # the others are untouched


def test_the_recorder_reads_only_its_own_shipped_manifest(isolation: Env) -> None:
    catalogue = discover(isolation.paths, only="stripepy")
    assert [m for m in catalogue.manifests if catalogue.manifests[m].shipped] == ["stripepy"]


def test_path_templates_follow_xdg_and_the_system_root(isolation: Env) -> None:
    env = {"HOME": "/h", "XDG_CONFIG_HOME": "/c", "XDG_CACHE_HOME": "relative", "TELEMETRY_SYSTEM_DIR": "/s"}
    assert expand("$XDG_CONFIG_HOME/tenx/telemetry/disable", env) == Path("/c/tenx/telemetry/disable")
    assert expand("$XDG_CACHE_HOME/x", env) == Path("/h/.cache/x")  # a relative XDG value is ignored
    assert expand("$XDG_STATE_HOME", env) == Path("/h/.local/state")
    assert expand("~/.piperider/profile.yml", env) == Path("/h/.piperider/profile.yml")
    assert expand("$SYSTEM/tenx/telemetry/disable_upload", env) == Path("/s/tenx/telemetry/disable_upload")
    assert expand("$SYSTEM/x", {"HOME": "/h"}) == Path("/etc/x")


def test_check_lists_a_shipped_product_only_when_it_is_present(inprocess: Telemetry, isolation: Env) -> None:
    import json

    listed = json.loads(inprocess("check", "--json").stdout)["products"]
    assert "piperider" not in listed and "stripepy" not in listed
    bin_dir = isolation.root / "bin"
    bin_dir.mkdir()
    (bin_dir / "stripepy").write_text("#!/bin/sh\n")
    (bin_dir / "stripepy").chmod(0o755)
    (isolation.home / ".piperider").mkdir()
    listed = json.loads(inprocess("check", "--json", env={"PATH": str(bin_dir)}).stdout)["products"]
    assert {"piperider", "stripepy"} <= set(listed) and "rubrix" not in listed



def test_a_tool_beside_this_interpreter_counts_as_installed(isolation: Env) -> None:
    """A product pip-installed into telemetry-gate's own (not activated) virtual environment."""
    import sys

    from telemetry_gate.policy.own import detect
    from telemetry_gate.policy.own.model import Detect

    here = Path(sys.executable).parent
    assert detect.installed(Detect(executables=("telemetry",)), {"PATH": ""}) == (here / "telemetry").exists()
    assert not detect.installed(Detect(executables=("no-such-tool-here",)), {"PATH": ""})
    assert detect.installed(Detect(distributions=("Telemetry_Gate",)), {})  # names compare normalised
