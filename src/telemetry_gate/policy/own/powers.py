"""What a manifest may make telemetry-gate do: narrow powers (SPEC 6b, docs/manifests.md).

A manifest is data, and a ``products.d`` file or an installed package's entry point can hold
anything. Whatever it declares, its switches can only

- name a variable that is a plain upper-case name and no shell, loader or interpreter hook
  (``hook``): the generated shell files export it in every new shell;
- write a value, key or section that is one printable line of at most ``MAX_TEXT`` characters
  (``one_line``): a newline in an INI value would add sections to the product's file;
- reach a file in the product's own place (``place``): a directory named for the product one
  level below the home directory, an XDG base directory or the system root, never a place that
  runs code or holds secrets (``SENSITIVE``), never telemetry-gate's own layout
  (``<base>/<name>/telemetry/``); paths the shipped catalogue declares for the product are its
  own by review (Cell Ranger's ``disable`` files in ``~/.config/tenx/telemetry/``).

Each function returns the problem as a sentence, or ``None``; ``model`` turns it into the
manifest's error (file:line), so a manifest breaking a rule is refused whole and loosens nothing.
"""

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemetry_gate.policy.paths import Paths

MAX_TEXT = 256

# names no product may claim: the shell's own variables, dynamic loaders and interpreters that
# run code or load libraries from a variable, telemetry-gate's own variables (TELEMETRY_ENDPOINT
# would redirect uploads), and variables that redirect where programs find their configuration
_HOOKS = frozenset({
    "BASH_ENV", "ENV", "PROMPT_COMMAND", "PROMPT_DIRTRIM", "PS0", "PS1", "PS2", "PS3", "PS4", "PATH", "HOME",
    "IFS", "SHELL", "SHELLOPTS", "BASHOPTS", "GLOBIGNORE", "TERM", "TERMINFO", "TERMCAP", "ZDOTDIR", "FPATH",
    "CDPATH", "MANPATH", "INFOPATH", "EDITOR", "VISUAL", "PAGER", "BROWSER", "LESSOPEN", "LESSCLOSE",
    "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "INPUTRC", "NODE_OPTIONS", "NODE_PATH",
    "CLASSPATH", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "GCONV_PATH", "PHPRC",
    "DOTNET_STARTUP_HOOKS", "DOTNET_ADDITIONAL_DEPS", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "KUBECONFIG", "DOCKER_HOST",
    "SUDO_ASKPASS", "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "VIRTUAL_ENV", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "GOOGLE_APPLICATION_CREDENTIALS",
})
_HOOK_PREFIXES = ("LD_", "DYLD_", "PYTHON", "PERL", "RUBY", "GEM_", "BUNDLE_", "LUA_", "MAIL", "HIST", "LC_",
                  "XDG_", "GIT_", "SSH_", "GPG", "GNUPG", "TELEMETRY_", "BASH_FUNC_", "COMP_", "READLINE",
                  "PIP_", "NPM_CONFIG_", "UV_", "CONDA", "R_", "MALLOC_", "GLIBC_")
_VARIABLE = r"[A-Z][A-Z0-9_]*"

# first directories a manifest never reaches, even when its product bears that name: places that
# run code at login or start-up, hold keys or credentials, or configure the system
SENSITIVE = frozenset({
    "ssh", "gnupg", "gpg", "pki", "kube", "aws", "azure", "gcloud", "docker", "containers", "password-store",
    "keyrings", "local", "config", "cache", "bin", "sbin", "lib", "share", "state", "autostart", "systemd",
    "applications", "mozilla", "git", "hg", "mercurial", "subversion", "bash", "zsh", "fish", "sh", "profile",
    "bashrc", "zshrc", "vim", "nvim", "emacs", "pip", "npm", "cargo", "rustup", "gem", "conda", "m2", "gradle",
    "netrc", "dbus", "dbus-1", "dconf", "cron", "crontab", "sudo", "sudoers", "pam", "security", "polkit-1",
    "apt", "dpkg", "yum", "dnf", "default", "skel", "init", "network", "networkmanager", "xdg", "x11", "udev",
    "ld.so", "environment", "hostname", "hosts", "passwd", "shadow", "group", "login.defs", "selinux",
    "apparmor", "tenx", "telemetry", "telemetry-gate", "tmp", "var", "etc", "usr", "opt", "root", "home",
})


def hook(variable: object) -> str | None:
    """Why ``variable`` cannot be an env switch, or ``None``."""
    if not isinstance(variable, str) or not re.fullmatch(_VARIABLE, variable) or len(variable) > 128:
        return "needs a variable name of upper-case letters, digits and '_' (^[A-Z][A-Z0-9_]*$)"
    if variable in _HOOKS or variable.startswith(_HOOK_PREFIXES):
        return (f"may not name {variable}: a shell, loader or interpreter variable (or telemetry-gate's own) "
                "that would change more than the product's telemetry")
    return None


