"""Test helpers: tiny generated MNIST-format files and the project in a temporary DVC repo."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import psutil
import pytest
import yaml
from filelock import FileLock
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from sklearn.neural_network import MLPClassifier

from mnist_mlp.io import pipeline
from mnist_mlp.io.fetch import decompressed_sha256
from mnist_mlp.io.idx import encode_idx
from mnist_mlp.kernels import KernelPin, cpu_flags, plan_pin
from mnist_mlp.tools import experiments
from mnist_mlp.tools.explore import Artifacts
from mnist_mlp.tools.runs import Run

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    "dvc.yaml",
    "params.yaml",
    "stages",
    "src",
    "templates",
    ".dvcignore",
    ".gitignore",
)
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
TINY_TRAIN, TINY_TEST = 300, 100
DVC_STAGES = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
STAGES = tuple(DVC_STAGES)


def this_machine_pin() -> KernelPin:
    """What the stages pin on this machine, in this environment."""
    return plan_pin(os.environ, platform.machine(), cpu_flags())


# Names Debian and other distributions give the Chromium binary, and Google's build (on
# GitHub's Ubuntu runners).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def under_ci() -> bool:
    """Whether the suite runs under CI (``CI=true``, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip the test with ``reason``; under CI fail instead, since CI must run it."""
    if under_ci():
        pytest.fail(f"{reason}; CI (CI=true) must run this test")
    pytest.skip(reason)


def readme_recipe() -> list[str]:
    """The README's one-line ``dvc exp run`` for the example's current version, as words."""
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / "README.md").read_text().splitlines()
        if line.strip().startswith("dvc exp run") and "train.max_iter=8" in line
    ]
    assert len(lines) == 1, f"expected one recipe line in README.md, found {lines}"
    return shlex.split(lines[0], comments=True)


def full_mnist_mirror() -> str:
    """``DATA_MIRROR``, resolved for a project in another directory; skip (or fail under CI)
    when it is not set, since the full MNIST would otherwise come from the internet."""
    mirror = os.environ.get("DATA_MIRROR")
    if not mirror:
        skip_unless_ci(
            "DATA_MIRROR is not set: the full MNIST would have to come from the internet"
        )
    if mirror.startswith(("http://", "https://")):
        return mirror
    return str(Path(mirror).resolve())


# Chromium with no network at all: every host resolves to nothing, any request goes to a
# dead proxy, and nothing runs in the background.
CHROMIUM_OFFLINE_FLAGS = (
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def find_chromium() -> str | None:
    """The path of a Chromium binary on PATH, or None."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def find_chromedriver() -> str | None:
    """The path of ``chromedriver`` on PATH (Debian's chromium-driver), or None."""
    return shutil.which("chromedriver")


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a gzip IDX file with a fixed mtime (stable bytes)."""
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream:
        stream.write(encode_idx(array))
    return path


def tiny_digits(
    n: int, seed: int, side: int = 28, classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: each class lights up its own block of pixels, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % classes
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, side, side), dtype=np.uint8)
    for index, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        top, left = (4 + 10 * row) * side // 28, (1 + 5 * col) * side // 28
        images[index, top : top + 8 * side // 28, left : left + 4 * side // 28] = 255
    return images, labels


def tiny_mnist_files(directory: Path) -> Path:
    """Write the four MNIST file names with tiny generated content into ``directory``."""
    directory.mkdir(parents=True)
    train_images, train_labels = tiny_digits(TINY_TRAIN, seed=0)
    test_images, test_labels = tiny_digits(TINY_TEST, seed=1)
    write_idx_gz(directory / MNIST_NAMES["train_images"], train_images)
    write_idx_gz(directory / MNIST_NAMES["train_labels"], train_labels)
    write_idx_gz(directory / MNIST_NAMES["test_images"], test_images)
    write_idx_gz(directory / MNIST_NAMES["test_labels"], test_labels)
    return directory


def tiny_params(mirror: Path) -> dict:
    """The project's params.yaml, shrunk for the tiny data: its checksums, sizes and epochs."""
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    params["fetch"]["mirrors"] = []
    params["fetch"]["retry_delay"] = 0
    for item in params["fetch"]["files"]:
        item["sha256"] = decompressed_sha256(mirror / item["name"])
    params["split"].update(train_size=TINY_TRAIN, test_size=TINY_TEST)
    params["train"].update(max_iter=3)
    return params


class DvcProject:
    """The project copied into a fresh git + DVC repository, with helpers to run commands."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


def make_dvc_project(root: Path, mirror: Path | str) -> DvcProject:
    """Copy the project into ``root`` as a new git + DVC repo fetching from ``mirror``."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    env = {
        **os.environ,
        # The stage commands run `python`: make it this interpreter's environment.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATA_MIRROR": str(mirror),
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    project = DvcProject(root, env)
    project.git("init", "-q", "-b", "main")
    project.dvc("init", "-q")
    shutil.copy2(PROJECT_ROOT / ".dvc/config", root / ".dvc/config")
    return project


def make_tiny_project(root: Path, mirror: Path, **train: Any) -> DvcProject:
    """:func:`make_dvc_project` with params shrunk for the tiny data at ``mirror``
    (:func:`tiny_params`), ``train`` params changed, committed."""
    project = make_dvc_project(root, mirror)
    params = tiny_params(mirror)
    params["train"].update(train)
    project.write_params(params)
    project.commit("tiny project")
    return project


def built_once(
    factory: pytest.TempPathFactory, worker_id: str, name: str, build: Callable[[Path], DvcProject]
) -> DvcProject:
    """``build(directory)``, run by one test process of the session and shared by all of
    them (pytest-xdist workers wait for it): for projects tests only read or copy."""
    if worker_id == "master":  # not distributed
        return build(factory.mktemp(name))
    shared = factory.getbasetemp().parent / name  # the session's, above each worker's
    with FileLock(f"{shared}.lock"):
        if not (shared / "built.json").exists():
            shutil.rmtree(shared, ignore_errors=True)
            project = build(shared)
            (shared / "built.json").write_text(json.dumps([str(project.root), project.env]))
    root, env = json.loads((shared / "built.json").read_text())
    return DvcProject(Path(root), env)


def copy_project(project: DvcProject, root: Path) -> DvcProject:
    """A copy of ``project`` at ``root`` (git repository, DVC cache and workspace), to change
    without touching the original."""
    shutil.copytree(project.root, root, symlinks=True)
    return DvcProject(root, dict(project.env))


def run_script(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``stages/<script>`` by hand, as a user would, in ``cwd``."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "stages" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The run failed with exit 1 and one ERROR line holding ``fragments``, no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def declared_outputs(stage: str | None = None) -> list[str]:
    """Every output path the project's dvc.yaml declares (outs, metrics, plots), of one
    stage or all."""
    return pipeline.declared_outputs(stage, PROJECT_ROOT / "dvc.yaml")


def output_files(root: Path) -> list[str]:
    """The files of every declared output under ``root``, directories expanded."""
    files = []
    for output in declared_outputs():
        path = root / output
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        files += [str(p.relative_to(root)) for p in found]
    return files


def ran_stages(output: str) -> list[str]:
    """The stages a ``dvc repro`` or ``dvc exp run`` ran, from its output."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def lock_outs(project: DvcProject) -> dict[str, str]:
    """``{path: md5}`` of every stage output recorded in ``dvc.lock``."""
    lock = yaml.safe_load((project.root / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage["outs"]}


def run_cache_entries(project: DvcProject) -> list[Path]:
    """The files of DVC's run-cache (``.dvc/cache/runs``): one per recorded run of a stage."""
    return sorted(path for path in (project.root / ".dvc/cache/runs").rglob("*") if path.is_file())


def assert_not_recorded(project: DvcProject, stage: str, run_cache: list[Path]) -> None:
    """DVC recorded nothing for ``stage``: no entry in ``dvc.lock``, the run-cache still
    ``run_cache``, none of its outputs on disk, and ``dvc status`` lists it."""
    assert stage not in yaml.safe_load((project.root / "dvc.lock").read_text())["stages"]
    assert run_cache_entries(project) == run_cache
    assert [out for out in declared_outputs(stage) if (project.root / out).exists()] == []
    assert stage in json.loads(project.dvc("status", "--json").stdout)


def exp_show(project: DvcProject) -> dict[str, dict]:
    """``{experiment name: data}`` for every experiment of the current commit."""
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    return {
        rev["name"]: rev["data"]
        for baseline in shown
        for experiment in baseline.get("experiments") or []
        for rev in experiment["revs"]
    }


def small_model(solver: str = "sgd", random_state: int = 1) -> tuple[MLPClassifier, np.ndarray]:
    """A small MLP fitted on 100 tiny digits, and its features."""
    images, labels = tiny_digits(100, seed=0)
    X = images.reshape(100, -1) / 255.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((8,), max_iter=3, solver=solver, random_state=random_state)
        return model.fit(X, labels), X


def fake_run(name: str, hidden: list[int], rate: float) -> Run:
    """A run as :func:`mnist_mlp.tools.runs.load_run` reads it, made up."""
    params = {
        "fetch": {"timeout": 30},
        "train": {"hidden_layer_sizes": hidden, "learning_rate_init": rate, "alpha": 0.0001},
        "visualize": {"rows": 2, "cols": 2, "neurons": None, "scale": 0.5, "cmap": "gray"},
    }
    curves = pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.3]})
    accuracy = pd.DataFrame(
        {"epoch": [1, 2], "train_accuracy": [0.8, 0.9], "test_accuracy": [0.7, 0.8]}
    )
    first_layer = np.random.default_rng(0).normal(size=(784, hidden[0]))
    return Run(name, params, first_layer, curves, accuracy)


