"""Issue 14.1: everything we create is 0700/0600 whatever the umask, and a directory another
user could change is refused, never trusted."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in [root, *root.rglob("*")]}


@pytest.mark.script
def test_under_umask_000_every_directory_we_make_is_0700_and_every_file_0600(
        isolation: Env, telemetry: Telemetry, umask_000: None) -> None:
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("count", metrics={"n": 1}) is not None, rec.problem
    assert telemetry("disable", "update").exit_code == 0
    assert telemetry("send", "--endpoint", "http://127.0.0.1:9", "--dry-run").exit_code == 0
    made = {**{f".config/{k}": v for k, v in _modes(isolation.home / ".config").items()},
            **{f".local/{k}": v for k, v in _modes(isolation.home / ".local").items()}}
    dirs = {k: v for k, v in made.items() if (isolation.home / k).is_dir()}
    files = {k: v for k, v in made.items() if (isolation.home / k).is_file()}
    assert ".config/." in dirs and ".local/state/tenx/telemetry/spool/pending/cellranger" in dirs
    assert set(dirs.values()) == {"0o700"}, dirs
    assert files and set(files.values()) == {"0o600"}, files
    check = telemetry("check")
    assert check.exit_code == 0, check.stderr


def test_under_umask_000_the_system_directory_is_0755_parents_included(
        isolation: Env, inprocess: Telemetry, umask_000: None) -> None:
    assert inprocess("disable", "upload", "--system").exit_code == 0
    assert _modes(isolation.system_root) == {
        ".": "0o755", "tenx": "0o755", "tenx/telemetry": "0o755", "tenx/telemetry/disable_upload": "0o644",
        "profile.d": "0o755", "profile.d/telemetry-gate.sh": "0o644",  # the generated environment (issue 13)
        **{k: v for k, v in _modes(isolation.system_root).items() if "history" in k or "consent" in k}}


def _plant(env: Env, collector: Collector, mode: int) -> Path:
    """What another user does when ``~/.config/tenx`` is theirs to write: a telemetry/ of their own."""
    env.config_dir.mkdir(parents=True)
    (env.config_dir / "settings.toml").write_text(f'[telemetry]\nupload = true\nendpoint = "{collector.url}"\n')
    env.config_dir.parent.chmod(mode)
    return env.config_dir.parent


@pytest.mark.parametrize("mode", [0o775, 0o777, 0o770], ids=lambda mode: f"{mode:04o}")
def test_a_settings_directory_others_can_write_is_refused(isolation: Env, telemetry: Telemetry,
                                                          mode: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.policy import trust

    monkeypatch.setattr(trust, "group_members", lambda gid: frozenset({os.geteuid(), 4242}))  # a shared group
    with Collector() as collector:
        planted = _plant(isolation, collector, mode)
        out = telemetry("send", env={"TELEMETRY_ENDPOINT": collector.url})
        assert collector.connections == 0
    assert out.exit_code == 4
    group = grp.getgrgid(planted.stat().st_gid).gr_name
    assert out.stderr.splitlines()[0] == (
        f"telemetry: refusing to trust ~/.config/tenx: it can be changed by "
        f"{'everyone' if mode & 0o002 else f'its group {group}, which has other members'} (mode {mode:04o})")
    assert "chmod go-w ~/.config/tenx" in out.stderr and len(out.stderr.splitlines()) == 2
    assert telemetry("check").exit_code == 4
    assert planted.stat().st_mode & 0o777 == mode  # refused, not silently "fixed"


def test_the_library_collects_nothing_under_a_directory_others_can_write(isolation: Env) -> None:
    state = isolation.home / ".local" / "state"
    state.mkdir(parents=True)
    state.chmod(0o777)
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("count") is None and not rec.enabled
    assert "refusing to trust ~/.local/state" in (rec.problem or "")
    assert list(state.iterdir()) == []


def test_a_directory_owned_by_another_user_is_refused(isolation: Env, inprocess: Telemetry,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    isolation.config_dir.mkdir(parents=True, mode=0o700)
    if os.geteuid() == 0:
        os.chown(isolation.config_dir, 4242, 4242)
    else:  # only root can give a directory away: be someone else instead
        from telemetry_gate.policy import trust

        monkeypatch.setattr(trust.os, "geteuid", lambda: 4242)
    out = inprocess("check")
    assert out.exit_code == 4
    assert "refusing to trust ~/.config/tenx/telemetry: it belongs to" in out.stderr
    assert "not to you" in out.stderr


def test_a_world_writable_system_directory_is_refused(isolation: Env, inprocess: Telemetry) -> None:
    isolation.system_dir.mkdir(parents=True)
    (isolation.system_dir / "settings.toml").write_text('[telemetry]\nupload = true\n')
    isolation.system_dir.chmod(0o777)
    out = inprocess("check")
    assert out.exit_code == 4
    assert f"refusing to trust {isolation.system_dir}: it can be changed by everyone" in out.stderr
    isolation.system_dir.chmod(0o775)  # an administrators' group may share it
    assert inprocess("check").exit_code == 0
    (isolation.system_dir / "settings.toml").chmod(0o666)
    out = inprocess("check")
    assert out.exit_code == 4 and "settings.toml: it can be changed by everyone" in out.stderr


def test_a_sticky_shared_directory_above_ours_is_fine(isolation: Env, inprocess: Telemetry,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    shared = isolation.root / "scratch"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: nobody can rename what another user made in it
    monkeypatch.setenv("XDG_STATE_HOME", str(shared / "state"))
    assert Recorder("cellranger", "9.0.0").record("count") is not None
    assert inprocess("check").exit_code == 0
    assert stat.S_IMODE((shared / "state").stat().st_mode) == 0o700


@pytest.mark.parametrize("shared", [False, True], ids=["user", "system"])
def test_a_manifest_others_can_write_is_refused(isolation: Env, inprocess: Telemetry, shared: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.policy import trust

    monkeypatch.setattr(trust, "group_members", lambda gid: frozenset({os.geteuid(), 4242}))  # a shared group
    folder = (isolation.system_dir if shared else isolation.home / ".local" / "share" / "tenx" / "telemetry")
    folder = folder / "products.d"
    folder.mkdir(parents=True)
    manifest = folder / "cellranger.toml"
    manifest.write_text('[product]\nname = "cellranger"\nendpoint = "https://collector.example.org"\n')
    manifest.chmod(0o664)  # group-writable: refused in the user's directory, fine in the system's
    assert inprocess("check").exit_code == (0 if shared else 4)
    manifest.chmod(0o666)
    out = inprocess("check")
    assert out.exit_code == 4 and "cellranger.toml: it can be changed by everyone" in out.stderr
