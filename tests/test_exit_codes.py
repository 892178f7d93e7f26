"""Issue 14 item 18: every failure has its own documented code and one or two lines on stderr.
Internal errors 70 (EX_SOFTWARE), a failed ``update`` 6, a full disk 74, a read-only file system
4, a closed stdout 141 and quiet, bad values and options that cannot go together 2."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry, script_path
from telemetry_gate import Recorder
from telemetry_gate.errors import ExitCode
from telemetry_gate.spool.ids import new_id


def _fill(n: int) -> list[str]:
    rec = Recorder("cellranger", "9.0.0")
    ids = [rec.record("count", metrics={"n": i, "text": "x" * 200}) for i in range(n)]
    assert all(ids), rec.problem
    return ids  # type: ignore[return-value]


def _pending(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "spool" / "pending" / "cellranger"


def _one_or_two_lines(stderr: str) -> None:
    assert 1 <= len(stderr.strip().splitlines()) <= 2 and "Traceback" not in stderr, stderr


def test_an_internal_error_exits_70(inprocess: Telemetry, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.policy import status

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(status, "check", broken)
    out = inprocess("check")
    assert out.exit_code == ExitCode.SOFTWARE == 70 and "internal error: RuntimeError: a bug" in out.stderr
    _one_or_two_lines(out.stderr)


def test_a_failed_update_has_its_own_code(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    with Collector() as collector:
        (folder / "cellranger.toml").write_text(f'[product]\nname = "cellranger"\nversion = "9.0.0"\n'
                                                 f'config_url = "{collector.url}/missing.json"\n')
        out = inprocess("update")
    assert out.exit_code == ExitCode.UPDATE_INCOMPLETE == 6 and out.exit_code != ExitCode.UPLOAD_INCOMPLETE


def test_a_full_disk_is_one_clear_line(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate import fs

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fs, "write_all", full)
    out = inprocess("disable", "upload")
    assert out.exit_code == 74 and "no space left on the device" in out.stderr, out.stderr
    _one_or_two_lines(out.stderr)
    assert not (isolation.config_dir / "settings.toml").exists()


def test_a_read_only_spool_is_one_clear_line(inprocess: Telemetry, isolation: Env,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(2)
    real = os.unlink

    def read_only(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if "pending" in os.fspath(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", read_only)
    out = inprocess("purge", "--all", "--yes")
    assert out.exit_code == 4 and "read-only file system" in out.stderr, out.stderr
    _one_or_two_lines(out.stderr)


def test_inspect_json_into_head_is_quiet(isolation: Env) -> None:
    _fill(400)  # ~200 KB of JSON: more than a pipe holds
    proc = subprocess.Popen([script_path(), "inspect", "--all", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b"[")
    proc.stdout.close()  # what `head -c 100` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == ExitCode.BROKEN_PIPE == 141
    assert stderr == ""


@pytest.mark.parametrize("value", ["nan", "inf", "NaN"])
def test_send_timeout_that_is_not_a_number_of_seconds_is_a_usage_error(inprocess: Telemetry, value: str) -> None:
    _fill(1)
    with Collector() as collector:
        out = inprocess("send", "--endpoint", collector.url, "--timeout", value)
        assert collector.connections == 0
    assert out.exit_code == 2 and "--timeout" in out.stderr
    _one_or_two_lines(out.stderr)


@pytest.mark.parametrize(("args", "named"), [
    (["inspect", "--since", "3x"], "--since"),
    (["inspect", "--sent", "--since", "1y"], "--since"),
    (["purge", "--older-than", "3x", "--yes"], "--older-than"),
])
def test_a_bad_age_names_its_option(inprocess: Telemetry, args: list[str], named: str) -> None:
    out = inprocess(*args)
    assert out.exit_code == 2 and out.stderr.startswith(f"telemetry: {named}: ")
    _one_or_two_lines(out.stderr)


@pytest.mark.parametrize("args", [
    ["--sent", "--rejected"], ["--sent", "--catalog"], ["--rejected", "--catalog"], ["--limit", "3", "--all"],
    ["01M89", "--catalog"], ["01M89", "--sent"], ["--catalog", "--since", "7d"], ["--quarantine", "--json"],
    ["--saved", "--catalog"],
])
def test_options_that_cannot_go_together_are_refused(inprocess: Telemetry, args: list[str]) -> None:
    out = inprocess("inspect", *args)
    assert out.exit_code == 2 and "cannot be used together" in out.stderr, out.stderr
    _one_or_two_lines(out.stderr)


def test_inspect_a_bad_id_is_a_usage_error_and_a_broken_record_an_invalid_file(inprocess: Telemetry,
                                                                                isolation: Env) -> None:
    _fill(1)
    for bad in ("hello!", "0" * 27, "--"):
        out = inprocess("inspect", "--", bad)
        assert out.exit_code == 2 and "not a record id" in out.stderr, (bad, out.stderr)
    broken = new_id()
    (_pending(isolation) / f"{broken}.json").write_text('{"schema": 1, "id": ')
    out = inprocess("inspect", broken[:20])
    assert out.exit_code == 3 and broken in out.stderr and "internal error" not in out.stderr
    _one_or_two_lines(out.stderr)
    assert json.loads(inprocess("check", "--json").stdout)["spool"]["pending"] == 2
