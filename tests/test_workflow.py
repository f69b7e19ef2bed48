"""The GitHub Actions workflow is valid YAML and names only actions and commands that exist."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import yaml

from tests.helpers import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github/workflows/report.yml"
# Published actions and major versions this workflow may use.
KNOWN_ACTIONS = {
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "actions/upload-artifact@v4",
    "iterative/setup-cml@v2",
}
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


def test_uses_only_known_actions() -> None:
    used = {step["uses"] for step in steps() if "uses" in step}
    assert used <= KNOWN_ACTIONS, used - KNOWN_ACTIONS


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
