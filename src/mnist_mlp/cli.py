"""What every entry point (stages and tools) shares: logging set-up, one-line errors, and
stopping cleanly on SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mnist_mlp.errors import PipelineError, brief

# The signals a user or a scheduler stops a run with. SIGKILL cannot be caught: atomic
# outputs (mnist_mlp.io.files) are what make it safe.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The process received a stop signal; raised wherever the main thread was.

    A :class:`BaseException`, not ``KeyboardInterrupt``: scikit-learn's MLP catches
    ``KeyboardInterrupt`` in ``fit``, warns "Training interrupted by user" and returns the
    partly trained model, which the train stage would then save as a success.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def argument_parser(doc: str | None, *, params: bool = True) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of the module's ``doc``.

    Stages also take ``--params`` (``params=True``); tools that read no params do not.
    """
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0] or None)
    if params:
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

    SIGINT and SIGTERM end it with one line and exit ``128 + signal``, as a shell reports a
    killed command, after every ``finally`` has run: temporary files are removed and no
    output is put in place, so DVC records nothing and reruns the stage.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(main.__module__)
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in STOP_SIGNALS}
    try:
        main(argv)
    except PipelineError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except Interrupted as exc:
        log.error("stopped by %s before finishing; run it again", exc)
        sys.exit(128 + exc.signum)
    except OSError as exc:
        log.error("%s", os_error_message(exc))
        sys.exit(1)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def dvc_json(*args: str) -> Any:
    """The parsed output of ``dvc <args> --json``; a failure is a one-line PipelineError."""
    result = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


def os_error_message(exc: OSError) -> str:
    """``<file>: <reason>`` for an OSError, naming both files of a failed rename."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    files = [name for name in (exc.filename, exc.filename2) if name is not None]
    if not files:
        return reason
    shown = [os.fsdecode(name) for name in files]
    shown = [name if name.isprintable() else brief(name) for name in shown]
    return f"{' -> '.join(shown)}: {reason}"
