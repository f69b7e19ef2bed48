"""The skops model file: loads back the same model, same bytes every time, refuses tampering."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp.errors import ModelFileError
from mnist_mlp.io.model_file import load_model, model_bytes, save_model
from tests.helpers import small_model


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_round_trip_predicts_the_same(tmp_path: Path, solver: str) -> None:
    model, X = small_model(solver)
    save_model(tmp_path / "model.skops", model)
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for saved, restored in zip(model.coefs_, loaded.coefs_, strict=True):
        np.testing.assert_array_equal(saved, restored)
    assert loaded.get_params() == model.get_params()


def test_bytes_are_identical_for_identical_models() -> None:
    first, _ = small_model()
    second, _ = small_model()
    assert model_bytes(first) == model_bytes(second)
    different, _ = small_model(random_state=2)
    assert model_bytes(different) != model_bytes(first)


def test_zip_entries_have_fixed_names_and_times() -> None:
    model, _ = small_model()
    with zipfile.ZipFile(io.BytesIO(model_bytes(model))) as archive:
        infos = archive.infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert "schema.json" in [info.filename for info in infos]
    arrays = [info.filename for info in infos if info.filename != "schema.json"]
    # Renumbered in order of appearance, not named after id() of objects in memory.
    assert arrays and all(int(name.removesuffix(".npy")) < 1000 for name in arrays)


def tampered(tmp_path: Path, edit) -> Path:
    """A copy of a saved model whose schema was changed by ``edit(schema)``."""
    model, _ = small_model()
    source = zipfile.ZipFile(io.BytesIO(model_bytes(model)))
    schema = json.loads(source.read("schema.json"))
    edit(schema)
    path = tmp_path / "tampered.skops"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = json.dumps(schema) if name == "schema.json" else source.read(name)
            out.writestr(name, data)
    return path


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    def to_os_system(schema: dict) -> None:
        schema["__module__"], schema["__class__"] = "os", "system"

    with pytest.raises(ModelFileError, match="refusing to load untrusted types.*os.system"):
        load_model(tampered(tmp_path, to_os_system))


def test_other_estimator_is_refused(tmp_path: Path) -> None:
    def to_label_binarizer(schema: dict) -> None:
        schema["__module__"] = "sklearn.preprocessing._label"
        schema["__class__"] = "LabelBinarizer"

    with pytest.raises(ModelFileError, match="holds a LabelBinarizer, expected MLPClassifier"):
        load_model(tampered(tmp_path, to_label_binarizer))


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a valid skops model file") as caught:
        load_model(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read the model file"):
        load_model(tmp_path / "missing.skops")


def test_no_other_estimator_is_trusted_inside_the_model(tmp_path: Path) -> None:
    # skops' own default trusts every scikit-learn estimator: a file could then swap the
    # model's label binarizer for any of them and still load as an MLPClassifier.
    def label_binarizer_to_naive_bayes(schema: dict) -> None:
        attributes = schema["content"]["content"]
        attributes["_label_binarizer"]["__module__"] = "sklearn.naive_bayes"
        attributes["_label_binarizer"]["__class__"] = "GaussianNB"

    with pytest.raises(ModelFileError, match="untrusted types.*sklearn.naive_bayes.GaussianNB"):
        load_model(tampered(tmp_path, label_binarizer_to_naive_bayes))


def test_loading_imports_only_the_estimators_it_trusts() -> None:
    code = (
        "import sys; from mnist_mlp.io.model_file import skops_io; skops_io(); "
        "print('sklearn.naive_bayes' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", "importing skops imported every estimator"
