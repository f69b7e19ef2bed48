"""`make verify`: a flipped byte in the DVC cache or a workspace copy, which `dvc status`
does not see, is listed with a command that repairs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from mnist_mlp.tools.verify import find_damage
from tests.helpers import DvcProject

pytestmark = pytest.mark.pipeline


def flip_byte_keeping_mtime(path: Path, offset: int = 200) -> None:
    """Bit rot: the content changes, the size and modification time do not."""
    stat = path.stat()
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    path.chmod(stat.st_mode)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def cache_object(project: DvcProject, output: str, relpath: str) -> Path:
    """The cache object of ``relpath`` inside the directory output ``output``."""
    lock = yaml.safe_load((project.root / "dvc.lock").read_text())
    outs = {out["path"]: out["md5"] for s in lock["stages"].values() for out in s["outs"]}
    cache = project.root / ".dvc/cache/files/md5"
    manifest = cache / outs[output][:2] / outs[output][2:]
    entry = next(e for e in yaml.safe_load(manifest.read_text()) if e["relpath"] == relpath)
    return cache / entry["md5"][:2] / entry["md5"][2:]


@pytest.fixture
def intact(reproduced: DvcProject) -> DvcProject:
    assert find_damage(reproduced.root) == []
    return reproduced


def repair(project: DvcProject, command: str) -> None:
    project.run("sh", "-c", command.replace("dvc ", f"{sys.executable} -m dvc "))


def test_corrupt_cache_object_is_listed_and_repaired(intact: DvcProject) -> None:
    obj = cache_object(intact, "data/prepared", "X_test.npy")
    flip_byte_keeping_mtime(obj)
    assert intact.dvc("status").stdout.strip() == "Data and pipelines are up to date."

    verify = intact.run(sys.executable, "-m", "mnist_mlp.tools.verify", check=False)
    assert verify.returncode == 1
    errors = [line for line in verify.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1
    assert f"data/prepared/X_test.npy: cache object {obj.relative_to(intact.root)}" in (errors[0])
    [damage] = find_damage(intact.root)
    assert "corrupt" in damage.problem and damage.repair.endswith("dvc commit -f preprocess")

    repair(intact, damage.repair)
    assert find_damage(intact.root) == []
    # The checkout DVC does next (a clone, `dvc exp apply`) now gets the right bytes.
    (intact.root / "data/prepared/X_test.npy").unlink()
    intact.dvc("checkout")
    assert find_damage(intact.root) == []


def test_corrupt_cache_object_and_workspace_copy_are_recomputed(intact: DvcProject) -> None:
    obj = cache_object(intact, "data/prepared", "X_test.npy")
    flip_byte_keeping_mtime(obj)
    flip_byte_keeping_mtime(intact.root / "data/prepared/X_test.npy")
    [damage] = find_damage(intact.root)
    assert damage.repair.endswith("dvc repro -f -s preprocess")
    repair(intact, damage.repair)
    assert find_damage(intact.root) == []


def test_corrupt_workspace_copy_is_checked_out_again(intact: DvcProject) -> None:
    flip_byte_keeping_mtime(intact.root / "models/mlp.skops")
    assert intact.dvc("status").stdout.strip() == "Data and pipelines are up to date."
    [damage] = find_damage(intact.root)
    assert damage.path == "models/mlp.skops" and "workspace copy" in damage.problem
    repair(intact, damage.repair)
    assert find_damage(intact.root) == []


def test_missing_cache_object_is_listed(intact: DvcProject) -> None:
    obj = cache_object(intact, "data/raw", "t10k-labels-idx1-ubyte.gz")
    obj.unlink()
    [damage] = find_damage(intact.root)
    assert damage.path == "data/raw/t10k-labels-idx1-ubyte.gz" and "missing" in damage.problem
    repair(intact, damage.repair)
    assert find_damage(intact.root) == []
