"""The README stays short and leads to every page in docs/; no relative link is broken; and
the commands they show work, run in order on the tiny project as a user would run them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import MNIST_NAMES, PROJECT_ROOT, DvcProject, tiny_digits, write_idx_gz

README = PROJECT_ROOT / "README.md"
PAGES = sorted((PROJECT_ROOT / "docs").glob("*.md"))
# [text](target) with a relative target, without its #anchor.
LINK = re.compile(r"\]\((?!https?://)([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(page: Path) -> list[Path]:
    return [(page.parent / target).resolve() for target in LINK.findall(page.read_text())]


def test_readme_fits_on_a_screen_or_two() -> None:
    assert len(README.read_text().splitlines()) <= 110


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_docs_page_is_short(page: Path) -> None:
    assert len(page.read_text().splitlines()) <= 150


def test_readme_links_every_docs_page() -> None:
    assert PAGES
    assert set(PAGES) <= set(relative_links(README))


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    missing = [str(link) for link in relative_links(page) if not link.exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def shell_blocks(page: Path, runnable_only: bool) -> list[str]:
    """The page's ```bash blocks; with ``runnable_only``, those marked ```bash runnable."""
    blocks = re.findall(r"^```bash( runnable)?\n(.*?)^```$", page.read_text(), re.M | re.S)
    return [body for runnable, body in blocks if runnable or not runnable_only]


def run_blocks(project: DvcProject, blocks: list[str], env: dict[str, str]) -> str:
    """Run ``blocks`` in order, in one bash, as a user pastes them in a terminal."""
    script = "set -euo pipefail\n" + "\n".join(blocks)
    result = subprocess.run(
        ["bash", "-c", script], cwd=project.root, env=env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, f"{script}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.mark.pipeline
def test_the_readme_commands_work_in_order_on_a_fresh_clone(
    fresh_clone: tuple[DvcProject, dict[str, str]],
) -> None:
    """Every shell block of the README, as written. `make test` only collects the tests
    here: this suite is the run it stands for."""
    project, env = fresh_clone
    blocks = shell_blocks(README, runnable_only=False)
    setup = [line.split("#")[0].strip() for line in blocks[0].splitlines()]
    assert setup == ["make repro", "make test"]  # the two set-up commands, first
    run_blocks(project, blocks, {**env, "PYTEST_ADDOPTS": "--collect-only -q"})


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "page",
    [page for page in PAGES if shell_blocks(page, runnable_only=True)],
    ids=lambda p: p.name,
)
def test_the_runnable_commands_of_a_docs_page_work_in_order(
    page: Path, fresh_clone: tuple[DvcProject, dict[str, str]], tmp_path: Path
) -> None:
    project, env = fresh_clone
    data = tmp_path / "my-data"
    images, labels = tiny_digits(240, seed=2, side=16, classes=4)
    test_images, test_labels = tiny_digits(80, seed=3, side=16, classes=4)
    data.mkdir()
    for name, array in zip(
        MNIST_NAMES.values(), (images, labels, test_images, test_labels), strict=True
    ):
        write_idx_gz(data / name, array)
    run_blocks(
        project,
        shell_blocks(page, runnable_only=True),
        {**env, "MY_DATA": str(data), "MY_REMOTE": str(tmp_path / "my-remote")},
    )
