"""CPU kernels pinned before numpy loads, so every x86-64-v3 machine computes the same bits."""

from __future__ import annotations

import os
import platform
import sys

import pytest

from mnist_mlp.kernels import X86_V3_FLAGS, cpu_flags, pin_kernels, plan_pin
from tests.helpers import DvcProject, this_machine_pin

V3_CPU = X86_V3_FLAGS | {"sse4_2", "avx512f"}
PINNED_VARIABLES = {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "X86_V3"}


def test_an_x86_64_v3_machine_runs_haswell_kernels_and_x86_v3_dispatch() -> None:
    pin = plan_pin({}, "x86_64", V3_CPU)
    assert pin.pinned
    assert pin.set_variables == PINNED_VARIABLES


def test_the_pinned_values_set_by_hand_count_as_pinned() -> None:
    pin = plan_pin({"OPENBLAS_CORETYPE": "Haswell"}, "x86_64", V3_CPU)
    assert pin.pinned
    assert pin.set_variables == {"NPY_ENABLE_CPU_FEATURES": "X86_V3"}


@pytest.mark.parametrize(
    "variable", ["OPENBLAS_CORETYPE", "NPY_ENABLE_CPU_FEATURES", "NPY_DISABLE_CPU_FEATURES"]
)
def test_a_value_the_environment_sets_wins(variable: str) -> None:
    pin = plan_pin({variable: "Zen"}, "x86_64", V3_CPU)
    assert not pin.pinned
    assert pin.set_variables == {}
    assert f"{variable}=Zen" in pin.reason


@pytest.mark.parametrize(
    ("machine", "flags", "named"),
    [
        ("aarch64", V3_CPU, "aarch64 is not x86-64"),
        ("arm64", None, "arm64 is not x86-64"),
        ("x86_64", V3_CPU - {"avx2", "fma"}, "no avx2, fma"),
        ("x86_64", None, "cannot read the CPU's features"),
    ],
)
def test_a_machine_the_pin_cannot_apply_to_runs_unpinned_and_says_why(
    machine: str, flags: frozenset[str] | None, named: str
) -> None:
    pin = plan_pin({}, machine, flags)
    assert not pin.pinned
    assert pin.set_variables == {}
    assert named in pin.reason


def test_this_machines_flags_are_read() -> None:
    if platform.machine().lower() not in {"x86_64", "amd64"} or not os.path.exists("/proc/cpuinfo"):
        pytest.skip(f"not Linux on x86-64: {platform.machine()}, {sys.platform}")
    assert "sse2" in (cpu_flags() or set()), "every x86-64 CPU has SSE2"


def test_too_late_once_numpy_is_loaded() -> None:
    environ: dict[str, str] = {}
    pin = pin_kernels(environ)  # pytest has loaded numpy already
    assert not pin.pinned
    assert environ == {}
    assert "numpy was loaded" in pin.reason


@pytest.mark.pipeline
def test_stages_compute_with_the_pinned_kernels_and_respect_an_explicit_one(
    reproduced: DvcProject,
) -> None:
    tiny_project = reproduced
    result = tiny_project.dvc("repro", "-f", "-s", "train", "evaluate", "visualize")
    logged = [line for line in result.stderr.splitlines() if "CPU kernels:" in line]
    assert len(logged) == 3, "train, evaluate and visualize each say it once"
    pin = this_machine_pin()
    if not pin.pinned:
        assert all(f"not pinned ({pin.reason})" in line for line in logged)
        pytest.skip(f"the pin cannot apply here: {pin.reason}")
    # What threadpoolctl and numpy report inside the stage, not what was asked for.
    assert all("OpenBLAS Haswell, numpy dispatch up to X86_V3 (pinned" in line for line in logged)

    tiny_project.env["OPENBLAS_CORETYPE"] = "Sandybridge"
    result = tiny_project.dvc("repro", "-f", "-s", "train")
    logged = [line for line in result.stderr.splitlines() if "CPU kernels:" in line]
    assert len(logged) == 1
    assert "OpenBLAS Sandybridge" in logged[0]
    assert "not pinned (the environment sets OPENBLAS_CORETYPE=Sandybridge)" in logged[0]
