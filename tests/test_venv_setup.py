"""The set-up benchmark's pure parts: each build's environment and the package comparison.
(The builds themselves need PyPI, which tests never reach.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.venv_setup import Variant, build_env, package_differences


def test_builds_start_from_empty_caches_without_the_machines_pip_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = build_env(tmp_path, Variant("uv"))
    assert env["PIP_CACHE_DIR"] == str(tmp_path / "pip")
    assert env["UV_CACHE_DIR"] == str(tmp_path / "uv")
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_FIND_LINKS" not in env
    assert "PYTHONDONTWRITEBYTECODE" not in env
    kept = build_env(tmp_path, Variant("pip", machine_pip_config=True, dont_write_bytecode=True))
    assert kept["PIP_FIND_LINKS"] == "/opt/wheels"
    assert kept.get("PIP_CONFIG_FILE") != os.devnull
    assert kept["PYTHONDONTWRITEBYTECODE"] == "1"


def test_package_differences_name_each_version_mismatch() -> None:
    pip_built = {"dvc": "3.67.1", "numpy": "2.4.6", "pip": "26.3"}
    assert package_differences(pip_built, {**pip_built, "uv": "0.13.9"}) == []
    other = {"dvc": "3.67.1", "numpy": "2.4.5", "uv": "0.13.9", "extra": "1"}
    assert package_differences(pip_built, other) == [
        "extra: missing != 1",
        "numpy: 2.4.6 != 2.4.5",
        "pip: 26.3 != missing",
    ]
