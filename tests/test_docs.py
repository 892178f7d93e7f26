"""The README is for users and short; the rest lives in docs/, and every link between them resolves."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_readme_is_short_and_starts_with_the_two_set_up_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 450, "move long text to docs/ (a file per topic) and link it"
    first_screen = "\n".join(readme.splitlines()[:25])
    assert "python3 -m pip install . && telemetry check\n" in first_screen
    assert "python3 -m pip install -e '.[test]' && python3 -m pytest\n" in first_screen
    for section in ("## Who decides (precedence)", "## Paths", "## Exit codes"):
        assert f"\n{section}" in readme


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    broken = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            goal = (page.parent / path).resolve() if path else page
            if not goal.is_file():
                broken.append(f"{page.name}: {target}")
            elif anchor:
                headings = re.findall(r"^#+ (.+)$", goal.read_text(encoding="utf-8"), re.MULTILINE)
                slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
                if anchor not in slugs:
                    broken.append(f"{page.name}: {target}")
    assert broken == []
    assert {p.name for p in PAGES} >= {"README.md", "design.md", "speed.md", "reliability.md"}


def test_no_file_of_the_project_holds_a_merge_conflicts_markers() -> None:
    marked = []
    for top in ("src", "tests", "docs", "scripts", "bench", "completions", "man", ".ci"):
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and path.suffix not in (".pyc",):
                text = path.read_text(encoding="utf-8", errors="replace")
                if re.search(r"(?m)^(<<<<<<< |=======$|>>>>>>> )", text):
                    marked.append(str(path.relative_to(REPO)))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert not marked and not re.search(r"(?m)^(<<<<<<< |>>>>>>> )", readme), marked
