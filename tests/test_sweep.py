"""Sweeps: the grid, names and shards, bounded commands, and shards run by several clones
that share a bare git repository and a directory DVC remote, then gathered by another."""

from __future__ import annotations

import contextlib
import csv
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

from mnist_mlp.tools import sweep
from tests.helpers import PROJECT_ROOT, DvcProject, Running, make_dvc_project, tiny_params

PARAMS = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
GRID = ["train.learning_rate_init=0.05,0.1,0.2", "train.hidden_layer_sizes=[5],[4,3]"]
NAMES = ["lri0.05-hls5", "lri0.05-hls4x3", "lri0.1-hls5", "lri0.1-hls4x3", "lri0.2-hls5"]
NAMES.append("lri0.2-hls4x3")


def test_grid_expands_like_dvc_with_readable_names() -> None:
    points = sweep.build_grid(GRID, PARAMS)
    assert [p.name for p in points] == NAMES
    assert points[1].overrides == (
        "train.learning_rate_init=0.05",
        "train.hidden_layer_sizes=[4,3]",
    )
    assert points[1].values == {
        "train.learning_rate_init": 0.05,
        "train.hidden_layer_sizes": [4, 3],
    }
    # The same point written differently has the same name on every machine.
    again = sweep.build_grid(
        ["train.learning_rate_init=0.050", "train.hidden_layer_sizes=[5]"], PARAMS
    )
    assert again[0].name == "lri0.05-hls5"


def test_names_fall_back_to_a_hash_when_too_long_or_not_a_ref() -> None:
    long = [{"train.hidden_layer_sizes": [100] * 12}]
    odd = [{"train.activation": "a b"}]
    assert sweep.point_names(long)[0].startswith("sweep-")
    assert sweep.point_names(odd)[0].startswith("sweep-")
    assert sweep.point_names(long) != sweep.point_names([{"train.hidden_layer_sizes": [100] * 13}])
    for name in sweep.point_names(long) + NAMES:
        assert sweep.is_valid_name(name)
        ref = f"refs/exps/ab/{'c' * 38}/{name}"
        assert subprocess.run(["git", "check-ref-format", ref]).returncode == 0


def test_keys_with_the_same_initials_get_distinct_labels() -> None:
    labels = sweep.abbreviations(["split.random_state", "train.random_state", "train.alpha"])
    assert labels == {
        "split.random_state": "split.random_state",
        "train.random_state": "train.random_state",
        "train.alpha": "train.alpha",
    }
    assert sweep.abbreviations(["train.learning_rate", "train.learning_rate_init"]) == {
        "train.learning_rate": "lr",
        "train.learning_rate_init": "lri",
    }


