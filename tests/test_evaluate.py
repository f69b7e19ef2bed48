"""The evaluate core: the example's scores and the per-class and confusion data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from mnist_mlp.core.dataset import predict
from mnist_mlp.core.evaluate import evaluate
from tests.helpers import small_model


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
