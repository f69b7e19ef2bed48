"""The IDX reader: valid files round-trip, every malformation is a one-line DataError."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp.errors import DataError
from mnist_mlp.io.idx import encode_idx, read_idx, read_images, read_labels, read_pair
from tests.helpers import tiny_digits, write_idx_gz


def write_raw_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload, mtime=0))
    return path


def test_images_and_labels_round_trip(tmp_path: Path) -> None:
    images, labels = tiny_digits(20, seed=3)
    read = read_pair(
        write_idx_gz(tmp_path / "images.gz", images), write_idx_gz(tmp_path / "labels.gz", labels)
    )
    np.testing.assert_array_equal(read[0], images)
    np.testing.assert_array_equal(read[1], labels)
    assert read[0].dtype == np.uint8


def test_real_mnist_header_layout(tmp_path: Path) -> None:
    """The header is the one MNIST uses: 0x00000803, then n, rows, cols, big-endian."""
    data = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:16] == bytes.fromhex("00000803") + struct.pack(">III", 2, 28, 28)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00\x00\x09\x01" + struct.pack(">I", 3) + b"\x01\x02\x03", "bad IDX magic number"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 3) + b"\x01\x02\x03", "bad IDX magic number"),
        (b"\x00\x00\x08\x04" + struct.pack(">IIII", 1, 1, 1, 1) + b"\x01", "bad IDX magic"),
        (b"\x00\x00\x08", "file ends inside the header"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 3), "file ends inside the header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x01\x02\x03", "holds 3"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x01\x02\x03", "holds more"),
        (b"\x00\x00\x08\x03" + struct.pack(">III", 2**32 - 1, 28, 28), "byte limit"),
    ],
)
def test_malformed_idx_is_rejected(tmp_path: Path, payload: bytes, message: str) -> None:
    path = write_raw_gz(tmp_path / "bad.gz", payload)
    with pytest.raises(DataError, match=message) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_non_gzip_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "plain.gz"
    path.write_bytes(encode_idx(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="not a complete gzip file"):
        read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    images, _ = tiny_digits(10, seed=0)
    path = write_idx_gz(tmp_path / "images.gz", images)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="not a complete gzip file"):
        read_images(path)


def test_images_of_any_square_size_are_read(tmp_path: Path) -> None:
    for side in (1, 16, 28, 100):
        images = np.arange(3 * side * side, dtype=np.uint64).astype(np.uint8).reshape(3, side, side)
        assert np.array_equal(read_images(write_idx_gz(tmp_path / "images.gz", images)), images)


def test_images_must_be_square(tmp_path: Path) -> None:
    path = write_idx_gz(tmp_path / "images.gz", np.zeros((4, 27, 28), np.uint8))
    with pytest.raises(
        DataError, match=r"expected square images, shape \(n, side, side\).*\(4, 27, 28\)"
    ):
        read_images(path)


def test_labels_may_be_any_byte(tmp_path: Path) -> None:
    labels = np.array([0, 9, 10, 255], np.uint8)
    assert np.array_equal(read_labels(write_idx_gz(tmp_path / "labels.gz", labels)), labels)


def test_labels_must_be_one_dimensional(tmp_path: Path) -> None:
    path = write_idx_gz(tmp_path / "labels.gz", np.zeros((2, 2), np.uint8))
    with pytest.raises(DataError, match="expected a 1-d label array"):
        read_labels(path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    images, labels = tiny_digits(10, seed=0)
    with pytest.raises(DataError, match="10 images but .* has 9 labels"):
        read_pair(
            write_idx_gz(tmp_path / "images.gz", images),
            write_idx_gz(tmp_path / "labels.gz", labels[:9]),
        )
