"""Sweeps: the grid, names and shards, bounded commands, what a sweep records however it
ends, and shards run by several clones sharing a bare git repository and a DVC remote."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from mnist_mlp.errors import PipelineError
from mnist_mlp.tools.sweep import grid, run
from tests.helpers import PROJECT_ROOT, DvcProject, Running, assert_one_line_error

PARAMS = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
GRID = ["train.learning_rate_init=0.05,0.1,0.2", "train.hidden_layer_sizes=[5],[4,3]"]
NAMES = ["lri0.05-hls5", "lri0.05-hls4x3", "lri0.1-hls5", "lri0.1-hls4x3", "lri0.2-hls5"]
NAMES.append("lri0.2-hls4x3")


def sweep(*args: str) -> list[str]:
    return [sys.executable, "-m", "mnist_mlp.tools.sweep", *args]


# The grid ---------------------------------------------------------------------------------


def test_grid_expands_like_dvc_with_readable_names() -> None:
    points = grid.build_grid(GRID, PARAMS)
    assert [p.name for p in points] == NAMES
    assert points[1].overrides == (
        "train.learning_rate_init=0.05",
        "train.hidden_layer_sizes=[4,3]",
    )
    assert points[1].values == {
        "train.learning_rate_init": 0.05,
        "train.hidden_layer_sizes": [4, 3],
    }
    assert grid.with_values(PARAMS, points[1].values)["train"]["hidden_layer_sizes"] == [4, 3]


def test_names_fall_back_to_a_hash_when_too_long_not_a_ref_or_not_unique() -> None:
    names = grid.point_names([{"visualize.cmap": "a" * 50}, {"visualize.cmap": "x..y"}])
    assert [len(n) for n in names] == [16, 16] and names[0] != names[1]
    assert all(n.startswith("sweep-") for n in names)
    assert grid.point_names([{"a.b": "x/y"}, {"a.b": "x-y"}])[1] == "bx-y"
    assert grid.point_names([{"train.alpha": 1}, {"train.alpha": "1"}])[0].startswith("sweep-")


def test_keys_with_the_same_initials_get_distinct_labels() -> None:
    points = [{"split.train_size": 60, "split.test_size": 10}]
    assert grid.point_names(points) == ["train_size60-test_size10"]


def test_shards_cover_the_grid_exactly_once() -> None:
    points = grid.build_grid(GRID, PARAMS)
    shards = grid.plan_shards(len(points), 4)
    assert shards == ["1/4", "2/4", "3/4", "4/4"]
    names = [p.name for shard in shards for p in grid.shard_points(points, shard)]
    assert sorted(names) == sorted(NAMES)
    assert grid.plan_shards(2, 4) == ["1/2", "2/2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-Strain.hiden_layer_sizes=[5]"], "-S train.hiden_layer_sizes: unknown param in params"),
        (["-Strain.alpha="], "-S train.alpha: empty value"),
        (["-Strain.solver=sgd,newton"], "train.solver=newton: params.yaml: train.solver: The"),
        (["-Svisualize.rows=4,0"], "visualize.rows=0: params.yaml: visualize.rows: expected an"),
        (["-Strain.alpha=[0.1"], "-S train.alpha=[0.1: no viable alternative at input"),
        (["-Strain.alpha=interval(0,1)"], "-S train.alpha=interval(0,1): BasicSweeper does not"),
        (["-Strain.alpha=0.1", "-Strain.alpha=0.2"], "-S train.alpha: swept twice"),
        (["-Strain.max_iter=range(1,10001)"], "the grid has 10000 points, more than 1000"),
        (["-S+train.extra=1"], "-S +train.extra: a sweep sets existing params.yaml params"),
        (["-Strain.alpha=0.1", "--shard=3/2"], "--shard 3/2: expected I/N"),
        ([], "no grid"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 12 else None,
)
def test_a_bad_grid_stops_before_anything_runs_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Run in a directory that is not even a repository: nothing may be started."""
    (tmp_path / "params.yaml").write_text((PROJECT_ROOT / "params.yaml").read_text())
    result = subprocess.run([*sweep("run"), *args], cwd=tmp_path, capture_output=True, text=True)
    assert_one_line_error(result, message)
    assert os.listdir(tmp_path) == ["params.yaml"]


# Commands ---------------------------------------------------------------------------------


