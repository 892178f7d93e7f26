"""Hold (issue 21 item 1): ``check`` says how many saved events wait and how to release them;
``inspect --saved`` marks each held or sent and warns before Cell Ranger deletes a held one.

Cell Ranger deletes a saved event whose *name* says it is older than 30 days, when it next saves
an event in that folder (``eventFileDateRe``, ``maxEventTTL``, ``cleanOldEvents``:
lib/go/telemetry/settings/send.go:242-284 at ae7fcd1).
"""

from __future__ import annotations

import json

from collector import Collector
from conftest import Env, Telemetry
from test_cli_saved import _saved_in_cache


def _held_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("Held: ")]


def test_check_counts_held_events_and_names_the_command(inprocess: Telemetry, isolation: Env) -> None:
    _saved_in_cache(isolation, "os_stats", 1)
    _saved_in_cache(isolation, "count_success", 2, version="9.0.1")
    _saved_in_cache(isolation, "os_stats", 1, product="spaceranger", version="4.0.1")
    assert _held_lines(inprocess("check").stdout) == []  # upload on: Cell Ranger uploaded them itself
    assert json.loads(inprocess("check", "--json").stdout)["held"] == {}
    assert inprocess("disable", "upload", "-p", "cellranger").exit_code == 0
    out = inprocess("check")
    assert out.exit_code == 0, out.stderr
    assert _held_lines(out.stdout) == [
        "Held: cellranger saved 2 events it did not upload; 'telemetry send --saved -p cellranger' shows and "
        "releases them",
        "Held: spaceranger saved 1 event it did not upload; 'telemetry send --saved -p spaceranger' shows and "
        "releases them"]
    held = json.loads(inprocess("check", "--json").stdout)["held"]
    assert held["cellranger"] == {"events": 2, "release": "telemetry send --saved -p cellranger", "refused_by": None}
    assert list(json.loads(inprocess("check", "-p", "spaceranger", "--json").stdout)["held"]) == ["spaceranger"]
    with Collector() as collector:
        sent = inprocess("send", "--saved", "-p", "cellranger", "--yes", "--endpoint", f"{collector.url}/e")
        assert sent.exit_code == 0, sent.stderr
        assert len(collector.requests) == 2
    assert [line.split(" saved ")[0] for line in _held_lines(inprocess("check").stdout)] == ["Held: spaceranger"]


def test_check_says_what_refuses_a_release(inprocess: Telemetry, isolation: Env) -> None:
    _saved_in_cache(isolation, "os_stats")
    out = inprocess("check", env={"TENX_DISABLE_TELEMETRY_UPLOAD": "1", "COLUMNS": "200"})
    assert _held_lines(out.stdout) == ["Held: cellranger saved 1 event it did not upload; releasing them is refused: "
                                       "upload is disabled by TENX_DISABLE_TELEMETRY_UPLOAD=1 (environment)"]
    assert json.loads(inprocess("check", "--json", env={"DO_NOT_TRACK": "1"}).stdout)["held"]["cellranger"][
        "refused_by"] == "DO_NOT_TRACK=1 (environment)"


def test_inspect_marks_held_and_sent_and_warns_before_cellranger_deletes(inprocess: Telemetry,
                                                                         isolation: Env) -> None:
    assert inprocess("disable", "upload", "-p", "cellranger").exit_code == 0
    doomed = _saved_in_cache(isolation, "os_stats", 28)  # deleted once 30 days old, by the time in its name
    _saved_in_cache(isolation, "count_success", 26.5)
    recent = _saved_in_cache(isolation, "os_stats", 1)
    out = inprocess("inspect", "--saved")
    assert out.exit_code == 0, out.stderr
    assert out.stderr == ("warning: cellranger deletes 1 held event within 3 days (the first in 2 days: it deletes "
                          "events 30 days old when it next saves one); 'telemetry send --saved -p cellranger' "
                          "releases them\n")
    with Collector() as collector:
        sent = inprocess("send", "--saved", str(doomed), str(recent), "--yes", "--endpoint", f"{collector.url}/e")
        assert sent.exit_code == 0, sent.stderr
    after = inprocess("inspect", "--saved")
    assert after.stderr == ""  # the doomed one was released
    assert [line.split()[4] for line in after.stdout.splitlines()[1:4]] == ["sent", "held", "sent"]
    data = json.loads(inprocess("inspect", "--saved", "--json").stdout)
    assert [d["sent"] is None for d in data] == [False, True, False]
    assert data[0]["sent"].endswith("Z") and data[0]["file"] == str(recent)
    one = inprocess("inspect", "--saved", str(recent))
    assert "sent by telemetry-gate on " in one.stdout and f"to {collector.url}/e" in one.stdout
