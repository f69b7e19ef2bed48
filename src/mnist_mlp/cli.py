"""What every entry point (stages and tools) shares: logging set-up and one-line errors."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mnist_mlp.errors import PipelineError, brief


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
    """Run an entry point's ``main``; a :class:`PipelineError` ends it with one line, exit 1.

    So does an :class:`OSError`: a missing input (a stage run by hand before the one that
    writes it), a full, read-only or forbidden output directory. Outputs are written
    atomically, so nothing half-written is left behind.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(main.__module__)
    try:
        main(argv)
    except PipelineError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except OSError as exc:
        log.error("%s", os_error_message(exc))
        sys.exit(1)


def os_error_message(exc: OSError) -> str:
    """``<file>: <reason>`` for an OSError, naming both files of a failed rename."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    files = [name for name in (exc.filename, exc.filename2) if name is not None]
    if not files:
        return reason
    shown = [os.fsdecode(name) for name in files]
    shown = [name if name.isprintable() else brief(name) for name in shown]
    return f"{' -> '.join(shown)}: {reason}"


def dvc_json(*args: str) -> Any:
    """The parsed output of ``dvc <args> --json``; a failure is a one-line PipelineError."""
    result = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")
