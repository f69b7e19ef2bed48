"""Each params section as a typed object, and every params error in one format."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import yaml
from sklearn.neural_network import MLPClassifier

from mnist_mlp.core.dataset import FeaturesParams, SplitParams
from mnist_mlp.core.params import parse_section
from mnist_mlp.core.train import TrainParams
from mnist_mlp.core.visualize import VisualizeParams
from mnist_mlp.errors import ParamsError
from mnist_mlp.io.fetch import FetchParams
from mnist_mlp.io.params import load_section, read_yaml
from mnist_mlp.io.pipeline import stage_arguments
from tests.helpers import (
    DVC_STAGES,
    PROJECT_ROOT,
    STAGES,
    assert_one_line_error,
    declared_outputs,
    run_script,
)

PARAMS = PROJECT_ROOT / "params.yaml"
SECTIONS = {
    "fetch": FetchParams,
    "split": SplitParams,
    "features": FeaturesParams,
    "train": TrainParams,
    "visualize": VisualizeParams,
}


def test_every_section_of_params_yaml_has_a_typed_definition() -> None:
    assert set(read_yaml(PARAMS)) == set(SECTIONS)


@pytest.mark.parametrize(("section", "cls"), SECTIONS.items())
def test_project_params_load_as_frozen_objects(section: str, cls: type) -> None:
    params = load_section(PARAMS, section, cls)
    assert isinstance(params, cls)
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, first, None)


def test_lists_become_tuples_and_nested_mappings_objects() -> None:
    fetch = load_section(PARAMS, "fetch", FetchParams)
    assert isinstance(fetch.mirrors, tuple)
    assert [item.name for item in fetch.files][0] == "train-images-idx3-ubyte.gz"
    assert load_section(PARAMS, "train", TrainParams).hidden_layer_sizes == (50,)


def test_train_params_are_every_mlpclassifier_argument_that_affects_the_fit() -> None:
    """sklearn's names are the params' names: all but ``verbose`` and ``warm_start``."""
    names = {f.name for f in dataclasses.fields(TrainParams)}
    assert names == set(MLPClassifier().get_params()) - {"verbose", "warm_start"}


# Each bad value, in each section: the one line names the file and the key path.
BAD = [
    ("fetch", {"mirrors": ["ftp://example.org/"]}, "fetch.mirrors", "expected a list of http"),
    ("fetch", {"mirrors": ["http://[::1"]}, "fetch.mirrors", "expected a list of http"),
    ("fetch", {"mirrors": "https://example.org/"}, "fetch.mirrors", "got 'https://"),
    ("fetch", {"files": []}, "fetch.files", "expected a non-empty list"),
    ("fetch", {"files": [5]}, "fetch.files[0]", "expected a mapping of name, sha256"),
    ("fetch", {"files": [{"name": "a.gz", "sha256": "abc"}]}, "fetch.files[0].sha256", "hex"),
    ("fetch", {"files": [{"name": "../a.gz", "sha256": "0" * 64}]}, "fetch.files[0].name", ""),
    ("fetch", {"files": [{"name": "a.gz"}]}, "fetch.files[0].sha256", "missing"),
    ("fetch", {"timeout": -1}, "fetch.timeout", "expected finite seconds > 0, got -1"),
    ("fetch", {"timeout": float("inf")}, "fetch.timeout", "expected finite seconds > 0"),
    ("fetch", {"attempt_seconds": "10"}, "fetch.attempt_seconds", "got '10'"),
    ("fetch", {"retries": 0}, "fetch.retries", "expected an int >= 1, got 0"),
    ("fetch", {"retries": True}, "fetch.retries", "got True"),
    ("fetch", {"retry_delay": -0.5}, "fetch.retry_delay", "expected finite seconds >= 0"),
    ("fetch", {"retry_delay": float("inf")}, "fetch.retry_delay", "got inf"),
    ("fetch", {"max_file_bytes": 1.5}, "fetch.max_file_bytes", "got 1.5"),
    ("split", {"shufle": True}, "split.shufle", "unknown param; allowed: train_size, test_size"),
    ("split", {"train_size": -5}, "split.train_size", "expected null, an int > 0 or a float"),
    ("split", {"test_size": 1.5}, "split.test_size", "got 1.5"),
    ("split", {"shuffle": "yes"}, "split.shuffle", "expected true or false, got 'yes'"),
    ("split", {"random_state": 1.5}, "split.random_state", "expected null or an int from 0"),
    ("split", {"random_state": -1}, "split.random_state", "to 4294967295, got -1"),
    ("split", {"random_state": 2**32}, "split.random_state", "got 4294967296"),
    ("split", {"stratify": 1}, "split.stratify", "got 1"),
    ("features", {"dtype": "float16"}, "features.dtype", "expected float64 (exact published"),
    ("features", {"dtype": None}, "features.dtype", "got None"),
    ("train", {"learning_rate_initial": 0.1}, "train.learning_rate_initial", "unknown param"),
    ("train", {"verbose": 10}, "train.verbose", "unknown param"),
    ("train", {"batch_size": "abc"}, "train.batch_size", "Got 'abc'"),
    ("train", {"solver": "newton"}, "train.solver", "'solver' parameter of MLPClassifier"),
    ("train", {"alpha": "1e-4"}, "train.alpha", "expected a number, got '1e-4'"),
    ("train", {"max_iter": 0}, "train.max_iter", "int in the range [1, inf)"),
    ("train", {"max_iter": True}, "train.max_iter", "expected an int, got True"),
    ("train", {"hidden_layer_sizes": [50, 0]}, "train.hidden_layer_sizes", "got [50, 0]"),
    ("train", {"hidden_layer_sizes": -5}, "train.hidden_layer_sizes", "expected an int > 0"),
    ("train", {"hidden_layer_sizes": True}, "train.hidden_layer_sizes", "got True"),
    ("train", {"hidden_layer_sizes": [50, False]}, "train.hidden_layer_sizes", "got [50, False]"),
    ("train", {"hidden_layer_sizes": []}, "train.hidden_layer_sizes", "non-empty list"),
    ("visualize", {"rows": 0}, "visualize.rows", "expected an int from 1 to 16, got 0"),
    ("visualize", {"cols": 17}, "visualize.cols", "got 17"),
    ("visualize", {"neurons": [-1]}, "visualize.neurons", "indices >= 0, got [-1]"),
    ("visualize", {"scale": 0}, "visualize.scale", "expected a number > 0"),
    ("visualize", {"cmap": "no-such-map"}, "visualize.cmap", "expected a matplotlib colormap"),
]


def write_changed(path: Path, section: str, change: dict) -> Path:
    params = yaml.safe_load(PARAMS.read_text())
    params[section] |= change
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.mark.parametrize(("section", "change", "key", "says"), BAD)
def test_each_bad_value_gives_one_line_naming_file_and_key(
    tmp_path: Path, section: str, change: dict, key: str, says: str
) -> None:
    path = write_changed(tmp_path / "params.yaml", section, change)
    with pytest.raises(ParamsError) as caught:
        load_section(path, section, SECTIONS[section])
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert says in message
    assert "\n" not in message


def test_missing_key_names_it_and_what_is_expected(tmp_path: Path) -> None:
    params = yaml.safe_load(PARAMS.read_text())
    del params["split"]["shuffle"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"params\.yaml: split\.shuffle: missing, expected true"):
        load_section(path, "split", SplitParams)


@pytest.mark.parametrize("text", ["train: {}\n", "split: 5\n", "- a list\n"])
def test_missing_section(tmp_path: Path, text: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=r"params\.yaml: split: expected a mapping of train_size"):
        load_section(path, "split", SplitParams)


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split: [unclosed\n")
    with pytest.raises(ParamsError, match="cannot read params"):
        load_section(path, "split", SplitParams)


def test_yaml_float_without_dot_is_caught() -> None:
    """PyYAML reads ``1e-4`` as a string; the check must say so rather than pass it on."""
    values = read_yaml(PARAMS)["visualize"] | yaml.safe_load("scale: 5e-1")
    with pytest.raises(ParamsError, match=r"^params\.yaml: visualize\.scale: .*got '5e-1'$"):
        parse_section(VisualizeParams, values, "params.yaml", "visualize")


def test_partial_section_takes_the_defaults_of_what_is_missing() -> None:
    """An older revision without a param is drawn with its default (the report's baseline:
    tests/test_runs.py reads one back)."""
    grid = parse_section(VisualizeParams, {"rows": 2}, "p@old", "visualize", partial=True)
    assert (grid.rows, grid.cols, grid.cmap) == (2, 4, "gray")
    with pytest.raises(ParamsError, match=r"^p@old: visualize\.colour: unknown param"):
        parse_section(VisualizeParams, {"colour": "red"}, "p@old", "visualize", partial=True)


def test_ints_stay_ints_where_a_number_is_allowed() -> None:
    """scikit-learn is given what YAML held: the model file records the params' types."""
    values = read_yaml(PARAMS)["train"] | {"alpha": 0}
    assert type(parse_section(TrainParams, values, "p", "train").alpha) is int


