"""Issue 14.6: text from outside (a collector's answer, a record field, a file name, a manifest)
reaches the terminal with its control characters escaped, and rich markup in it is not read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.cli.render.text import escape

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\x7f"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f")


def _clean(*texts: str) -> None:
    for text in texts:
        for char in RAW:
            assert char not in text, f"raw {char!r} in {text!r}"


def test_escape_shows_every_control_character() -> None:
    assert escape("ok é 漢字 [bold]") == "ok é 漢字 [bold]"
    assert escape(HOSTILE) == "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil\\x7f"
    assert escape("a\nb\tc") == "a\\x0ab\\x09c" and escape("a\nb", keep_newlines=True) == "a\nb"
    assert escape("name-\udcff.json") == "name-\\xff.json"  # an undecodable byte of a file name


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


@pytest.mark.script
def test_a_collector_answer_is_shown_escaped_by_inspect_rejected(isolation: Env, telemetry: Telemetry,
                                                                collector: Collector) -> None:
    assert Recorder("cellranger", "9.0.0").record("count")
    collector.script = [Reply(400, body=f"bad request {HOSTILE}".encode())]
    sent = telemetry("send", "--endpoint", collector.url)
    assert sent.exit_code == 5
    out = telemetry("inspect", "--rejected", env={"COLUMNS": "400"})  # the ANSWER column unwrapped
    assert out.exit_code == 0
    _clean(out.stdout, out.stderr, sent.stdout, sent.stderr)
    assert "bad request \\x1b]0;pwned\\x07" in out.stdout


def test_a_collector_message_in_send_output_is_escaped(isolation: Env, inprocess: Telemetry,
                                                       collector: Collector) -> None:
    assert Recorder("cellranger", "9.0.0").record("count")
    partial = {"partialSuccess": {"rejectedLogRecords": 1, "errorMessage": f"dropped {HOSTILE}"}}
    collector.script = [Reply(200, body=json.dumps(partial).encode())]
    out = inprocess("send", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    _clean(out.stdout, out.stderr)
    assert "dropped \\x1b]0;pwned" in out.stderr


def _hostile_record(env: Env) -> str:
    rec = Recorder("cellranger", "9.0.0")
    record_id = rec.record(f"count {HOSTILE} [bold red]loud[/bold red] [link=https://x.example]click[/link]",
                           metrics={f"key{HOSTILE}": f"value{HOSTILE}"})
    assert record_id, rec.problem
    return record_id


def test_record_fields_are_escaped_in_the_table_and_in_full(isolation: Env, inprocess: Telemetry) -> None:
    record_id = _hostile_record(isolation)
    table = inprocess("inspect")
    full = inprocess("inspect", record_id[:12])
    assert table.exit_code == 0 and full.exit_code == 0, full.stderr
    _clean(table.stdout, table.stderr, full.stdout, full.stderr)
    wide = inprocess("inspect", env={"COLUMNS": "400"})
    assert "[bold red]loud[/bold red] [link=https://x.example]click[/link]" in wide.stdout  # not markup
    assert "count \\x1b]0;pwned\\x07" in wide.stdout
    assert "value\\x1b]0;pwned" in full.stdout or "value\\u001b]0;pwned" in full.stdout
    assert "[link=https://x.example]click[/link]" in full.stdout


def test_a_file_name_is_escaped_by_inspect_path(isolation: Env, inprocess: Telemetry, tmp_path: Path) -> None:
    record_id = _hostile_record(isolation)
    [stored] = (isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending"
                / "cellranger").glob("*.json")
    folder = tmp_path / "run" / "extras"
    folder.mkdir(parents=True)
    (folder / "telemetry\x1b[2J\x9b.json").write_bytes(stored.read_bytes())
    (folder / "telemetry\x1b[31mbroken.json").write_bytes(b"{not json")
    out = inprocess("inspect", str(folder), env={"COLUMNS": "400"})  # the FILE column unwrapped
    assert out.exit_code == 0, out.stderr
    _clean(out.stdout, out.stderr)
    assert record_id in out.stdout and "telemetry\\x1b[2J\\x9b.json" in out.stdout
    assert "telemetry\\x1b[31mbroken.json" in out.stderr  # the warning names it, escaped


def test_check_notes_and_errors_quote_file_names_escaped(isolation: Env, inprocess: Telemetry) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "evil\x1b[2J.toml").write_text("[product\n")
    out = inprocess("check")
    assert out.exit_code == 0
    _clean(out.stdout, out.stderr)
    assert "evil\\x1b[2J.toml" in out.stdout
    missing = inprocess("inspect", f"/nowhere/telemetry{HOSTILE}.json")
    assert missing.exit_code != 0
    _clean(missing.stdout, missing.stderr)
    assert "\\x1b]0;pwned" in missing.stderr


def test_json_output_is_the_same_records_with_nothing_raw_a_terminal_acts_on(isolation: Env,
                                                                            inprocess: Telemetry) -> None:
    _hostile_record(isolation)
    [stored] = (isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending"
                / "cellranger").glob("*.json")
    assert "\x9b" in stored.read_text()  # the file keeps what the product gave (JSON escapes only C0)
    out = inprocess("inspect", "--json")
    assert out.exit_code == 0
    _clean(out.stdout)
    assert json.loads(out.stdout) == [json.loads(stored.read_bytes())]
