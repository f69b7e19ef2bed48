"""Hostile and oversized input: each case ends in one line naming the file or param, before
the work it would blow up, and leaves nothing half-written (docs/reliability.md)."""

from __future__ import annotations

import errno
import gzip
import logging
import os
import re
import resource
import stat
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from mnist_mlp.cli import run_stage
from mnist_mlp.core.evaluate import check_model
from mnist_mlp.core.params import parse_section
from mnist_mlp.core.train import TrainParams, build_classifier, check_fit_memory, fit_seconds
from mnist_mlp.core.visualize import VisualizeParams, check_draw_memory
from mnist_mlp.errors import FetchError, ModelFileError, ParamsError, brief
from mnist_mlp.io.fetch import FetchParams, decompressed_sha256, fetch_file
from mnist_mlp.io.files import save_array, save_arrays, write_csv
from mnist_mlp.io.model_file import MAX_SCHEMA_BYTES, load_model, model_bytes
from mnist_mlp.io.params import load_section, load_yaml
from mnist_mlp.memory import available_memory
from mnist_mlp.tools.report import build_report, render_markdown
from mnist_mlp.tools.runs import Run
from tests.helpers import (
    PROJECT_ROOT,
    DvcProject,
    assert_one_line_error,
    run_script,
    serving,
    tiny_digits,
)

PARAMS = PROJECT_ROOT / "params.yaml"
NAME = "train-labels-idx1-ubyte.gz"
GIB = 2**30


def project_params() -> dict:
    return yaml.safe_load(PARAMS.read_text(encoding="utf-8"))


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


# --- fetch caps each file's bytes --------------------------------------------------


def fetch(sources: list[str], destination: Path, **options) -> Path:
    settings = {"timeout": 2.0, "retries": 3, "retry_delay": 0.0} | options
    return fetch_file(NAME, "0" * 64, sources, destination, **settings)


def test_default_cap_leaves_room_for_the_largest_mnist_file() -> None:
    # train-images-idx3-ubyte decompresses to 47,040,016 bytes.
    cap = load_section(PARAMS, "fetch", FetchParams).max_file_bytes
    assert 47_040_016 * 1.5 < cap < 47_040_016 * 10


def test_local_file_over_the_cap_is_refused_after_one_attempt(tmp_path: Path, caplog) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / NAME).write_bytes(bytes(1_000_000))
    (tmp_path / "out").mkdir()
    with pytest.raises(FetchError, match=r"holds more than 100000 bytes \(fetch\.max_file_bytes\)"):
        fetch([str(mirror)], tmp_path / "out", max_file_bytes=100_000)
    assert list((tmp_path / "out").iterdir()) == []
    # Too large is permanent: one attempt, not three.
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def limit_file_size(n_bytes: int):
    """A ``preexec_fn``: the kernel refuses writes past ``n_bytes``, as a full disk would."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))

    return limit


def run_stage_limited(
    script: str, *args: str, cwd: Path, file_bytes: int
) -> subprocess.CompletedProcess[str]:
    """Run ``stages/<script>`` by hand where no file may grow past ``file_bytes``: the
    kernel refuses the write that would (`File too large`), as a full disk refuses it."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "stages" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size(file_bytes),
        check=False,
    )


class EndlessServer:
    """Serves an endless body (no Content-Length), or announces a huge one; counts bytes."""

    def __init__(self) -> None:
        self.sent = 0
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                self.send_response(200)
                if self.path.startswith("/announced/"):
                    self.send_header("Content-Length", str(10**12))
                self.end_headers()
                chunk = b"\0" * 65536
                # Bounded, so that a client that never stops cannot keep the test running.
                for _ in range(2000):
                    try:
                        self.wfile.write(chunk)
                    except OSError:
                        return
                    server.sent += len(chunk)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def endless() -> Iterator[EndlessServer]:
    server = EndlessServer()
    with serving(server.httpd):
        yield server


