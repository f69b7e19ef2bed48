"""CI: the GitHub workflows (actions pinned to a release's commit, least privilege, no token
left on disk, only make targets and DVC and CML commands that exist) and `.ci/run`."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dvc.cli import DvcParserError, parse_args

from tests.helpers import DVC_STAGES, PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github/workflows"
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text()
VENV_PATH = f"{PROJECT_ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}"
# The only rights beyond reading, each held by the one job that needs it.
WRITERS = {
    ("sweep.yml", "worker"): {"contents": "write"},  # pushes the experiments' refs
    ("report.yml", "report"): {"pull-requests": "write"},  # posts the PR comment
}
# The steps given the GITHUB_TOKEN (file, job, a command the step runs): the sweep's push,
# its pull (a private repository's experiments), the PR comment.
TOKEN_STEPS = {
    ("sweep.yml", "worker", "make sweep "),
    ("sweep.yml", "gather", "make sweep-gather"),
    ("report.yml", "report", "cml comment"),
}
# CML's subcommands (https://cml.dev/doc/ref): comment create/update, pr, publish, runner.
CML_COMMANDS = {("comment", "create"), ("comment", "update"), ("pr",), ("publish",)}


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def workflow_names() -> list[str]:
    return sorted(path.name for path in WORKFLOWS.glob("*.yml"))


def jobs() -> Iterator[tuple[str, str, dict]]:
    for name in workflow_names():
        for job_name, job in load(name)["jobs"].items():
            yield name, job_name, job


def steps() -> Iterator[tuple[str, str, dict]]:
    for name, job_name, job in jobs():
        for step in job["steps"]:
            yield name, job_name, step


def scripts() -> list[str]:
    return [step["run"] for _, _, step in steps() if "run" in step]


def step_running(job: dict, command: str) -> dict:
    return next(step for step in job["steps"] if command in step.get("run", ""))


def command_line(step: dict, command: str) -> list[str]:
    """The words of the line of ``step``'s script that runs ``command``."""
    return shlex.split(next(line for line in step["run"].splitlines() if command in line))


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").startswith(f"{action}@")


def recipe(target: str) -> list[str]:
    """The command lines of ``target``'s recipe in the Makefile."""
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    assert match, f"no recipe for {target} in the Makefile"
    return [line.strip() for line in match[1].splitlines()]


