"""The explore page's data (mnist_mlp.tools.explore) on made-up runs, and `make exps` and
`make explore` on real `dvc exp run`s; the page in a browser is test_explore_browser.py."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from mnist_mlp.core.visualize import VisualizeParams, draw_weight_grid
from mnist_mlp.tools.experiments import Run
from mnist_mlp.tools.explore import (
    ArtifactPaths,
    Artifacts,
    colormap,
    confusion_counts,
    explore_page,
    load_artifacts,
    restore_commands,
    run_entry,
    script_json,
    weight_frames,
)
from tests.helpers import PROJECT_ROOT, DvcProject, assert_one_line_error

HOSTILE = "</script><script>alert(1)</script><!-- & <img src=x onerror=alert(2)>"


def page_data(page: str) -> dict:
    """The JSON the page embeds."""
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert found, "no data in the page"
    return json.loads(found[1])


def decoded(grid: dict) -> tuple[np.ndarray, list[np.ndarray]]:
    """The final frame's colour indices and the earlier frames' top bits, per unit."""
    raw = np.frombuffer(zlib.decompress(base64.b64decode(grid["pixels"])), dtype=np.uint8)
    frames = raw.reshape(len(grid["epochs"]), grid["units"], grid["side"] ** 2)
    return frames[0], list(np.cumsum(frames[1:], axis=0, dtype=np.uint8))


def test_embedded_json_cannot_end_its_script_or_start_markup() -> None:
    data = {"name": HOSTILE, "values": [HOSTILE, "\u2028"]}
    text = script_json(data)
    assert not set("<>&") & set(text)
    assert json.loads(text) == data


def test_weight_frames_take_the_colours_the_stage_draws() -> None:
    snapshots = np.random.default_rng(0).normal(size=(3, 784, 20))
    grid = VisualizeParams(rows=2, cols=3, neurons=(5, 1, 19, 25), scale=0.5, cmap="viridis")
    frames = weight_frames(snapshots, grid)
    final, earlier = decoded(frames)
    assert (frames["units"], frames["side"], frames["epochs"]) == (3, 28, [1, 2, 3])
    colours = np.frombuffer(base64.b64decode(colormap("viridis")), np.uint8).reshape(256, 3)
    drawn = draw_weight_grid(Figure(), snapshots[-1], 2, 3, [5, 1, 19, 25], 0.5, "viridis")
    for (image, unit), levels in zip(drawn, final, strict=True):
        expected = image.to_rgba(image.get_array(), bytes=True)[..., :3].reshape(784, 3)
        assert (colours[levels] == expected).all(), f"unit {unit}"
    final_range = (0.5 * snapshots[-1].min(), 0.5 * snapshots[-1].max())
    for epoch, top in zip([0, 1], earlier, strict=True):
        normed = (snapshots[epoch][:, [5, 1, 19]].T - final_range[0]) / np.subtract(
            *final_range[::-1]
        )
        assert (top == np.clip(np.floor(normed * 256), 0, 255).astype(np.uint8) >> 4).all()


def test_a_long_runs_frames_are_sampled_first_and_last_kept() -> None:
    frames = weight_frames(np.zeros((20, 784, 4)), VisualizeParams())
    assert frames["epochs"] == [1, 5, 9, 12, 16, 20]
    with pytest.raises(ValueError, match=r"expected \(epochs, a square's pixels, units\)"):
        weight_frames(np.zeros((2, 780, 4)), VisualizeParams())


def test_confusion_counts_rows_are_actual_digits() -> None:
    pairs = pd.DataFrame({"actual": [0, 0, 1, 2, 2, 2], "predicted": [0, 1, 1, 2, 2, 0]})
    assert confusion_counts(pairs) == {
        "labels": ["0", "1", "2"],
        "counts": [[1, 1, 0], [0, 1, 0], [1, 0, 2]],
    }


def make_run(names: list[str], rev: str, experiment: bool) -> Run:
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    return Run(names, rev, "b" * 40, experiment, params, {"test_score": 0.9}, {})


def test_commands_bring_back_an_experiment_a_commit_or_nothing() -> None:
    overrides = ["train.solver=adam", '+extra.note="it\'s"']
    assert restore_commands(make_run(["workspace", "exp-1"], "e" * 40, True), overrides) == [
        "dvc exp apply exp-1",
        "dvc exp run -S train.solver=adam -S '+extra.note=\"it'\"'\"'s\"'",
    ]
    assert restore_commands(make_run(["main"], "b" * 40, False), []) == [
        "git checkout main && dvc checkout"
    ]
    assert restore_commands(make_run(["workspace"], "workspace", False), None) == []


def test_a_run_without_its_cached_outputs_keeps_its_row_and_loss_curve(tmp_path: Path) -> None:
    paths = ArtifactPaths("loss.csv", "accuracy.csv", "per_class.csv", "confusion.csv", "s.npy")
    (tmp_path / "confusion.csv").write_text("actual,guess\n1,1\n")
    files = {
        "loss.csv": b"epoch,loss\n1,0.5\n2,0.25\n",
        "confusion.csv": tmp_path / "confusion.csv",
        "accuracy.csv": None,
        "per_class.csv": None,
        "s.npy": None,
    }
    artifacts = load_artifacts(files, paths, cached={"accuracy.csv", "per_class.csv", "s.npy"})
    assert artifacts.notes == [
        "outputs not in the local DVC cache (dvc exp pull, or dvc pull)",
        "confusion.csv: cannot read it (expected columns actual, predicted)",
    ]
    run = make_run(["exp-1"], "e" * 40, True)
    entry = run_entry(run, artifacts, [], [])
    assert entry["curves"] == {"loss": {"epoch": [1, 2], "value": [0.5, 0.25]}}
    assert entry["values"]["final_loss"] == 0.25
    assert entry["notes"] == artifacts.notes
    assert not {"grid", "per_class", "confusion"} & set(entry)


def test_page_embeds_every_run_once_with_its_changed_params(tmp_path: Path) -> None:
    runs = [make_run(["workspace", "main"], "b" * 40, False), make_run([HOSTILE], "e" * 40, True)]
    runs[1].params["train"]["solver"] = HOSTILE
    artifacts = [Artifacts(snapshots=np.zeros((1, 784, 50))), Artifacts()]
    page = explore_page(runs, artifacts)
    assert HOSTILE not in page
    data = page_data(page)
    assert [run["name"] for run in data["runs"]] == ["workspace, main", HOSTILE]
    assert [c["key"] for c in data["columns"] if c["table"]] == [
        "p:train.solver",
        "m:test_score",
        "final_loss",
    ]
    assert data["runs"][1]["values"]["p:train.solver"] == json.dumps(HOSTILE)
    assert set(data["colormaps"]) == {"gray"}


@pytest.mark.parametrize("tool", ["experiments", "explore"])
def test_outside_a_project_is_one_line_naming_dvc_yaml(tmp_path: Path, tool: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"mnist_mlp.tools.{tool}"], cwd=tmp_path, capture_output=True,
        text=True,
    )  # fmt: skip
    assert_one_line_error(result, "dvc.yaml")
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.pipeline
def test_exps_and_explore_on_real_experiments(reproduced: DvcProject) -> None:
    project = reproduced
    project.git("branch", "older", "HEAD~1")
    project.dvc("exp", "run", "-n", "fast", "-S", "train.learning_rate_init=0.2")
    project.dvc("exp", "run", "-n", "small", "-S", "train.learning_rate_init=0.1",
                "-S", "train.hidden_layer_sizes=[7]")  # fmt: skip
    # fast's outputs never reached this cache (gathered from a remote without its data).
    refs = project.git("for-each-ref", "--format=%(objectname) %(refname)", "refs/exps")
    fast = next(line.split()[0] for line in refs.stdout.splitlines() if line.endswith("/fast"))
    fast_lock = yaml.safe_load(project.git("show", f"{fast}:dvc.lock").stdout)
    for out in fast_lock["stages"]["train"]["outs"]:
        if out["path"] == "models/first_layer_per_epoch.npy":
            (project.root / ".dvc/cache/files/md5" / out["md5"][:2] / out["md5"][2:]).unlink()

    shown = project.run(sys.executable, "-m", "mnist_mlp.tools.experiments").stdout.splitlines()
    assert max(map(len, shown)) <= 100
    rows = [re.split(r"\s{2,}", line) for line in shown[1:]]
    assert sorted(row[0] for row in rows) == ["fast", "main", "workspace, small"]
    assert {row[0]: row[4:] for row in rows} == {
        "main": [],
        "fast": ["learning_rate_init=0.2"],
        "workspace, small": ["hidden_layer_sizes=[7]"],
    }
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    branches = project.run(sys.executable, "-m", "mnist_mlp.tools.experiments", "--all-branches")
    assert "older" in {line.split("  ")[0] for line in branches.stdout.splitlines()}

    project.run(sys.executable, "-m", "mnist_mlp.tools.explore", "--out", "reports/explore.html")
    data = page_data((project.root / "reports/explore.html").read_text())
    runs = {run["name"]: run for run in data["runs"]}
    assert set(runs) == {"main", "fast", "workspace, small"}
    assert runs["fast"]["commands"] == [
        "dvc exp apply fast",
        "dvc exp run -S train.learning_rate_init=0.2",
    ]
    assert runs["main"]["commands"] == ["git checkout main && dvc checkout"]
    assert "grid" not in runs["fast"] and "not in the local DVC cache" in runs["fast"]["notes"][0]
    assert set(runs["fast"]["curves"]) == {"loss", "train_accuracy", "test_accuracy"}
    assert runs["main"]["grid"]["units"] == 16 and runs["workspace, small"]["grid"]["units"] == 7
    for run in runs.values():
        assert len(run["confusion"]["labels"]) == 10 and run["per_class"]["class"][0] == "0"
