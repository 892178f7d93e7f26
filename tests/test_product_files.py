"""Other products' files are read and written defensively (issue 20 item 4, SPEC 6b,
``policy/own/files.py``): each hostile file of issue 20's "Harm" list at PipeRider's real place,
``~/.piperider/profile.yml``, in the isolated HOME; then a property-based test over generated
manifests and product files.

A file that could hang or exhaust the reader is tried with the installed script in a real
process, bounded by a timeout (and, for the sparse file, an address-space limit), so a
regression fails instead of stalling or swapping the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Env, Telemetry, script_path
from telemetry_gate.errors import TelemetryError
from telemetry_gate.native import edit
from telemetry_gate.policy.own import files
from telemetry_gate.policy.own.model import NativeSwitch
from telemetry_gate.policy.own.places import expand
from telemetry_gate.policy.own.state import load_key, read

PROFILE = "~/.piperider/profile.yml"
PIPERIDER = NativeSwitch("piperider", "config-file", ("collection", "upload"), "https://x", path=PROFILE,
                         format="yaml", key="anonymous_tracking", off=False, on=True, covers=("piperider",),
                         requires=(("user_id", "uuid4-hex"),))
# 9 levels of 9 aliases: 9**9 (387 million) strings once expanded
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)))


def _profile(isolation: Env) -> Path:
    path = isolation.home / ".piperider" / "profile.yml"
    path.parent.mkdir(exist_ok=True)
    return path


def _run(*args: str, limit_memory: bool = False) -> subprocess.CompletedProcess[str]:
    """The installed script in its own process: a hang fails the test (TimeoutExpired), never the run."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: a 2 GiB read fails fast

    return subprocess.run([script_path(), *args], capture_output=True, text=True, timeout=30,
                          preexec_fn=limit if limit_memory else None)


# -- the harm ----------------------------------------------------------------------------------


def test_a_fifo_never_hangs_a_command(isolation: Env) -> None:
    fifo = _profile(isolation)
    os.mkfifo(fifo)
    results = {}
    for args in (("check",), ("products",), ("disable",), ("enable", "-p", "piperider")):
        results[args[0]] = result = _run(*args)  # an open() or read() of it would wait for a writer for ever
        assert result.returncode in (0, 3) and "Traceback" not in result.stderr, (args, result.stderr)
    assert results["disable"].returncode == 3 and "FIFO" in results["disable"].stderr
    assert "FIFO" in results["check"].stdout
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_huge_sparse_profile_is_refused_from_its_size(isolation: Env) -> None:
    profile = _profile(isolation)
    with open(profile, "wb") as file:
        file.truncate(2 << 30)  # 2 GiB of holes: nothing on disk, everything in a read()
    for args in (("check", "-p", "piperider"), ("disable", "-p", "piperider"), ("products",)):
        result = _run(*args, limit_memory=True)
        assert result.returncode in (0, 3) and "Traceback" not in result.stderr, (args, result.stderr)
        assert "larger than 1 MiB" in result.stdout + result.stderr or args == ("products",), args
    assert profile.stat().st_size == 2 << 30


def test_a_yaml_alias_bomb_is_refused_before_it_expands(isolation: Env) -> None:
    assert len(BOMB) < 500
    profile = _profile(isolation)
    profile.write_text(BOMB)
    check = _run("check", "-p", "piperider")
    assert check.returncode == 0 and "anchors or aliases" in check.stdout
    disable = _run("disable", "-p", "piperider")
    assert disable.returncode == 3 and "anchors or aliases" in disable.stderr
    assert profile.read_text() == BOMB


def test_a_link_planted_through_a_world_writable_directory_is_never_written(inprocess: Telemetry,
                                                                           isolation: Env) -> None:
    """Another user replaced profile.yml in the victim's 0777 ~/.piperider by a link to the
    victim's ~/.kube/config."""
    kube = isolation.home / ".kube" / "config"
    kube.parent.mkdir()
    kube.write_text("apiVersion: v1\nclusters: []\n")
    kube.chmod(0o600)
    profile = _profile(isolation)
    profile.parent.chmod(0o777)
    profile.symlink_to(kube)
    before = kube.read_bytes(), kube.stat().st_mode
    for args in (("disable", "-p", "piperider"), ("disable",), ("enable", "-p", "piperider")):
        result = inprocess(*args)
        assert (kube.read_bytes(), kube.stat().st_mode) == before, args
    result = inprocess("disable", "-p", "piperider")
    assert result.exit_code == 3 and "leads out of" in result.stderr
    assert "leads out of" in inprocess("check", "-p", "piperider").stdout