def fake_bin(directory: Path, **programs: str) -> Path:
    """``directory`` holding a shell script for each of ``programs`` (name -> body)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in programs.items():
        path = directory / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return directory


# Every workflow ----------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_release_commit_named_in_a_comment() -> None:
    """A tag or branch can be moved under the workflow; a commit cannot. The comment names
    the release, for people and for Dependabot, which updates both."""
    pinned: dict[str, set[str]] = {}
    for name in workflow_names():
        lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if "uses:" in line]
        assert len(lines) == sum(1 for n, _, step in steps() if n == name and "uses" in step)
        for line in lines:
            match = re.fullmatch(
                r"\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)", line
            )
            assert match, f"{name}: {line.strip()}"
            pinned.setdefault(match[1], set()).add(f"{match[2]} {match[3]}")
    assert pinned
    # One release of each action everywhere, so one update moves them all.
    assert {action: len(pins) for action, pins in pinned.items()} == dict.fromkeys(pinned, 1)


def test_no_job_holds_a_right_it_does_not_need() -> None:
    """The workflows grant nothing; each job reads at most, but the named writers."""
    for name in workflow_names():
        assert load(name)["permissions"] == {}, name
    granted = {}
    for name, job_name, job in jobs():
        rights = job["permissions"]
        assert rights, f"{name}: {job_name} reads nothing, not even its checkout"
        writes = {scope: level for scope, level in rights.items() if level != "read"}
        if writes:
            granted[(name, job_name)] = writes
    assert granted == WRITERS


def test_no_checkout_leaves_the_token_in_git_config() -> None:
    """`.git/config` would keep the token for every later step, and any upload of the
    workspace would publish it."""
    checkouts = [(name, job, s) for name, job, s in steps() if uses(s, "actions/checkout")]
    assert checkouts
    for name, job, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {job}"


def test_the_token_reaches_only_the_steps_that_push_pull_or_comment() -> None:
    given = set()
    for name, job_name, step in steps():
        if re.search(r"secrets\.GITHUB_TOKEN|github\.token", json.dumps(step)):
            assert "run" in step and "env" in step, f"{name}: {job_name}: not through env"
            command = next(c for n, j, c in TOKEN_STEPS if (n, j) == (name, job_name))
            assert command in step["run"]
            given.add((name, job_name, command))
    assert given == TOKEN_STEPS


@pytest.mark.parametrize("job_name", ["worker", "gather"])
@pytest.mark.parametrize("make_exit", [0, 2])
def test_a_sweep_step_holds_the_token_only_while_it_runs(
    tmp_path: Path, job_name: str, make_exit: int
) -> None:
    """Run the step's script as the runner would, with a `make` that looks for the token
    where DVC's git library (dulwich) looks for it: there while the step runs, gone after,
    whether make succeeds or fails."""
    job = load("sweep.yml")["jobs"][job_name]
    step = step_running(job, "make sweep")
    seen = tmp_path / "seen"
    dulwich = (
        "from dulwich.config import StackedConfig as C; "
        "from dulwich.client import default_urllib3_manager as m; "
        "print(m(C.default(), base_url='https://github.com/o/r.git').headers['AUTHORIZATION'])"
    )
    bin_dir = fake_bin(
        tmp_path / "bin", make=f'{sys.executable} -c "{dulwich}" > {seen}\nexit {make_exit}'
    )
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITHUB_SERVER_URL": "https://github.com",
        "TOKEN": "t0ken",
        "GRID": "-S train.alpha=0.1",
        "SHARD": "1/2",
    }
    (tmp_path / "home").mkdir()
    # GitHub runs a `run:` script with `bash -e` when no shell is named.
    result = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=False)
    assert result.returncode == make_exit
    expected = base64.b64encode(b"x-access-token:t0ken").decode()
    assert seen.read_text().strip() == f"basic {expected}"
    assert "t0ken" not in (tmp_path / "home/.gitconfig").read_text()
    assert expected not in (tmp_path / "home/.gitconfig").read_text()


def test_make_targets_and_variables_the_workflows_use_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", MAKEFILE, re.M))
    variables = set(re.findall(r"^([A-Z_]+) \?=", MAKEFILE, re.M))
    calls = re.findall(r"\bmake (?:-s )?([a-z-]+)((?: [A-Z_]+=\S+)*)", "\n".join(scripts()))
    assert calls
    used_targets = {target for target, _ in calls}
    used_variables = {v for _, words in calls for v in re.findall(r" ([A-Z_]+)=", words)}
    assert used_targets <= targets, used_targets - targets
    assert used_variables <= variables, used_variables - variables


def dvc_commands() -> list[list[str]]:
    """Every `dvc ...` command line of the workflows, shell variables as placeholder words."""
    found = []
    for script in scripts():
        for line in script.splitlines():
            if line.strip().startswith("#"):
                continue
            for match in re.finditer(r"\bdvc((?: +[^\s;|&)]+)*)", line):
                words = match[1].replace('"', "").split()
                found.append([re.sub(r"^\$\w+$", "X", word) for word in words])
    return found


def test_dvc_commands_and_their_options_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """Each DVC command line as DVC itself parses it: a renamed subcommand or option fails."""
    commands = dvc_commands()
    assert len(commands) >= 5
    for words in commands:
        try:
            parse_args(words)
        except DvcParserError:
            pytest.fail(f"dvc {' '.join(words)}: {capsys.readouterr().err.strip()}")


def test_cml_commands_exist() -> None:
    cml = [shlex.split(line) for run in scripts() for line in run.splitlines() if "cml " in line]
    assert cml
    for words in cml:
        subcommand = tuple(w for w in words[1:3] if not w.startswith("-"))
        assert subcommand in CML_COMMANDS
        assert "reports/report.md" in words


def test_inputs_reach_scripts_only_through_the_environment() -> None:
    """An expression spliced into a `run:` script is run as shell code: a grid such as
    `x"; curl ... #`, or a branch name, would run in a job that holds the token."""
    runs = scripts()
    assert runs and not [run for run in runs if "${{" in run]


def test_make_lint_checks_the_workflows_and_fails_on_an_unpinned_action(tmp_path: Path) -> None:
    """The lint recipe's workflow checks, run on a copy of .github/: they pass on it, and
    each fails on what it is there to catch."""
    lines = [line for line in recipe("lint") if line.startswith(("zizmor", "check-jsonschema"))]
    assert any(line.startswith("zizmor --offline .github") for line in lines)
    assert {
        "check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml",
        "check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml",
    } <= set(lines)
    env = {**os.environ, "PATH": VENV_PATH}

    def lint() -> list[str]:
        return [
            line
            for line in lines
            if subprocess.run(
                ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True
            ).returncode
        ]

    shutil.copytree(PROJECT_ROOT / ".github", tmp_path / ".github")
    assert lint() == []
    report = tmp_path / ".github/workflows/report.yml"
    text = report.read_text()
    report.write_text(re.sub(r"@[0-9a-f]{40} # (v\d+)\S*", r"@\1", text, count=1))
    assert [line.split()[0] for line in lint()] == ["zizmor"]
    report.write_text(text.replace("runs-on:", "runs_on:"))
    assert [line.split()[2] for line in lint()] == ["vendor.github-workflows"]


# The pull request report ------------------------------------------------------------------


def test_report_runs_on_pull_requests_with_a_deep_checkout_and_comments() -> None:
    workflow = load("report.yml")
    assert "pull_request" in workflow[True]  # PyYAML reads the key `on` as True
    job = workflow["jobs"]["report"]
    checkout = next(step for step in job["steps"] if uses(step, "actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # main, to compare with
    order = [step.get("run", step.get("uses", "")).split("@")[0] for step in job["steps"]]
    at = {
        command: next(i for i, s in enumerate(order) if command in s)
        for command in (
            "make repro",
            "git worktree add ../baseline origin/main",
            "make report",
            "make explore",
            ">> reports/report.md",
            "actions/upload-artifact",
            "cml comment",
        )
    }
    assert list(at.values()) == sorted(at.values()), at


def test_the_pr_comment_says_where_the_experiments_page_is(tmp_path: Path) -> None:
    """Run the step that adds the line, as the runner would, on a report."""
    job = load("report.yml")["jobs"]["report"]
    step = step_running(job, ">> reports/report.md")
    assert step["env"] == {
        "RUN_URL": "${{ github.server_url }}/${{ github.repository }}"
        "/actions/runs/${{ github.run_id }}"
    }
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/report.md").write_text("# Report\n")
    url = "https://github.com/someone/mnist/actions/runs/42"
    env = {**os.environ, "RUN_URL": url}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True)
    report = (tmp_path / "reports/report.md").read_text()
    assert report.startswith("# Report\n")
    last = report.splitlines()[-1]
    upload = next(step for step in job["steps"] if uses(step, "actions/upload-artifact"))
    assert "explore.html" in last and url in last and f"`{upload['with']['name']}`" in last


def explore_page() -> str:
    """The page `make explore` writes, as its line in the Makefile says."""
    match = re.search(r"^explore:.*## .*?(reports/\S+\.html)", MAKEFILE, re.M)
    assert match, "make explore names no page it writes"
    return match[1]


def test_report_uploads_what_make_report_and_make_explore_write() -> None:
    job = load("report.yml")["jobs"]["report"]
    upload = next(step for step in job["steps"] if uses(step, "actions/upload-artifact"))
    written = {"reports/report.html", "reports/report.md", "reports/report_files/"}
    assert set(upload["with"]["path"].split()) == written | {explore_page()}


def test_a_pull_request_from_a_fork_gets_its_report_without_a_comment() -> None:
    """A fork's pull request gets a read-only token: the comment step would fail it."""
    job = load("report.yml")["jobs"]["report"]
    comment = step_running(job, "cml comment")
    assert comment["if"] == (
        "${{ github.event.pull_request.head.repo.full_name == github.repository }}"
    )
    assert all("if" not in step for step in job["steps"] if step is not comment)


