"""Fixtures: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    MNIST_NAMES,
    TINY_TEST,
    TINY_TRAIN,
    DvcProject,
    make_dvc_project,
    tiny_digits,
    tiny_params,
    write_idx_gz,
)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A directory holding the four MNIST file names with tiny generated content."""
    directory = tmp_path / "tiny_mnist"
    directory.mkdir()
    train_images, train_labels = tiny_digits(TINY_TRAIN, seed=0)
    test_images, test_labels = tiny_digits(TINY_TEST, seed=1)
    write_idx_gz(directory / MNIST_NAMES["train_images"], train_images)
    write_idx_gz(directory / MNIST_NAMES["train_labels"], train_labels)
    write_idx_gz(directory / MNIST_NAMES["test_images"], test_images)
    write_idx_gz(directory / MNIST_NAMES["test_labels"], test_labels)
    return directory


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_mnist: Path) -> DvcProject:
    """The project in a temporary repo, with params shrunk for the tiny data, committed."""
    project = make_dvc_project(tmp_path / "project", tiny_mnist)
    project.write_params(tiny_params(tiny_mnist))
    project.commit("tiny project")
    return project
