"""Where a product keeps its own copy of each event, and how it uploads one (SPEC 6c): the
manifest's ``[saved]`` table, read by ``inspect --saved``, ``check`` and ``send --saved``.

```toml
[saved]
products = ["cellranger", "spaceranger"]      # whose events these are (default: the manifest's product)
paths = ["$XDG_CACHE_HOME/tenx/telemetry/{product}/{version}/*_????-??-??T??_??_??Z*.json"]
kept_days = 30                                # the product deletes an event this old (0: never)
url = "https://upload.example.org/api/v1/event"
method = "POST"
content_type = "application/json"
headers = "tenx-api-key"                      # a named recipe (RECIPES), never a guess
source = ["https://github.com/<owner>/<repo>/blob/<commit>/<file>#L1-L9"]
```

Terms:

- *path glob*: a path template (``policy/own/places.py``: ``~`` or ``$XDG_*`` then a relative
  path; the user's own places only) whose segments may be ``{product}`` (each of ``products``),
  ``{version}`` (any directory, read as the version) or a shell pattern (``*``, ``?``, ``[...]``).
- *header recipe*: how the product computes its request headers from an event; the code knows
  each by name. A name it does not know makes the manifest unusable (file:line): a guessed key
  would be sent under the product's name.

A saved event is a JSON object naming its ``product``, ``version`` and ``name`` (the shape of
Cell Ranger's ``event.Event``); the recipe reads the first two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from telemetry_gate.policy.paths import is_name

KEYS = frozenset({"products", "paths", "kept_days", "url", "method", "content_type", "headers", "source"})
METHODS = ("POST", "PUT")
_CONTENT_TYPE = r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+(; ?[a-z0-9_-]+=[A-Za-z0-9_.-]+)*"
_USER_HEADS = ("~", "$XDG_CONFIG_HOME", "$XDG_CACHE_HOME", "$XDG_DATA_HOME", "$XDG_STATE_HOME")


def tenx_api_key(event: Mapping[str, Any]) -> dict[str, str]:
    """10x Genomics' ``X-Api-Key``: base64 (standard alphabet, no padding) of
    sha256(product + version), both as the event names them (``uploadEvent``,
    lib/go/telemetry/settings/send.go:129-131 at ae7fcd1)."""
    import base64
    import hashlib

    digest = hashlib.sha256((str(event["product"]) + str(event["version"])).encode("utf-8")).digest()
    return {"X-Api-Key": base64.b64encode(digest).decode("ascii").rstrip("=")}


def no_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """A product that sends no header beyond the content type."""
    return {}


RECIPES: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "tenx-api-key": tenx_api_key,
    "none": no_headers,
}


class Saved(NamedTuple):
    """A manifest's ``[saved]`` table, validated."""

    owner: str  # the manifest's product
    products: tuple[str, ...]
    paths: tuple[str, ...]  # path globs
    url: str
    recipe: str
    source: tuple[str, ...]
    kept_days: int = 0
    method: str = "POST"
    content_type: str = "application/json"

    def present(self, environ: Mapping[str, str]) -> bool:
        """Whether a folder where the product saves events exists (the part of a glob before its
        first pattern): ``check`` reads no further for a product that never saved one here."""
        import os

        from telemetry_gate.policy.own.places import expand_text

        for glob in self.paths:
            head, _, rest = glob.partition("/")
            for product in self.products:
                fixed = []
                for part in rest.split("/")[:-1]:
                    part = product if part == "{product}" else part
                    if "{" in part or any(c in part for c in "*?["):
                        break
                    fixed.append(part)
                if os.path.isdir(os.path.join(expand_text(head, environ), *fixed)):
                    return True
        return False

    def headers(self, event: Mapping[str, Any]) -> dict[str, str]:
        """The product's own headers for ``event``: the content type and the recipe's."""
        return {"Content-Type": self.content_type, **RECIPES[self.recipe](event)}


