"""Measure what the pipeline costs against the bare example, in one run on one machine.

``python -m benchmarks.bench --data DIR [--repeats 3]`` (or ``make bench``), run from the
project root, prints a
markdown table of medians and ratios:

(a) the example as one plain script (``benchmarks/reference.py``);
(b) ``dvc repro`` from an empty DVC cache, the data files already local (``DATA_MIRROR``);
(c) a no-op ``dvc repro`` against ``dvc status``;
(d) one ``dvc exp run -S train.learning_rate_init=0.2`` (train, evaluate, visualize rerun);
(e) a sweep of 8 experiments by the fastest local way (``mnist_mlp.sweep run --jobs 2``:
    two worker processes) against 8 runs of (a);
(f) peak resident memory of each stage and of (a);
(g) DVC cache growth per experiment;
(h) the fit with ``features.dtype: float32`` against float64 (in one process, fit only);
(i) what no pipeline of separate stages can avoid: scikit-learn's import in each process
    that needs it, the fit itself, and DVC's own cost measured on stages that do nothing;
    from them, lower bounds for (b), (d), (e) and the train stage's memory;
(j) the time per experiment of one sweep worker (``mnist_mlp.sweep run``, one process)
    against ``dvc exp run`` alone (d): the sweep's own overhead.

``--quick`` (1 repeat, a sweep of 2) with ``--train-size``/``--test-size``/``--max-iter``
runs it on tiny data, so that a test can keep the script from rotting. Timing is never
asserted in tests: machines are shared and noisy, so only ratios measured in one run mean
anything.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from tests.helpers import PROJECT_ROOT as ROOT
from tests.helpers import decompressed_sha256, make_dvc_project

STAGES = ("fetch", "preprocess", "train", "evaluate", "visualize")
JOBS = 2  # worker processes of the sweep (e)
# Stages shaped like train -> evaluate -> visualize that do nothing: what DVC itself costs.
NO_OP_DVC_YAML = """\
stages:
  train:
    cmd: python -c "open('train.out', 'w').close()"
    params: [p]
    outs: [train.out]
  evaluate:
    cmd: python -c "open('evaluate.out', 'w').close()"
    params: [p]
    deps: [train.out]
    outs: [evaluate.out]
  visualize:
    cmd: python -c "open('visualize.out', 'w').close()"
    params: [p]
    deps: [evaluate.out]
    outs: [visualize.out]
"""


def run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Run ``command``; return wall seconds and peak resident memory (KiB) of the process.

    Linux starts a child's peak memory at its parent's (this process's) peak, so every
    memory measurement is taken before this process reads any data.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    return elapsed, usage.ru_maxrss


def median_of(
    repeats: int, measure: Callable[[], float], prepare: Callable[[], None] | None = None
) -> float:
    samples = []
    for _ in range(repeats):
        if prepare:
            prepare()
        samples.append(measure())
    return statistics.median(samples)


def repro_timings(
    root: Path, env: dict[str, str], repeats: int, from_scratch: Callable[[], None]
) -> tuple[float, float, float]:
    """Medians of ``dvc repro`` after ``from_scratch()``; then, committed, of ``dvc repro``
    with nothing to do and of ``dvc status``."""
    scratch = median_of(repeats, lambda: run(["dvc", "repro"], root, env)[0], from_scratch)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-q", "-m", "reproduced"], root, env)
    idle = median_of(repeats, lambda: run(["dvc", "repro"], root, env)[0])
    status = median_of(repeats, lambda: run(["dvc", "status"], root, env)[0])
    return scratch, idle, status


def make_project(root: Path, data: Path, args: argparse.Namespace) -> dict[str, str]:
    """The project in a fresh git + DVC repo with params for the data; return its env."""
    project = make_dvc_project(root, data)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for item in params["fetch"]["files"]:
        item["sha256"] = decompressed_sha256(data / item["name"])
    params["split"].update(train_size=args.train_size, test_size=args.test_size)
    params["train"].update(max_iter=args.max_iter)
    project.write_params(params)
    project.commit("bench")
    return project.env


def cache_objects(root: Path) -> dict[str, int]:
    """``{md5: size}`` of every object in the project's DVC cache."""
    cache = root / ".dvc/cache/files/md5"
    if not cache.exists():
        return {}
    return {p.parent.name + p.name: p.stat().st_size for p in cache.glob("*/*") if p.is_file()}


