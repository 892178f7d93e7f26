"""Issue 14 item 17: ``purge --sent`` rewrites a day file of the audit log while a ``send`` may
be appending to it; both take ``sent/.lock``, so no line is lost. Two real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import Env
from telemetry_gate.spool import outcomes
from telemetry_gate.spool.store import Spool

APPENDER = """
import sys, time
from pathlib import Path
from telemetry_gate.spool import outcomes
from telemetry_gate.spool.store import Spool
spool = Spool(Path(sys.argv[1]))
now = time.time()
progress = spool.root / "progress"
for n in range(int(sys.argv[2])):
    if n % 100 == 99:  # let the purger rewrite the file between batches: interleaving by handshake, not luck
        deadline = time.time() + 60
        while (int(progress.read_text() or 0) if progress.exists() else 0) < n // 100 and time.time() < deadline:
            time.sleep(0.005)
    for product in ("keep", "doomed"):
        outcomes.audit(spool, [{"id": f"{product}-{n}", "product": product, "sent_at": "2026-11-25T00:00:00.000Z",
                                "endpoint": "http://127.0.0.1/v1/logs", "status": 200}], now)
"""

PURGER = """
import sys
from pathlib import Path
from telemetry_gate.spool import outcomes
from telemetry_gate.spool.store import Spool
spool = Spool(Path(sys.argv[1]))
rewrites = 0
while True:
    count, _ = outcomes.purge_audit(spool, "doomed", None, False)
    if count:
        rewrites += 1
        (spool.root / "progress.tmp").write_text(str(rewrites))
        (spool.root / "progress.tmp").replace(spool.root / "progress")
    if (spool.root / "done").exists() and not count:
        break
print(rewrites)
"""


def test_purge_sent_loses_no_line_a_concurrent_send_appends(isolation: Env, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spool = Spool(root)
    lines = 1500
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(root), str(lines)])
    purger = subprocess.Popen([sys.executable, "-c", PURGER, str(root)], stdout=subprocess.PIPE, text=True)
    assert appender.wait(timeout=120) == 0
    (root / "done").touch()
    out, _ = purger.communicate(timeout=120)
    assert purger.returncode == 0 and int(out) >= 14  # the purger did rewrite the file while lines came in
    kept = [json.loads(line) for path in outcomes.audit_files(spool) for line in path.read_bytes().splitlines()]
    assert sorted(e["id"] for e in kept) == sorted(f"keep-{n}" for n in range(lines))
