"""Running one shard of a grid here, each point with ``dvc exp run -n <name>``, recording
only what is true.

One sweep at a time in a workspace (a lock). A sweep killed outright leaves its
experiment running in a process group of its own: the next sweep stops it before it
touches anything. Each experiment is checked once DVC records it: HEAD's params with its
point's values, a ``dvc.lock`` recording those, no file changed but the pipeline's
outputs; one that is not is removed, never pushed. However the sweep ends, the workspace
goes back to HEAD, what the user changed meanwhile saved as a patch first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mnist_mlp.io.params import load_yaml, read_yaml
from mnist_mlp.io.pipeline import declared_outputs
from mnist_mlp.tools.sweep.grid import PARAMS_FILE, Point, SweepError, committed_first, with_values

log = logging.getLogger(__name__)

LOCK = Path(".dvc/tmp/sweep.lock")
# What a running sweep is doing, for the next one to clean up after it is killed.
STATE = Path(".dvc/tmp/sweep-running.json")
COMMAND_TIMEOUT = 600.0
# DVC's words about the workspace, which the sweep puts back to HEAD after the grid.
MISLEADING = "Experiment results have been applied to your workspace."


def run_command(
    command: Sequence[str],
    timeout: float,
    on_line: Callable[[str], None] = lambda line: None,
    on_start: Callable[[int], object] = lambda group: None,
) -> tuple[int, str]:
    """Run ``command`` in a process group of its own for at most ``timeout`` seconds; its
    exit code and output, each line also given to ``on_line`` as it comes. The output goes
    to a file, never to a pipe a daemon could hold open; on timeout, SIGINT or SIGTERM the
    whole group is stopped."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, process_group=0)  # fmt: skip
        on_start(process.pid)
        deadline, done, pending = time.monotonic() + timeout, 0, b""
        try:
            while True:
                code = process.poll()
                output.seek(done)
                chunk = output.read()
                done += len(chunk)
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    on_line(line.decode(errors="replace"))
                if code is not None:
                    output.seek(0)
                    return code, output.read().decode(errors="replace")
                if time.monotonic() > deadline:
                    raise SweepError(f"`{' '.join(command)}` took over {timeout:g} s: stopped it")
                time.sleep(0.1)
        except BaseException:
            stop(process.pid, process)
            raise


def stop(group: int, leader: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group ``group``; SIGKILL it if it is still there after 30 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 30
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)
            while time.monotonic() < deadline:
                if leader:
                    leader.poll()  # reaped: a zombie leader would keep its group alive
                os.killpg(group, 0)
                time.sleep(0.1)
            continue
        return


def runs_here(group: int) -> bool:
    """Whether a process of ``group`` runs in this workspace (Linux's /proc): the killed
    sweep's experiment, not an unrelated group that reused its number."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            in_group = int(stat.read_text().rsplit(")", 1)[1].split()[2]) == group
            if in_group and Path(os.readlink(stat.parent / "cwd")) == Path.cwd():
                return True
    return False


def checked(*command: str) -> str:
    """The output of ``command``; a failure is one line naming it and why: git's or DVC's
    error line, else the last line it printed."""
    code, output = run_command(command, COMMAND_TIMEOUT)
    if code != 0:
        raise SweepError(f"`{' '.join(command)}` failed ({code}): {failure(output)}")
    return output


def failure(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:", "ERROR:", "! "))]
    return errors[0] if errors else (lines or ["no output"])[-1]


def experiments() -> dict[str, str]:
    """``{name: commit}`` of HEAD's experiments here."""
    names = checked("dvc", "exp", "list", "--name-only").split()
    return dict(zip(names, checked("dvc", "exp", "list", "--sha-only").split(), strict=True))


def rewritten_by_runs() -> set[str]:
    """The files a run of the pipeline (and ``dvc exp run -S``) may change."""
    return {"dvc.lock", PARAMS_FILE, *declared_outputs()}


def problem_with(point: Point, commit: str, head_params: Mapping[str, Any]) -> str | None:
    """Why the experiment ``commit`` is not ``point`` run from HEAD, or None if it is."""
    params_text = checked("git", "show", f"{commit}:{PARAMS_FILE}")
    params = load_yaml(params_text)
    if params != with_values(head_params, point.values):
        return f"its {PARAMS_FILE} is not HEAD's with {' '.join(point.overrides)}"
    # DVC reads and records params as YAML 1.2 (`1e-08` is a number there, not in 1.1).
    yaml12 = YAML(typ="safe")
    recorded = yaml12.load(checked("git", "show", f"{commit}:dvc.lock"))["stages"]
    params12 = yaml12.load(params_text)
    for stage, record in recorded.items():
        for section, value in record.get("params", {}).get(PARAMS_FILE, {}).items():
            if params12.get(section) != value:
                return f"its dvc.lock records other {section} params for {stage}"
    changed = checked("git", "diff", "--name-only", "HEAD", commit).split()
    others = sorted(set(changed) - rewritten_by_runs())
    return f"it also changes {', '.join(others)}" if others else None


def check_done(points: Sequence[Point], done: Mapping[str, str]) -> None:
    """Refuse to count as done an experiment that is not what its name says."""
    head_params = read_yaml(PARAMS_FILE)
    for point in points:
        if point.name in done and (problem := problem_with(point, done[point.name], head_params)):
            raise SweepError(f"the experiment {point.name} is not that grid point ({problem}): "
                             f"`dvc exp remove [-g <remote>] {point.name}`")  # fmt: skip