def data_md5s(root: Path) -> set[str]:
    """md5 of every file under ``data/`` (the raw files and the split arrays)."""
    digests = set()
    for path in (root / "data").rglob("*"):
        if path.is_file():
            with path.open("rb") as stream:  # in chunks: see run() on peak memory
                digests.add(hashlib.file_digest(stream, "md5").hexdigest())
    return digests


def reset_to_commit(root: Path, env: dict[str, str]) -> None:
    """Back to the committed params and outputs; forget the run-cache so work is redone."""
    run(["git", "checkout", "-q", "--", "."], root, env)
    run(["dvc", "checkout", "-q"], root, env)
    shutil.rmtree(root / ".dvc/cache/runs", ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory of the 4 .gz files")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=8, choices=(2, 4, 8))
    parser.add_argument("--quick", action="store_true", help="1 repeat and a sweep of 2")
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=10)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.sweep = 1, 2
    work = Path(tempfile.mkdtemp(prefix="mnist-mlp-bench-"))
    try:
        print(measure_all(args, args.data.resolve(), work))  # noqa: T201 - the table is the output
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fit_medians(data: Path, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """``{kind: (median fit seconds, test accuracy)}``, fitting in-process as train does.

    Kinds: ``float32`` and ``float64`` features with BLAS pinned to one thread, as the
    pipeline trains, and ``float64, BLAS unpinned`` as the plain script does.
    """
    from mnist_mlp.dataset import combine, split, to_features
    from mnist_mlp.idx import read_pair
    from mnist_mlp.threads import pinned_blas_threads
    from mnist_mlp.train import build_classifier

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    X, y = combine(
        *read_pair(data / "train-images-idx3-ubyte.gz", data / "train-labels-idx1-ubyte.gz"),
        *read_pair(data / "t10k-images-idx3-ubyte.gz", data / "t10k-labels-idx1-ubyte.gz"),
    )
    sizes = {"train_size": args.train_size, "test_size": args.test_size}
    arrays = split(X, y, params["split"] | sizes)
    results = {}
    kinds = {
        "float64": ("float64", pinned_blas_threads),
        "float32": ("float32", pinned_blas_threads),
        "float64, BLAS unpinned": ("float64", contextlib.nullcontext),
    }
    for kind, (dtype, blas_threads) in kinds.items():
        X_train, X_test = (to_features(arrays[n], dtype) for n in ("X_train", "X_test"))
        seconds = []
        for _ in range(args.repeats):
            classifier = build_classifier(params["train"] | {"max_iter": args.max_iter})
            start = time.perf_counter()
            with warnings.catch_warnings(), blas_threads():
                warnings.simplefilter("ignore")
                classifier.fit(X_train, arrays["y_train"])
            seconds.append(time.perf_counter() - start)
        with blas_threads():  # scored as evaluate scores
            accuracy = classifier.score(X_test, arrays["y_test"])
        results[kind] = (statistics.median(seconds), accuracy)
    return results


def precision_rows(fits: dict[str, tuple[float, float]]) -> list[str]:
    """(h): fit time and test accuracy of float64 and float32 features."""
    (t64, acc64), (t32, acc32) = fits["float64"], fits["float32"]
    points = abs(acc32 - acc64) * 100
    met = verdict(t64 / t32 >= 1.4 and points <= 0.5)
    return [
        row("(h) fit, features.dtype", "median s", "test accuracy", "target", "met"),
        row("---", "---", "---", "---", "---"),
        row("float64 (default)", f"{t64:.2f}", f"{acc64:.4f}", "", ""),
        row(
            "float32",
            f"{t32:.2f}",
            f"{acc32:.4f}",
            "≥ 1.4× faster, accuracy within 0.5 points",
            f"{t64 / t32:.2f}× faster, {points:.2f} points: {met}",
        ),
    ]


def import_costs(work: Path, env: dict[str, str], repeats: int) -> dict[str, tuple[float, int]]:
    """``{library: (median seconds, peak KiB)}`` of importing what the stages use."""
    statements = {
        "scikit-learn": "import sklearn.neural_network",
        "matplotlib": "import matplotlib.figure, matplotlib.backends.backend_agg",
    }
    costs = {}
    for library, statement in statements.items():
        runs = [run([sys.executable, "-c", statement], work, env) for _ in range(repeats)]
        costs[library] = (statistics.median(s for s, _ in runs), max(k for _, k in runs))
    return costs


def floor_rows(
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    imports: dict[str, tuple[float, int]],
    fits: dict[str, tuple[float, float]],
) -> tuple[list[str], dict[str, float]]:
    """(i): what every pipeline of the five DVC stages pays; return the rows and the bounds.

    The bounds are deliberately low: DVC's own cost is measured on 3 stages that do
    nothing; the fit is the faster of pinned and unpinned BLAS; train and evaluate (which
    loads the model) are counted as importing scikit-learn, visualize matplotlib, and
    nothing else; preprocessing, data loading, the per-epoch record and saving are free.
    """
    root = work / "no-op"
    root.mkdir()
    run(["git", "init", "-q", "-b", "main"], root, env)
    run(["dvc", "init", "-q"], root, env)
    (root / "params.yaml").write_text("p: 0\n")
    (root / "dvc.yaml").write_text(NO_OP_DVC_YAML)

    def from_scratch() -> None:
        for path in [*root.glob("*.out"), root / "dvc.lock"]:
            path.unlink(missing_ok=True)
        shutil.rmtree(root / ".dvc/cache", ignore_errors=True)

    repro, idle_repro, status = repro_timings(root, env, args.repeats, from_scratch)
    values = iter(range(1, args.repeats + 1))
    experiment = median_of(
        args.repeats,
        lambda: run(["dvc", "exp", "run", "-S", f"p={next(values)}"], root, env)[0],
    )
    reset_to_commit(root, env)
    grid = ",".join(str(100 + i) for i in range(args.sweep))
    sweep = [sys.executable, "-m", "mnist_mlp.sweep", "run", "--jobs", str(JOBS), f"-Sp={grid}"]
    queue = run(sweep, root, env)[0]

    sklearn_s, sklearn_kib = imports["scikit-learn"]
    matplotlib_s, _ = imports["matplotlib"]
    fit = min(fits["float64"][0], fits["float64, BLAS unpinned"][0])
    experiment_work = 2 * sklearn_s + matplotlib_s + fit
    bounds = {
        "b": repro + experiment_work,
        "d": experiment + experiment_work,
        "e": queue + args.sweep / JOBS * experiment_work,
        "train_kib": sklearn_kib + args.train_size * 28 * 28 * 8 / 1024,
        "c": idle_repro / status,
    }
    rows = [
        row("(i) what every pipeline of DVC stages pays", "median s", "", "", ""),
        row("---", "---", "---", "---", "---"),
        row("`import sklearn.neural_network`", f"{sklearn_s:.2f}", "", "", ""),
        row("`import matplotlib` (figure, Agg)", f"{matplotlib_s:.2f}", "", "", ""),
        row("the fit, BLAS pinned (as train runs it)", f"{fits['float64'][0]:.2f}", "", "", ""),
        row(
            "the fit, BLAS unpinned (as the script runs it)",
            f"{fits['float64, BLAS unpinned'][0]:.2f}",
            "",
            "",
            "",
        ),
        row("`dvc repro` of 3 no-op stages, empty cache", f"{repro:.2f}", "", "", ""),
        row("`dvc repro` of the 3 no-op stages, nothing to do", f"{idle_repro:.2f}", "", "", ""),
        row("`dvc status` of the 3 no-op stages", f"{status:.2f}", "", "", ""),
        row("`dvc exp run` of the 3 no-op stages", f"{experiment:.2f}", "", "", ""),
        row(f"sweep of {args.sweep} no-op experiments", f"{queue:.2f}", "", "", ""),
    ]
    return rows, bounds


def bound_rows(
    bounds: dict[str, float], a: float, a_kib: int, serial_a: float, sweep: int
) -> list[str]:
    """The lower bounds of (i) against the targets: can any such pipeline meet them?"""
    work = "2 scikit-learn imports + matplotlib import + fit"
    return [
        row("lower bound", "s or MiB", "ratio", "target", "reachable"),
        row("---", "---", "---", "---", "---"),
        row(
            f"(b) ≥ no-op repro + {work}",
            f"{bounds['b']:.2f}",
            f"{bounds['b'] / a:.2f} × (a)",
            "≤ 1.15",
            verdict(bounds["b"] / a <= 1.15),
        ),
        row(
            "(c) DVC alone: nothing-to-do repro of no-op stages against their status",
            "",
            f"{bounds['c']:.2f} × dvc status",
            "≤ 1.3",
            verdict(bounds["c"] <= 1.3),
        ),
        row(
            f"(d) ≥ no-op exp run + {work}",
            f"{bounds['d']:.2f}",
            f"{bounds['d'] / a:.2f} × (a)",
            "< 1.0",
            verdict(bounds["d"] / a < 1.0),
        ),
        row(
            f"(e) ≥ no-op sweep + {sweep}/{JOBS} × ({work})",
            f"{bounds['e']:.2f}",
            f"{bounds['e'] / serial_a:.2f} × {sweep} runs of (a)",
            "≤ 1.0",
            verdict(bounds["e"] / serial_a <= 1.0),
        ),
        row(
            "train's memory ≥ scikit-learn imported + the float64 training matrix",
            f"{bounds['train_kib'] / 1024:.0f} MiB",
            f"{bounds['train_kib'] / a_kib:.2f} × (a)",
            "≤ 0.6",
            verdict(bounds["train_kib"] / a_kib <= 0.6),
        ),
    ]


def sweep_overrides(size: int) -> list[str]:
    """``-S`` values making a grid of ``size`` (2, 4 or 8) training experiments."""
    rates = ["0.1", "0.2"] if size == 2 else ["0.05", "0.1", "0.15", "0.2"]
    alphas = ["0.0001", "0.001"] if size == 8 else ["0.0001"]
    return [
        "-S",
        f"train.learning_rate_init={','.join(rates)}",
        "-S",
        f"train.alpha={','.join(alphas)}",
    ]


def row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def measure_all(args: argparse.Namespace, data: Path, work: Path) -> str:
    """Run every measurement in ``work`` and return the markdown tables."""
    project = work / "project"
    env = make_project(project, data, args)
    reference = [
        sys.executable,
        str(ROOT / "benchmarks/reference.py"),
        str(data),
        str(work / "ref.png"),
        "--max-iter",
        str(args.max_iter),
        "--train-size",
        str(args.train_size),
    ]
    a_runs = [run(reference, work, env) for _ in range(args.repeats)]
    a = statistics.median(seconds for seconds, _ in a_runs)
    a_rss = max(rss for _, rss in a_runs)
    imports = import_costs(work, env, args.repeats)

    def from_scratch() -> None:
        for path in ("data/prepared", "models", ".dvc/cache"):
            shutil.rmtree(project / path, ignore_errors=True)
        (project / "dvc.lock").unlink(missing_ok=True)

    b, c, status = repro_timings(project, env, args.repeats, from_scratch)

    growth, copied_data = [], set()

    def experiment() -> float:
        before = cache_objects(project)
        command = ["dvc", "exp", "run", "-S", "train.learning_rate_init=0.2"]
        seconds = run(command, project, env)[0]
        added = {md5: size for md5, size in cache_objects(project).items() if md5 not in before}
        growth.append(sum(added.values()))
        copied_data.update(set(added) & data_md5s(project))
        return seconds

    d = median_of(args.repeats, experiment, lambda: reset_to_commit(project, env))
    reset_to_commit(project, env)

    commands = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    stage_rss = {name: run(["sh", "-c", commands[name]["cmd"]], project, env)[1] for name in STAGES}

    # (j) right after (d): one worker, experiments that differ from (d)'s and each other.
    rates = ",".join(f"0.2{i + 1}" for i in range(args.repeats))
    one_worker = [
        sys.executable,
        "-m",
        "mnist_mlp.sweep",
        "run",
        f"-Strain.learning_rate_init={rates}",
    ]
    j = run(one_worker, project, env)[0] / args.repeats
    reset_to_commit(project, env)

    sweep = [sys.executable, "-m", "mnist_mlp.sweep", "run", "--jobs", str(JOBS)]
    sweep += sweep_overrides(args.sweep)
    e = run(sweep, project, env)[0]
    serial_a = sum(run(reference, work, env)[0] for _ in range(args.sweep))

    fits = fit_medians(data, args)
    floor, bounds = floor_rows(work, env, args, imports, fits)
    data_bytes = sum(p.stat().st_size for p in (project / "data").rglob("*") if p.is_file())
    # The first run of the experiment adds its outputs; repeats find them already cached.
    per_experiment = growth[0]
    lines = [
        f"Medians of {args.repeats} runs; data: {args.train_size} + {args.test_size} images, "
        f"{args.max_iter} epochs.",
        "",
        row("measure", "median s", "ratio", "target", "met"),
        row("---", "---", "---", "---", "---"),
        row("(a) plain script", f"{a:.2f}", "", "", ""),
        row(
            "(b) dvc repro, empty cache",
            f"{b:.2f}",
            f"{b / a:.2f} × (a)",
            "≤ 1.15",
            verdict(b / a <= 1.15),
        ),
        row(
            "(c) no-op dvc repro",
            f"{c:.2f}",
            f"{c / status:.2f} × dvc status ({status:.2f} s)",
            "≤ 1.3",
            verdict(c / status <= 1.3),
        ),
        row(
            "(d) dvc exp run -S train.learning_rate_init=0.2",
            f"{d:.2f}",
            f"{d / a:.2f} × (a)",
            "< 1.0",
            verdict(d / a < 1.0),
        ),
        row(
            f"(e) sweep of {args.sweep}, {JOBS} worker processes",
            f"{e:.2f}",
            f"{e / serial_a:.2f} × {args.sweep} runs of (a) ({serial_a:.1f} s)",
            "≤ 1.0",
            verdict(e / serial_a <= 1.0),
        ),
        row(
            f"(j) one sweep worker, per experiment ({args.repeats} in a row)",
            f"{j:.2f}",
            f"{j / d:.2f} × (d)",
            "≤ 1.05",
            verdict(j / d <= 1.05),
        ),
        "",
        row("peak resident memory", "MiB", "ratio to (a)", "target", "met"),
        row("---", "---", "---", "---", "---"),
        row("(a) plain script", f"{a_rss / 1024:.0f}", "", "", ""),
        *(
            row(
                f"(f) stage {name}",
                f"{rss / 1024:.0f}",
                f"{rss / a_rss:.2f}",
                "≤ 0.6",
                verdict(rss / a_rss <= 0.6),
            )
            for name, rss in stage_rss.items()
        ),
        "",
        row(
            "(g) DVC cache growth of one experiment (train params only)",
            "MiB",
            "data, MiB",
            "target",
            "met",
        ),
        row("---", "---", "---", "---", "---"),
        row(
            "",
            f"{per_experiment / 2**20:.2f}",
            f"{data_bytes / 2**20:.1f}",
            "no copy of the data",
            verdict(not copied_data),
        ),
        "",
        *precision_rows(fits),
        "",
        *floor,
        "",
        *bound_rows(bounds, a, a_rss, serial_a, args.sweep),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
