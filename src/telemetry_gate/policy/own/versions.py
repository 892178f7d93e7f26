"""Version ranges: the versions of a product a manifest, or one of its switches, applies to.

Terms:

- *range*: one or two comparisons of dotted integer versions, separated by a comma:
  ``<5.14.0``, ``>=1.2,<2``, ``==3.1``. Operators ``<``, ``<=``, ``>``, ``>=`` and ``==``; two
  comparisons are a lower bound and an upper bound. Versions compare by their numbers, missing
  ones being 0 (``5.14`` is ``5.14.0``). No ``packaging``: this is all a manifest needs.
- *installed version*: what this machine has, from (first) the metadata directory of a Python
  distribution the manifest's ``[detect]`` names (``gatsby-5.14.2.dist-info`` on ``sys.path``,
  the one ``import`` would find), else the manifest's own ``version``. An npm tool (Gatsby) has
  only the latter: the ``gatsby`` on ``PATH`` is the global CLI, not the project's package that
  collects, so its version would not be a sound source.
- A version that is not dotted integers (after a ``+local`` label: ``5.14.0rc1``, ``2024.1-next``)
  is *not comparable* and treated as unknown: when the version is unknown every switch applies
  (writing an off switch the product ignores is harmless; skipping one it reads is a leak).
"""

from __future__ import annotations

import functools
import os
import re
from typing import NamedTuple

_COMPARISON = r"\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)*)\s*"  # compiled on first use
_LOWER = (">", ">=")
_UPPER = ("<", "<=")


class Range(NamedTuple):
    text: str  # as the manifest writes it
    comparisons: tuple[tuple[str, tuple[int, ...]], ...]

    def contains(self, version: tuple[int, ...]) -> bool:
        return all(_compare(op, version, bound) for op, bound in self.comparisons)

    def since(self) -> str | None:
        """The version the range ends at when it is only ``<X``: the product stopped then."""
        if len(self.comparisons) == 1 and self.comparisons[0][0] == "<":
            return self.text.strip().removeprefix("<").strip()
        return None


class Installed(NamedTuple):
    version: str
    numbers: tuple[int, ...]
    source: str  # "distribution <dir name>" or "manifest version"


def parse_range(text: object) -> Range:
    """The range ``text`` writes; ``ValueError`` says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("versions must be a range such as '<5.14.0' or '>=1.2,<2'")
    parts = text.split(",")
    found = []
    for part in parts:
        match = re.fullmatch(_COMPARISON, part)
        if match is None:
            raise ValueError(f"versions {text[:40]!r}: {part.strip()[:20]!r} is not a comparison such as '<5.14.0' "
                             "(<, <=, >, >= or == and a dotted integer version)")
        found.append((match.group(1), numbers(match.group(2))))
    operators = sorted(op for op, _ in found)
    if len(found) > 2 or (len(found) == 2 and not (operators[0] in _UPPER and operators[1] in _LOWER)):
        raise ValueError(f"versions {text[:40]!r} is one comparison, or a lower and an upper bound ('>=1.2,<2')")
    result = Range(text.strip(), tuple(found))
    if len(found) == 2:
        (low_op, low), (high_op, high) = sorted(found, key=lambda c: c[0] in _UPPER)
        width = max(len(low), len(high))
        low, high = low + (0,) * (width - len(low)), high + (0,) * (width - len(high))
        if low > high or (low == high and (low_op, high_op) != (">=", "<=")):
            raise ValueError(f"versions {text[:40]!r} contains no version")
    return result


def numbers(version: str) -> tuple[int, ...]:
    """``'5.14'`` -> ``(5, 14)``; trailing zeros dropped so ``5.14`` equals ``5.14.0``."""
    values = [int(n) for n in version.split(".")]
    while len(values) > 1 and values[-1] == 0:
        values.pop()
    return tuple(values)


def comparable(version: str) -> tuple[int, ...] | None:
    """The numbers of an installed version, or ``None`` when it is not dotted integers."""
    plain = version.split("+", 1)[0]
    return numbers(plain) if re.fullmatch(r"\d+(\.\d+)*", plain) else None


def _compare(op: str, version: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    width = max(len(version), len(bound))
    left, right = version + (0,) * (width - len(version)), bound + (0,) * (width - len(bound))
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
            "==": left == right}[op]


def installed(distributions: tuple[str, ...], declared: str | None, directories: tuple[str, ...]) -> Installed | None:
    """The installed version (see the module docstring), or ``None`` when unknown or not comparable.
    ``directories``: the metadata directories on ``sys.path`` in its order (``distribution_dirs``)."""
    wanted = {_normal(d) for d in distributions}
    for directory in directories if wanted else ():
        name = os.path.basename(directory)
        stem = name.rsplit(".", 1)[0]
        head, _, version = stem.partition("-")
        version = version.split("-", 1)[0]  # an egg-info's name-1.0-py3.11
        if _normal(head) in wanted and version:
            found = comparable(version)
            return Installed(version, found, f"distribution {name}") if found is not None else None
    if declared:
        found = comparable(declared)
        return Installed(declared, found, "manifest version") if found is not None else None
    return None


@functools.cache
def distribution_dirs(entries: tuple[str, ...]) -> tuple[str, ...]:
    """The ``*.dist-info`` and ``*.egg-info`` directories on ``entries`` (``sys.path``), listed
    once per process: ``installed`` here, ``policy.own.detect`` and the entry-point scan
    (``policy.catalogue.group_declared``) read them."""
    found: list[str] = []
    for entry in entries:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found += [os.path.join(entry or ".", n) for n in names if n.endswith((".dist-info", ".egg-info"))]
    return tuple(found)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def applying(product: str, whole: Range | None, switches: tuple[object, ...], ranges: tuple[Range | None, ...],
             version: Installed | None) -> tuple[list[int], list[str]]:
    """The indexes of ``switches`` that apply to ``version``, and one note per range that excludes it."""
    if version is None:
        return list(range(len(switches))), []
    notes = []
    if whole is not None and not whole.contains(version.numbers):
        since = whole.since()
        told = f"no telemetry since {since}" if since else f"its telemetry is of versions {whole.text} only"
        notes.append(f"{product} {version.version}: {told}; its switches are neither read nor written "
                     f"(version from the {version.source})")
        return [], notes
    kept = []
    for index, (switch, declared) in enumerate(zip(switches, ranges, strict=True)):
        if declared is None or declared.contains(version.numbers):
            kept.append(index)
        else:
            where = getattr(switch, "variable", "") or getattr(switch, "path", "")
            notes.append(f"{product} {version.version}: {where} is read by versions {declared.text} only; "
                         f"it is neither read nor written (version from the {version.source})")
    return kept, notes
