"""The first-run notice: the first time a product records for a user, one short notice on
stderr - what is collected and how to stop it - only when stderr is a terminal.

Once per product and user: a marker ``<state dir>/notices/<product>`` is created with
``O_CREAT | O_EXCL``, so of two processes racing only the one that creates it prints. Without
a terminal nothing is printed and no marker is made (the notice waits for a person to see it).
The Recorder asks once per Recorder, at its first record, never per record. Never raises,
never reads input, one ``write``. A manifest's ``notice = false`` turns it off (the product
shows its own). A program that embeds only the library (``telemetry-gate-lib``) may run where no
``telemetry`` command is on ``PATH``: the notice then names the package that brings it and a way
to stop collection without it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DIRECTORY = "notices"


PACKAGE = "telemetry-gate"  # the distribution with the command (the library alone: telemetry-gate-lib)


def text(product: str, command: bool = True) -> str:
    """The notice; ``command``: whether a ``telemetry`` command is on ``PATH`` to run."""
    lines = (f"telemetry-gate: {product} keeps telemetry records on this machine; nothing leaves it "
             f"unless upload is allowed.\n"
             f"  What is collected: telemetry inspect --catalog -p {product}\n"
             f"  To stop it:        telemetry disable -p {product}\n")
    if not command:
        lines += (f"  No telemetry command here: python3 -m pip install {PACKAGE} "
                  f"(or set DO_NOT_TRACK=1 to stop it now)\n")
    return lines


def _command_on_path() -> bool:
    import shutil

    return shutil.which("telemetry") is not None


def marker(state_dir: Path, product: str) -> Path:
    return state_dir / DIRECTORY / product


def first_run(state_dir: Path, product: str) -> bool:
    """Print the notice if this is the product's first record for this user and stderr is a
    terminal; whether it was printed. Any failure means no notice, never an exception."""
    try:
        stream = sys.stderr
        if stream is None or not stream.isatty():
            return False
        path = marker(state_dir, product)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileNotFoundError:
            from telemetry_gate.fs import ensure_dir

            ensure_dir(path.parent)  # 0700, parents included, whatever the umask
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        stream.write(text(product, _command_on_path()))
        stream.flush()
        return True
    except Exception:  # FileExistsError (shown before) or anything else: no notice
        return False