def test_endless_http_body_stops_at_the_cap(endless: EndlessServer, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"sent more than 1000000 bytes") as caught:
        fetch([f"{endless.url}/endless/"], tmp_path, max_file_bytes=1_000_000)
    assert "\n" not in str(caught.value)
    assert endless.hits == 1
    assert list(tmp_path.iterdir()) == []


def test_announced_oversize_is_refused_before_reading(
    endless: EndlessServer, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match=r"announces 1000000000000 bytes, more than 1000000"):
        fetch([f"{endless.url}/announced/"], tmp_path, max_file_bytes=1_000_000)
    assert list(tmp_path.iterdir()) == []


def test_gzip_bomb_is_refused_while_verifying(tmp_path: Path) -> None:
    bomb = tmp_path / NAME
    bomb.write_bytes(gzip.compress(bytes(20_000_000), compresslevel=9))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(FetchError, match=r"decompresses to more than 1000000 bytes"):
        decompressed_sha256(bomb, max_bytes=1_000_000)


@pytest.mark.parametrize("kind", ["a character device", "a FIFO"])
def test_fetch_stage_run_by_hand_on_a_mirror_of_devices_or_fifos(tmp_path: Path, kind: str) -> None:
    """Links to /dev/zero would never end, a FIFO blocks its reader until a writer comes:
    both are refused before a read, after one attempt. (The 60 s timeout only stops a
    hang, and the 50 MB file-size limit a copy of /dev/zero, if the refusal breaks.)"""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    params = project_params()
    params["fetch"].update(mirrors=[], max_file_bytes=1_000_000, retry_delay=0)
    for item in params["fetch"]["files"]:
        if kind == "a FIFO":
            os.mkfifo(mirror / item["name"])
        else:
            (mirror / item["name"]).symlink_to("/dev/zero")
    write_params(tmp_path / "params.yaml", params)
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "stages/fetch.py"), "--out", "data/raw"],
        cwd=tmp_path,
        env=os.environ | {"DATA_MIRROR": str(mirror)},
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size(50_000_000),
        timeout=60,
        check=False,
    )
    name = "train-images-idx3-ubyte.gz"
    assert_one_line_error(result, f"{mirror / name} is {kind}, not a regular file")
    assert len(re.findall(rf"WARNING .*{name} from", result.stderr)) == 1
    assert not (tmp_path / "data/raw").exists()
    assert [p.name for p in (tmp_path / "data").iterdir()] == []


# --- the model loader caps what it decompresses ------------------------------------


