"""The measurements behind ``make bench`` (:mod:`benchmarks.bench`): each returns raw values.

Every command runs as a child process, timed by the wall clock and measured for peak
resident memory; Linux starts a child's peak memory at its parent's, so this process never
holds data itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from mnist_mlp.io.fetch import decompressed_sha256
from mnist_mlp.kernels import BLAS_THREADS, cpu_flags, plan_pin

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
STAGES = ("fetch", "preprocess", "train", "evaluate", "visualize")


def run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command``; return its wall seconds and peak resident memory in MiB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def samples(
    repeats: int, measure: Callable[[], float], prepare: Callable[[], object]
) -> list[float]:
    taken = []
    for _ in range(repeats):
        prepare()
        taken.append(measure())
    return taken


def median(repeats: int, measure: Callable[[], float], prepare: Callable[[], object]) -> float:
    return statistics.median(samples(repeats, measure, prepare))


def run_pair(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Run two copies of ``command`` (its last argument suffixed 1 and 2) at once; return
    the wall seconds until both have finished."""
    start = time.perf_counter()
    *head, last = command
    processes = [
        subprocess.Popen([*head, f"{copy}-{last}"], cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        for copy in (1, 2)
    ]
    if [process.wait() for process in processes] != [0, 0]:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}")
    return time.perf_counter() - start


def script_command(data: Path, options: Sequence[str]) -> list[str]:
    """The plain script (:mod:`benchmarks.reference`) on ``data``, run in the work directory."""
    script = [sys.executable, str(ROOT / "benchmarks/reference.py"), str(data), *options]
    return [*script, "ref.png"]  # the figure's file: run_pair suffixes it for each copy