def legends_over_axes(figure: Figure) -> list[str]:
    """The titles of the charts that a legend of ``figure`` covers part of, once drawn."""
    FigureCanvasAgg(figure).draw()
    legends = [legend.get_window_extent() for legend in figure.findobj(Legend)]
    return [
        ax.get_title() or "untitled"
        for ax in figure.findobj(Axes)
        if any(legend.overlaps(ax.get_window_extent()) for legend in legends)
    ]


class Running:
    """A command started in the background whose output (stdout and stderr) is read as it comes.

    Waits are events with a bound: a line that matches, the process that appears, the exit.
    """

    def __init__(self, project: DvcProject, *command: str, start_new_session: bool = False) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=project.root,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=start_new_session,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, pattern: str, timeout: float = 120) -> str:
        """The first line of output matching ``pattern``; fails if the output ends first."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} in {timeout} s:\n{self.output}")
            if line is None:
                pytest.fail(f"exited before a line matching {pattern!r}:\n{self.output}")
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    def child(self, script: str, timeout: float = 60) -> psutil.Process:
        """The descendant process running ``script`` (e.g. a stage DVC started).

        The script must be an argument of its own: DVC starts each stage as ``$SHELL -c
        "<cmd>"``, and a shell that does not exec its command (dash, CI's ``/bin/sh``) stays
        as the parent, with the whole command line as one argument.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if script in process.cmdline():
                        return process
            time.sleep(0.05)
        pytest.fail(f"no process running {script} within {timeout} s")

    def finish(self, timeout: float = 300) -> int:
        """Wait for the exit; the return code (all output is then in :attr:`output`)."""
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


def stop_training(project: DvcProject, signum: signal.Signals) -> str:
    """Run ``dvc repro`` in ``project``, send ``signum`` to its train stage once epoch 1 is
    logged (in the middle of fitting) and return DVC's output; the repro must fail."""
    repro = Running(project, sys.executable, "-m", "dvc", "repro")
    repro.wait_for_line(r"epoch 1: loss")
    repro.child("stages/train.py").send_signal(signum)
    assert repro.finish() != 0, repro.output
    return repro.output


@contextlib.contextmanager
def serving(httpd: ThreadingHTTPServer) -> Iterator[None]:
    """Serve ``httpd`` (bound to 127.0.0.1) on a thread for the block, then stop it."""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def generated_snapshots(rng: np.random.Generator, n_epochs: int, n_hidden: int) -> np.ndarray:
    """First-layer weights after each epoch, shape (n_epochs, 784, n_hidden), made up to
    pack in the explore page about as small as a real run's (the committed params on the
    full MNIST): Glorot-uniform noise that stays where MNIST's border pixels are blank,
    smooth strokes learned in the middle (most in the first epochs), and each epoch's SGD
    jitter there."""
    bound = np.sqrt(6 / (784 + n_hidden))
    init = rng.uniform(-bound, bound, (784, n_hidden))
    y, x = np.mgrid[:28, :28] / 28
    middle = ((y - 0.5) ** 2 + (x - 0.5) ** 2 <= 0.16).ravel()[:, None]
    strokes = np.zeros_like(init)
    for unit in range(n_hidden):
        for cy, cx, width, weight in rng.uniform(
            [0.25, 0.25, 0.04, -0.6], [0.75, 0.75, 0.1, 0.6], (4, 4)
        ):
            strokes[:, unit] += (
                weight * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width**2)).ravel()
            )
    progress = (np.arange(1, n_epochs + 1) / n_epochs) ** 0.3
    jitter = rng.normal(0, 0.02, (n_epochs, 784, n_hidden))
    return init + middle * (progress[:, None, None] * strokes + jitter)