def zip_bomb_model(path: Path, schema_bytes: int) -> Path:
    """A model file whose schema.json is ``schema_bytes`` of JSON whitespace, streamed."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("schema.json", "w", force_zip64=True) as member,
    ):
        block = b" " * 2**20
        for _ in range(schema_bytes // len(block)):
            member.write(block)
        member.write(b"{}")
    return path


def test_zip_bomb_model_fails_in_one_line_with_little_memory(tmp_path: Path) -> None:
    """A 1 GiB schema.json in a ~1 MB file: refused before skops reads it into memory."""
    bomb = zip_bomb_model(tmp_path / "mlp.skops", GIB)
    assert bomb.stat().st_size < 5_000_000
    probe = (
        "import resource, sys\n"
        "from mnist_mlp.io.model_file import load_model\n"
        "from mnist_mlp.errors import ModelFileError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    load_model(sys.argv[1])\n"
        "except ModelFileError as exc:\n"
        "    print(exc)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(bomb)], capture_output=True, text=True, check=True
    )
    message, grown = result.stdout.splitlines()
    assert "schema.json" in message and "zip bomb" in message
    assert int(grown) < 100 * 2**20


def test_declared_member_size_is_checked_before_reading(tmp_path: Path) -> None:
    bomb = zip_bomb_model(tmp_path / "mlp.skops", MAX_SCHEMA_BYTES + 2**20)
    with pytest.raises(ModelFileError, match=rf"{bomb}: member 'schema.json' decompresses"):
        load_model(bomb)


# --- params.yaml refuses alias bombs; messages cut long values ---------------------

BILLION_LAUGHS = "\n".join(
    ["visualize:", '  a0: &a0 ["lol"]']
    + [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def test_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(BILLION_LAUGHS + "\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"params\.yaml: cannot read params \(aliases repeat "):
        load_section(path, "visualize", VisualizeParams)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("visualize: &v {rows: *v}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="an alias refers to a node that contains it"):
        load_section(path, "visualize", VisualizeParams)


def test_deep_nesting_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("visualize: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"cannot read params \(nested too deeply\)"):
        load_section(path, "visualize", VisualizeParams)


def test_a_few_aliases_still_load() -> None:
    text = "shared: &s {rows: 4, cols: 4}\nvisualize:\n  <<: *s\n  neurons: &n [1, 2]\n"
    assert load_yaml(text)["visualize"] == {"rows": 4, "cols": 4, "neurons": [1, 2]}


@pytest.mark.parametrize(
    "value",
    [
        "x" * 1_000_000,
        [list(range(1000))] * 1000,
        {"deep": [[[[[[["nested"]]]]]]]},
        "line one\nline two",
    ],
)
def test_error_messages_cut_long_values(value) -> None:
    with pytest.raises(ParamsError) as caught:
        parse_section(VisualizeParams, {"rows": value}, "p", "visualize", partial=True)
    message = str(caught.value)
    assert len(message) < 160 and "\n" not in message
    assert len(brief(value)) <= 100


def test_scikit_learn_messages_quoting_a_huge_value_are_cut() -> None:
    prefix = "params.yaml: train.solver: "
    with pytest.raises(ParamsError, match=rf"^{re.escape(prefix)}The 'solver' .*\.\.\.$") as caught:
        classifier(solver="x" * 1_000_000)
    assert len(str(caught.value)) <= len(prefix) + 200


# --- train and visualize refuse what this machine cannot hold ----------------------


def classifier(**change) -> MLPClassifier:
    values = project_params()["train"] | change
    return build_classifier(parse_section(TrainParams, values, "params.yaml", "train"))


def test_default_training_fits_in_a_few_gib() -> None:
    assert check_fit_memory(classifier(), (60000, 784), 10, "float64", 4 * GIB) < 2 * GIB


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"hidden_layer_sizes": [100_000_000]}, "train.hidden_layer_sizes = [100000000] "),
        ({"hidden_layer_sizes": [2000], "max_iter": 10000}, "with train.max_iter = 10000 needs"),
        ({"hidden_layer_sizes": [20000], "batch_size": 60000}, "with train.batch_size = 60000"),
    ],
)
def test_training_that_cannot_fit_is_refused_naming_the_param(change: dict, named: str) -> None:
    with pytest.raises(ParamsError, match=r"GiB of memory \(.*\), more than the 4\.0 GiB") as c:
        check_fit_memory(classifier(**change), (60000, 784), 10, "float64", 4 * GIB)
    assert named in str(c.value)


def test_fit_time_estimate_grows_with_epochs_and_weights() -> None:
    default = fit_seconds(classifier(), 60000, 10000, 784, 10)
    # The README's measured fit of the example: 8.7 s.
    assert 4 < default < 20
    assert fit_seconds(classifier(max_iter=20), 60000, 10000, 784, 10) == pytest.approx(2 * default)
    wide = fit_seconds(classifier(hidden_layer_sizes=[500]), 60000, 10000, 784, 10)
    assert wide == pytest.approx(10 * default, rel=0.01)


def test_animation_of_too_many_epochs_is_refused() -> None:
    assert check_draw_memory((10, 784, 50), 8, 4 * GIB, "snapshots.npy") < GIB
    with pytest.raises(ParamsError, match=r"animating snapshots\.npy \(100000 epochs"):
        check_draw_memory((100_000, 784, 50), 8, 4 * GIB, "snapshots.npy")


@pytest.mark.parametrize("key", ["rows", "cols"])
def test_visualize_grid_is_capped(key: str) -> None:
    values = project_params()["visualize"] | {key: 1000}
    with pytest.raises(
        ParamsError, match=rf"visualize\.{key}: expected an int from 1 to 16, got 1000"
    ):
        parse_section(VisualizeParams, values, "params.yaml", "visualize")


def test_available_memory_is_what_the_kernel_reports() -> None:
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    total = int(meminfo["MemTotal"].split()[0]) * 1024
    assert 0 < available_memory() <= total


def prepared_data(directory: Path, n_train: int = 60, n_test: int = 20) -> Path:
    X_train, y_train = tiny_digits(n_train, seed=0)
    X_test, y_test = tiny_digits(n_test, seed=1)
    save_arrays(
        directory,
        {
            "X_train": X_train.reshape(n_train, -1),
            "y_train": y_train,
            "X_test": X_test.reshape(n_test, -1),
            "y_test": y_test,
        },
    )
    return directory


TRAIN_OUTPUTS = (
    "--model",
    "models/mlp.skops",
    "--loss",
    "reports/loss.csv",
    "--accuracy",
    "reports/accuracy.csv",
    "--first-layer",
    "models/first_layer.npy",
    "--snapshots",
    "models/first_layer_per_epoch.npy",
)


def test_train_run_by_hand_refuses_a_huge_layer_before_loading_data(tmp_path: Path) -> None:
    data = prepared_data(tmp_path / "data/prepared")
    # Only the headers and the training labels are read: without the test labels, loading
    # the data would fail first.
    (data / "y_test.npy").unlink()
    params = project_params()
    params["train"]["hidden_layer_sizes"] = [100_000_000]
    write_params(tmp_path / "params.yaml", params)
    result = run_script("train.py", "--data", "data/prepared", *TRAIN_OUTPUTS, cwd=tmp_path)
    assert_one_line_error(result, "train.hidden_layer_sizes = [100000000]", "GiB of memory")
    assert not (tmp_path / "models").exists()


# --- booleans are not ints in train ------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"max_iter": True},
        {"batch_size": True},
        {"random_state": True},
        {"n_iter_no_change": True},
        {"alpha": False},
        {"max_fun": True},
        {"hidden_layer_sizes": True},
        {"hidden_layer_sizes": [True]},
        {"hidden_layer_sizes": [50, False]},
    ],
)
def test_booleans_do_not_pass_as_numbers_in_train(change: dict) -> None:
    [(key, value)] = change.items()
    with pytest.raises(
        ParamsError, match=rf"^params\.yaml: train\.{key}: expected .*, got .*{value}"
    ):
        classifier(**change)


def test_boolean_params_still_take_booleans() -> None:
    model = classifier(shuffle=False, nesterovs_momentum=False, early_stopping=True)
    assert (model.shuffle, model.nesterovs_momentum, model.early_stopping) == (False, False, True)


# --- one-line errors instead of tracebacks ----------------------------------------


def test_non_utf8_params_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(b"visualize: {rows: 4, cmap: gr\xe9y}\n")
    with pytest.raises(ParamsError, match=r"params\.yaml: not UTF-8 text \(byte 0xe9 at offset"):
        load_section(path, "visualize", VisualizeParams)


def test_utf8_comment_reads_under_the_c_locale(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("# Réglages: 4×4\nvisualize: {rows: 4}\n", encoding="utf-8")
    env = os.environ | {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8"}
    probe = (
        "import sys; from mnist_mlp.io.params import read_yaml; "
        "print(read_yaml(sys.argv[1])['visualize'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(path)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'rows': 4}"


@pytest.mark.parametrize("name", ["a\0.gz", "..", ".", ""])
def test_file_names_a_file_system_refuses(name: str) -> None:
    values = project_params()["fetch"] | {"files": [{"name": name, "sha256": "0" * 64}]}
    with pytest.raises(
        ParamsError, match=r"^params\.yaml: fetch\.files\[0\]\.name: expected a plain"
    ):
        parse_section(FetchParams, values, "params.yaml", "fetch")


def wrong_model(n_features: int, classes: int) -> MLPClassifier:
    rng = np.random.default_rng(0)
    X = rng.random((40, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, np.arange(40) % classes)


def test_model_of_the_wrong_shape_or_classes_is_refused() -> None:
    y = np.arange(20) % 10
    check_model(wrong_model(784, 10), 784, y, "mlp.skops")
    with pytest.raises(ModelFileError, match="mlp.skops: the model takes 64 features, the data"):
        check_model(wrong_model(64, 10), 784, y, "mlp.skops")
    with pytest.raises(ModelFileError, match=r"mlp\.skops: the model's classes are \['0', '1'\]"):
        check_model(wrong_model(784, 2), 784, y, "mlp.skops")
    with pytest.raises(ModelFileError, match="never fitted"):
        check_model(MLPClassifier(), 784, y, "mlp.skops")


EVALUATE_PATHS = (
    "--accuracy",
    "reports/accuracy.csv",
    "--snapshots",
    "models/first_layer_per_epoch.npy",
    "--metrics",
    "reports/metrics.json",
    "--per-class",
    "reports/per_class.csv",
    "--confusion",
    "reports/confusion.csv",
)


def test_evaluate_run_by_hand_on_a_model_of_the_wrong_shape(tmp_path: Path) -> None:
    prepared_data(tmp_path / "data/prepared")
    (tmp_path / "models").mkdir()
    (tmp_path / "models/mlp.skops").write_bytes(model_bytes(wrong_model(64, 10)))
    write_params(tmp_path / "params.yaml", project_params())
    result = run_script(
        "evaluate.py",
        "--data",
        "data/prepared",
        "--model",
        "models/mlp.skops",
        *EVALUATE_PATHS,
        cwd=tmp_path,
    )
    assert_one_line_error(result, "models/mlp.skops: the model takes 64 features")
    assert not (tmp_path / "reports").exists()


def test_evaluate_run_by_hand_without_its_inputs(tmp_path: Path) -> None:
    write_params(tmp_path / "params.yaml", project_params())
    result = run_script(
        "evaluate.py",
        "--data",
        "data/prepared",
        "--model",
        "models/mlp.skops",
        *EVALUATE_PATHS,
        cwd=tmp_path,
    )
    assert_one_line_error(result, "data/prepared/y_train.npy: No such file or directory")


# train reads X_test.npy again for each epoch's score; here the file is replaced, with
# more rows than y_test, as train starts the second epoch's scoring.
REPLACED_MID_FIT = """
import runpy, sys
from mnist_mlp.io import files
passes = []
every_pass = files.NpyRows.__iter__
def iterate(self):
    passes.append(self)
    if len(passes) == 2:
        import numpy as np
        files.save_array(self.path, np.zeros((50, 784), np.uint8))
    return every_pass(self)
