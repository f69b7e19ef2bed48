"""Refusing to write outputs from params or inputs that changed while the stage ran.

DVC hashes a stage's deps and reads its params *after* the command exits, and records those
in ``dvc.lock`` and its run-cache as what produced the outputs. If ``params.yaml`` or an input
file changes while the stage runs (``dvc exp run -S`` started beside a running ``dvc repro``
rewrites ``params.yaml`` before it finds the repository busy), DVC would pair the new values
with outputs computed from the old ones; the same goes for an input file or the stage's
code edited mid-run. Each stage therefore takes a :class:`Snapshot` of the params sections
and input files it reads, before reading them, and of the code it runs, and writes its
outputs inside :func:`unchanged`, which compares the snapshot with the disk before and after
writing and fails in one line if anything differs: a failed stage is recorded nowhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_mlp.errors import DataError, ParamsError, PipelineError
from mnist_mlp.io.files import file_md5
from mnist_mlp.io.params import read_yaml


@dataclass(frozen=True)
class Snapshot:
    """The params sections and input files' MD5 (as DVC hashes them) when a stage started."""

    params_path: Path
    sections: dict[str, Any]
    inputs: tuple[Path, ...]
    files: dict[Path, str | None]


def _files(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every file under the inputs (a directory stands for all files below it), sorted."""
    files: list[Path] = []
    for item in map(Path, inputs):
        files += sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item]
    return files


def loaded_code() -> list[Path]:
    """The running script and every ``mnist_mlp`` module loaded: the code deps DVC records."""
    modules = [
        module
        for name, module in list(sys.modules.items())
        if name == "__main__" or name.partition(".")[0] == "mnist_mlp"
    ]
    return sorted({Path(file) for m in modules if (file := getattr(m, "__file__", None))})


def _sections(params_path: Path, names: Sequence[str]) -> dict[str, Any]:
    document = read_yaml(params_path)
    document = document if isinstance(document, dict) else {}
    return {name: document.get(name) for name in names}


def snapshot(
    params_path: str | os.PathLike[str],
    sections: Sequence[str],
    inputs: Sequence[str | os.PathLike[str]],
) -> Snapshot:
    """Record ``sections`` of ``params_path`` and the MD5 of every file under ``inputs`` and
    of the code loaded (:func:`loaded_code`).

    Take it before reading them: a change at any later time is then caught by
    :func:`check_unchanged`.
    """
    params_path = Path(params_path)
    watched = (*map(Path, inputs), *loaded_code())
    return Snapshot(
        params_path,
        _sections(params_path, sections),
        watched,
        {path: file_md5(path) for path in _files(watched)},
    )


def check_unchanged(before: Snapshot) -> None:
    """Raise if a params section or an input file differs from ``before``.

    Raises
    ------
    ParamsError
        Naming the params file and the first section that changed.
    DataError
        Naming the first input file that changed, appeared or disappeared.
    """
    try:
        now = _sections(before.params_path, list(before.sections))
    except ParamsError as exc:
        raise ParamsError(f"{exc}; it changed while this stage ran") from None
    for name, value in before.sections.items():
        if now[name] != value:
            raise ParamsError(
                f"{before.params_path}: {name}: changed while this stage ran; "
                "no output recorded for the old values, run it again"
            )
    current = {path: file_md5(path) for path in _files(before.inputs)}
    for path in sorted(set(before.files) | set(current)):
        if before.files.get(path) != current.get(path):
            raise DataError(
                f"{path}: changed while this stage ran; "
                "no output recorded for the old content, run it again"
            )


@contextlib.contextmanager
def unchanged(before: Snapshot) -> Iterator[None]:
    """Check :func:`check_unchanged` before the block writes outputs, and again after.

    The second check leaves only the instant between it and DVC reading the params
    after the stage exits; a failure there makes DVC record nothing.
    """
    check_unchanged(before)
    yield
    check_unchanged(before)


@contextlib.contextmanager
def changes_named_first(before: Snapshot) -> Iterator[None]:
    """Run the block; if it fails, fail with :func:`check_unchanged`'s line when an input
    changed under it, and with the block's own error otherwise.

    For a stage that reads an input while it computes (a file scored after every epoch,
    one loaded only if needed): a file replaced mid-run breaks the computation before the
    outputs are reached, and the error it causes would not name it.
    """
    try:
        yield
    except (PipelineError, OSError, ValueError):
        check_unchanged(before)
        raise