def test_a_daemon_holding_the_output_does_not_block() -> None:
    """A child that leaves a grandchild holding its output must not keep the caller waiting."""
    result: list[tuple[int, str]] = []
    command = ["sh", "-c", "sleep 300 & echo $! ; echo started"]
    caller = threading.Thread(target=lambda: result.append(run.run_command(command, 60)))
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "run_command waited for the daemon"
    code, output = result[0]
    os.kill(int(output.split()[0]), signal.SIGKILL)
    assert code == 0 and output.split()[1] == "started"


def test_a_stuck_command_is_stopped_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = ["sh", "-c", f"sh -c 'echo $$ > {pid_file}; exec sleep 300'; true"]
    with pytest.raises(PipelineError, match="took over 1 s: stopped$"):
        run.run_command(command, timeout=1)
    assert (
        not psutil.pid_exists(int(pid_file.read_text()))
        or psutil.Process(int(pid_file.read_text())).status() == psutil.STATUS_ZOMBIE
    )


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (
            "fatal: '/x' does not appear to be a git repository\nfatal: Could not read from "
            "remote repository.\n\nPlease make sure you have the correct access rights\nand "
            "the repository exists.\n",
            "fatal: '/x' does not appear to be a git repository",
        ),
        (
            "ERROR: failed to push - [Errno 30] Read-only file system\nHaving any troubles? "
            "Hit us up at https://dvc.org/support, we are always happy to help!\n",
            "ERROR: failed to push - [Errno 30] Read-only file system",
        ),
        (" ! [remote rejected] refs/exps/x (pre-receive hook declined)\n", "! [remote rejected]"),
        ("just a last line\n", "just a last line"),
    ],
)
def test_a_failure_is_told_by_its_error_line_not_a_fragment(
    tmp_path: Path, output: str, line: str
) -> None:
    (tmp_path / "output").write_text(output)
    with pytest.raises(PipelineError) as failed:
        run.checked("sh", "-c", f"cat {tmp_path / 'output'}; exit 3")
    assert str(failed.value).split(" failed (3): ")[1].startswith(line)


def test_a_second_sweep_in_the_same_workspace_waits_for_the_first(tmp_path: Path) -> None:
    """Not a DVC repository: once it has the lock, the sweep stops at its first DVC call."""
    (tmp_path / "params.yaml").write_text((PROJECT_ROOT / "params.yaml").read_text())
    (tmp_path / run.LOCK).parent.mkdir(parents=True)
    log = tmp_path / "sweep.log"
    with (tmp_path / run.LOCK).open("a") as lock, log.open("w") as output:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as the first sweep, or its experiment, holds it
        second = subprocess.Popen([*sweep("run"), "-Strain.alpha=0.1"], cwd=tmp_path,
                                  stderr=output, text=True)  # fmt: skip
        wait_until(lambda: "runs here: waiting" in log.read_text(), "the second sweep to wait")
        time.sleep(1)
        assert second.poll() is None
    assert second.wait(timeout=60) == 1
    assert log.read_text().splitlines()[-1].startswith("ERROR __main__: cannot list the exp")


# One shard here ---------------------------------------------------------------------------


def experiments(project: DvcProject) -> dict[str, str]:
    names = project.dvc("exp", "list", "--name-only").stdout.split()
    return dict(zip(names, project.dvc("exp", "list", "--sha-only").stdout.split(), strict=True))


def recorded_params(project: DvcProject, commit: str) -> dict:
    return yaml.safe_load(project.git("show", f"{commit}:params.yaml").stdout)


def assert_true_record(project: DvcProject, points: dict[str, dict]) -> None:
    """Every experiment here is a grid point: HEAD's params with its values, its scores
    those of a model trained with them (train's per-epoch record of that model)."""
    head = yaml.safe_load(project.git("show", "HEAD:params.yaml").stdout)
    for name, commit in experiments(project).items():
        params = recorded_params(project, commit)
        assert params == grid.with_values(head, points[name]), name
        lock = yaml.safe_load(project.git("show", f"{commit}:dvc.lock").stdout)
        recorded = lock["stages"]["train"]["params"]["params.yaml"]["train"]
        assert recorded["max_iter"] == params["train"]["max_iter"], name
        loss = project.git("show", f"{commit}:reports/loss.csv").stdout.splitlines()
        assert len(loss) - 1 == params["train"]["max_iter"], name


def assert_clean(project: DvcProject) -> None:
    assert project.git("status", "--porcelain", "--untracked-files=no").stdout == ""
    assert "Data and pipelines are up to date" in project.dvc("status").stdout
    assert project.git("stash", "list").stdout == ""


