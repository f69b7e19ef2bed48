"""The evaluate core: the example's scores and the per-class and confusion data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix
from sklearn.neural_network import MLPClassifier

from mnist_mlp.core.dataset import predict
from mnist_mlp.core.evaluate import check_model, evaluate, recorded_scores
from mnist_mlp.errors import ModelFileError
from mnist_mlp.io.files import NpyRows
from mnist_mlp.io.model_file import load_model_bytes, model_bytes
from mnist_mlp.io.pipeline import stage_arguments
from tests.helpers import DvcProject, run_script, small_model


@pytest.fixture(scope="module")
def result():
    model, X = small_model()
    pixels = np.rint(X * 255).astype(np.uint8)
    y = model.predict(X)
    y[:7] = (y[:7] + 1) % 10  # seven deliberate mistakes
    return model, X, y, evaluate(model, pixels, model.predict(X), pixels, y)


def test_batched_prediction_equals_predict() -> None:
    model, X = small_model()
    pixels = np.rint(X * 255).astype(np.uint8)
    expected = model.predict(pixels / 255.0)
    np.testing.assert_array_equal(predict(model, pixels, batch_size=7), expected)
    np.testing.assert_array_equal(predict(model, pixels), expected)
    # Rows in batches, as read from a file, are predicted batch by batch.
    batches = [pixels[:5], pixels[5:6], pixels[6:]]
    np.testing.assert_array_equal(predict(model, batches), expected)
    # Features (not uint8 pixels) are predicted as they are.
    np.testing.assert_array_equal(predict(model, X, batch_size=7), model.predict(X))


def test_scores_are_mean_accuracy_as_model_score(result) -> None:
    model, X, y, (metrics, _, _) = result
    assert metrics["train_score"] == 1.0
    assert metrics["test_score"] == model.score(X, y) == pytest.approx(1 - 7 / len(y))
    assert set(metrics) == {"train_score", "test_score", "test_precision", "test_recall", "test_f1"}


def test_per_class_table(result) -> None:
    model, _, y, (metrics, per_class, _) = result
    assert list(per_class.columns) == ["class", "precision", "recall", "f1", "support"]
    assert per_class["class"].tolist() == model.classes_.tolist()
    assert per_class["support"].sum() == len(y)
    assert per_class[["precision", "recall", "f1"]].stack().between(0, 1).all()
    assert per_class["recall"].mean() == pytest.approx(metrics["test_recall"])


def test_confusion_pairs_rebuild_the_confusion_matrix(result) -> None:
    model, X, y, (_, _, confusion) = result
    assert list(confusion.columns) == ["actual", "predicted"]
    np.testing.assert_array_equal(
        confusion_matrix(confusion["actual"], confusion["predicted"]),
        confusion_matrix(y, model.predict(X)),
    )


def test_recorded_scores_are_those_of_the_epoch_holding_the_models_weights() -> None:
    model, _ = small_model()
    other = model.coefs_[0] + 1.0
    record = {"epoch": ["1", "2", "3"], "train_accuracy": ["0.1", "0.2", "0.3"]}
    record["test_accuracy"] = ["0.4", "0.5", "0.6"]
    snapshots = np.stack([other, model.coefs_[0], other * 2])
    assert recorded_scores(model, record, snapshots) == (0.2, 0.5)
    assert recorded_scores(model, record, np.stack([other, other, other])) is None
    assert recorded_scores(model, record, np.stack([model.coefs_[0]] * 3)) is None
    assert recorded_scores(model, record, snapshots[:2]) is None, "a record of other epochs"


def test_the_recorded_train_score_is_taken_only_when_the_test_score_agrees(result) -> None:
    model, X, y, (metrics, _, _) = result
    pixels = np.rint(X * 255).astype(np.uint8)
    agreeing = (0.25, metrics["test_score"])  # not the real train score: shows it was taken
    taken, _, _ = evaluate(model, pixels, model.predict(X), pixels, y, recorded=agreeing)
    assert taken == metrics | {"train_score": 0.25}
    # Taking it, evaluate never reads the training set: here a file that does not exist.
    unread = NpyRows(Path("no-such-dir") / "X_train.npy", 1000)
    assert evaluate(model, unread, model.predict(X), pixels, y, recorded=agreeing)[0] == taken
    disagreeing = (0.25, metrics["test_score"] - 0.01)
    predicted, _, _ = evaluate(model, pixels, model.predict(X), pixels, y, recorded=disagreeing)
    assert predicted == metrics


def set_item(name: str, index: int, value) -> Callable[[MLPClassifier], None]:
    return lambda model: getattr(model, name).__setitem__(index, value(getattr(model, name)))


# Each edit of a fitted model's attributes that predict() fails on (or mispredicts with),
# and what the one-line error then says. The model: 784 features, 8 hidden units, 10 classes.
TAMPERED = {
    "second layer narrower": (
        set_item("coefs_", 1, lambda coefs: coefs[1][:, :7]),
        r"coefs_\[1\] is float64 of shape \(8, 7\), expected floats of shape \(8, 10\)",
    ),
    "layers that do not chain": (
        set_item("coefs_", 1, lambda coefs: np.zeros((9, 10))),
        r"coefs_\[1\] is float64 of shape \(9, 10\), expected floats of shape \(8, 10\)",
    ),
    "first layer of text": (
        set_item("coefs_", 0, lambda coefs: coefs[0].astype(str)),
        r"coefs_\[0\] is <U\d+ of shape \(784, 8\), expected floats of shape \(784, n\)",
    ),
    "a bias of the wrong width": (
        set_item("intercepts_", 0, lambda intercepts: intercepts[0][:3]),
        r"intercepts_\[0\] is float64 of shape \(3,\), expected floats of shape \(8,\)",
    ),
    "a layer lost": (
        lambda model: model.intercepts_.pop(),
        r"coefs_ and intercepts_ are not lists of one array per layer",
    ),
    "n_layers_": (lambda m: setattr(m, "n_layers_", 5), r"n_layers_ is 5, expected 3 for 2"),
    "n_outputs_": (lambda m: setattr(m, "n_outputs_", 1), r"n_outputs_ is 1, expected 10"),
    "out_activation_": (
        lambda m: setattr(m, "out_activation_", "softplus"),
        r"out_activation_ is 'softplus', expected 'softmax' for 10 classes",
    ),
    "activation": (
        lambda m: setattr(m, "activation", "swish"),
        r"activation: The 'activation' parameter of MLPClassifier must be a str among",
    ),
}


@pytest.mark.parametrize("edit", TAMPERED)
def test_a_model_file_with_tampered_attributes_is_refused(edit: str) -> None:
    """The file is a well-formed skops archive: only the attributes predict() uses differ."""
    model, _ = small_model()
    labels = np.arange(10)
    check_model(load_model_bytes(model_bytes(model), "mlp.skops"), 784, labels, "mlp.skops")
    change, message = TAMPERED[edit]
    change(model)
    tampered = load_model_bytes(model_bytes(model), "mlp.skops")
    with pytest.raises(ModelFileError, match=rf"^mlp\.skops: {message}"):
        check_model(tampered, 784, labels, "mlp.skops")


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("damage", "unreadable"),
    [
        ({"--accuracy": b"\xff\xfe not text"}, True),
        ({"--snapshots": b"not an npy file"}, True),
        ({"--accuracy": None, "--snapshots": None}, True),  # both missing
        ({"--snapshots": np.zeros((2, 3))}, False),  # an .npy, but not of epochs
    ],
)
def test_an_unreadable_record_costs_a_prediction_not_the_metrics(
    reproduced: DvcProject, tmp_path: Path, damage: dict, unreadable: bool
) -> None:
    """train's record only spares predicting the training set again: evaluate run by hand
    with a damaged record says so and writes the same metrics."""
    args = stage_arguments("evaluate", reproduced.root / "dvc.yaml")
    for option, content in damage.items():
        args[option] = str(tmp_path / Path(args[option]).name)
        if isinstance(content, bytes):
            Path(args[option]).write_bytes(content)
        elif content is not None:
            np.save(args[option], content)
    for option in ("--metrics", "--per-class", "--confusion"):
        args[option] = str(tmp_path / "out" / Path(args[option]).name)
    result = run_script(
        "evaluate.py", *(w for pair in args.items() for w in pair), cwd=reproduced.root,
        env=reproduced.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ("train's record cannot be read" in result.stderr) == unreadable
    assert (tmp_path / "out/metrics.json").read_bytes() == (
        reproduced.root / "reports/metrics.json"
    ).read_bytes()
