"""The shape of the house (STYLE.md): heavy imports stay in the one module that owns them."""

from __future__ import annotations

import ast
from pathlib import Path

import telemetry_gate

PACKAGE = Path(telemetry_gate.__file__).parent
OWNERS = {
    "rich": {"cli/render/text.py", "cli/render/records.py", "cli/render/sending.py"},
    "httpx": {"send/upload.py"},
    "typer": {"cli/app.py", "cli/base.py", "cli/policy_commands.py", "cli/spool_commands.py", "cli/send_commands.py",
              "cli/completion.py"},
    "tomli_w": {"policy/settings.py"},  # the whole-file rewrite when tomlkit cannot edit a layout
    "tomlkit": {"policy/settings.py", "native/edit.py"},
    "ruamel": {"native/edit.py", "policy/own/state.py"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_heavy_libraries_are_imported_only_by_their_owner() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE).as_posix()} imports {lib}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for lib in _imports(path) & set(OWNERS)
        if path.relative_to(PACKAGE).as_posix() not in OWNERS[lib]
    ]
    assert offenders == []


def test_the_library_path_imports_nothing_heavy_at_module_level() -> None:
    for name in ("__init__.py", "spool/recorder.py", "policy/layers.py", "spool/records.py", "spool/store.py",
                 "policy/paths.py", "policy/settings.py", "vocabulary.py"):
        top = {n for n in ast.parse((PACKAGE / name).read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))}
        modules = {(n.module or "") if isinstance(n, ast.ImportFrom) else n.names[0].name for n in top}
        assert not modules & {"typer", "rich", "httpx", "platformdirs", "tomllib", "tomli_w", "tomlkit", "ruamel"}, name


def _package_imports(path: Path) -> set[str]:
    """Every ``telemetry_gate.<package>`` a module imports, at any depth (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("telemetry_gate."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("telemetry_gate."))
    return found


def test_policy_decides_without_the_code_that_writes_or_sends() -> None:
    # issue 20: the product's own switch is read in policy/ (policy/own); native/ only writes
    offenders = [
        f"{path.relative_to(PACKAGE).as_posix()} imports telemetry_gate.{package}"
        for path in sorted((PACKAGE / "policy").rglob("*.py"))
        for package in _package_imports(path) & {"native", "send", "cli"}
    ]
    assert offenders == []


def test_the_spool_and_the_library_never_import_the_sender() -> None:
    # issue 20 item 8: sent/ and rejected/ belong to the spool (spool/outcomes), the cached
    # configuration the Recorder reads is policy/configuration, apart from update's download
    offenders = [
        f"{path.relative_to(PACKAGE).as_posix()} imports telemetry_gate.{package}"
        for path in sorted((PACKAGE / "spool").rglob("*.py"))
        for package in _package_imports(path) & {"send", "native", "cli"}
    ]
    assert offenders == []


def test_no_module_imports_itself_back_through_another() -> None:
    # module-level and lazy imports alike: records <-> store tied each other before
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = "telemetry_gate." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("telemetry_gate"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = found
    edges = {name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()}
    pairs = sorted((a, b) for a, targets in edges.items() for b in targets if a < b and a in edges.get(b, set()))
    assert pairs == []