# The sweep workflow -------------------------------------------------------------------------


def sweep_jobs() -> dict[str, dict]:
    return load("sweep.yml")["jobs"]


def test_sweep_plan_step_turns_the_default_grid_into_shards(tmp_path: Path) -> None:
    """Run the plan step's own command line, as the runner would, on the default inputs."""
    workflow = load("sweep.yml")
    inputs = workflow[True]["workflow_dispatch"]["inputs"]
    line = step_running(sweep_jobs()["plan"], "sweep-plan")["run"]
    assert workflow["env"] == {"GRID": "${{ inputs.grid }}", "WORKERS": "${{ inputs.workers }}"}
    output = tmp_path / "github_output"
    env = {
        **os.environ,
        "GRID": inputs["grid"]["default"],
        "WORKERS": str(inputs["workers"]["default"]),
        "GITHUB_OUTPUT": str(output),
        "PATH": VENV_PATH,
    }
    subprocess.run(["bash", "-e", "-c", line], cwd=PROJECT_ROOT, env=env, check=True)
    name, _, value = output.read_text().strip().partition("=")
    assert name == "shards"
    assert json.loads(value) == ["1/4", "2/4", "3/4", "4/4"]
    assert sweep_jobs()["plan"]["outputs"]["shards"] == "${{ steps.plan.outputs.shards }}"


