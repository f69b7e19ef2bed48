"""Time ``make venv`` with uv and with pip from empty package caches, in one run.

``python -m benchmarks.venv_setup [--repeats 3] [--machine-pip-config]``, run from the
project root, needs PyPI. Each build gets a fresh virtual environment and fresh, empty
``PIP_CACHE_DIR`` and ``UV_CACHE_DIR``; pip reads no configuration file, as on a fresh
machine (``--machine-pip-config`` adds a pip build with this machine's pip configuration,
which may point at local wheel mirrors). It prints a markdown table of each build's time,
the first import of dvc, scikit-learn and matplotlib in the new environment (uv leaves the
bytecode to be compiled then, pip compiles it while installing), and checks that every
environment holds the same packages at the same versions.
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
from pathlib import Path

from tests.helpers import PROJECT_ROOT as ROOT

logger = logging.getLogger(__name__)

# Installed only by the uv build, as its own installer.
INSTALLER_PACKAGES = {"uv"}
FIRST_IMPORT = "import dvc.cli, dvc.api, sklearn.neural_network, matplotlib.pyplot, skops.io"
PIP_CONFIG_VARIABLES = ("PIP_CONFIG_FILE", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def build_env(cache_dir: Path, machine_pip_config: bool) -> dict[str, str]:
    """The environment of one build: empty caches under ``cache_dir``, pip config or not.

    Parameters
    ----------
    cache_dir : Path
        A fresh directory; the pip and uv caches are created inside it.
    machine_pip_config : bool
        Keep this machine's pip configuration (files and ``PIP_*`` index variables).
    """
    env = {**os.environ, "PIP_CACHE_DIR": str(cache_dir / "pip")}
    env["UV_CACHE_DIR"] = str(cache_dir / "uv")
    if not machine_pip_config:
        for name in PIP_CONFIG_VARIABLES:
            env.pop(name, None)
        env["PIP_CONFIG_FILE"] = os.devnull
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


def measure(installer: str, machine_pip_config: bool, workdir: Path) -> tuple[float, float, Path]:
    """Build a venv with ``installer`` from empty caches; time it and its first import."""
    workdir.mkdir(parents=True)
    env = build_env(workdir, machine_pip_config)
    venv = workdir / "venv"
    seconds = timed(["make", "venv", f"VENV={venv}", f"INSTALLER={installer}"], env)
    first_import = timed([str(venv / "bin/python"), "-c", FIRST_IMPORT], env)
    return seconds, first_import, venv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--machine-pip-config", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    variants = [("uv", False), ("pip", False)]
    if args.machine_pip_config:
        variants.append(("pip", True))
    times: dict[tuple[str, bool], list[float]] = {variant: [] for variant in variants}
    imports: dict[tuple[str, bool], list[float]] = {variant: [] for variant in variants}
    packages: dict[tuple[str, bool], dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="venv-bench-") as tmp:
        for repeat in range(args.repeats):
            for installer, machine in variants:
                workdir = Path(tmp) / f"{installer}-{machine}-{repeat}"
                seconds, first_import, venv = measure(installer, machine, workdir)
                logger.info("%s (machine pip config: %s): %.1f s", installer, machine, seconds)
                times[installer, machine].append(seconds)
                imports[installer, machine].append(first_import)
                packages[installer, machine] = installed_packages(venv)
    pip_median = statistics.median(times["pip", False])
    rows = [
        "| build | make venv, s (each run) | median s | pip / this | first import, s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for installer, machine in variants:
        label = installer + (" (this machine's pip config)" if machine else "")
        median = statistics.median(times[installer, machine])
        each = ", ".join(f"{t:.1f}" for t in times[installer, machine])
        first = statistics.median(imports[installer, machine])
        rows.append(
            f"| {label} | {each} | {median:.1f} | {pip_median / median:.1f} × | {first:.1f} |"
        )
    sys.stdout.write("\n".join(rows) + "\n\n")
    reference = packages["pip", False]
    for variant, found in packages.items():
        differences = package_differences(reference, found)
        if differences:
            sys.exit(f"{variant[0]} built other packages than pip: " + "; ".join(differences))
    count = len(reference.keys() - INSTALLER_PACKAGES)
    sys.stdout.write(f"Every build holds the same {count} packages at the same versions.\n")


if __name__ == "__main__":
    main()
