"""The evaluate stage's core: the example's two scores plus per-class and confusion data."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.neural_network import MLPClassifier

PER_CLASS_HEADER = ("class", "precision", "recall", "f1", "support")
CONFUSION_HEADER = ("actual", "predicted")


def evaluate(
    model: MLPClassifier,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> tuple[dict[str, float], list[tuple[Any, ...]], list[tuple[int, int]]]:
    """Score ``model`` as the example does (mean accuracy, ``model.score``) and per class.

    Returns
    -------
    metrics : dict
        ``train_score`` and ``test_score``, plus the test set's macro-averaged
        ``test_precision``, ``test_recall`` and ``test_f1``.
    per_class : list of (class, precision, recall, f1, support) on the test set
    confusion : list of (actual, predicted), one per test sample, for a DVC confusion plot
    """
    predicted = model.predict(X_test)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_test, predicted, labels=model.classes_, zero_division=0
    )
    metrics = {
        "train_score": float(model.score(X_train, y_train)),
        "test_score": float(accuracy_score(y_test, predicted)),
        "test_precision": float(precision.mean()),
        "test_recall": float(recall.mean()),
        "test_f1": float(f1.mean()),
    }
    per_class = [
        (int(label), float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(model.classes_, precision, recall, f1, support, strict=True)
    ]
    confusion = [(int(a), int(p)) for a, p in zip(y_test, predicted, strict=True)]
    return metrics, per_class, confusion