def test_a_world_writable_product_directory_is_refused_even_without_a_link(inprocess: Telemetry,
                                                                           isolation: Env) -> None:
    profile = _profile(isolation)
    profile.write_text("user_id: abc\nanonymous_tracking: true\n")
    profile.parent.chmod(0o777)
    result = inprocess("disable", "-p", "piperider")
    assert result.exit_code == 3 and "can be written by every user" in result.stderr
    assert profile.read_text() == "user_id: abc\nanonymous_tracking: true\n"
    profile.parent.chmod(0o700)
    assert inprocess("disable", "-p", "piperider").exit_code == 0
    assert "anonymous_tracking: false" in profile.read_text()


def test_a_link_within_the_product_directory_is_followed(isolation: Env) -> None:
    real = isolation.home / ".piperider" / "profiles" / "main.yml"
    real.parent.mkdir(parents=True)
    real.write_text("user_id: abc\nanonymous_tracking: true\n")
    link = _profile(isolation)
    link.symlink_to(real)
    edit.set_key(link, PIPERIDER, False)
    assert link.is_symlink() and "anonymous_tracking: false" in real.read_text()


def test_a_file_of_another_user_is_refused(isolation: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _profile(isolation)
    profile.write_text("user_id: abc\nanonymous_tracking: true\n")
    if os.geteuid() == 0:
        os.chown(profile, 4242, 4242)
    else:  # this user's file, seen by "another" user
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 4242)
    assert read(PIPERIDER, os.environ).state == "unreadable"
    with pytest.raises(TelemetryError, match="belongs to another user"):
        edit.set_key(profile, PIPERIDER, False)
    assert profile.read_text() == "user_id: abc\nanonymous_tracking: true\n"


def test_a_rewrite_keeps_mode_and_group(isolation: Env) -> None:
    profile = _profile(isolation)
    profile.write_text("user_id: abc\nanonymous_tracking: true\n")
    profile.chmod(0o640)
    group = 4242 if os.geteuid() == 0 else profile.stat().st_gid
    os.chown(profile, -1, group)
    edit.set_key(profile, PIPERIDER, False)
    after = profile.stat()
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o640, os.geteuid(), group)
    assert "anonymous_tracking: false" in profile.read_text()


@pytest.mark.parametrize("content", ["[" * 100_000, "a:\n" + "".join(" " * n + "- \n" for n in range(1, 3000))])
def test_a_deeply_nested_file_is_unreadable_not_a_crash(isolation: Env, content: str) -> None:
    profile = _profile(isolation)
    profile.write_text(content)
    for fmt in ("json", "yaml", "toml"):
        switch = PIPERIDER._replace(format=fmt, requires=())
        assert read(switch, os.environ).state == "unreadable"
        with pytest.raises(TelemetryError):
            edit.set_key(profile, switch, False)
    assert profile.read_text() == content


# -- any manifest, any file ----------------------------------------------------------------------

PRODUCTS = ("demo", "ssh", "tenx", "cron.d")
TEMPLATES = ("~/.{p}/flag", "~/.{p}/conf.{ext}", "$XDG_CONFIG_HOME/{p}/sub/c.{ext}", "$SYSTEM/{p}/c.{ext}",
             "~/.bashrc", "~/.ssh/id_ed25519", "$XDG_CONFIG_HOME/tenx/telemetry/settings.toml",
             "$XDG_CONFIG_HOME/tenx/telemetry/disable", "$SYSTEM/hostname", "$SYSTEM/cron.d/job",
             "/etc/passwd", "~/.{p}/../.bashrc", "~/{p}/x/y/flag")
KEYS = ("telemetry", "a.b", "core.telemetry", "x\ny", "s]x.k", "a.b.c")
DECOYS = {"home/.bashrc": "export PATH=/bin\n", "home/.ssh/id_ed25519": "KEY\n", "home/.kube/config": "k: v\n",
          "etc/hostname": "box\n", "etc/cron.d/job": "# job\n", "outside/target.yml": "a: 1\n"}
