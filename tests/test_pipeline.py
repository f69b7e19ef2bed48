"""The whole pipeline through real ``dvc`` commands, in a temporary git repo, on tiny data."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from mnist_mlp.io.model_file import load_model
from tests.helpers import (
    TINY_TEST,
    TINY_TRAIN,
    DvcProject,
    declared_outputs,
    lock_outs,
    output_files,
    ran_stages,
    tiny_params,
    write_idx_gz,
)

pytestmark = pytest.mark.pipeline

UP_TO_DATE = "Data and pipelines are up to date."


def test_repro_end_to_end_then_nothing_to_do(tiny_project: DvcProject) -> None:
    first = tiny_project.dvc("repro")
    assert ran_stages(first.stdout) == ["fetch", "preprocess", "train", "evaluate", "visualize"]
    for output in declared_outputs():
        assert (tiny_project.root / output).exists(), output
    assert len(output_files(tiny_project.root)) > len(declared_outputs()), "data dirs hold files"

    metrics = json.loads((tiny_project.root / "reports/metrics.json").read_text())
    assert 0 <= metrics["test_score"] <= 1 and 0 <= metrics["train_score"] <= 1
    loss_lines = (tiny_project.root / "reports/loss.csv").read_text().splitlines()
    assert loss_lines[0] == "epoch,loss" and len(loss_lines) == 1 + 3
    confusion = (tiny_project.root / "reports/confusion.csv").read_text().splitlines()
    assert len(confusion) == 1 + TINY_TEST
    assert "not converged" in first.stderr and "Traceback" not in first.stderr
    # visualize draws the grid from this file: it must be the model's own first layer.
    model = load_model(tiny_project.root / "models/mlp.skops")
    first_layer = np.load(tiny_project.root / "models/first_layer.npy")
    np.testing.assert_array_equal(first_layer, model.coefs_[0])
    snapshots = np.load(tiny_project.root / "models/first_layer_per_epoch.npy")
    np.testing.assert_array_equal(snapshots[-1], first_layer)

    assert tiny_project.dvc("status").stdout.strip() == UP_TO_DATE
    lock_before = (tiny_project.root / "dvc.lock").read_text()
    second = tiny_project.dvc("repro")
    assert ran_stages(second.stdout) == []
    assert (tiny_project.root / "dvc.lock").read_text() == lock_before

    shown = json.loads(tiny_project.dvc("metrics", "show", "--json").stdout)
    assert shown[""]["data"]["reports/metrics.json"]["data"] == metrics


def test_rerun_from_scratch_is_byte_identical(tiny_project: DvcProject) -> None:
    tiny_project.dvc("repro")
    first = lock_outs(tiny_project)
    assert set(first) >= {"data/raw", "data/prepared", "models/mlp.skops", "reports/loss.csv"}
    for directory in ("data/raw", "data/prepared", "models", "reports", ".dvc/cache"):
        shutil.rmtree(tiny_project.root / directory)
    (tiny_project.root / "dvc.lock").unlink()
    tiny_project.dvc("repro", "--no-run-cache")
    assert lock_outs(tiny_project) == first


def test_changing_a_param_reruns_only_what_depends_on_it(reproduced: DvcProject) -> None:
    figure = reproduced.dvc("exp", "run", "-S", "visualize.cmap=viridis")
    assert ran_stages(figure.stdout) == ["visualize"]
    training = reproduced.dvc("exp", "run", "-S", "train.learning_rate_init=0.2")
    assert ran_stages(training.stdout) == ["train", "evaluate", "visualize"]


def test_bad_param_fails_the_stage_with_one_line(tiny_project: DvcProject) -> None:
    params = yaml.safe_load((tiny_project.root / "params.yaml").read_text())
    params["train"]["solver"] = "newton"
    tiny_project.write_params(params)
    result = tiny_project.dvc("repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR __main__")]
    assert len(errors) == 1
    assert re.fullmatch(
        r"ERROR __main__: params\.yaml: train\.solver: "
        r"The 'solver' parameter of MLPClassifier must be a str among "
        r"\{.*'sgd'.*\}\. Got 'newton' instead\.",
        errors[0],
    )
    assert "Traceback" not in result.stderr
    assert not (tiny_project.root / "models/mlp.skops").exists()


def test_corrupt_download_stops_the_pipeline(tiny_project: DvcProject, tiny_mnist: Path) -> None:
    labels = tiny_mnist / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-10])
    result = tiny_project.dvc("repro", check=False)
    assert result.returncode != 0
    assert "t10k-labels-idx1-ubyte.gz: no source served it with SHA-256" in result.stderr
    assert not (tiny_project.root / "data/raw").exists()


def test_fetch_from_an_http_mirror(tiny_project: DvcProject, tiny_mnist: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tiny_mnist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tiny_project.env["DATA_MIRROR"] = f"http://127.0.0.1:{server.server_address[1]}/"
        result = tiny_project.dvc("repro", "preprocess")
    finally:
        server.shutdown()
        server.server_close()
    assert f"from http://127.0.0.1:{server.server_address[1]}/" in result.stderr
    assert "training and" in result.stderr and f"{TINY_TRAIN} training" in result.stderr


def test_malformed_idx_with_matching_checksum_stops_preprocess(
    tiny_project: DvcProject, tiny_mnist: Path
) -> None:
    """A file that passes fetch (its checksum is in params) but is not an image set."""
    images = tiny_mnist / "train-images-idx3-ubyte.gz"
    write_idx_gz(images, np.zeros((TINY_TRAIN, 28, 27), dtype=np.uint8))
    tiny_project.write_params(tiny_params(tiny_mnist))
    result = tiny_project.dvc("repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR __main__")]
    assert errors == [
        "ERROR __main__: data/raw/train-images-idx3-ubyte.gz: expected square images, "
        "shape (n, side, side), found (300, 28, 27)"
    ]
    assert (tiny_project.root / "data/raw").is_dir()
    assert not (tiny_project.root / "data/prepared").exists()
