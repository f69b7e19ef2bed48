"""The seed-exact checks on the full MNIST: the published numbers, bit for bit.

Needs the four original files in ``DATA_MIRROR`` (a directory or URL prefix). Without it
the test would have to download from the internet, which tests never do: it skips with
that reason on a developer's machine and fails under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import signal
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    PROJECT_ROOT,
    DvcProject,
    assert_not_recorded,
    built_once,
    copy_project,
    full_mnist_mirror,
    lock_outs,
    make_dvc_project,
    ran_stages,
    run_cache_entries,
    stop_training,
    this_machine_pin,
)

pytestmark = [pytest.mark.mnist, pytest.mark.pipeline]

PUBLISHED_LOSS = {1: "0.32009978", 10: "0.04645355"}
PUBLISHED_SCORES = ["Training set score: 0.986800", "Test set score: 0.970000"]


@pytest.fixture(scope="module")
def mnist_prepared(tmp_path_factory: pytest.TempPathFactory) -> DvcProject:
    """The project on the full MNIST, fetched and preprocessed, nothing trained yet; tests
    change copies of it."""
    project = make_dvc_project(tmp_path_factory.mktemp("mnist") / "project", full_mnist_mirror())
    project.commit("project with the default params")
    project.dvc("repro", "preprocess")
    return project


def _reproduce(root: Path) -> DvcProject:
    project = make_dvc_project(root / "project", full_mnist_mirror())
    project.commit("project with the default params")
    project.dvc("repro")
    return project


@pytest.fixture(scope="session")
def mnist_project(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> DvcProject:
    """The project reproduced on the full MNIST, read only: this checkout itself when it is
    HEAD's and up to date (`.ci/run` runs `make repro` first), else one reproduced now."""
    checkout = DvcProject(PROJECT_ROOT, {**os.environ, "DATA_MIRROR": full_mnist_mirror()})
    unchanged = checkout.git("status", "--porcelain", "--untracked-files=no").stdout == ""
    status = checkout.dvc("status", "--json", check=False)
    if unchanged and status.returncode == 0 and json.loads(status.stdout or "{}") == {}:
        return checkout
    return built_once(tmp_path_factory, worker_id, "mnist", _reproduce)


def printed_scores(project: DvcProject) -> list[str]:
    """The two scores in ``reports/metrics.json``, formatted as the example prints them."""
    metrics = json.loads((project.root / "reports/metrics.json").read_text())
    return [
        f"Training set score: {metrics['train_score']:f}",
        f"Test set score: {metrics['test_score']:f}",
    ]


def loss_by_epoch(project: DvcProject) -> dict[int, float]:
    """``{epoch: loss}`` from ``reports/loss.csv``."""
    with (project.root / "reports/loss.csv").open() as stream:
        return {int(row["epoch"]): float(row["loss"]) for row in csv.DictReader(stream)}


def committed_outs() -> dict[str, str]:
    """``{path: md5}`` of every output in the project's committed ``dvc.lock``."""
    committed = yaml.safe_load((PROJECT_ROOT / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"] for stage in committed["stages"].values() for out in stage["outs"]
    }


def test_published_scores(mnist_project: DvcProject) -> None:
    assert printed_scores(mnist_project) == PUBLISHED_SCORES


def test_published_loss_curve(mnist_project: DvcProject) -> None:
    loss = loss_by_epoch(mnist_project)
    assert sorted(loss) == list(range(1, 11))
    assert {epoch: f"{loss[epoch]:.8f}" for epoch in PUBLISHED_LOSS} == PUBLISHED_LOSS


def test_outputs_match_the_committed_dvc_lock(mnist_project: DvcProject) -> None:
    """Every artifact hashes as recorded in the project's dvc.lock: same bytes as ours."""
    pin = this_machine_pin()
    if not pin.pinned:
        pytest.skip(f"the CPU kernels cannot be pinned on {platform.machine()}: {pin.reason}")
    assert lock_outs(mnist_project) == committed_outs()


def test_second_repro_does_nothing(mnist_project: DvcProject) -> None:
    assert ran_stages(mnist_project.dvc("repro").stdout) == []
    assert mnist_project.dvc("status").stdout.strip() == "Data and pipelines are up to date."


# The plain fit runs in a fresh process: the kernels are pinned before numpy loads there,
# as in the stage, and this process loaded numpy long ago.
PLAIN_FIT = """
import sys, warnings
from mnist_mlp.kernels import pin_kernels, pinned_blas_threads
pin_kernels()
from mnist_mlp.core.dataset import to_features
from mnist_mlp.io.files import load_arrays
from mnist_mlp.io.model_file import save_model
from mnist_mlp.io.params import load_section
from mnist_mlp.core.train import TrainParams, build_classifier
arrays = load_arrays("data/prepared", ("X_train", "y_train"))
classifier = build_classifier(load_section("params.yaml", "train", TrainParams))
with warnings.catch_warnings(), pinned_blas_threads():
    warnings.simplefilter("ignore")
    classifier.fit(to_features(arrays["X_train"]), arrays["y_train"])
save_model(sys.argv[1], classifier)
"""


def test_model_is_byte_identical_to_a_plain_fit(mnist_project: DvcProject, tmp_path: Path) -> None:
    """Recording per-epoch curves does not change the fitted model by a single bit."""
    plain = tmp_path / "plain.skops"
    mnist_project.run(sys.executable, "-c", PLAIN_FIT, str(plain))
    assert (mnist_project.root / "models/mlp.skops").read_bytes() == plain.read_bytes()


def test_ctrl_c_mid_training_records_nothing_and_the_rerun_is_exact(
    mnist_prepared: DvcProject, tmp_path: Path
) -> None:
    """Ctrl-C while train fits the full MNIST: DVC records nothing, and the next
    `dvc repro` trains again from the start and gives the published numbers."""
    project = copy_project(mnist_prepared, tmp_path / "project")
    run_cache = run_cache_entries(project)

    output = stop_training(project, signal.SIGINT)
    assert "stopped by SIGINT before finishing; run it again" in output
    assert "failed to reproduce 'train'" in output
    assert_not_recorded(project, "train", run_cache)

    assert ran_stages(project.dvc("repro").stdout) == ["train", "evaluate", "visualize"]
    loss = loss_by_epoch(project)
    assert {epoch: f"{loss[epoch]:.8f}" for epoch in PUBLISHED_LOSS} == PUBLISHED_LOSS
    assert printed_scores(project) == PUBLISHED_SCORES
    # Byte for byte, where the kernels are pinned (see the test above).
    if this_machine_pin().pinned:
        assert lock_outs(project) == committed_outs()