# what a switch that is about telemetry is called: a manifest outside the shipped catalogue may
# name only such a variable, and set only such a key (in its name or its file's), so that a
# products.d file cannot export VIMINIT or set a Jupyter server's token; the shipped catalogue's
# every name matches too (tests/test_manifest_powers.py), so a products.d copy of it still works
_TELEMETRY_WORDS = (r"TELEMETRY|ANALYTIC|TRACK|USAGE|STATS|METRIC|REPORT|OPT_?OUT|OPT_?IN|CONSENT|CHECKPOINT"
                    r"|PHONE_?HOME|UPDATE|VERSION_?CHECK|CHECK_?LATEST|NEWS|DIAGNOSTIC|CRASH|SENTRY|ANON|BEACON|OTEL")


def about_telemetry(name: str) -> bool:
    """Whether a variable, key or file name says it is about telemetry (any case, any separator)."""
    import re

    return re.search(_TELEMETRY_WORDS, re.sub(r"[^A-Z0-9]+", "_", name.upper()).replace("_", "")
                     ) is not None or re.search(_TELEMETRY_WORDS, name.upper()) is not None


def one_line(value: str, limit: int = MAX_TEXT) -> str | None:
    """Why ``value`` cannot be written into a product's file or a shell file, or ``None``."""
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if not value.isprintable():
        return "must be one line of printable text (no newline, tab or other control character)"
    return None


_INI_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"


def ini_name(part: str) -> str | None:
    """An INI section or key: a plain name (no ``]``, ``=``, ``:``, space or newline)."""
    return None if re.fullmatch(_INI_NAME, part) else "is not a plain INI name (letters, digits, '_', '.', '-')"


_MACOS_BASES = ("Application Support", "Preferences", "Caches", "Logs")


def place(template: str, head: str, product: str, trusted: frozenset[str] | None) -> str | None:
    """Why a flag-file or config-file switch may not live at ``template``, or ``None``.

    ``head`` is the template's ``~``/``$XDG_...``/``$SYSTEM`` (``""``: an absolute path);
    ``trusted``: the templates the shipped catalogue declares for this product (``None``: this
    is the shipped catalogue itself)."""
    if trusted is None or template in trusted:
        return None
    if not head:
        return "may be an absolute path only in the shipped catalogue"
    parts = [p for p in template[len(head):].split("/") if p]
    where = head
    if head == "~" and parts[:1] == ["Library"] and len(parts) > 1 and parts[1] in _MACOS_BASES:
        where, parts = f"~/Library/{parts[1]}", parts[2:]  # macOS' own base directories
    if len(parts) < 2 or parts[0] not in (product, f".{product}"):
        return (f"must be inside a directory named for the product, one level below {where} "
                f"({where}/{'.' if where == '~' else ''}{product}/...)")
    name = parts[0].lstrip(".")
    if name in SENSITIVE or name.endswith(".d") or name.startswith("cron"):
        return f"may not reach {where}/{parts[0]}: a place that runs code, holds secrets or configures the system"
    if parts[1] == "telemetry":
        return f"may not reach {where}/{parts[0]}/telemetry: telemetry-gate's own files live there"
    return None


def own_file(path: str, paths: "Paths", shipped: bool) -> str | None:
    """Why a switch may not write ``path`` (expanded), checked again when it is written with the
    vendor's real directories: telemetry-gate's own settings, spool, manifests and generated files
    are never a product's switch; only the shipped catalogue's flag files in the user or system
    directory (Cell Ranger's ``disable``, ``disable_upload``, ``disable_update``) are shared."""
    import os

    real = os.path.realpath(path)
    parent = os.path.dirname(real)
    if os.path.basename(parent) in ("environment.d", "profile.d"):
        return f"{path} is in {parent}, where login shells and sessions read code and variables"
    if shipped and shared_flag(path, paths):
        return None
    for own in (paths.config_dir, paths.state_dir, paths.cache_dir, paths.data_dir, paths.system_dir):
        base = os.path.realpath(own)
        if real == base or real.startswith(base + os.sep):
            return f"{path} is one of telemetry-gate's own files, not a product's switch"
    return None


def shared_flag(path: str, paths: "Paths") -> bool:
    """Whether ``path`` is one of the flag files telemetry-gate shares with Cell Ranger
    (``disable``, ``disable_upload``, ``disable_update`` in the user or system directory): its own
    settings, where existence counts and content is ignored (SPEC 3)."""
    import os

    parent, name = os.path.split(path)  # the entry itself, not where a link in its place points
    parent = os.path.realpath(parent)
    return name in ("disable", "disable_upload", "disable_update") and parent in (
        os.path.realpath(paths.config_dir), os.path.realpath(paths.system_dir))
