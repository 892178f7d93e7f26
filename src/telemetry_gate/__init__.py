"""telemetry-gate: one control point for the telemetry of scientific and data tools.

Importing this package is cheap: it pulls in no typer, rich or httpx.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__"]
