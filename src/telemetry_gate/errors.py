"""Errors, each carrying the exit code the CLI turns it into (SPEC 5).

The tree::

    TelemetryError                 exit 1 when raised bare (never, in practice)
    +-- UsageError                 2  the command line asks for something impossible
    +-- InvalidFileError           3  a settings, manifest or record file is malformed
    +-- ConfigError                3  no usable endpoint, or a downloaded configuration is malformed
    +-- UnsafePath                 3  a name from data (a version, an id) would build a path outside its directory
    +-- PermissionDenied           4  a file or directory may not be written
    |   +-- UnsafePermissions      4  another user could change a directory we would trust
    +-- UploadIncomplete           5  records remain pending or were rejected
    +-- AuditFailed               74  records were delivered, but the audit log could not be written

The CLI translates them once, in ``cli.main``, into one or two lines on stderr.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    DISABLED = 1
    USAGE = 2
    INVALID_FILE = 3
    PERMISSION = 4
    UPLOAD_INCOMPLETE = 5
    AUDIT_FAILED = 74  # sysexits EX_IOERR
    INTERRUPTED = 130


class TelemetryError(Exception):
    """Base of every error the command reports; ``hint`` is an optional second line."""

    exit_code: ExitCode = ExitCode.DISABLED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(TelemetryError):
    exit_code = ExitCode.USAGE


class InvalidFileError(TelemetryError):
    """A file we read is malformed; the message names the file and, where known, the line."""

    exit_code = ExitCode.INVALID_FILE

    def __init__(self, path: Path, problem: str, line: int | None = None,
                 hint: str | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", hint)
        self.path = path
        self.line = line
        self.problem = problem


class ConfigError(TelemetryError):
    """What a command needs is not configured or not usable (no endpoint for a product, an
    endpoint that is not https, a downloaded configuration that is not valid)."""

    exit_code = ExitCode.INVALID_FILE


class UnsafePath(TelemetryError):
    """A path built from data (a product version, a record id) would leave its directory."""

    exit_code = ExitCode.INVALID_FILE


class PermissionDenied(TelemetryError):
    exit_code = ExitCode.PERMISSION


class UnsafePermissions(PermissionDenied):
    """A settings, spool or system directory (or a settings file) that another user can
    change: refused rather than trusted (``policy/trust.py``)."""


class UploadIncomplete(TelemetryError):
    exit_code = ExitCode.UPLOAD_INCOMPLETE


class AuditFailed(TelemetryError):
    """A collector accepted records (they are gone from the spool, never sent again) but
    their lines could not be added to the audit log ``sent/<day>.jsonl``."""

    exit_code = ExitCode.AUDIT_FAILED
