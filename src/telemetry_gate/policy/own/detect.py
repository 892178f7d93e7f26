"""Whether a catalogued product is on this machine: its ``[detect]`` rules, and whether one of
its own switches already exists (a flag or configuration file, a variable in the environment).

Cheap on purpose (``check`` asks for every shipped product): a ``PATH`` lookup with ``os.access``,
one listing per ``sys.path`` entry (cached) for distributions, ``lexists`` for paths.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from telemetry_gate.policy.own.model import Detect, NativeSwitch
from telemetry_gate.policy.own.places import expand_text
from telemetry_gate.policy.own.versions import distribution_dirs

if TYPE_CHECKING:
    from telemetry_gate.policy.manifests import Manifest

_NORMAL = r"[-_.]+"  # compiled on first use (only for [detect] distributions)


def installed(detect: Detect, environ: Mapping[str, str], created: frozenset[str] = frozenset()) -> bool:
    """Any declared executable on ``PATH`` (or beside this interpreter), distribution on
    ``sys.path`` or path that exists."""
    if detect.executables and _on_path(detect.executables, environ.get("PATH", "")):
        return True
    if detect.distributions and _normal_names(detect.distributions) & _distributions(tuple(sys.path)):
        return True
    return any(not _ours(where, created) and os.path.lexists(where) for where in (expand_text(p, environ)
                                                                                  for p in detect.paths))


def _ours(where: str, created: frozenset[str]) -> bool:
    """``where`` is a file telemetry-gate created, or a directory holding nothing else."""
    if where in created:
        return True
    inside = [c for c in created if c.startswith(where.rstrip("/") + "/")]
    if not inside:
        return False
    try:
        return all(os.path.join(where, name) in created for name in os.listdir(where))
    except OSError:
        return False


EXPORT_MARKERS = ("TELEMETRY_GATE_EXPORTED", "TELEMETRY_GATE_SYSTEM_EXPORTED")  # set by the shell files


def exported_by_us(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The variables the generated shell files exported into this shell (their marker lists them),
    in the order they were exported."""
    return tuple(dict.fromkeys(n for m in EXPORT_MARKERS for n in environ.get(m, "").split(":") if n))


def switch_exists(switch: NativeSwitch, environ: Mapping[str, str], created: frozenset[str] = frozenset()) -> bool:
    """The switch is there to be read: its file exists, or its variable is in the environment -
    not one telemetry-gate put there itself (a variable its shell files exported, a file it wrote
    ahead), which says nothing about the product."""
    if switch.kind == "env":
        return switch.variable in environ and switch.variable not in exported_by_us(environ)
    where = expand_text(switch.path, environ)
    return where not in created and os.path.lexists(where)


def present(manifest: Manifest, environ: Mapping[str, str], created: frozenset[str] = frozenset()) -> bool:
    """Installed, or one of its switches already exists, or the directory a switch file goes in
    does (the product has been here: Cell Ranger's ``~/.config/tenx/telemetry`` is also where
    telemetry-gate keeps the tenx settings, so writing its flag there touches nothing else). The
    home directory itself says nothing (conda's ``~/.condarc`` sits there for every user).
    ``created``: files telemetry-gate created itself (``journal.created``), no sign of the product."""
    return installed(manifest.detect, environ, created) or any(
        switch_exists(s, environ, created) or (s.kind != "env" and expand_text(s.path, environ) not in created
                                               and _own_directory(expand_text(s.path, environ), environ))
        for s in manifest.native)


def maybe_present(data: Mapping[str, Any], environ: Mapping[str, str], created: frozenset[str] = frozenset()) -> bool:
    """``present`` read from a manifest's data as written (``catalog/_index.py``), without building
    it: true wherever ``present`` of the built manifest is (every switch counts, whatever versions
    read it, and every platform's path), so a command builds the manifests this says may be here and
    asks ``present`` of those. Data it cannot read counts as present: that manifest is built."""
    try:
        table = data.get("detect") or {}
        detect = Detect(tuple(table.get("executables", ())), tuple(table.get("distributions", ())),
                        tuple(p.rstrip("/") for p in table.get("paths", ())))
        if installed(detect, environ, created):
            return True
        exported = exported_by_us(environ)
        variables = [s["variable"] for s in data.get("native", ()) if s["kind"] == "env"]
        variables += [e["name"] for e in data["product"].get("env", ())]
        if any(v in environ and v not in exported for v in variables):
            return True
        home = (environ.get("HOME") or os.path.expanduser("~")).rstrip("/")
        for switch in data.get("native", ()):
            path = switch["path"] if switch["kind"] != "env" else {}
            for template in path.values() if isinstance(path, dict) else (path,):
                where = expand_text(template.rstrip("/") or "/", environ)
                directory = os.path.dirname(where)
                # present's test, asked in the cheaper order: a file exists only in a directory
                if where not in created and os.path.isdir(directory) \
                        and (directory.rstrip("/") != home or os.path.lexists(where)):
                    return True
    except (AttributeError, KeyError, TypeError):
        return True
    return False


def _own_directory(path: str, environ: Mapping[str, str]) -> bool:
    directory = os.path.dirname(path)
    home = environ.get("HOME") or os.path.expanduser("~")
    return directory.rstrip("/") != home.rstrip("/") and os.path.isdir(directory)


def _on_path(names: tuple[str, ...], path: str) -> bool:
    """An executable regular file of one of ``names`` in a ``PATH`` directory (one ``stat`` each)."""
    for directory in _directories(path):
        for name in names:
            if not os.access(directory + name, os.F_OK):  # no exception to build: most names are absent
                continue
            try:
                mode = os.stat(directory + name).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and mode & 0o111:
                return True
    return False


@functools.cache
def _directories(path: str) -> tuple[str, ...]:
    """``PATH``'s directories, then the one holding this interpreter: a tool installed in the same
    virtual environment as telemetry-gate counts even when that environment is not activated."""
    here = os.path.dirname(sys.executable)
    found = [d for d in path.split(os.pathsep) if d] + ([here] if here else [])
    return tuple(dict.fromkeys(d.rstrip("/") + "/" for d in found))


def _normal_names(names: tuple[str, ...]) -> set[str]:
    return {re.sub(_NORMAL, "-", n).lower() for n in names}


@functools.cache
def _distributions(entries: tuple[str, ...]) -> frozenset[str]:
    """Normalised names of every distribution with metadata on ``sys.path``."""
    return frozenset(re.sub(_NORMAL, "-", os.path.basename(path).rsplit(".", 1)[0].split("-", 1)[0]).lower()
                     for path in distribution_dirs(entries))
