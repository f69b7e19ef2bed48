"""The seed-exact checks on the full MNIST: the published numbers, bit for bit.

Needs the four original files in ``DATA_MIRROR`` (a directory or URL prefix). Without it
the test would have to download from the internet, which tests never do: it skips with
that reason on a developer's machine and fails under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import csv
import json
import warnings

import pytest
import yaml

from mnist_mlp.dataset import ARRAY_NAMES, to_features
from mnist_mlp.files import load_arrays
from mnist_mlp.model_file import load_model, model_bytes
from mnist_mlp.params import load_section
from mnist_mlp.threads import pinned_blas_threads
from mnist_mlp.train import build_classifier
from tests.helpers import PROJECT_ROOT, DvcProject, full_mnist_mirror, make_dvc_project
from tests.test_pipeline import lock_outs, ran_stages

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
    committed = yaml.safe_load((PROJECT_ROOT / "dvc.lock").read_text())
    expected = {
        out["path"]: out["md5"] for stage in committed["stages"].values() for out in stage["outs"]
    }
    assert lock_outs(mnist_project) == expected


def test_second_repro_does_nothing(mnist_project: DvcProject) -> None:
    assert ran_stages(mnist_project.dvc("repro").stdout) == []
    assert mnist_project.dvc("status").stdout.strip() == "Data and pipelines are up to date."


def test_model_is_byte_identical_to_a_plain_fit(mnist_project: DvcProject) -> None:
    """Recording per-epoch curves does not change the fitted model by a single bit."""
    arrays = load_arrays(mnist_project.root / "data/prepared", ARRAY_NAMES)
    classifier = build_classifier(load_section(mnist_project.root / "params.yaml", "train"))
    with warnings.catch_warnings(), pinned_blas_threads():
        warnings.simplefilter("ignore")
        plain = classifier.fit(to_features(arrays["X_train"]), arrays["y_train"])
    pipeline_model = load_model(mnist_project.root / "models/mlp.skops")
    assert model_bytes(pipeline_model) == model_bytes(plain)
    assert (mnist_project.root / "models/mlp.skops").read_bytes() == model_bytes(plain)
