"""Every scikit-learn name this project uses that scikit-learn does not promise to keep.

Read in the source of scikit-learn 1.5.2, 1.6.1, 1.7.2, 1.8.0 and 1.9.1 (the lock pins
1.9.1): each name below exists there and does what this module relies on. A release that
moves or changes one fails :func:`check` with one line per name, which
``tests/test_sklearn_private.py`` runs; the train tests then show whether the per-epoch
record still matches a plain ``fit()``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import sklearn
from sklearn.neural_network import MLPClassifier

CHECKED_VERSIONS = ("1.5.2", "1.6.1", "1.7.2", "1.8.0", "1.9.1")

# The optimizers a fitted MLPClassifier keeps (so that it could be trained further), which
# skops does not trust by default: the model file trusts them by these names.
OPTIMIZER_TYPES = (
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)


def validate_param(name: str, value: Any) -> None:
    """Check one ``MLPClassifier`` keyword argument with scikit-learn's own validation.

    The others stay at their defaults, so an error is this param's. scikit-learn checks
    params only when fitting; its ``_validate_params`` does the same check without data.

    Raises
    ------
    ValueError or TypeError
        scikit-learn's ``InvalidParameterError``, which is both.
    """
    MLPClassifier(**{name: value})._validate_params()


def epoch_end_owner() -> type:
    """The class whose ``_update_no_improvement_count`` ends every stochastic epoch."""
    from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron

    return BaseMultilayerPerceptron


@contextlib.contextmanager
def after_each_epoch(callback: Callable[[MLPClassifier], None]) -> Iterator[None]:
    """Call ``callback(model)`` at the end of every epoch of the stochastic solvers.

    scikit-learn's ``_fit_stochastic`` calls ``_update_no_improvement_count`` once per
    epoch, after the epoch's weight update and before the next shuffle; the hook only
    reads the model, so the fit is the same as without it.
    """
    owner = epoch_end_owner()
    original = owner._update_no_improvement_count  # type: ignore[attr-defined]

    def hooked(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        callback(self)

    owner._update_no_improvement_count = hooked  # type: ignore[attr-defined]
    try:
        yield
    finally:
        owner._update_no_improvement_count = original  # type: ignore[attr-defined]


def check() -> list[str]:
    """One line for each private name that the installed scikit-learn lacks or changed."""
    found = f"scikit-learn {sklearn.__version__} (checked: {', '.join(CHECKED_VERSIONS)})"
    problems = []
    if not callable(getattr(MLPClassifier(), "_validate_params", None)):
        problems.append(f"{found}: MLPClassifier._validate_params is gone")
    try:
        fit_source = inspect.getsource(epoch_end_owner()._fit_stochastic)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError, TypeError):
        fit_source = ""
    if "self._update_no_improvement_count(" not in fit_source:
        problems.append(
            f"{found}: BaseMultilayerPerceptron._fit_stochastic no longer calls "
            "_update_no_improvement_count once per epoch"
        )
    from sklearn.neural_network import _stochastic_optimizers

    for name in OPTIMIZER_TYPES:
        if not hasattr(_stochastic_optimizers, name.rsplit(".", 1)[1]):
            problems.append(f"{found}: {name} is gone")
    return problems