# The stage, run by hand as a user would, with dvc.yaml's arguments: one bad value per
# section stops it in one line naming the file and the key, before any input is read (the
# inputs here are empty) and with no output written.
STAGE_RUNS = {
    "fetch": ("fetch", {"retries": 0}),
    "split": ("preprocess", {"shuffle": "yes"}),
    "features": ("evaluate", {"dtype": "float16"}),
    "train": ("train", {"solver": "newton"}),
    "visualize": ("visualize", {"rows": 0}),
}


@pytest.mark.parametrize("section", STAGE_RUNS)
def test_stage_stops_on_a_bad_param_in_one_line(tmp_path: Path, section: str) -> None:
    stage, change = STAGE_RUNS[section]
    write_changed(tmp_path / "params.yaml", section, change)
    outputs = declared_outputs(stage)
    args: list[str] = []
    for option, path in stage_arguments(stage, PROJECT_ROOT / "dvc.yaml").items():
        if path in outputs:
            path = f"out/{path}"
        else:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).touch()
        args += [option, path]
    result = run_script(f"{stage}.py", *args, cwd=tmp_path)
    [key] = change
    assert_one_line_error(result, f"params.yaml: {section}.{key}: ")
    assert not (tmp_path / "out").exists()


def definition_file(cls: type) -> str:
    return str(Path(sys.modules[cls.__module__].__file__).relative_to(PROJECT_ROOT))


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_depends_on_the_definitions_of_the_params_it_reads(stage: str) -> None:
    """Editing a section's definition reruns the stages that read it; the fetch definition,
    which no other stage imports, reruns only fetch."""
    deps = DVC_STAGES[stage]["deps"]
    for section in DVC_STAGES[stage]["params"]:
        assert definition_file(SECTIONS[section]) in deps, (stage, section)
    assert (definition_file(FetchParams) in deps) == (stage == "fetch")
