"""An INI switch is written so that the product's configparser reads exactly what we say we wrote.

configparser (what gcloud, the Azure CLI and every Python product read INI with) has rules a
line-by-line edit can miss: a section header is the text between the brackets, spaces included
(``[ core ]`` is not ``[core]``); a line indented deeper than the option before it is a
continuation of that option's value, even after blank lines. Whatever the layout, after
``disable`` either configparser reads the switch's key as the off value and every other option
as before, or the file is left byte for byte and the user is told why.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from conftest import Env, Telemetry

MANIFEST = ('[product]\nname = "demo"\n\n[[native]]\nkind = "config-file"\nfacets = ["collection", "upload"]\n'
            'path = "~/.demo/config"\nformat = "ini"\nkey = "core.telemetry"\noff = "false"\non = "true"\n'
            'source = "https://example.org/docs"\n')


def _options(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return {s: dict(parser.items(s)) for s in parser.sections()}


def _demo(isolation: Env, text: str) -> Path:
    manifest = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d" / "demo.toml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(MANIFEST)
    config = isolation.home / ".demo" / "config"
    config.parent.mkdir()
    config.write_bytes(text.encode())
    return config


LAYOUTS = {
    "spaced header": "[ core ]\ntelemetry = true\n",
    "indented key continues the option above": "[core]\naccount = me\n  telemetry = true\n",
    "indented key after a blank line continues too": "[core]\naccount = me\n\n  telemetry = true\n",
    "value on two lines": "[core]\ntelemetry = true\n  again\n",
    "indented header continues the option above": "[core]\naccount = me\n  [metrics]\ntelemetry = true\n",
    "bracket in the header": "[core]]\ntelemetry = true\n",
    "plain": "[core]\naccount = me\ntelemetry = true\n\n[other]\ntelemetry = true\n",
    "key in other case, colon": "[core]\nTelemetry: true\n",
    "indented options": "[core]\n  account = me\n  telemetry = true\n",
    "crlf, no key": "[core]\r\naccount = me\r\n",
    "key only in DEFAULT": "[DEFAULT]\ntelemetry = true\n[core]\naccount = me\n",
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_what_disable_writes_is_what_configparser_reads(inprocess: Telemetry, isolation: Env, layout: str) -> None:
    before = LAYOUTS[layout]
    config = _demo(isolation, before)
    result = inprocess("disable", "-p", "demo")
    after, said = config.read_bytes().decode(), result.stdout + result.stderr
    if after == before:  # refused: said, and nothing claims it was set
        assert "left as it is" in said and "set ~/.demo/config" not in said
        return
    old, new = _options(before), _options(after)
    assert new["core"]["telemetry"] == "false"
    new["core"].pop("telemetry")
    old.setdefault("core", {}).pop("telemetry", None)
    if "telemetry" in old.get("DEFAULT", {}) or layout == "key only in DEFAULT":
        old["core"]["telemetry"] = "true"  # items() shows DEFAULT's value in every section
        old["core"].pop("telemetry")
    assert new == old  # every other option as configparser read it before
    assert "set ~/.demo/config core.telemetry: false" in said
