"""Combining the MNIST parts and splitting them as the example does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mnist_mlp.core.dataset import SplitParams, combine, split, stack_features, to_features
from mnist_mlp.errors import ParamsError
from tests.helpers import tiny_digits

DEFAULT_SPLIT = SplitParams(
    train_size=30, test_size=10, shuffle=False, random_state=None, stratify=False
)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    train_images, train_labels = tiny_digits(30, seed=0)
    test_images, test_labels = tiny_digits(10, seed=1)
    return combine(train_images, train_labels, test_images, test_labels)


def test_combine_keeps_train_then_test_order() -> None:
    train_images, train_labels = tiny_digits(30, seed=0)
    test_images, test_labels = tiny_digits(10, seed=1)
    X, y = combine(train_images, train_labels, test_images, test_labels)
    assert X.shape == (40, 784) and X.dtype == np.uint8
    np.testing.assert_array_equal(X[:30], train_images.reshape(30, 784))
    np.testing.assert_array_equal(X[30:], test_images.reshape(10, 784))
    np.testing.assert_array_equal(y, np.concatenate([train_labels, test_labels]))


def test_default_split_is_the_examples_slicing(data) -> None:
    X, y = data
    arrays = split(X, y, DEFAULT_SPLIT, "params.yaml")
    np.testing.assert_array_equal(arrays["X_train"], X[:30])
    np.testing.assert_array_equal(arrays["X_test"], X[30:])
    np.testing.assert_array_equal(arrays["y_train"], y[:30])
    np.testing.assert_array_equal(arrays["y_test"], y[30:])


def test_stratified_shuffled_split_keeps_class_balance(data) -> None:
    X, y = data
    arrays = split(
        X, y, replace(DEFAULT_SPLIT, shuffle=True, random_state=0, stratify=True), "params.yaml"
    )
    assert np.bincount(arrays["y_test"], minlength=10).tolist() == [1] * 10
    assert len(arrays["y_train"]) == 30


def test_impossible_split_names_the_section(data) -> None:
    X, y = data
    with pytest.raises(ParamsError, match=r"^params\.yaml: split: .*train_size"):
        split(X, y, replace(DEFAULT_SPLIT, train_size=100), "params.yaml")


def test_features_are_divided_by_255_exactly() -> None:
    pixels = np.arange(256, dtype=np.uint8)
    features = to_features(pixels)
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features, pixels / 255.0)
    # The example divides; multiplying by 1/255 differs in the last bit for some values.
    assert not np.array_equal(features, pixels * (1 / 255.0))


def test_float32_features_are_the_same_values_in_single_precision() -> None:
    pixels = np.arange(256, dtype=np.uint8)
    features = to_features(pixels, "float32")
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, pixels / 255.0, rtol=1e-7)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_features_stacked_from_batches_are_those_of_the_whole(dtype: str) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(11, 784), dtype=np.uint8)
    batches = [pixels[:4], pixels[4:8], pixels[8:]]
    stacked = stack_features(batches, pixels.shape, dtype)
    assert stacked.dtype == np.dtype(dtype)
    assert stacked.tobytes() == to_features(pixels, dtype).tobytes()


def test_too_few_rows_to_stack_are_refused() -> None:
    with pytest.raises(ValueError, match="10 rows of pixels for 11 rows of features"):
        stack_features([np.zeros((10, 784), dtype=np.uint8)], (11, 784))