def test_shards_cover_the_grid_exactly_once() -> None:
    points = sweep.build_grid(GRID, PARAMS)
    shards = [sweep.select_shard(points, i, 4) for i in range(1, 5)]
    assert sorted(p.name for shard in shards for p in shard) == sorted(NAMES)
    assert [p.index for p in shards[1]] == [1, 5]
    assert sweep.plan_shards(6, 4) == ["1/4", "2/4", "3/4", "4/4"]
    assert sweep.plan_shards(2, 4) == ["1/2", "2/2"]
    with pytest.raises(sweep.SweepError, match="--shard 4/3: expected I/N"):
        sweep.parse_shard("4/3")


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            ["train.learning_rate=0.1", "train.hiden_layer_sizes=[5]"],
            "-S train.hiden_layer_sizes: unknown param",
        ),
        (["train.alpha="], "-S train.alpha=: empty value for train.alpha"),
        (["train.alpha=0.1,,0.2"], "-S train.alpha=0.1,,0.2: empty value for train.alpha"),
        (
            ["train.solver=sgd,newton"],
            "train.solver=\"newton\": params.yaml: train.solver: The 'solver' parameter",
        ),
        (
            ["visualize.rows=4,0"],
            "grid point visualize.rows=0: params.yaml: visualize.rows: expected an int from 1",
        ),
        (["split.shuffle=yes"], "params.yaml: split.shuffle: expected true or false, got 'yes'"),
        (["train.alpha=[0.1"], "-S train.alpha=[0.1: cannot parse (no viable alternative"),
        ([], "no grid"),
    ],
    ids=[
        "unknown",
        "empty",
        "empty-in-list",
        "sklearn-invalid",
        "out-of-range",
        "wrong-type",
        "unparsable",
        "none",
    ],
)
def test_bad_grid_stops_before_anything_runs_with_one_line(
    tmp_path: Path, grid: list[str], message: str
) -> None:
    """Run in a directory that is not even a repository: nothing may be started."""
    (tmp_path / "params.yaml").write_text((PROJECT_ROOT / "params.yaml").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "mnist_mlp.tools.sweep", "run", *(f"-S{g}" for g in grid)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["params.yaml"]


def test_no_worker_processes_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text((PROJECT_ROOT / "params.yaml").read_text())
    command = [sys.executable, "-m", "mnist_mlp.tools.sweep", "run", "-Strain.alpha=0.1"]
    result = subprocess.run([*command, "--jobs", "0"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ERROR __main__: --jobs 0: expected 1 or more worker processes"
    ]
    assert sorted(os.listdir(tmp_path)) == ["params.yaml"]


def test_points_holding_the_committed_params_run_first() -> None:
    points = sweep.build_grid(["train.learning_rate_init=0.05,0.1,0.2"], PARAMS)
    assert PARAMS["train"]["learning_rate_init"] == 0.1
    ordered = sweep.committed_first(points, PARAMS)
    assert [point.name for point in ordered] == ["lri0.1", "lri0.05", "lri0.2"]
    # Every swept value must be the committed one; the others keep the grid's order.
    grid = ["train.learning_rate_init=0.05,0.1", "train.alpha=0.001,0.0001"]
    assert PARAMS["train"]["alpha"] == 0.0001
    ordered = sweep.committed_first(sweep.build_grid(grid, PARAMS), PARAMS)
    assert [point.name for point in ordered] == [
        "lri0.1-alpha0.0001", "lri0.05-alpha0.001", "lri0.05-alpha0.0001", "lri0.1-alpha0.001"
    ]  # fmt: skip


def test_local_workers_share_the_points_to_train_evenly() -> None:
    """Three points, the committed one in the middle, two workers: each trains one."""
    points = sweep.build_grid(["train.learning_rate_init=0.05,0.1,0.2"], PARAMS)
    shares = [[p.name for p in sweep.worker_share(points, PARAMS, 2, w)] for w in (1, 2)]
    assert shares == [["lri0.1", "lri0.2"], ["lri0.05"]]
    # Every point exactly once, whatever the number of workers.
    grid = sweep.build_grid(
        ["train.learning_rate_init=0.05,0.1,0.2", "train.alpha=0.0001,0.1"], PARAMS
    )
    assert sweep.committed_first(grid, PARAMS)[0].name == "lri0.1-alpha0.0001" != grid[0].name
    for jobs in (1, 2, 3, 4, 7):
        shares = [sweep.worker_share(grid, PARAMS, jobs, w) for w in range(1, jobs + 1)]
        assert sorted(p.index for share in shares for p in share) == list(range(len(grid)))


def test_refs_of_other_baselines_are_not_done() -> None:
    baseline = "ab" + "c" * 38
    refs = (
        f"1111\trefs/exps/ab/{'c' * 38}/lri0.1-hls5\n"
        f"2222\trefs/exps/ab/{'d' * 38}/lri0.2-hls5\n"
        f"3333\trefs/exps/exec/EXEC_BRANCH\n"
    )
    assert sweep.experiment_commits(refs, baseline) == {"lri0.1-hls5": "1111"}
    listed = f"1111 commit\trefs/exps/ab/{'c' * 38}/lri0.1-hls5\n"  # git for-each-ref
    assert sweep.experiment_commits(listed, baseline) == {"lri0.1-hls5": "1111"}


class FakeRemotes:
    """push_points' view of the remotes: the pushes it makes and what each check finds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, lacking: list[dict]) -> None:
        self.commands: list[list[str]] = []
        self.checked: list[list[str]] = []
        self.dropped = 0
        self.lacking = iter(lacking)
        monkeypatch.setattr(sweep, "checked", lambda command, **_: self.commands.append(command))
        monkeypatch.setattr(sweep, "remote_commits", lambda *_: {"a": "1", "b": "2"})
        monkeypatch.setattr(sweep, "local_commits", lambda *_: {"a": "1", "b": "9"})
        monkeypatch.setattr(sweep, "outputs_not_on_dvc_remote", self.check)
        monkeypatch.setattr(sweep, "forget_what_dvc_pushed", self.drop)

    def check(self, names: list[str], baseline: str) -> dict:
        self.checked.append(list(names))
        return next(self.lacking)

    def drop(self) -> None:
        self.dropped += 1


def test_outputs_missing_after_a_second_push_stop_the_shard_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remotes = FakeRemotes(monkeypatch, [{"a": ["models/mlp.skops"]}] * 2)
    with pytest.raises(sweep.SweepError) as error:
        sweep.push_points(["a", "b"], "origin", "base", sweep.Push.WITH_OUTPUTS)
    assert str(error.value) == (
        "`dvc exp push` did not put the outputs a: models/mlp.skops on the DVC remote"
    )
    assert len(remotes.commands) == 2 and remotes.dropped == 1
    # "b" on the remote is another worker's commit: DVC sent none of this one's outputs.
    assert remotes.checked == [["a"], ["a"]]


def test_outputs_a_second_push_delivers_count_as_pushed(monkeypatch: pytest.MonkeyPatch) -> None:
    remotes = FakeRemotes(monkeypatch, [{"a": ["models/mlp.skops"]}, {}])
    sweep.push_points(["a", "b"], "origin", "base", sweep.Push.WITH_OUTPUTS)
    assert remotes.dropped == 1
    assert remotes.commands[1] == ["dvc", "exp", "push", "origin", "a", "--run-cache"]
    # To a real origin without a DVC remote DVC pushes the refs, and nothing is checked.
    refs_only = FakeRemotes(monkeypatch, [])
    sweep.push_points(["a"], "origin", "base", sweep.Push.REFS)
    assert refs_only.commands == [["dvc", "exp", "push", "origin", "a", "--no-cache"]]
    assert refs_only.checked == []


def test_refs_pushed_without_outputs_reach_the_remote_and_never_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local worker's push to its parent (refs only, by git): the point reaches the
    parent with its commit; one another worker pushed first stays as it was and counts as
    pushed; the user's pre-push hook is not run; a push the parent refuses stops the shard
    with one line naming the point, the remote and why."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # no user's hooksPath or push config

    def git(*args: str, cwd: Path = tmp_path / "worker") -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
        ).stdout.strip()

    parent, worker = tmp_path / "parent", tmp_path / "worker"
    git("init", "-q", str(parent), cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "base",
        cwd=parent)  # fmt: skip
    git("clone", "-q", "--shared", str(parent), str(worker), cwd=tmp_path)  # as a worker's
    baseline = git("rev-parse", "HEAD")

    def experiment(name: str, where: Path) -> str:
        commit = git("-c", "user.name=t", "-c", "user.email=t@t", "commit-tree",
                     "-p", baseline, "-m", f"{name} at {where.name}", f"{baseline}^{{tree}}",
                     cwd=where)  # fmt: skip
        git("update-ref", sweep.experiment_ref(baseline, name), commit, cwd=where)
        return commit

    def hook(where: Path, name: str) -> None:
        script = where / ".git" / "hooks" / name
        script.write_text("#!/bin/sh\necho refusing everything >&2\nexit 1\n")
        script.chmod(0o755)

    monkeypatch.chdir(worker)
    hook(worker, "pre-push")  # `dvc install` puts a `dvc push` there
    mine, theirs = experiment("a", worker), experiment("b", parent)
    experiment("b", worker)
    sweep.push_points(["a", "b"], "origin", baseline, sweep.Push.REFS_TO_PARENT)
    assert sweep.remote_commits(baseline, "origin") == {"a": mine, "b": theirs}

    hook(parent, "pre-receive")
    experiment("c", worker)
    with pytest.raises(sweep.SweepError) as error:
        sweep.push_points(["c"], "origin", baseline, sweep.Push.REFS_TO_PARENT)
    assert str(error.value) == (
        "pushing did not put c on origin: [remote rejected] (pre-receive hook declined)"
    )


def test_a_dvc_failure_while_checking_the_remote_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a DVC repository
    with pytest.raises(sweep.SweepError, match="^cannot check the outputs on the DVC remote: "):
        sweep.outputs_not_on_dvc_remote(["a"], "ab" + "c" * 38)


def test_rows_are_sorted_by_test_score_and_missing_points_listed() -> None:
    points = sweep.build_grid(["train.learning_rate_init=0.05,0.1,0.2"], PARAMS)
    records = {
        "lri0.05": {"metrics": {"train_score": 0.9, "test_score": 0.8}},
        "lri0.2": {"metrics": {"train_score": 0.95, "test_score": 0.85}},
    }
    rows = sweep.sweep_rows(points, records, {"lri0.05": 0.5, "lri0.2": 0.4})
    assert [(r["name"], r["status"]) for r in rows] == [
        ("lri0.2", "done"),
        ("lri0.05", "done"),
        ("lri0.1", "missing"),
    ]
    assert list(rows[0]) == [
        "name",
        "train.learning_rate_init",
        "train_score",
        "test_score",
        "final_loss",
        "status",
    ]
    table = sweep.rows_to_table(rows)
    header = table.splitlines()[0].split()
    assert header == list(rows[0])
    assert "0.85" in table and "lri0.1" in table
    markdown = sweep.markdown_report(rows, "sweep.png")
    assert "**Missing (1)**: lri0.1" in markdown
    assert "| lri0.2 " in markdown


def test_a_daemon_holding_the_output_does_not_block() -> None:
    """A child that leaves a grandchild holding its stdout (as `dvc queue start` does)
    must not keep the caller waiting for end-of-file."""
    result: list[tuple[int, str]] = []
    command = ["sh", "-c", "sleep 300 & echo $! ; echo started"]
    caller = threading.Thread(target=lambda: result.append(sweep.run_command(command, 60, True)))
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "run_command waited for the daemon"
    code, output = result[0]
    os.kill(int(output.split()[0]), signal.SIGKILL)
    assert code == 0 and output.split()[1] == "started"


def test_a_stuck_command_is_stopped_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"]
    with pytest.raises(sweep.SweepError, match="did not finish within 1 s: stopped it"):
        sweep.run_command(command, timeout=1)
    child = int(pid_file.read_text())
    for _ in range(100):
        if not Path(f"/proc/{child}").exists() or "Z" in _state(child):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def test_sigterm_stops_the_running_command_with_one_line(tmp_path: Path) -> None:
    """A scheduler stopping a worker (SIGTERM) stops what it runs, and the worker exits as a
    shell reports a command SIGTERM stopped (143), with one line."""
    pid_file = tmp_path / "child.pid"
    script = (
        "from mnist_mlp.tools import sweep\n"
        "from mnist_mlp.cli import run_stage\n"
        "def main(argv):\n"
        f"    sweep.run_command(['sh', '-c', 'echo $$ > {pid_file}; exec sleep 300'], 600)\n"
        "run_stage(main)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 128 + signal.SIGTERM
    assert stderr.strip().splitlines() == [
        "ERROR __main__: stopped by SIGTERM before finishing; run it again"
    ]
    child = int(pid_file.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


@pytest.mark.pipeline
def test_sigterm_mid_experiment_records_nothing_and_restores_the_workspace(
    tiny_project: DvcProject,
) -> None:
    slow = ["-Strain.batch_size=1", "-Strain.max_iter=300", "-Strain.n_iter_no_change=300"]
    worker = Running(tiny_project, sys.executable, "-m", "mnist_mlp.tools.sweep", "run", *slow)
    worker.wait_for_line(r"epoch 1: loss")
    train = worker.child("stages/train.py")
    (tiny_project.root / "notes.txt").write_text("a file of the user's, made meanwhile\n")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.finish() == 128 + signal.SIGTERM
    assert worker.lines[-1].endswith("stopped by SIGTERM before finishing; run it again\n")
    assert tiny_project.dvc("exp", "list", "--name-only").stdout.strip() == ""
    # HEAD has no dvc.lock: the outputs the experiment left are removed, nothing else.
    assert tiny_project.git("status", "--porcelain").stdout == "?? notes.txt\n"
    assert not (tiny_project.root / sweep.MARKER).exists()
    with contextlib.suppress(psutil.NoSuchProcess):
        assert train.status() == psutil.STATUS_ZOMBIE


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except FileNotFoundError:
        return "Z"


@pytest.mark.pipeline
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_uncommitted_changes_stop_the_sweep_before_anything_runs(
    tiny_project: DvcProject, jobs: str
) -> None:
    (tiny_project.root / "src/mnist_mlp/new_module.py").write_text("VALUE = 1\n")
    result = tiny_project.run(
        sys.executable, "-m", "mnist_mlp.tools.sweep", "run", "--jobs", jobs, "-Strain.max_iter=2",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ERROR __main__: the workspace has uncommitted changes, which other machines would "
        "not run: commit or stash them first (src/mnist_mlp/new_module.py)"
    ]
    assert tiny_project.git("for-each-ref", "refs/exps/").stdout == ""
    assert not (tiny_project.root / sweep.MARKER).exists()
    assert not (tiny_project.root / sweep.WORKERS_DIR).exists()


# Several clones -------------------------------------------------------------------------


def sweep_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mnist_mlp.tools.sweep", *args, *(f"-S{g}" for g in GRID)]


def clone(origin: Path, root: Path, env: dict[str, str]) -> DvcProject:
    subprocess.run(["git", "clone", "-q", str(origin), str(root)], check=True, env=env)
    return DvcProject(root, env)


def start_worker(project: DvcProject, shard: str, log: Path) -> subprocess.Popen:
    with log.open("a") as stream:
        return subprocess.Popen(
            sweep_command("run", "--shard", shard),
            cwd=project.root,
            env=project.env,
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_session(session: int) -> None:
    """SIGKILL every process of a session, as a scheduler stopping a job does."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue


def remote_names(project: DvcProject) -> set[str]:
    refs = project.git("ls-remote", "origin", "refs/exps/*").stdout
    return set(sweep.experiment_commits(refs, project.git("rev-parse", "HEAD").stdout.strip()))


def wait_until(condition, what: str, attempts: int = 600) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def shared(tmp_path: Path, tiny_mnist: Path) -> tuple[DvcProject, Path]:
    """The tiny project reproduced once, pushed to a bare git repo and a directory DVC remote."""
    project = make_dvc_project(tmp_path / "project", tiny_mnist)
    project.write_params(tiny_params(tiny_mnist))
    project.dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-storage"))
    project.dvc("repro")
    project.commit("baseline")
    project.dvc("push")
    origin = tmp_path / "origin.git"
    project.git("clone", "-q", "--bare", str(project.root), str(origin))
    return project, origin


@pytest.mark.pipeline
def test_three_shards_on_three_clones_then_gather(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    project, origin = shared
    workers = [clone(origin, tmp_path / f"worker-{i}", project.env) for i in (1, 2, 3)]
    logs = [tmp_path / f"worker-{i}.log" for i in (1, 2, 3)]

    # Worker 1 is killed mid-shard, after its first point reached the remote.
    first = start_worker(workers[0], "1/3", logs[0])
    wait_until(lambda: NAMES[0] in remote_names(workers[0]), "worker 1's first point")
    kill_session(first.pid)
    first.wait()
    first_sha = workers[0].git("ls-remote", "origin", f"*/{NAMES[0]}").stdout.split()[0]
    assert NAMES[3] not in remote_names(workers[0])

    processes = [
        start_worker(w, f"{i}/3", log)
        for i, (w, log) in enumerate(zip(workers, logs, strict=True), 1)
    ]
    for process in processes:
        assert process.wait(timeout=900) == 0
    outputs = [log.read_text() for log in logs]
    assert "2 of 2 points to run" in outputs[0] and "1 of 2 points to run" in outputs[0]
    assert outputs[0].count(f"running {NAMES[0]} ") == 1
    assert first_sha == workers[0].git("ls-remote", "origin", f"*/{NAMES[0]}").stdout.split()[0]
    assert remote_names(workers[0]) == set(NAMES)
    # fetch and preprocess ran once in all: in the baseline's `dvc repro`, not on a worker.
    for output in outputs:
        assert "Running stage 'fetch'" not in output
        assert "Running stage 'preprocess'" not in output
        assert "Running stage 'train'" in output
    for worker in workers:
        assert worker.git("status", "--porcelain").stdout == ""

    gatherer = clone(origin, tmp_path / "gatherer", project.env)
    gathered = gatherer.run(*sweep_command("gather"))
    rows = list(csv.DictReader((gatherer.root / "reports/sweep.csv").open()))
    assert sorted(row["name"] for row in rows) == sorted(NAMES)
    assert {row["status"] for row in rows} == {"done"}
    assert gathered.stdout.splitlines()[0].split() == list(rows[0])
    # Every point's outputs reached the DVC remote, the killed worker's first one included.
    assert "left out of the figure" not in gathered.stderr
    assert (gatherer.root / "reports/sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        "![The best runs side by side](sweep.png)"
        in (gatherer.root / "reports/sweep.md").read_text()
    )

    # The same grid run locally, without any remote, gives the same rows byte for byte.
    local = make_dvc_project(tmp_path / "local", project.env["DATA_MIRROR"])
    local.write_params(yaml.safe_load((project.root / "params.yaml").read_text()))
    local.commit("same project, no remotes")
    local.run(*sweep_command("run"))
    local.run(*sweep_command("gather"))
    assert (local.root / "reports/sweep.csv").read_text() == (
        gatherer.root / "reports/sweep.csv"
    ).read_text()
    for name in NAMES:
        metrics = [
            p.git("show", f"{rev(p, name)}:reports/metrics.json").stdout for p in (local, gatherer)
        ]
        assert metrics[0] == metrics[1]
        # The table's scores are the run's metrics.
        row = next(row for row in rows if row["name"] == name)
        scores = json.loads(metrics[1])
        assert (float(row["train_score"]), float(row["test_score"])) == (
            scores["train_score"],
            scores["test_score"],
        )


def rev(project: DvcProject, name: str) -> str:
    head = project.git("rev-parse", "HEAD").stdout.strip()
    return project.git("rev-parse", f"refs/exps/{head[:2]}/{head[2:]}/{name}").stdout.strip()


@pytest.mark.pipeline
def test_two_local_workers_push_every_point_and_a_rerun_runs_none(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    """`make sweep JOBS=2` in a clone with remotes: the workers' experiments reach them, and
    the same sweep started again finds every point done, here and on the remote."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    first = worker.run(*sweep_command("run", "--jobs", "2"))
    assert (first.stdout + first.stderr).count("Running stage 'train'") == len(NAMES)
    assert remote_names(worker) == set(NAMES)
    gatherer = clone(origin, tmp_path / "gatherer", project.env)
    gatherer.run(*sweep_command("gather"))  # fails if a point or its outputs are missing

    again = worker.run(*sweep_command("run", "--jobs", "2"))
    assert "Running stage" not in again.stdout + again.stderr
    assert again.stderr.count("0 of 3 points to run") == 2
    # In a fresh clone the points are only on the remote: none runs either.
    other = clone(origin, tmp_path / "other", project.env)
    fresh = other.run(*sweep_command("run", "--jobs", "2"))
    assert "Running stage" not in fresh.stdout + fresh.stderr
    assert other.git("status", "--porcelain").stdout == ""


@pytest.mark.pipeline
def test_the_committed_point_is_not_trained_again(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    """A grid holding the committed params, not as its first point: in a fresh clone
    (no run-cache) only the other points are trained; the committed one is DVC's own."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    grid = "-Strain.learning_rate_init=0.05,0.1"
    ran = worker.run(sys.executable, "-m", "mnist_mlp.tools.sweep", "run", grid)
    assert (ran.stdout + ran.stderr).count("Running stage 'train'") == 1
    assert remote_names(worker) == {"lri0.05", "lri0.1"}
    head = worker.git("rev-parse", "HEAD").stdout.strip()
    committed = worker.git("show", f"{head}:dvc.lock").stdout
    assert worker.git("show", f"{rev(worker, 'lri0.1')}:dvc.lock").stdout == committed


@pytest.mark.pipeline
def test_gather_lists_missing_points_and_fails(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    worker.run(*sweep_command("run", "--shard", "2/3"))
    gatherer = clone(origin, tmp_path / "gatherer", project.env)
    result = gatherer.run(*sweep_command("gather"), check=False)
    assert result.returncode == 1
    missing = [NAMES[i] for i in (0, 2, 3, 5)]
    assert f"4 of 6 points missing: {', '.join(missing)}" in result.stderr
    rows = list(csv.DictReader((gatherer.root / "reports/sweep.csv").open()))
    assert [row["status"] for row in rows] == ["done"] * 2 + ["missing"] * 4
    assert {row["name"] for row in rows[:2]} == {NAMES[1], NAMES[4]}
    assert all(row["test_score"] == "" for row in rows[2:])
    markdown = (gatherer.root / "reports/sweep.md").read_text()
    assert f"**Missing (4)**: {', '.join(missing)}" in markdown


@pytest.mark.pipeline
def test_gather_reads_points_run_here_but_never_pushed(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    """A point run while the clone had no `origin` exists only here: gather reads it from
    the local refs and pulls only what is on `origin` alone."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    worker.git("remote", "rename", "origin", "upstream")
    worker.run(*sweep_command("run", "--shard", "1/6"))
    worker.git("remote", "rename", "upstream", "origin")
    assert remote_names(worker) == set()
    result = worker.run(*sweep_command("gather"), check=False)
    assert "5 of 6 points missing" in result.stderr, result.stderr
    rows = list(csv.DictReader((worker.root / "reports/sweep.csv").open()))
    assert [row["name"] for row in rows if row["status"] == "done"] == [NAMES[0]]


@pytest.mark.pipeline
def test_a_point_on_the_remote_without_its_outputs_gets_them_on_the_next_run(
    shared: tuple[DvcProject, Path], tmp_path: Path
) -> None:
    """A worker killed after `dvc exp push` sent the ref but before it sent the outputs:
    the point is done (not run again), and the next run of the shard pushes its outputs."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    worker.run(*sweep_command("run", "--shard", "1/6"))
    lock = yaml.safe_load(worker.git("show", f"{rev(worker, NAMES[0])}:dvc.lock").stdout)
    outs = lock["stages"]["train"]["outs"]
    model_md5 = next(out["md5"] for out in outs if out["path"].endswith(".skops"))
    pushed_model = tmp_path / "dvc-storage/files/md5" / model_md5[:2] / model_md5[2:]
    assert pushed_model.is_file()
    pushed_model.unlink()

    again = worker.run(*sweep_command("run", "--shard", "1/6"))
    assert "0 of 1 points to run" in again.stderr
    assert f"running {NAMES[0]}" not in again.stderr
    assert pushed_model.is_file()


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
    only that part while reporting success: the sweep asks the DVC remote itself and
    pushes again."""
    project, origin = shared
    worker = clone(origin, tmp_path / "worker", project.env)
    worker.run(*sweep_command("run", "--shard", "1/6"))
    lock = yaml.safe_load(worker.git("show", f"{rev(worker, NAMES[0])}:dvc.lock").stdout)
    model_md5 = next(
        out["md5"] for out in lock["stages"]["train"]["outs"] if out["path"].endswith(".skops")
    )
    pushed_model = tmp_path / "dvc-storage/files/md5" / model_md5[:2] / model_md5[2:]
    pushed_model.unlink()
    worker.run(sys.executable, "-c", "from dvc.repo import Repo; Repo().drop_data_index()")
    killed = worker.run(
        sys.executable, "-c", KILLED_WHILE_COLLECTING, "exp", "push", "origin", NAMES[0],
        "--run-cache", check=False,
    )  # fmt: skip
    assert killed.returncode == 9
    # DVC's own fault, which the sweep works around: a plain push claims success.
    worker.dvc("exp", "push", "origin", NAMES[0], "--run-cache")
    assert not pushed_model.is_file()

    again = worker.run(*sweep_command("run", "--shard", "1/6"))
    assert "0 of 1 points to run" in again.stderr
    assert f"the DVC remote lacks {NAMES[0]}: models/mlp.skops" in again.stderr
    assert pushed_model.is_file()
    again = worker.run(*sweep_command("run", "--shard", "1/6"))
    assert "the DVC remote lacks" not in again.stderr


@pytest.mark.pipeline
def test_after_a_killed_shard_edits_made_since_are_kept_as_a_patch(
    tiny_project: DvcProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_project.root)
    monkeypatch.setenv("PATH", tiny_project.env["PATH"])
    dead = subprocess.Popen(["true"])  # the shard that left the marker, gone
    dead.wait()
    (tiny_project.root / sweep.MARKER).parent.mkdir(parents=True, exist_ok=True)
    (tiny_project.root / sweep.MARKER).write_text(f"{dead.pid}\n")
    edited = tiny_project.root / "params.yaml"
    committed = edited.read_text()
    edited.write_text(committed + "# An edit made after the shard was killed.\n")

    sweep.recover_from_killed_shard()
    assert edited.read_text() == committed
    [patch] = (tiny_project.root / sweep.MARKER).parent.glob("sweep-interrupted-*.patch")
    tiny_project.git("apply", str(patch))
    assert edited.read_text().endswith("# An edit made after the shard was killed.\n")


def test_a_shard_still_running_in_the_workspace_is_not_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    running = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "mnist_mlp.tools.sweep"]
    )
    try:
        cmdline = Path(f"/proc/{running.pid}/cmdline")
        wait_until(lambda: b"mnist_mlp.tools.sweep" in cmdline.read_bytes(), "the exec")
        sweep.MARKER.parent.mkdir(parents=True)
        sweep.MARKER.write_text(f"{running.pid}\n")
        with pytest.raises(sweep.SweepError, match=f"another sweep \\(process {running.pid}\\)"):
            sweep.recover_from_killed_shard()
    finally:
        running.kill()
        running.wait()
