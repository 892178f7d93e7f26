"""``check`` builds only the shipped manifests it shows or decides (``Gate.open(lazy=True)``): what it
prints must be what building the whole catalogue prints, and the data it picks them by must never
miss a product that is here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Env, Telemetry, fill, install_tools
from telemetry_gate.catalog._index import FILES
from telemetry_gate.policy.catalogue import discover
from telemetry_gate.policy.gate import Gate
from telemetry_gate.policy.manifests import SHIPPED, Manifest, build
from telemetry_gate.policy.own import detect
from telemetry_gate.policy.own.places import expand


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every later ``Gate.open`` builds the whole catalogue, as ``check`` did before."""
    real = Gate.open
    monkeypatch.setattr(Gate, "open", classmethod(lambda cls, vendor, environ=None, **_: real(vendor, environ)))


@pytest.fixture
def scene(isolation: Env, inprocess: Telemetry, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A machine where every reason to read a manifest occurs at least once."""
    fill(1, "stripepy", "run")  # in the spool only
    env = install_tools(isolation, "terraform", "gatsby")  # present: installed (gatsby: a version range)
    (isolation.home / ".ray").mkdir()  # present: a [detect] path, and its config-file switch is read
    (isolation.home / ".ray" / "ray_current_cluster").write_text("")  # not only what disable writes there
    (isolation.home / ".whylogs").mkdir()
    (isolation.home / ".whylogs" / "disable_telemetry").write_text("")  # present: its own flag, off
    assert inprocess("disable", env=env).exit_code == 0  # flags, settings, files written ahead (journal)
    assert inprocess("enable", "collection", "-p", "terraform", env=env).exit_code == 0
    assert inprocess("enable", "-p", "dvc", env=env).exit_code == 0  # absent, named by the settings
    settings = isolation.config_dir / "settings.toml"
    settings.write_text(settings.read_text() + "\n[products.genozip]\ncollection = true\n"  # opt-in, absent
                        "\n[products.spaceranger]\nupload = true\n")  # covered by Cell Ranger's flags
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "vllm.toml").write_text('[product]\nname = "vllm"\ndescription = "replaced"\n')  # overrides
    (folder / "labtool.toml").write_text('[product]\nname = "labtool"\n')  # not shipped
    env.update({
        "HF_HUB_DISABLE_TELEMETRY": "maybe",  # not understood by two absent products: a note
        "CHECKPOINT_DISABLE": "0",  # stops three products, one present: "unset it to re-enable"
        "DVC_NO_ANALYTICS": "1", "TELEMETRY_GATE_EXPORTED": "DVC_NO_ANALYTICS",  # a stale shell
    })
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.mark.parametrize("args", [
    ("check",),
    ("check", "--json", "--explain"),
    ("check", "--all-layers"),
    ("check", "-p", "spaceranger", "--json", "--explain"),
    ("check", "-p", "genozip"),
    ("check", "-p", "vllm", "--json"),
    ("check", "upload", "-p", "gradio", "--quiet"),
    ("check", "update", "--json"),
])
def test_check_shows_what_the_whole_catalogue_shows(scene: dict[str, str], inprocess: Telemetry,
                                                    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    lazy = inprocess(*args)
    _whole(monkeypatch)
    whole = inprocess(*args)
    assert (lazy.exit_code, lazy.stdout, lazy.stderr) == (whole.exit_code, whole.stdout, whole.stderr)


def test_the_scene_reaches_every_reason_to_read_a_manifest(scene: dict[str, str], inprocess: Telemetry) -> None:
    out = inprocess("check")
    assert out.exit_code == 0
    listed = {line.split()[0] for line in out.stdout.splitlines() if line and not line.startswith((" ", "note"))}
    assert {"terraform", "gatsby", "ray", "whylogs", "genozip", "spaceranger", "stripepy", "vllm",
            "labtool"} <= listed
    assert "piperider" not in listed  # its file was written ahead by disable: no sign of it
    assert "HF_HUB_DISABLE_TELEMETRY=maybe is not understood" in out.stdout
    assert "CHECKPOINT_DISABLE=0 disables telemetry for terraform" in out.stdout
    assert "this shell still carries 1 switch" in out.stdout
    assert "genozip is opt-in" not in out.stdout  # configured: its own table enables it


def test_check_builds_fewer_manifests_than_the_catalogue_holds(scene: dict[str, str], inprocess: Telemetry) -> None:
    lazy, whole = Gate.open("tenx", lazy=True), Gate.open("tenx")
    assert set(lazy.catalogue.manifests) < set(whole.catalogue.manifests)
    assert all(lazy.catalogue.manifests[n] == whole.catalogue.manifests[n] for n in lazy.catalogue.manifests)
    assert list(lazy.catalogue.manifests) == [n for n in whole.catalogue.manifests if n in lazy.catalogue.manifests]
    assert set(lazy.known_products()) == set(whole.known_products())
    assert lazy.policy.notes == whole.policy.notes
    assert "spaceranger" in lazy.known_products() and "cellranger" in lazy.catalogue.manifests  # it covers it


def test_a_manifest_whose_switches_cover_a_wanted_product_is_built_with_it(isolation: Env) -> None:
    catalogue = discover(isolation.paths, lazy=True)
    assert "spaceranger" in catalogue.unbuilt["cellranger"].covers()  # Cell Ranger's flags speak for it
    built = catalogue.build(["spaceranger"])
    assert "cellranger" in built.manifests and "cellranger" not in built.unbuilt
    assert built.own_switches_only() == discover(isolation.paths).own_switches_only() & set(built.manifests)


def _signs(data: dict[str, Any], manifest: Manifest, root: Path) -> list[tuple[str, dict[str, str], Path | None, bool]]:
    """Each way the product can be here on its own: (what, environment, file to create, whether
    ``present`` counts it: not a switch another version or platform reads, not the home directory)."""
    home = root / "home"
    base = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "TELEMETRY_SYSTEM_DIR": str(root / "etc"),
            "PATH": str(root / "bin")}
    found: list[tuple[str, dict[str, str], Path | None, bool]] = []
    rules = data.get("detect", {})
    found += [(f"executable {name}", base, root / "bin" / name, True) for name in rules.get("executables", [])]
    found += [(template, base, expand(template, base), True) for template in rules.get("paths", [])]
    variables = {s.variable for s in manifest.native}
    templates = {s.path for s in manifest.native}
    for switch in data.get("native", []):
        if switch["kind"] == "env":
            found.append((switch["variable"], {**base, switch["variable"]: str(switch["off"])}, None,
                          switch["variable"] in variables))
            continue
        path = switch["path"]
        for template in path.values() if isinstance(path, dict) else [path]:
            where = expand(template, base)
            found.append((template, base, where, template in templates))
            found.append((f"the directory of {template}", base, where.parent / "other",
                          template in templates and where.parent != home))
    return found


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_index_never_misses_a_product_that_is_here(name: str, tmp_path: Path) -> None:
    data = FILES[name]["data"]
    manifest = build(data, str(SHIPPED / name), "")
    empty = {"HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "bin")}
    assert not detect.maybe_present(data, empty) and not detect.present(manifest, empty)
    signs = _signs(data, manifest, tmp_path)
    assert signs, "every shipped product has a sign"
    for number, (what, environ, create, counts) in enumerate(signs):
        root = tmp_path / str(number)
        environ = {k: v.replace(str(tmp_path), str(root), 1) for k, v in environ.items()}
        if create is not None:
            create = root / create.relative_to(tmp_path)
            create.parent.mkdir(parents=True, exist_ok=True)
            create.write_text("#!/bin/sh\n")
            create.chmod(0o755)
        here = detect.present(manifest, environ)
        assert here == counts, f"{name}: {what}"
        assert detect.maybe_present(data, environ) or not here, f"{name}: {what}"
