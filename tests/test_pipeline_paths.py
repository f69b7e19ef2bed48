"""Tools find the pipeline's outputs where dvc.yaml's stage commands write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_mlp.errors import PipelineError
from mnist_mlp.io.pipeline import stage_arguments
from mnist_mlp.tools.runs import RunFiles
from tests.helpers import PROJECT_ROOT


def test_a_stages_options_are_read_from_its_command(tmp_path: Path) -> None:
    dvc_yaml = tmp_path / "dvc.yaml"
    dvc_yaml.write_text(
        "stages:\n  train:\n    cmd: python stages/train.py --model 'my models/m.skops' "
        "--loss out/loss.csv --first-layer a.npy --accuracy b.csv\n"
    )
    assert stage_arguments("train", dvc_yaml)["--model"] == "my models/m.skops"
    assert RunFiles.from_dvc_yaml(dvc_yaml) == RunFiles("a.npy", "out/loss.csv", "b.csv")


def test_the_projects_tools_read_what_train_writes() -> None:
    files = RunFiles.from_dvc_yaml(PROJECT_ROOT / "dvc.yaml")
    outs = stage_arguments("train", PROJECT_ROOT / "dvc.yaml")
    assert (files.first_layer, files.loss, files.accuracy) == (
        outs["--first-layer"],
        outs["--loss"],
        outs["--accuracy"],
    )


def test_a_missing_stage_is_one_line_naming_the_file(tmp_path: Path) -> None:
    dvc_yaml = tmp_path / "dvc.yaml"
    dvc_yaml.write_text("stages: {}\n")
    with pytest.raises(PipelineError, match=r"dvc.yaml: expected a stage 'train' with a cmd"):
        stage_arguments("train", dvc_yaml)
