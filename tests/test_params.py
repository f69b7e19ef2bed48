"""Loading and checking params sections."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mnist_mlp.core.dataset import FEATURES_SCHEMA, SPLIT_SCHEMA
from mnist_mlp.core.visualize import VISUALIZE_SCHEMA
from mnist_mlp.errors import ParamsError
from mnist_mlp.io.fetch import FETCH_SCHEMA
from mnist_mlp.io.params import check_section, load_section
from tests.helpers import PROJECT_ROOT

PARAMS = PROJECT_ROOT / "params.yaml"
SCHEMAS = {
    "fetch": FETCH_SCHEMA,
    "split": SPLIT_SCHEMA,
    "features": FEATURES_SCHEMA,
    "visualize": VISUALIZE_SCHEMA,
}


@pytest.mark.parametrize(("section", "schema"), SCHEMAS.items())
def test_project_params_pass_their_schema(section: str, schema) -> None:
    load_section(PARAMS, section, schema)


def test_load_section_checks_against_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("visualize: {rows: 0}\n")
    with pytest.raises(ParamsError, match=r"visualize\.rows = 0, expected an int from 1 to 16"):
        load_section(path, "visualize", VISUALIZE_SCHEMA)


def test_missing_section(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train: {}\n")
    with pytest.raises(ParamsError, match="expected a mapping under the top-level key 'split'"):
        load_section(path, "split")


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split: [unclosed\n")
    with pytest.raises(ParamsError, match="cannot read params"):
        load_section(path, "split")


@pytest.mark.parametrize(
    ("section", "change", "message"),
    [
        ("split", {"shufle": True}, r"unknown param split\.shufle; allowed: train_size"),
        ("split", {"train_size": -5}, r"split\.train_size = -5, expected null, an int > 0"),
        ("split", {"train_size": 1.5}, r"split\.train_size = 1\.5"),
        ("split", {"shuffle": "yes"}, r"split\.shuffle = 'yes', expected true or false"),
        ("split", {"random_state": 1.5}, r"split\.random_state = 1\.5, expected null or an int"),
        ("split", {"stratify": 1}, r"split\.stratify = 1"),
        ("fetch", {"retries": 0}, r"fetch\.retries = 0, expected an int >= 1"),
        ("fetch", {"retries": True}, r"fetch\.retries = True"),
        ("fetch", {"timeout": -1}, r"fetch\.timeout = -1, expected seconds > 0"),
        (
            "fetch",
            {"files": [{"name": "a.gz", "sha256": "abc"}]},
            r"fetch\.files = .*64 lowercase hex",
        ),
        ("fetch", {"files": [{"name": "../a.gz", "sha256": "0" * 64}]}, r"fetch\.files"),
        ("visualize", {"rows": 0}, r"visualize\.rows = 0, expected an int from 1 to 16"),
        (
            "visualize",
            {"cmap": "no-such-map"},
            r"visualize\.cmap = 'no-such-map', expected a matplotlib",
        ),
        ("visualize", {"neurons": [-1]}, r"visualize\.neurons = \[-1\]"),
        ("visualize", {"scale": 0}, r"visualize\.scale = 0"),
    ],
)
def test_bad_params_name_the_param_and_what_is_allowed(
    section: str, change: dict, message: str
) -> None:
    params = load_section(PARAMS, section) | change
    with pytest.raises(ParamsError, match=message):
        check_section(params, SCHEMAS[section], section, "params.yaml")


def test_missing_key_names_it() -> None:
    params = load_section(PARAMS, "split")
    del params["shuffle"]
    with pytest.raises(ParamsError, match=r"missing param split\.shuffle"):
        check_section(params, SPLIT_SCHEMA, "split", "params.yaml")


def test_yaml_float_without_dot_is_caught() -> None:
    """PyYAML reads ``1e-4`` as a string; the check must say so rather than pass it on."""
    params = load_section(PARAMS, "visualize") | yaml.safe_load("scale: 5e-1")
    with pytest.raises(ParamsError, match=r"visualize\.scale = '5e-1'"):
        check_section(params, VISUALIZE_SCHEMA, "visualize", "params.yaml")


def test_features_dtype_is_float64_or_float32() -> None:
    with pytest.raises(ParamsError, match=r"features\.dtype = 'float16', expected float64"):
        check_section({"dtype": "float16"}, FEATURES_SCHEMA, "features", "params.yaml")
