"""Runs read back at a revision, and drawn side by side: labels, legend, identical runs."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.legend import Legend

from mnist_mlp.tools.runs import (
    RunFiles,
    comparison_figure,
    differing_params,
    distinct_runs,
    load_run,
)
from tests.helpers import PROJECT_ROOT, fake_run, legends_over_axes

RATES = [("a", 0.1), ("b", 0.2), ("c", 0.3)]


def grid_titles(figure) -> list[str]:
    return [sub._suptitle.get_text() for sub in figure.subfigs[0].subfigs if sub._suptitle]


def test_differing_params_ignore_fetch_and_equal_values() -> None:
    runs = [fake_run("a", [50], 0.1), fake_run("b", [100], 0.1), fake_run("c", [50], 0.2)]
    runs[2].params["fetch"]["timeout"] = 60
    keys = differing_params([run.params for run in runs])
    assert keys == ["train.hidden_layer_sizes", "train.learning_rate_init"]


def test_comparison_figure_labels_runs_by_what_differs() -> None:
    figure = comparison_figure([fake_run("a", [50], 0.1), fake_run("b", [3], 0.1)])
    assert grid_titles(figure) == ["a\nhidden_layer_sizes=[50]", "b\nhidden_layer_sizes=[3]"]
    grids = [sub.axes for sub in figure.subfigs[0].subfigs]
    assert [sum(bool(ax.get_images()) for ax in axes) for axes in grids] == [4, 3]
    loss_ax, accuracy_ax = figure.subfigs[1].axes
    assert len(loss_ax.lines) == len(accuracy_ax.lines) == 2


def test_no_legend_covers_a_chart() -> None:
    runs = [fake_run(name, [50], rate) for name, rate in RATES]
    figure = comparison_figure(runs)
    [legend] = figure.findobj(Legend)
    assert [text.get_text() for text in legend.get_texts()] == [
        f"{name}, learning_rate_init={rate}" for name, rate in RATES
    ]
    assert legends_over_axes(figure) == []


def test_identical_runs_are_drawn_once_named_after_both() -> None:
    head, workspace = fake_run("HEAD", [50], 0.1), fake_run("workspace", [50], 0.1)
    figure = comparison_figure([head, workspace])
    assert grid_titles(figure) == ["HEAD = workspace"]
    loss_ax, accuracy_ax = figure.subfigs[1].axes
    assert len(loss_ax.lines) == len(accuracy_ax.lines) == 1


def test_runs_differing_in_weights_or_curves_are_both_kept() -> None:
    head, changed_weights, changed_loss = (fake_run(n, [50], 0.1) for n in ("a", "b", "c"))
    changed_weights.first_layer = changed_weights.first_layer + 1e-9
    changed_loss.loss = changed_loss.loss.assign(loss=[0.5, 0.31])
    kept = distinct_runs([head, changed_weights, changed_loss, fake_run("d", [50], 0.1)])
    assert [run.name for run in kept] == ["a = d", "b", "c"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_a_revision_older_than_a_visualize_param_is_drawn_with_its_default(
    tmp_path: Path,
) -> None:
    """A baseline committed before ``visualize.cmap`` existed: read with the default."""
    files = RunFiles.from_dvc_yaml(PROJECT_ROOT / "dvc.yaml")
    old = fake_run("old", [6], 0.1)
    del old.params["visualize"]["cmap"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(old.params))
    for path, frame in ((files.loss, old.loss), (files.accuracy, old.accuracy)):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(tmp_path / path, index=False)
    buffer = io.BytesIO()
    np.save(buffer, old.first_layer)
    (tmp_path / files.first_layer).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / files.first_layer).write_bytes(buffer.getvalue())
    git(tmp_path, "init", "-q")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "old")

    run = load_run("old", "HEAD", files, repo=str(tmp_path))
    assert "cmap" not in run.params["visualize"]
    np.testing.assert_array_equal(run.first_layer, old.first_layer)
    pd.testing.assert_frame_equal(run.loss, old.loss)
    assert grid_titles(comparison_figure([run])) == ["old"]
