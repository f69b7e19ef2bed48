"""Fixtures: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    DvcProject,
    built_once,
    copy_project,
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
