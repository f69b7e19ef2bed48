"""Sharing a sweep's experiments through a git remote, their outputs through the default
DVC remote (checked to arrive: :mod:`.push_index`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from mnist_mlp.tools.sweep import push_index
from mnist_mlp.tools.sweep.grid import Point, SweepError
from mnist_mlp.tools.sweep.run import check_done, checked, experiments, run_command

log = logging.getLogger(__name__)


def names_on(remote: str) -> set[str]:
    """Names of HEAD's experiments on the git ``remote``."""
    return set(checked("dvc", "exp", "list", remote, "--name-only").split())


def pull_refs(remote: str, names: set[str]) -> None:
    """Fetch the experiments ``names`` from the git ``remote``, without their outputs."""
    if names:
        checked("dvc", "exp", "pull", remote, *sorted(names), "--no-cache")


class Pusher:
    """Pushes each experiment to the git ``remote`` and, where a default DVC remote exists,
    its outputs and run-cache there, checking that both arrived."""

    def __init__(self, remote: str) -> None:
        code, output = run_command(["dvc", "remote", "default"], 60)
        self.remote, self.outputs = remote, code == 0 and bool(output.strip())

    def __call__(self, name: str, commit: str, there: bool = False) -> None:
        cache = "--run-cache" if self.outputs else "--no-cache"
        command = ("dvc", "exp", "push", self.remote, name, cache)
        if not there:
            checked(*command)
            if name not in names_on(self.remote):
                raise SweepError(f"`dvc exp push` did not put {name} on {self.remote}")
        if self.outputs:
            push_index.ensure_outputs_pushed(commit, name, lambda: checked(*command))
        log.info("%s: pushed to %s", name, self.remote)


def done_and_shared(points: Sequence[Point], pusher: Pusher | None) -> Mapping[str, str]:
    """``{name: commit}`` of the grid's points done here or, with a ``pusher``, on its
    remote (then fetched here), each checked; those run here are pushed, in case a push
    was cut short."""
    names = {point.name for point in points}
    mine = {name: commit for name, commit in experiments().items() if name in names}
    check_done(points, mine)
    if not pusher:
        return mine
    there = names_on(pusher.remote) & names
    for name in sorted(mine):
        pusher(name, mine[name], there=name in there)
    pull_refs(pusher.remote, there - set(mine))
    done = {name: commit for name, commit in experiments().items() if name in names}
    check_done(points, {name: done[name] for name in set(done) - set(mine)})
    return done
