"""Issue 14.7: what the scrubber must catch (URL credentials, tokens, the real home behind a
link) and must leave alone (a generic account name), and credentials kept out of the audit log."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.spool.records import Scrubber


@pytest.fixture
def scrubber() -> Scrubber:
    return Scrubber(home="/home/zoe", user="zoe", host="zoe.lab.example")


@pytest.mark.parametrize(("text", "expected"), [
    ("https://bob:hunter2@intranet:8443/v1", "https://intranet:8443/v1"),
    ("git clone https://bob:hunter2@intranet/repo.git", "git clone https://intranet/repo.git"),
    ("http://bob@[::1]:4318", "http://[<ip>]:4318"),
    ("postgres://svc:s3cr%40t@db.internal.example.org:5432/x", "postgres://db.internal.example.org:5432/x"),
    ("https://bob:hunter2@10.1.2.3/", "https://<ip>/"),
])
def test_url_credentials_are_removed_whatever_the_host(scrubber: Scrubber, text: str, expected: str) -> None:
    assert scrubber.text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("aws key AKIAIOSFODNN7EXAMPLE used", "aws key <secret> used"),
    ("ASIAY34FZKBOKMUTVV7A", "<secret>"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
     "Authorization: Bearer <secret>"),
    ("token=ghp_16C7e42F292c6912E7710c838347Ae178B4a", "token=<secret>"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "<secret>"),
    ("GITLAB_TOKEN glpat-xxxxXXXX1234yyyyZZZZ", "GITLAB_TOKEN <secret>"),
    ("slack xoxb-123456789012-abcdefABCDEF", "slack <secret>"),
    ("OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "OPENAI_API_KEY=<secret>"),
])
def test_credential_looking_tokens_become_a_placeholder(scrubber: Scrubber, text: str, expected: str) -> None:
    assert scrubber.text(text) == expected


@pytest.mark.parametrize("text", ["bearer of bad news", "task-scheduler-v2", "sk-learn", "AKIA", "ghp_short",
                                  "SC3Pv3", "GRCh38-2020-A", "include_introns"])
def test_ordinary_words_are_not_taken_for_tokens(scrubber: Scrubber, text: str) -> None:
    assert scrubber.text(text) == text


def test_the_real_path_behind_a_symlinked_home_is_scrubbed(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    real = isolation.root / "real-home"
    isolation.home.rename(real)
    isolation.home.symlink_to(real)  # HOME is a link; programs often print the resolved path
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("x", metrics={"ref": f"{real}/refs/GRCh38", "out": f"{isolation.home}/runs/1"}), rec.problem
    [path] = (real / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "cellranger").glob("*.json")
    metrics = json.loads(path.read_bytes())["metrics"]
    assert metrics == {"ref": "<home>/refs/GRCh38", "out": "<home>/runs/1"}


def _account(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    import pwd

    for variable in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_name=name))


def test_with_user_unset_a_generic_account_name_is_not_scrubbed_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    _account(monkeypatch, "root")
    scrubber = Scrubber(home="/root", host="")
    assert scrubber.text("root cause: tree root not found") == "root cause: tree root not found"
    assert scrubber.text("/root/data") == "<home>/data"


def test_with_user_unset_the_account_name_comes_from_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    _account(monkeypatch, "alice")
    assert Scrubber(home="/home/alice", host="").text("run by alice") == "run by <user>"


def test_a_user_name_shorter_than_three_characters_is_not_scrubbed() -> None:
    assert Scrubber(home="/home/jd", user="jd", host="").text("jd ran in /home/jd/x") == "jd ran in <home>/x"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def test_endpoint_credentials_never_reach_the_audit_log(isolation: Env, inprocess: Telemetry,
                                                       collector: Collector) -> None:
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("count")
    endpoint = collector.url.replace("http://", "http://bob:hunter2@")
    out = inprocess("send", "--endpoint", endpoint)
    assert out.exit_code == 0, out.stderr
    assert collector.requests[0].headers.get("Authorization", "").startswith("Basic ")  # still used
    sent = isolation.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "sent"
    audit = "".join(p.read_text() for p in sent.glob("*.jsonl"))
    assert audit and "hunter2" not in audit and "bob" not in audit
    assert json.loads(audit.splitlines()[0])["endpoint"] == f"{collector.url}/v1/logs"
    shown = inprocess("inspect", "--sent")
    for text in (out.stderr, out.stdout, shown.stdout):
        assert "hunter2" not in text
    assert os.fspath(collector.url) in shown.stdout
