"""Queue a grid of experiments, run it with parallel DVC queue workers, show the results.

``python -m mnist_mlp.tools.sweep -S 'train.hidden_layer_sizes=[50],[100]' -S
'train.learning_rate_init=0.1,0.2' --jobs 2`` queues the 4 combinations with
``dvc exp run --queue`` and runs them with ``dvc queue start``. It guards against DVC's
known traps: a queued experiment is built from the last commit plus tracked changes, so
there must be a commit and no untracked files (they would silently be left out); queue
workers stay alive after the queue is empty, so they are stopped at the end, also on
error or Ctrl-C. Each experiment's BLAS runs on one thread (:mod:`mnist_mlp.kernels`), so
``--jobs`` workers do not oversubscribe the cores with BLAS threads and give the same bytes
as a run in the workspace.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import time
from collections.abc import Sequence

from tqdm import tqdm

from mnist_mlp.cli import run_stage
from mnist_mlp.errors import PipelineError

log = logging.getLogger(__name__)

PENDING = ("Queued", "Running")
SORT_METRIC = "reports/metrics.json:test_score"


class SweepError(PipelineError):
    """The sweep cannot start, or some of its experiments failed."""


def queue_states(status_output: str) -> dict[str, str]:
    """``{experiment name: state}`` from the table that ``dvc queue status`` prints."""
    states = {}
    for line in status_output.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] != "Task" and fields[-1][:1].isupper():
            states[fields[1]] = fields[-1]
    return states


def _run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, text=True, capture_output=True, **kwargs)


def check_repository() -> None:
    """Raise SweepError unless queued experiments would see exactly the working tree."""
    if _run(["git", "rev-parse", "--verify", "--quiet", "HEAD"]).returncode != 0:
        raise SweepError("experiments need a commit: run `git commit` first")
    untracked = _run(["git", "ls-files", "--others", "--exclude-standard"]).stdout.split()
    if untracked:
        raise SweepError(
            "untracked files would be left out of queued experiments: "
            f"`git add` them (or ignore them) first: {', '.join(untracked)}"
        )


def wait_for(names: Sequence[str], poll_seconds: float) -> dict[str, str]:
    """Poll ``dvc queue status`` until none of ``names`` is queued or running."""
    with tqdm(total=len(names), desc="experiments", unit="exp", disable=None) as bar:
        while True:
            all_states = queue_states(_run(["dvc", "queue", "status"]).stdout)
            states = {name: all_states.get(name, "Unknown") for name in names}
            bar.n = sum(state not in PENDING for state in states.values())
            bar.refresh()
            if not any(state in PENDING for state in states.values()):
                return states
            time.sleep(poll_seconds)


def sweep(overrides: Sequence[str], jobs: int, poll_seconds: float = 2.0) -> None:
    """Queue the grid of ``overrides`` (``-S`` values) and run it with ``jobs`` workers."""
    check_repository()
    queued = _run(["dvc", "exp", "run", "--queue", *(f"-S{o}" for o in overrides)])
    if queued.returncode != 0:
        raise SweepError(f"dvc exp run --queue failed: {queued.stderr.strip()}")
    names = re.findall(r"Queued experiment '([^']+)'", queued.stdout)
    if not names:
        raise SweepError(f"dvc exp run --queue queued nothing: {queued.stdout.strip()}")
    log.info("queued %d experiments: %s", len(names), ", ".join(names))
    try:
        started = _run(["dvc", "queue", "start", "--jobs", str(jobs)])
        if started.returncode != 0:
            raise SweepError(f"dvc queue start failed: {started.stderr.strip()}")
        states = wait_for(names, poll_seconds)
    finally:
        # Workers otherwise stay alive, idle, after the queue is empty.
        _run(["dvc", "queue", "stop"])
    failed = sorted(name for name, state in states.items() if state != "Success")
    if failed:
        raise SweepError(f"experiments failed: {', '.join(failed)} (see `dvc queue logs <name>`)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-S",
        "--set-param",
        action="append",
        required=True,
        dest="overrides",
        help="param=value[,value...] as for `dvc exp run -S`; several -S make a grid",
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel queue workers")
    args = parser.parse_args(argv)
    sweep(args.overrides, args.jobs)
    subprocess.run(
        [
            "dvc",
            "exp",
            "show",
            "--only-changed",
            "--sort-by",
            SORT_METRIC,
            "--sort-order",
            "desc",
            "--no-pager",
        ],
        check=False,
    )


if __name__ == "__main__":
    run_stage(main)
