"""Building the classifier from params, and fitting with the per-epoch record."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from mnist_mlp.core.dataset import to_features
from mnist_mlp.core.params import parse_section
from mnist_mlp.core.sklearn_private import epoch_end_owner
from mnist_mlp.core.train import TrainParams, build_classifier, check_validation_split, fit
from mnist_mlp.errors import ParamsError
from mnist_mlp.io.files import NpyRows, save_array
from mnist_mlp.io.model_file import model_bytes
from mnist_mlp.io.params import read_yaml
from mnist_mlp.kernels import pinned_blas_threads
from tests.helpers import PROJECT_ROOT, tiny_digits

# The class of scikit-learn's (private) end-of-epoch method that fit() hooks.
EPOCH_END = epoch_end_owner()

PARAMS = read_yaml(PROJECT_ROOT / "params.yaml")["train"]


def build(params: dict) -> MLPClassifier:
    return build_classifier(parse_section(TrainParams, params, "params.yaml", "train"))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    train_images, y_train = tiny_digits(300, seed=0)
    test_images, y_test = tiny_digits(100, seed=1)
    return {
        "X_train": to_features(train_images.reshape(300, -1)),
        "y_train": y_train,
        "pixels_test": test_images.reshape(100, -1),
        "X_test": to_features(test_images.reshape(100, -1)),
        "y_test": y_test,
    }


def fit_with_history(params: dict, data: dict[str, np.ndarray]):
    return fit(build(params), data["X_train"], data["y_train"], data["pixels_test"], data["y_test"])


def test_params_yaml_is_the_examples_classifier() -> None:
    example = MLPClassifier(
        hidden_layer_sizes=(50,),
        max_iter=10,
        alpha=1e-4,
        solver="sgd",
        tol=1e-4,
        random_state=1,
        learning_rate_init=0.1,
    )
    assert build(PARAMS).get_params() == example.get_params()


@pytest.mark.parametrize(("sizes", "expected"), [(100, (100,)), ([100, 50], (100, 50))])
def test_hidden_layer_sizes_from_an_int_or_a_list(sizes, expected) -> None:
    assert build(PARAMS | {"hidden_layer_sizes": sizes}).hidden_layer_sizes == expected


def test_history_is_one_row_per_epoch(data) -> None:
    model, history = fit_with_history(PARAMS | {"max_iter": 4}, data)
    assert model.n_iter_ == 4
    assert history.loss == model.loss_curve_
    assert history.loss_rows()[0] == (1, model.loss_curve_[0])
    assert len(history.train_accuracy) == len(history.test_accuracy) == 4
    assert history.train_accuracy[-1] == model.score(data["X_train"], data["y_train"])
    assert history.test_accuracy[-1] == model.score(data["X_test"], data["y_test"])
    np.testing.assert_array_equal(history.first_layer[-1], model.coefs_[0])
    assert history.accuracy_header() == ["epoch", "train_accuracy", "test_accuracy"]


def test_each_epochs_accuracy_is_the_score_of_that_epochs_weights(data) -> None:
    # Scoring runs inside scikit-learn's loop: it must see each epoch's weights, not later
    # ones, and score the test pixels as the features a plain score() would be given.
    _, history = fit_with_history(PARAMS | {"max_iter": 4}, data)
    assert len(set(history.train_accuracy)) > 1, "the data must tell epochs apart"
    for epoch in (1, 2, 3):
        stopped_early, _ = fit_with_history(PARAMS | {"max_iter": epoch}, data)
        with pinned_blas_threads():
            assert history.train_accuracy[epoch - 1] == stopped_early.score(
                data["X_train"], data["y_train"]
            )
            assert history.test_accuracy[epoch - 1] == stopped_early.score(
                data["X_test"], data["y_test"]
            )


def test_test_rows_read_from_a_file_each_epoch_give_the_same_record(data, tmp_path) -> None:
    # The train stage reads the test set's rows from its file for each epoch's score.
    save_array(tmp_path / "X_test.npy", data["pixels_test"])
    rows = NpyRows(tmp_path / "X_test.npy", 30)
    _, from_file = fit(
        build(PARAMS | {"max_iter": 4}), data["X_train"], data["y_train"], rows, data["y_test"]
    )
    _, held = fit_with_history(PARAMS | {"max_iter": 4}, data)
    assert len(set(held.test_accuracy)) > 1, "the data must tell epochs apart"
    assert from_file.test_accuracy == held.test_accuracy


def test_test_rows_that_can_be_read_only_once_are_refused(data) -> None:
    once = iter([data["pixels_test"]])  # the second epoch would score nothing
    with pytest.raises(TypeError, match="an iterator can be read once"):
        fit(build(PARAMS), data["X_train"], data["y_train"], once, data["y_test"])


@pytest.mark.parametrize(
    "change",
    [{}, {"solver": "adam"}, {"early_stopping": True, "max_iter": 6}, {"shuffle": False}],
    ids=["sgd", "adam", "early-stopping", "no-shuffle"],
)
def test_recording_leaves_the_model_byte_identical_to_plain_fit(data, change: dict) -> None:
    params = PARAMS | {"max_iter": 4} | change
    recorded, _ = fit_with_history(params, data)
    with warnings.catch_warnings(), pinned_blas_threads():
        warnings.simplefilter("ignore")
        plain = build(params).fit(data["X_train"], data["y_train"])
    assert model_bytes(recorded) == model_bytes(plain)


def test_model_bytes_do_not_depend_on_how_many_blas_threads_the_machine_gives(data) -> None:
    params = PARAMS | {"max_iter": 4}
    plain, recorded = [], []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain.append(model_bytes(build(params).fit(data["X_train"], data["y_train"])))
            recorded.append(model_bytes(fit_with_history(params, data)[0]))
    # The control: left alone, one and two BLAS threads round differently, on any core count.
    assert plain[0] != plain[1]
    assert recorded[0] == recorded[1]


def test_early_stopping_records_validation_score(data) -> None:
    model, history = fit_with_history(PARAMS | {"early_stopping": True, "max_iter": 3}, data)
    assert history.validation_score == model.validation_scores_
    assert history.accuracy_header()[-1] == "validation_score"
    assert len(history.accuracy_rows()[0]) == 4


def early_stopping(fraction: float, n_train: int) -> tuple[MLPClassifier, np.ndarray, np.ndarray]:
    """A classifier with early stopping, and ``n_train`` samples to fit it on."""
    images, labels = tiny_digits(n_train, seed=0)
    classifier = build(PARAMS | {"early_stopping": True, "validation_fraction": fraction})
    return classifier, to_features(images.reshape(n_train, -1)), labels


@pytest.mark.parametrize(
    ("fraction", "message"),
    [
        (0.1, r"0\.1 of 10 training samples \(split\.train_size\) validates on 1, .* 2"),
        (0.95, r"0\.95 of 10 .*: With n_samples=10, test_size=0\.95 .* will be empty"),
        (0.0, r"0\.0 of 10 .*: The 'test_size' parameter of train_test_split must be"),
    ],
    ids=["one-held-out", "none-left", "none-held-out"],
)
def test_early_stopping_without_room_for_its_validation_set_is_refused(
    fraction: float, message: str
) -> None:
    """What scikit-learn's fit() refuses once the data is loaded, refused before."""
    classifier, X, y = early_stopping(fraction, 10)
    named = r"^train\.early_stopping = true with train\.validation_fraction = "
    with pytest.raises(ParamsError, match=named + message):
        check_validation_split(classifier, 10)
    with pytest.raises(ValueError):  # the traceback the stage showed
        classifier.fit(X, y)


