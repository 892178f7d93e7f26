"""Catalogue facts, fourth set (issue 22 item 4): JupyterLab, and JSON with comments (``format =
"jsonc"``), which its settings files need.

JupyterLab reads a user-settings file with json5 (jupyterlab_server settings_utils.py L85-L121) and
its announcements plugin decides what the server fetches from two of them (announcements.ts
L101-L234 at v4.6.3): ``_jupyterlab_fetches`` transcribes that rule, and the tests hold
``check`` and ``disable``/``enable`` against it, both ways, with json5 itself reading the files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import json5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Env, Telemetry, bash_env
from telemetry_gate.errors import InvalidFileError
from telemetry_gate.native.edit import set_key
from telemetry_gate.policy.manifests import SHIPPED, parse
from telemetry_gate.policy.own.jsonc import blank
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.state import Unreadable, parse_key, read

MANIFESTS = {path.stem: parse(path.read_bytes(), str(path)) for path in sorted(SHIPPED.glob("*.toml"))}
NEW = ("docker", "jupyterlab", "mitosheet", "serverless")
SETTINGS = Path(".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings")

# What JupyterLab's settings registry writes after the user answers "No" to the news question
# (settingregistry.ts set L483-L505 -> annotatedPlugin L1453-L1474: a // comment block, then each key
# with its title and description as // comments)
JUPYTERLAB_WRITES = """{
    // Notifications
    // @jupyterlab/apputils-extension:notification
    // Notifications settings.
    // **************************************************************************************

    // Fetch official Jupyter news
    // Whether to fetch news from the Jupyter news feed. If Always (`true`), it will make a request to a website.
    "fetchNews": "false"
}"""


def _jupyterlab_fetches(user: dict[str, Any]) -> set[str]:
    """announcements.ts (v4.6.3): with fetchNews "none" (the default) it only asks (L105-L160); else
    fetchNews() runs (L161-L163): the news when fetchNews is "true" (L166), the update check when
    checkForUpdates is truthy, true by default (L227)."""
    news = user.get("fetchNews", "none")
    if news == "none":
        return set()
    wanted = {"news"} if news == "true" else set()
    return wanted | ({"update check"} if user.get("checkForUpdates", True) else set())


def _settings(home: Path) -> Path:
    path = home / SETTINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _comments(text: str) -> list[str]:
    """Every comment of a JSON-with-comments text, in order (strings skipped)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif text.startswith("//", i):
            end = min([j for j in (text.find("\n", i), text.find("\r", i)) if j >= 0] or [len(text)])
            found.append(text[i:end])
            i = end
        elif text.startswith("/*", i):
            end = text.index("*/", i) + 2
            found.append(text[i:end])
            i = end
        else:
            i += 1
    return found


# -- the manifest ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NEW)
def test_each_new_product_says_where_its_facts_come_from(name: str, inprocess: Telemetry) -> None:
    manifest = MANIFESTS[name]
    assert manifest.telemetry_docs.startswith("https://")
    assert manifest.detect.executables or manifest.detect.distributions or manifest.detect.paths
    assert manifest.limits  # what no switch stops (Docker has none of its own)
    for switch in manifest.native:
        pinned = r"https://github\.com/[^/]+/[^/]+/blob/(v\d[^/]*|[0-9a-f]{40})/.+#L\d+"  # a tag or a commit
        assert re.match(pinned, switch.source), switch.source
    listed = {p["name"] for p in json.loads(inprocess("products", "--json").stdout)["products"]}
    assert set(NEW) <= listed


def test_jupyterlabs_switches_are_its_notification_settings_from_3_6_on() -> None:
    manifest = MANIFESTS["jupyterlab"]
    assert manifest.versions == ">=3.6.0"  # the announcements plugin came with 3.6.0
    found = {(s.key, s.format, s.off, s.on, s.part, s.facets) for s in manifest.native}
    assert found == {("fetchNews", "jsonc", "false", "none", "news", ("update",)),
                     ("checkForUpdates", "jsonc", False, True, "update check", ("update",))}
    assert {s.path for s in manifest.native} == {"~/" + str(SETTINGS)}  # jupyter_config_dir() on every platform


