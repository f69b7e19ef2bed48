"""``make verify``: rehash what ``dvc.lock`` records, in the DVC cache and the workspace.

DVC trusts its cache: a file whose size and modification time did not change is not
rehashed (DVC keeps their hashes in ``.dvc/tmp``), so a flipped bit on disk, or an object
rewritten with its old time, goes unnoticed by ``dvc status``; ``dvc checkout`` copies it
into the workspace, stages compute from it, and ``dvc repro`` never overwrites a cache object
it believes it has. This tool reads the current ``dvc.lock`` through DVC's own index,
rehashes every cache object it names (a directory output's ``.dir`` manifest and each file
listed in it) and the workspace copy of each, and lists every corrupt or missing one with
the command that repairs it. Exit status 1 if anything is listed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dvc.repo import Repo

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.io.files import file_md5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Damage:
    """One recorded file whose bytes are not what ``dvc.lock`` says, and how to repair it."""

    path: str
    problem: str
    repair: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; repair: {self.repair}"


def recorded_files(repo: Repo) -> Iterator[tuple[str, str, str, bool]]:
    """``(stage, path, md5, cached)`` for every output file in the current ``dvc.lock``.

    A directory output yields its ``.dir`` manifest and then each file the manifest lists,
    read from the cache only when the manifest itself is intact.
    """
    cache = Path(repo.cache.local.path)
    for stage in repo.index.stages:
        for out in stage.outs:
            oid = out.hash_info.value
            if not oid:
                continue
            yield stage.name, out.def_path, oid, out.use_cache
            manifest = cache / oid[:2] / oid[2:]
            if out.hash_info.isdir and file_md5(manifest) == oid.removesuffix(".dir"):
                for entry in json.loads(manifest.read_text()):
                    yield stage.name, f"{out.def_path}/{entry['relpath']}", entry["md5"], True


def find_damage(root: str | os.PathLike[str]) -> list[Damage]:
    """Every file the DVC repository ``root`` records whose cache object or workspace copy
    is missing or corrupt."""
    root = Path(root)
    with Repo(os.fspath(root)) as repo:
        cache = Path(repo.cache.local.path)
        recorded = list(recorded_files(repo))
    damage = []
    for stage, path, oid, cached in recorded:
        workspace = root / path
        is_dir = oid.endswith(".dir")
        workspace_good = is_dir or file_md5(workspace) == oid
        if cached:
            obj = cache / oid[:2] / oid[2:]
            found = file_md5(obj)
            if found != oid.removesuffix(".dir"):
                shown = os.path.relpath(obj, root)
                # DVC never overwrites an object it has: the bad one must go first. A good
                # workspace copy is committed back; otherwise the stage recomputes it
                # (byte-identical, see docs/reproducibility.md).
                fix = f"dvc commit -f {stage}" if workspace_good else f"dvc repro -f -s {stage}"
                problem = "missing" if found is None else f"corrupt (MD5 {found}, expected {oid})"
                damage.append(
                    Damage(path, f"cache object {shown} is {problem}", f"rm -f {shown} && {fix}")
                )
                continue
        if not workspace_good and workspace.exists():
            fix = f"dvc checkout --relink {path}" if cached else f"dvc repro -f -s {stage}"
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
