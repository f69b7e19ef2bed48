"""`python -m mnist_mlp.tools.use_data DIR`: params.yaml made ready for another image set,
changing only what that set needs."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from mnist_mlp.io.fetch import decompressed_sha256
from mnist_mlp.io.params import read_yaml
from tests.helpers import (
    MNIST_NAMES,
    PROJECT_ROOT,
    assert_one_line_error,
    tiny_digits,
    write_idx_gz,
)


def use_data(tmp_path: Path, arrays: list[np.ndarray]) -> subprocess.CompletedProcess[str]:
    shutil.copy2(PROJECT_ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data").mkdir()
    for name, array in zip(MNIST_NAMES.values(), arrays, strict=True):
        write_idx_gz(tmp_path / "data" / name, array)
    return subprocess.run(
        [sys.executable, "-m", "mnist_mlp.tools.use_data", "data"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip


def test_only_the_hashes_and_split_sizes_change(tmp_path: Path) -> None:
    arrays = [
        *tiny_digits(120, seed=0, side=16, classes=4),
        *tiny_digits(40, seed=1, side=16, classes=4),
    ]
    result = use_data(tmp_path, arrays)
    assert result.returncode == 0, result.stderr
    assert "120 training and 40 test images of 16x16 pixels, 4 classes" in result.stderr
    params = read_yaml(tmp_path / "params.yaml")
    for item in params["fetch"]["files"]:
        assert item["sha256"] == decompressed_sha256(tmp_path / "data" / item["name"])
    assert (params["split"]["train_size"], params["split"]["test_size"]) == (120, 40)
    before = (PROJECT_ROOT / "params.yaml").read_text().splitlines()
    after = (tmp_path / "params.yaml").read_text().splitlines()
    changed = [line for line in difflib.ndiff(before, after) if line.startswith(("-", "+"))]
    assert len(changed) == 2 * (4 + 2)
    assert all("sha256: " in line or "_size: " in line for line in changed)


def test_images_of_two_sizes_are_refused_in_one_line(tmp_path: Path) -> None:
    arrays = [*tiny_digits(12, seed=0, side=16), *tiny_digits(4, seed=1, side=20)]
    assert_one_line_error(
        use_data(tmp_path, arrays),
        "data/t10k-images-idx3-ubyte.gz: images of (20, 20) pixels, "
        "data/train-images-idx3-ubyte.gz has (16, 16)",
    )
    assert (tmp_path / "params.yaml").read_text() == (PROJECT_ROOT / "params.yaml").read_text()