files.NpyRows.__iter__ = iterate
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_test_set_replaced_mid_fit_is_named_in_one_line(tmp_path: Path) -> None:
    prepared_data(tmp_path / "data/prepared")
    params = project_params()
    params["train"]["max_iter"] = 3
    write_params(tmp_path / "params.yaml", params)
    script = str(PROJECT_ROOT / "stages/train.py")
    command = [sys.executable, "-c", REPLACED_MID_FIT, script, "--data", "data/prepared"]
    result = subprocess.run(
        [*command, *TRAIN_OUTPUTS], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert_one_line_error(result, "data/prepared/X_test.npy: changed while this stage ran")
    assert "epoch 1: loss" in result.stderr and "epoch 2: loss" not in result.stderr
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device", "reports/.metrics.json.x.tmp"),
        OSError(errno.EROFS, "Read-only file system", "reports"),
        PermissionError(errno.EACCES, "Permission denied", "models/mlp.skops"),
    ],
)
def test_output_file_system_errors_end_in_one_line(error: OSError, caplog) -> None:
    def main(argv: object) -> None:
        raise error

    with pytest.raises(SystemExit) as caught:
        run_stage(main, [])
    assert caught.value.code == 1
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == f"{error.filename}: {error.strerror}"


@pytest.mark.pipeline
def test_report_with_an_unknown_visualize_key(reproduced: DvcProject) -> None:
    tiny_project = reproduced
    params = yaml.safe_load((tiny_project.root / "params.yaml").read_text())
    params["visualize"]["colour"] = "red"
    tiny_project.write_params(params)
    result = tiny_project.run(
        sys.executable, "-m", "mnist_mlp.tools.report", "--baseline", "main", check=False
    )
    assert_one_line_error(result, "params.yaml@workspace: visualize.colour: unknown param")
    assert not (tiny_project.root / "reports/report.md").exists()


