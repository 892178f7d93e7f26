"""Version ranges (``versions = "<5.14.0"``): a switch the installed version does not read is
neither read nor written, and ``products`` and ``check`` say why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import Env, Telemetry
from telemetry_gate.policy.manifests import SHIPPED
from telemetry_gate.policy.own.versions import comparable, parse_range

FAKE = """\
[product]
name = "fakever"
description = "A product made up for the test"
{product}

[detect]
distributions = ["fake-ver"]

[[native]]
kind = "flag-file"
path = "$XDG_CONFIG_HOME/fakever/no-telemetry"
facets = ["collection", "upload"]
source = "https://example.org/fakever/telemetry#flag"
{switch}
"""


def products_d(env: Env) -> Path:
    directory = env.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def listed(inprocess: Telemetry, name: str) -> dict[str, object]:
    out = inprocess("products", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    return {**next(p for p in data["products"] if p["name"] == name), "errors": data["errors"]}


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Puts ``fake_ver-<version>.dist-info`` on ``sys.path``, as pip installs a wheel."""
    def install(version: str) -> None:
        site = tmp_path / f"site-{version}"
        (site / f"fake_ver-{version}.dist-info").mkdir(parents=True)
        monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    return install


@pytest.mark.parametrize(("text", "inside", "outside"), [
    ("<5.14.0", ["5.13.99", "5.13.3", "0.1", "4"], ["5.14.0", "5.14", "5.14.2", "6"]),
    (">=1.2,<2", ["1.2", "1.2.0", "1.10", "1.99.9"], ["1.1.9", "2", "2.0.0", "0.9"]),
    ("<2, >=1.2", ["1.5"], ["2.0.1", "1"]),
    ("==3.1", ["3.1", "3.1.0"], ["3.1.1", "3"]),
    ("<=1", ["1.0.0", "0.9"], ["1.0.1"]),
    (">1", ["1.0.1", "2"], ["1", "1.0"]),
])
def test_a_range_holds_the_versions_it_says_and_no_other(text: str, inside: list[str], outside: list[str]) -> None:
    found = parse_range(text)
    for version in inside:
        numbers = comparable(version)
        assert numbers is not None and found.contains(numbers), version
    for version in outside:
        numbers = comparable(version)
        assert numbers is not None and not found.contains(numbers), version


@pytest.mark.parametrize("text", ["", "5.14.0", "<5.x", "< 5.14.0,", "<1,<2", ">1,>2", ">=2,<1", ">1,<=1",
                                  "~=1.2", "<1,>0,<3", "==1,<2", "<v5", 5])
def test_a_malformed_range_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="versions"):
        parse_range(text)


def test_a_version_that_is_not_dotted_integers_is_unknown() -> None:
    assert comparable("5.14.0rc1") is None and comparable("2024.1-next") is None
    assert comparable("1.2+cu118") == (1, 2)


@pytest.mark.parametrize(("product", "switch", "line"), [
    ('versions = "<5.x"', "", 4),
    ("", 'versions = ">=2,<1"', 14),
])
def test_a_malformed_range_makes_the_manifest_unusable_with_its_line(isolation: Env, inprocess: Telemetry,
                                                                    product: str, switch: str, line: int) -> None:
    path = products_d(isolation) / "fakever.toml"
    path.write_text(FAKE.format(product=product, switch=switch))
    out = inprocess("products", "--json")
    errors = json.loads(out.stdout)["errors"]
    assert any(f"{path}:{line}" in e and "versions" in e for e in errors), errors
    assert "fakever" not in [p["name"] for p in json.loads(out.stdout)["products"]]


def test_an_installed_version_outside_the_product_range_leaves_its_switches_alone(
        isolation: Env, inprocess: Telemetry, installed) -> None:  # type: ignore[no-untyped-def]
    (products_d(isolation) / "fakever.toml").write_text(FAKE.format(product='versions = "<2.0"', switch=""))
    flag = isolation.home / ".config" / "fakever" / "no-telemetry"
    installed("2.1")
    shown = listed(inprocess, "fakever")
    assert (shown["versions"], shown["version"], shown["switches"]) == ("<2.0", "2.1", [])
    note = "fakever 2.1: no telemetry since 2.0"
    assert any(n.startswith(note) and "fake_ver-2.1.dist-info" in n for n in shown["version_notes"])  # type: ignore[attr-defined]
    assert f"note: {note}" in inprocess("products").stdout
    assert note in inprocess("check").stdout
    assert inprocess("disable", "-p", "fakever").exit_code == 0
    assert not flag.exists()  # not written