def test_early_stopping_with_room_for_its_validation_set_fits() -> None:
    classifier, X, y = early_stopping(0.1, 19)  # holds out 2 (10% rounded up)
    check_validation_split(classifier, 19)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert classifier.fit(X, y).validation_scores_
    check_validation_split(build(PARAMS | {"validation_fraction": 0.1}), 10)  # not stopping


def test_lbfgs_records_the_final_state(data) -> None:
    model, history = fit_with_history(PARAMS | {"solver": "lbfgs", "max_iter": 5}, data)
    assert history.loss == [model.loss_]
    assert len(history.accuracy_rows()) == 1


def test_convergence_warning_becomes_one_info_line(data, caplog) -> None:
    caplog.set_level(logging.INFO, logger="mnist_mlp.core.train")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping fit() would fail the test
        fit_with_history(PARAMS | {"max_iter": 2}, data)
    lines = [r.getMessage() for r in caplog.records if "not converged" in r.getMessage()]
    assert len(lines) == 1 and "train.max_iter = 2" in lines[0]


def test_hook_is_removed_after_fit(data) -> None:

    original = EPOCH_END._update_no_improvement_count
    fit_with_history(PARAMS | {"max_iter": 1}, data)
    assert EPOCH_END._update_no_improvement_count is original


def test_interrupted_fit_raises_instead_of_returning_a_partial_model(data, monkeypatch) -> None:
    """scikit-learn catches KeyboardInterrupt mid-fit and returns; fit() must not."""
    epochs = []
    original = EPOCH_END._update_no_improvement_count

    def interrupt_in_epoch_two(self, *args, **kwargs):
        epochs.append(self.n_iter_)
        if self.n_iter_ == 2:
            raise KeyboardInterrupt
        original(self, *args, **kwargs)

    monkeypatch.setattr(EPOCH_END, "_update_no_improvement_count", interrupt_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        fit_with_history(PARAMS | {"max_iter": 5}, data)
    assert epochs == [1, 2]


def test_another_warning_raised_as_an_error_is_not_taken_for_an_interrupt(
    data, monkeypatch
) -> None:
    original = EPOCH_END._update_no_improvement_count

    def warn_in_epoch_one(self, *args, **kwargs):
        warnings.warn("something else", UserWarning, stacklevel=1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(EPOCH_END, "_update_no_improvement_count", warn_in_epoch_one)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the caller's choice: every warning an error
        with pytest.raises(UserWarning, match="something else"):
            fit_with_history(PARAMS | {"max_iter": 2}, data)