if TYPE_CHECKING:  # not evaluated at run time: check imports this module
    Fail = Callable[[str, str], NoReturn]
    """``fail(problem, key)``: raises the manifest's error, naming the line of ``key`` in [saved]."""


def parse_saved(table: Any, product: str, fail: Fail) -> Saved | None:
    """``[saved]`` of the manifest of ``product``, or None when it has none."""
    if table is None:
        return None
    if not isinstance(table, dict):
        fail("[saved] must be a table", "saved")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        fail(f"[saved] does not take {unknown[0]!r}; an unknown key is refused, never ignored", unknown[0])
    products = table.get("products", [product])
    if not isinstance(products, list) or not products or any(
            not is_name(p) for p in products) or product not in products:
        fail(f"[saved] products must list product names, {product} included", "products")
    paths = table.get("paths")
    if not isinstance(paths, list) or not paths:
        fail("[saved] paths must list where the product keeps its events (path globs)", "paths")
    for glob in paths:
        _check_glob(glob, len(products) > 1, fail)
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith("https://") or any(c.isspace() for c in url) \
            or len(url) > 2000:
        fail("[saved] url must be the https:// address the product uploads each event to", "url")
    method = table.get("method", "POST")
    if method not in METHODS:
        fail(f"[saved] method must be one of {', '.join(METHODS)}, not {method!r}", "method")
    content_type = table.get("content_type", "application/json")
    if not isinstance(content_type, str) or not re.fullmatch(_CONTENT_TYPE, content_type):
        fail(f"[saved] content_type must be a media type such as application/json, not {content_type!r}",
             "content_type")
    recipe = table.get("headers")
    if recipe not in RECIPES:
        fail(f"[saved] headers names a recipe telemetry-gate does not know ({recipe!r}; it knows "
             f"{', '.join(repr(r) for r in sorted(RECIPES))}): a guessed header is never sent", "headers")
    kept = table.get("kept_days", 0)
    if not isinstance(kept, int) or isinstance(kept, bool) or not 0 <= kept <= 36500:
        fail("[saved] kept_days must be a number of days (0: the product never deletes them)", "kept_days")
    source = table.get("source")
    if isinstance(source, str):
        source = [source]
    if not isinstance(source, list) or not source or any(
            not isinstance(s, str) or not s.startswith(("https://", "http://")) for s in source):
        fail("[saved] needs a source: the URLs of the code or documentation its facts come from", "source")
    return Saved(product, tuple(products), tuple(paths), url, str(recipe), tuple(source), kept, method,
                 content_type)


def _check_glob(glob: Any, many: bool, fail: Fail) -> None:
    if not isinstance(glob, str) or not glob:
        fail("[saved] paths must be path globs", "paths")
    head = next((h for h in _USER_HEADS if glob.startswith(h) and glob[len(h):len(h) + 1] == "/"), "")
    if not head:
        fail(f"[saved] path {glob!r} must start with ~/ or $XDG_..._HOME/: a product's saved events are "
             "the user's own files", "paths")
    parts = glob[len(head) + 1:].split("/")
    if any(p in ("", ".", "..") or "$" in p or "\\" in p or "\0" in p for p in parts):
        fail(f"[saved] path {glob!r} may use no other variable, no empty part and no '.' or '..'", "paths")
    for part in parts:
        if "{" in part or "}" in part:
            if part not in ("{product}", "{version}"):
                fail(f"[saved] path {glob!r}: {{product}} and {{version}} stand for a whole part", "paths")
    if parts.count("{product}") > 1 or parts.count("{version}") > 1 or parts[-1] in ("{product}", "{version}"):
        fail(f"[saved] path {glob!r}: {{product}} and {{version}} name directories, at most once each", "paths")
    if many and "{product}" not in parts:
        fail(f"[saved] path {glob!r} needs {{product}} when products lists more than one", "paths")
    if not parts[-1].endswith(".json"):
        fail(f"[saved] path {glob!r} must name .json files", "paths")
