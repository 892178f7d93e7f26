"""A product depends on the recording library alone (``lib/pyproject.toml``): installed into a
clean virtual environment it brings platformdirs and nothing of the command, and records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Env

ROOT = Path(__file__).resolve().parent.parent
COMMAND_ONLY = ("typer", "click", "rich", "httpx", "tomli_w", "tomlkit", "ruamel")

_CHILD = """
import importlib.metadata, importlib.util, json, sys
from telemetry_gate import Recorder
rec = Recorder("cellranger", "9.0.0")
with rec.run("count", params={"chemistry": "SC3Pv3"}) as run:
    run.metric("reads_total", 5)
print(json.dumps({
    "distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
    "importable": [m for m in %(command_only)r if importlib.util.find_spec(m) is not None],
    "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(%(command_only)r)),
    "file": sys.modules["telemetry_gate"].__file__,
    "problem": rec.problem,
}))
"""


def test_the_library_installs_alone_with_platformdirs_and_records(tmp_path: Path, isolation: Env) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(ROOT / "lib")],
        capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    child = subprocess.run([str(python), "-c", _CHILD % {"command_only": COMMAND_ONLY}],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    assert seen["distributions"] == ["platformdirs", "telemetry-gate-lib"]
    assert seen["importable"] == [] and seen["loaded"] == []
    assert Path(seen["file"]).is_relative_to(venv) and seen["problem"] is None
    assert not (venv / "bin" / "telemetry").exists()
    [record] = (isolation.paths.spool / "pending" / "cellranger").iterdir()
    assert json.loads(record.read_bytes())["metrics"]["reads_total"] == 5
