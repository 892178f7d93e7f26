"""telemetry-gate: one control point for the telemetry of scientific and data tools.

Importing this package is cheap: it pulls in no typer, rich or httpx, and the Recorder's
own modules load only when ``Recorder`` is first used::

    from telemetry_gate import Recorder
    rec = Recorder("cellranger", "9.0.0")
    with rec.run("count", params={"chemistry": "SC3Pv3"}) as run:
        run.metric("reads_total", 812_000_000)
"""

from __future__ import annotations

from telemetry_gate._version import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs ~7 ms here
if TYPE_CHECKING:
    from typing import Any

    from telemetry_gate.spool.recorder import Recorder, Run

__all__ = ["Recorder", "Run", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Recorder", "Run"):
        from telemetry_gate.spool import recorder

        return getattr(recorder, name)
    raise AttributeError(f"module 'telemetry_gate' has no attribute {name!r}")
