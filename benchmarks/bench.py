"""Time the pipeline against the plain example script; print one Markdown table.

``python -m benchmarks.bench --data DIR`` (``make bench``; DIR holds the four MNIST ``.gz``
files) times each row in a fresh clone of the project's HEAD; ``--quick``, on tiny data."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAIN_SCRIPT = [sys.executable, str(ROOT / "benchmarks/reference.py")]
STAGES = ("fetch", "preprocess", "train", "evaluate", "visualize")
GRID = ("0.05", "0.1", "0.2", "0.3")  # the sweep's values of train.learning_rate_init
TINY_TRAIN, TINY_TEST, QUICK_EPOCHS = 200, 100, 2
PLAIN = "the plain script"


class Row(NamedTuple):
    """One line of the table: each run of what was measured and of what it is against."""

    what: str
    unit: str
    runs: tuple[float, ...]
    against: str = ""
    against_runs: tuple[float, ...] = ()

    @property
    def ratio(self) -> float | None:  # None: nothing against
        median = statistics.median
        return median(self.runs) / median(self.against_runs) if self.against_runs else None


def alternate(repeats: int, *sides: Callable[[], float]) -> list[tuple[float, ...]]:
    """Each side's results, taking turns each round: all meet a drifting machine's minutes."""
    return list(zip(*[[side() for side in sides] for _ in range(repeats)], strict=True))


class Bench:
    """The data, a scratch directory holding a clone of the project, the repeats."""

    def __init__(self, data: Path, work: Path, repeats: int, quick: bool) -> None:
        self.data, self.work, self.repeats, self.quick = data, work, repeats, quick
        self.project = work / "project"
        self.env = os.environ | {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(self.project / "src"),  # the clone's code, not this tree's
            "DATA_MIRROR": str(data), "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        }  # fmt: skip

    def run(self, command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
        """Run ``command`` in the clone: wall seconds, peak MiB; exit with its error if it fails."""
        with tempfile.TemporaryFile() as output:
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=self.project, env=env or self.env,
                                       stdout=output, stderr=output)  # fmt: skip
            _, status, usage = os.wait4(process.pid, 0)  # this child's peak memory, no other's
            wall = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode:
                output.seek(0)
                lines = output.read().decode(errors="replace").strip().splitlines() or [""]
                why = next((line for line in lines if line.startswith("ERROR")), lines[-1])
                raise SystemExit(f"bench: `{shlex.join(command)}` failed: {why}")
        return wall, usage.ru_maxrss / 1024

    def plain(self, *options: str) -> tuple[float, float]:
        """Run the plain script, ``benchmarks/reference.py``; with ``quick``, for 2 epochs."""
        epochs = ["--max-iter", str(QUICK_EPOCHS)] if self.quick else []
        return self.run([*PLAIN_SCRIPT, str(self.data), str(self.work), *epochs, *options])

    def reset(self) -> None:
        """The clone as committed, no experiments, no run-cache: the next run computes."""
        self.run(["git", "checkout", "--quiet", "--", "."])
        shutil.rmtree(self.project / ".dvc/cache/runs", ignore_errors=True)
        if not self.quick:  # quick runs each point once: no outputs or experiment of it to undo
            self.run(["dvc", "checkout", "--quiet", "--force"])
            self.run(["dvc", "exp", "remove", "--quiet", "--all-commits"])

    def stage(self, name: str, *options: str) -> tuple[float, float]:
        """Run stage ``name``'s command from dvc.yaml alone, ``options`` added."""
        command = yaml.safe_load((self.project / "dvc.yaml").read_text())["stages"][name]["cmd"]
        return self.run(["sh", "-c", f"{command} {shlex.join(options)}"])


def setup(bench: Bench) -> list[Row]:
    """``make venv`` with uv and with pip, each into a new directory from empty caches."""
    # As on most machines: no pip config or local wheels, no PYTHONDONTWRITEBYTECODE.
    env = {k: v for k, v in bench.env.items() if k != "PIP_FIND_LINKS"}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PYTHONDONTWRITEBYTECODE": ""}
    venv, caches = bench.work / "venv", bench.work / "caches"

    def build(installer: str) -> float:
        shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        env.update(PIP_CACHE_DIR=str(caches / "pip"), UV_CACHE_DIR=str(caches / "uv"))
        wall = bench.run(["make", "venv", f"VENV={venv}", f"INSTALLER={installer}"], env)[0]
        if installer == "uv" and not (venv / "bin/uv").exists():
            raise SystemExit("bench: uv could not be installed; `make venv` fell back to pip")
        return wall

    uv, pip = alternate(bench.repeats, lambda: build("uv"), lambda: build("pip"))
    return [Row("cold `make venv`, uv", "s", uv, "pip", pip)]


def reproduce(bench: Bench) -> list[Row]:
    """``make repro`` in fresh clones, then a no-op ``dvc repro`` in the last, committed."""
    # In this process's environment, not one of the clone's own: the set-up row times that.
    repro = ["make", "repro", f"VENV={sys.prefix}", "--assume-old", f"{sys.prefix}/.installed"]

    def pipeline() -> float:
        shutil.rmtree(bench.project, ignore_errors=True)
        bench.project.mkdir()
        bench.run(["git", "clone", "--quiet", str(ROOT), "."])
        if bench.quick:
            shutil.copy(bench.data / "params.yaml", bench.project)  # tiny_mnist's
            bench.run(["git", "commit", "--quiet", "-am", "Fit params.yaml to the tiny data"])
        return bench.run(repro)[0]

    runs, plain = alternate(bench.repeats, pipeline, lambda: bench.plain()[0])
    bench.run(["git", "commit", "--quiet", "--allow-empty", "-am", "Reproduce"])
    no_op = tuple(bench.run(["dvc", "repro"])[0] for _ in range(bench.repeats))
    cold = Row("cold `make repro`, fresh clone", "s", runs, PLAIN, plain)
    return [cold, Row("`dvc repro`, nothing changed", "s", no_op)]


