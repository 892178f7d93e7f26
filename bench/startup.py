"""Start-up of `telemetry check` against Python's floor and a bare six-command Typer app.

Run: python bench/startup.py [--runs N]
Every command runs with the interpreter of the install (sys.executable), in one run, in an
empty HOME, so the ratios compare like with like.
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


def median_ms(argv: list[str], env: dict[str, str], runs: int) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=False)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


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
        results = [(label, median_ms(argv, env, args.runs)) for label, argv in rows]
    floor = results[0][1]
    import typer

    print(f"python {sys.version.split()[0]}, typer {typer.__version__}, {args.runs} runs each, median")
    print(f"| {'command':<34} | {'ms':>7} | {'x floor':>7} |")
    print(f"| {'-' * 34} | {'-' * 7}:| {'-' * 7}:|")
    for label, ms in results:
        print(f"| {label:<34} | {ms:7.1f} | {ms / floor:7.2f} |")


if __name__ == "__main__":
    main()