# --- mirrors are http(s) URLs; permanent local errors are not retried -------------


@pytest.mark.parametrize(
    "mirror", ["file:///etc/", "ftp://example.org/mnist/", "/srv/mnist", "http://", "mnist.org/"]
)
def test_mirrors_must_be_http_urls(mirror: str) -> None:
    values = project_params()["fetch"] | {"mirrors": [mirror]}
    with pytest.raises(
        ParamsError, match=r"^params\.yaml: fetch\.mirrors: expected a list of http"
    ):
        parse_section(FetchParams, values, "params.yaml", "fetch")


def test_data_mirror_that_is_a_file_is_not_retried(tmp_path: Path, caplog) -> None:
    not_a_directory = tmp_path / "mnist.tar"
    not_a_directory.write_bytes(b"a file, not a directory")
    (tmp_path / "out").mkdir()
    with pytest.raises(FetchError, match="Not a directory"):
        fetch([str(not_a_directory)], tmp_path / "out")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


# --- report.md shows what it did not write as text ---------------------------------

HOSTILE = {
    "visualize.cmap": "gray | injected | cells",
    "train.solver": "<img src=x onerror=alert(1)><script>alert(2)</script>",
    "train.activation": "`code` and ``more``",
    "train.alpha": "[click me](https://evil.example/) ![pixel](https://evil.example/p.png)",
    "visualize.neurons": "two\nlines\r\n| fake | row |",
    "train.momentum": "@octocat #123 owner/repo#4 GH-5 https://evil.example www.evil.example",
    "train.@team #6 <b>": "**bold** :+1: ~~struck~~ \\[escaped\\]",
}
# What GitHub would turn into markup, a mention, an issue reference or a link in text.
LIVE_IN_TEXT = re.compile(r"@\w|#\d|GH-\d|https?:|www\.|[<>*_~\\\[\]`]|:\+1:")


