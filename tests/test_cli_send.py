"""``telemetry send`` end to end, against a real collector on 127.0.0.1 (tests/collector.py)
that counts connections and parses every OTLP body with the official protobuf messages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector import Collector, Reply
from conftest import Env, Telemetry, fill, script_path


def _in_sending(env: Env) -> list[Path]:
    return sorted((env.spool / "sending").rglob("*.json"))


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def _manifest(env: Env, text: str, product: str = "cellranger") -> None:
    folder = env.system_dir / "products.d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{product}.toml").write_text(f'[product]\nname = "{product}"\n' + text)


# -- policy: nothing leaves while upload is disabled -------------------------------------------

LAYERS = {
    # name: (set it up, what the message names)
    "system flag disable_upload": (lambda e: _settings(e.system_dir, None, "disable_upload"),
                                   "disable_upload (system policy)"),
    "system flag disable": (lambda e: _settings(e.system_dir, None, "disable"), "disable (system policy)"),
    "DO_NOT_TRACK": ({"DO_NOT_TRACK": "1"}, "DO_NOT_TRACK=1"),
    "vendor variable": ({"TENX_DISABLE_TELEMETRY": "1"}, "TENX_DISABLE_TELEMETRY=1"),
    "vendor upload variable": ({"TENX_DISABLE_TELEMETRY_UPLOAD": "0"}, "TENX_DISABLE_TELEMETRY_UPLOAD=0"),
    "product variable": (lambda e: _manifest(e, '[[product.env]]\nname = "CELLRANGER_NO_UPLOAD"\n'
                                                'facets = ["upload"]\n'), "CELLRANGER_NO_UPLOAD=yes"),
    "user settings, product table": (lambda e: _settings(e.config_dir, "[products.cellranger]\nupload = false\n"),
                                     "[products.cellranger] (user settings)"),
    "user settings, [telemetry]": (lambda e: _settings(e.config_dir, "[telemetry]\nupload = false\n"),
                                   "[telemetry] (user settings)"),
    "user flag file": (lambda e: _settings(e.config_dir, None, "disable_upload"), "disable_upload (user settings)"),
    "system defaults": (lambda e: _settings(e.system_dir, "[telemetry]\nupload = false\n"), "(system defaults)"),
    # Cell Ranger's own flag while our settings say yes: the flag wins (Cell Ranger reads it), and in
    # telemetry-gate's namespace it is the user's own setting (issue 20)
    "product's own switch": (lambda e: _settings(e.config_dir, "[telemetry]\nupload = true\n", "disable_upload"),
                             "disable_upload (user settings)"),
    "collection disabled": (lambda e: _settings(e.config_dir, "[telemetry]\ncollection = false\n"),
                            "collection is disabled"),
}


def _settings(folder: Path, text: str | None, flag: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (folder / "settings.toml").write_text(text)
    if flag is not None:
        (folder / flag).touch()


@pytest.mark.parametrize("layer", list(LAYERS))
def test_no_connection_while_upload_is_disabled(telemetry: Telemetry, isolation: Env, collector: Collector,
                                                layer: str) -> None:
    ids = fill(3)
    setup, named = LAYERS[layer]
    env = {"CELLRANGER_NO_UPLOAD": "yes"} if layer == "product variable" else {}
    if isinstance(setup, dict):
        env.update(setup)
    else:
        setup(isolation)
    out = telemetry("send", "--endpoint", collector.url, env=env)
    assert collector.connections == 0 and collector.requests == []
    assert out.exit_code == 0, out.stderr
    line = next(x for x in out.stderr.splitlines() if x.startswith("cellranger:"))
    assert "upload is disabled by" in line and named in line, line
    assert sorted(isolation.pending()) == sorted(ids)


def test_a_disabled_product_does_not_stop_the_others(telemetry: Telemetry, isolation: Env,
                                                     collector: Collector) -> None:
    fill(2, "cellranger")
    sent = fill(3, "stripepy")
    _settings(isolation.config_dir, "[products.cellranger]\nupload = false\n")
    out = telemetry("send", "--endpoint", collector.url, "--json")
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["products"]["cellranger"]["disabled_by"].endswith("[products.cellranger] (user settings)")
    assert report["products"]["stripepy"]["sent"] == 3 and sorted(collector.accepted_ids()) == sorted(sent)
    assert len(isolation.pending("cellranger")) == 2


# -- delivery ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["otlp", "json"])
@pytest.mark.script
def test_all_delivered_exactly_once_on_200(telemetry: Telemetry, isolation: Env, collector: Collector,
                                           fmt: str) -> None:
    ids = fill(1001)
    stored = isolation.pending()
    out = telemetry("send", "--endpoint", collector.url, "--format", fmt)
    assert out.exit_code == 0, out.stderr
    assert "cellranger: 1001 sent, 0 rejected, 0 still pending" in out.stderr
    assert collector.invalid == []
    assert Counter(collector.accepted_ids()) == Counter(ids)
    assert [len(r.ids) for r in collector.requests] == [500, 500, 1]
    assert collector.connections == 1  # one keep-alive client
    assert {r.path for r in collector.requests} == {"/v1/logs" if fmt == "otlp" else "/"}
    assert all(r.headers["Content-Encoding"] == "gzip" for r in collector.requests)
    if fmt == "json":  # records exactly as stored
        assert [json.dumps(x, separators=(",", ":"), ensure_ascii=False).encode()
                for r in collector.requests for x in json.loads(r.body)["records"]] == [stored[i] for i in ids]
    assert isolation.pending() == {} and _in_sending(isolation) == []
    audit = json.loads(telemetry("inspect", "--sent", "--json", "--all").stdout)
    assert Counter(e["id"] for e in audit) == Counter(ids)
    assert all(e["status"] == 200 and e["endpoint"].startswith(collector.url) and e["sent_at"]
               and e["digest"].startswith("sha256:") for e in audit)
    table = telemetry("inspect", "--sent").stdout.splitlines()
    assert table[0].split() == ["SENT", "AT", "ID", "PRODUCT", "STATUS", "ENDPOINT"] and len(table) == 52


# The retry cases wait for real (backoff, Retry-After): they run in-process only, where the
# console script would add nothing the other tests do not already cover.

def test_503_forever_leaves_everything_pending_and_exits_5(inprocess: Telemetry, isolation: Env) -> None:
    telemetry = inprocess
    fill(7)
    before = isolation.pending()
    with Collector([Reply(503)]) as collector:
        out = telemetry("send", "--endpoint", collector.url, "--timeout", "3")
    assert out.exit_code == 5, out.stderr
    assert "0 sent, 0 rejected, 7 still pending" in out.stderr and "HTTP 503" in out.stderr
    assert len(collector.requests) >= 2  # it did retry
    assert isolation.pending() == before and _in_sending(isolation) == []
    assert json.loads(telemetry("inspect", "--sent", "--json").stdout) == []


def test_503_with_retry_after_then_200_is_delivered(inprocess: Telemetry, isolation: Env) -> None:
    telemetry = inprocess
    ids = fill(5)
    with Collector([Reply(503, headers={"Retry-After": "1"}), Reply(200)]) as collector:
        out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert len(collector.requests) == 2 and Counter(collector.accepted_ids()) == Counter(ids)
    assert isolation.pending() == {}


@pytest.mark.script
def test_400_moves_the_batch_to_rejected_with_its_status(telemetry: Telemetry, isolation: Env) -> None:
    ids = fill(4)
    before = isolation.pending()
    answer = b'{"code": 3, "message": "unknown field eventName"}'
    with Collector([Reply(400, body=answer)]) as collector:
        out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 5 and "4 rejected (HTTP 400" in out.stderr
    assert len(collector.requests) == 1 and isolation.pending() == {}
    rejected = json.loads(telemetry("inspect", "--rejected", "--json").stdout)
    assert sorted(r["id"] for r in rejected) == sorted(ids)
    assert all(r["rejected_status"] == 400 and r["rejected_answer"] == answer.decode() for r in rejected)
    for record in rejected:  # the record itself is kept exactly as stored
        kept = {k: v for k, v in record.items() if not k.startswith("rejected_")}
        assert json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode() == before[record["id"]]
    table = telemetry("inspect", "--rejected").stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "PRODUCT", "EVENT", "STATUS"] and table[1].split()[3] == "400"
    assert telemetry("inspect", ids[0]).exit_code == 0  # ID finds a rejected record too
    out = telemetry("purge", "--rejected", "--yes")
    assert out.exit_code == 0 and "Deleted 4 rejected records" in out.stderr
    assert list((isolation.spool / "rejected" / "cellranger").iterdir()) == []


def test_connection_reset_mid_request_loses_nothing(inprocess: Telemetry, isolation: Env) -> None:
    telemetry = inprocess
    ids = fill(5)
    with Collector([Reply(reset=True), Reply(200)]) as collector:
        out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert collector.requests[0].status is None  # the first one was cut off
    assert set(collector.accepted_ids()) == set(ids) and isolation.pending() == {}


def test_connection_reset_forever_keeps_everything_pending(inprocess: Telemetry, isolation: Env) -> None:
    telemetry = inprocess
    fill(3)
    before = isolation.pending()
    with Collector([Reply(reset=True)]) as collector:
        out = telemetry("send", "--endpoint", collector.url, "--timeout", "1")
    assert out.exit_code == 5 and len(collector.requests) >= 2
    assert isolation.pending() == before and _in_sending(isolation) == []


def test_nothing_listening_keeps_everything_pending(inprocess: Telemetry, isolation: Env) -> None:
    telemetry = inprocess
    fill(3)
    with socket.socket() as probe:  # a loopback port with no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = telemetry("send", "--endpoint", f"http://127.0.0.1:{port}", "--timeout", "1")
    assert out.exit_code == 5 and "3 still pending" in out.stderr and len(isolation.pending()) == 3


# -- concurrency and crashes -------------------------------------------------------------------

def test_two_concurrent_senders_send_no_record_twice(isolation: Env) -> None:
    # the first sender claims every pending record and is held at its first batch; records
    # written meanwhile go to the second sender, started then; each record arrives once
    ids = fill(1600)
    second = {}

    def script(index: int) -> Reply:
        if index == 0:  # hold the first sender's first batch until the other sender shows up
            second["seen"] = _wait_for(lambda: collector.connections >= 2, 20)
        time.sleep(0.01)
        return Reply(200)

    with Collector(script) as collector:
        command = [script_path(), "send", "--endpoint", collector.url]
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert collector.first_request.wait(30)
        ids += fill(700)
        later = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = [p.communicate(timeout=60) for p in (first, later)]
    assert [p.returncode for p in (first, later)] == [0, 0], results
    assert second["seen"], "the two senders did not overlap"
    counts = Counter(collector.accepted_ids())
    assert counts == Counter(ids), [i for i, n in counts.items() if n > 1][:5]
    assert "1600 sent" in results[0][1] and "700 sent" in results[1][1], results
    assert isolation.pending() == {} and _in_sending(isolation) == []


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_sender_killed_mid_send_is_recovered_by_the_next(isolation: Env) -> None:
    ids = fill(1100)
    with Collector(lambda index: Reply(hold=index == 0)) as collector:
        proc = subprocess.Popen([script_path(), "send", "--endpoint", collector.url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert collector.first_request.wait(30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(_in_sending(isolation)) >= 500  # its claim is left behind
        assert len(isolation.pending()) < 1100
        collector.released.set()
        out = subprocess.run([script_path(), "send", "--endpoint", collector.url], capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "left by a sender that is gone" in out.stderr
    assert set(collector.accepted_ids()) >= set(ids)  # every record at least once
    assert isolation.pending() == {} and _in_sending(isolation) == []
    assert list((isolation.spool / "sending").iterdir()) == []


def test_a_live_senders_claim_is_left_alone(telemetry: Telemetry, isolation: Env, collector: Collector) -> None:
    from telemetry_gate.spool.claims import Claim
    from telemetry_gate.spool.store import Spool

    ids = fill(3)
    claim = Claim(Spool(isolation.spool))  # this test process: alive
    claim.take("cellranger", [f"{ids[0]}.json"])
    out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 0 and sorted(collector.accepted_ids()) == sorted(ids[1:])
    assert [p.stem for p in _in_sending(isolation)] == [ids[0]]
    claim.release()
    assert list(isolation.pending()) == [ids[0]]


# -- what is sent, where, and what is refused before any connection ---------------------------

def test_dry_run_prints_exact_payloads_and_opens_no_connection(telemetry: Telemetry, isolation: Env,
                                                               collector: Collector) -> None:
    ids = fill(520)
    before = isolation.files()
    out = telemetry("send", "--dry-run", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert collector.connections == 0 and isolation.files() == before
    bodies = out.stdout.splitlines()
    assert len(bodies) == 2 and "POST " + collector.url + "/v1/logs: 500 cellranger records" in out.stderr
    got = [next(a.value.string_value for a in log.attributes if a.key == "telemetry.record.id")
           for body in bodies for r in Parse(body, ExportLogsServiceRequest()).resource_logs
           for s in r.scope_logs for log in s.log_records]
    assert got == ids
    lines = telemetry("send", "--dry-run", "--json", "--format", "json", "--endpoint", collector.url).stdout
    requests = [json.loads(line) for line in lines.splitlines()]
    assert [r["records"] for r in requests] == [500, 20] and requests[0]["url"] == collector.url
    assert [r["id"] for r in requests[1]["body"]["records"]] == ids[500:]
    assert collector.connections == 0


class _NoNetwork:
    """Every way out of the process counted and refused: a URL check that came too late would show."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        for name in ("getaddrinfo", "create_connection"):
            monkeypatch.setattr(socket, name, self._refuse(name))
        monkeypatch.setattr(socket.socket, "connect", self._refuse("connect"))
        monkeypatch.setattr(socket.socket, "connect_ex", self._refuse("connect_ex"))

    def _refuse(self, name: str):  # type: ignore[no-untyped-def]
        def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append(name)
            raise OSError(f"test: {name} is not allowed")
        return refuse