def measure_script(
    script: Sequence[str], work: Path, env: dict[str, str], repeats: int, pairs: bool
) -> dict[str, float]:
    """(a): the plain ``script`` as a user runs it, and as the stages compute (BLAS on one
    thread, the CPU kernels pinned), alternating so that both meet the same machine; with
    ``pairs``, also two pinned copies at once, as two sweep workers run on two cores."""
    pin = plan_pin(env, platform.machine(), cpu_flags()).set_variables
    threads = {name: str(BLAS_THREADS) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    plain, pinned, two = [], [], []
    for _ in range(repeats):
        plain.append(run(script, work, env))
        pinned.append(run(script, work, env | pin | threads))
        if pairs:
            two.append(run_pair(script, work, env | pin | threads))
    values = {
        "(a)": statistics.median(seconds for seconds, _ in plain),
        "(a) pinned": statistics.median(seconds for seconds, _ in pinned),
        "(a) pinned least": min(seconds for seconds, _ in pinned),
        "(a) memory": max(mib for _, mib in plain),
    }
    if pairs:
        values["(a) pinned pair"] = statistics.median(two)
        values["(a) pinned pair least"] = min(two)
    return values


def new_repo(root: Path, files: dict[str, str], env: dict[str, str]) -> None:
    """A git + DVC repository at ``root`` holding ``files`` (path: text) and what is there."""
    run(["git", "init", "-q", "-b", "main"], root, env)
    if not (root / ".dvc").exists():
        run(["dvc", "init", "-q"], root, env)
    for name, text in files.items():
        (root / name).write_text(text)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-q", "-m", "bench"], root, env)


def project_params(data: Path, args: argparse.Namespace) -> str:
    """``params.yaml`` for ``data``: its checksums, its sizes, ``--max-iter`` epochs."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["fetch"]["mirrors"] = []
    for item in params["fetch"]["files"]:
        item["sha256"] = decompressed_sha256(data / item["name"])
    params["split"].update(train_size=args.train_size, test_size=args.test_size)
    params["train"].update(max_iter=args.max_iter)
    return yaml.safe_dump(params, sort_keys=False)


def back_to_the_commit(project: Path, env: dict[str, str]) -> None:
    """The workspace as committed, with no run-cache, so that the work is redone."""
    run(["git", "checkout", "-q", "--", "."], project, env)
    run(["dvc", "checkout", "-q"], project, env)
    shutil.rmtree(project / ".dvc/cache/runs", ignore_errors=True)


def lone_experiments(project: Path, env: dict[str, str], count: int) -> list[float]:
    """(d): ``count`` runs of ``dvc exp run -S train.learning_rate_init=0.2``, each from the
    committed workspace with no run-cache, so that each trains."""
    experiment = ("dvc", "exp", "run", "-S", "train.learning_rate_init=0.2")
    measure = lambda: run(experiment, project, env)[0]  # noqa: E731
    return samples(count, measure, lambda: back_to_the_commit(project, env))


def measure_dvc(project: Path, env: dict[str, str], repeats: int) -> dict[str, float]:
    """(b), (c), (d) and (g): DVC commands in ``project``, which is left reproduced and
    committed."""
    do = lambda *command: run(command, project, env)  # noqa: E731

    def from_scratch() -> None:  # DVC removes each output itself before its stage runs
        shutil.rmtree(project / ".dvc/cache", ignore_errors=True)
        (project / "dvc.lock").unlink(missing_ok=True)

    values = {"(b)": median(repeats, lambda: do("dvc", "repro")[0], from_scratch)}
    do("git", "commit", "-q", "-am", "reproduced")
    values["dvc status"] = median(repeats, lambda: do("dvc", "status")[0], lambda: None)
    values["(c)"] = median(repeats, lambda: do("dvc", "repro")[0], lambda: None)
    cache = project / ".dvc/cache/files/md5"
    before = {path: path.stat().st_size for path in cache.rglob("*") if path.is_file()}
    values["(d)"] = statistics.median(lone_experiments(project, env, repeats))
    after = {path: path.stat().st_size for path in cache.rglob("*") if path.is_file()}
    values["(g)"] = sum(after[path] for path in after.keys() - before.keys()) / 2**20
    back_to_the_commit(project, env)
    return values


def measure_sweep(
    project: Path,
    env: dict[str, str],
    repeats: int,
    grid: Sequence[str],
    script: Sequence[str],
    n_points: int,
) -> dict[str, float]:
    """(e): one sweep worker running ``repeats`` points unlike (d)'s in a row, between lone
    runs of (d); then ``grid`` (``-S`` overrides, ``n_points`` points) with 2 worker
    processes, between runs of the plain ``script``, one per point. Half of each yardstick
    runs before what it measures and half after (an odd one after: with one repeat, all of
    it): the machine's speed drifts over minutes (the plain script's two BLAS threads
    most), so both sides meet the same minutes."""
    sweep = (sys.executable, "-m", "mnist_mlp.tools.sweep", "run")
    before = lone_experiments(project, env, repeats // 2)
    back_to_the_commit(project, env)
    rates = ",".join(f"0.2{i + 1}" for i in range(repeats))
    worker = run([*sweep, "-S", f"train.learning_rate_init={rates}"], project, env)[0]
    after = lone_experiments(project, env, repeats - repeats // 2)
    back_to_the_commit(project, env)

    def plain(count: int) -> float:
        return sum(run(script, project.parent, env)[0] for _ in range(count))

    plain_before = plain(n_points // 2)
    grid_seconds = run([*sweep, "--jobs", "2", *grid], project, env)[0]
    back_to_the_commit(project, env)
    return {
        "(d) beside (e)": statistics.median(before + after),
        "(e) worker": worker / repeats,
        "(e)": grid_seconds,
        "(a) per point": plain_before + plain(n_points - n_points // 2),
    }


def measure_stages(project: Path, env: dict[str, str]) -> dict[str, float]:
    """(f): each stage's peak memory, run as ``dvc.yaml`` runs it; train also in float32."""
    commands = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    values = {stage: run(["sh", "-c", commands[stage]["cmd"]], project, env)[1] for stage in STAGES}
    params = yaml.safe_load((project / "params.yaml").read_text()) | {
        "features": {"dtype": "float32"}
    }
    (project.parent / "float32.yaml").write_text(yaml.safe_dump(params))
    float32_train = f"{commands['train']['cmd']} --params {project.parent / 'float32.yaml'}"
    values["train float32"] = run(["sh", "-c", float32_train], project, env)[1]
    return values