def small_run(name: str) -> Run:
    curves = pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.3]})
    accuracy = pd.DataFrame(
        {"epoch": [1, 2], "train_accuracy": [0.8, 0.9], "test_accuracy": [0.7, 0.8]}
    )
    return Run(name, {"visualize": {"rows": 1, "cols": 2}}, np.ones((784, 2)), curves, accuracy)


def test_markdown_report_shows_params_metrics_and_names_as_text() -> None:
    """Every string from params, metrics and the baseline's name is a code span, which
    GitHub shows as typed; the text around them is ours."""
    params_diff = {"params.yaml": {k: {"old": "x", "new": v} for k, v in HOSTILE.items()}}
    metrics_diff = {"reports/metrics.json": {"@admin #7": {"old": 0.9, "new": 0.91}}}
    baseline = "evil`<b>|[x](https://evil.example/) @octocat #8"
    made = build_report(
        baseline,
        params_diff,
        metrics_diff,
        small_run("baseline"),
        small_run("workspace"),
        {"actual": ["0"], "predicted": ["0"]},
    )
    text = render_markdown(made, "report_files")
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text)
    inline = [child for token in tokens for child in (token.children or [])]
    # Our two figures are the only images, and nothing is a link.
    assert [c.attrs["src"] for c in inline if c.type == "image"] == [
        "report_files/weights_and_curves.png",
        "report_files/confusion_matrix.png",
    ]
    assert [c.attrs["href"] for c in inline if c.type == "link_open"] == []
    assert not [c for c in inline if c.type in ("html_inline", "s_open")]
    assert not [t for t in tokens if t.type == "html_block"]
    live = [c.content for c in inline if c.type == "text" and LIVE_IN_TEXT.search(c.content)]
    assert live == []
    # Every table row has as many cells as its header, and each string reads back as typed.
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 4 * 1 + 3 * len(HOSTILE)
    code = [c.content for c in inline if c.type == "code_inline"]
    for value in [*HOSTILE, *HOSTILE.values(), "@admin #7", baseline]:
        assert " ".join(value.split()) in code


