"""Today's version of the example is one documented ``dvc exp run -S`` away.

Since scikit-learn 1.1 the example trains 40 hidden units for 8 epochs with
``learning_rate_init=0.2`` on ``train_test_split(X, y, random_state=0, test_size=0.7)``.
The README's recipe for it, run as written on the full MNIST, gives the numbers that
version prints. Needs ``DATA_MIRROR``, like ``test_mnist_exact.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    DvcProject,
    built_once,
    full_mnist_mirror,
    make_dvc_project,
    readme_recipe,
)

pytestmark = [pytest.mark.mnist, pytest.mark.pipeline]

# What https://scikit-learn.org/1.4/auto_examples/neural_networks/plot_mnist_filters.html
# prints (the same from 1.1 on).
TODAY_LOSS = [
    "0.44139186",
    "0.19174891",
    "0.13983521",
    "0.11378556",
    "0.09443967",
    "0.07846529",
    "0.06506307",
    "0.05534985",
]
TODAY_SCORES = ("Training set score: 0.986429", "Test set score: 0.953061")


def _run_the_recipe(root: Path) -> DvcProject:
    project = make_dvc_project(root / "project", full_mnist_mirror())
    project.commit("project with the default params")
    recipe = readme_recipe()
    assert recipe[:3] == ["dvc", "exp", "run"]
    project.dvc(*recipe[1:])
    return project


@pytest.fixture(scope="session")
def today_project(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> DvcProject:
    return built_once(tmp_path_factory, worker_id, "today", _run_the_recipe)


def test_split_is_the_shuffled_30_70_split(today_project: DvcProject) -> None:
    prepared = today_project.root / "data/prepared"
    assert len(np.load(prepared / "y_train.npy")) == 21000
    assert len(np.load(prepared / "y_test.npy")) == 49000


def test_loss_curve_is_the_printed_one(today_project: DvcProject) -> None:
    with (today_project.root / "reports/loss.csv").open() as stream:
        loss = [f"{float(row['loss']):.8f}" for row in csv.DictReader(stream)]
    assert loss == TODAY_LOSS


def test_scores_are_the_printed_ones(today_project: DvcProject) -> None:
    metrics = json.loads((today_project.root / "reports/metrics.json").read_text())
    assert (
        f"Training set score: {metrics['train_score']:f}",
        f"Test set score: {metrics['test_score']:f}",
    ) == TODAY_SCORES
