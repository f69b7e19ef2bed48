"""Killed stages, shared remotes and fresh clones: nothing partial is ever taken as valid,
and a colleague's clone gets back exactly the same artifacts."""

from __future__ import annotations

import hashlib
import json
import shlex
import signal
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import DvcProject, exp_show, lock_outs, output_files, ran_stages

pytestmark = pytest.mark.pipeline

# Runs a stage script with one write function replaced by one that writes half of its
# data and then SIGKILLs the process: a kill in the middle of writing an output.
KILL_MID_WRITE = """
import os, runpy, signal, sys
from pathlib import Path
import numpy as np

def die_halfway(handle, data):
    handle.write(data[: len(data) // 2])
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)

def write_bytes(self, data):
    with open(self, "wb") as handle:
        die_halfway(handle, data)

def save(file, array, allow_pickle=True):
    with open(file, "wb") if isinstance(file, (str, Path)) else file as handle:
        die_halfway(handle, array.tobytes())

Path.write_bytes = write_bytes
np.save = save
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def stage_command(project: DvcProject, stage: str) -> list[str]:
    """The stage's command from dvc.yaml, as an argument list without the `python`."""
    stages = yaml.safe_load((project.root / "dvc.yaml").read_text())["stages"]
    return shlex.split(stages[stage]["cmd"])[1:]


@pytest.mark.parametrize(
    ("stage", "output"), [("preprocess", "data/prepared"), ("train", "models/mlp.skops")]
)
def test_stage_killed_mid_write_leaves_no_output(
    tiny_project: DvcProject, stage: str, output: str
) -> None:
    tiny_project.dvc("repro")
    reference = lock_outs(tiny_project)
    # As DVC does before running a stage, its outputs are removed first; the cache too,
    # so that the rerun below must recompute rather than check out the old result.
    tiny_project.run("rm", "-rf", output, ".dvc/cache")

    killed = tiny_project.run(
        sys.executable, "-c", KILL_MID_WRITE, *stage_command(tiny_project, stage), check=False
    )
    assert killed.returncode == -signal.SIGKILL
    assert not (tiny_project.root / output).exists()
    assert stage in tiny_project.dvc("status").stdout

    rerun = tiny_project.dvc("repro")
    assert stage in ran_stages(rerun.stdout)
    assert lock_outs(tiny_project) == reference


def file_hashes(root: Path) -> dict[str, str]:
    return {
        path: hashlib.md5((root / path).read_bytes()).hexdigest() for path in output_files(root)
    }


@pytest.fixture
def shared(tiny_project: DvcProject, tmp_path: Path) -> DvcProject:
    """The tiny project, reproduced, with a bare git remote and a directory DVC remote."""
    tiny_project.dvc("repro")
    tiny_project.dvc("remote", "add", "--default", "storage", str(tmp_path / "dvc-remote"))
    tiny_project.commit("reproduced, with a DVC remote")
    tiny_project.run("git", "init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"))
    tiny_project.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    tiny_project.git("push", "-q", "origin", "main")
    tiny_project.dvc("push")
    return tiny_project


def clone(shared: DvcProject, destination: Path) -> DvcProject:
    # No data source at all: everything must come from the DVC remote.
    env = shared.env | {"DATA_MIRROR": str(destination.parent / "no-such-mirror")}
    shared.run("git", "clone", "-q", str(destination.parent / "origin.git"), str(destination))
    return DvcProject(destination, env)


def test_fresh_clone_pull_gets_identical_artifacts(shared: DvcProject, tmp_path: Path) -> None:
    colleague = clone(shared, tmp_path / "colleague")
    colleague.dvc("pull")
    assert colleague.dvc("status").stdout.strip() == "Data and pipelines are up to date."
    assert file_hashes(colleague.root) == file_hashes(shared.root)
    assert ran_stages(colleague.dvc("repro").stdout) == []


def test_experiments_travel_between_clones(shared: DvcProject, tmp_path: Path) -> None:
    shared.dvc("exp", "run", "-n", "two-epochs", "-S", "train.max_iter=2")
    shared.dvc("exp", "push", "origin", "two-epochs")
    metrics = json.loads((shared.root / "reports/metrics.json").read_text())

    colleague = clone(shared, tmp_path / "colleague")
    colleague.dvc("exp", "pull", "origin", "two-epochs")
    experiments = exp_show(colleague)
    assert experiments["two-epochs"]["metrics"]["reports/metrics.json"]["data"] == metrics
    colleague.dvc("exp", "apply", "two-epochs")
    colleague.dvc("checkout")
    assert (colleague.root / "models/mlp.skops").read_bytes() == (
        shared.root / "models/mlp.skops"
    ).read_bytes()


def test_two_fresh_clones_reproduce_identical_hashes(shared: DvcProject, tmp_path: Path) -> None:
    """Every output -- arrays, model, CSVs, PNGs, GIF -- hashes the same from scratch."""
    first = clone(shared, tmp_path / "first")
    second = clone(shared, tmp_path / "second")
    for project in (first, second):
        project.env["DATA_MIRROR"] = shared.env["DATA_MIRROR"]
        project.dvc("repro", "--force", "--no-run-cache")
    assert lock_outs(first) == lock_outs(second) == lock_outs(shared)
    assert file_hashes(first.root) == file_hashes(second.root)
