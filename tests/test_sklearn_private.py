"""The private scikit-learn names the project relies on are still there, or one line says
which is not."""

from __future__ import annotations

import pytest
import sklearn
from sklearn.base import BaseEstimator

from mnist_mlp.core import sklearn_private


def test_the_installed_scikit_learn_has_every_private_name() -> None:
    assert sklearn_private.check() == []


def test_the_lock_pins_a_checked_version() -> None:
    assert sklearn.__version__ in sklearn_private.CHECKED_VERSIONS


def test_a_removed_method_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(BaseEstimator, "_validate_params")
    [problem] = sklearn_private.check()
    assert problem.startswith(f"scikit-learn {sklearn.__version__} (checked: ")
    assert "MLPClassifier._validate_params is gone" in problem
    assert "\n" not in problem


def test_an_epoch_loop_without_the_hooked_call_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def fit_stochastic_without_the_call(self, X, y):
        return self

    owner = sklearn_private.epoch_end_owner()
    monkeypatch.setattr(owner, "_fit_stochastic", fit_stochastic_without_the_call)
    [problem] = sklearn_private.check()
    assert "no longer calls _update_no_improvement_count" in problem


def test_a_moved_optimizer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.neural_network import _stochastic_optimizers

    monkeypatch.delattr(_stochastic_optimizers, "AdamOptimizer")
    [problem] = sklearn_private.check()
    assert problem.endswith("sklearn.neural_network._stochastic_optimizers.AdamOptimizer is gone")
