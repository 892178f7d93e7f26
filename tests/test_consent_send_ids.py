"""``telemetry send ID...`` (issue 15): exactly the chosen records reach a real collector on
127.0.0.1; the user's own settings are overridden for them, never a layer above them."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry, script_path
from telemetry_gate import Recorder


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def _fill(n: int, product: str = "cellranger") -> list[str]:
    rec = Recorder(product, "9.0.0")
    ids = [rec.record("count", metrics={"n": i}) for i in range(n)]
    assert all(ids), rec.problem
    return ids  # type: ignore[return-value]


def _pending(env: Env, product: str = "cellranger") -> set[str]:
    folder = env.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / product
    return {p.stem for p in folder.glob("*.json")}


def test_exactly_the_chosen_records_arrive(telemetry: Telemetry, isolation: Env, collector: Collector) -> None:
    ids = _fill(5)
    prefix = next(ids[3][:n] for n in range(1, 27) if sum(i.startswith(ids[3][:n]) for i in ids) == 1)
    chosen = [ids[1], prefix.lower()]  # a full id and a unique prefix
    out = telemetry("send", *chosen, "--yes", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert sorted(collector.accepted_ids()) == sorted([ids[1], ids[3]]) and not collector.invalid
    assert _pending(isolation) == {ids[0], ids[2], ids[4]}
    assert f'"id": "{ids[1]}"' in out.stdout  # shown first, as inspect ID shows it
    assert "would upload this record alone as these exact bytes" in out.stdout
    assert "cellranger: 2 sent, 0 rejected, 0 still pending" in out.stderr
    audit = json.loads(telemetry("inspect", "--sent", "--json").stdout)
    assert sorted(a["id"] for a in audit) == sorted([ids[1], ids[3]])


def test_the_users_own_settings_are_overridden_for_the_chosen(inprocess: Telemetry, isolation: Env,
                                                             collector: Collector) -> None:
    ids = _fill(2)
    inprocess("disable", "upload")
    (isolation.config_dir / "disable_upload").touch()  # the user flag file Cell Ranger writes, too
    out = inprocess("send", "--endpoint", collector.url)
    assert "upload is disabled by" in out.stderr and collector.connections == 0
    out = inprocess("send", ids[0], "--yes", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert collector.accepted_ids() == [ids[0]] and _pending(isolation) == {ids[1]}


REFUSED = {
    "DO_NOT_TRACK": ({"DO_NOT_TRACK": "1"}, None, "DO_NOT_TRACK=1"),
    "vendor variable": ({"TENX_DISABLE_TELEMETRY_UPLOAD": "1"}, None, "TENX_DISABLE_TELEMETRY_UPLOAD=1"),
    "system flag": ({}, "disable_upload", "disable_upload (system policy)"),
    "system flag, everything": ({}, "disable", "disable (system policy)"),
    "product variable": ({"CELLRANGER_NO_TELEMETRY": "1"}, None, "CELLRANGER_NO_TELEMETRY=1"),
}


@pytest.mark.parametrize("layer", list(REFUSED))
def test_a_layer_above_the_user_refuses_and_nothing_connects(inprocess: Telemetry, isolation: Env,
                                                            collector: Collector, layer: str) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "cellranger.toml").write_text('[product]\nname = "cellranger"\n\n[[product.env]]\n'
                                            'name = "CELLRANGER_NO_TELEMETRY"\n')
    ids = _fill(2)
    environ, flag, origin = REFUSED[layer]
    if flag:
        (isolation.system_dir / flag).touch()
    out = inprocess("send", ids[0], "--yes", "--endpoint", collector.url, env=environ)
    assert out.exit_code == 4
    assert "not sent: upload of cellranger is disabled by" in out.stderr and origin in out.stderr
    assert collector.connections == 0 and _pending(isolation) == set(ids)
    assert out.stdout == ""  # refused before anything is shown


def test_do_not_track_opens_no_connection_from_the_installed_script(isolation: Env, collector: Collector) -> None:
    ids = _fill(1)
    proc = subprocess.run([script_path(), "send", ids[0], "--yes", "--endpoint", collector.url],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "DO_NOT_TRACK": "1"})
    assert proc.returncode == 4 and "DO_NOT_TRACK=1" in proc.stderr and "Traceback" not in proc.stderr
    assert collector.connections == 0


def test_without_a_terminal_it_needs_yes(telemetry: Telemetry, isolation: Env, collector: Collector) -> None:
    ids = _fill(1)
    out = telemetry("send", ids[0], "--endpoint", collector.url)
    assert out.exit_code == 2 and "confirm with --yes when there is no terminal" in out.stderr
    assert collector.connections == 0 and _pending(isolation) == set(ids)


def _run_on_a_terminal(args: list[str], answer: bytes) -> tuple[int, str]:
    """The installed script with stdin/stdout/stderr on a pseudo-terminal; ``answer`` is typed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([script_path(), *args], stdin=follower, stdout=follower, stderr=follower,
                            close_fds=True)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the script exited and closed its side
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer)
            answered = True
    os.close(leader)
    return proc.wait(timeout=60), seen.decode("utf-8", "replace")


