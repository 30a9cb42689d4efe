"""The app template's size rule (docs/ARCHITECTURE.md §16): a product module over about 300 lines is split by
sub-domain or says at its top why it is not, with a `# Over 300 lines: <reason>` comment."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("core", "jobs", "curation", "robustness", "explain", "frontend", "config")
LIMIT = 300
REASON = "# Over 300 lines:"
HEAD_LINES = 20  # the reason sits in the module's opening lines


def modules_over_the_limit_without_a_reason(root: Path = ROOT) -> list[str]:
    found = []
    for package in PRODUCT:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            if len(lines) > LIMIT and not any(line.startswith(REASON) for line in lines[:HEAD_LINES]):
                found.append(f"{path.relative_to(root)} ({len(lines)} lines)")
    return found


def test_every_long_module_says_why_it_is_not_split():
    assert modules_over_the_limit_without_a_reason() == []


def test_the_check_finds_a_long_module_without_a_reason(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "core" / "explained.py").write_text(f"{REASON} one table of codes.\n" + "x = 1\n" * LIMIT)
    (tmp_path / "core" / "short.py").write_text("x = 1\n" * LIMIT)

    assert modules_over_the_limit_without_a_reason(tmp_path) == [f"core/long.py ({LIMIT + 1} lines)"]
