"""Issue 19 item 2: the recommended set-up (``telemetry shell-init bash >> ~/.bashrc``) does not
flood ``check``. The variables telemetry-gate's own shell files exported, and the files it wrote
ahead, are no sign that a product is installed; a shell opened before ``telemetry enable`` gets
one line saying so, not a drift line per variable. Real bash, the installed console script, an
isolated HOME with a PATH that holds no catalogued tool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import Env, script_path

HEADER = "PRODUCT"


def _bash(env: Env, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(script_path()).parent
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEMETRY_GATE_", "DO_NOT_TRACK"))}
    environ.update({"PATH": f"{bin_dir}:{_system_tools(env)}", "HOME": str(env.home), "COLUMNS": "200", **extra})
    return subprocess.run(["bash", "--rcfile", str(env.home / ".bashrc"), "-ic", script], capture_output=True,
                          text=True, env=environ, timeout=120)


def _system_tools(env: Env) -> Path:
    """A directory with the few system tools these shells use, and no catalogued tool: /usr/bin may
    hold one (gcloud, terraform), which telemetry-gate would rightly list as installed."""
    tools = env.root / "system-tools"
    if not tools.exists():
        tools.mkdir()
        for name in ("bash", "env", "cat", "sed", "grep"):
            found = shutil.which(name)
            if found:
                (tools / name).symlink_to(found)
    return tools


def _rows(stdout: str) -> list[str]:
    """The products named in check's table (the first column of each product's first line)."""
    lines = stdout.split("\n\n")[0].splitlines()[1:]
    return [line.split()[0] for line in lines if line[:1].strip()]


def test_a_new_shell_after_disable_lists_only_what_is_here(isolation: Env) -> None:
    telemetry = script_path()
    rc = isolation.home / ".bashrc"
    rc.write_text(subprocess.run([telemetry, "shell-init", "bash"], capture_output=True, text=True,
                                 check=True).stdout)
    out = subprocess.run([telemetry, "disable"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    installed = json.loads(_bash(isolation, "telemetry products --json").stdout)
    products = installed["products"] if isinstance(installed, dict) else installed
    assert not [p["name"] for p in products if p.get("installed")]
    shown = _bash(isolation, "telemetry check")
    assert shown.returncode == 0, shown.stderr
    # the vendor row and Cell Ranger, whose flag directory is the tenx settings directory: no
    # catalogued tool because this shell carries the variables telemetry-gate exported itself
    assert _rows(shown.stdout) == ["tenx", "cellranger"], shown.stdout
    assert len(shown.stdout.splitlines()) < 20


def test_a_shell_opened_before_enable_gets_one_line_not_a_drift_per_variable(isolation: Env) -> None:
    telemetry = script_path()
    (isolation.home / ".bashrc").write_text(
        subprocess.run([telemetry, "shell-init", "bash"], capture_output=True, text=True, check=True).stdout)
    assert subprocess.run([telemetry, "disable"], capture_output=True).returncode == 0
    # the old shell: it sourced the file while everything was off, then the user ran enable in it
    shown = _bash(isolation, "telemetry enable >/dev/null 2>&1; telemetry check")
    assert shown.returncode == 0, shown.stderr
    assert "drift:" not in shown.stdout
    stale = [line for line in shown.stdout.splitlines() if "this shell still carries" in line]
    assert len(stale) == 1 and "open a new shell (or exec $SHELL)" in stale[0], shown.stdout
    # a new shell carries nothing old
    assert "this shell still carries" not in _bash(isolation, "telemetry check").stdout
