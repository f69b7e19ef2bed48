"""Sharing a sweep's experiments through a git remote: what is there, pulling, pushing.

The experiments' outputs go to the default DVC remote when there is one (``dvc exp push``
sends them), and are checked to be there (:mod:`.push_index`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mnist_mlp.tools.sweep import push_index
from mnist_mlp.tools.sweep.grid import SweepError
from mnist_mlp.tools.sweep.run import checked, run_command

log = logging.getLogger(__name__)


def has_dvc_remote() -> bool:
    code, output = run_command(["dvc", "remote", "default"], 60)
    return code == 0 and bool(output.strip())


def names_on(remote: str) -> set[str]:
    """Names of HEAD's experiments on the git ``remote``."""
    return set(checked("dvc", "exp", "list", remote, "--name-only").split())


def pull_refs(remote: str, names: Iterable[str]) -> None:
    """Fetch the experiments ``names`` from the git ``remote``, without their outputs."""
    if names := sorted(names):
        checked("dvc", "exp", "pull", remote, *names, "--no-cache")


def push(remote: str, name: str, commit: str, with_outputs: bool, there: bool = False) -> None:
    """Push the experiment ``name`` (unless already ``there``) to the git ``remote`` and,
    ``with_outputs``, its outputs and run-cache to the default DVC remote; check that both
    arrived."""
    cache = "--run-cache" if with_outputs else "--no-cache"
    if not there:
        checked("dvc", "exp", "push", remote, name, cache)
        if name not in names_on(remote):
            raise SweepError(f"`dvc exp push` did not put {name} on {remote}")
    if with_outputs:
        again = ("dvc", "exp", "push", remote, name, cache)
        push_index.ensure_outputs_pushed(commit, name, lambda: checked(*again))
    log.info("%s: pushed to %s", name, remote)
