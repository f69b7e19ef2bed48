"""Fixtures: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DvcProject, make_tiny_project, tiny_mnist_files


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A directory holding the four MNIST file names with tiny generated content."""
    return tiny_mnist_files(tmp_path / "tiny_mnist")


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_mnist: Path) -> DvcProject:
    """The project in a temporary repo, with params shrunk for the tiny data, committed."""
    return make_tiny_project(tmp_path / "project", tiny_mnist)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> DvcProject:
    """The tiny project after one ``dvc repro``, shared by a module's tests: each must leave
    it as it found it."""
    root = tmp_path_factory.mktemp("reproduced")
    project = make_tiny_project(root / "project", tiny_mnist_files(root / "tiny_mnist"))
    project.dvc("repro")
    return project
