"""Run a grid of experiments as shards on any number of machines, then gather it.

``python -m mnist_mlp.tools.sweep run -S 'train.hidden_layer_sizes=[50],[100]' -S
'train.learning_rate_init=0.1,0.2' --shard 2/3`` runs shard 2 of 3 of the grid (the
points whose index modulo 3 is 1), one after another, each with ``dvc exp run -n <name>``
in the workspace. Names are derived from the swept params (``hls50-lri0.1``), so they are
the same on every machine. Where the git remote ``origin`` and a default DVC remote
exist, each finished point is pushed at once (``dvc exp push origin <name> --run-cache``,
its DVC outputs included), points already on the remote are skipped, and the first point
runs with ``--pull``: ``fetch`` and ``preprocess`` come from the remote (or its run-cache)
instead of being recomputed. ``--jobs J`` runs the shard with J worker processes, each in
its own clone sharing the DVC cache.

``python -m mnist_mlp.tools.sweep gather -S ...`` pulls every experiment of the grid, writes one
row per grid point (CSV and Markdown), draws the best runs side by side and prints the
table sorted by ``test_score``. Missing points are listed by name.

Every command is bounded by a timeout and never reads a pipe a daemon could inherit; a
worker stopped by SIGTERM or Ctrl-C stops its running experiment and restores the
workspace, and one killed outright is cleaned up by the next run in the same clone.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import enum
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.params import flatten, parse_section
from mnist_mlp.errors import PipelineError, reason
from mnist_mlp.io.files import write_bytes
from mnist_mlp.io.params import read_yaml

log = logging.getLogger(__name__)

PARAMS_FILE = "params.yaml"
SCORES = ("train_score", "test_score")
# Longer names are hard to read in `dvc exp show`; they get a hash instead.
MAX_NAME_LENGTH = 40
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9._+-]*")
# Left in DVC's git-ignored tmp dir while a shard may have modified the workspace.
MARKER = Path(".dvc/tmp/sweep-running")
WORKERS_DIR = Path(".dvc/tmp/sweep-workers")
COMMAND_TIMEOUT = 600.0
POINT_TIMEOUT = 3600.0


class SweepError(PipelineError):
    """The grid is invalid, a command failed or timed out, or points are missing."""


@dataclass(frozen=True)
class Point:
    """One grid point: its index in the grid, its ``-S`` overrides and its name."""

    index: int
    overrides: tuple[str, ...]
    values: Mapping[str, Any]
    name: str


# Grid -----------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.alpha=0.1"`` -> ``("train.alpha", 0.1)``, with Hydra's (and DVC's) parser."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        override = OverridesParser.create().parse_overrides([text])[0]
    except OverrideParseException as exc:
        lines = [line for line in str(exc).splitlines() if not line.startswith(("Error ", "See "))]
        raise SweepError(f"-S {text}: cannot parse ({(lines or ['?'])[0].strip()})") from None
    if override.is_add() or override.is_delete() or override.is_force_add():
        raise SweepError(f"-S {text}: a sweep sets existing params only (key=value)")
    value = override.value()
    if value == "" or value == []:
        raise SweepError(f"-S {text}: empty value for {override.key_or_group}")
    return override.key_or_group, value


def expand_grid(set_params: Sequence[str]) -> list[tuple[str, ...]]:
    """The ``-S`` overrides of each grid point, in DVC's order (comma-separated values and
    ``[50],[100]`` lists make a grid, as for ``dvc exp run --queue -S``)."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps
    from hydra.errors import OverrideParseException

    if not set_params:
        raise SweepError("no grid: give at least one -S param=value[,value...]")
    by_file = to_path_overrides(set_params)
    if set(by_file) != {PARAMS_FILE}:
        other = sorted(set(by_file) - {PARAMS_FILE})
        raise SweepError(f"-S {other[0]}:...: only {PARAMS_FILE} params can be swept")
    for text in by_file[PARAMS_FILE]:
        key, _, value = text.partition("=")
        if re.search(r"(^|,)\s*(,|$)", value):
            raise SweepError(f"-S {text}: empty value for {key}")
        parse_override(text)
    try:
        sweeps = get_hydra_sweeps(by_file)
    except (OverrideParseException, InvalidArgumentError) as exc:
        raise SweepError(f"-S: {reason(exc)}") from None
    return [tuple(sweep[PARAMS_FILE]) for sweep in sweeps]