@pytest.mark.parametrize("source", ["option", "TELEMETRY_ENDPOINT", "settings", "manifest"])
def test_plain_http_to_another_host_is_refused_before_any_connection(
        inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    fill(2)
    url = "http://192.0.2.10:4318"  # TEST-NET-1: never contacted, the check refuses first
    args, env = ["send"], {}
    if source == "option":
        args += ["--endpoint", url]
    elif source == "TELEMETRY_ENDPOINT":
        env["TELEMETRY_ENDPOINT"] = url
    elif source == "settings":
        _settings(isolation.config_dir, f'[products.cellranger]\nendpoint = "{url}"\n')
    else:
        _manifest(isolation, f'endpoint = "{url}"\n')
    guard = _NoNetwork(monkeypatch)
    out = inprocess(*args, env=env)
    assert guard.calls == []
    assert out.exit_code == (2 if source == "option" else 3), out.stderr
    assert "only over https" in out.stderr and len(isolation.pending()) == 2


def test_endpoint_and_format_first_match(telemetry: Telemetry, isolation: Env) -> None:
    fill(1)
    _manifest(isolation, 'endpoint = "http://127.0.0.1:1001"\nformat = "json"\n')

    def where(*args: str, env: dict[str, str] | None = None) -> tuple[str, int]:
        out = telemetry("send", "--dry-run", "--json", *args, env=env)
        assert out.exit_code == 0, out.stderr
        request = json.loads(out.stdout.splitlines()[0])
        return request["url"], "records" in request["body"]

    assert where() == ("http://127.0.0.1:1001", True)
    _settings(isolation.config_dir, '[telemetry]\nendpoint = "http://127.0.0.1:1002"\nformat = "otlp"\n')
    assert where() == ("http://127.0.0.1:1002/v1/logs", False)
    assert where(env={"TELEMETRY_ENDPOINT": "http://127.0.0.1:1003"}) == ("http://127.0.0.1:1003/v1/logs", False)
    assert where("--endpoint", "http://127.0.0.1:1004", "--format", "json",
                 env={"TELEMETRY_ENDPOINT": "http://127.0.0.1:1003"}) == ("http://127.0.0.1:1004", True)


@pytest.mark.script
def test_no_endpoint_is_a_clear_error_naming_the_product(telemetry: Telemetry, isolation: Env) -> None:
    fill(2)
    out = telemetry("send")
    assert out.exit_code == 2 and "no endpoint is configured for cellranger" in out.stderr
    assert "Traceback" not in out.stderr and len(isolation.pending()) == 2


def test_nothing_pending(telemetry: Telemetry, collector: Collector) -> None:
    out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 0 and "Nothing to send." in out.stderr and collector.connections == 0


def test_malformed_pending_file_is_quarantined_and_the_rest_sent(telemetry: Telemetry, isolation: Env,
                                                                 collector: Collector) -> None:
    from telemetry_gate.spool.ids import new_id

    ids = fill(3)
    bad = isolation.spool / "pending" / "cellranger" / f"{new_id()}.json"
    bad.write_text('{"schema": 1, "id": "tr')
    out = telemetry("send", "--endpoint", collector.url)
    assert out.exit_code == 0 and sorted(collector.accepted_ids()) == sorted(ids)
    assert (isolation.spool / "quarantine" / "cellranger" / bad.name).exists()
    assert "malformed" in out.stderr


def test_json_summary_keys(telemetry: Telemetry, collector: Collector) -> None:
    fill(2)
    out = telemetry("send", "--endpoint", collector.url, "--json")
    data = json.loads(out.stdout)
    assert {"dry_run", "sent", "rejected", "pending", "recovered", "products"} <= set(data)
    assert {"sent", "rejected", "pending", "endpoint", "format", "disabled_by", "error", "problem",
            "rejected_statuses", "notes"} <= set(data["products"]["cellranger"])
    assert (data["sent"], data["pending"]) == (2, 0)


def test_old_audit_files_are_pruned_and_purge_sent(telemetry: Telemetry, isolation: Env,
                                                   collector: Collector) -> None:
    sent = isolation.spool / "sent"
    sent.mkdir(parents=True)
    (sent / "2000-01-01.jsonl").write_text('{"id": "X", "sent_at": "2000-01-01T00:00:00.000Z"}\n')
    fill(2)
    assert telemetry("send", "--endpoint", collector.url).exit_code == 0
    assert not (sent / "2000-01-01.jsonl").exists()
    assert len(json.loads(telemetry("inspect", "--sent", "--json").stdout)) == 2
    assert telemetry("purge", "--sent").exit_code == 2  # no terminal: needs --yes
    out = telemetry("purge", "--sent", "--yes")
    assert out.exit_code == 0 and "Deleted 2 audit entries" in out.stderr
    assert json.loads(telemetry("inspect", "--sent", "--json").stdout) == []


def test_inspect_id_shows_the_exact_payload(telemetry: Telemetry, isolation: Env) -> None:
    [record_id] = fill(1)
    out = telemetry("inspect", record_id)
    lines = out.stdout.splitlines()
    payload = lines[lines.index(next(x for x in lines if x.startswith("'telemetry send' (format otlp)"))) + 1]
    message = Parse(payload, ExportLogsServiceRequest())
    log = message.resource_logs[0].scope_logs[0].log_records[0]
    assert [a.value.string_value for a in log.attributes if a.key == "telemetry.record.id"] == [record_id]
    dry = telemetry("send", "--dry-run", "--endpoint", "http://127.0.0.1:9").stdout.splitlines()
    assert dry == [payload]  # what inspect shows is what send would post


def test_help_names_where_the_endpoint_comes_from(telemetry: Telemetry) -> None:
    # square brackets in a help text are rich markup: "[default: ...]" once vanished from --help
    shown = telemetry("send", "--help", env={"COLUMNS": "200"})
    assert "TELEMETRY_ENDPOINT" in shown.stdout and "the manifest" in shown.stdout


def _run_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (stdout piped): (exit code, stdout, terminal text)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(timeout=60), out, seen.decode("utf-8", "replace")


@pytest.mark.parametrize("records, bar", [(1200, True), (300, False)])
def test_progress_bar_on_a_terminal_only_for_more_than_one_batch(isolation: Env, collector: Collector,
                                                                 records: int, bar: bool) -> None:
    ids = fill(records)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    code, _out, terminal = _run_on_a_terminal([script_path(), "send", "--endpoint", collector.url], env)
    assert code == 0, terminal
    assert f"cellranger: {records} sent, 0 rejected, 0 still pending" in terminal
    assert ("━" in terminal) is bar, terminal  # rich's bar, drawn on stderr
    assert Counter(collector.accepted_ids()) == Counter(ids)
