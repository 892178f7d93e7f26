"""Issue 14 item 11: a record is written whole or not at all, and ``record()`` says which: the
id when the record was kept, ``None`` when nothing was (a short write under a file-size limit,
a record the bound would drop at once), also at the bound with writers side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Env
from telemetry_gate import Recorder


def _spool(env: Env) -> Path:
    return env.home / ".local" / "state" / "tenx" / "telemetry" / "spool"


def _records(env: Env) -> list[Path]:
    return sorted((_spool(env) / "pending" / "cellranger").glob("*"))


SHORT_WRITE = """
import json, resource, signal, sys
from telemetry_gate import Recorder
rec = Recorder("cellranger", "9.0.0")
assert rec.record("first", metrics={"n": 1}), rec.problem  # directories made, one record kept
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))  # a record of ~1 KB is cut at 300 bytes
print(json.dumps([rec.record("big", metrics={"blob": "x" * 700}), rec.problem]))
"""


def test_a_short_write_keeps_nothing_and_record_returns_none(isolation: Env) -> None:
    done = subprocess.run([sys.executable, "-c", SHORT_WRITE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    returned, problem = json.loads(done.stdout)
    assert returned is None and problem and "not kept" in problem
    kept = _records(isolation)
    assert len(kept) == 1 and all(json.loads(p.read_bytes())["event"] == "first" for p in kept)
    assert list((_spool(isolation) / "tmp").iterdir()) == []  # the cut-off temp file is gone


def test_a_record_the_bound_would_drop_at_once_returns_none(isolation: Env) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\nmax_bytes = 600\n")
    rec = Recorder("cellranger", "9.0.0")
    small = rec.record("small", metrics={"n": 1})
    assert small is not None
    assert rec.record("large", metrics={"blob": "x" * 800}) is None and "600" in str(rec.problem)
    assert [p.stem for p in _records(isolation)] == [small]  # the kept one was not dropped for it


def test_a_failed_copy_to_still_returns_the_id_of_the_kept_record(isolation: Env, unwritable: Path) -> None:
    rec = Recorder("cellranger", "9.0.0")
    returned = rec.record("count", metrics={"n": 1}, copy_to=unwritable)
    assert returned is not None and "not copied" in str(rec.problem)
    assert [p.stem for p in _records(isolation)] == [returned]


WRITER = """
import json, sys
from telemetry_gate import Recorder
rec = Recorder("cellranger", "9.0.0")
print(json.dumps([rec.record("count", metrics={"n": i}) for i in range(int(sys.argv[1]))]))
"""


def test_at_the_bound_with_concurrent_writers_an_id_means_kept(isolation: Env) -> None:
    isolation.config_dir.mkdir(parents=True)
    (isolation.config_dir / "settings.toml").write_text("[telemetry]\nmax_records = 5\n")
    first = Recorder("cellranger", "9.0.0").record("first")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, "150"], stdout=subprocess.PIPE, text=True)
               for _ in range(4)]
    returned: list[str | None] = []
    for writer in writers:
        out, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0
        returned += json.loads(out)
    kept = {p.stem for p in _records(isolation)}
    ids = {i for i in returned if i is not None}
    dropped = (_spool(isolation) / "dropped" / "cellranger").stat().st_size
    assert 1 <= len(kept) <= 5 and kept <= ids | {first}  # no record kept behind a None
    assert dropped == len(returned) + 1 - len(kept)  # every other record written was dropped and counted
    assert os.listdir(_spool(isolation) / "tmp") == []
