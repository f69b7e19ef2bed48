"""Reading ``params.yaml`` into the typed sections of :mod:`mnist_mlp.core.params`.

The file is read as UTF-8 whatever the locale, and parsed by PyYAML's safe loader with a
bound on what aliases may repeat: a YAML "billion laughs" is refused in one line instead of
being expanded by whoever walks or prints the value.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from mnist_mlp.core.params import parse_section
from mnist_mlp.errors import ParamsError, reason

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


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


def load_section(path: str | os.PathLike[str], section: str, cls: type[T]) -> T:
    """The ``section`` of the YAML file ``path`` as a ``cls``, built by :func:`parse_section`."""
    document = read_yaml(path)
    values = document.get(section) if isinstance(document, dict) else None
    return parse_section(cls, values, path, section)


def main(argv: Sequence[str] | None = None) -> None:
    """Read a params file as the stages do; a file they would refuse is one line, exit 1."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("path", help="the params file, such as params.yaml")
    read_yaml(parser.parse_args(argv).path)


if __name__ == "__main__":
    from mnist_mlp.cli import run_stage

    run_stage(main)
