"""Atomic file output shared by all stages.

A stage killed mid-write must never leave a file that a later ``dvc repro`` (or a reader)
could take for a finished result, so every output is written to a temporary sibling and
renamed into place only once it is complete; a stage with several outputs renames them
all at the end (:func:`all_or_none`). An output replaces only what it would write itself:
a regular file, or a directory for a directory output, never a device, FIFO, socket or
symbolic link found at its path.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mnist_mlp.errors import DataError, PipelineError, brief, reason

if TYPE_CHECKING:
    import pandas as pd


class Readable(Protocol):
    """A binary stream: a file, or :class:`gzip.GzipFile` (which is not a ``BinaryIO``)."""

    def read(self, size: int = -1, /) -> bytes: ...


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file of ``stat`` mode ``mode`` is, in words: ``"a FIFO"``."""
    return next((name for is_kind, name in _KINDS if is_kind(mode)), "an unknown kind of file")


def _check_replaceable(path: Path, directory: bool) -> None:
    """Refuse an output path that holds anything but what the output itself is.

    ``os.replace`` would put a file in place of whatever the path holds: run as root, an
    output pointed at a device node replaces the node. A symbolic link is refused too,
    for either kind: replacing it would drop the user's link (a directory linked to
    another disk), and removing a linked directory's content would delete files
    elsewhere.

    Raises
    ------
    PipelineError
        Naming ``path`` and what it is.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    expected = "a directory" if directory else "a regular file"
    if file_kind(mode) != expected:
        raise PipelineError(f"{path}: is {file_kind(mode)}, not {expected}: not replacing it")


@contextlib.contextmanager
def reported_as(path: str | os.PathLike[str]) -> Iterator[None]:
    """Report an OSError raised in the block as ``<path>: <reason>``.

    A failed write names no file (``[Errno 28] No space left on device``), or names the
    temporary file, which means nothing to the user: the error names the output instead.
    """
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from None


# The outputs written in the current all_or_none() block, waiting to be put in place.
_PENDING: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("_PENDING", default=None)


def _discard(tmp: Path) -> None:
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


def _put_in_place(tmp: Path, path: Path) -> None:
    with reported_as(path):
        if tmp.is_dir() and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)


def _finish(tmp: Path, path: Path) -> None:
    """Put the complete ``tmp`` in place as ``path``, now or at the end of all_or_none()."""
    pending = _PENDING.get()
    if pending is not None:
        pending.append((tmp, path))
        return
    try:
        _put_in_place(tmp, path)
    finally:
        _discard(tmp)


@contextlib.contextmanager
def all_or_none() -> Iterator[None]:
    """Put the outputs written in the block in place together at its end, or none of them.

    Inside the block, :func:`atomic_path` and :func:`atomic_directory` leave each complete
    output in its temporary; if the block fails (a full disk on the last output, a refused
    path, a stop signal), every temporary is removed and no output is replaced. The
    renames at the end meet no condition that was not checked when each output began.
    """
    pending: list[tuple[Path, Path]] = []
    token = _PENDING.set(pending)
    try:
        try:
            yield
        finally:
            _PENDING.reset(token)
        for tmp, path in pending:
            _put_in_place(tmp, path)
    finally:
        for tmp, _ in pending:
            _discard(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name starts with a dot and ends in ``.tmp``, so it is recognisable and
    never collides with a real output. On any exception it is removed. ``path`` must be
    absent or a regular file (:func:`_check_replaceable`).
    """
    path = Path(path)
    _check_replaceable(path, directory=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions of a normal file.
        tmp.chmod(0o666 & ~_umask())
    except BaseException:
        _discard(tmp)
        raise
    _finish(tmp, path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` if the block succeeds.

    ``path`` must be absent or a directory, not a link to one (:func:`_check_replaceable`).
    """
    path = Path(path)
    _check_replaceable(path, directory=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
    except BaseException:
        _discard(tmp)
        raise
    _finish(tmp, path)


def file_md5(path: str | os.PathLike[str]) -> str | None:
    """MD5 of a file's bytes (how DVC 3 hashes it), or None if it cannot be read."""
    try:
        with Path(path).open("rb") as stream:
            return hashlib.file_digest(stream, "md5").hexdigest()
    except OSError:
        return None


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with reported_as(path), atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike[str], obj: Mapping[str, Any]) -> None:
    """Write ``obj`` as indented JSON with sorted keys (stable bytes for DVC hashes)."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_csv(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a CSV with a header row atomically."""
    with (
        reported_as(path),
        atomic_path(path) as tmp,
        tmp.open("w", newline="", encoding="utf-8") as stream,
    ):
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_table(path: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """Write ``table`` as CSV with a header row and no index, atomically.

    Floats are written as Python's ``repr`` (the shortest text that reads back as the same
    float), exactly as :func:`write_csv` writes them, so the bytes DVC hashes do not depend
    on which of the two wrote a file.
    """
    write_bytes(path, table.to_csv(index=False, lineterminator="\n").encode())


def read_csv_columns(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read a CSV written by :func:`write_csv` into ``{column: [values as str]}``."""
    with Path(path).open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    if not rows:
        return {}
    return {key: [row[key] for row in rows] for key in rows[0]}


def read_epoch_csv(path: str | os.PathLike[str], columns: Sequence[str]) -> dict[str, list[str]]:
    """Read a per-epoch CSV that train wrote, checked: an int ``epoch`` and number ``columns``.

    Such a file is a plot's data, and a user may edit it by hand: whoever draws it gets
    numbers, or this one line.

    Raises
    ------
    DataError
        Naming the file, and the line and column of the first value that is not a number.
    """
    try:
        table = read_csv_columns(path)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a CSV text file ({reason(exc)})") from None
    expected = ["epoch", *columns]
    if not set(expected) <= set(table):
        found = f"the columns {brief(list(table))}" if table else "no rows"
        raise DataError(f"{path}: expected the columns {', '.join(expected)}, found {found}")
    if None in table:  # csv's key for the fields of a row longer than the header
        raise DataError(f"{path}: line 2: more fields than the header has")
    for name, values in table.items():
        number, what = (int, "an int") if name == "epoch" else (float, "a number")
        for line, value in enumerate(values, start=2):
            try:
                number(value)
            except (TypeError, ValueError):  # TypeError: None, for a field the row lacks
                raise DataError(
                    f"{path}: line {line}: {brief(name)}: expected {what}, got {brief(value)}"
                ) from None
    return table


def _save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save(path, array)``, never pickling objects."""
    with path.open("wb") as stream:
        # Given a real file, numpy writes with C's fwrite and reports a failure as "N
        # requested and M written", without why; given only a write method, it writes
        # through Python, whose error says why (a full disk, a file-size limit).
        np.save(SimpleNamespace(write=stream.write), array, allow_pickle=False)


def save_array(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Save one array as ``.npy`` atomically (never pickling objects)."""
    with reported_as(path), atomic_path(path) as tmp:
        _save_npy(tmp, array)


def save_arrays(directory: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Save each array as ``<name>.npy`` in ``directory``, replacing it atomically.

    Plain ``.npy`` files (not ``.npz``) because a zip archive stores the write time,
    which would make identical data hash differently on every run.
    """
    with atomic_directory(directory) as tmp:
        for name, array in arrays.items():
            with reported_as(Path(directory) / f"{name}.npy"):
                _save_npy(tmp / f"{name}.npy", array)


def load_arrays(directory: str | os.PathLike[str], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Load ``<name>.npy`` for each name from ``directory`` (never unpickling objects)."""
    return {name: np.load(Path(directory) / f"{name}.npy", allow_pickle=False) for name in names}


def read_rows(path: str | os.PathLike[str], batch_rows: int) -> Iterator[np.ndarray]:
    """The rows of a ``.npy`` file (C order, no objects), ``batch_rows`` at a time.

    Never holds the whole array: a caller converting each batch needs the pixels of one
    batch beside the result, not all of them (:func:`mnist_mlp.core.dataset.stack_features`).

    Raises
    ------
    DataError
        Naming the file, if it is not such a ``.npy`` file or ends before its header says.
    """
    with Path(path).open("rb") as stream:
        try:
            version = np.lib.format.read_magic(stream)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise DataError(f"{path}: .npy format version {version}, expected 1.0 or 2.0")
            shape, fortran_order, dtype = read_header(stream)
        except ValueError as exc:  # numpy's word for a file that is not an .npy
            raise DataError(f"{path}: not an .npy file ({exc})") from None
        if fortran_order or dtype.hasobject or not shape:
            raise DataError(f"{path}: expected a C-order array of numbers, not {dtype} {shape}")
        row_shape = shape[1:]
        row_bytes = int(np.prod(row_shape)) * dtype.itemsize
        for start in range(0, shape[0], batch_rows):
            n_rows = min(batch_rows, shape[0] - start)
            data = stream.read(n_rows * row_bytes)
            if len(data) != n_rows * row_bytes:
                complete = start + len(data) // row_bytes
                raise DataError(f"{path}: ends after {complete} of its {shape[0]} rows")
            yield np.frombuffer(data, dtype).reshape(n_rows, *row_shape)


@dataclass(frozen=True)
class NpyRows:
    """The rows of a ``.npy`` file, ``batch_rows`` at a time, read from the file on each pass.

    For data used a batch at a time, perhaps more than once, and never needed whole: the
    process holds one batch, the file stays in the operating system's cache
    (:func:`read_rows`).
    """

    path: Path
    batch_rows: int

    def __iter__(self) -> Iterator[np.ndarray]:
        return read_rows(self.path, self.batch_rows)