def changed_by_user(good: str, swept: Sequence[str]) -> list[str]:
    """Tracked files that differ from the commit ``good`` in more than the pipeline's
    outputs and the swept params: what someone changed while the sweep ran."""
    changed = checked("git", "diff", "--name-only", good).split()
    found = sorted(set(changed) - rewritten_by_runs())
    if PARAMS_FILE in changed:
        blank, ours = (
            dict.fromkeys(swept),
            load_yaml(checked("git", "show", f"{good}:{PARAMS_FILE}")),
        )
        if with_values(read_yaml(PARAMS_FILE), blank) != with_values(ours, blank):
            found.append(PARAMS_FILE)
    return found


def restore(good: str, swept: Sequence[str]) -> str | None:
    """Put the workspace back to HEAD; first save what the user changed as a patch, and
    return the sentence that says so."""
    saved = None
    if theirs := changed_by_user(good, swept):
        patch = STATE.with_name(f"sweep-{time.strftime('%Y%m%d-%H%M%S')}.patch")
        patch.write_text(checked("git", "diff", "--binary", good, "--", *theirs))
        also = f" (its {PARAMS_FILE} part holds swept values too)" if PARAMS_FILE in theirs else ""
        saved = f"{', '.join(theirs)} changed meanwhile: saved in {patch} for `git apply`{also}"
    checked("git", "reset", "--quiet", "--hard", "HEAD")
    checked("dvc", "checkout", "--force", "--allow-missing")
    return saved


def check_clean() -> None:
    """Refuse a workspace with changes, or without a dvc.lock: every machine runs the
    committed, reproduced project."""
    if dirty := checked("git", "status", "--porcelain", "--untracked-files=no").splitlines():
        raise SweepError(
            f"the workspace has uncommitted changes ({', '.join(line[3:] for line in dirty)}): "
            "commit or `git stash` them; if `dvc exp run` left them, "
            "`git checkout -- . && dvc checkout` goes back to HEAD"
        )
    if run_command(["git", "cat-file", "-e", "HEAD:dvc.lock"], COMMAND_TIMEOUT)[0] != 0:
        raise SweepError("HEAD has no dvc.lock: run `make repro` and commit dvc.lock first")


@contextlib.contextmanager
def only_sweep() -> Iterator[None]:
    """Hold the workspace's sweep lock; first clean up after a sweep killed outright."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"another sweep is running in this workspace ({LOCK})") from None
        if STATE.exists():
            state = json.loads(STATE.read_text())
            log.warning("a sweep was killed here: stopping its experiment, restoring HEAD")
            if state["group"] and runs_here(state["group"]):
                stop(state["group"])
            if saved := restore(state["good"], state["swept"]):
                log.warning("%s", saved)
            STATE.unlink()
        yield


def run_point(point: Point, pull: bool, timeout: float, state: dict[str, Any]) -> bool:
    """``dvc exp run -n <name> -S ...``, its output logged line by line under its name."""
    log.info("%s: running %s", point.name, " ".join(point.overrides))

    def show(line: str) -> None:
        if line.strip() and line.strip() != MISLEADING:
            log.info("%s: %s", point.name, line.rstrip())

    command = ["dvc", "exp", "run", "-n", point.name, *(f"-S{o}" for o in point.overrides)]
    started = lambda group: STATE.write_text(json.dumps(state | {"group": group}))  # noqa: E731
    code, _ = run_command(command + ["--pull"] * pull, timeout, show, started)
    STATE.write_text(json.dumps(state | {"group": None}))
    if code != 0:
        log.error("%s: failed (`dvc exp run` exited %d)", point.name, code)
    return code == 0


def run_shard(
    points: Sequence[Point], push: Callable[[str, str], None] | None, pull: bool, timeout: float
) -> list[str]:
    """Run ``points`` one after another, each checked once recorded and then given to
    ``push(name, commit)``; return the names that failed."""
    head_params = read_yaml(PARAMS_FILE)
    head = checked("git", "rev-parse", "HEAD").strip()
    state: dict[str, Any] = {"good": head, "swept": list(points[0].values) if points else []}
    STATE.write_text(json.dumps(state | {"group": None}))
    failed: list[str] = []
    try:
        for point in committed_first(points, head_params):
            if not run_point(point, pull, timeout, state):
                failed.append(point.name)
                continue
            pull, commit = False, experiments()[point.name]
            if problem := problem_with(point, commit, head_params):
                checked("dvc", "exp", "remove", point.name)
                raise SweepError(f"{point.name} was not kept: {problem}")
            state["good"] = commit
            STATE.write_text(json.dumps(state | {"group": None}))
            if changed_by_user(commit, state["swept"]):
                raise SweepError(f"stopped after {point.name}")
            log.info("%s: recorded as %s", point.name, commit[:7])
            if push:
                push(point.name, commit)
    except BaseException as exc:
        saved = restore(state["good"], state["swept"])
        STATE.unlink(missing_ok=True)
        if saved and isinstance(exc, SweepError):
            raise SweepError(f"{exc}; {saved}") from None
        if saved:
            log.error("%s", saved)
        raise
    saved = restore(state["good"], state["swept"])
    STATE.unlink(missing_ok=True)
    if saved:
        raise SweepError(saved)
    return failed
