"""Generate the shell surface from the app itself: completions/ and man/telemetry.1.

Run: python scripts/generate_shell.py [OUTPUT_DIR]   (default: the repository)

Completions come from Typer's own mechanism (``_TELEMETRY_COMPLETE=source_<shell>``) through
``telemetry_gate.cli.completion.script``, which ``telemetry completion SHELL`` prints too (zsh's
made to complete at the first TAB). The man page walks
``typer.main.get_command(app)`` for the commands and their options (click-man does not see
typer >= 0.26 options) and adds the hand-written sections. Its date is ``SOURCE_DATE_EPOCH``
when set, else the fixed date below, so regeneration is byte-identical;
tests/test_shell_surface.py checks the committed files against a fresh run.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATE = 1795478400  # 2026-11-24 00:00 UTC
COMPLETIONS = {"bash": "telemetry.bash", "zsh": "_telemetry", "fish": "telemetry.fish"}


def completion(shell: str) -> bytes:
    import typer.main

    from telemetry_gate.cli.app import app
    from telemetry_gate.cli.completion import script

    return script(shell, typer.main.get_command(app)).encode()


# -- the man page ------------------------------------------------------------------------------

def esc(text: str) -> str:
    """Text for roff: backslashes and hyphens escaped, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def bold(text: str) -> str:
    return f"\\fB{esc(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{esc(text)}\\fR"


def _value(param: Any) -> str:
    choices = getattr(param.type, "choices", None)
    if choices:
        return "{" + "|".join(str(c) for c in choices) + "}"
    return str(param.metavar or param.type.name.upper())


def _synopsis(name: str, command: Any) -> str:
    parts = [bold(f"telemetry {name}")]
    for param in command.params:
        if param.param_type_name == "argument":
            parts.append(f"[{italic(_value(param))}]" if not param.required else italic(_value(param)))
    parts.append(f"[{italic('OPTIONS')}]")
    return " ".join(parts)


def _options(params: list[Any]) -> list[str]:
    lines = []
    for param in params:
        if param.param_type_name != "option" or param.hidden:
            continue
        names = ", ".join(bold(o) for o in sorted(param.opts, key=lambda o: (o.startswith("--"), o)))
        head = names if param.is_flag else f"{names} {italic(_value(param))}"
        lines += [".TP", head, esc(param.help or "")]
    return lines


def _commands(group: Any) -> list[str]:
    lines = [".SH COMMANDS"]
    for name, command in group.commands.items():
        lines += [".SS " + _synopsis(name, command), esc(command.help or "")]
        for param in command.params:
            if param.param_type_name == "argument" and getattr(param, "help", None):
                lines += [".TP", italic(_value(param)), esc(param.help)]
        lines += _options(command.params)
        examples = [line for line in (command.epilog or "").splitlines() if line.startswith("$ ")]
        if examples:  # as --help ends: cli.base.examples
            lines += [".PP", "Examples:", ".RS", ".nf", *(esc(e) for e in examples), ".fi", ".RE"]
    return lines


DESCRIPTION = """\
Scientific and data tools (Cell Ranger, StripePy, Genozip, PipeRider and many more) collect
telemetry. telemetry is the control point for all of them on one machine: it shows whether
telemetry is on and which layer of policy decided, turns it off or on for one product or all
of them, shows every record a product has kept in the local spool before anything leaves,
deletes records, and sends them only when policy allows. An administrator switches uploads
off for every user with one flag file. Only send and update ever open a network connection."""

class Section(NamedTuple):
    """A hand-written section of the man page: an opening sentence, then tagged paragraphs."""

    intro: str
    entries: list[tuple[str, str]]
    tag: Callable[[str], str] = bold


