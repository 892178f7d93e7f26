"""Issue 19 item 3: a directory writable by a group whose only member is its owner (the
user-private group that umask 002 gives every file on Fedora and RHEL) is as safe as 0755;
a group anyone else belongs to, and a world-writable directory without the sticky bit, are
still refused. Real directories and modes; the group tables are fakes handed to the lookup."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder
from telemetry_gate.errors import UnsafePermissions
from telemetry_gate.policy import trust

ME = os.geteuid()
OTHER = 4242  # another account (no such user exists: the tables below are fakes)


def _tables(groups: dict[int, list[str]], users: list[tuple[str, int, int]]) -> trust.Members:
    """``trust.group_members`` reading these tables instead of /etc/group and /etc/passwd."""
    def group(gid: int) -> list[str]:
        return groups[gid]  # KeyError: no such group

    return functools.partial(trust.group_members, group=group, users=lambda: users)


def _config(env: Env, mode: int) -> Path:
    """``~/.config`` as umask 002 leaves it: ``mode``, group = the directory's real group."""
    config = env.home / ".config"
    config.mkdir(mode=0o700)
    config.chmod(mode)
    return config


@pytest.fixture
def umask_002() -> Iterator[None]:
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _use(monkeypatch: pytest.MonkeyPatch, members: Callable[[int], frozenset[int] | None]) -> None:
    monkeypatch.setattr(trust, "group_members", members)  # what every command and the Recorder ask


def test_a_private_group_writable_config_lets_every_command_work(
        isolation: Env, inprocess: Telemetry, monkeypatch: pytest.MonkeyPatch, umask_002: None) -> None:
    config = _config(isolation, 0o775)
    gid = config.stat().st_gid
    _use(monkeypatch, _tables({gid: []}, [("me", ME, gid), ("daemon", 1, 1)]))
    out = inprocess("disable", "upload")
    assert out.exit_code == 0, out.stderr
    assert inprocess("check", "upload", "--quiet").exit_code == 1  # written and read back
    rec = Recorder("cellranger", "9.0.0")
    assert rec.record("count") is not None, rec.problem
    assert inprocess("check").exit_code == 0
    assert config.stat().st_mode & 0o777 == 0o775  # trusted as it is, not changed
    assert (isolation.config_dir / "settings.toml").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("table", ["listed", "primary"])
def test_a_group_another_account_belongs_to_is_refused(
        isolation: Env, inprocess: Telemetry, monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    config = _config(isolation, 0o775)
    gid = config.stat().st_gid
    users = [("me", ME, gid), ("lab", OTHER, gid if table == "primary" else 9999)]
    _use(monkeypatch, _tables({gid: ["lab"] if table == "listed" else []}, users))
    with Collector() as collector:
        config.joinpath("tenx", "telemetry").mkdir(parents=True)
        config.joinpath("tenx", "telemetry", "settings.toml").write_text(
            f'[telemetry]\nupload = true\nendpoint = "{collector.url}"\n')
        out = inprocess("send")
        assert collector.connections == 0
    assert out.exit_code == 4
    first = out.stderr.splitlines()[0]
    assert first.startswith("telemetry: refusing to trust ~/.config: it can be changed by its group ")
    assert first.endswith(", which has other members (mode 0775)")
    assert "chmod go-w ~/.config" in out.stderr
    assert Recorder("cellranger", "9.0.0").record("count") is None


def test_world_writable_is_refused_whatever_the_group(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(isolation, 0o777)
    members = _tables({config.stat().st_gid: []}, [("me", ME, config.stat().st_gid)])
    with pytest.raises(UnsafePermissions, match=r"changed by everyone \(mode 0777\)"):
        trust.check(isolation.paths, members)
    config.chmod(0o1777)  # sticky: nobody can rename what the user made in it
    trust.check(isolation.paths, members)


@pytest.mark.parametrize("listed, users", [
    (None, [("me", ME, 0)]),  # the group is unknown
    (["ghost"], [("me", ME, 0)]),  # a listed member no account has
    ([], [("daemon", 1, 1)]),  # the account list does not show me: not every account is listed
], ids=["unknown-group", "unknown-member", "not-enumerated"])
def test_members_that_cannot_be_known_count_as_others(
        isolation: Env, listed: list[str] | None, users: list[tuple[str, int, int]]) -> None:
    config = _config(isolation, 0o770)
    gid = config.stat().st_gid
    members = _tables({} if listed is None else {gid: listed}, users)
    assert members(gid) is None
    with pytest.raises(UnsafePermissions, match="whose members cannot all be listed"):
        trust.check(isolation.paths, members)


def test_root_in_the_group_changes_nothing(isolation: Env) -> None:
    """root can change any directory anyway: a group of the owner and root is still private."""
    config = _config(isolation, 0o775)
    gid = config.stat().st_gid
    trust.check(isolation.paths, _tables({gid: ["root"]}, [("root", 0, 0), ("me", ME, gid)]))


def test_a_group_writable_directory_of_another_owner_is_still_refused(isolation: Env) -> None:
    state = isolation.home / ".local" / "state"
    state.mkdir(parents=True)
    state.chmod(0o775)
    os.chown(state, OTHER, -1)  # root here: give it away
    gid = state.stat().st_gid
    with pytest.raises(UnsafePermissions, match="belongs to user id 4242, not to you"):
        trust.check(isolation.paths, _tables({gid: []}, [("me", ME, 0), ("lab", OTHER, gid)]))


def test_the_system_tables_list_me_in_my_own_group() -> None:
    found = trust.group_members(os.getegid())
    assert found is not None and ME in found
