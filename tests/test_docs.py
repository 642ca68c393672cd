"""Every document named in the code, the notebooks or the book exists in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("ccnce/**/*.py", "ccnce/**/*.md", "notebooks/*.ipynb", "book/*.md", "book/*.ipynb", "docs/*.md",
           "README.md", "Makefile", "_toc.yml", "_config.yml")
REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b")
SEARCH = ("docs", "book", ".", "ccnce/assets", "ccnce/assets/pats_stats")  # where a bare name may live


def references() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pattern in SOURCES:
        for f in ROOT.glob(pattern):
            for name in REFERENCE.findall(f.read_text(errors="replace")):
                found.setdefault(name, []).append(str(f.relative_to(ROOT)))
    return found


def resolves(name: str, referrer: str) -> bool:
    here = (ROOT / referrer).parent
    candidates = [ROOT / name, here / name]
    if "/" not in name:
        candidates += [ROOT / d / name for d in SEARCH]
    return any(c.is_file() for c in candidates)


def test_the_design_notes_are_in_the_repository():
    for name in ("ARCHITECTURE", "PATS", "SYNTHETIC", "METHOD", "EVALUATION", "STYLE"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name


def test_every_referenced_document_exists():
    refs = references()
    assert "METHOD.md" in refs  # the scan sees the code's references
    missing = {name: files[:3] for name, files in refs.items() if not all(resolves(name, f) for f in files)}
    assert not missing, f"documents named but not in the repository: {missing}"