def test_sweep_workers_run_one_shard_each_from_a_full_clone_and_push_it() -> None:
    jobs = sweep_jobs()
    worker = jobs["worker"]
    assert worker["needs"] == "plan"
    assert worker["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    step = step_running(worker, "make sweep ")
    assert step["env"]["SHARD"] == "${{ matrix.shard }}"
    assert command_line(step, "make sweep ") == [
        "make",
        "sweep",
        "SWEEP=$GRID",
        "SHARD=$SHARD",
        "PUSH=origin",
    ]
    for name, job in jobs.items():
        checkout = next(s for s in job["steps"] if uses(s, "actions/checkout"))
        assert checkout["with"]["fetch-depth"] == 0, name


def test_sweep_gather_waits_for_every_worker_and_publishes_what_it_writes() -> None:
    gather = sweep_jobs()["gather"]
    assert "worker" in gather["needs"]
    assert gather["if"].startswith("${{ always()")  # failed workers are listed, not hidden
    step = step_running(gather, "make sweep-gather")
    assert command_line(step, "make sweep-gather") == [
        "make",
        "sweep-gather",
        "SWEEP=$GRID",
        "PULL=origin",
    ]
    assert 'reports/sweep.md >> "$GITHUB_STEP_SUMMARY"' in step_running(gather, "SUMMARY")["run"]
    assert step_running(gather, "make explore")
    written = set(re.findall(r"reports/[\w.]+", " ".join(recipe("sweep-gather"))))
    upload = next(s for s in gather["steps"] if uses(s, "actions/upload-artifact"))
    assert set(upload["with"]["path"].split()) == written | {explore_page()}


@pytest.mark.parametrize(
    ("target", "variable"),
    [("sweep", "SHARD"), ("sweep", "PUSH"), ("sweep-plan", "WORKERS"), ("sweep-gather", "PULL")],
)
def test_make_passes_sweep_variables_as_words_not_shell_code(
    tmp_path: Path, target: str, variable: str
) -> None:
    """`make <target> VAR=...` as the workflows run it, with a `python` that records its
    arguments: a value with shell in it reaches the sweep as one word and runs nothing."""
    venv = tmp_path / "venv"
    log, marker = tmp_path / "argv", tmp_path / "ran"
    fake_bin(venv / "bin", python=f'printf "%s\\n" "$@" >> {log}')
    (venv / ".installed").touch()  # newer than the lock files: up to date
    value = f"1; touch {marker} #"
    subprocess.run(
        ["make", "-s", f"VENV={venv}", target, f"{variable}={value}", "SWEEP=-S train.alpha=0.1"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    words = log.read_text().splitlines()
    assert any(word == value or word.endswith(f"={value}") for word in words), words
    assert not marker.exists()


# The test workflow --------------------------------------------------------------------------


def test_tests_run_on_every_push_and_pull_request_as_ci_runs_them() -> None:
    """The same checks, in the same order, as `.ci/run`; with the full MNIST and under CI,
    where the seed-exact and browser tests fail rather than skip."""
    workflow = load("test.yml")
    assert {"push", "pull_request"} <= set(workflow[True])
    job = workflow["jobs"]["test"]
    assert job["timeout-minutes"] > 0
    assert job["env"]["CI"] == "true" and job["env"]["DVC_NO_ANALYTICS"] == "1"
    setup = next(step for step in job["steps"] if uses(step, "actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11"
    # Each check's first line: `make X` alone, or the porcelain check.
    checks = [
        step["run"].split("\n")[0]
        for step in job["steps"]
        if re.fullmatch(r"make \w+", step.get("run", "")) or "--porcelain" in step.get("run", "")
    ]
    assert checks == ["make repro", 'changed="$(git status --porcelain)"', "make lint", "make test"]
    ci_run = (PROJECT_ROOT / ".ci/run").read_text()
    ci_checks = re.findall(r"^(make \w+|changed=\"\$\(git status --porcelain\)\")", ci_run, re.M)
    assert [check for check in ci_checks if check != "make report"] == checks
    mnist = next(step for step in job["steps"] if step.get("id") == "mnist")["with"]["path"]
    for command in ("make repro", "make test"):
        step = step_running(job, command)
        assert step["env"]["DATA_MIRROR"] == mnist, command


def test_the_mnist_cache_is_filled_once_from_the_fetch_stage() -> None:
    job = load("test.yml")["jobs"]["test"]
    cache = next(step for step in job["steps"] if step.get("id") == "mnist")
    assert uses(cache, "actions/cache")
    miss = step_running(job, "dvc repro fetch")
    assert miss["if"] == "${{ steps.mnist.outputs.cache-hit != 'true' }}"
    assert miss["env"] == {"MNIST": cache["with"]["path"]}
    assert "data/raw" in DVC_STAGES["fetch"]["outs"]
    assert 'cp data/raw/*.gz "$MNIST"/' in miss["run"]
    uv = next(step for step in job["steps"] if step.get("with", {}).get("path") == "~/.cache/uv")
    assert "hashFiles('requirements.lock', 'requirements-uv.lock')" in uv["with"]["key"]


def mnist_cache_key(tmp_path: Path, params: dict) -> str:
    """The MNIST cache key that test.yml computes for ``params``."""
    job = load("test.yml")["jobs"]["test"]
    step = next(s for s in job["steps"] if s.get("id") == "fetch-section")
    cache = next(s for s in job["steps"] if s.get("id") == "mnist")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    output = tmp_path / "github_output"
    output.unlink(missing_ok=True)
    env = {**os.environ, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True)
    name, _, value = output.read_text().strip().partition("=")
    assert cache["with"]["key"] == f"mnist-${{{{ steps.fetch-section.outputs.{name} }}}}"
    return value


def test_the_mnist_cache_key_follows_the_fetch_params_only(tmp_path: Path) -> None:
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    key = mnist_cache_key(tmp_path, params)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    params["train"]["max_iter"] += 1
    assert mnist_cache_key(tmp_path, params) == key
    params["fetch"]["files"][0]["sha256"] = "0" * 64
    assert mnist_cache_key(tmp_path, params) != key


# .ci/run ------------------------------------------------------------------------------------


def run_ci(
    tmp_path: Path,
    *,
    uid: int = 0,
    sudo: bool = False,
    on_path: tuple[str, ...] = ("chromium", "chromedriver"),
    status: str = "",
    env: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[str], list[str]]:
    """Run a copy of `.ci/run` with stand-ins for make, git, apt-get, id and sudo; return
    its result, the make command lines (with the variables they saw) and apt-get's."""
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / ".ci/run", project / ".ci/run")
    log = tmp_path / "log"
    programs = {
        "make": f'echo "make $* DATA_MIRROR=${{DATA_MIRROR:-}} CI=$CI'
        f' DVC_NO_ANALYTICS=$DVC_NO_ANALYTICS" >> {log}',
        "git": f'[ "$1" = status ] && printf "{status}"; exit 0',
        "apt-get": f'echo "apt-get $*" >> {log}',
        "id": f"echo {uid}",
        **dict.fromkeys(on_path, ""),
    }
    if sudo:
        programs["sudo"] = '[ "$2" = true ] && exit 0; shift; exec "$@"'
    bin_dir = fake_bin(tmp_path / "bin", **programs)
    for tool in ("dirname", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    result = subprocess.run(
        [shutil.which("bash") or "bash", str(project / ".ci/run")],
        env={"PATH": str(bin_dir), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = log.read_text().splitlines() if log.exists() else []
    return (
        result,
        [line for line in lines if line.startswith("make ")],
        [line for line in lines if line.startswith("apt-get ")],
    )


def test_ci_run_reproduces_checks_reports_lints_and_tests_in_that_order(tmp_path: Path) -> None:
    result, makes, apt = run_ci(tmp_path, env={"DATA_MIRROR": "/data/mnist"})
    assert result.returncode == 0, result.stderr
    suffix = " DATA_MIRROR=/data/mnist CI=true DVC_NO_ANALYTICS=1"
    assert makes == [
        f"make {words}{suffix}" for words in ("repro", "report BASELINE=HEAD", "lint", "test")
    ]
    assert apt == []


def test_ci_run_stops_when_make_repro_changed_a_tracked_file(tmp_path: Path) -> None:
    result, makes, _ = run_ci(tmp_path, status=" M dvc.lock\\n")
    assert result.returncode == 1
    assert [line.split()[1] for line in makes] == ["repro"]
    assert "make repro changed tracked files:\n M dvc.lock" in result.stderr


@pytest.mark.parametrize("shared", [True, False])
def test_ci_run_reads_mnist_from_the_shared_copy_only_when_there_is_one(
    tmp_path: Path, shared: bool
) -> None:
    mirror = tmp_path / "shared/datasets/mnist"
    if shared:
        mirror.mkdir(parents=True)
    result, makes, _ = run_ci(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"DATA_MIRROR={mirror if shared else ''} " in makes[0]
    assert ("DATA_MIRROR is not set" in result.stderr) is not shared


@pytest.mark.parametrize(
    ("uid", "sudo", "installs"), [(0, False, True), (1000, True, True), (1000, False, False)]
)
@pytest.mark.parametrize("on_path", [(), ("chromium",), ("google-chrome",)])
def test_ci_run_installs_a_missing_browser_or_driver_only_where_it_may(
    tmp_path: Path, uid: int, sudo: bool, installs: bool, on_path: tuple[str, ...]
) -> None:
    """As root or with passwordless sudo, Debian's chromium and chromium-driver; otherwise
    one line saying so, and CI goes on (the browser tests then fail, saying why)."""
    result, makes, apt = run_ci(tmp_path, uid=uid, sudo=sudo, on_path=on_path)
    assert result.returncode == 0, result.stderr
    assert len(makes) == 4
    if installs:
        assert apt == ["apt-get update -qq", "apt-get install -y -qq chromium chromium-driver"]
    else:
        assert apt == []
        assert "the browser tests fail" in result.stderr


@pytest.mark.parametrize("browser", ["chromium", "chromium-browser", "google-chrome-stable"])
def test_ci_run_installs_nothing_when_a_browser_and_its_driver_are_there(
    tmp_path: Path, browser: str
) -> None:
    result, _, apt = run_ci(tmp_path, on_path=(browser, "chromedriver"))
    assert result.returncode == 0 and apt == []
