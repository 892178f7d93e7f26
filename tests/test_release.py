"""Hold and release (issue 21): ``send --saved`` posts exactly the bytes Cell Ranger saved, with
its own headers, once, under ``send ID``'s rules; the product's files are only read.

The files are what the real Cell Ranger 10.0.0 writes (see tests/test_cli_saved.py); the
collector is a real server on 127.0.0.1 that counts connections (tests/collector.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from collector import Collector, Reply
from conftest import Env, Telemetry
from test_cli_saved import _event, _saved_in_cache

KEY_10 = "s2N6b2j3nMIWLdCOwlWa8T4vy5CSdDRb4BI7Z2pN+OM"  # sha256("cellranger" "10.0.0"), base64 std, no padding


def _key(product: str, version: str) -> str:
    return base64.b64encode(hashlib.sha256(f"{product}{version}".encode()).digest()).decode().rstrip("=")


def _header(request: object, name: str) -> str | None:
    headers = {k.lower(): v for k, v in request.headers.items()}  # type: ignore[attr-defined]
    return headers.get(name.lower())


def _cache_files(env: Env) -> dict[str, tuple[bytes, int]]:
    """Every file Cell Ranger keeps, with its bytes and mtime: a snapshot to compare."""
    root = env.home / ".cache" / "tenx"
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def _hold(telemetry: Telemetry) -> None:
    out = telemetry("disable", "upload", "-p", "cellranger")
    assert out.exit_code == 0, out.stderr


def _two_versions(env: Env) -> list[Path]:
    """Three held events, oldest first: two of Cell Ranger 9.0.1 and one of 10.0.0."""
    return [_saved_in_cache(env, "count_success", 3, version="9.0.1",
                            content=_event("count_success", {"reads": 812000000}, version="9.0.1")),
            _saved_in_cache(env, "os_stats", 2, version="9.0.1",
                            content=_event("os_stats", {"kernel": "6.1.0"}, version="9.0.1")),
            _saved_in_cache(env, "os_stats", 1, content=_event("os_stats", {"kernel": "6.8.0\u00e9"}))]


def test_the_recipe_is_cell_rangers_key() -> None:
    from telemetry_gate.policy.held import RECIPES

    assert RECIPES["tenx-api-key"]({"product": "cellranger", "version": "10.0.0"}) == {"X-Api-Key": KEY_10}
    assert _key("cellranger", "10.0.0") == KEY_10


@pytest.mark.script
def test_release_all_posts_the_exact_bytes_with_each_versions_key_once(telemetry: Telemetry, isolation: Env) -> None:
    _hold(telemetry)
    files = _two_versions(isolation)
    before = _cache_files(isolation)
    with Collector() as collector:
        url = f"{collector.url}/api/v1/event"
        out = telemetry("send", "--saved", "--yes", "--endpoint", url)
        assert out.exit_code == 0, out.stderr
        assert [r.body for r in collector.requests] == [f.read_bytes() for f in files]
        for request, version in zip(collector.requests, ("9.0.1", "9.0.1", "10.0.0"), strict=True):
            assert (request.method, request.path) == ("POST", "/api/v1/event")
            assert _header(request, "X-Api-Key") == _key("cellranger", version)
            assert _header(request, "Content-Type") == "application/json"
            assert _header(request, "Content-Encoding") is None
        assert _header(collector.requests[2], "X-Api-Key") == KEY_10
        assert "Released 3 saved events to " in out.stderr
        again = telemetry("send", "--saved", "--yes", "--endpoint", url)
        assert again.exit_code == 0, again.stderr
        assert again.stderr == "No held event to release (3 events released before).\n"
        assert len(collector.requests) == 3
    assert _cache_files(isolation) == before  # byte- and mtime-identical, none moved or deleted
    shown = json.loads(telemetry("inspect", "--saved", "--json").stdout)
    assert [d["sent"] is not None for d in shown] == [True, True, True]
    audit = json.loads(telemetry("inspect", "--sent", "--json").stdout)
    assert sorted(e["file"] for e in audit) == sorted(str(f) for f in files)
    assert {e["format"] for e in audit} == {"saved"} and {e["status"] for e in audit} == {200}
    assert {e["endpoint"] for e in audit} == {url}
    assert {e["digest"] for e in audit} == {f"sha256:{hashlib.sha256(f.read_bytes()).hexdigest()}" for f in files}
    state = isolation.home / ".local" / "state" / "tenx" / "telemetry" / "released.json"
    assert state.stat().st_mode & 0o777 == 0o600


def test_chosen_files_then_the_rest_and_a_pipestance_copy_is_not_sent_twice(inprocess: Telemetry, isolation: Env,
                                                                           tmp_path: Path) -> None:
    _hold(inprocess)
    files = _two_versions(isolation)
    copy = tmp_path / "sample1" / "extras" / "telemetry" / files[2].name  # saveEventInPipestance: same name, bytes
    copy.parent.mkdir(parents=True)
    copy.write_bytes(files[2].read_bytes())
    with Collector() as collector:
        url = f"{collector.url}/api/v1/event"
        out = inprocess("send", "--saved", str(copy), str(files[0]), "--yes", "--endpoint", url)
        assert out.exit_code == 0, out.stderr
        assert [r.body for r in collector.requests] == [copy.read_bytes(), files[0].read_bytes()]
        assert [_header(r, "X-Api-Key") for r in collector.requests] == [KEY_10, _key("cellranger", "9.0.1")]
        rest = inprocess("send", "--saved", "--yes", "--endpoint", url)
        assert rest.exit_code == 0, rest.stderr
        assert [r.body for r in collector.requests[2:]] == [files[1].read_bytes()]  # files[2] went as its copy
        named = inprocess("send", "--saved", str(files[2]), "--yes", "--endpoint", url)
        assert named.exit_code == 0 and "was released on " in named.stderr and "not sent again" in named.stderr
        assert len(collector.requests) == 3


def test_shown_first_and_without_a_terminal_nothing_is_sent_without_yes(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    path = _saved_in_cache(isolation, "os_stats")
    with Collector() as collector:
        out = inprocess("send", "--saved", "--endpoint", f"{collector.url}/e")
        assert out.exit_code == 2 and "--yes" in out.stderr
        assert str(path).replace(str(isolation.home), "~") in out.stdout
        assert path.read_text() in out.stdout and f"X-Api-Key: {KEY_10}" in out.stdout
        assert f"POST {collector.url}/e" in out.stdout
        dry = inprocess("send", "--saved", "--dry-run", "--endpoint", f"{collector.url}/e")
        assert dry.exit_code == 0 and "nothing sent" in dry.stderr
        assert collector.connections == 0
    assert json.loads(inprocess("inspect", "--saved", "--json").stdout)[0]["sent"] is None


def test_asks_on_a_terminal(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.cli import base

    monkeypatch.setattr(base, "interactive", lambda: True)
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    with Collector() as collector:
        declined = inprocess("send", "--saved", "--endpoint", f"{collector.url}/e", input="n\n")
        assert declined.exit_code == 0 and "Nothing sent" in declined.stderr and collector.connections == 0
        accepted = inprocess("send", "--saved", "--endpoint", f"{collector.url}/e", input="y\n")
        assert accepted.exit_code == 0, accepted.stderr
        assert "Send this event to " in accepted.stdout and len(collector.requests) == 1


@pytest.mark.parametrize("how", ["system flag", "DO_NOT_TRACK", "TENX_DISABLE_TELEMETRY_UPLOAD"])
def test_what_the_user_cannot_override_refuses_with_no_connection(inprocess: Telemetry, isolation: Env,
                                                                  how: str) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    env = {}
    if how == "system flag":
        isolation.system_dir.mkdir(parents=True)
        (isolation.system_dir / "disable_upload").write_bytes(b"")
    else:
        env[how] = "1"
    with Collector() as collector:
        for args in ((), (str(next((isolation.home / ".cache").rglob("*.json"))),)):
            out = inprocess("send", "--saved", *args, "--yes", "--endpoint", f"{collector.url}/e", env=env)
            assert out.exit_code == 4, out.stderr
            assert out.stderr.startswith("telemetry: not sent: upload of cellranger is disabled by ")
            assert out.stdout == ""
        assert collector.connections == 0


def test_a_half_written_file_is_skipped_and_named_never_sent(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    whole = _saved_in_cache(isolation, "os_stats", 1)
    content = _event("count_success", {"reads": 812000000})
    half = _saved_in_cache(isolation, "count_success", content=content[: len(content) // 2])  # os.CreateTemp, mid-write
    with Collector() as collector:
        out = inprocess("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e")
        assert out.exit_code == 0, out.stderr
        assert f"warning: skipped {half}: not whole JSON" in out.stderr
        assert [r.body for r in collector.requests] == [whole.read_bytes()]
        named = inprocess("send", "--saved", str(half), "--yes", "--endpoint", f"{collector.url}/e")
        assert named.exit_code == 3 and named.stderr.startswith(f"telemetry: {half}: not whole JSON")
        assert len(collector.requests) == 1
    half.write_bytes(content)  # the product finished writing it
    with Collector() as collector:
        assert inprocess("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e").exit_code == 0
        assert [r.body for r in collector.requests] == [content]


@pytest.mark.parametrize("status", [500, 400])
def test_a_500_leaves_the_event_held_and_the_next_release_sends_it(inprocess: Telemetry, isolation: Env,
                                                                   status: int) -> None:
    _hold(inprocess)
    path = _saved_in_cache(isolation, "os_stats")
    with Collector([Reply(status, b"broken"), Reply(200)]) as collector:
        url = f"{collector.url}/e"
        failed = inprocess("send", "--saved", "--yes", "--endpoint", url)
        assert failed.exit_code == 5, failed.stderr
        assert "1 saved event not released; it stays held" in failed.stderr and f"HTTP {status}" in failed.stderr
        assert json.loads(inprocess("inspect", "--saved", "--json").stdout)[0]["sent"] is None
        assert json.loads(inprocess("inspect", "--sent", "--json").stdout) == []
        done = inprocess("send", "--saved", "--yes", "--endpoint", url)
        assert done.exit_code == 0, done.stderr
        assert [r.body for r in collector.requests] == [path.read_bytes()] * 2
        assert [r.status for r in collector.requests] == [status, 200]


def test_a_retried_status_is_retried_within_the_run(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    with Collector([Reply(503, headers={"Retry-After": "0"}), Reply(200)]) as collector:
        out = inprocess("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e")
        assert out.exit_code == 0, out.stderr
        assert [r.status for r in collector.requests] == [503, 200]


KILLED_AFTER_THE_ANSWER = """
import os, signal, sys
from telemetry_gate.spool import released
released.Released.add = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
from telemetry_gate.cli.app import main
sys.argv = ["telemetry", *sys.argv[1:]]
main()
"""


def test_a_kill_between_the_answer_and_the_state_write_sends_at_most_one_again(inprocess: Telemetry,
                                                                               isolation: Env) -> None:
    _hold(inprocess)
    files = _two_versions(isolation)
    with Collector() as collector:
        url = f"{collector.url}/e"
        killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_THE_ANSWER, "send", "--saved", "--yes",
                                 "--endpoint", url], capture_output=True, text=True, timeout=60)
        assert killed.returncode == -9, killed.stderr
        assert [r.body for r in collector.requests] == [files[0].read_bytes()]  # accepted, then the kill
        for _ in range(2):
            out = inprocess("send", "--saved", "--yes", "--endpoint", url)
            assert out.exit_code == 0, out.stderr
        bodies = [r.body for r in collector.requests]
        assert bodies == [f.read_bytes() for f in (files[0], *files)]  # the killed one once more, then never
        assert all(r.status == 200 for r in collector.requests)


def test_plain_send_never_releases_saved_events(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    with Collector() as collector:
        out = inprocess("send", "--endpoint", collector.url)
        assert out.exit_code == 0, out.stderr
        assert collector.connections == 0


def test_a_product_that_uploads_itself_is_passed_over(inprocess: Telemetry, isolation: Env) -> None:
    path = _saved_in_cache(isolation, "os_stats")  # upload on: Cell Ranger uploaded it and kept a copy
    with Collector() as collector:
        out = inprocess("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e")
        assert out.exit_code == 0, out.stderr
        assert "cellranger: its own upload is on" in out.stderr and collector.connections == 0
        named = inprocess("send", "--saved", str(path), "--yes", "--endpoint", f"{collector.url}/e")
        assert named.exit_code == 0, named.stderr
        assert [r.body for r in collector.requests] == [path.read_bytes()]


def test_the_products_own_address_and_usage_errors(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    dry = inprocess("send", "--saved", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "POST https://upload.telemetry.10xgenomics.com/api/v1/event" in dry.stdout
    for args, words in ((("--rejected",), "--rejected"), (("--format", "json"), "--format"),
                        (("--endpoint", "http://example.org/e", "--yes"), "https")):
        out = inprocess("send", "--saved", *args)
        assert out.exit_code in (2, 3) and words in out.stderr, (args, out.stderr)
    notes = isolation.home / "notes.json"
    notes.write_text("{}")
    assert inprocess("send", "--saved", str(notes), "--yes").exit_code == 2
    assert inprocess("send", "--saved", str(isolation.home / "gone.json"), "--yes").exit_code == 2


@pytest.mark.parametrize("table, key, problem", [
    ('headers = "mystery"', "headers", "headers names a recipe telemetry-gate does not know ('mystery'"),
    ('url = "http://upload.example.org/e"', "url", "url must be the https:// address"),
    ('paths = ["/etc/*.json"]', "paths", "must start with ~/ or $XDG_"),
    ('source = []', "source", "needs a source"),
    ('colour = "red"', "colour", "does not take 'colour'"),
])
def test_a_saved_table_the_code_cannot_use_makes_the_manifest_unusable(inprocess: Telemetry, isolation: Env,
                                                                       table: str, key: str, problem: str) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    good = {"paths": '["~/.cache/tenx/telemetry/cellranger/{version}/*.json"]', "url": '"https://upload.example.org/e"',
            "headers": '"tenx-api-key"', "source": '["https://example.org/code"]'}
    given = dict([table.split(" = ", 1)])
    lines = ["[product]", 'name = "cellranger"', "", "[saved]"]
    lines += [f"{k} = {v}" for k, v in {**good, **given}.items()]
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "cellranger.toml").write_text("\n".join(lines) + "\n")
    line = next(n for n, text in enumerate(lines, start=1) if text.startswith(f"{key} ="))
    with Collector() as collector:
        for args in (("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e"), ("inspect", "--saved")):
            out = inprocess(*args)
            assert out.exit_code == 3, (args, out.stderr)
            assert out.stderr.startswith(f"telemetry: {folder / 'cellranger.toml'}:{line}: [saved] "), out.stderr
            assert problem in out.stderr
        assert collector.connections == 0
    fixed = f"{key} = {good[key]}" if key in good else ""
    (folder / "cellranger.toml").write_text("\n".join(lines).replace(table, fixed) + "\n")  # usable again
    assert inprocess("inspect", "--saved").exit_code == 0


def test_two_releases_at_once_send_each_event_once(isolation: Env, inprocess: Telemetry) -> None:
    from conftest import script_path

    _hold(inprocess)
    files = _two_versions(isolation)
    with Collector(lambda index: Reply(hold=index == 0)) as collector:
        args = [script_path(), "send", "--saved", "--yes", "--endpoint", f"{collector.url}/e"]
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert collector.first_request.wait(30)  # the first holds the lock, its request unanswered
        second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert second.wait(timeout=1.0) is None
        except subprocess.TimeoutExpired:
            pass  # waiting for the lock, as it should
        collector.released.set()
        outs = [p.communicate(timeout=60) for p in (first, second)]
        assert [p.returncode for p in (first, second)] == [0, 0], outs
        assert sorted(r.body for r in collector.requests) == sorted(f.read_bytes() for f in files)
    assert "Released" in outs[0][1] and "Released" not in outs[1][1]  # the second waited, then found them sent


def test_a_state_file_that_is_not_ours_stops_releases_and_is_kept(inprocess: Telemetry, isolation: Env) -> None:
    _hold(inprocess)
    _saved_in_cache(isolation, "os_stats")
    state = isolation.home / ".local" / "state" / "tenx" / "telemetry" / "released.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text('{"schema": 1, "released": [{"file": 1}]}')
    with Collector() as collector:
        out = inprocess("send", "--saved", "--yes", "--endpoint", f"{collector.url}/e")
        assert out.exit_code == 3 and out.stderr.startswith(f"telemetry: {state}: not telemetry-gate's")
        assert collector.connections == 0
    assert inprocess("inspect", "--saved").exit_code == 3
    check = inprocess("check")
    assert check.exit_code == 0 and "note: held events unknown: " in " ".join(check.stdout.split())
    assert state.read_text() == '{"schema": 1, "released": [{"file": 1}]}'
