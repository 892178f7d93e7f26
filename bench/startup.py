"""Start-up of `telemetry check` against Python's floor and a bare Typer app with the same commands.

Run: python bench/startup.py [--runs N] [--callgrind]
Every command runs with the interpreter of the install (sys.executable), in one run, in an
empty HOME, rounds interleaved, so the ratios compare like with like. Each budget is a ratio
taken within one round; the range of that ratio over the rounds is printed (median, min-max),
because on a shared machine one figure alone says little.

--callgrind also counts the instructions of each command once under `valgrind --tool=callgrind`
(PYTHONHASHSEED fixed): a count that another process on the machine cannot move.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import clean_env, machine, spread

COMMANDS = ("check", "enable", "disable", "inspect", "purge", "send", "update", "products", "shell-init",
            "completion")
BARE_APP = f"""
import typer
app = typer.Typer()
for name in {COMMANDS!r}:
    def command(facet: str = "all") -> None:
        print(facet)
    app.command(name)(command)
app()
"""
FLOOR, BARE, CHECK = "python -c pass (floor)", f"bare {len(COMMANDS)}-command Typer app", "telemetry check"


def timed_ms(rows: list[tuple[str, list[str]]], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Every command once per round, rounds interleaved: a machine's drift (another process,
    the CPU's clock) reaches every command alike instead of the ones measured last."""
    for _, argv in rows:
        subprocess.run(argv, env=env, capture_output=True, check=False)  # warm the page cache, write .pyc
    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _ in range(runs):
        for label, argv in rows:
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=False)
            times[label].append((time.perf_counter() - start) * 1000)
    return times


def instructions(argv: list[str], env: dict[str, str]) -> int:
    """Instructions of one run under callgrind (its own output thrown away)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                          env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False)
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if not found:
        raise SystemExit(f"valgrind gave no count for {argv}: {done.stderr[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind)")
    args = parser.parse_args()
    script = str(Path(sys.executable).parent / "telemetry")
    with tempfile.TemporaryDirectory() as home:
        env = clean_env()
        env.update(HOME=home, TELEMETRY_SYSTEM_DIR=os.path.join(home, "etc"))
        bare = Path(home) / "bare.py"
        bare.write_text(BARE_APP)
        rows = [
            (FLOOR, [sys.executable, "-c", "pass"]),
            ("python -c 'import telemetry_gate'", [sys.executable, "-c", "import telemetry_gate"]),
            (BARE, [sys.executable, str(bare), "check"]),
            (CHECK, [sys.executable, script, "check"]),
            ("telemetry check --json", [sys.executable, script, "check", "--json"]),
            ("telemetry check upload --quiet", [sys.executable, script, "check", "upload", "--quiet"]),
            ("telemetry --help", [sys.executable, script, "--help"]),
        ]
        times = timed_ms(rows, env, args.runs)
        counts = {label: instructions(argv, env) for label, argv in rows} if args.callgrind else {}
    floor = statistics.median(times[FLOOR])
    fastest = min(times[FLOOR])
    import typer

    print(machine())
    print(f"typer {typer.__version__}; `python bench/startup.py --runs {args.runs}`: {args.runs} interleaved rounds\n")
    print(f"| {'command':<34} | {'median ms':>9} | {'x floor':>7} | {'min ms':>7} | {'x floor':>7} |"
          + (" M instr. | x floor |" if counts else ""))
    rule = f"| {'-' * 34} | {'-' * 9}:| {'-' * 7}:| {'-' * 7}:| {'-' * 7}:|"
    print(rule + ("--------:|--------:|" if counts else ""))
    for label, _ in rows:
        med, low = statistics.median(times[label]), min(times[label])
        line = f"| {label:<34} | {med:9.1f} | {med / floor:7.2f} | {low:7.1f} | {low / fastest:7.2f} |"
        if counts:
            line += f" {counts[label] / 1e6:8.1f} | {counts[label] / counts[FLOOR]:7.2f} |"
        print(line)
    per_round = list(zip(times[FLOOR], times[BARE], times[CHECK], strict=True))
    print(f"\nbudget `telemetry check` <= 6x the floor: {spread([c / f for f, _, c in per_round])}")
    print(f"budget `telemetry check` <= 1.15x the bare Typer app: {spread([c / b for _, b, c in per_round])}")
    print(f"(the bare Typer app alone: {spread([b / f for f, b, _ in per_round])} the floor)")
    if counts:
        print(f"instructions: check {counts[CHECK] / counts[FLOOR]:.2f}x the floor, "
              f"{counts[CHECK] / counts[BARE]:.3f}x the bare Typer app (which is "
              f"{counts[BARE] / counts[FLOOR]:.2f}x the floor)")


if __name__ == "__main__":
    if "--callgrind" in sys.argv and not shutil.which("valgrind"):
        raise SystemExit("--callgrind needs valgrind on PATH")
    main()
