"""The seed-exact checks on the full MNIST: the published numbers, bit for bit.

Needs the four original files in ``DATA_MIRROR`` (a directory or URL prefix). Without it
the test would have to download from the internet, which tests never do: it skips with
that reason on a developer's machine and fails under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import csv
import json
import platform
import sys

import pytest
import yaml

from tests.helpers import (
    PROJECT_ROOT,
    DvcProject,
    full_mnist_mirror,
    lock_outs,
    make_dvc_project,
    ran_stages,
    this_machine_pin,
)

pytestmark = [pytest.mark.mnist, pytest.mark.pipeline]

PUBLISHED_LOSS = {1: "0.32009978", 10: "0.04645355"}


@pytest.fixture(scope="module")
def mnist_project(tmp_path_factory: pytest.TempPathFactory) -> DvcProject:
    project = make_dvc_project(tmp_path_factory.mktemp("mnist") / "project", full_mnist_mirror())
    project.commit("project with the default params")
    project.dvc("repro")
    return project


def test_published_scores(mnist_project: DvcProject) -> None:
    metrics = json.loads((mnist_project.root / "reports/metrics.json").read_text())
    # Formatted as the example prints them.
    assert f"Training set score: {metrics['train_score']:f}" == "Training set score: 0.986800"
    assert f"Test set score: {metrics['test_score']:f}" == "Test set score: 0.970000"


def test_published_loss_curve(mnist_project: DvcProject) -> None:
    with (mnist_project.root / "reports/loss.csv").open() as stream:
        loss = {int(row["epoch"]): float(row["loss"]) for row in csv.DictReader(stream)}
    assert sorted(loss) == list(range(1, 11))
    assert {epoch: f"{loss[epoch]:.8f}" for epoch in PUBLISHED_LOSS} == PUBLISHED_LOSS


def test_outputs_match_the_committed_dvc_lock(mnist_project: DvcProject) -> None:
    """Every artifact hashes as recorded in the project's dvc.lock: same bytes as ours."""
    pin = this_machine_pin()
    if not pin.pinned:
        pytest.skip(f"the CPU kernels cannot be pinned on {platform.machine()}: {pin.reason}")
    committed = yaml.safe_load((PROJECT_ROOT / "dvc.lock").read_text())
    expected = {
        out["path"]: out["md5"] for stage in committed["stages"].values() for out in stage["outs"]
    }
    assert lock_outs(mnist_project) == expected


def test_second_repro_does_nothing(mnist_project: DvcProject) -> None:
    assert ran_stages(mnist_project.dvc("repro").stdout) == []
    assert mnist_project.dvc("status").stdout.strip() == "Data and pipelines are up to date."


# The plain fit runs in a fresh process: the kernels are pinned before numpy loads there,
# as in the stage, and this process loaded numpy long ago.
PLAIN_FIT = """
import sys, warnings
from mnist_mlp.kernels import pin_kernels, pinned_blas_threads
pin_kernels()
from mnist_mlp.core.dataset import ARRAY_NAMES, to_features
from mnist_mlp.io.files import load_arrays
from mnist_mlp.io.model_file import save_model
from mnist_mlp.io.params import load_section
from mnist_mlp.core.train import TrainParams, build_classifier
arrays = load_arrays("data/prepared", ARRAY_NAMES)
classifier = build_classifier(load_section("params.yaml", "train", TrainParams))
with warnings.catch_warnings(), pinned_blas_threads():
    warnings.simplefilter("ignore")
    classifier.fit(to_features(arrays["X_train"]), arrays["y_train"])
save_model(sys.argv[1], classifier)
"""


def test_model_is_byte_identical_to_a_plain_fit(mnist_project: DvcProject) -> None:
    """Recording per-epoch curves does not change the fitted model by a single bit."""
    plain = mnist_project.root.parent / "plain.skops"
    mnist_project.run(sys.executable, "-c", PLAIN_FIT, str(plain))
    assert (mnist_project.root / "models/mlp.skops").read_bytes() == plain.read_bytes()
