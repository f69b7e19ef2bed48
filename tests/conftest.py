"""Fixtures: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DvcProject, make_dvc_project, tiny_mnist_files, tiny_params


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A directory holding the four MNIST file names with tiny generated content."""
    return tiny_mnist_files(tmp_path / "tiny_mnist")


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_mnist: Path) -> DvcProject:
    """The project in a temporary repo, with params shrunk for the tiny data, committed."""
    project = make_dvc_project(tmp_path / "project", tiny_mnist)
    project.write_params(tiny_params(tiny_mnist))
    project.commit("tiny project")
    return project
