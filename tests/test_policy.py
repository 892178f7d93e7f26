"""The layers of SPEC 4: for every pair of layers, the higher one wins, with its origin."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from conftest import Env
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.policy.layers import Policy
from telemetry_gate.policy.manifests import legacy_env
from telemetry_gate.policy.paths import Paths

PRODUCT = "stripepy"
VARIABLES = {PRODUCT: [legacy_env("STRIPEPY_TELEMETRY", "boolean", ("collection", "upload", "update"), PRODUCT, "t")]}


@dataclass
class Setup:
    """What a test arranges: variables, settings tables, flag files."""

    env: Env
    environ: dict[str, str]
    user: dict[str, dict]
    system: dict[str, dict]

    def flag(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text("")

    def policy(self) -> Policy:
        paths = Paths.for_vendor("tenx")
        for data, path in ((self.user, paths.user_settings), (self.system, paths.system_settings)):
            if data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(tomli_w.dumps(data))
        return Policy.load(paths, self.environ, VARIABLES)


def _table(data: dict, *keys: str) -> dict:
    for key in keys:
        data = data.setdefault(key, {})
    return data


@dataclass(frozen=True)
class Layer:
    name: str
    can_enable: bool
    arrange: Callable[[Setup, bool], None]
    origin: Callable[[Env, bool], str]


LAYERS = [
    Layer("system flag", False,
          lambda s, v: s.flag(s.env.system_dir, "disable_upload"),
          lambda e, v: str(e.system_dir / "disable_upload")),
    Layer("DO_NOT_TRACK", False,
          lambda s, v: s.environ.update(DO_NOT_TRACK="1"),
          lambda e, v: "DO_NOT_TRACK=1"),
    Layer("vendor variable", False,
          lambda s, v: s.environ.update(TENX_DISABLE_TELEMETRY_UPLOAD="1"),
          lambda e, v: "TENX_DISABLE_TELEMETRY_UPLOAD=1"),
    Layer("product variable", True,
          lambda s, v: s.environ.update(STRIPEPY_TELEMETRY="1" if v else "0"),
          lambda e, v: f"STRIPEPY_TELEMETRY={'1' if v else '0'}"),
    Layer("user [products]", True,
          lambda s, v: _table(s.user, "products", PRODUCT).update(upload=v),
          lambda e, v: f"~/.config/tenx/telemetry/settings.toml [products.{PRODUCT}]"),
    Layer("user [telemetry]", True,
          lambda s, v: _table(s.user, "telemetry").update(upload=v),
          lambda e, v: "~/.config/tenx/telemetry/settings.toml [telemetry]"),
    Layer("user flag", False,
          lambda s, v: s.flag(s.env.config_dir, "disable_upload"),
          lambda e, v: "~/.config/tenx/telemetry/disable_upload"),
    Layer("system [products]", True,
          lambda s, v: _table(s.system, "products", PRODUCT).update(upload=v),
          lambda e, v: f"{e.system_dir}/settings.toml [products.{PRODUCT}]"),
    Layer("system [telemetry]", True,
          lambda s, v: _table(s.system, "telemetry").update(upload=v),
          lambda e, v: f"{e.system_dir}/settings.toml [telemetry]"),
]


def _cases():
    for high, low in itertools.combinations(LAYERS, 2):
        # the higher layer says one thing, the lower the opposite where it can
        high_says = False if not high.can_enable else True
        low_says = (not high_says) if low.can_enable else False
        if not high.can_enable and not low.can_enable:
            low_says = False
        yield pytest.param(high, high_says, low, low_says, id=f"{high.name} > {low.name}")


@pytest.mark.parametrize(("high", "high_says", "low", "low_says"), list(_cases()))
def test_higher_layer_wins_with_its_origin(isolation: Env, high: Layer, high_says: bool,
                                           low: Layer, low_says: bool) -> None:
    setup = Setup(isolation, {}, {}, {})
    low.arrange(setup, low_says)
    high.arrange(setup, high_says)
    decision = setup.policy().decide("upload", PRODUCT)
    assert decision.enabled is high_says
    assert decision.origin == high.origin(isolation, high_says)


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_each_layer_alone_beats_the_default(isolation: Env, layer: Layer) -> None:
    setup = Setup(isolation, {}, {}, {})
    layer.arrange(setup, False)
    decision = setup.policy().decide("upload", PRODUCT)
    assert (decision.enabled, decision.origin) == (False, layer.origin(isolation, False))


def test_default_is_enabled(isolation: Env) -> None:
    decisions = Setup(isolation, {}, {}, {}).policy().decide_all(PRODUCT)
    assert {f: (d.enabled, d.origin) for f, d in decisions.items()} == {
        "collection": (True, "default"), "upload": (True, "default"), "update": (True, "default")}


def test_upload_follows_collection(isolation: Env) -> None:
    setup = Setup(isolation, {}, {"telemetry": {"collection": False, "upload": True}}, {})
    decision = setup.policy().decide("upload")
    assert (decision.enabled, decision.origin) == (False, "collection is disabled")


def test_system_disable_flag_disables_every_facet_and_locks(isolation: Env) -> None:
    setup = Setup(isolation, {"STRIPEPY_TELEMETRY": "1"}, {"telemetry": {"upload": True}}, {})
    setup.flag(isolation.system_dir, "disable")
    policy = setup.policy()
    for facet in ("collection", "upload", "update"):
        decision = policy.decide(facet, PRODUCT)
        assert (decision.enabled, decision.origin) == (False, str(isolation.system_dir / "disable"))
        assert decision.locked


@pytest.mark.parametrize("facet", ["collection", "upload", "update"])
def test_tenx_disable_telemetry_disables_every_facet(isolation: Env, facet: str) -> None:
    policy = Setup(isolation, {"TENX_DISABLE_TELEMETRY": "1"}, {}, {}).policy()
    assert policy.decide(facet).origin == "TENX_DISABLE_TELEMETRY=1"
    assert not policy.decide(facet).enabled


def test_single_facet_variable_leaves_the_others(isolation: Env) -> None:
    policy = Setup(isolation, {"TENX_DISABLE_TELEMETRY_UPDATE": "1"}, {}, {}).policy()
    assert not policy.decide("update").enabled
    assert policy.decide("upload").enabled and policy.decide("collection").enabled


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_no_looking_vendor_value_still_disables_with_a_note(isolation: Env, value: str) -> None:
    policy = Setup(isolation, {"TENX_DISABLE_TELEMETRY": value}, {}, {}).policy()
    assert not policy.decide("collection").enabled
    assert any("disables telemetry; unset it to re-enable" in n for n in policy.notes)


@pytest.mark.parametrize("value", ["0", "false", "no", "OFF"])
def test_do_not_track_no_values_are_ignored_with_a_note(isolation: Env, value: str) -> None:
    policy = Setup(isolation, {"DO_NOT_TRACK": value}, {}, {}).policy()
    assert policy.decide("update").enabled
    assert any("DO_NOT_TRACK" in n and "ignored" in n for n in policy.notes)


def test_do_not_track_covers_update(isolation: Env) -> None:
    policy = Setup(isolation, {"DO_NOT_TRACK": "true"}, {}, {}).policy()
    assert [policy.decide(f).enabled for f in ("collection", "upload", "update")] == [False] * 3


def test_boolean_product_variable_that_is_not_understood_disables(isolation: Env) -> None:
    policy = Setup(isolation, {"STRIPEPY_TELEMETRY": "maybe"}, {}, {}).policy()
    assert not policy.decide("collection", PRODUCT).enabled
    assert any("not understood" in n for n in policy.notes)


def test_vendor_option_changes_paths_and_variable_prefix(isolation: Env) -> None:
    paths = Paths.for_vendor("acme")
    assert paths.system_dir == isolation.system_root / "acme" / "telemetry"
    policy = Policy.load(paths, {"ACME_DISABLE_TELEMETRY": "1", "TENX_DISABLE_TELEMETRY_UPDATE": "1"})
    assert policy.decide("update").origin == "ACME_DISABLE_TELEMETRY=1"
    tenx = Policy.load(Paths.for_vendor("tenx"), {"ACME_DISABLE_TELEMETRY": "1"})
    assert tenx.decide("collection").enabled


def test_malformed_settings_name_the_file_and_line(isolation: Env) -> None:
    path = Paths.for_vendor("tenx").user_settings
    path.parent.mkdir(parents=True)
    path.write_text("[telemetry]\nupload = false\ncollection = = true\n")
    with pytest.raises(InvalidFileError) as info:
        Policy.load(Paths.for_vendor("tenx"), {})
    assert info.value.line == 3 and info.value.path == path


def test_wrong_type_in_settings_names_the_line(isolation: Env) -> None:
    path = Paths.for_vendor("tenx").user_settings
    path.parent.mkdir(parents=True)
    path.write_text('[telemetry]\ncollection = true\n\n[products.cellranger]\nupload = "no"\n')
    with pytest.raises(InvalidFileError) as info:
        Policy.load(Paths.for_vendor("tenx"), {})
    assert info.value.line == 5
    assert "upload in [products.cellranger] must be true or false" in info.value.message


_variable_values = st.text(min_size=1, max_size=2000).filter(lambda v: "\x00" not in v)


@given(value=_variable_values)
def test_any_vendor_variable_value_disables(value: str) -> None:
    policy = Policy.load(Paths.for_vendor("tenx"), {"TENX_DISABLE_TELEMETRY": value})
    decision = policy.decide("collection")
    assert not decision.enabled
    assert "\n" not in decision.origin and len(decision.origin) < 80


@given(value=_variable_values)
def test_do_not_track_never_enables(value: str) -> None:
    policy = Policy.load(Paths.for_vendor("tenx"),
                         {"DO_NOT_TRACK": value, "TENX_DISABLE_TELEMETRY": "1"})
    assert not policy.decide("upload").enabled


@given(value=_variable_values)
def test_boolean_product_variable_enables_only_on_yes(value: str) -> None:
    policy = Policy.load(Paths.for_vendor("tenx"), {"STRIPEPY_TELEMETRY": value}, VARIABLES)
    enabled = policy.decide("collection", PRODUCT).enabled
    assert enabled is (value.strip().lower() in {"1", "true", "yes", "on"})


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), (" Yes ", True), ("ON", True), ("true", True),
    ("0", False), ("no", False), (" Off", False), ("FALSE", False),
    ("", None), ("2", None), ("enable", None), ("y", None),
])
def test_a_value_reads_as_yes_no_or_not_understood(value: str, expected: bool | None) -> None:
    from telemetry_gate.vocabulary import meaning

    assert meaning(value) is expected


@pytest.mark.parametrize("value", [None, "", "relative/dir", "/abs/xdg", "/abs/with space/"])
def test_linux_user_directories_are_the_ones_platformdirs_gives(value: str | None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs.unix import Unix  # not PlatformDirs: older platformdirs pick that class once, at import,
    # and a test that ran before under a patched sys.platform ("darwin") may have imported it

    for variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, f"{value}{variable.lower()}" if value.startswith("/") else value)
    paths = Paths.for_vendor("acme")
    dirs = Unix("acme", appauthor=False)
    assert (paths.config_dir, paths.state_dir, paths.cache_dir, paths.data_dir) == tuple(
        Path(d) / "telemetry" for d in (dirs.user_config_dir, dirs.user_state_dir, dirs.user_cache_dir,
                                        dirs.user_data_dir))
