"""Completion in real shells: bash, zsh and fish on a pseudo-terminal, a person's keystrokes in,
the screen out. Each shell loads the script as it is installed (the wheel's shared-data layout
beside the console script) or from ``telemetry completion SHELL``, with no rc file of the user's;
``telemetry ch<TAB>`` must show ``telemetry check`` at the FIRST TAB.

Outside CI a missing shell skips with its reason; in CI (``CI=true``, .ci/run installs the shells)
it fails.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Env, script_path

REPO = Path(__file__).resolve().parent.parent
ROWS, COLUMNS = 40, 200
TIMEOUT = 30.0  # seconds for any one thing to appear: each TAB starts `telemetry`; a busy machine is slow

_CSI = re.compile(rb"\x1b\[([?>=]?)([0-9;]*)([ -/]*)([@-~])")
_OTHER_ESCAPE = re.compile(rb"\x1b(\][^\x07\x1b]*(\x07|\x1b\\)|[()*+][0-9A-Za-z]|[=>78MDEc]|P[^\x1b]*\x1b\\)")


class Screen:
    """Just enough of a terminal to read back what a line editor drew: printable text, CR, LF,
    BS, TAB, cursor moves (CSI A B C D G H), erase (CSI K J); colours and modes are ignored."""

    def __init__(self) -> None:
        self.rows = [[" "] * COLUMNS for _ in range(ROWS)]
        self.row = self.col = 0
        self._pending = b""

    def feed(self, data: bytes) -> None:
        data, self._pending = self._pending + data, b""
        i = 0
        while i < len(data):
            byte = data[i]
            if byte == 0x1B:
                match = _CSI.match(data, i) or _OTHER_ESCAPE.match(data, i)
                if match is None:
                    if len(data) - i < 64:  # an escape cut between two reads: wait for the rest
                        self._pending = data[i:]
                        return
                    i += 1
                    continue
                if match.re is _CSI:
                    self._csi(match.group(1), match.group(2), match.group(4))
                i = match.end()
                continue
            if byte >= 0x80:  # UTF-8: one cell per character
                end = i + 1
                while end < len(data) and 0x80 <= data[end] < 0xC0:
                    end += 1
                if end == len(data) and end - i < 4:
                    self._pending = data[i:]
                    return
                self._put(data[i:end].decode("utf-8", "replace"))
                i = end
                continue
            i += 1
            if byte == 0x0D:
                self.col = 0
            elif byte == 0x0A:
                self._down()
            elif byte == 0x08:
                self.col = max(0, self.col - 1)
            elif byte == 0x09:
                self.col = min(COLUMNS - 1, (self.col // 8 + 1) * 8)
            elif byte >= 0x20:
                self._put(chr(byte))

    def _put(self, char: str) -> None:
        if self.col >= COLUMNS:
            self.col = 0
            self._down()
        self.rows[self.row][self.col] = char
        self.col += 1

    def _down(self) -> None:
        if self.row == ROWS - 1:
            self.rows = [*self.rows[1:], [" "] * COLUMNS]
        else:
            self.row += 1

    def _csi(self, private: bytes, params: bytes, final: bytes) -> None:
        if private:
            return
        numbers = [int(p) if p else 0 for p in params.split(b";")] if params else []
        n = max(1, numbers[0]) if numbers else 1
        code = final.decode()
        if code == "A":
            self.row = max(0, self.row - n)
        elif code == "B":
            self.row = min(ROWS - 1, self.row + n)
        elif code == "C":
            self.col = min(COLUMNS - 1, self.col + n)
        elif code == "D":
            self.col = max(0, self.col - n)
        elif code == "G":
            self.col = min(COLUMNS - 1, n - 1)
        elif code in "Hf":
            self.row = min(ROWS - 1, n - 1)
            self.col = min(COLUMNS - 1, max(1, numbers[1] if len(numbers) > 1 else 1) - 1)
        elif code == "K":
            mode = numbers[0] if numbers else 0
            start, end = {0: (self.col, COLUMNS), 1: (0, self.col + 1), 2: (0, COLUMNS)}.get(mode, (0, 0))
            self.rows[self.row][start:end] = [" "] * (end - start)
        elif code == "J":
            mode = numbers[0] if numbers else 0
            self._csi(b"", str(mode).encode(), b"K")
            rows = range(self.row + 1, ROWS) if mode == 0 else range(ROWS) if mode == 2 else range(self.row)
            for r in rows:
                self.rows[r] = [" "] * COLUMNS

    def lines(self) -> list[str]:
        return ["".join(r).rstrip() for r in self.rows]

    @property
    def cursor_line(self) -> str:
        return "".join(self.rows[self.row]).rstrip()


class Terminal:
    """A shell on a pseudo-terminal of ROWS x COLUMNS: ``type`` keystrokes, ``wait`` for the screen."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(  # noqa: S603 - the shells of the test, by absolute path
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
            start_new_session=True, preexec_fn=_controlling_terminal)
        os.close(slave)
        self.screen = Screen()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait(self, what: str, check: Callable[[Screen], bool], timeout: float = TIMEOUT) -> None:
        """Read the screen until ``check(screen)`` is true; on timeout, fail showing the screen."""
        deadline = time.monotonic() + timeout
        while not check(self.screen):
            left = deadline - time.monotonic()
            if left <= 0:
                shown = "\n".join(line for line in self.screen.lines() if line)
                pytest.fail(f"after {timeout:.0f} s the screen shows no {what}; it shows:\n{shown}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the shell is gone
                    data = b""
                if not data:
                    pytest.fail(f"the shell ended before the screen showed {what}")
                self.screen.feed(data)

    def wait_for_line(self, ending: str) -> None:
        """Until the cursor's line ends with ``ending``: what the line editor shows being typed."""
        self.wait(f"line ending {ending!r}", lambda s: s.cursor_line.endswith(ending))

    def wait_for_output(self, line: str) -> None:
        """Until a whole line of the screen is ``line``: what a command printed."""
        self.wait(f"line {line!r}", lambda s: line in s.lines())

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)
        os.close(self.master)


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # fish refuses to be interactive without one


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed: .ci/run installs it (Debian package {name})")
        pytest.skip(f"{name} is not installed (apt-get install {name}); CI runs this test")
    return found