# --- the pipeline's own faults: outputs, models, records, params ----------------------


def files_under(*directories: Path) -> list[Path]:
    return [p for d in directories if d.exists() for p in d.rglob("*") if not p.is_dir()]


@pytest.mark.parametrize(
    ("max_iter", "file_bytes", "failing"),
    [(2, 65_536, "models/mlp.skops"), (6, 1_400_000, "models/first_layer_per_epoch.npy")],
    ids=["first-output", "last-output"],
)
def test_train_on_a_full_file_system_puts_no_output_in_place(
    tmp_path: Path, max_iter: int, file_bytes: int, failing: str
) -> None:
    """The model (about 0.9 MB) does not fit under 64 kB; under 1.4 MB the model, both CSVs
    and the first layer do, not the per-epoch snapshots (1.9 MB for 6 epochs). Either way
    the one line names the file and none of the five outputs is written."""
    prepared_data(tmp_path / "data/prepared")
    params = project_params()
    params["train"]["max_iter"] = max_iter
    write_params(tmp_path / "params.yaml", params)
    result = run_stage_limited(
        "train.py", "--data", "data/prepared", *TRAIN_OUTPUTS, cwd=tmp_path, file_bytes=file_bytes
    )
    assert_one_line_error(result, f"{failing}: File too large")
    assert files_under(tmp_path / "models", tmp_path / "reports") == []


def visualize_inputs(directory: Path, epochs: int = 3, hidden: int = 50) -> list[str]:
    """What train writes for visualize, made up; the stage's arguments, figures included."""
    snapshots = np.random.default_rng(0).normal(scale=0.1, size=(epochs, 784, hidden))
    save_array(directory / "models/first_layer.npy", snapshots[-1])
    save_array(directory / "models/first_layer_per_epoch.npy", snapshots)
    numbers = range(1, epochs + 1)
    write_csv(directory / "reports/loss.csv", ["epoch", "loss"], [(e, 1 / e) for e in numbers])
    write_csv(
        directory / "reports/accuracy.csv",
        ["epoch", "train_accuracy", "test_accuracy"],
        [(e, 0.5 + e / 10, 0.4 + e / 10) for e in numbers],
    )
    write_params(directory / "params.yaml", project_params())
    return [
        "--first-layer=models/first_layer.npy",
        "--loss=reports/loss.csv",
        "--accuracy=reports/accuracy.csv",
        "--snapshots=models/first_layer_per_epoch.npy",
        "--weights-figure=reports/figures/weights.png",
        "--weights-animation=reports/figures/weights.gif",
        "--curves-figure=reports/figures/curves.png",
    ]


def test_visualize_with_room_for_its_first_figure_only_puts_none_in_place(tmp_path: Path) -> None:
    """weights.png (about 50 kB) fits under a 120 kB limit, the animation (about 190 kB)
    does not: weights.png is not left beside a missing animation."""
    args = visualize_inputs(tmp_path)
    result = run_stage_limited("visualize.py", *args, cwd=tmp_path, file_bytes=120_000)
    assert_one_line_error(result, "reports/figures/weights.gif: File too large")
    assert files_under(tmp_path / "reports/figures") == []


