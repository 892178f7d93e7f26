"""The words every room shares: the facets, the upload formats, the record categories, and
how a value a person typed (an environment variable, a product's switch) reads as yes or no.

Kept here, apart from the modules that parse settings or manifests, so that the spool, the
sender and the policy agree on one list each; imports nothing."""

from __future__ import annotations

FACETS = ("collection", "upload", "update")
FORMATS = ("otlp", "json")
CATEGORIES = ("usage", "performance", "device", "crash")  # of a record and of a manifest field

# The version of the --json output, one number for every surface (docs/json.md): raised only when
# a key is renamed or removed or changes its type; a new key never raises it.
JSON_VERSION = 1
JSON_VERSION_VARIABLE = "TELEMETRY_JSON_VERSION"  # a script's pin: any other version exits 2

NO_WORDS = frozenset({"0", "false", "no", "off"})
YES_WORDS = frozenset({"1", "true", "yes", "on"})


def meaning(value: str) -> bool | None:
    """``True`` for a yes word, ``False`` for a no word (any case, spaces around ignored),
    ``None`` for anything else: a value that is not understood never turns telemetry on."""
    word = value.strip(" \t\n\r\f\v").lower()  # the ASCII spaces the shell files trim too ([[:space:]])
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None
