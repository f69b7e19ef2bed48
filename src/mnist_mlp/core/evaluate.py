"""The evaluate stage's core: the example's two scores plus per-class and confusion data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.neural_network import MLPClassifier

from mnist_mlp.core.dataset import predict
from mnist_mlp.core.sklearn_private import validate_param
from mnist_mlp.errors import ModelFileError, brief, reason
from mnist_mlp.kernels import pinned_blas_threads


def _shown(value: Any) -> str:
    """An attribute as an error message shows it: an array by its dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} of shape {value.shape}"
    return brief(value)


def _layers_problem(model: MLPClassifier, n_outputs: int) -> str | None:
    """What is wrong with the layers ``predict`` multiplies through, or None.

    Each of ``coefs_`` must be a matrix of floats taking the previous layer's width (the
    first: ``n_features_in_``) to its own (the last: ``n_outputs``), each of
    ``intercepts_`` a vector of that width, and ``n_layers_`` one more than their number.
    """
    coefs, intercepts = model.coefs_, getattr(model, "intercepts_", None)
    if not (isinstance(coefs, list) and isinstance(intercepts, list)) or not (
        0 < len(coefs) == len(intercepts)
    ):
        return "coefs_ and intercepts_ are not lists of one array per layer"
    width = model.n_features_in_
    for i, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        last = i == len(coefs) - 1
        if not (
            isinstance(coef, np.ndarray)
            and coef.dtype.kind == "f"
            and coef.ndim == 2
            and coef.shape[0] == width
            and (coef.shape[1] == n_outputs or not last)
        ):
            expected = f"({width}, {n_outputs})" if last else f"({width}, n)"
            return f"coefs_[{i}] is {_shown(coef)}, expected floats of shape {expected}"
        width = coef.shape[1]
        if not (
            isinstance(intercept, np.ndarray)
            and intercept.dtype.kind == "f"
            and intercept.shape == (width,)
        ):
            return f"intercepts_[{i}] is {_shown(intercept)}, expected floats of shape ({width},)"
    n_layers = getattr(model, "n_layers_", None)
    if type(n_layers) is not int or n_layers != len(coefs) + 1:
        return f"n_layers_ is {brief(n_layers)}, expected {len(coefs) + 1} for {len(coefs)} layers"
    return None


def _predict_problem(model: MLPClassifier, n_classes: int) -> str | None:
    """What in a fitted model of ``n_classes`` classes ``predict`` cannot run on, or None."""
    # As scikit-learn fits it: one output unit, logistic, for two classes; else softmax.
    n_outputs, out_activation = (1, "logistic") if n_classes == 2 else (n_classes, "softmax")
    found = getattr(model, "n_outputs_", None)
    if type(found) is not int or found != n_outputs:
        return f"n_outputs_ is {brief(found)}, expected {n_outputs}"
    layers = _layers_problem(model, n_outputs)
    if layers is not None:
        return layers
    found = getattr(model, "out_activation_", None)
    if found != out_activation:
        expected = f"{out_activation!r} for {n_classes} classes"
        return f"out_activation_ is {brief(found)}, expected {expected}"
    try:
        validate_param("activation", getattr(model, "activation", None))
    except (TypeError, ValueError) as exc:
        return f"activation: {reason(exc)}"
    return None


def check_model(model: MLPClassifier, n_features: int, y_train: np.ndarray, source: str) -> None:
    """Refuse a model that ``predict`` cannot run on this data, or that was fitted on other data.

    A well-formed model file can still hold an MLP fitted elsewhere (another image size,
    other labels), or attributes edited by hand: scikit-learn would fail deep in
    ``predict``, or score it against labels it never learned. What ``predict`` relies on
    is checked: the input width, the classes and the number of outputs, every layer's
    shape, the number of layers and the activation functions' names.

    Raises
    ------
    ModelFileError
        Naming ``source``, what the model holds and what was expected.
    """
    if not hasattr(model, "coefs_"):
        raise ModelFileError(f"{source}: the MLPClassifier was never fitted")
    if getattr(model, "n_features_in_", None) != n_features:
        raise ModelFileError(
            f"{source}: the model takes {brief(getattr(model, 'n_features_in_', None))} "
            f"features, the data has {n_features}"
        )
    classes = [str(c) for c in np.asarray(model.classes_).tolist()]
    expected = [str(c) for c in np.unique(y_train).tolist()]
    if classes != expected:
        raise ModelFileError(
            f"{source}: the model's classes are {brief(classes)}, "
            f"the training labels are {brief(expected)}"
        )
    problem = _predict_problem(model, len(classes))
    if problem is not None:
        raise ModelFileError(f"{source}: {problem}")