@pytest.mark.pipeline
def test_a_sweep_runs_its_points_and_leaves_the_workspace_and_the_remote_untouched(
    reproduced: DvcProject, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    reproduced.git("clone", "-q", "--bare", str(reproduced.root), str(origin))
    reproduced.git("remote", "add", "origin", str(origin))
    (reproduced.root / "notes.txt").write_text("a file of the user's, untracked\n")
    first = reproduced.run(*sweep("run", "-Strain.max_iter=2,3,4"))
    assert "3 of 3 points to run" in first.stderr
    assert (
        "mi2: running train.max_iter=2" in first.stderr and "Running stage 'train':" in first.stderr
    )
    assert_true_record(reproduced, {f"mi{i}": {"train.max_iter": i} for i in (2, 3, 4)})
    assert_clean(reproduced)
    assert (reproduced.root / "notes.txt").exists()
    assert (
        subprocess.run(
            ["git", "for-each-ref", "refs/exps/"], cwd=origin, capture_output=True, text=True
        ).stdout
        == ""
    )  # no PUSH, nothing pushed
    # The committed point (max_iter=3) trained nothing: its stages were up to date.
    mi3 = first.stderr[first.stderr.index("mi3: running") : first.stderr.index("mi4: running")]
    assert "Running stage 'train'" not in mi3
    # An uncommitted edit does not make the recorded points false: they are HEAD's.
    params = reproduced.root / "params.yaml"
    params.write_text(params.read_text().replace("cmap: gray", "cmap: viridis"))
    again = reproduced.run(*sweep("run", "-Strain.max_iter=2,3,4"))
    assert "0 of 3 points to run" in again.stderr and "Running stage" not in again.stderr

    gathered = reproduced.run(*sweep("gather", "-Strain.max_iter=2,3,4,5"), check=False)
    assert_one_line_error(gathered, "1 of 4 points not done: mi5")
    rows = list(csv.DictReader((reproduced.root / "reports/sweep.csv").open()))
    assert [row["name"] for row in rows][-1] == "mi5" and rows[-1]["status"] == "missing"
    assert {row["status"] for row in rows[:-1]} == {"done"}
    assert "| mi5 " in (reproduced.root / "reports/sweep.md").read_text()


@pytest.mark.pipeline
def test_a_dirty_workspace_is_refused_in_one_line_saying_what_to_do(reproduced: DvcProject) -> None:
    reproduced.dvc("exp", "run", "-S", "train.max_iter=2")  # leaves its results here
    result = reproduced.run(*sweep("run", "-Strain.max_iter=4"), check=False)
    line = assert_one_line_error(result, "the workspace has uncommitted changes (")
    assert "(`git checkout -- . && dvc checkout` drops what a `dvc exp run` left)" in line
    assert len(experiments(reproduced)) == 1


@pytest.mark.pipeline
def test_an_experiment_named_as_a_point_but_not_it_is_neither_skipped_nor_gathered(
    reproduced: DvcProject,
) -> None:
    reproduced.dvc("exp", "run", "--temp", "-n", "mi4", "-S", "train.max_iter=5")
    result = reproduced.run(*sweep("run", "-Strain.max_iter=4"), check=False)
    assert_one_line_error(
        result, "the experiment mi4 is not that grid point (its params.yaml is not HEAD's with "
        "train.max_iter=4): `dvc exp remove [-g <remote>] mi4`",
    )  # fmt: skip
    gathered = reproduced.run(*sweep("gather", "-Strain.max_iter=4"), check=False)
    assert_one_line_error(gathered, "1 of 1 points not done: mi4")
    rows = list(csv.DictReader((reproduced.root / "reports/sweep.csv").open()))
    assert rows[0]["status"].startswith("false: its params.yaml is not HEAD's")
    assert rows[0]["test_score"] == ""


@pytest.mark.pipeline
def test_an_experiment_that_changes_more_than_the_outputs_stops_the_sweep_unpushed(
    reproduced: DvcProject,
) -> None:
    """A stage that writes a tracked file it does not declare: its change would ride along."""
    dvc_yaml = reproduced.root / "dvc.yaml"
    stages = yaml.safe_load(dvc_yaml.read_text())
    stages["stages"]["visualize"]["cmd"] += " && echo once more >> notes.txt"
    dvc_yaml.write_text(yaml.safe_dump(stages, sort_keys=False))
    (reproduced.root / "notes.txt").write_text("notes\n")
    reproduced.dvc("repro")
    reproduced.commit("visualize also writes notes.txt")
    result = reproduced.run(*sweep("run", "-Strain.max_iter=4"), check=False)
    line = assert_one_line_error(result, "mi4 is not that grid point (it also changes notes.txt)")
    assert ": kept here, not pushed, `git diff HEAD " in line  # where a change of yours would be
    assert list(experiments(reproduced)) == ["mi4"]
    assert_clean(reproduced)
    again = reproduced.run(*sweep("run", "-Strain.max_iter=4"), check=False)
    assert_one_line_error(again, "the experiment mi4 is not that grid point (it also changes")


@pytest.mark.pipeline
@pytest.mark.parametrize("stage", ["train", "evaluate", "visualize"])
def test_a_sweep_killed_at_any_stage_then_run_again_records_nothing_false(
    reproduced: DvcProject, stage: str
) -> None:
    """SIGKILL to the sweep's whole process group (as `kill -9 -- -PGID` or a scheduler
    does): its `dvc exp run` lives on in a group of its own; the next sweep, started at
    once, waits for it."""
    points = ["-Strain.max_iter=4"]
    first = Running(reproduced, *sweep("run", *points), start_new_session=True)
    first.child(f"stages/{stage}.py", timeout=120)
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()  # its output ends only with the experiment, which lives on
    rerun = reproduced.run(*sweep("run", *points))
    first.finish()
    assert "0 of 1 points to run" in rerun.stderr  # it waited for mi4, and did not run it twice
    assert_true_record(reproduced, {"mi4": {"train.max_iter": 4}})
    assert sorted(experiments(reproduced)) == ["mi4"]
    assert_clean(reproduced)
    under = [
        p
        for p in psutil.process_iter(["cwd"])
        if str(p.info["cwd"]).startswith(str(reproduced.root))
    ]
    assert under == []


@pytest.mark.pipeline
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_sweep_stops_everything_it_started_and_records_nothing(
    reproduced: DvcProject, signum: signal.Signals
) -> None:
    worker = Running(reproduced, *sweep("run", "-Strain.max_iter=40", "-Strain.batch_size=1"))
    train = worker.child("stages/train.py", timeout=120)
    worker.wait_for_line(r"epoch 1: loss")
    worker.process.send_signal(signum)
    assert worker.finish() == 128 + signum
    assert worker.lines[-1].endswith(f"stopped by {signum.name} before finishing; run it again\n")
    assert not train.is_running() or train.status() == psutil.STATUS_ZOMBIE
    assert experiments(reproduced) == {}
    assert_clean(reproduced)


@pytest.mark.pipeline
def test_edits_made_during_a_sweep_are_neither_recorded_nor_lost(reproduced: DvcProject) -> None:
    """Each point runs in DVC's copy of HEAD: an edit made meanwhile stays in the
    workspace, is in no experiment, and stops the sweep before its next point."""
    readme = reproduced.root / "README.md"
    readme.write_text("# The project\n")
    reproduced.commit("a README")
    params = reproduced.root / "params.yaml"
    worker = Running(reproduced, *sweep("run", "-Strain.max_iter=6,7"))
    worker.wait_for_line(r"epoch 2: loss")
    readme.write_text("# The project\nA line the user added meanwhile.\n")
    params.write_text(params.read_text().replace("cmap: gray", "cmap: viridis"))
    assert worker.finish() == 1
    assert worker.lines[-1].startswith(
        "ERROR __main__: the workspace has uncommitted changes (README.md, params.yaml)"
    )
    assert sorted(experiments(reproduced)) == ["mi6"]
    assert_true_record(reproduced, {"mi6": {"train.max_iter": 6}})
    assert (
        "meanwhile"
        not in reproduced.git("show", f"{experiments(reproduced)['mi6']}:README.md").stdout
    )
    assert readme.read_text().endswith("A line the user added meanwhile.\n")
    assert "cmap: viridis" in params.read_text()


# Several clones ---------------------------------------------------------------------------


def clone(origin: Path, root: Path, env: dict[str, str]) -> DvcProject:
    subprocess.run(["git", "clone", "-q", str(origin), str(root)], check=True, env=env)
    return DvcProject(root, env)


def names_on(project: DvcProject, remote: str = "origin") -> set[str]:
    return set(project.dvc("exp", "list", remote, "--name-only").stdout.split())


def wait_until(condition, what: str, attempts: int = 900) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def shared(reproduced: DvcProject, tmp_path: Path) -> tuple[DvcProject, Path]:
    """The reproduced tiny project pushed to a bare git repository and a DVC remote."""
    reproduced.dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-storage"))
    reproduced.commit("a DVC remote")
    reproduced.dvc("push")
    origin = tmp_path / "origin.git"
    reproduced.git("clone", "-q", "--bare", str(reproduced.root), str(origin))
    return reproduced, origin


@pytest.mark.pipeline
def test_three_shards_on_three_clones_then_gather(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    project, origin = shared
    workers = [clone(origin, tmp_path / f"worker-{i}", project.env) for i in (1, 2, 3)]
    grid_args = [f"-S{g}" for g in GRID]

    def start(worker: DvcProject, shard: str) -> Running:
        return Running(worker, *sweep("run", f"--shard={shard}", "--push=origin", *grid_args),
                       start_new_session=True)  # fmt: skip

    # Worker 1 is killed mid-shard, after its first point reached the remote.
    first = start(workers[0], "1/3")
    wait_until(lambda: NAMES[0] in names_on(workers[0]), "worker 1's first point")
    os.killpg(first.process.pid, signal.SIGKILL)
    first.finish()
    runs = [start(worker, f"{i}/3") for i, worker in enumerate(workers, 1)]
    assert [r.finish(timeout=900) for r in runs] == [0, 0, 0], [r.output for r in runs]
    # Its pushed point is not run again; nor is its second if the experiment it left running
    # (that the next sweep waits for) recorded it.
    assert f"{NAMES[0]}: running" not in runs[0].output
    assert "1 of 2 points to run" in runs[0].output or "0 of 2 points to run" in runs[0].output
    assert names_on(workers[0]) == set(NAMES)
    for worker, r in zip(workers, runs, strict=True):
        # fetch and preprocess ran once in all, in the baseline's `dvc repro`.
        assert "Running stage 'preprocess'" not in r.output
        assert worker.git("status", "--porcelain").stdout == ""

    gatherer = clone(origin, tmp_path / "gatherer", project.env)
    gathered = gatherer.run(*sweep("gather", "--pull=origin", *grid_args))
    rows = list(csv.DictReader((gatherer.root / "reports/sweep.csv").open()))
    assert sorted(row["name"] for row in rows) == sorted(NAMES)
    assert {row["status"] for row in rows} == {"done"}
    assert [float(row["test_score"]) for row in rows] == sorted(
        (float(row["test_score"]) for row in rows), reverse=True
    )
    assert gathered.stdout.splitlines()[0].split() == list(rows[0])
    for row in rows:
        commit = experiments(gatherer)[row["name"]]
        scores = json.loads(gatherer.git("show", f"{commit}:reports/metrics.json").stdout)
        assert float(row["test_score"]) == scores["test_score"]
    # Every point's outputs reached the DVC remote: a fresh clone pulls a point whole.
    gatherer.dvc("exp", "pull", "origin", NAMES[0])
    gatherer.dvc("exp", "apply", NAMES[0])
    assert "Data and pipelines are up to date" in gatherer.dvc("status").stdout


# `dvc exp push` killed while DVC saves, output by output, the list of objects it will send.
KILLED_WHILE_COLLECTING = """
import os, sys
import dvc_data.index.collect as collect
from dvc.cli import main

original, calls = collect._collect_from_index, []

def killed_at_the_second_output(*args, **kwargs):
    calls.append(args[3])
    if len(calls) == 2:
        os._exit(9)
    return original(*args, **kwargs)

collect._collect_from_index = killed_at_the_second_output
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.pipeline
def test_a_push_killed_while_dvc_lists_the_outputs_is_completed_on_the_next_run(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    """DVC keeps the list a killed push had half-saved, and the next `dvc exp push` sends
    only that part while reporting success (the fault `push_index` works around): the
    sweep asks the DVC remote itself and pushes again."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    worker.run(*sweep("run", "-Strain.max_iter=2"))
    commit = experiments(worker)["mi2"]
    lock = yaml.safe_load(worker.git("show", f"{commit}:dvc.lock").stdout)
    model = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"].endswith(".skops"))
    pushed_model = tmp_path / "dvc-storage/files/md5" / model[:2] / model[2:]
    killed = worker.run(
        sys.executable, "-c", KILLED_WHILE_COLLECTING, "exp", "push", "origin", "mi2",
        "--run-cache", check=False,
    )  # fmt: skip
    assert killed.returncode == 9
    worker.dvc("exp", "push", "origin", "mi2", "--run-cache")
    assert not pushed_model.is_file()  # DVC's fault: a plain push claims success

    again = worker.run(*sweep("run", "--push=origin", "-Strain.max_iter=2"))
    assert "0 of 1 points to run" in again.stderr
    assert "the DVC remote lacks mi2: models/mlp.skops" in again.stderr
    assert pushed_model.is_file()