# Every hand-written section, in page order. To document a new variable, file or exit code, add a
# (tag, text) line to its list; keep FILES in step with the README's paths table (a test checks).
SECTIONS: dict[str, Section] = {
    "PRECEDENCE": Section("The first layer that speaks decides; telemetry check --explain shows every layer.", [
        ("0. The product's own switch", "a product reads its own switch whatever telemetry-gate says (Cell "
         "Ranger's flag files, STRIPEPY_NO_TELEMETRY, PipeRider's anonymous_tracking): where it is off, the "
         "product is off; where it disagrees with the layers below, check reports drift."),
        ("1. System flag files", "/etc/tenx/telemetry/disable, disable_upload, disable_update: their existence "
         "disables all facets, upload, or update for every user."),
        ("2. DO_NOT_TRACK", "any value other than 0, false, no or off disables every facet."),
        ("3. Vendor variables", "TENX_DISABLE_TELEMETRY, TENX_DISABLE_TELEMETRY_UPLOAD, "
         "TENX_DISABLE_TELEMETRY_UPDATE: any non-empty value disables (even 0, with a note)."),
        ("4. Product variables", "declared by a product's manifest, such as STRIPEPY_NO_TELEMETRY."),
        ("5. User settings", "[products.NAME], then [telemetry] in the user's settings.toml, then the user flag "
         "files that cellranger telemetry disable writes beside it (for the 10x products they cover and for "
         "products without switches of their own)."),
        ("6. System defaults", "/etc/tenx/telemetry/settings.toml, in the same order."),
        ("7. Product default", "a manifest's default = \"disabled\" (opt-in): collection is off until "
         "the product is enabled by name (telemetry enable -p NAME)."),
        ("8. Built-in default", "enabled."),
    ]),
    "ENVIRONMENT": Section("Variables telemetry reads, and the products' own variables it reads and sets.", [
        ("TELEMETRY_VENDOR", "The vendor namespace when --vendor is not given (default tenx); it names the "
         "directories and the variable prefix, for example ACME_DISABLE_TELEMETRY."),
        ("TELEMETRY_SYSTEM_DIR", "Replaces /etc as the root of the system flag files, defaults, manifests, "
         "consent history and the generated profile.d file."),
        ("TELEMETRY_ENDPOINT", "The collector URL for send when --endpoint is not given."),
        ("TELEMETRY_DEBUG", "Set to 1 to show the traceback of an error."),
        ("TELEMETRY_GATE_EXPORTED", "Set by the generated environment files: the variables they exported, so "
         "that a newer file unsets only its own stale values."),
        ("DO_NOT_TRACK", "Any value other than 0, false, no or off disables every facet of every product "
         "(https://consoledonottrack.com). The environment files telemetry generates (FILES) map it, when a "
         "shell starts, onto each catalogued product's own off switch, for products that do not read it."),
        ("TENX_DISABLE_TELEMETRY", "Any non-empty value, 0 included, disables every facet (collection, upload, "
         "update); for another vendor, VENDOR_DISABLE_TELEMETRY. The 10x products (Cell Ranger, Space Ranger, "
         "...) read it themselves; it is their only system-wide switch for collection, so a system-wide "
         "telemetry disable exports TENX_DISABLE_TELEMETRY=1 from the profile.d file."),
        ("TENX_DISABLE_TELEMETRY_UPLOAD", "Any non-empty value disables upload (VENDOR_DISABLE_TELEMETRY_UPLOAD)."),
        ("TENX_DISABLE_TELEMETRY_UPDATE", "Any non-empty value disables update (VENDOR_DISABLE_TELEMETRY_UPDATE)."),
        ("STRIPEPY_NO_TELEMETRY, NO_TELEMETRY", "StripePy's own switches: merely set, even to 0 or empty, "
         "turns its telemetry off."),
        ("RUBRIX_ENABLE_TELEMETRY, ARGILLA_ENABLE_TELEMETRY", "Rubrix 0.18 and Argilla: 0, off, f, false, n or "
         "no turn telemetry off (telemetry never writes another value: Rubrix's server refuses to start)."),
        ("OTEL_SDK_DISABLED", "true stops any OpenTelemetry SDK."),
        ("Other products' variables", "A manifest's [[product.env]] variables are read as layer 4; its "
         "[[native]] variables are the product's own switches, which the environment files (FILES) set when "
         "the policy turns the product off. telemetry products and telemetry inspect --catalog list them. "
         "A manifest's versions range (versions = \"<5.14.0\" on [product] or a switch) leaves a switch unread "
         "and unwritten when the installed version is known and outside it (docs/catalog.md)."),
        ("XDG_CONFIG_HOME", "The user's settings, flag files and generated environment files (default "
         "~/.config)."),
        ("XDG_STATE_HOME", "The spool and the consent history (default ~/.local/state)."),
        ("XDG_CACHE_HOME", "Configurations downloaded by update, and the events 10x products save themselves "
         "(default ~/.cache)."),
        ("XDG_DATA_HOME", "The user's product manifests (default ~/.local/share)."),
        ("HOME", "Where ~ is: the defaults above and products' own files such as ~/.piperider/profile.yml."),
        ("NO_COLOR", "Turns colour off."),
        ("FORCE_COLOR", "Turns colour on when the output is not a terminal."),
        ("HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY", "Proxies for send and update; a loopback endpoint never "
         "goes through a proxy."),
        ("SSL_CERT_FILE, SSL_CERT_DIR", "Certificates that send and update trust to verify an https collector."),
    ]),
    "FILES": Section("Paths for vendor tenx on Linux (--vendor changes tenx); /etc is TELEMETRY_SYSTEM_DIR when "
                     "set. The README's paths table lists the same.", [
        ("$XDG_CONFIG_HOME/tenx/telemetry/settings.toml", "The user's settings (mode 0600)."),
        ("$XDG_CONFIG_HOME/tenx/telemetry/disable, disable_upload, disable_update",
         "The user flag files: the 10x products' own switches, which cellranger telemetry disable writes; "
         "telemetry reads them (layer 5)."),
        ("/etc/tenx/telemetry/disable", "System policy: telemetry is disabled for every user (layer 1). The 10x "
         "products themselves ignore this file: for them, a system-wide disable exports TENX_DISABLE_TELEMETRY=1 "
         "from the profile.d file."),
        ("/etc/tenx/telemetry/disable_upload", "System policy: nothing is uploaded (the 10x products read it too)."),
        ("/etc/tenx/telemetry/disable_update", "System policy: no configuration is downloaded (the 10x products read "
         "it too)."),
        ("/etc/tenx/telemetry/settings.toml", "System defaults."),
        ("$XDG_STATE_HOME/tenx/telemetry/spool/", "The spool: tmp/ (being written), pending/<product>/<id>.json, "
         "sending/<claim>/ (claimed by a sender), sent/<date>.jsonl (the audit log, kept 30 days), "
         "rejected/<product>/, quarantine/<product>/ (malformed files moved aside), dropped/<product>."),
        ("$XDG_CACHE_HOME/tenx/telemetry/<product>/<product>-<version>", "Configuration downloaded by update."),
        ("$XDG_CACHE_HOME/tenx/telemetry/<product>/<version>/<event>_<time>*.json",
         "Events a 10x product saved itself (kept 30 days by the product): inspect --saved shows them, "
         "purge --saved deletes them."),
        ("<pipestance>/extras/telemetry/", "The same events, saved by the product in each pipestance: "
         "telemetry inspect PIPESTANCE shows them."),
        ("/etc/tenx/telemetry/products.d/*.toml", "Product manifests installed for every user."),
        ("$XDG_DATA_HOME/tenx/telemetry/products.d/*.toml", "The user's product manifests; they override "
         "system and shipped ones of the same name."),
        ("<site-packages>/telemetry_gate/catalog/<product>.toml", "The shipped catalogue of manifests."),
        ("$XDG_STATE_HOME/tenx/telemetry/notices/<product>", "Marks that the first-run notice of the product "
         "was shown to this user."),
        ("$XDG_STATE_HOME/tenx/telemetry/history.jsonl", "The consent history: one JSON line per enable or "
         "disable (check --history shows it); never purged."),
        ("/etc/tenx/telemetry/history.jsonl", "The consent history of --system changes, readable by every user."),
        ("$XDG_CONFIG_HOME/tenx/telemetry/env.sh, env.fish", "Generated (mode 0600) by enable, disable and "
         "shell-init: the products' own environment switches that the policy turns off, and all of them when "
         "DO_NOT_TRACK is set as the shell starts; the line shell-init prints loads them."),
        ("$XDG_CONFIG_HOME/environment.d/60-telemetry-gate.conf", "The same switches for the desktop session "
         "(systemd environment.d; KEY=VALUE lines)."),
        ("/etc/profile.d/telemetry-gate.sh", "Generated (mode 0644) by enable --system and disable --system; "
         "every login shell reads it. A system disable exports TENX_DISABLE_TELEMETRY=1."),
        ("~/.piperider/profile.yml", "PipeRider's own switch (anonymous_tracking: false); telemetry products "
         "shows its state and every other catalogued product's own switch files."),
    ], italic),
    "MANIFESTS": Section("A product manifest is a TOML file: the shipped catalogue, then "
                         "/etc/tenx/telemetry/products.d, then $XDG_DATA_HOME/tenx/telemetry/products.d (a later "
                         "file of the same name wins). An unknown key or a malformed value makes the manifest "
                         "unusable, with its file and line (exit 3); its product then collects nothing. "
                         "docs/catalog.md and docs/manifests.md give every detail.", [
        ("[product]", "name, description, homepage, telemetry_docs, version; default = \"disabled\" (opt-in); "
         "limits (what no switch stops, shown by check); versions, a range such as \"<5.14.0\" (the versions "
         "with telemetry at all); endpoint, format, strict, privacy_url, retention, contact, notice; config_url (the "
         "configuration telemetry update downloads)."),
        ("[detect]", "executables, distributions (Python), paths: any one found means the product is here."),
        ("[[native]] kind = \"env\"", "variable and off, the value written to turn it off; off_when says which "
         "values the product itself reads as off: set (any, even empty), nonempty, values (off_values, in any "
         "case; trim = true when the product strips spaces) or unless (every value but on_values); "
         "exact = true compares as written; on, the value that means on; outranks_files = true when the product "
         "reads the variable before its own files, so that a value not off makes an off file switch moot "
         "(\"nonempty\": unless the value is empty, which leaves the files to decide)."),
        ("[[native]] kind = \"flag-file\"", "path: a file whose existence turns the product off; covers: every "
         "product the one file governs."),
        ("[[native]] kind = \"config-file\"", "path, format (toml, yaml, json, jsonc: JSON with comments, ini, "
         "text: the file's first word, or lines: one key=value line, as Dart reads its telemetry file) and key "
         "(dotted; "
         "ini: section.key; flat_key = true for one JSON member whose name holds dots), off and on (values "
         "compared by type; ini as text, where off_when, off_values and on_values say which words the product "
         "reads as off), absent (what a missing file or key means), other = \"off\" when only the on value is "
         "on, requires (keys the product needs beside the switch, with a generator); active = { variable, "
         "file, default, pattern } (pattern: letters and character classes such as [a-z], at most two repeated "
         "with * or +) with {active} in the path's file name, for a product that keeps one file per "
         "named configuration and the active name in another file (gcloud): such a file is read, but written "
         "only once the product has made its active configuration."),
        ("Every [[native]]", "facets (collection, upload, update), source (the product's code at a tag or "
         "commit, or its documentation), note, scope (user or system), part (the part of the product it "
         "stops), versions (the product versions that read it)."),
        ("path", "Starts with ~, $XDG_CONFIG_HOME, $XDG_CACHE_HOME, $XDG_DATA_HOME, $XDG_STATE_HOME, $APPDATA or "
         "(system scope only) $SYSTEM; never . or ..; a table { linux = ..., macos = ..., windows = ... } where "
         "the product computes its place per platform; moved_by lists the product's variables that move the file "
         "elsewhere (gcloud's CLOUDSDK_CONFIG): while one is set, even empty, the file is neither read nor written."),
        ("Narrow powers", "A file switch lives only in a directory named for its product, never among "
         "telemetry-gate's own files or other sensitive places; outside the shipped catalogue a variable or key "
         "must say it is about telemetry, and never names a hook such as a pager or an editor."),
        ("[fields.NAME]", "category, description, example: what the product collects, shown by "
         "telemetry inspect --catalog."),
        ("[saved]", "Where the product keeps its own events and how it uploads one (products, paths, kept_days, "
         "url, method, content_type, headers: a named recipe, source): inspect --saved and send --saved."),
    ]),
    "RELIABILITY": Section("What send and the library promise (docs/reliability.md says the same).", [
        ("Delivery", "At least once: a record leaves the spool only after the collector's 2xx; a sender "
         "killed mid-send leaves its claim, which the next run puts back."),
        ("408, 429, 502, 503, 504", "Retried with backoff and jitter within --timeout (Retry-After honoured "
         "up to 30 s, never shorter than the backoff); then the records stay pending (exit 5)."),
        ("Other 4xx", "The collector refused the records: the batch moves to rejected/; "
         "send --rejected sends it again."),
        ("401, 403, 404, other 5xx", "Likely a wrong endpoint or credentials: no retry, the records stay "
         "pending (exit 5)."),
        ("--timeout", "One deadline for the whole run, answers included; a TLS failure is not retried."),
        ("Record limit", "64 KiB: a larger record is refused when written; a larger file in pending/ is "
         "never read whole and never posted, but moved to quarantine/."),
        ("NaN, Infinity", "Stored as null (they are not JSON); a stored file that holds them is quarantined."),
    ]),
    "SECURITY": Section("What telemetry-gate promises about your files and your terminal.", [
        ("Permissions", "Every directory it makes is 0700, parents included, whatever the umask (the system "
         "directory 0755); every file 0600."),
        ("Shared directories", "A settings, spool, cache or manifest directory (or one above it) that another "
         "user could change is refused: exit 4, naming it and the fix, chmod go-w DIR; the library collects "
         "nothing. Along the system directory, nothing may be world-writable."),
        ("Escaping", "Collector answers, record fields, file names and manifest texts are shown with control "
         "characters escaped (\\x1b) in every view and message; --json writes DEL, C1 controls "
         "and bidi overrides as \\u escapes (the same JSON once parsed)."),
        ("Scrubbing", "Home (and its real path), user and host names, e-mail and IP addresses, URL credentials "
         "and credential-looking tokens (<secret>) never reach a record; an endpoint's user:password@ never "
         "reaches the audit log."),
        ("Paths", "A product version must be a plain version (letters, digits, . _ + ~ -); a cache path is "
         "checked to stay inside the cache."),
        ("Proxies", "Plain http only to a loopback endpoint, never through a proxy; other endpoints https, "
         "with the environment's proxies and SSL_CERT_FILE."),
        ("Audit failure", "A 2xx is final: if the audit log cannot be written, the records are still removed, "
         "sending stops, exit 74."),
    ]),
    "EXIT STATUS": Section("", [
        ("0", "Success."),
        ("1", "check FACET --quiet: the facet is disabled."),
        ("2", "Usage error: also options that cannot go together, a value such as --timeout nan or --since 3x, "
         "an argument that is neither a record id nor a path; send with no endpoint configured (give "
         "--endpoint, TELEMETRY_ENDPOINT or endpoint = \"https://...\" in the settings)."),
        ("3", "A settings, manifest or record file is invalid (the message names the file and line; a "
         "settings key telemetry does not read counts)."),
        ("4", "Permission denied, or a read-only file system; also send ID refused by a layer above the "
         "user's own settings (nothing sent); "
         "or a settings, spool, cache or system directory that another user could change, refused (the "
         "message names it and the chmod go-w that fixes it)."),
        ("5", "send did not complete: records remain pending or were rejected."),
        ("6", "update could not download a product's configuration (nothing else changed)."),
        ("70", "Internal error (a bug; TELEMETRY_DEBUG=1 shows the traceback)."),
        ("74", "A write failed: no space left on the device; or, for send, a collector accepted records "
         "(removed from the spool, never sent again) but the audit log could not be written; sending stopped."),
        ("130", "Interrupted."),
        ("141", "stdout was closed by its reader (telemetry inspect --json | head): nothing more is printed, as "
         "for a process killed by SIGPIPE."),
    ]),
}