def experiment(bench: Bench) -> list[Row]:
    def exp_run() -> float:
        bench.reset()
        return bench.run(["dvc", "exp", "run", "-S", "train.learning_rate_init=0.2"])[0]

    runs, plain = alternate(bench.repeats, exp_run, lambda: bench.plain()[0])
    return [Row("`dvc exp run -S train.learning_rate_init=0.2`", "s", runs, PLAIN, plain)]


def sweep(bench: Bench) -> list[Row]:
    """The sweep's points per minute against one process fitting the grid in a loop."""
    grid = GRID[:1] if bench.quick else GRID
    command = ["python", "-m", "mnist_mlp.tools.sweep", "run"]
    command += ["-S", f"train.learning_rate_init={','.join(grid)}"]

    def swept() -> float:
        bench.reset()
        return 60 * len(grid) / bench.run(command)[0]

    def loop() -> float:
        return 60 * len(grid) / bench.plain("--learning-rates", *grid)[0]

    runs, loops = alternate(bench.repeats, swept, loop)
    return [Row(f"sweep, {len(grid)}-point grid", "points/min", runs, "a loop", loops)]


def memory(bench: Bench) -> list[Row]:
    """Each stage's peak memory, its command run alone, against the plain script's."""
    sides = [lambda name=name: bench.stage(name)[1] for name in STAGES]
    plain, *stages = alternate(bench.repeats, lambda: bench.plain()[1], *sides)
    rows = zip(STAGES, stages, strict=True)
    return [Row(f"peak memory, {name}", "MiB", runs, PLAIN, plain) for name, runs in rows]


def dtype(bench: Bench) -> list[Row]:
    """The train stage with float32 features against float64, the default."""
    params = yaml.safe_load((bench.project / "params.yaml").read_text())
    float32 = bench.work / "float32.yaml"
    float32.write_text(yaml.safe_dump(params | {"features": {"dtype": "float32"}}))
    train = lambda *options: bench.stage("train", *options)[0]  # noqa: E731
    runs, float64 = alternate(bench.repeats, lambda: train("--params", str(float32)), train)
    return [Row("train stage, float32 features", "s", runs, "float64", float64)]


# In this order: the rows after reproduce work in the clone it reproduced, and those that
# leave its workspace unlike its dvc.lock come last; the set-up, which needs PyPI, last.
ROWS = (reproduce, experiment, sweep, memory, dtype, setup)


def measure(data: Path, work: Path, repeats: int = 3, quick: bool = False) -> list[Row]:
    """Every row, measured in ``work`` on ``data``; ``quick``: on :func:`tiny_mnist`'s."""
    bench = Bench(data.resolve(), work, repeats, quick)
    return [row for measure_row in (ROWS[:-1] if quick else ROWS) for row in measure_row(bench)]


def tiny_mnist(directory: Path) -> Path:
    """Write into ``directory`` the four MNIST files, random, and a params.yaml for them."""
    # Imported here: numpy would raise this process's memory, which its children start at.
    import numpy as np

    from mnist_mlp.io.idx import encode_idx

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["fetch"]["mirrors"] = []
    params["split"].update(train_size=TINY_TRAIN, test_size=TINY_TEST)
    params["train"]["max_iter"] = QUICK_EPOCHS
    rng = np.random.default_rng(0)
    for item in params["fetch"]["files"]:
        count = TINY_TRAIN if item["name"].startswith("train") else TINY_TEST
        shape = (count, 28, 28) if "images" in item["name"] else (count,)
        raw = encode_idx(rng.integers(0, 256 if len(shape) == 3 else 10, shape))
        item["sha256"] = hashlib.sha256(raw).hexdigest()
        (directory / item["name"]).write_bytes(gzip.compress(raw))
    (directory / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return directory


def markdown(rows: Sequence[Row]) -> str:
    """The table under a line giving the date, the CPU, its cores and the commit."""
    cpuinfo = Path("/proc/cpuinfo")  # Linux's; elsewhere the line names no CPU model
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":")[1].strip() for line in lines if "model name" in line), "")
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True)
    lines = [f"{time.strftime('%F')}, {cpu}, {os.cpu_count()} cores, commit {commit.strip()}", ""]
    lines += ["| measured | median | against | its median | ratio |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row.what, f"{statistics.median(row.runs):.3g} {row.unit}", "", "", ""]
        if row.ratio is not None:
            base = statistics.median(row.against_runs)
            cells[2:] = [row.against, f"{base:.3g} {row.unit}", f"{row.ratio:.2f}"]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, help="the directory of the four MNIST .gz files")
    data.add_argument("--quick", action="store_true", help="tiny data, once, no set-up row")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mnist-mlp-bench-") as tmp:
        mnist = tiny_mnist(Path(tmp)) if args.quick else args.data
        rows = measure(mnist, Path(tmp), repeats=1 if args.quick else 3, quick=args.quick)
    sys.stdout.write(markdown(rows) + "\n")


if __name__ == "__main__":
    main()
