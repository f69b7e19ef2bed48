"""dvc exp with any sklearn-valid configuration, and a sweep's experiments shown and plotted."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from tests.helpers import DvcProject, exp_show, ran_stages


def read_csv(project: DvcProject, path: str) -> list[dict[str, str]]:
    with (project.root / path).open() as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def baseline(reproduced: DvcProject) -> DvcProject:
    return reproduced


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("overrides", "expected_hidden"),
    [
        (["train.hidden_layer_sizes=7"], [7]),
        (["train.hidden_layer_sizes=[12,6]"], [12, 6]),
        (["train.solver=adam", "train.learning_rate_init=0.001"], [50]),
        (["train.early_stopping=true", "train.max_iter=5"], [50]),
        (["train.solver=lbfgs", "train.random_state=null"], [50]),
        (["features.dtype=float32"], [50]),
    ],
    ids=["int-layers", "list-layers", "adam", "early-stopping", "lbfgs-null-seed", "float32"],
)
def test_exp_run_with_sklearn_valid_params(
    baseline: DvcProject, overrides: list[str], expected_hidden: list[int]
) -> None:
    result = baseline.dvc("exp", "run", *(f"-S{o}" for o in overrides))
    assert ran_stages(result.stdout) == ["train", "evaluate", "visualize"]
    model_params = baseline.run(
        sys.executable,
        "-c",
        "from mnist_mlp.io.model_file import load_model;"
        "m = load_model('models/mlp.skops'); print(list(m.hidden_layer_sizes), m.coefs_[0].shape)",
    ).stdout
    assert model_params.split(" (")[0] == str(expected_hidden)
    assert f"(784, {expected_hidden[0]})" in model_params
    metrics = json.loads((baseline.root / "reports/metrics.json").read_text())
    assert 0 <= metrics["test_score"] <= 1
    accuracy = read_csv(baseline, "reports/accuracy.csv")
    if "train.early_stopping=true" in overrides:
        assert "validation_score" in accuracy[0]
    assert len(accuracy) == len(read_csv(baseline, "reports/loss.csv")) >= 1


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("overrides", "reran"),
    [
        (["fetch.retries=2", "fetch.timeout=10"], ["fetch"]),
        (
            ["split.shuffle=true", "split.random_state=0", "split.stratify=true"],
            ["preprocess", "train", "evaluate", "visualize"],
        ),
        (["visualize.rows=2", "visualize.neurons=[1,3]", "visualize.scale=1"], ["visualize"]),
    ],
    ids=["fetch", "split", "visualize"],
)
def test_exp_run_sets_params_of_every_section(
    baseline: DvcProject, overrides: list[str], reran: list[str]
) -> None:
    """The other sections take ``-S`` too, and rerun only the stages that read them (a
    fetch that gives the same files leaves the rest alone)."""
    result = baseline.dvc("exp", "run", *(f"-S{o}" for o in overrides))
    assert ran_stages(result.stdout) == reran


@pytest.mark.pipeline
def test_exp_run_with_a_bad_value_fails_in_one_line_naming_file_and_key(
    baseline: DvcProject,
) -> None:
    result = baseline.dvc("exp", "run", "-S", "visualize.rows=0", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR __main__")]
    assert errors == [
        "ERROR __main__: params.yaml: visualize.rows: expected an int from 1 to 16, got 0"
    ]


@pytest.mark.pipeline
def test_experiments_are_shown_and_plotted_side_by_side(baseline: DvcProject) -> None:
    for rate in ("0.05", "0.2"):
        baseline.dvc("exp", "run", "-n", f"lri{rate}", "-S", f"train.learning_rate_init={rate}")
    experiments = exp_show(baseline)
    assert sorted(experiments) == ["lri0.05", "lri0.2"]
    rates = sorted(
        data["params"]["params.yaml"]["data"]["train"]["learning_rate_init"]
        for data in experiments.values()
    )
    assert rates == [0.05, 0.2]
    for data in experiments.values():
        assert "test_score" in data["metrics"]["reports/metrics.json"]["data"]
    diff = baseline.dvc("plots", "diff", *sorted(experiments), "--json")
    assert "reports/loss.csv" in json.loads(diff.stdout)["data"]
