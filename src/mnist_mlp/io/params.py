"""Loading one section of ``params.yaml`` and checking it before any work starts.

Each stage reads only its own section. Every key is checked against a schema of
``key -> (check, description of what is allowed)``, so an unknown key, a wrong type or an
out-of-range value stops the stage with one line naming the param, the value and what
was expected. Sections that feed a scikit-learn call are checked by scikit-learn itself
(see :mod:`mnist_mlp.core.train` and :mod:`mnist_mlp.core.dataset`).

The file is read as UTF-8 whatever the locale, and parsed by PyYAML's safe loader with a
bound on what aliases may repeat: a YAML "billion laughs" is refused in one line instead of
being expanded by whoever walks or prints the value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mnist_mlp.errors import ParamsError, brief, reason

Check = Callable[[Any], bool]
Schema = Mapping[str, tuple[Check, str]]


# How many nodes all aliases of a document may repeat, counted as if expanded. A real
# params.yaml uses none; a few anchors for shared values stay far below this.
MAX_ALIASED_NODES = 1000


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes under ``node`` (itself included), counting each alias as a full copy."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise yaml.YAMLError("an alias refers to a node that contains it")
    open_nodes.add(id(node))
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [item for pair in node.value for item in pair]
    size = 1 + sum(_expanded_size(child, sizes, open_nodes) for child in children)
    open_nodes.discard(id(node))
    sizes[id(node)] = size
    return size


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, refusing aliases that would repeat over MAX_ALIASED_NODES.

    PyYAML builds each aliased value once and shares it, so loading a "billion laughs" is
    cheap; the blow-up comes later, when a check or an error message walks the value.
    The composed node graph is measured before anything is built from it.

    Raises
    ------
    yaml.YAMLError
        On a syntax error, a recursive alias, aliases repeating too many nodes, or
        nesting deeper than Python's recursion limit.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}
        repeated = _expanded_size(node, sizes, set()) - len(sizes)
    except RecursionError:
        # PyYAML's composer recurses too: thousands of nested brackets end here.
        raise yaml.YAMLError("nested too deeply") from None
    else:
        if repeated > MAX_ALIASED_NODES:
            raise yaml.YAMLError(
                f"aliases repeat {repeated} nodes, more than the limit of {MAX_ALIASED_NODES}"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """The YAML document in ``path``, read as UTF-8 with :func:`load_yaml`.

    Raises
    ------
    ParamsError
        Naming ``path``, if it cannot be read, is not UTF-8 or is not acceptable YAML.
    """
    try:
        return load_yaml(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ParamsError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read params ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: cannot read params ({reason(exc)})") from None


def load_section(
    path: str | os.PathLike[str], section: str, schema: Schema | None = None
) -> dict[str, Any]:
    """Return the mapping under ``section`` in the YAML file ``path``, checked by ``schema``."""
    document = read_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get(section), dict):
        raise ParamsError(f"{path}: expected a mapping under the top-level key '{section}'")
    if schema is not None:
        check_section(document[section], schema, section, path)
    return document[section]


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


def check_section(
    values: Mapping[str, Any],
    schema: Schema,
    section: str,
    path: str | os.PathLike[str],
    *,
    partial: bool = False,
) -> None:
    """Raise :class:`ParamsError` on the first unknown, missing or invalid key.

    ``partial=True`` lets keys be missing (a revision older than the key, whose users fall
    back to the defaults); unknown and invalid keys are still refused.
    """
    # key=str: YAML keys need not be strings (`1: x`), and ints and strs do not sort.
    unknown = sorted(set(values) - set(schema), key=str)
    if unknown:
        raise ParamsError(
            f"{path}: unknown param {section}.{key_name(unknown[0])}; allowed: {', '.join(schema)}"
        )
    for key, (check, expected) in schema.items():
        if key not in values:
            if partial:
                continue
            raise ParamsError(f"{path}: missing param {section}.{key} (expected {expected})")
        if not check(values[key]):
            raise ParamsError(
                f"{path}: {section}.{key} = {brief(values[key])}, expected {expected}"
            )


def is_int(value: Any) -> bool:
    """True for ints, but not for bools (YAML ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def positive_number(value: Any) -> bool:
    return is_number(value) and value > 0
