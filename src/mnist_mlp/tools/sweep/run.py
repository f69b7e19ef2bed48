"""Running one shard of a grid here, each point as ``dvc exp run --temp`` in DVC's copy of
HEAD (never in the workspace), and sharing it through a git remote and a DVC remote."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO

from dvc.exceptions import DvcException
from dvc.repo import Repo

from mnist_mlp.errors import PipelineError, reason
from mnist_mlp.io.params import load_yaml
from mnist_mlp.io.pipeline import declared_outputs
from mnist_mlp.tools.sweep import push_index
from mnist_mlp.tools.sweep.grid import PARAMS_FILE, Point, shard_points, with_values

log = logging.getLogger(__name__)

LOCK = ".dvc/tmp/sweep.lock"


def run_command(
    command: Sequence[str], timeout: float, output: IO[str] | None = None, lock: int = -1
) -> tuple[int, str]:
    """Run ``command`` in a process group of its own, inheriting the file descriptor ``lock``
    if given: its exit code and output, sent to a file (or ``output``), never to a pipe a
    daemon could hold open. On timeout, SIGINT or SIGTERM, the group gets SIGINT as from
    Ctrl-C, for DVC and the stages to clean up; SIGKILL after 30 s."""
    with tempfile.TemporaryFile() as captured:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output or captured,
                                   stderr=subprocess.STDOUT, process_group=0,
                                   pass_fds=(lock,) if lock >= 0 else ())  # fmt: skip
        try:
            code = process.wait(timeout)
        except BaseException as exc:
            for signum in (signal.SIGINT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, signum)
                    process.wait(30)
            if not isinstance(exc, subprocess.TimeoutExpired):
                raise
            raise PipelineError(f"`{' '.join(command)}` took over {timeout:g} s: stopped") from None
        captured.seek(0)
        return code, captured.read().decode(errors="replace")


def checked(*command: str) -> str:
    """The output of ``command``; a failure is one line: git's or DVC's error, else its last."""
    code, output = run_command(command, timeout=600)
    if code != 0:
        lines = [line.strip() for line in output.splitlines() if line.strip()] or ["no output"]
        errors = [line for line in lines if line.startswith(("fatal:", "error:", "ERROR:", "! "))]
        raise PipelineError(f"`{' '.join(command)}` failed ({code}): {(errors or lines[-1:])[0]}")
    return output


def experiments(points: Sequence[Point]) -> dict[str, str]:
    """``{name: commit}`` of the experiments of HEAD here that are named as ``points``."""
    names = {point.name for point in points}
    try:
        with Repo() as repo:
            listed = repo.experiments.ls()
    except DvcException as exc:
        raise PipelineError(f"cannot list the experiments: {reason(exc)}") from None
    return {name: sha for runs in listed.values() for name, sha in runs if name in names and sha}


def problem_with(point: Point, commit: str) -> str | None:
    """Why the experiment ``commit`` is not ``point`` run from HEAD's params, or None if it is."""
    head = load_yaml(checked("git", "show", f"HEAD:{PARAMS_FILE}"))
    params = load_yaml(checked("git", "show", f"{commit}:{PARAMS_FILE}"))
    if params != with_values(head, point.values):
        return f"its {PARAMS_FILE} is not HEAD's with {' '.join(point.overrides)}"
    changed = checked("git", "diff", "--name-only", "HEAD", commit).split()
    others = sorted(set(changed) - {"dvc.lock", PARAMS_FILE, *declared_outputs()})
    return f"it also changes {', '.join(others)}" if others else None


def pull_refs(remote: str, points: Sequence[Point], here: Mapping[str, str]) -> set[str]:
    """The names of ``points`` on the git ``remote``; those not ``here`` are fetched (refs only)."""
    listed = checked("dvc", "exp", "list", remote, "--name-only").split()
    there = {point.name for point in points} & set(listed)
    if missing := there - set(here):
        checked("dvc", "exp", "pull", remote, *sorted(missing), "--no-cache")
    return there


def push(remote: str, outputs: bool, name: str, commit: str, there: bool = False) -> None:
    """Push the experiment to the git ``remote`` unless it is ``there``; with ``outputs``
    (a default DVC remote), its outputs and run-cache too, checked to have arrived."""
    command = ("dvc", "exp", "push", remote, name, "--run-cache" if outputs else "--no-cache")
    if not there:
        checked(*command)
    if outputs:
        push_index.ensure_outputs_pushed(commit, name, lambda: checked(*command))
    log.info("%s: pushed to %s", name, remote)


def check_clean() -> None:
    """Refuse a workspace with changes: DVC would copy them into the experiment."""
    if dirty := checked("git", "status", "--porcelain", "--untracked-files=no").splitlines():
        changes = ", ".join(line[3:] for line in dirty)
        raise PipelineError(
            f"the workspace has uncommitted changes ({changes}): commit or `git stash` them "
            "(`git checkout -- . && dvc checkout` drops what a `dvc exp run` left)"
        )


@contextlib.contextmanager
def only_sweep() -> Iterator[int]:
    """Hold the workspace's sweep lock (its file descriptor), first waiting for another
    sweep, or the ``dvc exp run`` a killed one left running (it holds the lock too), to end."""
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another sweep, or the experiment of a killed one, runs here: waiting")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield lock.fileno()


def done_points(points: Sequence[Point], remote: str, outputs: bool) -> Mapping[str, str]:
    """``{name: commit}`` of the points done here or, with a git ``remote``, there (fetched
    here), each checked; those done here are pushed again, in case a push was cut short."""
    here = experiments(points)
    there = pull_refs(remote, points, here) if remote else set()
    done = experiments(points) if there - set(here) else here
    for point in points:
        if point.name in done and (problem := problem_with(point, done[point.name])):
            raise PipelineError(f"the experiment {point.name} is not that grid point ({problem}): "
                                f"`dvc exp remove [-g <remote>] {point.name}`")  # fmt: skip
    for name in sorted(here) if remote else []:
        push(remote, outputs, name, here[name], there=name in there)
    return done


def run_shard(points: Sequence[Point], shard: str, remote: str, timeout: float) -> None:
    """Run the points of ``shard`` not done (:func:`done_points`) one after another, each
    checked once recorded (one that is not its point stops the sweep) and pushed."""
    mine = shard_points(points, shard)
    with only_sweep() as lock:
        outputs = pull = bool(remote) and run_command(["dvc", "remote", "default"], 600)[0] == 0
        done = done_points(points, remote, outputs)
        todo = [point for point in mine if point.name not in done]
        log.info("%d of %d points to run, the others are done", len(todo), len(mine))
        failed = []
        for point in todo:
            check_clean()
            log.info("%s: running %s", point.name, " ".join(point.overrides))
            command = ["dvc", "exp", "run", "--temp", "-n", point.name, *["--pull"] * pull]
            command += [f"-S{override}" for override in point.overrides]
            if (code := run_command(command, timeout, sys.stderr, lock)[0]) != 0:
                log.error("%s: failed (`dvc exp run` exited %d)", point.name, code)
                failed.append(point.name)
                continue
            pull, commit = False, experiments([point])[point.name]
            if problem := problem_with(point, commit):
                raise PipelineError(
                    f"{point.name} is not that grid point ({problem}): kept here, not pushed, "
                    f"`git diff HEAD {commit[:7]}` shows it; `dvc exp remove {point.name}`"
                )
            log.info("%s: recorded as %s", point.name, commit[:7])
            if remote:
                push(remote, outputs, point.name, commit)
    if failed:
        raise PipelineError(f"failed: {', '.join(failed)} (see the log above)")