def test_on_a_terminal_it_shows_and_asks(isolation: Env, collector: Collector) -> None:
    ids = _fill(2)
    code, seen = _run_on_a_terminal(["send", ids[0], "--endpoint", collector.url], b"n\n")
    assert code == 0 and f"Send this record to {collector.url}/v1/logs?" in seen
    assert f'"id": "{ids[0]}"' in seen and "Nothing sent." in seen
    assert collector.connections == 0
    code, seen = _run_on_a_terminal(["send", ids[0], "--endpoint", collector.url], b"y\n")
    assert code == 0, seen
    assert collector.accepted_ids() == [ids[0]] and _pending(isolation) == {ids[1]}


def test_unknown_and_ambiguous_ids_are_usage_errors(inprocess: Telemetry, collector: Collector) -> None:
    _fill(2)
    out = inprocess("send", "ZZZZ", "--yes", "--endpoint", collector.url)
    assert out.exit_code == 2 and "no pending record" in out.stderr
    out = inprocess("send", "0", "--yes", "--endpoint", collector.url)
    assert out.exit_code == 2 and "records have ids starting with" in out.stderr
    assert collector.connections == 0


def test_dry_run_prints_the_payload_and_connects_nowhere(inprocess: Telemetry, isolation: Env,
                                                         collector: Collector) -> None:
    ids = _fill(2)
    out = inprocess("send", ids[1], "--dry-run", "--endpoint", collector.url, "--json")
    assert out.exit_code == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["records"] == 1 and collector.connections == 0
    assert _pending(isolation) == set(ids)


def test_an_opt_in_product_not_yet_enabled_can_send_one_record(inprocess: Telemetry, isolation: Env,
                                                              collector: Collector) -> None:
    """Genozip's --telemetry: one run's record, while its telemetry is otherwise off."""
    shipped = Path(__file__).resolve().parent.parent / "src" / "telemetry_gate" / "catalog" / "genozip.toml"
    folder = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    folder.mkdir(parents=True)
    (folder / "genozip.toml").write_bytes(shipped.read_bytes())
    inprocess("enable", "-p", "genozip")
    ids = _fill(1, "genozip")  # kept while it was enabled
    (isolation.config_dir / "settings.toml").unlink()  # back to its opt-in default
    check = json.loads(inprocess("check", "--json", "-p", "genozip").stdout)["products"]["genozip"]
    assert check["upload"]["enabled"] is False and check["collection"]["origin"] == "product default (opt-in)"
    assert "upload is disabled" in inprocess("send", "--endpoint", collector.url).stderr
    out = inprocess("send", ids[0], "--yes", "--endpoint", collector.url)
    assert out.exit_code == 0, out.stderr
    assert collector.accepted_ids() == ids


def test_a_rejected_record_can_be_chosen_too(inprocess: Telemetry, isolation: Env) -> None:
    from collector import Reply

    ids = _fill(3)
    with Collector([Reply(400, body=b'{"error": "bad"}')]) as refusing:
        out = inprocess("send", "--endpoint", refusing.url)
    assert out.exit_code == 5 and _pending(isolation) == set()
    rejected = json.loads(inprocess("inspect", "--rejected", "--json").stdout)
    assert sorted(r["id"] for r in rejected) == sorted(ids)
    with Collector() as accepting:
        out = inprocess("send", ids[2], "--yes", "--endpoint", accepting.url)
        assert out.exit_code == 0, out.stderr
        assert accepting.accepted_ids() == [ids[2]]
    left = json.loads(inprocess("inspect", "--rejected", "--json").stdout)
    assert sorted(r["id"] for r in left) == sorted(ids[:2])


def test_no_endpoint_or_ids_with_rejected_stop_before_anything_is_shown(inprocess: Telemetry,
                                                                       isolation: Env) -> None:
    ids = _fill(1)
    out = inprocess("send", ids[0], "--yes")
    assert out.exit_code == 2 and "no endpoint is configured for cellranger" in out.stderr and out.stdout == ""
    out = inprocess("send", ids[0], "--rejected", "--yes")
    assert out.exit_code == 2 and "record ids or --rejected, not both" in out.stderr
    assert _pending(isolation) == set(ids)
