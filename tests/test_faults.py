"""Killed stages, shared remotes and fresh clones: nothing partial is ever taken as valid,
and a colleague's clone gets back exactly the same artifacts."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import signal
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    STAGES,
    DvcProject,
    Running,
    assert_not_recorded,
    copy_project,
    declared_outputs,
    exp_show,
    lock_outs,
    make_tiny_project,
    output_files,
    ran_stages,
    run_cache_entries,
    stop_training,
    tiny_mnist_files,
)

pytestmark = pytest.mark.pipeline

# Runs a stage script with one write function replaced by one that writes half of its
# data and then SIGKILLs the process: a kill in the middle of writing an output.
KILL_MID_WRITE = """
import os, runpy, signal, sys
from pathlib import Path
import numpy as np

def die_halfway(write, data):
    write(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)

def write_bytes(self, data):
    with open(self, "wb", buffering=0) as handle:
        die_halfway(handle.write, data)

def save(file, array, allow_pickle=True):
    # What the stages give np.save: an object with a write method (mnist_mlp.io.files).
    die_halfway(file.write, array.tobytes())

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
    reproduced: DvcProject, stage: str, output: str
) -> None:
    tiny_project = reproduced
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
def shared(reproduced: DvcProject, tmp_path: Path) -> DvcProject:
    """The tiny project, reproduced, with a bare git remote and a directory DVC remote."""
    tiny_project = reproduced
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


# Runs a stage script whose first os.replace -- the step that puts an output in place,
# see mnist_mlp.io.files -- first sends the process the given signal: a stop arriving at the
# last moment, when the stage has done all its work.
SIGNAL_BEFORE_FIRST_OUTPUT = """
import os, runpy, signal, sys

replace = os.replace
signum = int(sys.argv[1])

def signalled_replace(source, target):
    os.kill(os.getpid(), signum)
    replace(source, target)

os.replace = signalled_replace
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
STAGE_OUTPUTS = {stage: declared_outputs(stage) for stage in STAGES}


def stage_output_files(project: DvcProject, stage: str) -> list[Path]:
    paths = [project.root / output for output in STAGE_OUTPUTS[stage]]
    return [file for path in paths for file in ([path] if path.is_file() else path.rglob("*"))]


def identity(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None if it is gone: an output put in place has a new inode."""
    return (path.stat().st_ino, path.stat().st_mtime_ns) if path.exists() else None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
@pytest.mark.parametrize("stage", list(STAGE_OUTPUTS))
def test_stopped_stage_fails_and_puts_no_output_in_place(
    reproduced: DvcProject, stage: str, signum: signal.Signals
) -> None:
    before = {path: identity(path) for path in stage_output_files(reproduced, stage)}
    stopped = reproduced.run(
        sys.executable,
        "-c",
        SIGNAL_BEFORE_FIRST_OUTPUT,
        str(int(signum)),
        *stage_command(reproduced, stage),
        check=False,
    )
    # Each output is the old one or gone (a directory output is removed just before its
    # replacement is renamed into place), never a new one.
    assert [path for path, old in before.items() if identity(path) not in (old, None)] == []
    leftovers = list(reproduced.root.glob("**/.*.tmp"))
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)
        leftover.unlink(missing_ok=True)
    reproduced.dvc("checkout")
    if signum == signal.SIGKILL:
        assert stopped.returncode == -signal.SIGKILL
    else:
        # One line, no traceback, the exit status a shell gives a command the signal stopped.
        assert stopped.returncode == 128 + signum
        assert stopped.stderr.splitlines()[-1].endswith(
            f"stopped by {signum.name} before finishing; run it again"
        )
        assert "Traceback" not in stopped.stderr
        assert leftovers == []


# Training long enough (about 0.2 s an epoch on the tiny data, one sample per batch) that a
# signal sent when epoch 1 is logged lands in the middle of fit().
SLOW_TRAIN = {"batch_size": 1, "max_iter": 12, "n_iter_no_change": 100}


