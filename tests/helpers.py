"""Test helpers: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

import gzip
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest
import yaml

from mnist_mlp.idx import encode_idx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    "dvc.yaml",
    "params.yaml",
    "stages",
    "src",
    "templates",
    ".dvcignore",
    ".gitignore",
)
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
TINY_TRAIN, TINY_TEST = 300, 100
# Names Debian and other distributions give the Chromium binary.
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def under_ci() -> bool:
    """Whether the suite runs under CI (``CI=true``, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip the test with ``reason``; under CI fail instead, since CI must run it."""
    if under_ci():
        pytest.fail(f"{reason}; CI (CI=true) must run this test")
    pytest.skip(reason)


def readme_recipe() -> list[str]:
    """The README's one-line ``dvc exp run`` for the example's current version, as words."""
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / "README.md").read_text().splitlines()
        if line.strip().startswith("dvc exp run") and "train.max_iter=8" in line
    ]
    assert len(lines) == 1, f"expected one recipe line in README.md, found {lines}"
    return shlex.split(lines[0], comments=True)


def full_mnist_mirror() -> str:
    """``DATA_MIRROR``, resolved for a project in another directory; skip (or fail under CI)
    when it is not set, since the full MNIST would otherwise come from the internet."""
    mirror = os.environ.get("DATA_MIRROR")
    if not mirror:
        skip_unless_ci(
            "DATA_MIRROR is not set: the full MNIST would have to come from the internet"
        )
    if mirror.startswith(("http://", "https://")):
        return mirror
    return str(Path(mirror).resolve())


def find_chromium() -> str | None:
    """The path of a Chromium binary on PATH, or None."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a gzip IDX file with a fixed mtime (stable bytes)."""
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream:
        stream.write(encode_idx(array))
    return path


def tiny_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: each class lights up its own block of pixels, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[index, 4 + 10 * row : 12 + 10 * row, 1 + 5 * col : 5 + 5 * col] = 255
    return images, labels


def decompressed_sha256(path: Path) -> str:
    return hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()


def tiny_mnist_files(directory: Path) -> Path:
    """Write the four MNIST file names with tiny generated content into ``directory``."""
    directory.mkdir(parents=True)
    train_images, train_labels = tiny_digits(TINY_TRAIN, seed=0)
    test_images, test_labels = tiny_digits(TINY_TEST, seed=1)
    write_idx_gz(directory / MNIST_NAMES["train_images"], train_images)
    write_idx_gz(directory / MNIST_NAMES["train_labels"], train_labels)
    write_idx_gz(directory / MNIST_NAMES["test_images"], test_images)
    write_idx_gz(directory / MNIST_NAMES["test_labels"], test_labels)
    return directory


def tiny_params(mirror: Path) -> dict:
    """The project's params.yaml, shrunk for the tiny data: its checksums, sizes and epochs."""
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    params["fetch"]["mirrors"] = []
    params["fetch"]["retry_delay"] = 0
    for item in params["fetch"]["files"]:
        item["sha256"] = decompressed_sha256(mirror / item["name"])
    params["split"].update(train_size=TINY_TRAIN, test_size=TINY_TEST)
    params["train"].update(max_iter=3)
    return params


class DvcProject:
    """The project copied into a fresh git + DVC repository, with helpers to run commands."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


def make_dvc_project(root: Path, mirror: Path | str) -> DvcProject:
    """Copy the project into ``root`` as a new git + DVC repo fetching from ``mirror``."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    env = {
        **os.environ,
        # The stage commands run `python`: make it this interpreter's environment.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATA_MIRROR": str(mirror),
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    project = DvcProject(root, env)
    project.git("init", "-q", "-b", "main")
    project.dvc("init", "-q")
    shutil.copy2(PROJECT_ROOT / ".dvc/config", root / ".dvc/config")
    return project
