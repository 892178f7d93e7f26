"""What every bench script starts with: N from the command line, the installed console script,
a fresh HOME with none of the caller's telemetry, proxy or bytecode settings; and the two
things every table ends with: the machine it ran on and a figure's range over runs."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

DROPPED = ("do_not_track", "http_proxy", "https_proxy", "all_proxy", "no_proxy", "pythondontwritebytecode")


def setup(prefix: str, runs: int = 3) -> tuple[int, int, str, str, dict[str, str]]:
    """(records, runs, console script, home, environment); the environment is this process's too."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=runs, help="repeat each measure; the range is printed")
    args = parser.parse_args()
    script = str(Path(sys.executable).parent / "telemetry")
    home = tempfile.mkdtemp(prefix=prefix)
    env = clean_env()
    env.update(HOME=home, TELEMETRY_SYSTEM_DIR=os.path.join(home, "etc"))
    os.environ.clear()
    os.environ.update(env)
    return args.records, max(1, args.runs), script, home, env


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TELEMETRY_", "TENX_", "XDG_")) and k.lower() not in DROPPED}


def machine() -> str:
    """One line: CPUs, their model, load, the interpreter: a table's figures mean little without it."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    try:
        load = "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = "load unknown"
    return (f"{os.cpu_count()} CPUs ({model}), {load}; Python {platform.python_version()} "
            f"({sys.executable})")


def spread(values: Sequence[float], form: str = "{:.2f}") -> str:
    """``median (min-max, N runs)`` of one figure measured once per run."""
    if len(values) == 1:
        return f"{form.format(values[0])} (1 run)"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{form.format(mid)} ({form.format(low)}-{form.format(high)}, {len(values)} runs)"
