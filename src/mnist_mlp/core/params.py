"""The typed params definitions: each section of ``params.yaml`` is a frozen dataclass.

Each section is a frozen dataclass beside the code that uses it (``FetchParams`` in
:mod:`mnist_mlp.io.fetch`, ``SplitParams`` and ``FeaturesParams`` in
:mod:`mnist_mlp.core.dataset`, ``TrainParams`` in :mod:`mnist_mlp.core.train`,
``VisualizeParams`` in :mod:`mnist_mlp.core.visualize`). :func:`parse_section` builds one
from a mapping: an unknown key, a missing key, a value of the wrong type or out of range
stops the stage before any work, in one line naming the file, the key path, what was
expected and what was found::

    params.yaml: train.batch_size: expected an int >= 1 or auto, got True

Values the type lets through are then checked by the section itself (``TrainParams`` by
scikit-learn's own validation), and reported in the same format. Reading the file is
:mod:`mnist_mlp.io.params`'s job.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, field, fields, is_dataclass
from types import UnionType
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from mnist_mlp.errors import ParamsError, brief

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"alpha": 1}}`` -> ``{"train.alpha": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def key_name(key: Any) -> str:
    """A params key as written in messages: plain when a short string, else :func:`brief`."""
    return key if isinstance(key, str) and len(key) <= 60 and key.isprintable() else brief(key)


def param(
    expected: str | None = None, check: Callable[[Any], bool] | None = None, default: Any = MISSING
) -> Any:
    """A field of a params dataclass: the annotation is its type, ``check`` (given the value
    converted to that type) bounds it further, and ``expected`` says in words what is allowed
    (by default, the type's description)."""
    return field(default=default, metadata={"expected": expected, "check": check})


def params_error(where: str | os.PathLike[str], key: str, problem: str) -> ParamsError:
    """The one format of a params error: ``params.yaml: train.alpha: expected ..., got ...``."""
    return ParamsError(f"{where}: {key}: {problem}")


class InvalidParam(ParamsError):
    """Raised by a section's ``__post_init__`` for a value its type and check let through
    (scikit-learn's own validation, for example); :func:`parse_section` adds the file and
    the section to ``key``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class _Mismatch(Exception):
    """A value is not of the annotated type."""


def describe(annotation: Any) -> str:
    """What a params type allows, in words: ``int | None`` -> ``an int or null``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return " or ".join(describe(option) for option in args)
    if origin is Literal:
        return " or ".join(map(str, args))
    if origin is tuple:
        return f"a list, each item {describe(args[0])}"
    if is_dataclass(annotation):
        return f"a mapping of {', '.join(f.name for f in fields(annotation))}"
    return _SCALARS[annotation][0]


# What YAML value each scalar type takes, and its name in messages. A boolean is never a
# number (YAML `true` is not 1), and an int is a number where a float is allowed.
_SCALARS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    type(None): ("null", lambda v: v is None),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("an int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    str: ("a string", lambda v: isinstance(v, str)),
}


def _convert(value: Any, annotation: Any, where: str | os.PathLike[str], key: str) -> Any:
    """``value`` as the type ``annotation``: YAML lists become tuples, mappings dataclasses.

    Numbers are kept as they are: an int stays an int where a float is allowed, as
    scikit-learn would be given it (the model file records the type).

    Raises
    ------
    _Mismatch
        If ``value`` is not of the type; a nested dataclass raises its own ParamsError.
    """
    origin, args = get_origin(annotation), get_args(annotation)
    if is_dataclass(annotation):
        return parse_section(cast(type, annotation), value, where, key)
    if origin in (Union, UnionType):
        for option in args:
            with contextlib.suppress(_Mismatch):
                return _convert(value, option, where, key)
        raise _Mismatch
    if origin is Literal:
        if any(type(value) is type(allowed) and value == allowed for allowed in args):
            return value
        raise _Mismatch
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _Mismatch
        return tuple(_convert(item, args[0], where, f"{key}[{i}]") for i, item in enumerate(value))
    if _SCALARS[annotation][1](value):
        return value
    raise _Mismatch


def parse_section(
    cls: type[T],
    values: Any,
    where: str | os.PathLike[str],
    key: str,
    *,
    partial: bool = False,
) -> T:
    """The frozen dataclass ``cls`` built from the mapping ``values``, found at ``key`` in
    the params file ``where``, after checking every param.

    Each key must be a field of ``cls``, every field must be there, and each value must be
    of the field's type and pass its check (:func:`param`). ``partial=True`` lets fields
    with a default be missing (a revision older than the param, drawn with the default).

    Raises
    ------
    ParamsError
        On the first problem, in one line naming the file and the key path:
        ``params.yaml: visualize.rows: expected an int from 1 to 16, got 0``.
    """
    names = [f.name for f in fields(cls)]
    if not isinstance(values, Mapping):
        raise params_error(
            where, key, f"expected a mapping of {', '.join(names)}, got {brief(values)}"
        )
    # key=str: YAML keys need not be strings (`1: x`), and ints and strs do not sort.
    unknown = sorted(set(values) - set(names), key=str)
    if unknown:
        raise params_error(
            where, f"{key}.{key_name(unknown[0])}", f"unknown param; allowed: {', '.join(names)}"
        )
    types = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        name = f"{key}.{f.name}"
        expected = f.metadata["expected"] or describe(types[f.name])
        if f.name not in values:
            if partial and f.default is not MISSING:
                continue
            raise params_error(where, name, f"missing, expected {expected}")
        value = values[f.name]
        try:
            kwargs[f.name] = _convert(value, types[f.name], where, name)
        except _Mismatch:
            raise params_error(where, name, f"expected {expected}, got {brief(value)}") from None
        check = f.metadata["check"]
        if check is not None and not check(kwargs[f.name]):
            raise params_error(where, name, f"expected {expected}, got {brief(value)}")
    try:
        return cls(**kwargs)
    except InvalidParam as exc:
        raise params_error(where, f"{key}.{exc.key}", exc.problem) from None
