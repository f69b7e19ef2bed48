"""Tests that need what a developer's machine may lack (Chromium, the full MNIST) skip with
a reason there, and fail under CI (``CI=true``), where they must run; and CI itself
reaches no internet."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, DvcProject, find_chromium, skip_unless_ci

CI_RUN = PROJECT_ROOT / ".ci/run"


def outcome(reason: str) -> BaseException:
    """What ``skip_unless_ci`` raises: pytest's skip and fail outcomes are BaseExceptions."""
    try:
        skip_unless_ci(reason)
    except BaseException as exc:  # noqa: B036 - pytest's outcomes are not Exceptions
        return exc
    raise AssertionError("skip_unless_ci returned")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    raised = outcome("no Chromium")
    assert isinstance(raised, pytest.skip.Exception)
    assert str(raised) == "no Chromium"


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    raised = outcome("no Chromium")
    assert isinstance(raised, pytest.fail.Exception)
    assert str(raised).startswith("no Chromium; CI")


def test_finds_chromium_only_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() is None
    binary = tmp_path / "chromium-browser"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    assert find_chromium() == str(binary)


@pytest.mark.pipeline
def test_dvc_under_ci_run_sends_no_usage_report(tiny_project: DvcProject, tmp_path: Path) -> None:
    """`.ci/run`'s environment, then a DVC command as `make repro` runs it: DVC must not
    start the daemon that sends its usage report (CI has no internet)."""
    exports = [line for line in CI_RUN.read_text().splitlines() if line.startswith("export ")]
    dropped = ("DVC_NO_ANALYTICS", "DVC_TEST", "CI")
    env = {k: v for k, v in tiny_project.env.items() if k not in dropped} | {
        # Not this machine's DVC config, which may turn analytics off; and should the
        # daemon start after all, it reports to a closed local port, not the internet.
        "DVC_GLOBAL_CONFIG_DIR": str(tmp_path / "global"),
        "DVC_SYSTEM_CONFIG_DIR": str(tmp_path / "system"),
        "DVC_ANALYTICS_ENDPOINT": "http://127.0.0.1:9",
    }
    script = "\n".join([*exports, "dvc status -v"])
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tiny_project.root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Analytics is disabled" in result.stdout + result.stderr
    assert "daemon" not in result.stdout + result.stderr
