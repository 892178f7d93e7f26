"""The first-run notice (issue 15): printed once per product and user, only when stderr is a
terminal - tested under a real pseudo-terminal and without one - never raising, never blocking."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Env
from telemetry_gate import Recorder

NOTICE = "keeps telemetry records on this machine"
PROGRAM = """
import sys
from telemetry_gate import Recorder
rec = Recorder(sys.argv[1], "1.0")
for n in range(3):
    assert rec.record("run", metrics={"n": n}) is not None, rec.problem
print("done", flush=True)
"""


def _marker(env: Env, product: str = "cellranger") -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "notices" / product


def _start_on_a_pty(product: str, path: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """The host program with its stderr (and stdout) on the follower side of a real pty;
    ``path``: its ``PATH``."""
    leader, follower = pty.openpty()
    env = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM, product], stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower, close_fds=True, env=env)
    os.close(follower)
    return proc, leader


def _read_all(proc: subprocess.Popen[bytes], leader: int) -> str:
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=60) == 0, seen
    return seen.decode("utf-8", "replace")


def test_on_a_terminal_the_first_record_prints_the_notice_once(isolation: Env) -> None:
    seen = _read_all(*_start_on_a_pty("cellranger"))
    assert seen.count(NOTICE) == 1 and "done" in seen  # three records, one notice
    assert "telemetry inspect --catalog -p cellranger" in seen and "telemetry disable -p cellranger" in seen
    assert _marker(isolation).exists() and oct(_marker(isolation).stat().st_mode & 0o777) == "0o600"
    seen = _read_all(*_start_on_a_pty("cellranger"))
    assert NOTICE not in seen and "done" in seen  # the same user, the second run: silent
    seen = _read_all(*_start_on_a_pty("stripepy"))
    assert seen.count(NOTICE) == 1 and "-p stripepy" in seen  # per product


def test_without_the_command_on_path_the_notice_names_the_package(isolation: Env, tmp_path: Path) -> None:
    empty = tmp_path / "bin-without"
    empty.mkdir()
    seen = _read_all(*_start_on_a_pty("cellranger", str(empty)))  # a program that embeds only the library
    assert seen.count(NOTICE) == 1
    assert "No telemetry command here: python3 -m pip install telemetry-gate" in seen
    assert "DO_NOT_TRACK=1" in seen
    with_command = tmp_path / "bin-with"
    with_command.mkdir()
    script = with_command / "telemetry"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    seen = _read_all(*_start_on_a_pty("stripepy", str(with_command)))
    assert seen.count(NOTICE) == 1 and "pip install" not in seen


def test_two_processes_at_once_print_it_once(isolation: Env) -> None:
    started = [_start_on_a_pty("cellranger") for _ in range(4)]
    outputs = [_read_all(proc, leader) for proc, leader in started]
    assert sum(out.count(NOTICE) for out in outputs) == 1


def test_without_a_terminal_nothing_is_printed_and_no_marker_is_made(isolation: Env) -> None:
    proc = subprocess.run([sys.executable, "-c", PROGRAM, "cellranger"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == "done\n"
    assert not _marker(isolation).exists()  # the notice waits for a person to see it


def test_a_manifest_can_turn_it_off(isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.mkdir(parents=True)
    (folder / "quiet.toml").write_text('[product]\nname = "quiet"\nnotice = false\n')
    seen = _read_all(*_start_on_a_pty("quiet"))
    assert NOTICE not in seen and "done" in seen and not _marker(isolation, "quiet").exists()


def test_asked_once_per_recorder_not_per_record(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    leader, follower = pty.openpty()
    terminal = os.fdopen(follower, "w")  # a real terminal as this process's stderr
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        rec = Recorder("cellranger", "1.0")
        assert rec.record("a")
        assert _marker(isolation).exists() and NOTICE in os.read(leader, 65536).decode()
        _marker(isolation).unlink()
        assert rec.record("b") and rec.record("c")
        assert not _marker(isolation).exists()  # the same Recorder does not look again
        assert Recorder("cellranger", "1.0").record("d")
        assert _marker(isolation).exists()  # a new Recorder (a new run) does
    finally:
        monkeypatch.undo()
        terminal.close()
        os.close(leader)


def test_a_marker_that_cannot_be_made_never_breaks_the_host(isolation: Env) -> None:
    state = isolation.home / ".local" / "state" / "tenx" / "telemetry"
    state.mkdir(parents=True)
    (state / "notices").write_text("a file where the folder should be")
    seen = _read_all(*_start_on_a_pty("cellranger"))
    assert "done" in seen and NOTICE not in seen and "Traceback" not in seen


def test_the_markers_folder_is_private_whatever_the_umask(isolation: Env) -> None:
    old = os.umask(0)
    try:
        seen = _read_all(*_start_on_a_pty("cellranger"))
    finally:
        os.umask(old)
    assert NOTICE in seen
    for folder in (_marker(isolation).parent, _marker(isolation).parent.parent):
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