def measure_fits(project: Path, data: Path, repeats: int) -> dict[str, float]:
    """(h) and (j): the fit alone, with the CPU kernels pinned and with this CPU's own."""
    fits = {}
    for kernels in ("pinned", "native"):
        command = [sys.executable, "-m", "benchmarks.fit", "--kernels", kernels]
        command += ["--data", str(data), "--params", "params.yaml", "--repeats", str(repeats)]
        output = subprocess.run(command, cwd=project, capture_output=True, text=True, check=True)
        fits[kernels] = json.loads(output.stdout)
        log.info("%s CPU kernels: %s", kernels, fits[kernels]["kernels"])
    (fit64, accuracy64), (fit32, accuracy32) = fits["pinned"]["float64"], fits["pinned"]["float32"]
    return {
        "float64 fit": fit64,
        "float32 fit": fit32,
        "float32 points": 100 * (accuracy32 - accuracy64),
        "native fit": fits["native"]["float64"][0],
        "pinned fit": fit64,
        "native float32": fits["native"]["float32"][0],
        "pinned float32": fit32,
        "scoring": fits["pinned"]["float64 scoring"],
        "scoring least": fits["pinned"]["float64 scoring least"],
    }


def measure_floor(
    work: Path, data: Path, env: dict[str, str], repeats: int, split_bytes: int
) -> dict[str, float]:
    """(i): what any pipeline of these five DVC stages pays beyond the script's own work:
    DVC itself on five stages that compute nothing, the imports; and reading the .gz
    files, which an experiment does not redo.

    The first two stages write what fetch and preprocess must hand over, for DVC to hash
    and store on a cold run: a copy of the four .gz files and ``split_bytes`` (the split
    arrays' size) of zeros. The last three, which an experiment runs, write a line each.
    """
    chain = ("fetch", "preprocess", "train", "evaluate", "visualize")
    files = sorted(str(path) for path in data.glob("*.gz"))
    commands = {
        "fetch": f"mkdir -p fetch.out && cp {' '.join(map(shlex.quote, files))} fetch.out/",
        "preprocess": f"mkdir -p preprocess.out && head -c {split_bytes} /dev/zero"
        " > preprocess.out/arrays",
    }
    stages = {
        name: {"cmd": commands.get(name, f"echo {name} > {name}.out"), "outs": [f"{name}.out"]}
        | ({"deps": [f"{before}.out"]} if before else {})
        | ({"params": ["p"]} if name == "train" else {})
        for before, name in zip((None, *chain[:-1]), chain, strict=True)
    }
    no_op = work / "no-op"
    no_op.mkdir()
    new_repo(no_op, {"params.yaml": "p: 0\n", "dvc.yaml": yaml.safe_dump({"stages": stages})}, env)

    def from_scratch() -> None:
        shutil.rmtree(no_op / ".dvc/cache", ignore_errors=True)
        (no_op / "dvc.lock").unlink(missing_ok=True)

    cold = samples(repeats, lambda: run(["dvc", "repro"], no_op, env)[0], from_scratch)
    run(["git", "add", "-A"], no_op, env)
    run(["git", "commit", "-q", "-m", "reproduced"], no_op, env)
    values = iter(range(1, repeats + 1))
    experiment = lambda: run(["dvc", "exp", "run", "-S", f"p={next(values)}"], no_op, env)[0]  # noqa: E731
    # evaluate loads the model with scikit-learn; preprocess splits with train_test_split.
    imports = {"sklearn": "sklearn.neural_network", "split": "sklearn.model_selection"}
    costs = {
        library: min(
            run([sys.executable, "-c", f"import {module}"], work, env) for _ in range(repeats)
        )
        for library, module in imports.items()
    }
    read = "import gzip, sys, time; t = time.perf_counter(); "
    read += "[gzip.open(name).read() for name in sys.argv[1:]]; print(time.perf_counter() - t)"
    # The floors take this off the script's time. The median: one slow read in five (seen
    # at 1.87 s against 0.22 s) would otherwise stand for the script's own.
    gunzip = statistics.median(
        float(subprocess.run([sys.executable, "-c", read, *files], capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(repeats)
    )  # fmt: skip
    experiments = samples(repeats, experiment, lambda: None)
    return {
        "no-op repro": statistics.median(cold),
        "no-op repro least": min(cold),
        "no-op exp run": statistics.median(experiments),
        "no-op exp run least": min(experiments),
        "sklearn": costs["sklearn"][0],
        "sklearn memory": costs["sklearn"][1],
        "split import": costs["split"][0],
        "gunzip": gunzip,
    }
