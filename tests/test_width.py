"""Width (issue 19 item 7): prose wraps to the terminal, tables fold, and no id or path is cut.

The width is ``COLUMNS`` when set, else the terminal's; piped without ``COLUMNS`` nothing is
wrapped or folded. A line may pass the edge only when it is one word too long for any line (an
id or a path), never because a view cut or ran on."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import Env, Telemetry, fill


def _fits(text: str, width: int) -> list[str]:
    """The lines of ``text`` longer than ``width`` for any reason but their last word being one
    no line could hold beside anything (an id, a path: over half the width)."""
    over = []
    for line in text.splitlines():
        if len(line) > width:
            *before, last = line.split(" ")
            if len(last) <= width // 2 or len(" ".join(before).rstrip()) > width:
                over.append(line)
    return over


def _words(text: str) -> list[str]:
    return re.sub(r"oldest \S+ old", "oldest ? old", " ".join(text.split())).split()


def _busy(isolation: Env, telemetry: Telemetry) -> dict[str, str]:
    """A state with long prose: user settings, records pending and rejected, two notes."""
    assert telemetry("disable", "upload").exit_code == 0
    fill(3)
    rejected = isolation.spool / "rejected" / "cellranger"
    rejected.mkdir(parents=True, mode=0o700)
    for record in (isolation.spool / "pending" / "cellranger").glob("*.json"):
        shutil.copy(record, rejected / record.name)
        break
    return {"DO_NOT_TRACK": "0", "TENX_DISABLE_TELEMETRY_UPDATE": "no"}  # each one a note


@pytest.mark.script
def test_check_at_60_columns_wraps_its_prose_and_folds_its_table(telemetry: Telemetry, isolation: Env) -> None:
    env = _busy(isolation, telemetry)
    wide = telemetry("check", env={**env, "COLUMNS": "400"})
    narrow = telemetry("check", env={**env, "COLUMNS": "60"})
    assert wide.exit_code == narrow.exit_code == 0
    assert any(len(line) > 60 for line in wide.stdout.splitlines())  # there is something to wrap
    assert _fits(narrow.stdout, 60) == []
    assert _words(narrow.stdout) == _words(wide.stdout)  # the same words in the same order: nothing cut or lost
    assert "\nnote: DO_NOT_TRACK=0 is ignored" in narrow.stdout and "\n  " in narrow.stdout.split("Spool:")[1]


def test_check_explain_at_60_columns_keeps_every_source_whole(telemetry: Telemetry, isolation: Env) -> None:
    env = _busy(isolation, telemetry)
    for args in (["--explain"], ["--all-layers"]):
        out = telemetry("check", *args, env={**env, "COLUMNS": "60"})
        assert out.exit_code == 0
        assert _fits(out.stdout, 60) == []
        assert "~/.config/tenx/telemetry/settings.toml [telemetry]" in out.stdout  # a source, whole on its line
        assert "<- wins" in out.stdout
    every = telemetry("check", "--all-layers", env={**env, "COLUMNS": "60"}).stdout
    assert f"{isolation.system_dir}/disable*" in every  # a path longer than the line: alone, not cut


def test_piped_without_columns_nothing_is_wrapped(telemetry: Telemetry, isolation: Env,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env = _busy(isolation, telemetry)
    monkeypatch.delenv("COLUMNS")
    out = telemetry("check", env=env)
    notes = [line for line in out.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) >= 2 and not any(line.startswith("  ") for line in out.stdout.split("Spool:")[1].splitlines())
    assert any(len(line) > 120 for line in out.stdout.splitlines())


@pytest.mark.script
def test_inspect_path_piped_shows_every_id_and_path_whole(telemetry: Telemetry, isolation: Env, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate import Recorder

    run = tmp_path / ("a-pipestance-with-a-name-long-enough-to-pass-eighty-columns" * 2) / "outs"
    rec = Recorder("cellranger", "9.0.0")
    ids = [rec.record("count-with-a-long-event-name", metrics={"n": n}, copy_to=run / f"run{n}") for n in range(2)]
    files = [str(run / f"run{n}" / "telemetry.json") for n in range(2)]
    monkeypatch.delenv("COLUMNS")  # piped, no COLUMNS: no width at all
    out = telemetry("inspect", str(run))
    assert out.exit_code == 0, out.stderr
    assert "…" not in out.stdout
    for record_id, file in zip(ids, files, strict=True):
        row = next(line for line in out.stdout.splitlines() if line.startswith(str(record_id)))
        assert row.split() == [record_id, "cellranger", "9.0.0", "count-with-a-long-event-name", "usage",
                               row.split()[5], row.split()[6], "B", file]
    narrow = telemetry("inspect", str(run), env={"COLUMNS": "60"})
    assert narrow.exit_code == 0 and "…" not in narrow.stdout
    assert _fits(narrow.stdout, 60) == []
    lines = narrow.stdout.splitlines()
    for record_id, file in zip(ids, files, strict=True):
        assert str(record_id) in lines and f"  {file}" in lines  # each on a line of its own, whole
    assert json.loads(telemetry("inspect", str(run), "--json").stdout)[0]["id"] in ids


def test_inspect_table_at_60_columns_folds_and_keeps_ids_whole(telemetry: Telemetry) -> None:
    ids = fill(2, event="an-event-name-that-makes-the-table-wide")
    out = telemetry("inspect", env={"COLUMNS": "60"})
    assert out.exit_code == 0
    assert _fits(out.stdout, 60) == []
    lines = out.stdout.splitlines()
    assert all(record_id in lines for record_id in ids)  # the id on a line of its own, the rest below
    assert "2 pending" in out.stdout


def test_inspect_catalog_at_60_columns_wraps_its_facts(telemetry: Telemetry) -> None:
    # jupyterlab: long facts and no field table (whose columns a narrow terminal folds side by side)
    wide = telemetry("inspect", "--catalog", "-p", "jupyterlab", env={"COLUMNS": "400"})
    narrow = telemetry("inspect", "--catalog", "-p", "jupyterlab", env={"COLUMNS": "60"})
    assert wide.exit_code == narrow.exit_code == 0
    assert any(len(line) > 60 for line in wide.stdout.splitlines())
    assert _fits(narrow.stdout, 60) == []
    assert _words(narrow.stdout) == _words(wide.stdout)