def test_an_output_path_holding_a_device_node_is_refused(tmp_path: Path) -> None:
    """Run as root, an output pointed at a device node replaced the node with a PNG."""
    args = visualize_inputs(tmp_path)
    node = tmp_path / "reports/figures/curves.png"
    node.parent.mkdir(parents=True)
    try:  # /dev/null's numbers, made here: no real device is touched
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    result = run_script("visualize.py", *args, cwd=tmp_path)
    assert_one_line_error(
        result, "reports/figures/curves.png: is a character device, not a regular file"
    )
    assert stat.S_ISCHR(node.lstat().st_mode) and node.lstat().st_rdev == os.makedev(1, 3)
    # The two figures before it are not put in place either.
    assert list(node.parent.iterdir()) == [node]


@pytest.mark.parametrize(
    ("file", "content", "fragment"),
    [
        ("loss.csv", "epoch,loss\n1,0.5\n2,0.4x\n3,0.3\n", "reports/loss.csv: line 3: 'loss'"),
        ("loss.csv", "<<<<<<< HEAD\n", "reports/loss.csv: expected the columns epoch, loss"),
        ("accuracy.csv", "epoch,train_accuracy\n1,0.5\n", "reports/accuracy.csv: expected"),
    ],
    ids=["not-a-number", "conflict-marker", "missing-column"],
)
def test_visualize_on_a_hand_edited_record(
    tmp_path: Path, file: str, content: str, fragment: str
) -> None:
    args = visualize_inputs(tmp_path)
    (tmp_path / "reports" / file).write_text(content)
    assert_one_line_error(run_script("visualize.py", *args, cwd=tmp_path), fragment)
    assert not (tmp_path / "reports/figures").exists()


def test_visualize_neurons_the_layer_does_not_have(tmp_path: Path) -> None:
    """The figure would be blank, and the stage would succeed."""
    args = visualize_inputs(tmp_path, hidden=50)
    params = project_params()
    params["visualize"]["neurons"] = [100_000]
    write_params(tmp_path / "params.yaml", params)
    assert_one_line_error(
        run_script("visualize.py", *args, cwd=tmp_path),
        "params.yaml: visualize.neurons: neuron 100000 does not exist",
        "50 hidden units",
    )
    assert not (tmp_path / "reports/figures").exists()


def tampered(change) -> MLPClassifier:
    """A model fitted on data like the pipeline's, then edited as a hand edits its file."""
    model = wrong_model(784, 10)
    change(model)
    return model


TAMPERED = {
    "coefs_": lambda model: model.coefs_.__setitem__(1, model.coefs_[1][:, :7]),
    "n_layers_": lambda model: setattr(model, "n_layers_", 5),
    "out_activation_": lambda model: setattr(model, "out_activation_", "softplus"),
}


@pytest.mark.parametrize("attribute", TAMPERED)
def test_evaluate_run_by_hand_on_a_model_with_tampered_attributes(
    tmp_path: Path, attribute: str
) -> None:
    prepared_data(tmp_path / "data/prepared")
    (tmp_path / "models").mkdir()
    (tmp_path / "models/mlp.skops").write_bytes(model_bytes(tampered(TAMPERED[attribute])))
    write_params(tmp_path / "params.yaml", project_params())
    result = run_script(
        "evaluate.py",
        "--data=data/prepared",
        "--model=models/mlp.skops",
        *EVALUATE_PATHS,
        cwd=tmp_path,
    )
    assert_one_line_error(result, f"models/mlp.skops: {attribute}")
    assert not (tmp_path / "reports").exists()


def test_train_run_by_hand_with_early_stopping_on_too_few_samples(tmp_path: Path) -> None:
    """A validation_fraction of 0.1 holds out 1 of 10 samples; scikit-learn needs 2."""
    prepared_data(tmp_path / "data/prepared", n_train=10)
    params = project_params()
    params["train"].update(early_stopping=True, validation_fraction=0.1)
    write_params(tmp_path / "params.yaml", params)
    result = run_script("train.py", "--data", "data/prepared", *TRAIN_OUTPUTS, cwd=tmp_path)
    assert_one_line_error(
        result,
        "train.early_stopping = true with train.validation_fraction = 0.1 of 10 training",
        "validates on 1",
    )
    assert "epoch 1" not in result.stderr
    assert not (tmp_path / "models").exists()