def test_an_installed_version_inside_the_range_keeps_its_switches(
        isolation: Env, inprocess: Telemetry, installed) -> None:  # type: ignore[no-untyped-def]
    (products_d(isolation) / "fakever.toml").write_text(FAKE.format(product='versions = "<2.0"', switch=""))
    installed("1.5")
    shown = listed(inprocess, "fakever")
    assert (shown["version"], len(shown["switches"]), shown["version_notes"]) == ("1.5", 1, [])  # type: ignore[arg-type]
    assert inprocess("disable", "-p", "fakever").exit_code == 0
    assert (isolation.home / ".config" / "fakever" / "no-telemetry").exists()


def test_a_switch_range_leaves_out_only_that_switch(isolation: Env, inprocess: Telemetry,
                                                    installed) -> None:  # type: ignore[no-untyped-def]
    env_switch = ('\n[[native]]\nkind = "env"\nvariable = "FAKEVER_NO_TELEMETRY"\noff = "1"\nfacets = ["collection"]\n'
                  'source = "https://example.org/fakever/telemetry#env"\n')
    (products_d(isolation) / "fakever.toml").write_text(FAKE.format(product="", switch='versions = ">=1.2,<2"')
                                                        + env_switch)
    installed("2.0.0")
    shown = listed(inprocess, "fakever")
    assert [s["where"] for s in shown["switches"]] == ["FAKEVER_NO_TELEMETRY"]  # type: ignore[attr-defined]
    assert any("read by versions >=1.2,<2 only" in n for n in shown["version_notes"])  # type: ignore[attr-defined]


def test_an_unknown_version_keeps_every_switch(isolation: Env, inprocess: Telemetry) -> None:
    (products_d(isolation) / "fakever.toml").write_text(FAKE.format(product='versions = "<2.0"', switch=""))
    shown = listed(inprocess, "fakever")
    assert (shown["version"], len(shown["switches"]), shown["version_notes"]) == (None, 1, [])  # type: ignore[arg-type]


def test_gatsby_from_5_14_0_has_no_telemetry_to_switch_off(isolation: Env, inprocess: Telemetry) -> None:
    """Gatsby is an npm tool: its version comes from a manifest's ``version`` (here a products.d
    copy of the shipped one); the shipped manifest alone keeps its switch (version unknown)."""
    shipped = (SHIPPED / "gatsby.toml").read_text()
    assert listed(inprocess, "gatsby")["versions"] == "<5.14.0"
    assert [s["where"] for s in listed(inprocess, "gatsby")["switches"]] == ["GATSBY_TELEMETRY_DISABLED"]  # type: ignore[attr-defined]
    copy = products_d(isolation) / "gatsby.toml"
    copy.write_text(shipped.replace('name = "gatsby"', 'name = "gatsby"\nversion = "5.14.2"'))
    shown = listed(inprocess, "gatsby")
    assert (shown["version"], shown["switches"]) == ("5.14.2", [])
    assert "gatsby 5.14.2: no telemetry since 5.14.0" in inprocess("check", "-p", "gatsby").stdout
    copy.write_text(shipped.replace('name = "gatsby"', 'name = "gatsby"\nversion = "5.13.1"'))
    assert [s["where"] for s in listed(inprocess, "gatsby")["switches"]] == ["GATSBY_TELEMETRY_DISABLED"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("version", "reads_hf"), [("1.29.1", False), ("2.8.0", True)])
def test_argilla_2_reads_the_hugging_face_switch_and_1_does_not(version: str, reads_hf: bool, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                inprocess: Telemetry) -> None:
    # argilla-server 2.8.0 settings.py L159-L171: HF_HUB_DISABLE_TELEMETRY == "1" turns it off; 1.x never reads it
    site = tmp_path / "site"
    (site / f"argilla_server-{version}.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    data = json.loads(inprocess("check", "-p", "argilla", "--json", env={"HF_HUB_DISABLE_TELEMETRY": "1"}).stdout)
    assert data["products"]["argilla"]["collection"]["enabled"] is not reads_hf
