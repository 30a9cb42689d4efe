"""Every design or method section the code cites exists in the repo's own docs/ (docs/ARCHITECTURE.md §intro)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"(?:docs/)?(ARCHITECTURE|METHODS)\.md,? §\s?(\d+)(?:\s?[-–]\s?(\d+))?((?:,\s?§\s?\d+)*)")
OUTSIDE = re.compile(r"DESIGN\.md|CONVENTIONS\.md|ENVIRONMENT\.md|\.\./shared/|/work/shared")


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [
        ROOT / name
        for name in listed.splitlines()
        if not name.startswith("docs/")
        and name != "tests/test_docs_references.py"
        and name.endswith((".py", ".html", ".js", ".sh", "Makefile", ".toml", "README.md"))
        and (ROOT / name).is_file()
    ]


def _sections(doc: str) -> set[int]:
    text = (ROOT / "docs" / f"{doc}.md").read_text()
    return {int(number) for number in re.findall(r"^## (\d+)\.", text, flags=re.MULTILINE)}


def _cited(match: re.Match[str]) -> list[int]:
    first, last, more = int(match[2]), match[3], match[4]
    numbers = list(range(first, int(last) + 1)) if last else [first]
    return numbers + [int(n) for n in re.findall(r"\d+", more or "")]


def test_every_cited_section_exists_in_docs():
    sections = {doc: _sections(doc) for doc in ("ARCHITECTURE", "METHODS")}
    missing = [
        f"{path.relative_to(ROOT)}: {match[0]}"
        for path in _tracked_files()
        for match in CITATION.finditer(path.read_text(errors="replace"))
        if any(number not in sections[match[1]] for number in _cited(match))
    ]
    assert missing == []


def test_no_file_points_outside_the_repository():
    outside = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in _tracked_files()
        for line in path.read_text(errors="replace").splitlines()
        if OUTSIDE.search(line)
    ]
    assert outside == []


def test_the_citation_pattern_reads_ranges_and_lists():
    text = "METHODS.md §1-3 and docs/ARCHITECTURE.md §4, §7 and METHODS.md §9"
    matches = [_cited(m) for m in CITATION.finditer(text)]
    assert matches == [[1, 2, 3], [4, 7], [9]]
