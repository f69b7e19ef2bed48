"""What every entry point (stages and tools) shares: logging set-up and one-line errors."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mnist_mlp.errors import PipelineError


def argument_parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the ``--params`` option every stage takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--params", default="params.yaml", help="params file (default: %(default)s)"
    )
    return parser


def run_stage(
    main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None
) -> None:
    """Run an entry point's ``main``; a :class:`PipelineError` ends it with one line, exit 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(argv)
    except PipelineError as exc:
        logging.getLogger(main.__module__).error("%s", exc)
        sys.exit(1)


def dvc_json(*args: str) -> Any:
    """The parsed output of ``dvc <args> --json``; a failure is a one-line PipelineError."""
    result = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")
