"""Start-up of `telemetry check` against Python's floor and a bare six-command Typer app.

Run: python bench/startup.py [--runs N]
Every command runs with the interpreter of the install (sys.executable), in one run, in an
empty HOME, rounds interleaved, so the ratios compare like with like; the median is the
figure, the minimum a check on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = """
import typer
app = typer.Typer()
for name in ("check", "enable", "disable", "inspect", "purge", "send"):
    def command(facet: str = "all") -> None:
        print(facet)
    app.command(name)(command)
app()
"""


def timed_ms(rows: list[tuple[str, list[str]]], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Every command once per round, rounds interleaved: a machine's drift (another process,
    the CPU's clock) reaches every command alike instead of the ones measured last."""
    for _, argv in rows:
        subprocess.run(argv, env=env, capture_output=True, check=False)  # warm the page cache
    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _ in range(runs):
        for label, argv in rows:
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=False)
            times[label].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "telemetry"
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEMETRY_", "TENX_", "XDG_"))}
        env.update(HOME=home, TELEMETRY_SYSTEM_DIR=os.path.join(home, "etc"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        bare = Path(home) / "bare.py"
        bare.write_text(BARE_APP)
        rows = [
            ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
            ("python -c 'import telemetry_gate'", [sys.executable, "-c", "import telemetry_gate"]),
            ("bare six-command Typer app", [sys.executable, str(bare), "check"]),
            ("telemetry check", [str(script), "check"]),
            ("telemetry check --json", [str(script), "check", "--json"]),
            ("telemetry check upload --quiet", [str(script), "check", "upload", "--quiet"]),
        ]
        times = timed_ms(rows, env, args.runs)
    floor = statistics.median(times[rows[0][0]])
    fastest = min(times[rows[0][0]])
    import typer

    print(f"python {sys.version.split()[0]}, typer {typer.__version__}, {args.runs} interleaved runs each")
    print(f"| {'command':<34} | {'median ms':>9} | {'x floor':>7} | {'min ms':>7} | {'x floor':>7} |")
    print(f"| {'-' * 34} | {'-' * 9}:| {'-' * 7}:| {'-' * 7}:| {'-' * 7}:|")
    for label, _ in rows:
        med, low = statistics.median(times[label]), min(times[label])
        print(f"| {label:<34} | {med:9.1f} | {med / floor:7.2f} | {low:7.1f} | {low / fastest:7.2f} |")


if __name__ == "__main__":
    main()
