"""The preprocess stage's core: put the MNIST parts together in the original order and split.

Pixels stay ``uint8`` on disk (a quarter of the float64 size); :func:`to_features` turns
them into the example's features with ``/ 255.`` exactly as the example does -- multiplying
by ``1 / 255`` differs in the last bit and would change every published number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from sklearn.model_selection import train_test_split

from mnist_mlp.core.params import param, params_error
from mnist_mlp.errors import reason

if TYPE_CHECKING:
    from sklearn.neural_network import MLPClassifier


def _is_size(value: float | None) -> bool:
    return value is None or (isinstance(value, int) and value > 0) or 0 < value < 1


@dataclass(frozen=True)
class SplitParams:
    """The ``split`` section of ``params.yaml``: ``train_test_split``'s keyword arguments.

    ``stratify: true`` stands for ``stratify=y``. scikit-learn checks the sizes against the
    number of samples when :func:`split` runs.
    """

    train_size: float | None = param("null, an int > 0 or a float in (0, 1)", _is_size)
    test_size: float | None = param("null, an int > 0 or a float in (0, 1)", _is_size)
    shuffle: bool = param()
    # numpy's RandomState takes 0 to 2**32 - 1; scikit-learn checks only when splitting.
    random_state: int | None = param(
        "null or an int from 0 to 4294967295", lambda v: v is None or 0 <= v < 2**32
    )
    stratify: bool = param("true or false (stratify by label)")


def combine(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the official train part, then the test part, as the example's 70,000 rows.

    Returns
    -------
    X : ndarray of uint8, shape (n_samples, 784)
    y : ndarray of uint8, shape (n_samples,)
    """
    images = np.concatenate([train_images, test_images])
    return images.reshape(len(images), -1), np.concatenate([train_labels, test_labels])


def split(
    X: np.ndarray, y: np.ndarray, params: SplitParams, where: str | os.PathLike[str]
) -> dict[str, np.ndarray]:
    """Split with ``train_test_split``; the params use its keyword names.

    ``stratify: true`` stratifies by ``y``. With the defaults (``train_size=60000``,
    ``test_size=10000``, ``shuffle=False``) this is exactly ``X[:60000]``, ``X[60000:]``.

    Returns
    -------
    dict with keys ``X_train``, ``y_train``, ``X_test``, ``y_test``

    Raises
    ------
    ParamsError
        Naming ``where`` (the params file), if the sizes do not fit the number of samples.
    """
    kwargs = asdict(params) | {"stratify": y if params.stratify else None}
    try:
        X_train, X_test, y_train, y_test = train_test_split(X, y, **kwargs)
    except ValueError as exc:  # scikit-learn's InvalidParameterError is one
        raise params_error(where, "split", reason(exc)) from None
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}


@dataclass(frozen=True)
class FeaturesParams:
    """The ``features`` section of ``params.yaml``: the dtype the pixels become."""

    dtype: Literal["float64", "float32"] = param(
        "float64 (exact published numbers) or float32 (faster training)"
    )


def to_features(pixels: np.ndarray, dtype: str = "float64") -> np.ndarray:
    """uint8 pixels to features in [0, 1], computed as ``pixels / 255.``.

    ``float32`` halves the memory and lets the fit use single-precision BLAS; scikit-learn
    then trains in float32. The published numbers need the default, float64.
    """
    if dtype == "float32":
        features = pixels.astype(np.float32)
        features /= np.float32(255.0)  # in place: the same floats, one array fewer
        return features
    return pixels / 255.0


def stack_features(
    batches: Iterable[np.ndarray], shape: tuple[int, ...], dtype: str = "float64"
) -> np.ndarray:
    """:func:`to_features` of pixels given as ``batches`` of rows, into one array of ``shape``.

    The same floats as converting all the pixels at once, without holding them whole
    beside their features (47 MB of uint8 for MNIST's training set).
    """
    features = np.empty(shape, dtype)
    start = 0
    for pixels in batches:
        features[start : start + len(pixels)] = to_features(pixels, dtype)
        start += len(pixels)
    if start != len(features):
        raise ValueError(f"{start} rows of pixels for {len(features)} rows of features")
    return features


# Rows converted and predicted at once: 6 MiB of float64 features for MNIST; larger
# batches scored no faster.
PREDICT_BATCH_ROWS = 1000


def predict(
    model: MLPClassifier,
    X: np.ndarray | Iterable[np.ndarray],
    dtype: str = "float64",
    batch_size: int = PREDICT_BATCH_ROWS,
) -> np.ndarray:
    """``model.predict(X)``, a batch of rows at a time; uint8 pixels become features.

    ``X`` is an array, predicted ``batch_size`` rows at a time, or its rows already in
    batches (such as :class:`mnist_mlp.io.files.NpyRows`, which reads them from the file).
    Predictions are row by row, so batches give the same labels while never holding the
    activations of every row, nor the whole feature matrix of uint8 ``X`` (turned into
    features in ``dtype`` by :func:`to_features` a batch at a time: 8 times the pixels'
    memory for float64). Call it with BLAS pinned, as in training (:mod:`mnist_mlp.kernels`).
    """
    batches = (
        (X[start : start + batch_size] for start in range(0, len(X), batch_size))
        if isinstance(X, np.ndarray)
        else X
    )
    predicted = [
        model.predict(to_features(rows, dtype) if rows.dtype == np.uint8 else rows)
        for rows in batches
    ]
    return np.concatenate(predicted) if predicted else np.empty(0, dtype=model.classes_.dtype)
