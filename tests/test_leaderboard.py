"""Reading the runs DVC lists (mnist_mlp.tools.experiments) and the leaderboard in 100
columns, on made-up runs; the real `dvc exp run`s are in test_explore.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dvc.repo.experiments.serialize import (
    ExpExecutor,
    ExpOut,
    ExpRange,
    ExpState,
    SerializableError,
    SerializableExp,
)
from dvc.utils.hydra import apply_overrides
from dvc.utils.serialize import load_yaml

from mnist_mlp.tools.experiments import (
    Run,
    changed_params,
    final_loss,
    git_blobs,
    leaderboard,
    merge_identical,
    overrides,
    runs_from_states,
)
from tests.helpers import PROJECT_ROOT

PARAMS = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
METRICS_FILE = "reports/metrics.json"


def state(rev: str, name: str | None, rate: float, score: float | None, **kwargs) -> ExpState:
    """An ``ExpState`` as ``Repo.experiments.show()`` returns it."""
    params = {**PARAMS, "train": {**PARAMS["train"], "learning_rate_init": rate}}
    metrics = {} if score is None else {"test_score": score, "train_score": 0.99}
    outs = {
        "models/mlp.skops": ExpOut(f"{rev[:4]}md5", 10, None, True, False),
        "reports/loss.csv": ExpOut("git-tracked", 10, None, False, False),
    }
    data = SerializableExp(
        rev=rev,
        params={"params.yaml": {"data": params}},
        metrics={METRICS_FILE: {"data": metrics}, "other.json": {"data": {"x": 1}}},
        outs=outs,
    )
    return ExpState(rev=rev, name=name, data=data, **kwargs)


def run(name: str, rate: float, score: float | None, rev: str = "c" * 40) -> Run:
    params = {**PARAMS, "train": {**PARAMS["train"], "learning_rate_init": rate}}
    metrics = {} if score is None else {"test_score": score, "train_score": 0.99}
    return Run([name], rev, "b" * 40, True, params, metrics, {"models/mlp.skops": "0" * 32})


def test_runs_from_dvc_states_are_named_and_unfinished_ones_left_out() -> None:
    base, exp = "b" * 40, "e" * 40
    done = ExpRange(revs=[state(exp, "exp-a", 0.2, 0.98)], name="exp-a")
    queued = ExpRange(revs=[ExpState(rev="q" * 40)], executor=ExpExecutor("queued"), name="q")
    failed = ExpRange(
        revs=[state("f" * 40, "exp-f", 0.3, None)], executor=ExpExecutor("failed"), name="exp-f"
    )
    states = [
        state("workspace", None, 0.1, 0.97),
        state(base, "main", 0.1, 0.97, experiments=[done, queued, failed]),
        state("d" * 40, None, 0.1, 0.9),  # a detached commit (another branch's) has no name
        ExpState(rev="9" * 40, error=SerializableError("bad dvc.yaml")),
    ]
    runs = runs_from_states(states, head=base, metrics_file=METRICS_FILE)
    assert [(r.name, r.rev, r.baseline, r.experiment) for r in runs] == [
        ("workspace", "workspace", base, False),
        ("main", base, base, False),
        ("exp-a", exp, base, True),
        ("ddddddd", "d" * 40, "d" * 40, False),
    ]
    assert runs[2].params["train"]["learning_rate_init"] == 0.2
    assert runs[2].metrics == {"test_score": 0.98, "train_score": 0.99}
    assert runs[2].outs == {"models/mlp.skops": "eeeemd5"}


def test_identical_runs_are_one_run_under_both_names() -> None:
    workspace = run("workspace", 0.1, 0.97, rev="workspace")
    head = run("main", 0.1, 0.97, rev="a" * 40)
    head.experiment = False
    other = run("exp-a", 0.1, 0.97, rev="e" * 40)
    other.outs = {"models/mlp.skops": "another model"}
    merged = merge_identical([workspace, head, other])
    assert [(r.name, r.rev, r.experiment) for r in merged] == [
        ("workspace, main", "a" * 40, False),
        ("exp-a", "e" * 40, True),
    ]


def test_changed_params_are_those_that_differ_between_runs() -> None:
    runs = [run("a", 0.1, 0.9), run("b", 0.2, 0.9), run("c", 0.1, 0.9)]
    runs[2].params = {**runs[2].params, "extra": {"note": "x"}}
    assert changed_params(runs) == ["train.learning_rate_init", "extra.note"]
    assert changed_params(runs[:1]) == []


@pytest.mark.parametrize(
    "value",
    [
        [100, 50],
        1.0e-08,
        None,
        True,
        "adam",
        "1.0",
        "null",
        "a b, c=[d]",
        'quote " and \\ backslash\\',
        "<script>alert(1)</script>",
        {"nested": [1, "x"]},
        [{"name": "a.gz", "sha256": "ab"}],
    ],
    ids=repr,
)
def test_overrides_turn_the_baseline_into_the_run_as_dvc_reads_them(
    tmp_path: Path, value: object
) -> None:
    baseline = {"train": {"solver": "sgd", "alpha": 0.0001, "gone": 1}, "visualize": {"rows": 4}}
    params = {"train": {"solver": value, "alpha": 0.0001, "added": value}, "visualize": {"rows": 2}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(baseline))
    apply_overrides(path, overrides(params, baseline))
    assert load_yaml(path) == params


def test_leaderboard_fits_100_columns_best_test_score_first() -> None:
    long_name = "a-very-long-experiment-name-" + "x" * 60
    runs = [run("mid", 0.1, 0.95), run(long_name, 0.2, 0.99), run("no-metrics", 0.3, None)]
    runs[1].params["train"] = {**runs[1].params["train"], "hidden_layer_sizes": [512] * 40}
    baseline = run("main", 0.1, 0.97, rev="b" * 40)
    baseline.experiment = False
    lines = leaderboard([*runs, baseline], [0.2, 0.05, None, 0.1]).splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].split() == ["name", "train", "test", "loss", "changed", "params"]
    rows = [line.split() for line in lines[1:] if not line.startswith(" ")]
    assert [row[0] for row in rows] == [long_name[:27] + "…", "main", "mid", "no-metrics"]
    assert rows[0][1:4] == ["0.9900", "0.9900", "0.05"]
    assert rows[0][4].startswith("hidden_layer_sizes=[512,512,")
    # The long value wraps onto three lines, the rest cut.
    assert lines[2].startswith(" " * 55) and lines[3].endswith("[...]")
    assert rows[1] == ["main", "0.9900", "0.9700", "0.1"]
    assert rows[3] == ["no-metrics", "–", "–", "–", "learning_rate_init=0.3"]


def test_final_loss_is_the_last_epochs() -> None:
    assert final_loss(pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]})) == 0.25
    assert final_loss(pd.DataFrame({"epoch": [1], "loss": [float("nan")]})) is None
    assert final_loss(pd.DataFrame({"epoch": []})) is None
    assert final_loss(None) is None


def test_git_blobs_reads_files_of_many_commits_in_one_call(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e.invalid", *args],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    contents = [b"first\n", b"\x00binary\nwith 12 newlines\n\n" * 3]
    commits = []
    for content in contents:
        (tmp_path / "file.bin").write_bytes(content)
        git("add", "file.bin")
        git("commit", "-q", "-m", "x")
        commits.append(git("rev-parse", "HEAD"))
    specs = [f"{commits[1]}:file.bin", f"{commits[0]}:missing", f"{commits[0]}:file.bin"]
    assert git_blobs(tmp_path, specs) == [contents[1], None, contents[0]]