@pytest.fixture(scope="module")
def slow_prepared(tmp_path_factory: pytest.TempPathFactory) -> DvcProject:
    """The tiny project with slow training, fetched and preprocessed, nothing trained yet;
    tests change copies of it."""
    root = tmp_path_factory.mktemp("slow")
    mirror = tiny_mnist_files(root / "tiny_mnist")
    project = make_tiny_project(root / "project", mirror, **SLOW_TRAIN)
    project.dvc("repro", "preprocess")
    return project


@pytest.fixture(scope="module")
def uninterrupted_outs(
    slow_prepared: DvcProject, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The outputs ``dvc.lock`` records for ``slow_prepared`` when nobody interrupts it."""
    project = copy_project(slow_prepared, tmp_path_factory.mktemp("uninterrupted") / "project")
    project.dvc("repro")
    return lock_outs(project)


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda signum: signum.name
)
def test_training_stopped_mid_fit_is_not_recorded(
    slow_prepared: DvcProject,
    uninterrupted_outs: dict[str, str],
    tmp_path: Path,
    signum: signal.Signals,
) -> None:
    """scikit-learn turns Ctrl-C into "Training interrupted by user" and returns a partly
    trained model: however train is stopped, it must fail, DVC must record nothing for it,
    and the next `dvc repro` must train again."""
    project = copy_project(slow_prepared, tmp_path / "project")
    run_cache = run_cache_entries(project)

    output = stop_training(project, signum)
    assert "failed to reproduce 'train'" in output
    assert "Training interrupted by user" not in output
    if signum == signal.SIGKILL:
        # Nothing can catch it: the stage says nothing, and DVC gives the status the shell
        # reports for it (137), or -9 where $SHELL execs the command.
        assert "stopped by" not in output
        assert any(f"exited with {status}" in output for status in (128 + signum, -signum))
    else:
        assert f"stopped by {signum.name} before finishing; run it again" in output
        assert f"exited with {128 + signum}" in output
    assert_not_recorded(project, "train", run_cache)

    recovered = project.dvc("repro")
    assert ran_stages(recovered.stdout) == ["train", "evaluate", "visualize"]
    assert lock_outs(project) == uninterrupted_outs


def test_params_changed_during_training_are_not_recorded(tiny_project: DvcProject) -> None:
    """`dvc exp run -S` beside a running `dvc repro` rewrites params.yaml before it finds the
    repository busy: the running train must not be recorded against the new value."""
    params = yaml.safe_load((tiny_project.root / "params.yaml").read_text())
    params["train"].update(SLOW_TRAIN)
    tiny_project.write_params(params)
    tiny_project.commit("slow training")
    tiny_project.dvc("repro")
    lock_before = (tiny_project.root / "dvc.lock").read_text()
    model_before = lock_outs(tiny_project)["models/mlp.skops"]
    cache_before = run_cache_entries(tiny_project)

    repro = Running(tiny_project, sys.executable, "-m", "dvc", "repro", "--force", "-s", "train")
    repro.wait_for_line(r"epoch 1: loss")
    train = repro.child("stages/train.py")
    # Paused while params.yaml changes, so the change lands mid-training whatever the load.
    train.suspend()
    params["train"]["learning_rate_init"] = 0.2
    tiny_project.write_params(params)
    train.resume()
    assert repro.finish() != 0
    assert "params.yaml: train: changed while this stage ran" in repro.output
    assert (tiny_project.root / "dvc.lock").read_text() == lock_before
    assert run_cache_entries(tiny_project) == cache_before

    # The next run trains with 0.2 for real: no cache entry pairs 0.2 with the 0.1 model.
    rerun = tiny_project.dvc("repro")
    assert "train" in ran_stages(rerun.stdout) and "skipping run" not in rerun.stdout
    lock = yaml.safe_load((tiny_project.root / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["learning_rate_init"] == 0.2
    assert lock_outs(tiny_project)["models/mlp.skops"] != model_before
