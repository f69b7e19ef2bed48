"""Saving and loading the fitted model with skops: safe to load, byte-identical on rerun.

skops stores an estimator as a zip of a JSON schema and ``.npy`` arrays and, unlike
pickle, refuses on load to build any type that is not on an explicit trusted list, so a
model pulled from a shared DVC remote cannot run code. Its raw output is not
reproducible, though: it names members after ``id()`` of the objects and stamps the
current time on each zip entry. :func:`model_bytes` renumbers the ids in order of
appearance and writes the zip with a fixed timestamp, which skops loads unchanged.

Before skops parses anything, :func:`check_archive` bounds what the archive decompresses
to, so a small file whose ``schema.json`` expands to gigabytes (a zip bomb) is refused
without the memory to hold it.

skops is imported when first used, trusting, among scikit-learn's estimators, only those
a model file here holds (:func:`skops_io`): fewer types than its default, and a shorter
import in each of train and evaluate. Train saves after fitting, so what it still costs is
not held beside the training data.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import sklearn.utils
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import LabelBinarizer

from mnist_mlp.core.sklearn_private import OPTIMIZER_TYPES
from mnist_mlp.errors import ModelFileError, reason
from mnist_mlp.io.files import write_bytes

# Types skops does not trust by default that a fitted MLPClassifier holds. Everything else
# is skops' default.
TRUSTED_TYPES = list(OPTIMIZER_TYPES)
# The scikit-learn estimators a fitted MLPClassifier file holds: the model and its labels.
ESTIMATOR_TYPES = (MLPClassifier, LabelBinarizer)
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# The schema describes the estimator's attributes: a few kB for any MLPClassifier.
MAX_SCHEMA_BYTES = 16 * 2**20
# Float weights barely compress; a real model expands by less than 1.2x. Allow far more
# than that, and a fixed margin for small files.
MAX_EXPANSION = 20
EXPANSION_MARGIN_BYTES = 64 * 2**20
_CHUNK_BYTES = 2**20


@functools.cache
def skops_io() -> ModuleType:
    """``skops.io``, trusting by default no scikit-learn estimator but :data:`ESTIMATOR_TYPES`.

    On import, skops builds its default trusted list from ``sklearn.utils.all_estimators()``,
    which imports every estimator module of scikit-learn: about half of what importing
    ``skops.io`` costs. Offered only our two estimators while it imports, skops trusts
    fewer types than its default, never more; what it writes does not depend on that list.
    """
    if "skops.io" in sys.modules:  # imported by someone else: its own trusted list
        return sys.modules["skops.io"]
    every_estimator = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda type_filter=None: [  # type: ignore[assignment]
        (estimator.__name__, estimator) for estimator in ESTIMATOR_TYPES
    ]
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = every_estimator
    return skops.io


def _renumber_ids(node: Any, new_ids: dict[int, int]) -> Any:
    """Replace every ``__id__`` (and the ``<id>.npy`` file named after it) by a counter."""
    if isinstance(node, list):
        return [_renumber_ids(item, new_ids) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "__id__":
            value = new_ids.setdefault(value, len(new_ids))
        elif key == "file":
            value = f"{new_ids.setdefault(int(Path(value).stem), len(new_ids))}.npy"
        result[key] = _renumber_ids(value, new_ids)
    return result


def model_bytes(model: MLPClassifier) -> bytes:
    """The skops serialization of ``model`` with deterministic member names and times."""
    with zipfile.ZipFile(io.BytesIO(skops_io().dumps(model))) as raw:
        new_ids: dict[int, int] = {}
        schema = _renumber_ids(json.loads(raw.read("schema.json")), new_ids)
        members = {"schema.json": json.dumps(schema, indent=2).encode()}
        for old_id, new_id in new_ids.items():
            if f"{old_id}.npy" in raw.namelist():
                members[f"{new_id}.npy"] = raw.read(f"{old_id}.npy")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, members[name])
    return buffer.getvalue()


def save_model(path: str | os.PathLike[str], model: MLPClassifier) -> None:
    """Write ``model`` to ``path`` (skops format) atomically."""
    write_bytes(path, model_bytes(model))


def load_model(path: str | os.PathLike[str]) -> MLPClassifier:
    """Load an ``MLPClassifier`` saved by :func:`save_model`, trusting only known types.

    Raises
    ------
    ModelFileError
        If the file is missing, is not a skops archive, names a type outside the trusted
        list, or does not hold an ``MLPClassifier``.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror})") from None
    return load_model_bytes(data, str(path))


def _member_size(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> int:
    """Bytes ``info`` actually decompresses to, reading at most ``limit + 1`` of them."""
    size = 0
    with archive.open(info) as stream:
        while size <= limit and (chunk := stream.read(min(_CHUNK_BYTES, limit + 1 - size))):
            size += len(chunk)
    return size


def check_archive(data: bytes, source: str) -> None:
    """Refuse a model archive that would decompress to more than its limits.

    ``schema.json`` may hold at most ``MAX_SCHEMA_BYTES`` and all members together at most
    ``MAX_EXPANSION`` times the file's size plus ``EXPANSION_MARGIN_BYTES``. Both the sizes
    the zip declares and the bytes it really inflates to are checked, streaming, so a
    forged header cannot slip a bomb past the check.

    Raises
    ------
    ModelFileError
        Naming ``source``, the member and the limit.
    """
    total_limit = MAX_EXPANSION * len(data) + EXPANSION_MARGIN_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for info in archive.infolist():
                limit = MAX_SCHEMA_BYTES if info.filename == "schema.json" else total_limit
                limit = min(limit, total_limit - total)
                size = (
                    info.file_size if info.file_size > limit else _member_size(archive, info, limit)
                )
                if size > limit:
                    raise ModelFileError(
                        f"{source}: member {info.filename[:60]!r} decompresses to more than "
                        f"{limit} bytes, refusing a file of {len(data)} bytes (a zip bomb?)"
                    )
                total += size
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error) as exc:
        raise ModelFileError(f"{source}: not a valid skops model file ({reason(exc)})") from None


def load_model_bytes(data: bytes, source: str) -> MLPClassifier:
    """Load a model from the bytes of a model file; ``source`` names it in errors."""
    check_archive(data, source)
    sio = skops_io()
    try:
        model = sio.loads(data, trusted=TRUSTED_TYPES)
    except sio.exceptions.UntrustedTypesFoundException as exc:
        raise ModelFileError(f"{source}: refusing to load untrusted types {exc}") from None
    except Exception as exc:  # skops raises many types on a damaged archive
        raise ModelFileError(f"{source}: not a valid skops model file ({reason(exc)})") from None
    if not isinstance(model, MLPClassifier):
        raise ModelFileError(f"{source}: holds a {type(model).__name__}, expected MLPClassifier")
    return model
