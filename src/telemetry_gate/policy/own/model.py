"""A product's own switches (``[[native]]`` in a manifest) and how to tell it is installed.

Terms (the schema is ``tools/NATIVE_SCHEMA.md``; SPEC 6b):

- *native switch*: a switch the product itself reads - a variable (``env``), a file whose mere
  existence means off (``flag-file``), or a key in the product's configuration file
  (``config-file``). Each names the ``facets`` it turns off and the ``source`` (a documentation
  page or a line of the product's code) its facts come from.
- *path template*: where a switch's file is (``places.py``: ``~``, ``$XDG_CONFIG_HOME``, ...,
  ``$SYSTEM``, or one template per platform).
- *versions*: the range of the product's versions that read a switch (``<5.14.0``; ``versions.py``);
  one the installed version is outside is neither read nor written.
- *part*: switches that each stop only a part of the product (Gradio's apps and its client) name
  that part; a facet is off by them only when every part has a switch off for it.

Validation is ``schema.py``'s (``parse_native``, ``parse_detect``); what a switch may reach and
write is narrowed by ``powers.py`` (docs/manifests.md).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from telemetry_gate.policy.own.active import TOKEN, Active, Unresolved
from telemetry_gate.policy.own.places import expand

KINDS = ("env", "flag-file", "config-file")
# text: the file's first word is the value (Go's mode file); jsonc: JSON with comments (``jsonc.py``);
# lines: name=value lines as Dart reads them (``lines.py``)
FORMATS = ("toml", "yaml", "json", "jsonc", "ini", "text", "lines")
SCOPES = ("user", "system")
FACET_NAMES = ("collection", "upload", "update")
GENERATORS = ("uuid4-hex",)  # values for a config-file's ``requires``: uuid.uuid4().hex

Scalar = str | bool | int | float



class NativeSwitch(NamedTuple):
    """One of a product's own switches, as its manifest declares it."""

    product: str
    kind: str  # "env" | "flag-file" | "config-file"
    facets: tuple[str, ...]
    source: str
    note: str = ""
    scope: str = "user"  # "user" | "system"
    # env
    variable: str = ""
    off_when: str = "set"  # "set" (even empty) | "nonempty" (any value but "") | "values" (off_values)
    off_values: tuple[str, ...] = ()  # | "unless" (every value but on_values)
    on_values: tuple[str, ...] = ()
    trim: bool = False  # "values": the product strips spaces before comparing (click, Enum.TryParse)
    exact: bool = False  # "values"/"unless": compared as written (== "true" in bash), not in any case
    # the product reads the variable before its own files: "set" (gcloud, Ray: any value, even empty),
    # "nonempty" (an empty value leaves the files to decide: the Salesforce CLI); "": it does not
    outranks_files: str = ""
    part: str = ""  # the part of the product the switch stops, when it stops only a part
    versions: str = ""  # the range of product versions that read it (``versions.py``); "": every version
    # flag-file and config-file
    path: str = ""  # a path template (see the module docstring): this platform's
    paths: tuple[tuple[str, str], ...] = ()  # a per-platform path: (platform, template) for each declared
    covers: tuple[str, ...] = ()  # every product the switch governs, this one included
    # config-file
    format: str = ""
    key: str = ""  # dotted; for ini "section.key"
    flat_key: bool = False  # json, jsonc: ``key`` is one member whose name holds dots ("telemetry.telemetryLevel")
    # the value written for off / on (env: a string; config-file: a TOML scalar); None: not declared
    off: Scalar | None = None
    on: Scalar | None = None
    absent: str = "on"  # config-file: what a missing file or key means
    other: str = "other"  # config-file: what a value neither off nor on means ("off": only on is on)
    # config-file: keys the product needs beside the switch (else it rewrites the file), with the
    # generator of a value for a missing one: (("user_id", "uuid4-hex"),)
    requires: tuple[tuple[str, str], ...] = ()
    # flag-file and config-file: the product's variables it reads first (``outranks_files``); set to a
    # value that is not off, one of them makes this file's switch moot (``state.read``)
    outranked_by: tuple["NativeSwitch", ...] = ()
    active: Active | None = None  # config-file: the file is the active configuration's (``active.py``)
    # flag-file and config-file: the product's variables that move its file elsewhere (gcloud's
    # CLOUDSDK_CONFIG); while one is set, even empty, the file here is not the product's: neither read nor written
    moved_by: tuple[str, ...] = ()

    def place(self, environ: Mapping[str, str]) -> tuple[Path, str, str]:
        """The switch's file in ``environ``, with the active configuration's name and where that
        came from (``active.py``; both "" for a switch without one); raises ``active.Unresolved`` when
        that name is not one the product uses, or a ``moved_by`` variable is set."""
        moved = next((v for v in self.moved_by if v in environ), None)
        if moved is not None:
            raise Unresolved(f"{moved} is set: {self.product} keeps this file elsewhere, so it is neither read "
                             "nor written here")
        if self.active is None:
            return expand(self.path, environ), "", ""
        name, origin = self.active.name(environ)
        return expand(self.path.replace(TOKEN, name), environ), name, origin

    def file(self, environ: Mapping[str, str]) -> Path:
        """``place`` without the name."""
        return self.place(environ)[0]

    def where(self, environ: Mapping[str, str], path: Path | None = None) -> str:
        """A person's name for the switch: the variable, the file, or ``file key``; ``path``: its
        file, when the caller has it already (a pointer file is then not read again)."""
        if self.kind == "env":
            return self.variable
        from telemetry_gate.policy.paths import display

        if path is None:
            try:
                path = self.file(environ)
            except Unresolved:
                path = expand(self.path, environ)  # shown with its {active}
        shown = str(path) if self.scope == "system" else display(path)
        return f"{shown} {self.key}" if self.kind == "config-file" and self.key else shown

    def is_off_value(self, value: str) -> bool:
        """env: whether the variable's value switches the product off."""
        if self.off_when == "set":
            return True
        if self.off_when == "nonempty":  # JavaScript's !!value, Python's bool(os.getenv(...)): " " counts
            return value != ""
        if self.off_when == "unless":  # value == "1", value.lower() in (...): any case is on (the safe side)
            return (value if self.exact else value.lower()) not in self.on_values
        if self.exact:
            return value in self.off_values
        return (value.strip() if self.trim else value).lower() in self.off_values


class Detect(NamedTuple):
    """How to tell that a product is installed: any one match is enough."""

    executables: tuple[str, ...] = ()
    distributions: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # path templates
