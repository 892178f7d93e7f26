"""Issue 14 item 14: only a missing ``pending/`` or ``products.d/`` is empty; one that exists but
cannot be read is an error: ``check`` says so, ``purge`` refuses, ``send`` reports it and
connects nowhere, and the Recorder collects nothing while a manifest directory cannot be read
(a product's opt-out variable may be declared in it).

The tests run as root here, and root reads a directory whatever its mode, so EACCES cannot be
produced with chmod. Two faults stand in for it: a file where the directory should be (ENOTDIR,
real, also in a subprocess), and ``os.scandir``/``os.listdir`` made to raise PermissionError for
that one path, in-process (monkeypatch): the code under test handles both the same way."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collector import Collector
from conftest import Env, Telemetry
from telemetry_gate import Recorder


def _spool(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "spool"


def _fill(n: int, product: str = "cellranger") -> None:
    rec = Recorder(product, "9.0.0")
    assert all(rec.record("count", metrics={"n": i}) for i in range(n)), rec.problem


def _deny(monkeypatch: pytest.MonkeyPatch, name: str, path: Path) -> None:
    """``os.<name>(path)`` raises EACCES, as for a user without read permission."""
    real: Callable[..., Any] = getattr(os, name)

    def denied(target: Any = ".", *args: Any, **kwargs: Any) -> Any:
        if os.fspath(target) == os.fspath(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, name, denied)


def _check_says_unknown(telemetry: Telemetry) -> None:
    out = telemetry("check")
    assert out.exit_code == 0 and "Spool: unknown (cannot read" in out.stdout, out.stdout
    data = json.loads(telemetry("check", "--json").stdout)
    assert data["spool"]["unreadable"] and any("cannot read" in n for n in data["notes"])


def test_a_file_where_pending_should_be_is_not_an_empty_spool(telemetry: Telemetry, isolation: Env) -> None:
    _fill(1)
    pending = _spool(isolation) / "pending"
    hidden = _spool(isolation) / "elsewhere"
    pending.rename(hidden)
    pending.write_text("not a directory")
    _check_says_unknown(telemetry)
    out = telemetry("purge", "--all", "--yes")
    assert out.exit_code == 4 and "cannot read" in out.stderr and pending.read_text() == "not a directory"
    with Collector() as collector:
        out = telemetry("send", "--endpoint", collector.url)
        assert collector.connections == 0
    assert out.exit_code == 4 and "cannot read" in out.stderr
    assert telemetry("inspect").exit_code == 4


def test_an_unreadable_pending_directory(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(2)
    _deny(monkeypatch, "scandir", _spool(isolation) / "pending")
    _check_says_unknown(inprocess)
    out = inprocess("purge", "--all", "--yes")
    assert out.exit_code == 4 and "Permission denied" in out.stderr and "Deleted" not in out.stderr
    monkeypatch.undo()
    assert len(list((_spool(isolation) / "pending" / "cellranger").iterdir())) == 2


def test_an_unreadable_product_directory(inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(2)
    _deny(monkeypatch, "scandir", _spool(isolation) / "pending" / "cellranger")
    _check_says_unknown(inprocess)
    assert inprocess("purge", "--product", "cellranger", "--yes").exit_code == 4
    with Collector() as collector:
        out = inprocess("send", "--endpoint", collector.url)
        assert collector.connections == 0
    assert out.exit_code == 4 and "cannot read" in out.stderr


def _declare_opt_out(env: Env, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labtool.toml").write_text('[product]\nname = "labtool"\n\n[[product.env]]\n'
                                         'name = "LABTOOL_NO_TELEMETRY"\n')


def test_an_unreadable_manifest_directory_means_nothing_is_collected(
        inprocess: Telemetry, isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    user_dir = isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d"
    _declare_opt_out(isolation, user_dir)
    monkeypatch.setenv("LABTOOL_NO_TELEMETRY", "1")
    assert Recorder("labtool", "1.0").record("run") is None  # readable: the variable is obeyed
    _deny(monkeypatch, "listdir", user_dir)
    rec = Recorder("labtool", "1.0")
    assert rec.record("run") is None and not rec.enabled  # unreadable: its variable is unknown
    assert Recorder("cellranger", "9.0.0").record("count") is None  # any product's manifest could be there
    notes = "\n".join(json.loads(inprocess("check", "--json").stdout)["notes"])
    assert f"{user_dir}: cannot read this manifest directory: Permission denied" in notes
    assert not (_spool(isolation) / "pending").exists()


def test_a_file_where_products_d_should_be(inprocess: Telemetry, isolation: Env) -> None:
    folder = isolation.system_dir / "products.d"
    folder.parent.mkdir(parents=True)
    folder.write_text("not a directory")
    assert Recorder("cellranger", "9.0.0").record("count") is None
    notes = "\n".join(json.loads(inprocess("check", "--json").stdout)["notes"])
    assert f"{folder}: cannot read this manifest directory" in notes


def test_a_missing_directory_is_still_empty(inprocess: Telemetry, isolation: Env) -> None:
    out = inprocess("check", "--json")
    assert json.loads(out.stdout)["spool"] == {"pending": 0, "bytes": 0, "dropped": 0, "oldest": None,
                                               "rejected": 0, "unreadable": None}
    assert Recorder("cellranger", "9.0.0").record("count") is not None