SHAPES = ("absent", "text", "empty", "fifo", "directory", "link-out", "link-in", "sparse")

scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.text(max_size=12))


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    product = draw(st.sampled_from(PRODUCTS))
    switches = []
    for _ in range(draw(st.integers(1, 3))):
        ext = draw(st.sampled_from(["toml", "yaml", "json", "ini"]))
        template = draw(st.sampled_from(TEMPLATES)).format(p=product, ext=ext)
        kind = draw(st.sampled_from(["flag-file", "config-file"]))
        table = {"kind": kind, "facets": draw(st.sampled_from([["collection"], ["upload"], ["collection", "upload",
                                                                                          "update"]])),
                 "path": template, "source": "https://example.org/x",
                 "scope": "system" if template.startswith("$SYSTEM") else "user"}
        if kind == "config-file":
            off, on = draw(scalars), draw(scalars)
            table |= {"format": ext, "key": draw(st.sampled_from(KEYS)), "off": off, "on": on}
        switches.append(table)
    return {"product": product, "switches": switches, "dir_mode": draw(st.sampled_from([0o700, 0o777])),
            "shape": draw(st.sampled_from(SHAPES)), "content": draw(st.one_of(st.text(max_size=60),
                                                                              st.sampled_from([BOMB, "{", "[a]\nb=1\n",
                                                                                               '{"a": {"b": 1}}']))),
            "commands": draw(st.lists(st.sampled_from(["disable", "enable", "disable --system", "enable --system",
                                                       "disable -p P", "enable -p P"]), min_size=1, max_size=3))}


