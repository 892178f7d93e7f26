"""``--product`` names (issue 20 item 6): a product covered by another's shared switch gets that
switch, and the output names every product it reaches; a name nothing here knows is refused
with a did-you-mean unless ``--force``; the product-name pattern is written once."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import telemetry_gate
from conftest import Env, Telemetry, fill


def test_a_covered_product_gets_the_shared_switch_and_names_what_it_reaches(inprocess: Telemetry,
                                                                             isolation: Env) -> None:
    out = inprocess("disable", "-p", "spaceranger")
    assert out.exit_code == 0, out.stderr
    assert (isolation.config_dir / "disable").is_file()  # Cell Ranger's flag: every 10x pipeline reads it
    lines = out.stderr.splitlines()
    assert "cellranger: created ~/.config/tenx/telemetry/disable (the same switch for spaceranger, cellranger-arc)" \
        in lines
    assert "spaceranger has no switch of its own: it reads cellranger's, which reach cellranger, cellranger-arc " \
        "as well" in lines
    settings = tomllib.loads((isolation.config_dir / "settings.toml").read_text())
    assert settings == {"products": {"spaceranger": {"collection": False, "upload": False, "update": False}}}
    native = json.loads(inprocess("check", "--json", "-p", "spaceranger").stdout)["products"]["spaceranger"]
    assert native["collection"]["enabled"] is False


def test_one_facet_of_a_covered_product_takes_the_narrowest_shared_switch(inprocess: Telemetry,
                                                                          isolation: Env) -> None:
    out = inprocess("disable", "upload", "-p", "cellranger-arc")
    assert out.exit_code == 0, out.stderr
    assert sorted(p.name for p in isolation.config_dir.iterdir() if p.name.startswith("disable")) == ["disable_upload"]
    assert "cellranger: created ~/.config/tenx/telemetry/disable_upload (the same switch for spaceranger, " \
           "cellranger-arc)" in out.stderr.splitlines()


@pytest.mark.script
@pytest.mark.parametrize("verb", ["disable", "enable"])
def test_an_unknown_name_is_refused_with_a_guess_and_nothing_written(telemetry: Telemetry, isolation: Env,
                                                                     verb: str) -> None:
    out = telemetry(verb, "-p", "stripepyy")
    assert out.exit_code == 2
    assert out.stderr.splitlines() == [
        "telemetry: unknown product 'stripepyy': no product catalogued, installed, recorded or configured has "
        "that name; nothing was changed",
        "  did you mean stripepy? --force saves it all the same"]
    assert not (isolation.home / ".config").exists() and not (isolation.home / ".local").exists()
    assert telemetry(verb, "-p", "stripepyy", "--dry-run").exit_code == 2


def test_a_name_like_nothing_points_at_the_catalogue(inprocess: Telemetry) -> None:
    out = inprocess("disable", "-p", "zzzqqq")
    assert out.exit_code == 2
    assert out.stderr.splitlines()[1] == "  'telemetry products' lists the catalogue; --force saves it all the same"


def test_force_saves_an_unknown_name(inprocess: Telemetry, isolation: Env) -> None:
    out = inprocess("disable", "-p", "stripepyy", "--force")
    assert out.exit_code == 0, out.stderr
    settings = tomllib.loads((isolation.config_dir / "settings.toml").read_text())
    assert settings["products"]["stripepyy"] == {"collection": False, "upload": False, "update": False}
    assert inprocess("enable", "upload", "-p", "stripepyy").exit_code == 0  # configured now: known


def test_recorded_configured_and_declared_products_are_known(inprocess: Telemetry, isolation: Env) -> None:
    fill(1, product="labtool")  # recorded: its records wait in the spool
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[products.mytool]\nupload = false\n")  # configured
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "inhouse.toml").write_text('[product]\nname = "inhouse"\n')  # declared by a manifest
    for name in ("labtool", "mytool", "inhouse", "cellranger", "astro"):  # (astro: catalogued, not installed)
        out = inprocess("disable", "update", "-p", name)
        assert out.exit_code == 0, (name, out.stderr)
    products = tomllib.loads((isolation.config_dir / "settings.toml").read_text())["products"]
    assert sorted(products) == ["astro", "cellranger", "inhouse", "labtool", "mytool"]


def test_the_product_name_pattern_is_written_once() -> None:
    package = Path(telemetry_gate.__file__).parent
    found = [path.relative_to(package).as_posix() for path in sorted(package.rglob("*.py"))
             for line in path.read_text().splitlines() if "[a-z0-9][a-z0-9_.-]" in line]
    assert found == ["policy/paths.py"]  # paths.NAME; everything else asks paths.is_name


def test_the_shared_switch_reaches_no_product_it_does_not_name(inprocess: Telemetry, isolation: Env) -> None:
    # Cell Ranger's flag in telemetry-gate's namespace is the user's setting for the products it
    # covers and those with no switch of their own; whylogs has its own (a flag file elsewhere)
    assert inprocess("disable", "-p", "spaceranger").exit_code == 0
    lines = (isolation.config_dir / "env.sh").read_text().splitlines()
    off = next(line for line in lines if line.startswith("# off: "))
    assert off == "# off: (none)"  # no product's variable set: WHYLOGS_NO_ANALYTICS was
    assert inprocess("check", "collection", "-q", "-p", "whylogs").exit_code == 0  # still on
    assert inprocess("check", "collection", "-q", "-p", "cellranger-arc").exit_code == 1