FETCH_NEWS = [None, "true", "false", "none"]
CHECK_FOR_UPDATES = [None, True, False]


@pytest.mark.parametrize("news", FETCH_NEWS)
@pytest.mark.parametrize("updates", CHECK_FOR_UPDATES)
def test_check_calls_jupyterlab_off_exactly_when_it_fetches_nothing(news: str | None, updates: bool | None,
                                                                    inprocess: Telemetry) -> None:
    user = {k: v for k, v in (("fetchNews", news), ("checkForUpdates", updates)) if v is not None}
    body = ",\n".join(f"    // {k}\n    {json.dumps(k)}: {json.dumps(v)}" for k, v in user.items())
    _settings(Path(os.environ["HOME"])).write_text("{\n    // Notifications\n" + body + (",\n" if body else "") + "}\n")
    fetched = _jupyterlab_fetches(json5.loads(_settings(Path(os.environ["HOME"])).read_text()))
    update = json.loads(inprocess("check", "--json").stdout)["products"]["jupyterlab"]["update"]
    if fetched:
        assert update["enabled"] is True, f"JupyterLab fetches {fetched}; check must not say off"
    elif news != "none" and news is not None:
        assert update["enabled"] is False  # its own switches stop both requests
    else:  # "none" asks first: nothing is fetched, but one click fetches (a limit the manifest states)
        assert update["enabled"] is True


def test_disable_writes_both_keys_into_jupyterlabs_own_file_keeping_every_comment(inprocess: Telemetry) -> None:
    path = _settings(Path(os.environ["HOME"]))
    path.write_text(JUPYTERLAB_WRITES)
    assert _jupyterlab_fetches(json5.loads(path.read_text())) == {"update check"}
    assert json.loads(inprocess("check", "--json").stdout)["products"]["jupyterlab"]["update"]["enabled"] is True
    assert inprocess("disable", "update", "-p", "jupyterlab").exit_code == 0
    after = path.read_text()
    assert json5.loads(after) == {"fetchNews": "false", "checkForUpdates": False}
    assert _jupyterlab_fetches(json5.loads(after)) == set()
    assert _comments(after) == _comments(JUPYTERLAB_WRITES)
    update = json.loads(inprocess("check", "--json").stdout)["products"]["jupyterlab"]["update"]
    assert update["enabled"] is False and "checkForUpdates: false" in update["origin"]
    # enable undoes only our change: the update check is back, the user's own "No" to news stays
    out = inprocess("enable", "-p", "jupyterlab")
    assert out.exit_code == 0 and "fetchNews: false - set in jupyterlab itself" in out.stdout + out.stderr
    assert json5.loads(path.read_text()) == {"fetchNews": "false", "checkForUpdates": True}
    assert _comments(path.read_text()) == _comments(JUPYTERLAB_WRITES)


def test_disable_writes_jupyterlabs_file_ahead_and_enable_restores_its_defaults(inprocess: Telemetry) -> None:
    path = Path(os.environ["HOME"]) / SETTINGS
    assert inprocess("disable").exit_code == 0
    assert json5.loads(path.read_text()) == {"fetchNews": "false", "checkForUpdates": False}
    assert inprocess("enable").exit_code == 0
    restored = json5.loads(path.read_text())
    assert restored == {"fetchNews": "none", "checkForUpdates": True}  # JupyterLab's own defaults
    assert _jupyterlab_fetches(restored) == _jupyterlab_fetches({})


def test_a_settings_file_jupyterlab_reads_but_we_cannot_is_reported_and_never_rewritten(
        inprocess: Telemetry) -> None:
    path = _settings(Path(os.environ["HOME"]))
    original = "{\n    // JSON5 lets a key go unquoted\n    fetchNews: 'true',\n}\n"
    path.write_text(original)
    assert json5.loads(original) == {"fetchNews": "true"}  # JupyterLab fetches news with this file
    data = json.loads(inprocess("check", "--json").stdout)["products"]["jupyterlab"]
    assert data["update"]["enabled"] is True
    assert {n["effect"] for n in data["native"]} == {"unreadable"}
    out = inprocess("disable", "-p", "jupyterlab")
    assert out.exit_code == 3 and "Traceback" not in out.stderr
    assert path.read_text() == original


