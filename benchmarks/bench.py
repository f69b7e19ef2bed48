"""Measure what the pipeline costs against the bare example, in one run on one machine.

``python -m benchmarks.bench --data DIR [--repeats 5]`` (``make bench``), from the project
root, prints one markdown table (:data:`TABLE`): each measure's median over the repeats, its
ratio to what it is compared with, the target and whether it is met.
``docs/performance.md`` says what the numbers mean and which floors no pipeline of five DVC
stages can go below. ``--quick`` with ``--train-size``/``--test-size``/``--max-iter`` runs
it once on tiny data, and ``--only`` some of its groups (:data:`GROUPS`), so that a test can
keep it from rotting; no test asserts a timing.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.measure import (
    ROOT,
    STAGES,
    measure_dvc,
    measure_fits,
    measure_floor,
    measure_script,
    measure_stages,
    measure_sweep,
    new_repo,
    project_params,
    run,
    script_command,
)
from mnist_mlp.tools.sweep import Point, build_grid

# The sweep (e): 8 points, or 2 with --quick.
GRID = ["-S", "train.learning_rate_init=0.05,0.1,0.15,0.2", "-S", "train.alpha=0.0001,0.001"]
QUICK_GRID = ["-S", "train.learning_rate_init=0.05,0.1"]
# Each measure: (what, unit, the measure it is compared with, the most that ratio may be).
TABLE: dict[str, tuple[str, str, str | None, float | None]] = {
    "(a)": ("(a) the example as one plain script", "s", None, None),
    "(a) pinned": (
        "(a) the same, BLAS on one thread and CPU kernels pinned as in the stages",
        "s",
        None,
        None,
    ),
    "(a) pinned pair": ("(a) pinned, two copies at once (both done)", "s", None, None),
    "(b)": ("(b) `dvc repro`, empty cache", "s", "(a)", 1.5),
    "(b) floor": (
        "(b) its floor, least times: (a) pinned + (i)'s cold repro + both imports + record",
        "s",
        "(a)",
        1.5,
    ),
    "dvc status": ("(c) `dvc status`, nothing to do", "s", None, None),
    "(c)": ("(c) `dvc repro`, nothing to do", "s", "dvc status", 1.3),
    "(d)": ("(d) `dvc exp run -S train.learning_rate_init=0.2`", "s", "(a)", 1.3),
    "(d) floor": (
        "(d) its floor, least times: (a) pinned − .gz + (i)'s exp run + scikit-learn + record",
        "s",
        "(a)",
        1.3,
    ),
    "(d) beside (e)": ("(d) again, half before and half after the worker", "s", None, None),
    "(e) worker": ("(e) one sweep worker, per experiment", "s", "(d) beside (e)", 1.05),
    "(e)": ("(e) the sweep grid, 2 worker processes", "s", "(a) per point", 1.0),
    "(e) floor": (
        "(e) its floor: points that must run, in pairs of (a) pinned two at once + (d)'s extras",
        "s",
        "(a) per point",
        1.0,
    ),
    "(a) per point": (
        "(e) the plain script once per point of the grid, half before it and half after",
        "s",
        None,
        None,
    ),
    "(g)": ("(g) DVC cache growth of that experiment", "MiB", None, None),
    "(a) memory": ("(a) peak memory of the plain script", "MiB", None, None),
    **{stage: (f"(f) peak memory, stage {stage}", "MiB", "(a) memory", 0.4) for stage in STAGES},
    "train": ("(f) peak memory, stage train", "MiB", "(a) memory", 0.8),
    "train float32": ("(f) peak memory, stage train, float32", "MiB", "(a) memory", 0.5),
    "train floor": ("(f) train's floor: scikit-learn + float64 matrix", "MiB", "(a) memory", 0.8),
    "float32 floor": ("(f) train's floor: scikit-learn + float32 matrix", "MiB", "(a) memory", 0.5),
    "float64 fit": ("(h) the fit, float64, CPU kernels pinned", "s", None, None),
    "float32 fit": ("(h) the fit, float32 (target: 1.4× faster)", "s", "float64 fit", 0.71),
    "float32 points": ("(h) float32's test accuracy minus float64's", "points", None, None),
    "native fit": ("(j) the fit, float64, this CPU's own kernels", "s", None, None),
    "pinned fit": ("(j) the fit, float64, CPU kernels pinned", "s", "native fit", None),
    "native float32": ("(j) the fit, float32, this CPU's own kernels", "s", None, None),
    "pinned float32": ("(j) the fit, float32, CPU kernels pinned", "s", "native float32", None),
    "no-op repro": (
        "(i) `dvc repro` of 5 stages that compute nothing, storing the data's sizes, empty cache",
        "s",
        None,
        None,
    ),
    "no-op exp run": ("(i) `dvc exp run` of the last 3 of those stages", "s", None, None),
    "sklearn": ("(i) `import sklearn.neural_network`", "s", None, None),
    "split import": ("(i) `import sklearn.model_selection` (preprocess's split)", "s", None, None),
    "scoring": ("(i) scoring both sets once, as after each epoch", "s", None, None),
    "gunzip": ("(i) reading the four .gz files", "s", None, None),
}


def verdict(key: str, within: bool) -> str:
    """A measure meets its target or not; a floor above its target proves it out of reach."""
    if key.endswith("floor"):
        return "reachable" if within else "out of reach"
    return "yes" if within else "NO"


def markdown(values: dict[str, float]) -> str:
    """The one table: a row for each measure of :data:`TABLE` that was taken."""
    lines = ["| measure | median | ratio | target | met |", "| --- | --- | --- | --- | --- |"]
    for key, (what, unit, base, most) in TABLE.items():
        if key not in values:
            continue
        cells = [what, f"{values[key]:.2f} {unit}", "", "", ""]
        if base in values:
            ratio = values[key] / values[base]
            cells[2] = f"{ratio:.2f} × {base}"
            if most is not None:
                cells[3:] = [f"≤ {most}", verdict(key, ratio <= most)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The groups of measurements ``--only`` selects (the smoke test takes the quicker ones).
GROUPS = ("script", "dvc", "sweep", "stages", "fits", "floor")


def floors(values: dict[str, float], max_iter: int, computed: int | None) -> dict[str, float]:
    """The least any pipeline of these five DVC stages can take: all the script does, with
    BLAS on one thread as every stage computes (for the same bytes on every machine), plus
    what the pipeline cannot leave out. That is DVC running the stages; evaluate importing
    scikit-learn to load the model train wrote; and the per-epoch record (``accuracy.csv``),
    which scores both sets after every epoch where the script scores them once. An
    experiment reuses fetch's work, so its floor does without the script's .gz reading. A
    cold run also has DVC hash and store the raw files and the split arrays, and
    preprocess import scikit-learn for ``train_test_split``, in a process of its own.
    Each part is its least time over the repeats (the .gz reading, taken off, its median).

    The grid's floor, when it was swept: its ``computed`` experiments (the points DVC
    cannot skip) two at a time, each pair taking at least the pinned script run twice at
    once (the two cores share memory and caches) plus each one's DVC, evaluate import and
    record, counted once as the two run side by side; an odd one alone."""
    evaluate_import = values["sklearn"]
    record = (max_iter - 1) * values["scoring least"]
    extras = values["no-op exp run least"] + evaluate_import + record - values["gunzip"]
    result = {
        "(d) floor": values["(a) pinned least"] + extras,
        "(b) floor": values["(a) pinned least"]
        + values["no-op repro least"]
        + values["split import"]
        + evaluate_import
        + record,
    }
    if computed is not None:
        pairs, alone = divmod(computed, 2)
        result["(e) floor"] = (
            pairs * (values["(a) pinned pair least"] + extras) + alone * result["(d) floor"]
        )
    return result


def grid_points(grid: Sequence[str]) -> list[Point]:
    """The points of ``grid`` (``-S`` overrides), parsed as the sweep parses them."""
    return build_grid([text for text in grid if text != "-S"], {}, check=False)


def computed_points(points: Sequence[Point], params: dict[str, Any]) -> int:
    """How many of ``points`` DVC must compute: all but one holding ``params``' own
    values, whose outputs are already there."""

    def value(key: str) -> Any:
        section, name = key.split(".", 1)
        return params[section][name]

    return sum(any(value(key) != v for key, v in point.values.items()) for point in points)


def measure_all(args: argparse.Namespace, data: Path, work: Path) -> dict[str, float]:
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DATA_MIRROR": str(data), "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }  # fmt: skip
    values: dict[str, float] = {}
    options = ["--max-iter", str(args.max_iter), "--train-size", str(args.train_size)]
    script = script_command(data, options)
    if "script" in args.only:
        values |= measure_script(script, work, env, args.repeats, "sweep" in args.only)
    project = work / "project"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    for name in tracked.stdout.split():
        if (ROOT / name).is_file():  # not a deleted file
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    params = project_params(data, args)
    new_repo(project, {"params.yaml": params}, env)
    if "dvc" in args.only:
        values |= measure_dvc(project, env, args.repeats)
    elif {"sweep", "stages"} & set(args.only):
        run(["dvc", "repro"], project, env)
        run(["git", "commit", "-q", "-am", "reproduced"], project, env)
    grid = QUICK_GRID if args.quick else GRID
    points = grid_points(grid)
    if "sweep" in args.only:
        values |= measure_sweep(project, env, args.repeats, grid, script, len(points))
    if "stages" in args.only:
        values |= measure_stages(project, env)
    if "fits" in args.only:
        values |= measure_fits(project, data, args.repeats)
    if "floor" in args.only:
        split_bytes = (args.train_size + args.test_size) * (28 * 28 + 1)  # uint8 X and y
        values |= measure_floor(work, data, env, args.repeats, split_bytes)
        matrix = args.train_size * 28 * 28 / 2**20
        values["train floor"] = values["sklearn memory"] + 8 * matrix
        values["float32 floor"] = values["sklearn memory"] + 4 * matrix
    if {"script", "fits", "floor"} <= set(args.only):
        swept = "sweep" in args.only
        computed = computed_points(points, yaml.safe_load(params)) if swept else None
        values |= floors(values, args.max_iter, computed)
    return {key: value for key, value in values.items() if not math.isnan(value)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory of the 4 .gz files")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument(
        "--only", nargs="+", choices=GROUPS, default=GROUPS, help="measure these groups only"
    )
    args = parser.parse_args(argv)
    args.repeats = 1 if args.quick else args.repeats
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="mnist-mlp-bench-") as work:
        values = measure_all(args, args.data.resolve(), Path(work))
    print(markdown(values))  # noqa: T201 - the table is the output


if __name__ == "__main__":
    main()
