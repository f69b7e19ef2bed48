"""Draw several experiments (or revisions) side by side: weight grids and training curves.

``python -m mnist_mlp.tools.compare [NAME_OR_REV ...] --out dvc_plots/compare.png``. With no
arguments it compares the current commit with all of its experiments (as listed by
``dvc.api.exp_show``). Each run is labelled by the params that differ between the runs.
Everything is read from git and the DVC cache at each revision, so the workspace does
not need to hold any of the runs.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dvc.api
import numpy as np
import pandas as pd
import yaml
from dvc.exceptions import DvcException
from matplotlib.figure import Figure

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.params import flatten, parse_section
from mnist_mlp.core.visualize import VisualizeParams, draw_weight_grid, epoch_series
from mnist_mlp.errors import ParamsError, PipelineError, reason
from mnist_mlp.io.images import save_figure
from mnist_mlp.io.params import load_yaml
from mnist_mlp.io.pipeline import stage_arguments

log = logging.getLogger(__name__)

COMPARED_SECTIONS = ("split", "train", "visualize")


@dataclass
class Run:
    """What the comparison needs of one experiment or revision."""

    name: str
    params: dict[str, Any]
    first_layer: np.ndarray
    loss: pd.DataFrame
    accuracy: pd.DataFrame


def differing_params(all_params: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys (``section.name``) of the compared sections whose values differ between runs."""
    flats = [flatten({s: p.get(s, {}) for s in COMPARED_SECTIONS}) for p in all_params]
    keys = sorted(set().union(*flats))
    return [key for key in keys if len({json.dumps(f.get(key)) for f in flats}) > 1]


def run_label(run: Run, keys: Sequence[str]) -> str:
    """``name`` and, one per line, ``param=value`` for each differing key."""
    flat = flatten(run.params)
    return "\n".join([run.name, *(f"{key.split('.', 1)[1]}={flat.get(key)}" for key in keys)])


def comparison_figure(runs: Sequence[Run]) -> Figure:
    """Weight grids side by side on top; loss and test accuracy of every run below."""
    keys = differing_params([run.params for run in runs])
    figure = Figure(figsize=(max(8.0, 3.2 * len(runs)), 7.5), layout="constrained")
    # subfigures() is typed as one SubFigure or an array of them: it is an array here.
    top, bottom = np.asarray(figure.subfigures(2, 1, height_ratios=[1.2, 1])).ravel()
    cells = np.asarray(top.subfigures(1, len(runs), squeeze=False)).ravel()
    for cell, run in zip(cells, runs, strict=True):
        draw_weight_grid(cell, run.first_layer, **run.params.get("visualize", {}))
        cell.suptitle(run_label(run, keys), fontsize="small")
    loss_ax, accuracy_ax = bottom.subplots(1, 2)
    for run in runs:
        label = run_label(run, keys).replace("\n", ", ")
        loss_ax.plot(*epoch_series(run.loss, "loss"), marker="o", label=label)
        accuracy_ax.plot(*epoch_series(run.accuracy, "test_accuracy"), marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss")
    accuracy_ax.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    accuracy_ax.legend(fontsize="small")
    return figure


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

    ``rev=None`` reads the workspace.
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


def experiment_revisions(exp_show: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{name: rev}`` of each baseline and experiment in the rows of ``dvc.api.exp_show()``.

    An experiment is named by its name, a baseline by its branch (or short commit).
    """
    rows = pd.DataFrame(exp_show, columns=["Experiment", "rev"])
    rows = rows[rows["rev"] != "workspace"]
    return dict(zip(rows["Experiment"].fillna(rows["rev"]), rows["rev"], strict=True))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("runs", nargs="*", help="experiment names or git revisions")
    parser.add_argument("--out", default="dvc_plots/compare.png", help="output PNG")
    parser.add_argument("--dvc-yaml", default="dvc.yaml", help="where the run files are declared")
    args = parser.parse_args(argv)
    files = RunFiles.from_dvc_yaml(args.dvc_yaml)
    try:
        known = experiment_revisions(dvc.api.exp_show())
    except DvcException as exc:
        raise PipelineError(f"cannot list the experiments: {reason(exc)}") from None
    names = args.runs or list(known)
    runs = [load_run(name, known.get(name, name), files) for name in names]
    save_figure(args.out, comparison_figure(runs))
    log.info("compared %d runs in %s", len(runs), args.out)


if __name__ == "__main__":
    run_stage(main)