# -- format = "jsonc": reading as json5 reads, editing in place --------------------------------------

def _switch(key: str, fmt: str = "jsonc") -> NativeSwitch:
    return NativeSwitch(product="p", kind="config-file", facets=("update",), source="https://example.org",
                        path="~/.p/p.json", format=fmt, key=key, off=False, on=True)


_KEYS = st.sampled_from(["a", "b", "fetchNews", "x.y", "é", "// not a comment", "/*", ","])
# text of the Basic Multilingual Plane: json5 (Python) keeps an escaped surrogate pair as two
# characters where json joins them, a difference of the libraries, not of what the file says
_TEXT = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=8)
_SCALARS = st.one_of(st.booleans(), st.integers(-10**6, 10**6), _TEXT, st.none())
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_KEYS, inner, max_size=3)), max_leaves=8)
_GAPS = st.sampled_from(["", " ", "\n", "\n    ", " // c\n", "/* c */", "\n  /* a\n  b */\n  ", "// x */\n",
                         "\r\n"])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """A JSON object written with comments and, sometimes, trailing commas between its tokens."""

    def write(value: Any) -> str:
        if isinstance(value, dict) or isinstance(value, list):
            items = [f"{draw(_GAPS)}{json.dumps(k)}{draw(_GAPS)}:{draw(_GAPS)}{write(v)}" if isinstance(value, dict)
                     else f"{draw(_GAPS)}{write(v)}" for k, v in (value.items() if isinstance(value, dict)
                                                                  else enumerate(value))]
            trailing = "," if items and draw(st.booleans()) else ""
            close = "}" if isinstance(value, dict) else "]"
            return ("{" if isinstance(value, dict) else "[") + ",".join(items) + trailing + draw(_GAPS) + close
        return json.dumps(value)

    return draw(_GAPS) + write(draw(st.dictionaries(_KEYS, _VALUES, max_size=4))) + draw(_GAPS)


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_blanking_keeps_every_offset_and_reads_as_json5_does(text: str) -> None:
    plain = blank(text)
    assert len(plain) == len(text)
    assert [i for i, (a, b) in enumerate(zip(text, plain, strict=True)) if a != b and b != " "] == []
    assert json.loads(plain) == json5.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[],:"\\/*\n ab1\u2028', max_size=30))
def test_whatever_we_read_json5_reads_the_same(text: str) -> None:
    """Never a value JupyterLab would not see: what we accept, json5 reads identically."""
    try:
        ours = json.loads(blank(text))
    except (Unreadable, ValueError):
        return
    assert json5.loads(text) == ours


@settings(max_examples=300, deadline=None)
@given(_documents(), _KEYS, st.one_of(st.booleans(), _TEXT))
def test_setting_a_key_changes_only_that_value_and_keeps_every_comment(text: str, key: str, value: Any) -> None:
    from telemetry_gate.native.edit import _json  # the in-place edit set_key applies to the file

    new = _json(text, [key], value, (), True)
    before = json5.loads(text)
    assert json5.loads(new) == {**before, key: value}
    if not isinstance(before.get(key), dict | list):  # (a replaced object goes with the comments inside it)
        assert _comments(new) == _comments(text)
    assert parse_key(new.encode(), _switch(key)._replace(flat_key=True)) == (True, value)
    if key in before and isinstance(before[key], bool | str):  # a replaced scalar: the rest byte for byte
        prefix = len(os.path.commonprefix([text, new]))
        suffix = len(os.path.commonprefix([text[prefix:][::-1], new[prefix:][::-1]]))
        assert len(text) - prefix - suffix <= len(json.dumps(before[key]))


@pytest.mark.parametrize("text", ["{,}", "[1,,]", "{'a': 1}", "{a: 1}", '{"a": 0x1}', '{"a": 1 /* open',
                                  '{"a": 1} // a\u2028"b"', '{"a": .5}', '{"a": 1,,}', "// only a comment\n{"])
def test_what_json_with_comments_does_not_allow_is_refused_and_never_rewritten(text: str, tmp_path: Path) -> None:
    path = tmp_path / ".p" / "p.json"
    path.parent.mkdir()
    path.write_text(text)
    switch = _switch("fetchNews")._replace(path=str(path))
    assert read(switch, {}).state == "unreadable"
    with pytest.raises(InvalidFileError):
        set_key(path, switch, False)
    assert path.read_text() == text


