"""``make verify``: rehash what ``dvc.lock`` records, in the DVC cache and the workspace.

DVC trusts its cache: a file whose size and modification time did not change is not
rehashed (DVC keeps their hashes in ``.dvc/tmp``), so a flipped bit on disk, or an object
rewritten with its old time, goes unnoticed by ``dvc status``; ``dvc checkout`` copies it
into the workspace, stages compute from it, and ``dvc repro`` never overwrites a cache object
it believes it has. This tool reads the current ``dvc.lock`` through DVC's own index,
rehashes every cache object it names (a directory output's ``.dir`` manifest and each file
listed in it) and the workspace copy of each, and lists every corrupt or missing one with
the command that repairs it. Exit status 1 if anything is listed.

``dvc.lock`` and the manifests are files anyone can edit, and each record names files to
hash and goes into a repair command: a record whose MD5 is not one, or whose path leads
out of the repository, is listed as refused, and nothing it names is touched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dvc.exceptions import DvcException
from dvc.repo import Repo

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.errors import PipelineError, brief, reason
from mnist_mlp.io.files import file_md5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Damage:
    """One recorded file whose bytes are not what ``dvc.lock`` says, or whose record is
    refused, and how to repair it."""

    path: str
    problem: str
    repair: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; repair: {self.repair}"


@dataclass(frozen=True)
class Record:
    """One output file as ``dvc.lock`` records it, checked safe to look at."""

    stage: str
    path: str
    md5: str
    cached: bool


# What DVC 3 writes: an MD5, and a directory's manifest is ``<md5>.dir``.
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


def _inside(path: object) -> bool:
    """Whether ``path`` is printable, relative and stays inside the directory it is in."""
    return (
        isinstance(path, str)
        and path.isprintable()
        and not os.path.isabs(path)
        and os.path.normpath(path).split(os.sep)[0] != ".."
    )


def _rerun(stage: str) -> str:
    """The repair that runs ``stage`` again and records what it truly writes."""
    return f"dvc repro -f -s {shlex.quote(stage)}"


def _checked(stage: str, path: object, md5: object, cached: bool) -> Record | Damage:
    """The record, or a Damage refusing it if its path or MD5 could lead elsewhere.

    The MD5 names a cache object and the path a workspace file, both to be hashed and
    printed in a repair command: an MD5 must be 32 hex digits (``.dir`` allowed), a path
    must be relative, printable and stay inside the repository.
    """
    repair = _rerun(stage)
    if not _inside(path):
        return Damage(brief(path), "refused: not a path inside the repository", repair)
    if not (isinstance(md5, str) and _MD5.fullmatch(md5)):
        problem = f"refused: its recorded MD5 {brief(md5)} is not 32 hex digits"
        return Damage(str(path), problem, repair)
    return Record(stage, str(path), md5, cached)


def recorded_files(repo: Repo) -> Iterator[Record | Damage]:
    """Every output file in the current ``dvc.lock``, or a Damage refusing its record.

    A directory output yields its ``.dir`` manifest and then each file the manifest lists,
    read from the cache only when the manifest itself is intact.
    """
    cache = Path(repo.cache.local.path)
    for stage in repo.index.stages:
        for out in stage.outs:
            if not out.hash_info.value:
                continue
            record = _checked(stage.name, out.def_path, out.hash_info.value, out.use_cache)
            yield record
            if isinstance(record, Damage) or not out.hash_info.isdir:
                continue
            manifest = cache / record.md5[:2] / record.md5[2:]
            if file_md5(manifest) != record.md5.removesuffix(".dir"):
                continue
            try:
                entries = [(e["relpath"], e["md5"]) for e in json.loads(manifest.read_text())]
            except (ValueError, TypeError, KeyError):
                shown = os.path.relpath(manifest, repo.root_dir)
                problem = f"refused: cache object {shown} is not a directory manifest"
                yield Damage(record.path, problem, _rerun(stage.name))
                continue
            for relpath, md5 in entries:
                yield _checked(stage.name, f"{record.path}/{relpath}", md5, True)


def find_damage(root: str | os.PathLike[str]) -> list[Damage]:
    """Every file the DVC repository ``root`` records whose cache object or workspace copy
    is missing or corrupt, or whose record is refused (:func:`_checked`).

    Raises
    ------
    PipelineError
        In one line, if DVC cannot read ``dvc.yaml`` or ``dvc.lock`` (a merge conflict).
    """
    root = Path(root)
    try:
        with Repo(os.fspath(root)) as repo:
            cache = Path(repo.cache.local.path)
            recorded = list(recorded_files(repo))
    except DvcException as exc:
        raise PipelineError(f"cannot read the pipeline: {reason(exc)}") from None
    damage = [record for record in recorded if isinstance(record, Damage)]
    for record in recorded:
        if isinstance(record, Damage):
            continue
        path, oid = record.path, record.md5
        workspace = root / path
        is_dir = oid.endswith(".dir")
        workspace_good = is_dir or file_md5(workspace) == oid
        if record.cached:
            obj = cache / oid[:2] / oid[2:]
            found = file_md5(obj)
            if found != oid.removesuffix(".dir"):
                shown = os.path.relpath(obj, root)
                # DVC never overwrites an object it has: the bad one must go first. A good
                # workspace copy is committed back; otherwise the stage recomputes it
                # (byte-identical, see docs/reproducibility.md).
                commit = f"dvc commit -f {shlex.quote(record.stage)}"
                fix = commit if workspace_good else _rerun(record.stage)
                problem = "missing" if found is None else f"corrupt (MD5 {found}, expected {oid})"
                damage.append(
                    Damage(
                        path,
                        f"cache object {shown} is {problem}",
                        f"rm -f {shlex.quote(shown)} && {fix}",
                    )
                )
                continue
        if not workspace_good and workspace.exists():
            fix = (
                f"dvc checkout --relink {shlex.quote(path)}"
                if record.cached
                else _rerun(record.stage)
            )
            damage.append(Damage(path, f"workspace copy differs from dvc.lock (MD5 {oid})", fix))
    return damage


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("--repo", default=".", help="DVC repository (default: %(default)s)")
    args = parser.parse_args(argv)
    damage = find_damage(args.repo)
    for item in damage:
        log.error("%s", item)
    if damage:
        raise SystemExit(1)
    log.info("every file dvc.lock records matches its hash, in the cache and the workspace")


if __name__ == "__main__":
    run_stage(main)