EXAMPLES = [
    ("An administrator stops uploads for every user of the machine:",
     ["sudo touch /etc/tenx/telemetry/disable_upload", "sudo telemetry disable upload --system"]),
    ("A user checks who decided, looks at what is kept, and deletes it:",
     ["telemetry check --explain", "telemetry inspect", "telemetry purge --older-than 30d --yes"]),
    ("New shells carry the products' own off-switches (zsh: ~/.zshrc; fish: its config.fish):",
     ["telemetry shell-init bash >> ~/.bashrc"]),
    ("A script asks whether upload is on:", ["telemetry check upload --quiet && echo on"]),
    ("Since when has upload been off, and who turned it off?", ["telemetry check upload --history"]),
    ("Send what policy allows, from cron:", ["telemetry send --timeout 120"]),
    ("Send one chosen record (shown first; asks unless --yes):", ["telemetry send 01M87HPT9H"]),
]


def _tagged(items: list[tuple[str, str]], tag: Callable[[str], str] = bold) -> list[str]:
    lines = []
    for name, text in items:
        lines += [".TP", tag(name), esc(text)]
    return lines


def man_page(date: int) -> str:
    from telemetry_gate import __version__
    from telemetry_gate.cli.app import every_command

    group = every_command()
    day = time.strftime("%Y-%m-%d", time.gmtime(date))
    lines = [
        f'.TH TELEMETRY 1 "{day}" "telemetry-gate {__version__}" "User Commands"',
        ".SH NAME",
        "telemetry \\- see, stop and send the telemetry that scientific and data tools collect",
        ".SH SYNOPSIS",
        f"{bold('telemetry')} [{bold('--vendor')} {italic('NAME')}] {italic('COMMAND')} [{italic('OPTIONS')}]",
        ".br",
        f"{bold('telemetry')} {bold('--version')} | {bold('--help')}",
        ".SH DESCRIPTION",
        esc(DESCRIPTION),
        ".PP",
        esc("Each facet of each product resolves to enabled or disabled: collection (records are made and "
            "kept), upload (records leave the machine) and update (the product may download its telemetry "
            "configuration). Upload is disabled whenever collection is."),
        ".SH GLOBAL OPTIONS",
        *_options(group.params),
        *_commands(group),
    ]
    for title, section in SECTIONS.items():
        lines += [f".SH {title}", *([esc(section.intro)] if section.intro else []),
                  *_tagged(section.entries, section.tag)]
    lines.append(".SH EXAMPLES")
    for text, commands in EXAMPLES:
        lines += [".PP", esc(text), ".PP", ".RS", ".nf", *(esc(c) for c in commands), ".fi", ".RE"]
    lines += [".SH SEE ALSO", "cellranger(1), brew(1), https://consoledonottrack.com, "
              "https://opentelemetry.io/docs/specs/otlp/"]
    return "\n".join(lines) + "\n"


def generate(out: Path) -> list[Path]:
    written = []
    for shell, name in COMPLETIONS.items():
        target = out / "completions" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(completion(shell))
        written.append(target)
    page = out / "man" / "telemetry.1"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(man_page(int(os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_DATE)), encoding="utf-8")
    written.append(page)
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO):
        print(path)
