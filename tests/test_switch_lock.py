"""``enable``/``disable`` at once (issue 20 item 5): each whole switch - settings, the products'
own files, the generated environment files, the history - holds the user's lock, so parallel
commands take turns and none loses what another wrote; symlinked XDG directories work."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import Env, Telemetry, script_path
from telemetry_gate.native import switching
from telemetry_gate.policy.catalogue import discover
from telemetry_gate.policy.paths import Paths


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([script_path(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_twelve_parallel_disables_keep_every_product(isolation: Env) -> None:
    products = sorted(discover(Paths.for_vendor("tenx")).manifests)[:12]
    assert len(products) == 12
    _finish([_start("disable", "update", "-p", name) for name in products])
    settings = tomllib.loads((isolation.config_dir / "settings.toml").read_text())
    assert settings["products"] == {name: {"update": False} for name in products}
    history = [json.loads(line) for line in (isolation.paths.state_dir / "history.jsonl").read_text().splitlines()]
    assert sorted(entry["product"] for entry in history) == products


def _profile(isolation: Env) -> Path:
    return isolation.home / ".piperider" / "profile.yml"


def _generated(isolation: Env) -> dict[str, bytes | None]:
    """The products' own files and the generated environment files, as they are now."""
    files = [isolation.config_dir / "disable", _profile(isolation), isolation.config_dir / "env.sh",
             isolation.config_dir / "env.fish", isolation.home / ".config/environment.d/60-telemetry-gate.conf"]
    return {str(p): p.read_bytes() if p.exists() else None for p in files}


def test_enable_and_disable_at_once_leave_the_files_agreeing(inprocess: Telemetry, isolation: Env) -> None:
    _profile(isolation).parent.mkdir()
    _profile(isolation).write_text("user_id: a\nanonymous_tracking: true\n")
    for _ in range(2):  # without the lock, 4 of 5 rounds disagreed here
        _finish([_start(verb) for _ in range(5) for verb in ("enable", "disable")])
        on = tomllib.loads((isolation.config_dir / "settings.toml").read_text())["telemetry"]["collection"]
        report = json.loads(inprocess("check", "--json").stdout)
        assert report["facets"]["collection"]["enabled"] is on
        for name in ("cellranger", "piperider"):
            assert report["products"][name]["collection"]["enabled"] is on, name
            assert all(switch["agrees"] for switch in report["products"][name]["native"]), name
        assert (isolation.config_dir / "disable").exists() is not on
        assert ("anonymous_tracking: true" in _profile(isolation).read_text()) is on
        off_line = next(line for line in (isolation.config_dir / "env.sh").read_text().splitlines()
                        if line.startswith("# off: "))
        assert (off_line == "# off: (none)") is on
        # whichever came last, its files are whole: doing it once more, alone, changes none of them
        files = _generated(isolation)
        assert inprocess("enable" if on else "disable").exit_code == 0
        assert _generated(isolation) == files


