"""The README stays short and leads to every page in docs/; no relative link is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
PAGES = sorted((PROJECT_ROOT / "docs").glob("*.md"))
# [text](target) with a relative target, without its #anchor.
LINK = re.compile(r"\]\((?!https?://)([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(page: Path) -> list[Path]:
    return [(page.parent / target).resolve() for target in LINK.findall(page.read_text())]


def test_readme_fits_on_a_screen_or_two() -> None:
    assert len(README.read_text().splitlines()) <= 150


def test_readme_links_every_docs_page() -> None:
    assert PAGES
    assert set(PAGES) <= set(relative_links(README))


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    missing = [str(link) for link in relative_links(page) if not link.exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
