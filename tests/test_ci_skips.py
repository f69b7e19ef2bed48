"""Tests that need what a developer's machine may lack (Chromium, the full MNIST) skip with
a reason there, and fail under CI (``CI=true``), where they must run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.helpers import find_chromium, skip_unless_ci


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