def check_point(params: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Raise SweepError if a swept key is not in ``params`` or a section the point changes
    is not valid, as its stage would find it (``train``: a valid ``MLPClassifier``)."""
    known = flatten(params)
    for key in values:
        if key not in known:
            section = key.split(".")[0]
            allowed = sorted(k for k in known if k.startswith(f"{section}."))
            hint = f"; {section} has {', '.join(allowed)}" if allowed else ""
            raise SweepError(f"-S {key}: unknown param in {PARAMS_FILE}{hint}")
    from mnist_mlp.core.dataset import FeaturesParams, SplitParams
    from mnist_mlp.core.train import TrainParams
    from mnist_mlp.core.visualize import VisualizeParams
    from mnist_mlp.io.fetch import FetchParams

    classes = {
        "fetch": FetchParams,
        "split": SplitParams,
        "features": FeaturesParams,
        "train": TrainParams,
        "visualize": VisualizeParams,
    }
    # A section no stage reads (a user's own) has no definition to check against.
    for section in sorted({key.split(".")[0] for key in values} & set(classes)):
        changed = dict(params[section])
        changed.update(
            {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(f"{section}.")}
        )
        try:
            parse_section(classes[section], changed, PARAMS_FILE, section)
        except PipelineError as exc:
            raise SweepError(f"grid point {format_values(values)}: {exc}") from None


def format_value(value: Any) -> str:
    """A value as it appears in a name: ``[100, 50]`` -> ``100x50``, ``None`` -> ``null``."""
    if isinstance(value, list | tuple):
        return "x".join(format_value(item) for item in value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return str(value)


def format_values(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={json.dumps(value)}" for key, value in values.items())


def abbreviations(keys: Sequence[str]) -> dict[str, str]:
    """Short, distinct labels for swept keys: initials of multi-word names
    (``hidden_layer_sizes`` -> ``hls``), single words whole (``alpha``)."""

    def initials(key: str) -> str:
        words = key.rsplit(".", 1)[-1].split("_")
        return words[0] if len(words) == 1 else "".join(word[:1] for word in words)

    for label in (initials, lambda key: key.rsplit(".", 1)[-1], lambda key: key):
        labels = {key: label(key) for key in keys}
        if len(set(labels.values())) == len(keys):
            return labels
    raise AssertionError("full keys are distinct")


def hashed_name(values: Mapping[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(sorted(values.items())).encode()).hexdigest()
    return f"sweep-{digest[:10]}"


def is_valid_name(name: str) -> bool:
    """A readable git ref component DVC accepts as an experiment name."""
    return (
        len(name) <= MAX_NAME_LENGTH
        and NAME_PATTERN.fullmatch(name) is not None
        and ".." not in name
        and not name.endswith((".", ".lock"))
    )


def point_names(grid: Sequence[Mapping[str, Any]]) -> list[str]:
    """A name per grid point from its values (``hls50-lri0.1``), the same on every machine;
    a hash of the values where that is too long, not a valid ref, or not unique."""
    keys = list(grid[0]) if grid else []
    labels = abbreviations(keys)
    names = ["-".join(f"{labels[k]}{format_value(v)}" for k, v in point.items()) for point in grid]
    duplicates = {name for name in names if names.count(name) > 1}
    return [
        name if is_valid_name(name) and name not in duplicates else hashed_name(point)
        for name, point in zip(names, grid, strict=True)
    ]


def build_grid(
    set_params: Sequence[str], params: Mapping[str, Any], check: bool = True
) -> list[Point]:
    """Every point of the grid, checked against ``params`` before anything runs (unless
    ``check`` is false: a local worker, whose parent checked the same grid)."""
    overrides = expand_grid(set_params)
    grid = [dict(parse_override(text) for text in point) for point in overrides]
    for values in grid if check else ():
        check_point(params, values)
    names = point_names(grid)
    return [
        Point(index, point, values, name)
        for index, (point, values, name) in enumerate(zip(overrides, grid, names, strict=True))
    ]


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``: shard 2 of 3."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise SweepError(f"--shard {text}: expected I/N with 1 <= I <= N, such as 2/3")
    return int(match[1]), int(match[2])


def select_shard(points: Sequence[Point], shard: int, count: int) -> list[Point]:
    """The points of shard ``shard`` (1-based) of ``count``: index modulo count = shard-1."""
    return [point for point in points if point.index % count == shard - 1]


def committed_first(points: Sequence[Point], params: Mapping[str, Any]) -> list[Point]:
    """``points`` in order, but those holding ``params``' own values (the committed ones)
    first. Run from the committed workspace, such a point finds its stages up to date and
    computes nothing; after another point, the workspace holds that point's results, and
    DVC would train it again (unless its run-cache has it)."""
    committed = flatten(params)
    return sorted(
        points,
        key=lambda point: any(
            key not in committed or committed[key] != value for key, value in point.values.items()
        ),
    )


def worker_share(
    shard: Sequence[Point], params: Mapping[str, Any], jobs: int, worker: int
) -> list[Point]:
    """The points of ``shard`` that local worker ``worker`` (1-based) of ``jobs`` runs.

    The committed points go first, then every worker takes every ``jobs``-th point: the
    points to train are dealt out evenly. Split by grid position instead, a worker could
    get a committed point, which computes nothing, while another trained one more. The
    workers agree on ``params``: each is a clone of the same commit."""
    ordered = committed_first(shard, params)
    return [point for i, point in enumerate(ordered) if i % jobs == worker - 1]


def plan_shards(n_points: int, max_workers: int) -> list[str]:
    """The shards (``"1/N"`` ...) of a grid of ``n_points`` on at most ``max_workers``."""
    count = max(1, min(n_points, max_workers))
    return [f"{i}/{count}" for i in range(1, count + 1)]


def experiment_ref(baseline: str, name: str) -> str:
    """The git ref DVC keeps the experiment ``name`` of ``baseline`` in."""
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def experiment_commits(refs: str, baseline: str) -> dict[str, str]:
    """``{name: commit}`` of the experiments of ``baseline`` in ``git ls-remote`` /
    ``for-each-ref`` output (``<sha> ... refs/exps/<2>/<38>/<name>``)."""
    prefix = experiment_ref(baseline, "")
    fields = (line.split() for line in refs.splitlines() if line.strip())
    return {ref.removeprefix(prefix): sha for sha, *_, ref in fields if ref.startswith(prefix)}


# Commands -------------------------------------------------------------------------------


def run_command(
    command: Sequence[str], timeout: float, capture: bool = False, cwd: Path | None = None
) -> tuple[int, str]:
    """Run ``command`` bounded by ``timeout`` seconds; return its exit code and, with
    ``capture``, its output. Output goes to a file, never a pipe, so that a daemon that
    inherits it cannot keep us waiting; on timeout, SIGTERM or Ctrl-C (``cli.Interrupted``)
    the command's whole process group is stopped."""
    with tempfile.TemporaryFile() as output:
        stream = output if capture else None
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT if capture else None,
            process_group=0,
            cwd=cwd,
        )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            raise SweepError(
                f"`{' '.join(command)}` did not finish within {timeout:g} s: stopped it"
            ) from None
        except BaseException:
            _stop_group(process)
            raise
        output.seek(0)
        return code, output.read().decode(errors="replace")


