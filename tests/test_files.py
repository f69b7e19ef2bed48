"""Atomic outputs: a failed write leaves the previous file (or nothing) and no temporary."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnist_mlp.errors import DataError, PipelineError
from mnist_mlp.io.files import (
    NpyRows,
    all_or_none,
    atomic_directory,
    atomic_path,
    load_arrays,
    read_epoch_csv,
    read_rows,
    save_array,
    save_arrays,
    write_bytes,
    write_csv,
    write_json,
    write_table,
)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_failed_directory_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "prepared") as tmp:
        (tmp / "X_train.npy").write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_arrays_round_trip_and_replace_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "prepared"
    save_arrays(directory, {"old": np.zeros(1)})
    arrays = {"X": np.arange(6, dtype=np.uint8).reshape(2, 3), "y": np.array([1, 2], np.uint8)}
    save_arrays(directory, arrays)
    assert sorted(p.name for p in directory.iterdir()) == ["X.npy", "y.npy"]
    loaded = load_arrays(directory, ["X", "y"])
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype


def test_json_is_stable(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {"b": 1, "a": 0.5})
    assert (tmp_path / "a.json").read_text() == '{\n  "a": 0.5,\n  "b": 1\n}\n'


def test_tables_write_floats_as_their_shortest_repr(tmp_path: Path) -> None:
    """per_class.csv is a DVC-tracked output: its bytes are those of Python's csv module,
    whatever wrote it (the committed dvc.lock records them)."""
    values = np.random.default_rng(0).random(1000).tolist() + [0.97, 1 / 3, 1.0, 0.0, 1e-17]
    table = pd.DataFrame({"class": range(len(values)), "precision": values})
    write_table(tmp_path / "pandas.csv", table)
    write_csv(tmp_path / "csv.csv", ["class", "precision"], enumerate(values))
    written = (tmp_path / "pandas.csv").read_bytes()
    assert written == (tmp_path / "csv.csv").read_bytes()
    assert written.splitlines()[:2] == [b"class,precision", f"0,{values[0]!r}".encode()]


def test_rows_are_read_in_batches_in_order(tmp_path: Path) -> None:
    pixels = np.arange(7 * 6, dtype=np.uint8).reshape(7, 2, 3)
    save_array(tmp_path / "X.npy", pixels)
    batches = list(read_rows(tmp_path / "X.npy", 3))
    assert [len(batch) for batch in batches] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(batches), pixels)
    assert batches[0].dtype == np.uint8


def test_npy_rows_are_read_from_the_file_again_on_each_pass(tmp_path: Path) -> None:
    pixels = np.arange(7 * 6, dtype=np.uint8).reshape(7, 6)
    save_array(tmp_path / "X.npy", pixels)
    rows = NpyRows(tmp_path / "X.npy", 3)
    np.testing.assert_array_equal(np.concatenate(list(rows)), pixels)
    save_array(tmp_path / "X.npy", pixels[::-1])  # nothing of the first pass is kept
    np.testing.assert_array_equal(np.concatenate(list(rows)), pixels[::-1])


def test_a_file_shorter_than_its_header_is_refused(tmp_path: Path) -> None:
    save_array(tmp_path / "X.npy", np.zeros((10, 4), dtype=np.uint8))
    data = (tmp_path / "X.npy").read_bytes()
    (tmp_path / "X.npy").write_bytes(data[:-5])
    with pytest.raises(DataError, match=r"X\.npy: ends after 8 of its 10 rows"):
        list(read_rows(tmp_path / "X.npy", 3))


def test_a_file_that_is_not_an_npy_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "X.npy").write_bytes(b"not an npy file")
    with pytest.raises(DataError, match=r"X\.npy: not an \.npy file"):
        list(read_rows(tmp_path / "X.npy", 3))


def make_file(path: Path, kind: str, elsewhere: Path) -> None:
    """Make ``kind`` of file at ``path``; a symbolic link points into ``elsewhere``."""
    if kind == "a character device":
        try:  # /dev/null's numbers, made here: no real device is touched
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root (CAP_MKNOD)")
    elif kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
    elif kind == "a directory":
        path.mkdir()
    elif kind == "a regular file":
        path.write_bytes(b"a user's file")
    else:
        elsewhere.mkdir(exist_ok=True)
        (elsewhere / "kept.txt").write_bytes(b"kept")
        path.symlink_to(
            elsewhere if kind == "a symbolic link to a directory" else elsewhere / "kept.txt"
        )


def identity(path: Path) -> tuple[int, int, int]:
    found = path.lstat()
    return found.st_ino, found.st_mode, found.st_rdev


WRITERS = {
    "write_bytes": lambda path: write_bytes(path, b"output"),
    "write_csv": lambda path: write_csv(path, ["a"], [[1]]),
    "save_array": lambda path: save_array(path, np.zeros(3)),
}


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(
    "kind", ["a character device", "a FIFO", "a socket", "a directory", "a symbolic link"]
)
def test_an_output_replaces_only_a_regular_file(tmp_path: Path, kind: str, writer: str) -> None:
    """As root, os.replace puts a file in place of a device node: the node must stay."""
    (tmp_path / "outputs").mkdir()
    target = tmp_path / "outputs/figure.png"
    make_file(target, kind, tmp_path / "elsewhere")
    before = identity(target)
    kind = kind.removesuffix(" to a directory")
    message = rf"^{re.escape(str(target))}: is {kind}, not a regular file: not replacing it$"
    with pytest.raises(PipelineError, match=message):
        WRITERS[writer](target)
    assert identity(target) == before
    assert list((tmp_path / "outputs").iterdir()) == [target]  # no temporary left


@pytest.mark.parametrize(
    "kind",
    [
        "a character device",
        "a FIFO",
        "a socket",
        "a regular file",
        "a symbolic link to a directory",
    ],
)
def test_a_directory_output_replaces_only_a_directory(tmp_path: Path, kind: str) -> None:
    """data/prepared is replaced whole; never what a link points to, nor a non-directory."""
    (tmp_path / "data").mkdir()
    target = tmp_path / "data/prepared"
    make_file(target, kind, tmp_path / "elsewhere")
    before = identity(target)
    shown = "a symbolic link" if kind.startswith("a symbolic link") else kind
    message = rf"^{re.escape(str(target))}: is {shown}, not a directory: not replacing it$"
    with pytest.raises(PipelineError, match=message):
        save_arrays(target, {"X": np.zeros(3)})
    assert identity(target) == before
    assert list((tmp_path / "data").iterdir()) == [target]
    if kind.startswith("a symbolic link"):
        assert (tmp_path / "elsewhere/kept.txt").read_bytes() == b"kept"


def test_outputs_written_together_are_put_in_place_all_or_none(tmp_path: Path) -> None:
    write_json(tmp_path / "metrics.json", {"run": "old"})
    with pytest.raises(OSError, match="No space left on device"), all_or_none():
        write_json(tmp_path / "metrics.json", {"run": "new"})
        save_array(tmp_path / "weights.npy", np.zeros(3))
        raise OSError(28, "No space left on device")  # as the third output is written
    assert read_json_run(tmp_path / "metrics.json") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]

    with all_or_none():
        write_json(tmp_path / "metrics.json", {"run": "new"})
        save_array(tmp_path / "weights.npy", np.zeros(3))
        assert read_json_run(tmp_path / "metrics.json") == "old", "put in place at the end"
    assert read_json_run(tmp_path / "metrics.json") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "weights.npy"]


def read_json_run(path: Path) -> str:
    return json.loads(path.read_text())["run"]


def test_npy_files_are_written_as_numpy_writes_them(tmp_path: Path) -> None:
    """Written through Python's file writes (their errors say why): the same bytes."""
    array = np.random.default_rng(0).random((3, 4, 5))
    for order in (array, np.asfortranarray(array)):
        save_array(tmp_path / "ours.npy", order)
        np.save(tmp_path / "numpy.npy", order, allow_pickle=False)
        assert (tmp_path / "ours.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"epoch,loss\n1,0.5\n2,oops\n",
            r"loss\.csv: line 3: 'loss': expected a number, got 'oops'",
        ),
        (b"epoch,loss\n1.5,0.5\n", r"loss\.csv: line 2: 'epoch': expected an int, got '1\.5'"),
        (b"epoch,loss\n1,0.5\n2\n", r"loss\.csv: line 3: 'loss': expected a number, got None"),
        (b"epoch,loss\n1,0.5,7\n", r"loss\.csv: line 2: more fields than the header has"),
        (b"epoch,los\n1,0.5\n", r"loss\.csv: expected the columns epoch, loss, found the columns"),
        (b"epoch,loss\n", r"loss\.csv: expected the columns epoch, loss, found no rows"),
        (b"\xff\xfe\x00binary", r"loss\.csv: not a CSV text file \("),
    ],
    ids=[
        "not-a-number",
        "fractional-epoch",
        "short-row",
        "long-row",
        "renamed-column",
        "no-rows",
        "binary",
    ],
)
def test_an_edited_epoch_csv_is_named_in_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "loss.csv").write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_epoch_csv(tmp_path / "loss.csv", ["loss"])
    assert "\n" not in str(caught.value)


def test_an_epoch_csv_train_wrote_is_read_as_it_is(tmp_path: Path) -> None:
    write_csv(tmp_path / "loss.csv", ["epoch", "loss"], [(1, 0.5), (2, float("nan"))])
    assert read_epoch_csv(tmp_path / "loss.csv", ["loss"]) == {
        "epoch": ["1", "2"],
        "loss": ["0.5", "nan"],
    }
