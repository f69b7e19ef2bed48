"""Runs read back from git and the DVC cache at a revision, and drawn side by side.

A run is what the report needs of the workspace or of a revision: its params, first-layer
weights and training curves. :func:`comparison_figure` draws several runs' weight grids
and curves, each run once however many names it goes by.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dvc.api
import numpy as np
import pandas as pd
import yaml
from dvc.exceptions import DvcException
from matplotlib.figure import Figure

from mnist_mlp.core.params import flatten, parse_section
from mnist_mlp.core.visualize import VisualizeParams, draw_weight_grid, epoch_series
from mnist_mlp.errors import ParamsError, PipelineError, reason
from mnist_mlp.io.params import load_yaml
from mnist_mlp.io.pipeline import stage_arguments
from mnist_mlp.tools.experiments import changed_keys

COMPARED_SECTIONS = ("split", "train", "visualize")


@dataclass
class Run:
    """What the figure needs of one run: the workspace, or a revision."""

    name: str
    params: dict[str, Any]
    first_layer: np.ndarray
    loss: pd.DataFrame
    accuracy: pd.DataFrame


@dataclass(frozen=True)
class RunFiles:
    """Where a run's first layer and curves are: where ``dvc.yaml``'s train stage writes them."""

    first_layer: str
    loss: str
    accuracy: str

    @classmethod
    def from_dvc_yaml(cls, dvc_yaml: str | os.PathLike[str] = "dvc.yaml") -> RunFiles:
        train = stage_arguments("train", dvc_yaml)
        return cls(train["--first-layer"], train["--loss"], train["--accuracy"])


def load_run(name: str, rev: str | None, files: RunFiles, repo: str = ".") -> Run:
    """Read one run's params, first layer and curves from git and the DVC cache at ``rev``.

    ``rev=None`` reads the workspace. A ``visualize`` param that a revision predates takes
    its default; an unknown one is a :class:`ParamsError` naming ``params.yaml@name``.
    """
    try:
        params = load_yaml(dvc.api.read("params.yaml", repo=repo, rev=rev, encoding="utf-8"))
        first_layer = np.load(
            io.BytesIO(dvc.api.read(files.first_layer, repo=repo, rev=rev, mode="rb"))
        )
        with dvc.api.open(files.loss, repo=repo, rev=rev) as stream:
            loss = pd.read_csv(stream)
        with dvc.api.open(files.accuracy, repo=repo, rev=rev) as stream:
            accuracy = pd.read_csv(stream)
    except (FileNotFoundError, DvcException) as exc:
        raise PipelineError(f"{name}: cannot read its outputs ({exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParamsError(f"params.yaml@{name}: cannot read params ({reason(exc)})") from None
    grid = params.get("visualize", {}) if isinstance(params, dict) else None
    parse_section(VisualizeParams, grid, f"params.yaml@{name}", "visualize", partial=True)
    return Run(name, params, first_layer, loss, accuracy)


def same_run(a: Run, b: Run) -> bool:
    """True when ``a`` and ``b`` have the same params, first layer and curves."""
    return (
        a.params == b.params
        and np.array_equal(a.first_layer, b.first_layer)
        and a.loss.equals(b.loss)
        and a.accuracy.equals(b.accuracy)
    )


def distinct_runs(runs: Sequence[Run]) -> list[Run]:
    """``runs`` with each run that repeats an earlier one folded into it, its name joined
    to the earlier one's with `` = `` (the workspace is often the commit it came from)."""
    kept: list[Run] = []
    for run in runs:
        index = next((i for i, k in enumerate(kept) if same_run(k, run)), None)
        if index is None:
            kept.append(run)
        else:
            kept[index] = replace(kept[index], name=f"{kept[index].name} = {run.name}")
    return kept


def differing_params(all_params: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys (``section.name``) of the compared sections whose values differ between runs,
    sorted."""
    return sorted(changed_keys([{s: p.get(s, {}) for s in COMPARED_SECTIONS} for p in all_params]))


def run_label(run: Run, keys: Sequence[str]) -> str:
    """``name`` and, one per line, ``param=value`` for each differing key."""
    flat = flatten(run.params)
    return "\n".join([run.name, *(f"{key.split('.', 1)[1]}={flat.get(key)}" for key in keys)])


def comparison_figure(runs: Sequence[Run]) -> Figure:
    """Weight grids side by side on top; loss and test accuracy of every run below, with
    one legend under the two charts. Identical runs are drawn once (:func:`distinct_runs`).
    """
    runs = distinct_runs(runs)
    keys = differing_params([run.params for run in runs])
    figure = Figure(figsize=(max(8.0, 3.2 * len(runs)), 8), layout="constrained")
    # subfigures() is typed as one SubFigure or an array of them: it is an array here.
    top, bottom = np.asarray(figure.subfigures(2, 1, height_ratios=[1.2, 1])).ravel()
    # A lone grid takes the middle half of the width: spread over all of it, its cells
    # would stand apart.
    widths = [1] * len(runs) if len(runs) > 1 else [1, 2, 1]
    cells = np.asarray(top.subfigures(1, len(widths), width_ratios=widths)).ravel()
    cells = cells if len(runs) > 1 else cells[1:2]
    for index, (cell, run) in enumerate(zip(cells, runs, strict=True)):
        draw_weight_grid(cell, run.first_layer, **run.params.get("visualize", {}))
        # In the colour of the run's curves below.
        cell.suptitle(run_label(run, keys), fontsize="small", color=f"C{index}")
    loss_ax, accuracy_ax = bottom.subplots(1, 2)
    for run in runs:
        label = run_label(run, keys).replace("\n", ", ")
        loss_ax.plot(*epoch_series(run.loss, "loss"), marker="o", label=label)
        accuracy_ax.plot(*epoch_series(run.accuracy, "test_accuracy"), marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss")
    accuracy_ax.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    bottom.legend(loc="outside lower center", ncols=min(len(runs), 3), fontsize="small")
    return figure
