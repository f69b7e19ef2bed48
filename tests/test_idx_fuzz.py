"""Property-based: whatever bytes the IDX reader is given, it returns valid arrays or
raises DataError -- never another exception, a huge allocation or a hang."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_mlp.errors import DataError
from mnist_mlp.io.idx import encode_idx, read_idx, read_images, read_labels

VALID_IMAGES = encode_idx(
    np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)
)
VALID_LABELS = encode_idx(np.array([0, 9, 5], np.uint8))
FUZZ = settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check_reader(path: Path) -> None:
    """Each reader either returns a uint8 array matching its contract or raises DataError."""
    for reader in (read_idx, read_images, read_labels):
        try:
            array = reader(path)
        except DataError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            continue
        assert array.dtype == np.uint8
        if reader is read_images:
            assert array.ndim == 3 and array.shape[1] == array.shape[2]
        if reader is read_labels:
            assert array.ndim == 1


@st.composite
def mutations(draw: st.DrawFn, valid: bytes) -> bytes:
    """A valid file with some bytes flipped, a piece cut out, or bytes appended."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        del data[start : start + draw(st.integers(0, 64))]
    return bytes(data) + draw(st.binary(max_size=16))


@st.composite
def hostile_headers(draw: st.DrawFn) -> bytes:
    """Well-formed magic with arbitrary dimensions (up to 2^32 - 1 each) and a short body."""
    ndim = draw(st.integers(1, 3))
    dims = draw(st.lists(st.integers(0, 2**32 - 1), min_size=ndim, max_size=ndim))
    return bytes([0, 0, 8, ndim]) + struct.pack(f">{ndim}I", *dims) + draw(st.binary(max_size=64))


@FUZZ
@given(payload=st.binary(max_size=256), compress=st.booleans())
def test_random_bytes(tmp_path: Path, payload: bytes, compress: bool) -> None:
    path = tmp_path / "random.gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    check_reader(path)


@FUZZ
@given(payload=st.one_of(mutations(VALID_IMAGES), mutations(VALID_LABELS)))
def test_mutated_valid_files(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "mutated.gz"
    path.write_bytes(gzip.compress(payload, mtime=0))
    check_reader(path)


@FUZZ
@given(payload=hostile_headers())
def test_headers_claiming_huge_sizes(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "hostile.gz"
    path.write_bytes(gzip.compress(payload, mtime=0))
    check_reader(path)


@FUZZ
@given(cut=st.integers(1, 200))
def test_truncated_gzip_stream(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(VALID_IMAGES, mtime=0)[:-cut])
    check_reader(path)