def _install(prefix: Path) -> None:
    """The wheel's layout: the console script in bin/, the completions where pyproject's
    shared-data puts them, copied from the repository's generated files."""
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "telemetry").symlink_to(script_path())
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    for source, target in shared.items():
        (prefix / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / source, prefix / target)


Start = Callable[[str, str], Terminal]
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")

# How each shell loads the completion, with no rc file of the user's. "installed": where the
# wheel puts it (bash-completion finds it beside the command, zsh in an fpath directory, fish in a
# vendor completions directory); "command": what `telemetry completion SHELL` prints.
LOAD = {
    ("bash", "installed"): f"source {BASH_COMPLETION}",
    ("bash", "command"): "source <(telemetry completion bash)",
    ("zsh", "installed"): "fpath=({prefix}/share/zsh/site-functions $fpath); autoload -Uz compinit; compinit -u -D",
    ("zsh", "command"): 'autoload -Uz compinit; compinit -u -D; eval "$(telemetry completion zsh)"',
    ("fish", "installed"): "set -g fish_complete_path {prefix}/share/fish/vendor_completions.d $fish_complete_path",
    ("fish", "command"): "telemetry completion fish | source",
}
ARGV = {
    "bash": ["--norc", "--noprofile", "-i"],
    "zsh": ["-f", "-i"],
    "fish": ["--no-config", "-i"],
}
PROMPT = {  # "$ " in each shell's words, and no autosuggestion in fish: only what TAB completes shows
    "bash": "PS1='$ '",
    "zsh": "PS1='$ '",
    "fish": "function fish_prompt; echo -n '$ '; end; set -g fish_autosuggestion_enabled 0",
}
LOADED = {  # a line that says the shell is ready, computed so that it is not the typed line's echo
    "bash": "echo loaded-$((6*7))",
    "zsh": "echo loaded-$((6*7))",
    "fish": "echo loaded-(math 6 \\* 7)",
}


@pytest.fixture
def shell_in(isolation: Env, tmp_path: Path) -> Iterator[Start]:
    """Start SHELL on a terminal with the completion loaded HOW (a key of LOAD), at an empty prompt."""
    terminals: list[Terminal] = []

    def start(shell: str, how: str) -> Terminal:
        path = _shell(shell)
        if (shell, how) == ("bash", "installed") and not BASH_COMPLETION.exists():
            if os.environ.get("CI") == "true":
                pytest.fail("bash-completion is not installed: .ci/run installs it")
            pytest.skip("bash-completion is not installed (apt-get install bash-completion)")
        prefix = tmp_path / "prefix"
        _install(prefix)
        env = {**os.environ, "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               "TERM": "xterm", "LC_ALL": "C.UTF-8",
                      "XDG_DATA_DIRS": str(prefix / "share")}
        env.pop("PROMPT_COMMAND", None)
        work = tmp_path / "work"  # an empty directory: no file name to complete instead
        work.mkdir()
        terminal = Terminal([path, *ARGV[shell]], env, work)
        terminals.append(terminal)
        terminal.type(f"{PROMPT[shell]}; {LOAD[shell, how].format(prefix=prefix)}; {LOADED[shell]}\r")
        terminal.wait_for_output("loaded-42")
        terminal.wait_for_line("$")
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


@pytest.mark.parametrize("how", ["installed", "command"])
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_first_tab_completes_command_option_and_product(shell_in: Start, shell: str, how: str) -> None:
    term = shell_in(shell, how)
    term.type("telemetry ch\t")
    term.wait_for_line("telemetry check")
    term.type("\x15")  # ^U: an empty line again
    term.wait_for_line("$")
    term.type("telemetry check --pro\t")
    term.wait_for_line("telemetry check --product")
    term.type("cellr\t")
    term.wait_for_line("telemetry check --product cellranger")
    # what the line now says, the shell runs: the completions were the words themselves
    term.type("upload --quiet && echo upload-is-on\r")
    term.wait_for_output("upload-is-on")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_tab_completes_not_only_the_first(shell_in: Start, shell: str) -> None:
    """zsh runs an autoloaded file as the function's body: the TABs after the first complete too."""
    term = shell_in(shell, "installed")
    for typed, shown in (("upl", "upload"), ("upd", "update"), ("co", "collection"), ("al", "all")):
        term.type(f"telemetry disable {typed}\t")
        term.wait_for_line(f"telemetry disable {shown}")
        term.type("\x15")
        term.wait_for_line("$")