def _stop_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def last_line(output: str) -> str | None:
    """The last line a command printed, for a one-line error; None if it printed nothing."""
    lines = output.strip().splitlines()
    return lines[-1] if lines else None


def checked(command: Sequence[str], timeout: float = COMMAND_TIMEOUT, **kwargs: Any) -> str:
    """The output of ``command``; a failure is a one-line SweepError."""
    code, output = run_command(command, timeout, capture=True, **kwargs)
    if code != 0:
        last = last_line(output) or "no output"
        raise SweepError(f"`{' '.join(command)}` failed ({code}): {last}")
    return output


def remotes() -> tuple[str | None, bool]:
    """``("origin", True)`` if the git remote ``origin`` and a default DVC remote exist;
    ``None`` for no git remote, ``False`` for no DVC remote."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    git_code, _ = run_command(["git", "remote", "get-url", "origin"], COMMAND_TIMEOUT, True)
    # DVC's API reads the config in this process: `dvc remote default` costs a second.
    try:
        with Repo() as repo:
            default = repo.config["core"].get("remote")
    except DvcException:
        default = None
    return ("origin" if git_code == 0 else None), bool(default)


def head() -> str:
    return checked(["git", "rev-parse", "HEAD"]).strip()


def remote_commits(baseline: str, remote: str) -> dict[str, str]:
    """``{name: commit}`` of the experiments of ``baseline`` on the git ``remote``."""
    return experiment_commits(checked(["git", "ls-remote", remote, "refs/exps/*"]), baseline)


def local_commits(baseline: str) -> dict[str, str]:
    """``{name: commit}`` of the experiments of ``baseline`` here."""
    return experiment_commits(checked(["git", "for-each-ref", "refs/exps/"]), baseline)


def remote_names(baseline: str, remote: str) -> set[str]:
    """Experiments of ``baseline`` on the git ``remote``."""
    return set(remote_commits(baseline, remote))


def done_names(baseline: str, remote: str | None) -> set[str]:
    """Experiments of ``baseline`` that exist here and, with ``remote``, on that git remote."""
    done = set(local_commits(baseline))
    return done | remote_names(baseline, remote) if remote else done


def pull_refs(baseline: str, remote: str, names: set[str]) -> None:
    """Pull the refs, not the outputs, of the experiments ``names`` that are on the git
    ``remote`` but not here (one only here would make `dvc exp pull` fail)."""
    only_there = (remote_names(baseline, remote) & names) - done_names(baseline, None)
    if only_there:
        checked(["dvc", "exp", "pull", remote, *sorted(only_there), "--no-cache"])


def restore_workspace() -> None:
    """Put back what ``dvc exp run`` changed in the workspace: HEAD's files and outputs.

    The sweep started from a clean workspace (:func:`check_clean`), so every change to a
    tracked or staged file is the experiments'. In a project whose HEAD has no
    ``dvc.lock`` yet, HEAD has no outputs to check out: the experiments' outputs and the
    ``.gitignore`` files DVC wrote beside them are removed, and no other file (one a user
    made meanwhile stays).
    """
    from mnist_mlp.io.pipeline import declared_outputs

    checked(["git", "reset", "--quiet", "--hard", "HEAD"])
    lock_code, _ = run_command(["git", "cat-file", "-e", "HEAD:dvc.lock"], COMMAND_TIMEOUT, True)
    if lock_code != 0:  # HEAD has no dvc.lock
        outputs = declared_outputs()
        ignores = {str(Path(output).parent / ".gitignore") for output in outputs}
        # -x: also the ignored ones, but only these paths; a tracked .gitignore stays.
        checked(["git", "clean", "--quiet", "--force", "-d", "-x", "--", *outputs, *ignores])
    else:
        code, output = run_command(
            ["dvc", "checkout", "--force", "--allow-missing"], COMMAND_TIMEOUT, capture=True
        )
        if code != 0:
            log.warning("dvc checkout could not restore every output: %s", output.strip())
    MARKER.unlink(missing_ok=True)


def check_clean() -> None:
    """Raise SweepError if the workspace has changes: a sweep runs the committed project."""
    dirty = [line[3:] for line in checked(["git", "status", "--porcelain"]).splitlines()]
    if dirty:
        raise SweepError(
            "the workspace has uncommitted changes, which other machines would not run: "
            f"commit or stash them first ({', '.join(dirty)})"
        )


def recover_from_killed_shard() -> None:
    """Put the workspace back to HEAD after a shard that was killed outright, keeping what
    changed in tracked files since as a patch: edits made after the kill are not lost.

    Raises
    ------
    SweepError
        If the shard that left the marker is still running.
    """
    owner = MARKER.read_text().strip()
    if owner.isdigit() and int(owner) != os.getpid() and _is_sweep(int(owner)):
        raise SweepError(
            f"another sweep (process {owner}) is running in this workspace: wait for it "
            f"or stop it ({MARKER})"
        )
    patch = MARKER.with_name(f"sweep-interrupted-{time.strftime('%Y%m%d-%H%M%S')}.patch")
    changes = checked(["git", "diff", "--binary", "HEAD"])
    if changes:
        write_bytes(patch, changes.encode())
    log.warning(
        "a previous shard was killed: putting the workspace back to HEAD%s",
        f"; its changes to tracked files (and any made since) are in {patch}: "
        f"`git apply {patch}` puts them back"
        if changes
        else "",
    )
    restore_workspace()


def _is_sweep(pid: int) -> bool:
    """True if process ``pid`` runs this module (Linux's /proc; elsewhere, never)."""
    try:
        return b"mnist_mlp.tools.sweep" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@contextlib.contextmanager
def workspace_guard() -> Iterator[None]:
    """Refuse a workspace with changes (the grid runs the committed project on every
    machine), clean up after a killed shard, and restore the workspace when done."""
    if MARKER.exists():
        recover_from_killed_shard()
    check_clean()
    MARKER.parent.mkdir(parents=True, exist_ok=True)
    MARKER.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        restore_workspace()


# Running --------------------------------------------------------------------------------


def run_point(point: Point, pull: bool, timeout: float) -> bool:
    """``dvc exp run -n <name> -S ...`` in the workspace; True if it succeeded."""
    command = ["dvc", "exp", "run", "-n", point.name, *(f"-S{o}" for o in point.overrides)]
    if pull:
        command.append("--pull")
    log.info("running %s (%s)", point.name, " ".join(point.overrides))
    code, _ = run_command(command, timeout)
    if code != 0:
        log.error("%s failed: `%s` exited %d", point.name, " ".join(command), code)
    return code == 0


def outputs_not_on_dvc_remote(names: Sequence[str], baseline: str) -> dict[str, list[str]]:
    """The outputs of each experiment of ``baseline`` in ``names`` that a push from here
    should have put on the DVC remote and that the remote lacks, asked of the remote
    itself. Counted are the outputs that are cached, may be pushed and are in the local
    cache (DVC warns of the others itself); a directory counts as there when its ``.dir``
    object is, which DVC sends last.

    Raises
    ------
    SweepError
        If DVC cannot read the experiment or reach the remote.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    lacking: dict[str, list[str]] = {}
    if not names:
        return lacking
    try:
        with Repo() as repo:
            odbs: dict[tuple[str | None, str], Any] = {}
            for name in names:
                with repo.switch(experiment_ref(baseline, name)):
                    outs = [
                        out
                        for out in repo.index.outs
                        if out.use_cache and out.can_push and out.hash_info
                    ]
                for out in outs:
                    key = (out.remote, out.hash_name)
                    if key not in odbs:
                        odbs[key] = repo.cloud.get_remote_odb(
                            out.remote, "push", hash_name=out.hash_name
                        )
                    oid = out.hash_info.value
                    # Not out.cache: it refuses outputs read from a git revision.
                    if out.local_cache.exists(oid) and not odbs[key].exists(oid):
                        lacking.setdefault(name, []).append(str(out.def_path))
    except (DvcException, OSError) as exc:
        raise SweepError(f"cannot check the outputs on the DVC remote: {reason(exc)}") from None
    return lacking


def forget_what_dvc_pushed() -> None:
    """Drop DVC's data index, where ``dvc push`` keeps the list of objects it collected."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo() as repo:
            repo.drop_data_index()
    except DvcException as exc:
        raise SweepError(f"cannot drop DVC's data index: {reason(exc)}") from None


class Push(enum.Enum):
    """How a shard pushes each experiment it ran."""

    # To `origin` with a default DVC remote: the outputs and run-cache too.
    WITH_OUTPUTS = "with outputs"
    # To `origin` without a DVC remote: the git refs only.
    REFS = "refs"
    # A local worker to the repository it was cloned from, whose DVC cache it shares.
    REFS_TO_PARENT = "refs to the parent"


def push_experiments(names: Sequence[str], remote: str, baseline: str, how: Push) -> str | None:
    """Push the experiments ``names`` of ``baseline`` to ``remote``; return why a push of
    refs to the parent left some out (the caller looks at the remote), else None. DVC's
    failures raise.

    A local worker pushes with git itself: DVC's start-up cost a second per point, and its
    Studio notice and DVC remotes mean nothing for the parent. Like DVC, it never forces,
    so a ref another worker pushed first stays; the user's hooks and followed tags are
    not for these refs."""
    if not names:
        return None
    if how is not Push.REFS_TO_PARENT:
        cache = "--run-cache" if how is Push.WITH_OUTPUTS else "--no-cache"
        checked(["dvc", "exp", "push", remote, *names, cache])
        return None
    refs = [experiment_ref(baseline, name) for name in names]
    command = ["git", "push", "--porcelain", "--no-verify", "--no-follow-tags", remote]
    code, output = run_command([*command, *(f"{ref}:{ref}" for ref in refs)], COMMAND_TIMEOUT, True)
    if code == 0:
        return None
    # --porcelain: one "!<tab>from:to<tab>[rejected] (why)" line per ref git refused.
    refused = [line.split("\t")[-1] for line in output.splitlines() if line.startswith("!")]
    return "; ".join(refused) or last_line(output) or f"git push exited {code}"


def push_points(names: Sequence[str], remote: str, baseline: str, how: Push) -> None:
    """Push experiments to ``remote`` as ``how`` says; a name another worker pushed first
    (the same point, run twice) counts as pushed. With the outputs, the DVC remote is
    checked to hold them."""
    failure = push_experiments(names, remote, baseline, how)
    there = remote_commits(baseline, remote)
    missing = set(names) - set(there)
    if missing:
        said = f": {failure}" if failure else ""
        raise SweepError(f"pushing did not put {', '.join(sorted(missing))} on {remote}{said}")
    if how is Push.WITH_OUTPUTS:
        here = local_commits(baseline)
        # A point another worker pushed first is its own to check: DVC sent none of ours.
        ours = [name for name in names if there[name] == here.get(name)]
        ensure_outputs_pushed(ours, remote, baseline)
    log.info("pushed %s to %s", ", ".join(names), remote)


def ensure_outputs_pushed(names: Sequence[str], remote: str, baseline: str) -> None:
    """Push the experiments ``names`` to ``remote`` again if the DVC remote lacks their
    outputs.

    A push killed while DVC saved its list of objects to send leaves that list part-saved,
    and later pushes of the same experiments reuse it and report success (DVC 3.67;
    treeverse/dvc#10977 looks like the same fault): the list goes first.

    Raises
    ------
    SweepError
        If the remote still lacks some after that.
    """
    if not (lacking := outputs_not_on_dvc_remote(names, baseline)):
        return
    log.warning(
        "the DVC remote lacks %s although `dvc exp push` reported success: dropping DVC's "
        "data index and pushing again",
        _describe(lacking),
    )
    forget_what_dvc_pushed()
    push_experiments(sorted(lacking), remote, baseline, Push.WITH_OUTPUTS)
    if lacking := outputs_not_on_dvc_remote(sorted(lacking), baseline):
        raise SweepError(
            f"`dvc exp push` did not put the outputs {_describe(lacking)} on the DVC remote"
        )


def _describe(lacking: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(paths)}" for name, paths in sorted(lacking.items()))


def run_shard(
    points: Sequence[Point],
    remote: str | None,
    pull: bool,
    push: Push,
    timeout: float = POINT_TIMEOUT,
) -> list[str]:
    """Run the points not yet done here or on the git ``remote``, one after another,
    pushing each there when done, as ``push`` says; return the names that failed. With
    ``pull`` the first point fetches missing data and run-cache from the DVC remote (``dvc
    exp run --pull``) instead of recomputing shared stages."""
    if not MARKER.exists():  # else workspace_guard restores first, then checks
        check_clean()
    baseline = head()
    here = done_names(baseline, None) & {point.name for point in points}
    if remote and here:
        # A worker killed while pushing leaves a ref without its outputs on the remote.
        push_points(sorted(here), remote, baseline, push)
    done = done_names(baseline, remote)
    todo = [point for point in points if point.name not in done]
    log.info("%d of %d points to run, the others are done", len(todo), len(points))
    failed: list[str] = []
    if not todo:
        return failed
    with workspace_guard():  # from here the workspace is HEAD's
        for point in committed_first(todo, read_yaml(PARAMS_FILE)):
            if not run_point(point, pull, timeout):
                failed.append(point.name)
                continue
            pull = False
            if remote:
                push_points([point.name], remote, baseline, push)
    return failed


def prepare_clone(clone: Path, root: Path, commit: str, cache: str) -> None:
    """A clone of ``root`` at ``commit`` whose DVC cache is ``cache``; reused across runs."""
    from dvc.config import Config

    if not (clone / ".git").exists():
        shutil.rmtree(clone, ignore_errors=True)
        clone.parent.mkdir(parents=True, exist_ok=True)
        checked(["git", "clone", "--quiet", "--shared", "--no-checkout", str(root), str(clone)])
    checked(["git", "fetch", "--quiet", "origin", commit], cwd=clone)
    # --force: a worker killed in a previous sweep may have left changes behind.
    checked(["git", "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"], cwd=clone)
    with Config(dvc_dir=clone / ".dvc").edit("local") as config:  # `dvc cache dir --local`
        config["cache"]["dir"] = cache
    # This repository decides what is done: experiments removed here must run again.
    for ref in checked(
        ["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=clone
    ).split():
        checked(["git", "update-ref", "-d", ref], cwd=clone)


def run_parallel(
    set_params: Sequence[str], shard: str, jobs: int, timeout: float, baseline: str
) -> list[str]:
    """Run ``shard`` with ``jobs`` worker processes, each in its own clone of this
    repository at ``baseline`` (under ``.dvc/tmp``) sharing its DVC cache and pushing its
    experiments back here; return the workers that failed. All at one commit, they deal
    out the same shares (:func:`worker_share`)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    root = Path.cwd()
    try:
        with Repo() as repo:  # `dvc cache dir`, without a second DVC process
            cache = repo.cache.local_cache_dir
    except DvcException as exc:
        raise SweepError(f"cannot find the DVC cache: {reason(exc)}") from None
    workers = []
    try:
        for job in range(1, jobs + 1):
            clone = root / WORKERS_DIR / f"worker-{job}"
            prepare_clone(clone, root, baseline, cache)
            command = [
                sys.executable, "-m", "mnist_mlp.tools.sweep", "run", "--shard", shard,
                "--jobs", str(jobs), "--worker", str(job), "--timeout", str(timeout),
                "--local-worker",
                *(f"-S{text}" for text in set_params),
            ]  # fmt: skip
            process = subprocess.Popen(command, cwd=clone, stdin=subprocess.DEVNULL)
            workers.append((clone.name, process))
        return [name for name, process in workers if process.wait() != 0]
    finally:
        for _, process in workers:
            if process.poll() is None:
                process.terminate()
        for _, process in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(60)


def run_sweep(
    points: Sequence[Point],
    set_params: Sequence[str],
    shard: str,
    jobs: int,
    timeout: float,
) -> list[str]:
    """Run the points of ``shard`` here with ``jobs`` workers; push them where remotes
    exist. Return what failed."""
    remote, storage = remotes()
    if remote and not storage:
        log.warning("no default DVC remote: outputs are not pushed, only the experiments")
    push = Push.WITH_OUTPUTS if storage else Push.REFS
    if jobs == 1:
        return run_shard(points, remote, storage, push, timeout)
    check_clean()
    baseline = head()
    names = {point.name for point in points}
    if remote:
        pull_refs(baseline, remote, names)  # local refs tell the workers these are done
    failed = run_parallel(set_params, shard, jobs, timeout, baseline)
    if remote:
        to_push = sorted((done_names(baseline, None) & names) - remote_names(baseline, remote))
        if to_push:
            push_points(to_push, remote, baseline, push)
    return failed


# Gathering ------------------------------------------------------------------------------


def experiment_records(
    exp_show: Sequence[Mapping[str, Any]], metrics_file: str
) -> dict[str, dict[str, Any]]:
    """``{name: {"rev", "metrics"}}`` of the named experiments in ``dvc.api.exp_show()``'s
    rows. A score is its own column, or ``<file>:<score>`` where another metrics file has
    the same key."""

    def score(row: Mapping[str, Any], name: str) -> Any:
        return row.get(f"{metrics_file}:{name}", row.get(name))

    return {
        row["Experiment"]: {"rev": row["rev"], "metrics": {s: score(row, s) for s in SCORES}}
        for row in exp_show
        if row.get("Experiment")
    }


def final_loss(loss_csv: str) -> float | None:
    rows = list(csv.DictReader(io.StringIO(loss_csv)))
    return float(rows[-1]["loss"]) if rows else None


def sweep_rows(
    points: Sequence[Point],
    records: Mapping[str, Mapping[str, Any]],
    losses: Mapping[str, float | None],
) -> list[dict[str, Any]]:
    """One row per grid point: name, swept params, scores and final loss, best first;
    missing points last, with ``status: missing``."""
    rows = []
    for point in points:
        record = records.get(point.name)
        metrics = record["metrics"] if record else {}
        row: dict[str, Any] = {"name": point.name}
        row |= {key: json.dumps(value) for key, value in point.values.items()}
        row |= {score: metrics.get(score) for score in SCORES}
        row["final_loss"] = losses.get(point.name)
        row["status"] = "done" if record else "missing"
        rows.append(row)

    def order(row: dict[str, Any]) -> tuple[bool, float]:
        score = row["test_score"]
        missing = score is None or (isinstance(score, float) and math.isnan(score))
        return missing, -(score or 0.0)

    return sorted(rows, key=order)


def rows_to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue()


def rows_to_table(rows: Sequence[Mapping[str, Any]], markdown: bool = False) -> str:
    """The rows as a text table of any width (or GitHub Markdown), numbers to 6 digits."""
    from tabulate import tabulate

    return tabulate(
        [["–" if v is None else v for v in row.values()] for row in rows],
        headers=list(rows[0]),
        tablefmt="github" if markdown else "simple",
        floatfmt=".6g",
        disable_numparse=False,
    )


def markdown_report(rows: Sequence[Mapping[str, Any]], figure: str | None) -> str:
    missing = [row["name"] for row in rows if row["status"] == "missing"]
    lines = [f"# Sweep: {len(rows)} grid points, sorted by test_score", ""]
    if missing:
        lines += [f"**Missing ({len(missing)})**: {', '.join(missing)}", ""]
    lines += [rows_to_table(rows, markdown=True), ""]
    if figure:
        lines += [f"![The best runs side by side]({figure})", ""]
    return "\n".join(lines)


def gather(
    points: Sequence[Point], csv_path: str, md_path: str, figure_path: str, best: int
) -> list[str]:
    """Pull the grid's experiments, write the CSV, Markdown and figure; return missing names.

    The runs' files are where ``dvc.yaml``'s train and evaluate stages write them.
    """
    import dvc.api
    from dvc.exceptions import DvcException

    from mnist_mlp.io.images import save_figure
    from mnist_mlp.io.pipeline import stage_arguments
    from mnist_mlp.tools.runs import RunFiles, comparison_figure, load_run

    files = RunFiles.from_dvc_yaml()
    metrics_file = stage_arguments("evaluate")["--metrics"]

    baseline = head()
    remote, _ = remotes()
    if remote:
        # Only the refs: the table reads git, the figure reads its few models lazily.
        pull_refs(baseline, remote, {point.name for point in points})
    try:
        records = experiment_records(dvc.api.exp_show(), metrics_file)
    except DvcException as exc:
        raise SweepError(f"cannot list the experiments: {reason(exc)}") from None
    losses = {
        point.name: final_loss(
            checked(["git", "show", f"{records[point.name]['rev']}:{files.loss}"])
        )
        for point in points
        if point.name in records
    }
    rows = sweep_rows(points, records, losses)
    done = [row["name"] for row in rows if row["status"] == "done"][:best]
    # A point whose outputs never reached the DVC remote keeps its row (its scores are in
    # git) and is left out of the figure, which draws the others.
    runs = []
    for name in done:
        try:
            runs.append(load_run(name, records[name]["rev"], files))
        except PipelineError as exc:
            log.warning("%s is left out of the figure: %s", name, exc)
    figure = None
    if runs:
        save_figure(figure_path, comparison_figure(runs))
        figure = os.path.relpath(figure_path, Path(md_path).parent)
    write_bytes(csv_path, rows_to_csv(rows).encode())
    write_bytes(md_path, markdown_report(rows, figure).encode())
    sys.stdout.write(rows_to_table(rows) + "\n")
    log.info("wrote %s, %s and %s", csv_path, md_path, figure_path if figure else "no figure")
    return [row["name"] for row in rows if row["status"] == "missing"]


# CLI ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    commands = parser.add_subparsers(dest="command", required=True)
    grid = argparse.ArgumentParser(add_help=False)
    grid.add_argument(
        "-S",
        "--set-param",
        action="append",
        default=[],
        dest="set_params",
        help="param=value[,value...] as for `dvc exp run -S`; several -S make a grid",
    )
    run = commands.add_parser("run", parents=[grid], help="run one shard of the grid")
    run.add_argument("--shard", default="1/1", help="I/N: run shard I of N (default 1/1)")
    run.add_argument("-j", "--jobs", type=int, default=1, help="worker processes on this machine")
    run.add_argument("--timeout", type=float, default=POINT_TIMEOUT, help="seconds per point")
    run.add_argument("--local-worker", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--worker", type=int, default=1, help=argparse.SUPPRESS)
    plan = commands.add_parser("plan", parents=[grid], help="print the shards as JSON")
    plan.add_argument("--max-workers", type=int, default=4)
    gathering = commands.add_parser("gather", parents=[grid], help="pull and tabulate the grid")
    gathering.add_argument("--csv", default="reports/sweep.csv")
    gathering.add_argument("--markdown", default="reports/sweep.md")
    gathering.add_argument("--figure", default="reports/sweep.png")
    gathering.add_argument("--best", type=int, default=3, help="runs drawn in the figure")
    args = parser.parse_args(argv)

    params = read_yaml(PARAMS_FILE)
    points = build_grid(args.set_params, params, check=not getattr(args, "local_worker", False))
    if args.command == "plan":
        sys.stdout.write(json.dumps(plan_shards(len(points), args.max_workers)) + "\n")
    elif args.command == "gather":
        missing = gather(points, args.csv, args.markdown, args.figure, args.best)
        if missing:
            raise SweepError(
                f"{len(missing)} of {len(points)} points missing: {', '.join(missing)}"
            )
    else:
        if args.jobs < 1:
            raise SweepError(f"--jobs {args.jobs}: expected 1 or more worker processes")
        shard = select_shard(points, *parse_shard(args.shard))
        if args.local_worker:
            # A worker of `--jobs`: its share of the shard; origin is the parent repository.
            mine = worker_share(shard, params, args.jobs, args.worker)
            pull = remotes()[1]
            failed = run_shard(mine, "origin", pull, Push.REFS_TO_PARENT, args.timeout)
        else:
            failed = run_sweep(shard, args.set_params, args.shard, args.jobs, args.timeout)
        if failed:
            raise SweepError(f"failed: {', '.join(failed)} (see the log above)")


if __name__ == "__main__":
    run_stage(main)