def test_a_held_lock_is_waited_for_then_refused_with_nothing_written(
        inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.fs import locked

    monkeypatch.setattr(switching, "LOCK_WAIT", 0.2)
    lock = switching.lock_file(isolation.paths)
    with locked(lock):  # another enable/disable (here: this process, through its own open file)
        out = inprocess("disable")
    assert out.exit_code == 74
    assert out.stderr.splitlines() == [
        f"telemetry: another telemetry enable or disable (process {os.getpid()}) still holds {lock} after 0.2 s; "
        "nothing was changed",
        "  wait for it to finish, then run the command again"]
    assert [p.name for p in isolation.config_dir.iterdir()] == [".switch.lock"]
    assert oct(lock.stat().st_mode & 0o777) == oct(0o600)
    assert inprocess("disable").exit_code == 0  # released with the block


def test_dry_run_takes_no_lock(inprocess: Telemetry, isolation: Env) -> None:
    assert inprocess("disable", "--dry-run").exit_code == 0
    assert not isolation.config_dir.exists() and not isolation.paths.state_dir.exists()


# -- symlinked XDG directories (dotfile managers) ------------------------------------------------

def test_disable_writes_through_a_symlinked_environment_d(inprocess: Telemetry, isolation: Env) -> None:
    dotfiles = isolation.root / "dotfiles" / "environment.d"
    dotfiles.mkdir(parents=True)
    link = isolation.home / ".config" / "environment.d"
    link.parent.mkdir()
    link.symlink_to(dotfiles)
    out = inprocess("disable")
    assert out.exit_code == 0, out.stderr
    assert "wrote ~/.config/environment.d/60-telemetry-gate.conf" in out.stderr
    assert link.is_symlink()  # the link stays a link; the file is in the repository
    assert "STRIPEPY_NO_TELEMETRY=1" in (dotfiles / "60-telemetry-gate.conf").read_text().splitlines()
    assert (isolation.config_dir / "env.sh").exists() and (isolation.config_dir / "disable").exists()
    assert inprocess("enable").exit_code == 0


def test_symlinked_config_and_state_directories_work(inprocess: Telemetry, isolation: Env) -> None:
    # ~/.config/tenx/telemetry and ~/.local/state/tenx/telemetry, each a link; one not made yet
    config = isolation.root / "dotfiles" / "telemetry"
    config.mkdir(parents=True)
    state = isolation.root / "dotfiles" / "state-not-made-yet"
    for place, target in ((isolation.config_dir, config), (isolation.paths.state_dir, state)):
        place.parent.mkdir(parents=True)
        place.symlink_to(target)
    out = inprocess("disable", "upload", "-p", "cellranger")
    assert out.exit_code == 0, out.stderr
    assert tomllib.loads((config / "settings.toml").read_text()) == {"products": {"cellranger": {"upload": False}}}
    assert (config / "disable_upload").exists() and (config / "env.sh").exists()
    assert json.loads((state / "history.jsonl").read_text())["product"] == "cellranger"
    assert oct(state.stat().st_mode & 0o777) == oct(0o700)
    assert isolation.config_dir.is_symlink() and isolation.paths.state_dir.is_symlink()


def test_a_link_to_a_directory_everyone_can_write_is_refused(inprocess: Telemetry, isolation: Env) -> None:
    shared = isolation.root / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link = isolation.home / ".config" / "environment.d"
    link.parent.mkdir()
    link.symlink_to(shared)
    out = inprocess("disable")
    assert out.exit_code == 4
    assert out.stderr.splitlines() == [
        f"telemetry: {link} leads to {shared}, which another user can change; refusing to follow it; "
        "nothing was changed", f"  make it yours and private: chmod go-w {shared}"]
    assert list(shared.iterdir()) == []
    # checked before the first write: nothing half done (only the lock file is there)
    assert [p.name for p in isolation.config_dir.iterdir()] == [".switch.lock"]


def test_the_spool_still_refuses_a_link(isolation: Env) -> None:
    from telemetry_gate.errors import PermissionDenied
    from telemetry_gate.fs import ensure_dir

    elsewhere = isolation.root / "elsewhere"
    elsewhere.mkdir()
    link = isolation.root / "pending"
    link.symlink_to(elsewhere)
    with pytest.raises(PermissionDenied, match="is a symbolic link; refusing to use it"):
        ensure_dir(link)
    assert ensure_dir(link, follow=True) == elsewhere


def test_shell_init_writes_the_environment_files_under_the_lock(inprocess: Telemetry, isolation: Env,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.fs import locked

    monkeypatch.setattr(switching, "SHELL_INIT_WAIT", 0.2)
    with locked(switching.lock_file(isolation.paths)):  # a disable at work: its files are not overwritten
        out = inprocess("shell-init", "bash")
    assert out.exit_code == 0  # the line is printed all the same: the shell starts
    assert out.stdout.startswith("if [ -r ")
    assert out.stderr.splitlines()[0].startswith("warning: a telemetry enable or disable (process ")
    assert not (isolation.config_dir / "env.sh").exists()
    assert inprocess("shell-init", "bash").exit_code == 0
    assert (isolation.config_dir / "env.sh").exists()
