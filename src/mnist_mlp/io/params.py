"""Loading one section of ``params.yaml`` and checking it before any work starts.

Each stage reads only its own section. Every key is checked against a schema of
``key -> (check, description of what is allowed)``, so an unknown key, a wrong type or an
out-of-range value stops the stage with one line naming the param, the value and what
was expected. Sections that feed a scikit-learn call are checked by scikit-learn itself
(see :mod:`mnist_mlp.core.train` and :mod:`mnist_mlp.core.dataset`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mnist_mlp.errors import ParamsError

Check = Callable[[Any], bool]
Schema = Mapping[str, tuple[Check, str]]


def load_section(
    path: str | os.PathLike[str], section: str, schema: Schema | None = None
) -> dict[str, Any]:
    """Return the mapping under ``section`` in the YAML file ``path``, checked by ``schema``."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        raise ParamsError(f"{path}: cannot read params ({reason})") from None
    if not isinstance(document, dict) or not isinstance(document.get(section), dict):
        raise ParamsError(f"{path}: expected a mapping under the top-level key '{section}'")
    if schema is not None:
        check_section(document[section], schema, section, path)
    return document[section]


def check_section(
    values: Mapping[str, Any], schema: Schema, section: str, path: str | os.PathLike[str]
) -> None:
    """Raise :class:`ParamsError` on the first unknown, missing or invalid key."""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise ParamsError(
            f"{path}: unknown param {section}.{unknown[0]}; allowed: {', '.join(schema)}"
        )
    for key, (check, expected) in schema.items():
        if key not in values:
            raise ParamsError(f"{path}: missing param {section}.{key} (expected {expected})")
        if not check(values[key]):
            raise ParamsError(f"{path}: {section}.{key} = {values[key]!r}, expected {expected}")


def is_int(value: Any) -> bool:
    """True for ints, but not for bools (YAML ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def positive_number(value: Any) -> bool:
    return is_number(value) and value > 0


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def is_file_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(item, dict)
            and set(item) == {"name", "sha256"}
            and isinstance(item["name"], str)
            and "/" not in item["name"]
            and is_sha256(item["sha256"])
            for item in value
        )
    )


FETCH_SCHEMA: Schema = {
    "mirrors": (
        lambda v: isinstance(v, list) and all(isinstance(m, str) and m for m in v),
        "a list of http(s) URL prefixes",
    ),
    "files": (
        is_file_list,
        "a non-empty list of {name: <file name>, sha256: <64 lowercase hex digits>}",
    ),
    "timeout": (positive_number, "seconds > 0"),
    "attempt_seconds": (positive_number, "seconds > 0"),
    "retries": (positive_int, "an int >= 1"),
    "retry_delay": (lambda v: is_number(v) and v >= 0, "seconds >= 0"),
}
