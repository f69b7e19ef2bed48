"""A stage refuses to write outputs when its params or inputs changed while it ran."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import yaml

from mnist_mlp.errors import DataError, ParamsError
from mnist_mlp.io.guard import changes_named_first, check_unchanged, snapshot, unchanged


@pytest.fixture
def stage_files(tmp_path: Path) -> tuple[Path, Path]:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"learning_rate_init": 0.1}, "other": {"a": 1}}))
    data = tmp_path / "data"
    data.mkdir()
    (data / "X.npy").write_bytes(b"pixels")
    return params, data


def test_nothing_changed_passes_before_and_after_writing(stage_files, tmp_path: Path) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    with unchanged(read):
        (tmp_path / "out").write_text("result")
    # A section the stage did not read may change: DVC does not record it for this stage.
    params.write_text(yaml.safe_dump({"train": {"learning_rate_init": 0.1}, "other": {"a": 2}}))
    check_unchanged(read)


def test_changed_params_section_is_refused(stage_files) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    params.write_text(yaml.safe_dump({"train": {"learning_rate_init": 0.2}}))
    with pytest.raises(ParamsError, match=r"params.yaml: train: changed while this stage ran"):
        check_unchanged(read)


def test_unreadable_params_is_refused(stage_files) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    params.write_text("train: [unclosed")
    with pytest.raises(ParamsError, match="cannot read params .*changed while this stage ran"):
        check_unchanged(read)


@pytest.mark.parametrize(
    "change",
    [
        lambda data: (data / "X.npy").write_bytes(b"pixelz"),
        lambda data: (data / "X.npy").unlink(),
        lambda data: (data / "y.npy").write_bytes(b"labels"),
    ],
    ids=["modified", "deleted", "added"],
)
def test_changed_input_file_is_refused(stage_files, change) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    change(data)
    with pytest.raises(DataError, match=r"\.npy: changed while this stage ran"):
        check_unchanged(read)


def test_change_during_writing_is_caught_after(stage_files, tmp_path: Path) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    with pytest.raises(ParamsError), unchanged(read):
        params.write_text(yaml.safe_dump({"train": {"learning_rate_init": 0.2}}))


def test_changed_code_is_refused(stage_files, tmp_path: Path, monkeypatch) -> None:
    """DVC records the stage's code as deps too: an edit mid-run is a false pairing."""
    module_file = tmp_path / "module.py"
    module_file.write_text("VALUE = 1\n")
    module = types.ModuleType("mnist_mlp.edited_while_running")
    module.__file__ = str(module_file)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    check_unchanged(read)
    module_file.write_text("VALUE = 2\n")
    with pytest.raises(DataError, match=r"module.py: changed while this stage ran"):
        check_unchanged(read)


def test_a_failure_caused_by_a_changed_input_names_the_input(stage_files) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    changed = pytest.raises(DataError, match=r"X\.npy: changed while this stage ran")
    with changed, changes_named_first(read):
        (data / "X.npy").write_bytes(b"other pixels")
        raise ValueError("inconsistent numbers of samples")  # what the change caused


def test_a_failure_with_inputs_unchanged_is_its_own(stage_files) -> None:
    params, data = stage_files
    read = snapshot(params, ["train"], [data])
    own = pytest.raises(ValueError, match="inconsistent numbers of samples")
    with own, changes_named_first(read):
        raise ValueError("inconsistent numbers of samples")