def _toml(switches: list[dict[str, object]], product: str) -> str:
    lines = [f'[product]\nname = "{product}"\n']
    for table in switches:
        lines.append("[[native]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        lines.append("")
    return "\n".join(lines)


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        st_ = path.lstat()
        if stat.S_ISREG(st_.st_mode) and st_.st_size < (1 << 20):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() + oct(st_.st_mode)
        else:
            out[str(path)] = f"{stat.S_IFMT(st_.st_mode)}:{st_.st_size}:{oct(st_.st_mode)}"
    return out


def _allowed(root: Path, environ: dict[str, str], world: dict[str, object], shipped: list[str]) -> list[str]:
    """Telemetry-gate's own places, and each product's directory (its own or a shipped one)."""
    home = root / "home"
    own = [home / ".config" / "tenx", home / ".local" / "state" / "tenx", home / ".local" / "share" / "tenx",
           home / ".cache" / "tenx", root / "etc" / "tenx", home / ".config" / "environment.d",
           root / "etc" / "profile.d"]
    product = str(world["product"])
    places = [str(files.root_of(t, expand(t, environ))) for t in shipped]
    places += [str(expand(t, environ)) for t in (f"~/.{product}", f"~/{product}", f"$XDG_CONFIG_HOME/{product}",
                                                  f"$SYSTEM/{product}")]
    exact = [str(expand(t, environ)) for t in shipped]  # a shipped file right in the home directory (~/.condarc)
    return [str(p) for p in own] + exact + [p for p in places if p not in (str(home), str(root / "etc"))]


def _shipped_templates() -> list[str]:
    from telemetry_gate.policy.manifests import SHIPPED, parse

    return [s.path for path in SHIPPED.glob("*.toml") for s in parse(path.read_bytes(), str(path)).native
            if s.kind != "env"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(world=worlds())
def test_any_manifest_and_file_stay_in_the_products_places(inprocess: Telemetry, world: dict[str, object]) -> None:
    shipped = _shipped_templates()
    root = Path(tempfile.mkdtemp(prefix="tg-powers-"))
    try:
        home = root / "home"
        environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                   "XDG_STATE_HOME": str(home / ".local" / "state"), "XDG_CACHE_HOME": str(home / ".cache"),
                   "XDG_DATA_HOME": str(home / ".local" / "share"), "TELEMETRY_SYSTEM_DIR": str(root / "etc")}
        for name, text in DECOYS.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        product = str(world["product"])
        manifest = home / ".local" / "share" / "tenx" / "telemetry" / "products.d" / f"{product}.toml"
        manifest.parent.mkdir(parents=True)
        manifest.write_text(_toml(world["switches"], product))  # type: ignore[arg-type]
        for table in world["switches"]:  # type: ignore[attr-defined]
            path = expand(table["path"], environ)
            ours = (home / ".config" / "tenx", root / "etc" / "tenx")  # telemetry-gate's own: not a product file
            if not str(path).startswith(str(root)) or os.path.lexists(path) or any(o in path.parents for o in ours):
                continue
            _shape(path, str(world["shape"]), str(world["content"]), root)
            if path.parent.is_dir() and path.parent not in (home, root / "etc"):
                path.parent.chmod(int(world["dir_mode"]))  # type: ignore[call-overload]
        before = _snapshot(root)
        for command in world["commands"]:  # type: ignore[attr-defined]
            result = inprocess(*command.replace("P", product).split(), env=environ)
            assert result.exit_code in (0, 2, 3, 4), (command, result.stderr)  # 70: an internal error
            assert "Traceback" not in result.stderr
        after = _snapshot(root)
        allowed = _allowed(root, environ, world, shipped)
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        outside = [p for p in changed if not any(p == a or p.startswith(a + os.sep) for a in allowed)
                   and not (os.path.isdir(p) and any(a.startswith(p + os.sep) for a in allowed))]  # a parent made
        assert not outside, (outside, world)
        for name, text in DECOYS.items():
            assert (root / name).read_text() == text
    finally:
        for path in [root, *root.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(root)


def _shape(path: Path, shape: str, content: str, root: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if shape == "text":
        path.write_text(content)
    elif shape == "empty":
        path.write_bytes(b"")
    elif shape == "fifo":
        os.mkfifo(path)
    elif shape == "directory":
        path.mkdir()
    elif shape == "link-out":
        path.symlink_to(root / "outside" / "target.yml")
    elif shape == "link-in":
        (path.parent / "real").write_text(content)
        path.symlink_to(path.parent / "real")
    elif shape == "sparse":
        with open(path, "wb") as file:
            file.truncate(2 << 30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
       fmt=st.sampled_from(["toml", "yaml", "json", "ini"]), key=st.sampled_from(["t", "a.b", "s.k"]),
       value=st.one_of(st.booleans(), st.integers(-2, 2), st.text(alphabet="abc :#[]{}'\"", max_size=8)))
def test_any_bytes_in_a_product_file_are_read_or_refused_never_a_crash(isolation: Env, content: bytes | str,
                                                                       fmt: str, key: str, value: object) -> None:
    path = isolation.home / ".demo" / f"c.{fmt}"
    path.parent.mkdir(exist_ok=True)
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    path.write_bytes(raw)
    switch = NativeSwitch("demo", "config-file", ("collection",), "https://x", path=f"~/.demo/c.{fmt}", format=fmt,
                          key=key if fmt != "ini" or "." in key else "s.k", off=False, on=True, covers=("demo",))
    try:
        load_key(path, switch)
    except (files.Unreadable, OSError):
        pass
    try:
        edit.set_key(path, switch, value)  # type: ignore[arg-type]
    except TelemetryError:
        assert path.read_bytes() == raw  # refused: left as it was


@pytest.mark.parametrize("where", ["settings", "products.d", "history"])
def test_a_fifo_among_telemetry_gates_own_files_never_hangs_a_command(where: str, isolation: Env) -> None:
    # the review of issue 20: a FIFO at ~/.config/tenx/telemetry/settings.toml hung check for ever
    target = {
        "settings": isolation.config_dir / "settings.toml",
        "products.d": isolation.home / ".local" / "share" / "tenx" / "telemetry" / "products.d" / "demo.toml",
        "history": isolation.home / ".local" / "state" / "tenx" / "telemetry" / "history.jsonl",
    }[where]
    target.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(target)
    args = ["check", "--history"] if where == "history" else ["check"]
    proc = subprocess.run([script_path(), *args], capture_output=True, text=True, timeout=30)
    assert "Traceback" not in proc.stderr
    if where == "settings":
        assert proc.returncode == 3 and "not a regular file" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert "not a regular file" in proc.stdout + proc.stderr
