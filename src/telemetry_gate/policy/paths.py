"""Every place on disk, in one documented order.

For each place: an override variable where one exists, then the platform's
directories: on Linux the XDG base directories (``$XDG_CONFIG_HOME`` when absolute,
else ``~/.config``, and so on), elsewhere platformdirs. ``vendor`` is the namespace
that owns the paths (``tenx`` by default).

==================  =====================================================
system directory    ``$TELEMETRY_SYSTEM_DIR`` or ``/etc``, + ``/<vendor>/telemetry``
user config         ``user_config_dir(<vendor>)/telemetry`` (settings.toml, flag files)
spool               ``user_state_dir(<vendor>)/telemetry/spool``
cache               ``user_cache_dir(<vendor>)/telemetry/<product>/<product>-<version>``
user manifests      ``user_data_dir(<vendor>)/telemetry/products.d``
==================  =====================================================
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, TypeGuard

from telemetry_gate.errors import UnsafePath, UsageError

DEFAULT_VENDOR = "tenx"
VENDOR_VARIABLE = "TELEMETRY_VENDOR"
SYSTEM_DIR_VARIABLE = "TELEMETRY_SYSTEM_DIR"
FLAG_FILES = ("disable", "disable_upload", "disable_update")

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
"""A vendor or product name, part of paths: the one pattern (settings tables, manifests, ``covers``,
spool directories, completion all use it)."""


def is_name(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a vendor or product name (``NAME``)."""
    return isinstance(value, str) and NAME.fullmatch(value) is not None


def check_name(kind: str, value: str) -> str:
    """A vendor or product name is used in paths: refuse anything that could escape them."""
    if not is_name(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise UsageError(
            f"invalid {kind} name {shown!r}",
            "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return value


_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+~-]{0,63}")


def is_version(value: str) -> bool:
    """A product version (``9.0.0``, ``2024.1-rc1``, ``1.2+cu118``) is part of a cache path:
    letters, digits, ``. _ + ~ -``, starting with a letter or digit, at most 64 characters."""
    return bool(_VERSION.fullmatch(value))


def check_version(value: str) -> str:
    if not is_version(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise UsageError(f"invalid version {shown!r}",
                         "use letters, digits, '.', '_', '+', '~' and '-', starting with a letter or digit")
    return value


def inside(base: Path, *parts: str) -> Path:
    """``base / part / ...`` for names that come from data (a product, a version, an id):
    ``UnsafePath`` unless each part is one plain name and the result, symbolic links
    resolved, stays inside ``base``."""
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part or (os.altsep and os.altsep in part):
            raise UnsafePath(f"refusing the name {part[:60]!r}: it would build a path outside {base}")
    path = base.joinpath(*parts)
    root = os.path.realpath(base)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise UnsafePath(f"refusing {path}: it resolves outside {base}")
    return path


def resolve_vendor(option: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """``--vendor`` first, then ``TELEMETRY_VENDOR``, then ``tenx``."""
    if option:
        return check_name("vendor", option)
    value = environ.get(VENDOR_VARIABLE, "").strip()
    if value:
        return check_name("vendor", value)
    return DEFAULT_VENDOR


class Paths(NamedTuple):
    vendor: str
    system_dir: Path
    config_dir: Path
    state_dir: Path
    cache_dir: Path
    data_dir: Path

    @classmethod
    def for_vendor(cls, vendor: str, environ: Mapping[str, str] = os.environ) -> Paths:
        root = Path(environ.get(SYSTEM_DIR_VARIABLE) or "/etc")
        config, state, cache, data = _user_dirs(vendor, environ)
        return cls(
            vendor=vendor,
            system_dir=root / vendor / "telemetry",
            config_dir=Path(config) / "telemetry",
            state_dir=Path(state) / "telemetry",
            cache_dir=Path(cache) / "telemetry",
            data_dir=Path(data) / "telemetry",
        )

    @property
    def user_settings(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def system_settings(self) -> Path:
        return self.system_dir / "settings.toml"

    def system_flag(self, name: str) -> Path:
        return self.system_dir / name

    def user_flag(self, name: str) -> Path:
        return self.config_dir / name

    @property
    def spool(self) -> Path:
        return self.state_dir / "spool"

    @property
    def manifest_dirs(self) -> tuple[Path, Path]:
        """System first, then user: a user manifest replaces a system one of the same name."""
        return (self.system_dir / "products.d", self.data_dir / "products.d")

    def config_cache(self, product: str, version: str) -> Path:
        """``<cache>/<product>/<product>-<version>``; ``UnsafePath`` for a product or version
        that could lead anywhere else (``1/../../../x``)."""
        if not is_name(product) or not is_version(version):
            raise UnsafePath(f"refusing the cache path of {product[:40]!r} version {version[:40]!r}: "
                             "not a plain product name and version")
        return inside(self.cache_dir, product, f"{product}-{version}")


_XDG = (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share"))


def _user_dirs(vendor: str, environ: Mapping[str, str]) -> tuple[str, str, str, str]:
    """The user's config, state, cache and data directories of ``vendor``.

    On Linux these are the XDG base directories, which platformdirs implements in the same
    way (a variable counts when it holds an absolute path); importing platformdirs costs
    ~3 ms (0.3x Python's start-up), so it is imported only on the other platforms."""
    if sys.platform.startswith("linux"):
        home = os.path.expanduser("~")
        found = []
        for variable, default in _XDG:
            value = environ.get(variable, "")
            found.append(os.path.join(value if os.path.isabs(value) else os.path.join(home, default), vendor))
        return found[0], found[1], found[2], found[3]
    import platformdirs

    dirs = platformdirs.PlatformDirs(vendor, appauthor=False)
    return dirs.user_config_dir, dirs.user_state_dir, dirs.user_cache_dir, dirs.user_data_dir


def display(path: Path) -> str:
    """A path as a person would type it: ``~/...`` under the home directory."""
    home = os.path.expanduser("~")
    text = str(path)
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text
