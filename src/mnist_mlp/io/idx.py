"""Reading and validating gzip-compressed IDX files, the format MNIST is published in.

An IDX file is a big-endian header -- two zero bytes, a type code, the number of
dimensions, then one uint32 per dimension -- followed by the values in C order.
The reader trusts nothing in the header: it never allocates more than the file really
holds, and every inconsistency becomes a :class:`~mnist_mlp.errors.DataError`.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from mnist_mlp.errors import DataError
from mnist_mlp.io.files import Readable

UNSIGNED_BYTE = 0x08
# Five times the MNIST training images (47 MB): a header claiming more is rejected
# before anything is read, so a hostile header cannot make us allocate.
MAX_PAYLOAD_BYTES = 256 * 2**20
_CHUNK_BYTES = 2**20


def _read_exactly(stream: Readable, size: int, path: Path, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise DataError(f"{path}: file ends inside the {what} ({len(data)} of {size} bytes)")
    return data


def _read_at_most(stream: Readable, limit: int) -> bytes:
    """Read up to ``limit`` bytes in chunks, so memory follows the data, not the request."""
    chunks, total = [], 0
    while total < limit:
        chunk = stream.read(min(_CHUNK_BYTES, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes.

    Parameters
    ----------
    path : path-like
        A ``.gz`` IDX file, such as ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray of uint8, shape given by the header (e.g. ``(n, 28, 28)`` or ``(n,)``)

    Raises
    ------
    DataError
        If the file is not gzip, is truncated, or its header disagrees with its content.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as stream:
            magic = _read_exactly(stream, 4, path, "header")
            if magic[:2] != b"\x00\x00" or magic[2] != UNSIGNED_BYTE or not 1 <= magic[3] <= 3:
                raise DataError(
                    f"{path}: bad IDX magic number 0x{magic.hex()}, expected 0x000008 "
                    "followed by 1-3 dimensions (unsigned byte data)"
                )
            ndim = magic[3]
            shape = struct.unpack(f">{ndim}I", _read_exactly(stream, 4 * ndim, path, "header"))
            expected = math.prod(shape)
            if expected > MAX_PAYLOAD_BYTES:
                raise DataError(
                    f"{path}: header claims shape {shape} ({expected} bytes), more than the "
                    f"{MAX_PAYLOAD_BYTES} byte limit"
                )
            payload = _read_at_most(stream, expected + 1)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a cut-off gzip stream raises EOFError.
        raise DataError(f"{path}: not a complete gzip file ({exc})") from None
    if len(payload) != expected:
        found = "more" if len(payload) > expected else f"{len(payload)}"
        raise DataError(
            f"{path}: header shape {shape} needs {expected} bytes of data, file holds {found}"
        )
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)


def read_images(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of square images, of any size: shape ``(n, side, side)``.

    Square, because the weight grid draws each hidden unit's input weights as an image and
    finds its side from their number.
    """
    images = read_idx(path)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(
            f"{path}: expected square images, shape (n, side, side), found {images.shape}"
        )
    return images


def read_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX label file: shape ``(n,)``, one class number (0-255) per image."""
    labels = read_idx(path)
    if labels.ndim != 1:
        raise DataError(f"{path}: expected a 1-d label array, found shape {labels.shape}")
    return labels


def read_pair(
    images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file and its label file and check they hold the same number of items."""
    images, labels = read_images(images_path), read_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path}: {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    return images, labels


def read_parts(
    train_images: str | os.PathLike[str],
    train_labels: str | os.PathLike[str],
    test_images: str | os.PathLike[str],
    test_labels: str | os.PathLike[str],
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The train and test parts, ``(images, labels)`` each (:func:`read_pair`), checked to
    hold images of one size."""
    train, test = read_pair(train_images, train_labels), read_pair(test_images, test_labels)
    if train[0].shape[1:] != test[0].shape[1:]:
        raise DataError(
            f"{test_images}: images of {test[0].shape[1:]} pixels, "
            f"{train_images} has {train[0].shape[1:]}"
        )
    return train, test


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as (uncompressed) IDX bytes; the inverse of :func:`read_idx`."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()