def test_a_file_of_comments_only_gets_an_object_after_them(tmp_path: Path) -> None:
    path = tmp_path / ".p" / "p.json"
    path.parent.mkdir()
    path.write_text("// written by hand")
    switch = _switch("checkForUpdates")._replace(path=str(path))
    assert read(switch, {}).state == "on"  # no value yet: the product's default
    set_key(path, switch, False)
    assert path.read_text() == '// written by hand\n{"checkForUpdates": false}\n'
    assert json5.loads(path.read_text()) == {"checkForUpdates": False}


def test_plain_json_still_refuses_comments(tmp_path: Path) -> None:
    path = tmp_path / ".p" / "p.json"
    path.parent.mkdir()
    path.write_text('{\n  // mine\n  "a": 1\n}\n')
    assert read(_switch("a", "json")._replace(path=str(path)), {}).state == "unreadable"
    assert read(_switch("a")._replace(path=str(path)), {}).value == "1"


# -- Serverless Framework: v3 reads two variables, v4 none -----------------------------------------

SAMPLES = ["", " ", "0", "1", "true", "false", "False", "no", "off", "yes"]


def _serverless_v3(environ: dict[str, str]) -> str:
    """are-disabled.js (v3.40.0) L5-L9: ``Boolean(SLS_TELEMETRY_DISABLED || SLS_TRACKING_DISABLED || ...)``:
    a JavaScript string is true when it is not empty."""
    return "off" if environ.get("SLS_TELEMETRY_DISABLED") or environ.get("SLS_TRACKING_DISABLED") else "on"


@pytest.mark.parametrize("variable", ["SLS_TELEMETRY_DISABLED", "SLS_TRACKING_DISABLED"])
def test_serverless_reads_each_variable_as_its_v3_code_does(variable: str) -> None:
    (switch,) = [s for s in MANIFESTS["serverless"].native if s.variable == variable]
    assert _serverless_v3({variable: str(switch.off)}) == "off"
    for value in SAMPLES:
        assert switch.is_off_value(value) is (_serverless_v3({variable: value}) == "off"), repr(value)


@pytest.mark.parametrize(("variable", "versions"), [("SLS_TELEMETRY_DISABLED", ">=2.37.1,<4.0.0"),
                                                    ("SLS_TRACKING_DISABLED", "<4.0.0")])
def test_serverless_switches_are_read_by_the_versions_that_read_them(variable: str, versions: str) -> None:
    (switch,) = [s for s in MANIFESTS["serverless"].native if s.variable == variable]
    assert switch.versions == versions  # 2.37.1 added SLS_TELEMETRY_DISABLED; sf-core 4 reads neither
    assert any("Serverless Framework 4" in limit for limit in MANIFESTS["serverless"].limits)


@pytest.mark.parametrize("variable", ["SLS_TELEMETRY_DISABLED", "SLS_TRACKING_DISABLED"])
def test_check_reports_serverless_off_by_either_variable(variable: str, inprocess: Telemetry,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "0")  # any non-empty value, 0 included
    assert _serverless_v3({variable: "0"}) == "off"
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["serverless"]
    assert (facets["collection"]["enabled"], facets["upload"]["enabled"]) == (False, False)
    assert facets["collection"]["origin"] == f"{variable}=0"


def _products_d(env: Env) -> Path:
    directory = env.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.mark.parametrize(("version", "off"), [("3.40.0", True), ("2.37.0", True), ("4.41.0", False)])