def generated_runs(n: int, seed: int = 0) -> tuple[list[experiments.Run], Iterator[Artifacts]]:
    """``n`` runs of one commit as the explore page reads them, made up with real sizes:
    the committed params (learning rate and alpha varied), ten epochs, 50 hidden units,
    10,000 test images. The first is the commit itself; the artifacts come one at a time."""
    rng = np.random.default_rng(seed)
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    commit = "0" * 40
    runs = []
    for index in range(n):
        run_params = {**params, "train": dict(params["train"])}
        if index:
            run_params["train"]["learning_rate_init"] = float(rng.choice([0.01, 0.05, 0.1, 0.2]))
            run_params["train"]["alpha"] = float(rng.choice([1e-5, 1e-4, 1e-3, 1e-2]))
        scores = rng.uniform(0.9, 1.0, 2).round(4)
        metrics = {"test_score": scores.min(), "train_score": scores.max()}
        rev = f"{rng.integers(16**10):010x}" * 4 if index else commit
        runs.append(
            experiments.Run(
                [f"exp-{index}" if index else "main"],
                rev,
                commit,
                index > 0,
                run_params,
                metrics,
                {},
            )
        )

    def artifacts() -> Iterator[Artifacts]:
        epochs = np.arange(1, 11)
        for _ in runs:
            actual = rng.integers(0, 10, 10_000)
            predicted = np.where(rng.random(10_000) < 0.97, actual, rng.integers(0, 10, 10_000))
            loss = 0.3 * epochs ** -rng.uniform(0.5, 1.0)
            yield Artifacts(
                loss=pd.DataFrame({"epoch": epochs, "loss": loss}),
                accuracy=pd.DataFrame(
                    {"epoch": epochs, "train_accuracy": 1 - loss / 5, "test_accuracy": 1 - loss / 4}
                ),
                per_class=pd.DataFrame(
                    {
                        "class": range(10),
                        "precision": rng.uniform(0.9, 1, 10),
                        "recall": rng.uniform(0.9, 1, 10),
                    }
                ),
                confusion=pd.DataFrame({"actual": actual, "predicted": predicted}),
                snapshots=generated_snapshots(rng, 10, 50),
            )

    return runs, artifacts()
