"""The benchmark script runs end to end in its quickest mode, so that it cannot rot.
It asserts nothing about speed: only that every measurement is made and reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, TINY_TEST, TINY_TRAIN

pytestmark = pytest.mark.pipeline


def test_bench_quick_mode_prints_every_row(tiny_mnist: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--quick",
            "--data",
            str(tiny_mnist),
            "--train-size",
            str(TINY_TRAIN),
            "--test-size",
            str(TINY_TEST),
            "--max-iter",
            "2",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    for label in [
        "(a) plain script",
        "(b) dvc repro, empty cache",
        "(c) no-op dvc repro",
        "(d) dvc exp run",
        "(e) sweep of 2, 2 worker processes",
        "(j) one sweep worker, per experiment",
        "(f) stage fetch",
        "(f) stage train",
        "(f) stage visualize",
        "(g) DVC cache growth",
        "(h) fit",
        "float32",
        "`import sklearn.neural_network`",
        "`import matplotlib`",
        "the fit, BLAS unpinned",
        "`dvc exp run` of the 3 no-op stages",
        "sweep of 2 no-op experiments",
        "(b) ≥",
        "(c) DVC alone",
        "(d) ≥",
        "(e) ≥",
        "train's memory ≥",
    ]:
        assert label in table, label
    assert "| --- |" in table
