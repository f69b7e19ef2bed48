"""Fixtures: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    PROJECT_ROOT,
    DvcProject,
    built_once,
    copy_project,
    declared_outputs,
    make_tiny_project,
    tiny_mnist_files,
)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A directory holding the four MNIST file names with tiny generated content."""
    return tiny_mnist_files(tmp_path / "tiny_mnist")


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_mnist: Path) -> DvcProject:
    """The project in a temporary repo, with params shrunk for the tiny data, committed."""
    return make_tiny_project(tmp_path / "project", tiny_mnist)


def _reproduce(root: Path) -> DvcProject:
    project = make_tiny_project(root / "project", tiny_mnist_files(root / "tiny_mnist"))
    project.dvc("repro")
    project.commit("reproduced")
    return project


@pytest.fixture(scope="session")
def reproduced_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> DvcProject:
    """The tiny project after one ``dvc repro``, committed: built once per test session,
    never changed; tests take copies (``reproduced``)."""
    return built_once(tmp_path_factory, worker_id, "reproduced", _reproduce)


@pytest.fixture
def reproduced(reproduced_once: DvcProject, tmp_path: Path) -> DvcProject:
    """A copy of the reproduced, committed tiny project (git repository, DVC cache and
    workspace) for one test to change."""
    return copy_project(reproduced_once, tmp_path / "reproduced")


@pytest.fixture
def fresh_clone(reproduced_once: DvcProject, tmp_path: Path) -> tuple[DvcProject, dict[str, str]]:
    """The reproduced tiny project as a fresh clone of it is, with the environment of a
    user's shell: every file of the project committed with ``dvc.lock``, no DVC cache and
    none of the outputs git ignores, ``.venv/`` this test run's (already built), and no
    ``.venv/bin`` on ``PATH``."""
    project = copy_project(reproduced_once, tmp_path / "clone")
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-uv.lock"):
        shutil.copy2(PROJECT_ROOT / name, project.root / name)
    for name in ("tests", "docs", "benchmarks"):
        shutil.copytree(PROJECT_ROOT / name, project.root / name,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy2(PROJECT_ROOT / "README.md", project.root / "README.md")
    project.commit("the whole project")
    shutil.rmtree(project.root / ".dvc/cache")
    for output in declared_outputs():
        if project.git("check-ignore", "-q", output, check=False).returncode == 0:
            path = project.root / output
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    (project.root / ".venv").symlink_to(Path(sys.prefix))
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in project.env["PATH"].split(os.pathsep) if p != venv_bin)
    return project, {**project.env, "PATH": path, "PYTHONPATH": str(project.root / "src")}
