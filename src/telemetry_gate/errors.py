"""Errors, each carrying the exit code the CLI turns it into (SPEC 5).

The tree::

    TelemetryError                70  when raised bare (a bug: never, in practice)
    +-- UsageError                 2  the command line asks for something impossible
    |   +-- NoEndpoint             2  send: nothing names where a product's records go
    +-- InvalidFileError           3  a settings, manifest or record file is malformed
    +-- ConfigError                3  an endpoint that is not usable, or a downloaded configuration is malformed
    +-- UnsafePath                 3  a name from data (a version, an id) would build a path outside its directory
    +-- PermissionDenied           4  a file or directory may not be written
    |   +-- UnsafePermissions      4  another user could change a directory we would trust
    |   +-- SpoolUnreadable        4  a spool directory exists but cannot be listed
    +-- UploadIncomplete           5  records remain pending or were rejected
    +-- UpdateIncomplete           6  update could not download (or store) a configuration
    +-- NoSpace                   74  a write failed: the disk (or the quota) is full
    +-- Busy                      74  another process held a lock for longer than the bounded wait
    +-- AuditFailed               74  records were delivered, but the audit log could not be written

The CLI translates them once, in ``cli.base.GateGroup``, into one or two lines on stderr; there
too, ENOSPC becomes 74 and EROFS 4 (one line each), any other exception is an internal error
(70, EX_SOFTWARE), and a closed stdout (``inspect --json | head``) ends quietly with 141, as a
process killed by SIGPIPE does.
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
    UPDATE_INCOMPLETE = 6
    SOFTWARE = 70  # sysexits EX_SOFTWARE: an internal error (a bug)
    AUDIT_FAILED = 74  # sysexits EX_IOERR
    IO_ERROR = 74  # the same code: a write failed (a full disk), not the user's input
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away


class TelemetryError(Exception):
    """Base of every error the command reports; ``hint`` is an optional second line."""

    exit_code: ExitCode = ExitCode.SOFTWARE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(TelemetryError):
    exit_code = ExitCode.USAGE


class NoEndpoint(UsageError):
    """``send`` has no endpoint for a product: no ``--endpoint``, no ``TELEMETRY_ENDPOINT``, no
    ``endpoint`` in the settings or the manifest. A usage error: the command line can fix it."""


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
    """What a command needs is not usable (an endpoint that is not https, a downloaded
    configuration that is not valid)."""

    exit_code = ExitCode.INVALID_FILE


class UnsafePath(TelemetryError):
    """A path built from data (a product version, a record id) would leave its directory."""

    exit_code = ExitCode.INVALID_FILE


class PermissionDenied(TelemetryError):
    exit_code = ExitCode.PERMISSION


class SpoolUnreadable(PermissionDenied):
    """A spool directory exists but cannot be listed (EACCES, a file in its place): what it
    holds is unknown, so nothing is counted as empty, purged or sent from it."""


class UnsafePermissions(PermissionDenied):
    """A settings, spool or system directory (or a settings file) that another user can
    change: refused rather than trusted (``policy/trust.py``)."""


class UploadIncomplete(TelemetryError):
    exit_code = ExitCode.UPLOAD_INCOMPLETE


class UpdateIncomplete(TelemetryError):
    """``update`` could not download a product's configuration (nothing else changed)."""

    exit_code = ExitCode.UPDATE_INCOMPLETE


class NoSpace(TelemetryError):
    """A write failed because the file system (or the user's quota) is full."""

    exit_code = ExitCode.IO_ERROR


class Busy(TelemetryError):
    """Another process held a lock (``enable``/``disable`` take turns on the user's settings and
    the products' files) for longer than the bounded wait; nothing was changed."""

    exit_code = ExitCode.IO_ERROR


class AuditFailed(TelemetryError):
    """A collector accepted records (they are gone from the spool, never sent again) but
    their lines could not be added to the audit log ``sent/<day>.jsonl``."""

    exit_code = ExitCode.AUDIT_FAILED


class RecordError(ValueError):
    """A record that cannot be kept (too large, not serialisable) or read (malformed). Not a
    ``TelemetryError``: the library catches it, and a command reports the file it names."""
