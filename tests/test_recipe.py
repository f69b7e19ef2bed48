"""The README's recipe for the example's current version sets exactly that version's
arguments, checked without data: the params pass our checks, build the example's
``MLPClassifier``, and split 70,000 rows as its ``train_test_split`` call does."""

from __future__ import annotations

import numpy as np
import yaml
from sklearn.model_selection import train_test_split

from mnist_mlp.core.dataset import SplitParams, split
from mnist_mlp.core.params import parse_section
from mnist_mlp.core.train import TrainParams, build_classifier
from tests.helpers import PROJECT_ROOT, readme_recipe


def recipe_params() -> dict:
    """params.yaml with the recipe's ``-S section.key=value`` overrides applied."""
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    words = readme_recipe()
    overrides = [words[i + 1] for i, word in enumerate(words) if word == "-S"]
    assert overrides, words
    for override in overrides:
        key, value = override.split("=", 1)
        section, name = key.split(".")
        assert name in params[section], f"unknown param {key}"
        params[section][name] = yaml.safe_load(value)
    return params


def test_recipe_builds_the_examples_classifier() -> None:
    classifier = build_classifier(
        parse_section(TrainParams, recipe_params()["train"], "params.yaml", "train")
    )
    expected = {
        "hidden_layer_sizes": (40,),
        "max_iter": 8,
        "alpha": 1e-4,
        "solver": "sgd",
        "random_state": 1,
        "learning_rate_init": 0.2,
    }
    assert {key: classifier.get_params()[key] for key in expected} == expected


def test_recipe_splits_as_the_example() -> None:
    split_params = parse_section(SplitParams, recipe_params()["split"], "params.yaml", "split")
    rows = np.arange(70_000)
    X = rows.reshape(-1, 1)
    parts = split(X, rows % 10, split_params, "params.yaml")
    train, test = train_test_split(rows, random_state=0, test_size=0.7)
    np.testing.assert_array_equal(parts["X_train"].ravel(), train)
    np.testing.assert_array_equal(parts["X_test"].ravel(), test)
