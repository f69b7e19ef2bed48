"""The train stage's core: build ``MLPClassifier(**params["train"])``, fit it, record each epoch.

The per-epoch record (loss, train and test accuracy, validation score) is taken by a hook
at the end of each epoch of scikit-learn's own ``fit`` loop, after the epoch's weight update
and before the next shuffle. The hook only reads the model, so the fitted model is
byte-identical to a plain ``fit()`` -- unlike a ``partial_fit`` loop or ``warm_start`` with
``max_iter=1``, which reshuffle and reset the optimizer differently.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from tqdm import tqdm

from mnist_mlp.core.dataset import PREDICT_BATCH_ROWS, predict
from mnist_mlp.core.params import InvalidParam, param
from mnist_mlp.core.sklearn_private import after_each_epoch, validate_param
from mnist_mlp.errors import ParamsError, brief, reason
from mnist_mlp.kernels import pinned_blas_threads
from mnist_mlp.memory import check_fits

log = logging.getLogger(__name__)


def _sizes(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,)


@dataclass(frozen=True)
class TrainParams:
    """The ``train`` section of ``params.yaml``: ``MLPClassifier``'s keyword arguments.

    All of them but ``verbose`` and ``warm_start``, which change nothing about the fitted
    model. The types say what YAML may hold (a boolean is never a number); scikit-learn's
    own validation then checks each value, and its message names the param.
    ``hidden_layer_sizes`` may be an int or a list (``-S train.hidden_layer_sizes=100`` or
    ``=[100,50]``); scikit-learn checks that its sizes are positive only when fitting, so
    that is checked here.
    """

    hidden_layer_sizes: int | tuple[int, ...] = param(
        "an int > 0 or a non-empty list of ints > 0",
        lambda v: len(_sizes(v)) > 0 and min(_sizes(v)) > 0,
    )
    activation: str = param()
    solver: str = param()
    alpha: float = param()
    batch_size: int | str = param("an int >= 1 or auto")
    learning_rate: str = param()
    learning_rate_init: float = param()
    power_t: float = param()
    max_iter: int = param()
    shuffle: bool = param()
    random_state: int | None = param()
    tol: float = param()
    momentum: float = param()
    nesterovs_momentum: bool = param()
    early_stopping: bool = param()
    validation_fraction: float = param()
    beta_1: float = param()
    beta_2: float = param()
    epsilon: float = param()
    n_iter_no_change: float = param("an int >= 1, or .inf to never stop for no change")
    max_fun: int = param()

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            try:
                validate_param(name, value)
            except (TypeError, ValueError) as exc:
                raise InvalidParam(name, reason(exc)) from None


def build_classifier(params: TrainParams) -> MLPClassifier:
    """``MLPClassifier(**params)``, with ``hidden_layer_sizes`` a tuple as in the example."""
    return MLPClassifier(
        **asdict(params) | {"hidden_layer_sizes": _sizes(params.hidden_layer_sizes)}
    )


def _layers(classifier: MLPClassifier, n_features: int, n_classes: int) -> list[int]:
    """Units per layer, input to output (one output unit for two classes, as sklearn)."""
    output = 1 if n_classes == 2 else n_classes
    return [n_features, *classifier.hidden_layer_sizes, output]


def fit_memory(
    classifier: MLPClassifier,
    n_train: int,
    n_features: int,
    itemsize: int,
    n_classes: int,
) -> dict[str, int]:
    """Bytes :func:`fit` and the train stage will hold at once, by what holds them.

    Parameters
    ----------
    classifier : MLPClassifier
        Unfitted, with the params it will be fitted with.
    n_train, n_features : int
        The training set's shape (read from its ``.npy`` header, before loading).
    itemsize : int
        Bytes per feature: 8 for float64, 4 for float32 (the weights follow the features).

    Returns
    -------
    dict
        The training features (the test set is scored a batch of rows at a time, read
        from its file: :class:`mnist_mlp.io.files.NpyRows`); the weights with their
        gradients, the optimizer's state and the saved model; the per-epoch first-layer
        snapshots (kept as a list, then stacked: twice); one batch's activations and
        deltas; and scoring a batch of rows (:func:`mnist_mlp.core.dataset.predict`).

    Real fits' peaks stayed within the estimate plus :data:`mnist_mlp.memory.BASE_BYTES`
    (Python and the libraries themselves).
    """
    hidden = list(classifier.hidden_layer_sizes)
    layers = _layers(classifier, n_features, n_classes)
    n_weights = sum((n_in + 1) * n_out for n_in, n_out in zip(layers, layers[1:], strict=False))
    optimizer_copies = {"sgd": 1, "adam": 2, "lbfgs": 2 * 10 + 2}[classifier.solver]
    copies = 3 + optimizer_copies + 1 + int(classifier.early_stopping)
    if classifier.solver == "lbfgs":
        epochs, batch = 1, n_train
    else:
        epochs = classifier.max_iter
        auto = classifier.batch_size == "auto"
        batch = min(200 if auto else classifier.batch_size, n_train)
    return {
        "features": n_train * n_features * itemsize,
        "weights and optimizer state": copies * n_weights * itemsize,
        "per-epoch snapshots": 2 * epochs * n_features * hidden[0] * itemsize,
        "activations": 2 * batch * sum(layers[1:]) * itemsize,
        # A batch's features, and one layer's activations and the next's for each row.
        "scoring": PREDICT_BATCH_ROWS
        * (n_features + max(map(sum, zip(layers[1:], layers[2:], strict=False))))
        * itemsize,
    }


# Multiply-adds per second of one BLAS thread in an MLP epoch, roughly, on an x86-64 CPU
# with AVX2: the estimate is logged, never enforced.
MULTIPLY_ADDS_PER_SECOND = 1e10


def fit_seconds(
    classifier: MLPClassifier, n_train: int, n_test: int, n_features: int, n_classes: int
) -> float:
    """Rough seconds :func:`fit` takes: each epoch a forward and backward pass over the
    training set (3 products per weight and sample) and scoring both sets (1 product)."""
    layers = _layers(classifier, n_features, n_classes)
    n_weights = sum(n_in * n_out for n_in, n_out in zip(layers, layers[1:], strict=False))
    per_epoch = (3 * n_train + n_train + n_test) * n_weights
    return classifier.max_iter * per_epoch / MULTIPLY_ADDS_PER_SECOND


def check_fit_memory(
    classifier: MLPClassifier,
    train_shape: tuple[int, ...],
    n_classes: int,
    dtype: str,
    available: int,
) -> int:
    """Refuse, naming the params, a fit that needs more than ``available`` bytes.

    Raises
    ------
    ParamsError
        ``train.hidden_layer_sizes = [...] with train.max_iter = N needs about ...``.

    Returns
    -------
    The estimated bytes.
    """
    n_train, n_features = train_shape[0], int(np.prod(train_shape[1:]))
    parts = fit_memory(classifier, n_train, n_features, np.dtype(dtype).itemsize, n_classes)
    named = [f"train.hidden_layer_sizes = {brief(list(classifier.hidden_layer_sizes))}"]
    largest = max(parts, key=lambda part: parts[part])
    if largest == "per-epoch snapshots":
        named.append(f"train.max_iter = {classifier.max_iter}")
    elif largest == "activations":
        named.append(f"train.batch_size = {brief(classifier.batch_size)}")
    elif largest == "features":
        named = [f"features.dtype = {dtype} on {n_train} training samples"]
    return check_fits(parts, available, " with ".join(named))


def check_validation_split(classifier: MLPClassifier, n_train: int) -> None:
    """Refuse early stopping on a training set too small for its validation set.

    With ``early_stopping``, scikit-learn's ``fit`` holds out ``validation_fraction`` of
    the training set as ``train_test_split`` does, and stops with a traceback once the
    data is loaded if that leaves fewer than 2 samples to validate on or none to train on.

    Raises
    ------
    ParamsError
        Naming both params and the number of training samples (set by ``split``).
    """
    if not classifier.early_stopping:
        return
    named = (
        f"train.early_stopping = true with train.validation_fraction = "
        f"{classifier.validation_fraction} of {n_train} training samples (split.train_size)"
    )
    try:  # the sizes only: nothing is shuffled
        _, held_out = train_test_split(
            np.arange(n_train), test_size=classifier.validation_fraction, shuffle=False
        )
    except ValueError as exc:
        raise ParamsError(f"{named}: {reason(exc)}") from None
    if len(held_out) < 2:
        raise ParamsError(
            f"{named} validates on {len(held_out)}, scikit-learn needs at least 2: "
            "raise train.validation_fraction or split.train_size"
        )


@dataclass
class History:
    """What happened in each epoch; row ``i`` is epoch ``i + 1``."""

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    validation_score: list[float] = field(default_factory=list)
    first_layer: list[np.ndarray] = field(default_factory=list)

    def loss_rows(self) -> list[tuple[int, float]]:
        """``(epoch, loss)`` rows for ``loss.csv``."""
        return [(epoch, loss) for epoch, loss in enumerate(self.loss, start=1)]

    def accuracy_rows(self) -> list[tuple[Any, ...]]:
        """``(epoch, train_accuracy, test_accuracy[, validation_score])`` rows."""
        columns = [self.train_accuracy, self.test_accuracy]
        if self.validation_score:
            columns.append(self.validation_score)
        return [
            (epoch, *values) for epoch, values in enumerate(zip(*columns, strict=True), start=1)
        ]

    def accuracy_header(self) -> list[str]:
        header = ["epoch", "train_accuracy", "test_accuracy"]
        return header + (["validation_score"] if self.validation_score else [])


def fit(
    classifier: MLPClassifier,
    X_train: np.ndarray,
    y_train: np.ndarray,
    pixels_test: np.ndarray | Iterable[np.ndarray],
    y_test: np.ndarray,
    dtype: str = "float64",
) -> tuple[MLPClassifier, History]:
    """Fit ``classifier`` on the training set, recording each epoch.

    Parameters
    ----------
    X_train : ndarray of shape (n_samples, n_features), float
        The features it is fitted on.
    pixels_test : ndarray of uint8, shape (n_samples, n_features), or its rows in batches
        Scored after each epoch as features in ``dtype``, a batch of rows at a time
        (:func:`mnist_mlp.core.dataset.predict`): the test set is never held as floats.
        Batches are iterated once per epoch: :class:`mnist_mlp.io.files.NpyRows` reads
        them from the file each time, so the test set is not held at all.
    y_train, y_test : ndarray of shape (n_samples,)

    Returns
    -------
    The fitted classifier and its :class:`History`. ``lbfgs`` has no epochs: its history
    holds the final state as its only row. BLAS runs on one thread throughout
    (:mod:`mnist_mlp.kernels`), so the model's bytes do not depend on the machine.

    Raises
    ------
    KeyboardInterrupt
        If the fit was interrupted: scikit-learn would return the partly trained model.
    """
    if isinstance(pixels_test, Iterator):  # it would be empty from the second epoch on
        raise TypeError("pixels_test is scored after every epoch: an iterator can be read once")
    history = History()
    bar = tqdm(total=classifier.max_iter, desc="train", unit="epoch", leave=False, disable=None)

    # Scored in line, between two epochs: scoring in a second thread, on a copy of the
    # weights, while the next epoch trained was no faster on two cores.
    def record(model: MLPClassifier) -> None:
        history.loss.append(float(model.loss_))
        if getattr(model, "validation_scores_", None):
            history.validation_score.append(float(model.validation_scores_[-1]))
        history.first_layer.append(model.coefs_[0].copy())
        history.train_accuracy.append(float(accuracy_score(y_train, predict(model, X_train))))
        history.test_accuracy.append(
            float(accuracy_score(y_test, predict(model, pixels_test, dtype)))
        )
        log.info(
            "epoch %d: loss %.8f, train accuracy %.6f, test accuracy %.6f",
            len(history.loss),
            history.loss[-1],
            history.train_accuracy[-1],
            history.test_accuracy[-1],
        )
        bar.update()

    with bar, pinned_blas_threads(), after_each_epoch(record), warnings.catch_warnings():
        # scikit-learn turns a KeyboardInterrupt into this warning and returns the partly
        # trained model; as an error it ends fit(), and is a KeyboardInterrupt again below.
        warnings.filterwarnings("error", "Training interrupted by user", UserWarning)
        # Expected with a small max_iter, as in the example (which ignores it): logged below.
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        try:
            classifier.fit(X_train, y_train)
        except UserWarning as warning:  # the caller's filters may raise others
            if not str(warning).startswith("Training interrupted by user"):
                raise
            raise KeyboardInterrupt from None
        if not history.loss:
            record(classifier)
    if classifier.n_iter_ >= classifier.max_iter:
        log.info(
            "not converged in train.max_iter = %d epochs (expected with a small max_iter)",
            classifier.max_iter,
        )
    return classifier, history
