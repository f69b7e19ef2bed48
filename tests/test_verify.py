"""`make verify`: a flipped byte in the DVC cache or a workspace copy, which `dvc status`
does not see, is listed with a command that repairs it; a record that leads out of the
cache or the repository, or a dvc.lock DVC cannot read, is one line."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mnist_mlp.errors import brief
from mnist_mlp.tools.verify import find_damage
from tests.helpers import DvcProject, assert_one_line_error, lock_outs

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
    """A copy of the reproduced project whose files DVC has hashed once: its state database
    then trusts an unchanged size and modification time, as after a `dvc repro`."""
    assert "Data and pipelines are up to date" in reproduced.dvc("status").stdout
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


def verify(project: DvcProject) -> subprocess.CompletedProcess[str]:
    """`make verify`'s command; the timeout only stops a hang (a FIFO it should not open)."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_mlp.tools.verify"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def edited_lock(project: DvcProject, text: str) -> Iterator[None]:
    """dvc.lock replaced by ``text`` for the block (the fixture is shared: put back after)."""
    lock = project.root / "dvc.lock"
    before = lock.read_text()
    lock.write_text(text)
    try:
        yield
    finally:
        lock.write_text(before)


def test_an_md5_in_dvc_lock_leading_out_of_the_cache_is_refused(
    intact: DvcProject, tmp_path: Path
) -> None:
    """An MD5 of '..<path>' named a file outside the cache: it was hashed, and printed in
    `rm -f <path>`. Here the file is a FIFO, which blocks whoever opens it."""
    victim = tmp_path / "victim"
    os.mkfifo(victim)
    lock = (intact.root / "dvc.lock").read_text()
    edited = yaml.safe_load(lock)
    [model] = [out for out in edited["stages"]["train"]["outs"] if out["path"].endswith("skops")]
    model["md5"] = f"..{victim}"
    with edited_lock(intact, yaml.safe_dump(edited, sort_keys=False)):
        result = verify(intact)
        line = assert_one_line_error(result, "models/mlp.skops: refused: its recorded MD5")
        assert line.endswith("is not 32 hex digits; repair: dvc repro -f -s train")
        # The repair it prints records train again, truly.
        repair(intact, "dvc repro -f -s train")
        assert (intact.root / "dvc.lock").read_text() == lock
    assert find_damage(intact.root) == []


def test_a_manifest_listing_a_path_out_of_the_repository_is_refused(
    intact: DvcProject, tmp_path: Path
) -> None:
    """A directory's manifest in the cache, listing '../../../victim' under data/prepared."""
    victim = tmp_path / "victim"
    os.mkfifo(victim)
    outs = lock_outs(intact)
    relpath = os.path.relpath(victim, intact.root / "data/prepared")
    good = cache_object(intact, "data/prepared", "X_test.npy")
    manifest = json.dumps([{"md5": good.parent.name + good.name, "relpath": relpath}]).encode()
    md5 = hashlib.md5(manifest).hexdigest()
    obj = intact.root / ".dvc/cache/files/md5" / md5[:2] / f"{md5[2:]}.dir"
    obj.parent.mkdir(exist_ok=True)
    obj.write_bytes(manifest)
    lock = (intact.root / "dvc.lock").read_text()
    try:
        with edited_lock(intact, lock.replace(outs["data/prepared"], f"{md5}.dir")):
            result = verify(intact)
    finally:
        obj.unlink()
    assert_one_line_error(
        result, f"{brief(f'data/prepared/{relpath}')}: refused: not a path inside the repository"
    )


def test_a_dvc_lock_with_merge_conflict_markers_is_one_line(intact: DvcProject) -> None:
    lock = (intact.root / "dvc.lock").read_text()
    with edited_lock(intact, f"<<<<<<< HEAD\n{lock}=======\n{lock}>>>>>>> experiment\n"):
        result = verify(intact)
    assert_one_line_error(result, "cannot read the pipeline: ", "'dvc.lock'")
