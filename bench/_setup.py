"""What every bench script starts with: N from the command line, the installed console script,
and a fresh HOME with none of the caller's telemetry, proxy or bytecode settings."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

DROPPED = ("do_not_track", "http_proxy", "https_proxy", "all_proxy", "no_proxy", "pythondontwritebytecode")


def setup(prefix: str) -> tuple[int, str, str, dict[str, str]]:
    """(records, console script, home, environment); the environment is this process's too."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    n = parser.parse_args().records
    script = str(Path(sys.executable).parent / "telemetry")
    home = tempfile.mkdtemp(prefix=prefix)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEMETRY_", "TENX_", "XDG_")) and k.lower() not in DROPPED}
    env.update(HOME=home, TELEMETRY_SYSTEM_DIR=os.path.join(home, "etc"))
    os.environ.clear()
    os.environ.update(env)
    return n, script, home, env
