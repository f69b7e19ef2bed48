"""`make venv`: safe to start twice at once, and a half-built .venv/ is rebuilt, not reused.

The real build takes a minute; these tests run the Makefile's own rules with a fake build
(`VENV_BUILD`) that records when it starts and ends and waits for the test's go-ahead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

FAKE_BUILD = """
mkdir -p .venv
echo start >> builds.log
touch "started.$$"
i=0
while [ ! -e release ] && [ "$i" -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
echo end >> builds.log
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile with the files its venv rule depends on, and the fake build."""
    shutil.copy2(PROJECT_ROOT / "Makefile", tmp_path)
    (tmp_path / "requirements.lock").touch()
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / "requirements-uv.lock").touch()
    (tmp_path / "build.sh").write_text(FAKE_BUILD)
    return tmp_path


def make_venv(project: Path, *variables: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["make", "--no-print-directory", "venv", "VENV_BUILD=sh build.sh", *variables],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def waiting_for_lock(lock: Path) -> bool:
    """True when a process is blocked on ``lock`` (a ``->`` line in /proc/locks)."""
    if not lock.exists():
        return False
    inode = f":{lock.stat().st_ino} "
    return any(" -> " in line and inode in line for line in Path("/proc/locks").open())


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads Linux's /proc/locks")
@pytest.mark.parametrize(
    "lock", [(), ("FLOCK=$(PYFLOCK)",)], ids=["flock", "python-fallback-without-flock"]
)
def test_two_makes_at_once_build_the_venv_once(project: Path, lock: tuple[str, ...]) -> None:
    first = make_venv(project, *lock)
    wait_until(lambda: len(list(project.glob("started.*"))) == 1)
    second = make_venv(project, *lock)
    # The second make either waits for the lock or, without one, starts its own build.
    wait_until(
        lambda: (
            waiting_for_lock(project / ".venv.lock") or len(list(project.glob("started.*"))) == 2
        )
    )
    (project / "release").touch()
    assert first.wait(timeout=60) == 0, first.stdout.read()
    assert second.wait(timeout=60) == 0, second.stdout.read()
    assert (project / "builds.log").read_text() == "start\nend\n"
    assert (project / ".venv/.installed").exists()


def test_half_built_venv_is_removed_and_rebuilt(project: Path) -> None:
    (project / "release").touch()
    (project / ".venv/lib").mkdir(parents=True)
    (project / ".venv/lib/half-installed").touch()
    assert make_venv(project).wait(timeout=60) == 0
    assert not (project / ".venv/lib/half-installed").exists()
    assert (project / ".venv/.installed").exists()


def test_failed_build_leaves_no_marker_so_the_next_make_rebuilds(project: Path) -> None:
    failed = subprocess.run(
        ["make", "venv", "VENV_BUILD=mkdir -p .venv/lib; false"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    assert failed.returncode != 0
    assert not (project / ".venv/.installed").exists()
    (project / "release").touch()
    assert make_venv(project).wait(timeout=60) == 0
    assert (project / "builds.log").read_text() == "start\nend\n"
    assert os.listdir(project / ".venv") == [".installed"]


def make(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True
    )


def test_help_aligns_the_targets_and_lists_every_variable_with_its_default() -> None:
    shown = make("help").stdout.splitlines()
    targets = [line for line in shown if line.startswith("  make ")]
    assert len(targets) > 10
    assert len({len(re.match(r"  make \S+\s+", line)[0]) for line in targets}) == 1
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for name, default in re.findall(r"^([A-Z]+) \?= ?(.*)$", makefile, re.M):
        assert f"  {name}={default}" in shown


def test_a_missing_variable_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    shutil.copy2(PROJECT_ROOT / "Makefile", tmp_path)
    for name in ("requirements.lock", "pyproject.toml", "requirements-uv.lock", ".venv/.installed"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST", "DATA_MIRROR")}
    result = subprocess.run(
        ["make", "--no-print-directory", "bench"], cwd=tmp_path, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "make bench needs MNIST=" in result.stderr


@pytest.mark.parametrize("target", ["repro", "verify", "report", "exps", "explore"])
def test_targets_that_run_dvc_check_params_yaml_first(target: str) -> None:
    rule = re.search(rf"^{target}:([^#\n]*)", (PROJECT_ROOT / "Makefile").read_text(), re.M)
    assert rule and "params-check" in rule[1].split()


def test_params_check_refuses_an_alias_bomb_in_one_line(tmp_path: Path) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{b}: &{b} [{','.join([f'*{a}'] * 10)}]\n"
        for a, b in zip("abcdefg", "bcdefgh", strict=True)
    )
    (tmp_path / "params.yaml").write_text(bomb)
    result = subprocess.run(
        [sys.executable, "-m", "mnist_mlp.io.params", "params.yaml"], cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("ERROR __main__: params.yaml: cannot read params (aliases repeat ")
    assert line.endswith("nodes, more than the limit of 1000)")
