"""Record ids stay unique across forks and threads, and no record ever replaces another."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from conftest import Env
from telemetry_gate import Recorder
from telemetry_gate.spool.store import Spool


def _pending(env: Env, product: str = "cellranger") -> list[Path]:
    folder = env.spool / "pending" / product
    return sorted(folder.glob("*.json"))


class _Frozen:
    """A clock stuck in one millisecond: every id is minted "within the same millisecond"."""

    @staticmethod
    def time() -> float:
        return 1_764_000_000.123


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads elsewhere in the run
@pytest.mark.parametrize("frozen", [False, True], ids=["clock", "one-millisecond"])
def test_a_recorder_that_forks_loses_no_record(isolation: Env, monkeypatch: pytest.MonkeyPatch,
                                               frozen: bool) -> None:
    from telemetry_gate.spool import ids

    if frozen:
        monkeypatch.setattr(ids, "time", _Frozen)
    rec = Recorder("cellranger", "9.0.0")
    rounds = 100
    for _ in range(rounds):
        assert rec.record("before") is not None
        pid = os.fork()
        if pid == 0:  # the child writes at once, as its parent does
            os._exit(0 if rec.record("child") is not None else 1)
        assert rec.record("parent") is not None, rec.problem
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert len(_pending(isolation)) == 3 * rounds


@pytest.mark.parametrize("frozen", [False, True], ids=["clock", "one-millisecond"])
def test_threads_lose_no_record(isolation: Env, monkeypatch: pytest.MonkeyPatch, frozen: bool) -> None:
    from telemetry_gate.spool import ids

    if frozen:
        monkeypatch.setattr(ids, "time", _Frozen)
    rec = Recorder("cellranger", "9.0.0")
    ids: list[str | None] = []

    def write() -> None:
        for _ in range(200):
            ids.append(rec.record("x"))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None not in ids and len(set(ids)) == 800
    assert len(_pending(isolation)) == 800


def test_a_taken_id_is_never_overwritten(isolation: Env, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.prepare("cellranger")
    first = spool.write("cellranger", "01JABCDEFGHJKMNPQRSTVWXYZ0", b'{"first": 1}')
    with pytest.raises(FileExistsError):
        spool.write("cellranger", "01JABCDEFGHJKMNPQRSTVWXYZ0", b'{"second": 2}')
    assert Path(first).read_bytes() == b'{"first": 1}'
    assert os.listdir(spool.tmp) == []  # the refused copy does not linger


def test_the_recorder_takes_a_new_id_when_its_id_is_taken(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry_gate.spool import ids

    rec = Recorder("cellranger", "9.0.0")
    taken = rec.record("first")
    assert taken is not None
    minted = iter([taken, ids.new_id()])
    monkeypatch.setattr(ids, "new_id", lambda: next(minted))
    second = rec.record("second")
    assert second is not None and second != taken
    assert len(_pending(isolation)) == 2
