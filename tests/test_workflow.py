"""The GitHub Actions workflows are valid YAML and name only actions and commands that exist."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github/workflows/report.yml"
# CML's subcommands (https://cml.dev/doc/ref): comment create/update, pr, publish, runner.
CML_COMMANDS = {("comment", "create"), ("comment", "update"), ("pr",), ("publish",)}


def load_workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict]:
    return [step for job in load_workflow()["jobs"].values() for step in job["steps"]]


def commands() -> list[list[str]]:
    """Every shell command line of every `run:` step, split into words."""
    lines = []
    for step in steps():
        for line in step.get("run", "").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "if ", "fi", "then", "export ")):
                lines.append(shlex.split(line.split("$(")[0].replace('"', "")))
    return lines


def test_workflow_runs_on_pull_requests_with_a_deep_checkout() -> None:
    workflow = load_workflow()
    assert "pull_request" in workflow[True]  # PyYAML reads the key `on` as True
    checkout = next(s for s in steps() if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    assert workflow["permissions"]["pull-requests"] == "write"


def test_every_action_is_pinned_to_a_release() -> None:
    # An unpinned action (no @, or a branch) changes under the workflow without a commit.
    used = {step["uses"] for step in steps() if "uses" in step}
    assert used
    unpinned = {action for action in used if not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action)}
    assert not unpinned


def test_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (PROJECT_ROOT / "Makefile").read_text(), re.M))
    used = {words[1] for words in commands() if words[0] == "make"}
    assert used and used <= targets, used - targets


def test_dvc_commands_exist() -> None:
    dvc_commands = [words for words in commands() if words[0].endswith("dvc")]
    assert dvc_commands
    for words in dvc_commands:
        subcommand = [w for w in words[1:] if not w.startswith("-")][:2]
        result = subprocess.run(
            [sys.executable, "-m", "dvc", *subcommand, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0, f"dvc {' '.join(subcommand)}: {result.stderr}"


def test_cml_commands_exist() -> None:
    cml = [words for words in commands() if words[0] == "cml"]
    assert cml
    for words in cml:
        subcommand = tuple(w for w in words[1:3] if not w.startswith("-"))
        assert subcommand in CML_COMMANDS
        assert "reports/report.md" in words


def test_uploaded_files_are_what_make_report_writes() -> None:
    upload = next(s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact"))
    written = {"reports/report.html", "reports/report.md", "reports/report_files/"}
    assert set(upload["with"]["path"].split()) == written


# The sweep workflow ---------------------------------------------------------------------

SWEEP_WORKFLOW = PROJECT_ROOT / ".github/workflows/sweep.yml"


def sweep_jobs() -> dict[str, dict]:
    return yaml.safe_load(SWEEP_WORKFLOW.read_text())["jobs"]


def step_running(job: dict, command: str) -> dict:
    return next(step for step in job["steps"] if command in step.get("run", ""))


def test_sweep_plan_step_turns_the_default_grid_into_shards(tmp_path) -> None:
    """Run the plan step's own command line, as the runner would, on the default inputs."""
    workflow = yaml.safe_load(SWEEP_WORKFLOW.read_text())
    inputs = workflow[True]["workflow_dispatch"]["inputs"]
    line = step_running(sweep_jobs()["plan"], "sweep-plan")["run"]
    assert workflow["env"] == {"GRID": "${{ inputs.grid }}", "WORKERS": "${{ inputs.workers }}"}
    output = tmp_path / "github_output"
    env = {
        **os.environ,
        "GRID": inputs["grid"]["default"],
        "WORKERS": str(inputs["workers"]["default"]),
        "GITHUB_OUTPUT": str(output),
        "PATH": f"{PROJECT_ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run(["bash", "-e", "-c", line], cwd=PROJECT_ROOT, env=env, check=True)
    name, _, value = output.read_text().strip().partition("=")
    assert name == "shards"
    assert json.loads(value) == ["1/4", "2/4", "3/4", "4/4"]
    assert sweep_jobs()["plan"]["outputs"]["shards"] == "${{ steps.plan.outputs.shards }}"


def test_sweep_workers_run_one_shard_each_from_a_full_clone() -> None:
    jobs = sweep_jobs()
    worker = jobs["worker"]
    assert worker["needs"] == "plan"
    assert worker["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    step = step_running(worker, "make sweep ")
    assert step["env"] == {"SHARD": "${{ matrix.shard }}"}
    assert shlex.split(step["run"]) == ["make", "sweep", "SWEEP=$GRID", "SHARD=$SHARD"]
    for name, job in jobs.items():
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["fetch-depth"] == 0, name


def test_sweep_gather_waits_for_every_worker_and_publishes_what_it_writes() -> None:
    gather = sweep_jobs()["gather"]
    assert "worker" in gather["needs"]
    assert gather["if"].startswith("${{ always()")  # failed workers are listed, not hidden
    words = shlex.split(step_running(gather, "make sweep-gather")["run"])
    assert words == ["make", "sweep-gather", "SWEEP=$GRID"]
    assert 'reports/sweep.md >> "$GITHUB_STEP_SUMMARY"' in step_running(gather, "SUMMARY")["run"]
    recipe = re.search(
        r"^sweep-gather:.*\n((?:\t.*\n)+)", (PROJECT_ROOT / "Makefile").read_text(), re.M
    )
    written = set(re.findall(r"--(?:csv|markdown|figure) (\S+)", recipe[1]))
    upload = next(s for s in gather["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert set(upload["with"]["path"].split()) == written


def test_sweep_workflow_pins_its_actions_and_runs_existing_make_targets() -> None:
    steps = [step for job in sweep_jobs().values() for step in job["steps"]]
    used = {step["uses"] for step in steps if "uses" in step}
    assert used and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action) for action in used)
    targets = set(re.findall(r"^([a-z-]+):", (PROJECT_ROOT / "Makefile").read_text(), re.M))
    used = set(re.findall(r"make (?:-s )?([a-z-]+)", " ".join(s.get("run", "") for s in steps)))
    assert used and used <= targets, used - targets


def test_sweep_workflow_passes_inputs_to_scripts_only_through_the_environment() -> None:
    """An expression spliced into a `run:` script is run as shell code: a grid such as
    `x"; curl ... #` would run in a job that can push to the repository."""
    runs = [step["run"] for job in sweep_jobs().values() for step in job["steps"] if "run" in step]
    assert runs and not [run for run in runs if "${{" in run]


def test_make_passes_shard_jobs_and_workers_as_words_not_shell_code(tmp_path: Path) -> None:
    """`make sweep-plan WORKERS=...` as the workflow runs it: a value with shell in it is a
    bad number for the sweep, not a command."""
    marker = tmp_path / "ran"
    env = {**os.environ, "PATH": f"{PROJECT_ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "-s", "sweep-plan", f"WORKERS=4; touch {marker} #", "SWEEP=-S train.alpha=0.1"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "--max-workers: invalid int value" in result.stderr
    assert not marker.exists()