def recorded_scores(
    model: MLPClassifier, accuracy: Mapping[str, Sequence[str]], snapshots: np.ndarray
) -> tuple[float, float] | None:
    """``(train accuracy, test accuracy)`` that train recorded for ``model``'s weights.

    Parameters
    ----------
    accuracy : {"epoch": [...], "train_accuracy": [...], "test_accuracy": [...], ...}
        The per-epoch record, as read from its CSV.
    snapshots : ndarray of shape (n_epochs, n_features, n_hidden)
        The first layer after each epoch.

    Returns
    -------
    The row of the one epoch whose first layer is the model's, bit for bit (the last epoch,
    or with early stopping the best one), or None if no epoch or several match.
    """
    if snapshots.ndim != 3:
        return None
    epochs = [i for i, layer in enumerate(snapshots) if np.array_equal(layer, model.coefs_[0])]
    train, test = accuracy.get("train_accuracy", []), accuracy.get("test_accuracy", [])
    rows = list(zip(train, test, strict=False))
    if len(epochs) != 1 or len(rows) != len(snapshots):
        return None
    try:
        return float(rows[epochs[0]][0]), float(rows[epochs[0]][1])
    except ValueError:  # not numbers: predicting again is always right
        return None


def evaluate(
    model: MLPClassifier,
    pixels_train: np.ndarray | Iterable[np.ndarray],
    y_train: np.ndarray,
    pixels_test: np.ndarray | Iterable[np.ndarray],
    y_test: np.ndarray,
    dtype: str = "float64",
    recorded: tuple[float, float] | None = None,
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Score ``model`` as the example does (mean accuracy, ``model.score``) and per class.

    Parameters
    ----------
    pixels_train, pixels_test : ndarray of uint8, shape (n_samples, 784), or rows in batches
        Features are ``pixels / 255.`` in ``dtype``, as in training
        (:func:`mnist_mlp.core.dataset.predict`). Batches read from the file
        (:class:`mnist_mlp.io.files.NpyRows`) spare loading the training set when its
        score is taken from ``recorded``.
    recorded : (train score, test score), optional
        What train recorded for these weights (:func:`recorded_scores`). If its test score
        is the one computed here, its train score is taken instead of predicting the
        training set again: train predicted the same features, in the same batches, with
        the same weights.

    Returns
    -------
    metrics : dict
        ``train_score`` and ``test_score``, plus the test set's macro-averaged
        ``test_precision``, ``test_recall`` and ``test_f1``.
    per_class : DataFrame with columns class, precision, recall, f1, support (test set)
    confusion : DataFrame with columns actual, predicted, one row per test sample, for a
        DVC confusion plot
    """
    with pinned_blas_threads():  # as in training: the same bits on every machine
        predicted = predict(model, pixels_test, dtype)
        test_score = float(accuracy_score(y_test, predicted))
        if recorded is not None and recorded[1] == test_score:
            train_score = recorded[0]
        else:
            train_score = float(accuracy_score(y_train, predict(model, pixels_train, dtype)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_test, predicted, labels=model.classes_, zero_division=0
    )
    per_class = pd.DataFrame(
        {
            "class": model.classes_.astype(int),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    )
    metrics = {
        "train_score": train_score,
        "test_score": test_score,
        "test_precision": float(precision.mean()),
        "test_recall": float(recall.mean()),
        "test_f1": float(f1.mean()),
    }
    confusion = pd.DataFrame({"actual": y_test.astype(int), "predicted": predicted.astype(int)})
    return metrics, per_class, confusion
