"""Time ``make venv`` with uv and with pip from empty package caches, in one run.

``python -m benchmarks.venv_setup [--repeats 3] [--machine-pip-config]``, run from the
project root, needs PyPI. Each build gets a fresh virtual environment and fresh, empty
``PIP_CACHE_DIR`` and ``UV_CACHE_DIR``; pip reads no configuration file, as on a fresh
machine (``--machine-pip-config`` adds a pip build with this machine's pip configuration,
which may point at local wheel mirrors). Builds run without ``PYTHONDONTWRITEBYTECODE``,
as on most machines, plus one uv build with it set (``make venv`` then has uv compile the
bytecode up front, as pip always does). It prints a markdown table of each build's time
and of the first and second import of dvc, scikit-learn and matplotlib in the new
environment, and checks that every environment holds the same packages at the same
versions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import PROJECT_ROOT as ROOT

logger = logging.getLogger(__name__)

# Installed only by the uv build, as its own installer.
INSTALLER_PACKAGES = {"uv"}
FIRST_IMPORT = "import dvc.cli, dvc.api, sklearn.neural_network, matplotlib.pyplot, skops.io"
PIP_CONFIG_VARIABLES = ("PIP_CONFIG_FILE", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


@dataclass(frozen=True)
class Variant:
    """One way to build: the installer, and the parts of this machine's set-up it keeps."""

    installer: str
    machine_pip_config: bool = False
    dont_write_bytecode: bool = False

    @property
    def label(self) -> str:
        extras = ["this machine's pip config"] * self.machine_pip_config
        extras += ["PYTHONDONTWRITEBYTECODE=1"] * self.dont_write_bytecode
        return self.installer + (f" ({', '.join(extras)})" if extras else "")


def build_env(cache_dir: Path, variant: Variant) -> dict[str, str]:
    """The environment of one build: empty caches under ``cache_dir``.

    Parameters
    ----------
    cache_dir : Path
        A fresh directory; the pip and uv caches are created inside it.
    variant : Variant
        Whether to keep this machine's pip configuration (files and ``PIP_*`` index
        variables) and to set ``PYTHONDONTWRITEBYTECODE``.
    """
    env = {**os.environ, "PIP_CACHE_DIR": str(cache_dir / "pip")}
    env["UV_CACHE_DIR"] = str(cache_dir / "uv")
    if not variant.machine_pip_config:
        for name in PIP_CONFIG_VARIABLES:
            env.pop(name, None)
        env["PIP_CONFIG_FILE"] = os.devnull
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if variant.dont_write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def package_differences(
    reference: dict[str, str], other: dict[str, str], ignore: set[str] = INSTALLER_PACKAGES
) -> list[str]:
    """Lines naming each package whose version differs, or that only one side has.

    Parameters
    ----------
    reference, other : dict of str to str
        Package name to version, as ``pip list`` reports them.
    ignore : set of str
        Package names left out of the comparison.
    """
    names = (reference.keys() | other.keys()) - ignore
    return [
        f"{name}: {reference.get(name, 'missing')} != {other.get(name, 'missing')}"
        for name in sorted(names)
        if reference.get(name) != other.get(name)
    ]


def installed_packages(venv: Path) -> dict[str, str]:
    """Name to version of every package in ``venv``."""
    listed = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {item["name"].lower(): item["version"] for item in json.loads(listed)}


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds ``command`` takes, run from the project root; fails loudly if it fails."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(variant: Variant, workdir: Path) -> tuple[float, float, float, Path]:
    """Build a venv from empty caches; time it and the first two imports in it."""
    workdir.mkdir(parents=True)
    env = build_env(workdir, variant)
    venv = workdir / "venv"
    seconds = timed(["make", "venv", f"VENV={venv}", f"INSTALLER={variant.installer}"], env)
    first = timed([str(venv / "bin/python"), "-c", FIRST_IMPORT], env)
    second = timed([str(venv / "bin/python"), "-c", FIRST_IMPORT], env)
    return seconds, first, second, venv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--machine-pip-config", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pip = Variant("pip")
    variants = [Variant("uv"), pip, Variant("uv", dont_write_bytecode=True)]
    if args.machine_pip_config:
        variants.append(Variant("pip", machine_pip_config=True))
    results: dict[Variant, list[tuple[float, float, float]]] = {v: [] for v in variants}
    packages: dict[Variant, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="venv-bench-") as tmp:
        for repeat in range(args.repeats):
            for number, variant in enumerate(variants):
                *timings, venv = measure(variant, Path(tmp) / f"{number}-{repeat}")
                logger.info("%s: %s", variant.label, ", ".join(f"{t:.1f} s" for t in timings))
                results[variant].append(tuple(timings))
                packages[variant] = installed_packages(venv)
    pip_median = statistics.median(t[0] for t in results[pip])
    rows = [
        "| build | make venv, s (each run) | median s | pip / this "
        "| 1st import, s | 2nd import, s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for variant in variants:
        builds, firsts, seconds = zip(*results[variant], strict=True)
        median = statistics.median(builds)
        rows.append(
            f"| {variant.label} | {', '.join(f'{t:.1f}' for t in builds)} | {median:.1f} "
            f"| {pip_median / median:.1f} × | {statistics.median(firsts):.1f} "
            f"| {statistics.median(seconds):.1f} |"
        )
    sys.stdout.write("\n".join(rows) + "\n\n")
    for variant, found in packages.items():
        differences = package_differences(packages[pip], found)
        if differences:
            sys.exit(f"{variant.label} built other packages than pip: " + "; ".join(differences))
    count = len(packages[pip].keys() - INSTALLER_PACKAGES)
    sys.stdout.write(f"Every build holds the same {count} packages at the same versions.\n")


if __name__ == "__main__":
    main()