def test_serverless_4_is_not_taken_as_off_by_a_variable_it_no_longer_reads(version: str, off: bool,
                                                                           inprocess: Telemetry, isolation: Env,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = (SHIPPED / "serverless.toml").read_text()
    head = '[product]\nname = "serverless"\n'
    copy = shipped.replace(head, f'{head}version = "{version}"\n')
    assert copy != shipped
    (_products_d(isolation) / "serverless.toml").write_text(copy)  # an npm tool's version: the manifest's own
    monkeypatch.setenv("SLS_TELEMETRY_DISABLED", "1")
    monkeypatch.setenv("SLS_TRACKING_DISABLED", "1")
    data = json.loads(inprocess("check", "--json").stdout)
    assert data["products"]["serverless"]["collection"]["enabled"] is not off
    if not off:  # 4.41.0 sends its analysis event whatever these say: check must not call it off
        assert any("serverless 4.41.0" in note for note in data["notes"])


def test_after_disable_a_new_shell_tells_serverless_3_to_stop(inprocess: Telemetry) -> None:
    assert inprocess("disable").exit_code == 0
    shell = bash_env('eval "$(telemetry shell-init bash)"')
    assert _serverless_v3(shell) == "off"
    assert shell["SLS_TELEMETRY_DISABLED"] and shell["SLS_TRACKING_DISABLED"]


# -- Docker: no switch of its own, what it sends shown -------------------------------------------

def test_docker_declares_no_switch_and_says_what_reports(inprocess: Telemetry) -> None:
    manifest = MANIFESTS["docker"]
    assert manifest.native == ()  # the CLI has none; Docker Desktop's settings key is undocumented
    assert any("Send usage statistics" in limit for limit in manifest.limits)
    (entry,) = json.loads(inprocess("inspect", "--catalog", "-p", "docker", "--json").stdout)
    assert {"command.time", "command.name", "command.status.code"} <= {f["name"] for f in entry["fields"]}
    (listed,) = [p for p in json.loads(inprocess("products", "--json").stdout)["products"] if p["name"] == "docker"]
    assert listed["switches"] == [] and listed["limits"] == list(manifest.limits)  # nothing claimed, all said


# -- Mito (mitosheet): one variable that decides alone when set ----------------------------------------

def _mito(environ: dict[str, str], user_json: bool = True) -> str:
    """telemetry_utils.py telemetry_turned_on() L73-L92 (without mitosheet-helper-private or Mito Pro): a set
    MITO_CONFIG_FEATURE_TELEMETRY decides alone, on only when ``in ['True', 'true', True, 1, '1', 't', 'T']``
    (mito_config.py L135-L137); unset, user.json's mitosheet_telemetry (true by default) decides."""
    value = environ.get("MITO_CONFIG_FEATURE_TELEMETRY")
    if value is not None:
        return "on" if value in ["True", "true", True, 1, "1", "t", "T"] else "off"
    return "on" if user_json else "off"


def test_mitosheet_reads_its_variable_as_its_code_does() -> None:
    (switch,) = MANIFESTS["mitosheet"].native
    assert _mito({switch.variable: str(switch.off)}) == "off" and _mito({switch.variable: str(switch.on)}) == "on"
    for value in [*SAMPLES, "TRUE", "t", "T", "1 ", " true", "f"]:
        assert switch.is_off_value(value) is (_mito({switch.variable: value}) == "off"), repr(value)


def test_check_reports_mitosheet_off_by_an_empty_variable(inprocess: Telemetry,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITO_CONFIG_FEATURE_TELEMETRY", "")  # set, and not a true word: off, user.json unread
    assert _mito({"MITO_CONFIG_FEATURE_TELEMETRY": ""}) == "off"
    facets = json.loads(inprocess("check", "--json").stdout)["products"]["mitosheet"]
    assert (facets["collection"]["enabled"], facets["upload"]["enabled"]) == (False, False)
    monkeypatch.setenv("MITO_CONFIG_FEATURE_TELEMETRY", "TRUE")  # not one of Mito's words, so off too
    assert json.loads(inprocess("check", "--json").stdout)["products"]["mitosheet"]["collection"]["enabled"] is False
    monkeypatch.setenv("MITO_CONFIG_FEATURE_TELEMETRY", "true")
    assert _mito({"MITO_CONFIG_FEATURE_TELEMETRY": "true"}) == "on"
    assert json.loads(inprocess("check", "--json").stdout)["products"]["mitosheet"]["collection"]["enabled"] is True


def test_after_disable_a_new_shell_tells_mito_to_stop(inprocess: Telemetry) -> None:
    assert inprocess("disable").exit_code == 0
    assert _mito(bash_env('eval "$(telemetry shell-init bash)"')) == "off"
