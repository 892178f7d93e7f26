"""Every test runs in its own HOME, XDG directories and system directory, with no
telemetry-related variable inherited from the machine (hatch ``tests/conftest.py``)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from telemetry_gate.cli.app import app
from telemetry_gate.policy.paths import Paths

_PREFIXES = ("TELEMETRY_", "TENX_", "ACME_", "XDG_", "STRIPEPY_", "RUBRIX_")
_NAMES = ("DO_NOT_TRACK", "NO_COLOR", "FORCE_COLOR", "SSL_CERT_FILE", "HTTP_PROXY", "HTTPS_PROXY",
          "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class Env:
    root: Path
    home: Path
    system_root: Path

    @property
    def paths(self) -> Paths:
        return Paths.for_vendor("tenx")

    @property
    def system_dir(self) -> Path:
        return self.system_root / "tenx" / "telemetry"

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "tenx" / "telemetry"

    @property
    def spool(self) -> Path:
        return self.home / ".local" / "state" / "tenx" / "telemetry" / "spool"

    def pending(self, product: str = "cellranger") -> dict[str, bytes]:
        """The product's pending records, id -> bytes as stored, oldest first."""
        folder = self.spool / "pending" / product
        return {p.stem: p.read_bytes() for p in sorted(folder.glob("*.json"))} if folder.exists() else {}

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file under the test's root with its size and mtime: a snapshot to compare."""
        out = {}
        for path in self.root.rglob("*"):
            st = path.lstat()
            out[str(path)] = (st.st_size, st.st_mtime_ns)
        return out


@functools.cache
def _catalogued_variables() -> frozenset[str]:
    """Every variable a shipped manifest reads (the machine running the tests, a developer's rc
    file, may carry some of them): no test inherits one."""
    from telemetry_gate.policy.manifests import SHIPPED, parse

    return frozenset(s.variable for path in SHIPPED.glob("*.toml")
                     for s in parse(path.read_bytes(), str(path)).native if s.kind == "env")


@pytest.fixture(autouse=True)
def isolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _NAMES or name in _catalogued_variables():
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    system_root = tmp_path / "etc"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("TELEMETRY_SYSTEM_DIR", str(system_root))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    _only_tools_the_test_installs(tmp_path, monkeypatch)
    return Env(tmp_path, home, system_root)


def _only_tools_the_test_installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogued tool is "installed" when a test puts it on PATH under its tmp_path, never because
    this machine has it (gcloud and terraform are in /usr/bin here): the machine's PATH stays for
    bash, zsh and the rest, but product detection looks only at the test's own directories."""
    from telemetry_gate.native import products
    from telemetry_gate.policy.own import detect

    real = detect.installed

    def installed(rules: detect.Detect, environ: Mapping[str, str], *args: Any) -> bool:
        own = os.pathsep.join(d for d in environ.get("PATH", "").split(os.pathsep) if d.startswith(str(tmp_path)))
        return real(rules, {**environ, "PATH": own}, *args)

    monkeypatch.setattr(detect, "installed", installed)
    monkeypatch.setattr(products, "installed", installed)


def install_tools(isolation: Env, *names: str) -> dict[str, str]:
    """Fake executables on PATH, what ``[detect] executables`` looks for: the environment to pass."""
    bin_dir = isolation.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def bash_env(script: str) -> dict[str, str]:
    """The environment a new bash has after ``script``, with the installed console script first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", f"{script}; env -0"], capture_output=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pairs = (item.decode().split("=", 1) for item in proc.stdout.split(b"\0") if b"=" in item)
    return {name: value for name, value in pairs}


def fill(n: int, product: str = "cellranger", event: str = "count", version: str = "9.0.0") -> list[str]:
    """Keep ``n`` records through the library (metrics ``{"n": i}``); their ids, oldest first."""
    from telemetry_gate import Recorder

    rec = Recorder(product, version)
    ids = [rec.record(event, metrics={"n": i}) for i in range(n)]
    assert all(ids), rec.problem
    return ids  # type: ignore[return-value]


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


class Telemetry:
    """Runs ``telemetry ARGS``: in-process through CliRunner, or as the installed script."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Outcome:
        if self.mode == "inprocess":
            result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
            return Outcome(result.exit_code, result.stdout, result.stderr)
        proc = subprocess.run(
            [script_path(), *args], capture_output=True, text=True, input=input,
            env={**os.environ, **(env or {})}, timeout=60,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


def script_path() -> str:
    """The console script installed beside this interpreter (a missing one fails the test)."""
    candidate = Path(sys.executable).parent / "telemetry"
    assert candidate.exists(), f"the console script is not installed at {candidate}"
    return str(candidate)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "script: a smoke test that also runs `telemetry` as the installed script (a real process: "
        "exit codes, umask, no terminal); other tests using the `telemetry` fixture run in-process only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "telemetry" in metafunc.fixturenames:
        modes = ["inprocess", "script"] if metafunc.definition.get_closest_marker("script") else ["inprocess"]
        metafunc.parametrize("telemetry", modes, indirect=True)


@pytest.fixture
def telemetry(request: pytest.FixtureRequest) -> Telemetry:
    """``telemetry ARGS`` in-process; also as the installed script for tests marked ``script``."""
    return Telemetry(request.param)


@pytest.fixture
def inprocess() -> Telemetry:
    return Telemetry("inprocess")


@pytest.fixture
def unwritable(tmp_path: Path) -> Path:
    """A directory in which nothing can be created, for root as for anyone else."""
    if os.geteuid() == 0:
        return Path("/sys/telemetry-gate-test")  # sysfs refuses mkdir even to root
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked / "inside"
