"""Where the stages write their outputs, as ``dvc.yaml`` declares it: paths live only there.

The tools run beside the pipeline take their paths as arguments whose defaults come from
here, so a path changed in ``dvc.yaml`` moves for them too.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from mnist_mlp.errors import PipelineError
from mnist_mlp.io.params import read_yaml


def stage_arguments(stage: str, dvc_yaml: str | os.PathLike[str] = "dvc.yaml") -> dict[str, str]:
    """``{option: value}`` of ``stage``'s command, e.g. ``{"--model": "models/mlp.skops"}``.

    Raises
    ------
    PipelineError
        Naming ``dvc_yaml`` if it has no such stage or the stage has no command.
    """
    stages = read_yaml(Path(dvc_yaml)).get("stages") or {}
    command = (stages.get(stage) or {}).get("cmd")
    if not isinstance(command, str):
        raise PipelineError(f"{dvc_yaml}: expected a stage '{stage}' with a cmd")
    words = shlex.split(command)
    pairs = zip(words, words[1:], strict=False)
    return {word: value for word, value in pairs if word.startswith("--")}


def declared_outputs(
    stage: str | None = None, dvc_yaml: str | os.PathLike[str] = "dvc.yaml"
) -> list[str]:
    """Every path ``dvc.yaml`` declares as an output (``outs``, ``metrics``, ``plots``), of
    ``stage`` or of every stage."""
    stages = read_yaml(Path(dvc_yaml)).get("stages") or {}
    return [
        entry if isinstance(entry, str) else next(iter(entry))
        for name, declared in stages.items()
        if stage in (None, name)
        for kind in ("outs", "metrics", "plots")
        for entry in declared.get(kind) or []
    ]
